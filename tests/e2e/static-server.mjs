// A tiny static file server for dist/, for the browser tests. It serves the folder under
// a sub-path (default /quorumlab/) to prove the build only uses relative URLs.

import { createServer } from 'node:http';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository's root. */
export const ROOT = resolve(here, '..', '..');
/** The built page (QUORUMLAB_DIST overrides `dist/`). */
export const DIST = resolve(process.env.QUORUMLAB_DIST || join(ROOT, 'dist'));
/** Where tests save their screenshots (not committed). */
export const SCREENSHOTS = join(here, 'screenshots');

/**
 * Serve DIST (which must have been built) and make sure SCREENSHOTS exists. Like
 * `cargo xtask serve`, the page is cross-origin isolated (so workers share memory with it)
 * unless `isolated` is false, which is how most static hosts serve it.
 */
export async function serveDist({ isolated = true } = {}) {
  await stat(join(DIST, 'index.html')).catch(() => {
    throw new Error(`${DIST}/index.html is missing: build it first with \`cargo xtask dist\``);
  });
  await mkdir(SCREENSHOTS, { recursive: true });
  return serveDir(DIST, { isolated });
}

/** The headers that make a page cross-origin isolated (SharedArrayBuffer allowed). */
export const ISOLATION_HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
};

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * Serve `root` on 127.0.0.1 at a free port under `prefix`.
 * Resolves to { url, requests, close } where `url` is the page URL and `requests` lists
 * every request as { path, status }.
 */
export async function serveDir(root, { prefix = '/quorumlab/', isolated = false } = {}) {
  const base = resolve(root);
  const requests = [];
  const server = createServer(async (req, res) => {
    const record = (status) => requests.push({ path: req.url, status });
    try {
      const url = new URL(req.url, 'http://localhost');
      let path = decodeURIComponent(url.pathname);
      if (!path.startsWith(prefix)) {
        record(404);
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      path = path.slice(prefix.length);
      if (path === '' || path.endsWith('/')) path += 'index.html';
      const file = normalize(join(base, path));
      if (file !== base && !file.startsWith(base + sep)) {
        record(403);
        res.writeHead(403).end();
        return;
      }
      const info = await stat(file).catch(() => null);
      if (!info || !info.isFile()) {
        record(404);
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      const body = await readFile(file);
      record(200);
      res.writeHead(200, {
        'content-type': MIME[extname(file)] ?? 'application/octet-stream',
        'content-length': body.length,
        'cache-control': 'no-store',
        ...(isolated ? ISOLATION_HEADERS : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (err) {
      record(500);
      res.writeHead(500).end(String(err));
    }
  });
  await new Promise((ok, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', ok);
  });
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    requests,
    // The browser keeps its connections open after a page closes; closing them here
    // (not waiting for the browser to drop them) keeps a test from idling until its
    // timeout: one took 100-120 s, of which under 1 s was its own work.
    close: () =>
      new Promise((ok) => {
        server.close(ok);
        server.closeAllConnections();
      }),
  };
}
