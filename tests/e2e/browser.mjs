// Launch Debian's chromium through playwright-core (never a downloaded browser).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.QUORUMLAB_CHROMIUM || '/usr/bin/chromium';

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * A headless chromium with a fresh profile. Resolves to { context, close }.
 * `serviceWorkers: 'block'` makes a browser in which the page cannot register its
 * isolation service worker (as in some private modes).
 */
export async function launch({ serviceWorkers = 'allow' } = {}) {
  const userDataDir = await mkdtemp(join(tmpdir(), 'quorumlab-e2e-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1100, height: 700 },
    serviceWorkers,
  });
  return {
    context,
    close: async () => {
      await context.close().catch(() => {});
      await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
    },
  };
}

/**
 * Collect everything that should fail a test: console errors (page and workers),
 * uncaught exceptions, crashes and failed requests.
 */
export function watchForErrors(page) {
  const errors = [];
  const onConsole = (where) => (msg) => {
    if (msg.type() === 'error') errors.push(`${where} console error: ${msg.text()}`);
  };
  page.on('console', onConsole('page'));
  page.on('pageerror', (err) => errors.push(`uncaught exception: ${err.stack || err}`));
  page.on('crash', () => errors.push('the page crashed'));
  // Which document of the main frame made each request: a request cut short because its
  // document was replaced (the page reloading itself once for isolation while the gallery
  // was still fetching presets) is not a failure, but only once the new document is
  // really there; an abort that no navigation follows stays an error.
  let documents = 0;
  const madeBy = new WeakMap();
  const aborted = [];
  page.on('request', (req) => madeBy.set(req, documents));
  page.on('framenavigated', (frame) => {
    if (frame !== page.mainFrame()) return;
    documents += 1;
    for (const a of aborted.splice(0)) {
      if (a.document < documents) {
        const i = errors.indexOf(a.text);
        if (i >= 0) errors.splice(i, 1);
      } else {
        aborted.push(a);
      }
    }
  });
  page.on('requestfailed', (req) => {
    const why = req.failure()?.errorText;
    // A node worker terminated while it was still loading (a crash, or fewer nodes after
    // an edit) cancels its own script and WebAssembly requests: not a failure.
    if (why === 'net::ERR_ABORTED' && /\/(node_worker[^/]*|nodes\/node-[^/]*)$/.test(new URL(req.url()).pathname)) return;
    if (why === 'net::ERR_ABORTED' && madeBy.has(req) && madeBy.get(req) < documents) return;
    const text = `request failed: ${req.url()} (${why})`;
    errors.push(text);
    if (why === 'net::ERR_ABORTED' && madeBy.has(req)) aborted.push({ text, document: madeBy.get(req) });
  });
  page.on('response', (res) => {
    if (res.status() >= 400) errors.push(`HTTP ${res.status()} for ${res.url()}`);
  });
  page.on('worker', (worker) => worker.on('console', onConsole(`worker ${worker.url()}`)));
  return errors;
}
