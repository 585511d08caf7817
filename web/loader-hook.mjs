// Trunk post-build hook (Trunk.toml): Trunk writes its loader (import the app's JS,
// start the WebAssembly) as an inline <script type="module"> in index.html. The page's
// Content-Security-Policy allows no inline script, so move the loader into a file of
// its own, named by its content's hash, and load it from there. Fails the build if any
// other inline script is left, since the policy would block it.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.env.TRUNK_STAGING_DIR;
if (!dir) {
  console.error('loader-hook: TRUNK_STAGING_DIR is not set (run by Trunk only)');
  process.exit(1);
}
const file = join(dir, 'index.html');
let html = readFileSync(file, 'utf8');
let moved = 0;
html = html.replace(/<script\b([^>]*)>([\s\S]*?)<\/script>/g, (tag, attrs, body) => {
  if (/\bsrc\s*=/.test(attrs)) return tag;
  if (!/\btype\s*=\s*"module"/.test(attrs)) {
    console.error(`loader-hook: an inline script the CSP would block:\n${tag.slice(0, 300)}`);
    process.exit(1);
  }
  const name = `start-${createHash('sha256').update(body).digest('hex').slice(0, 16)}.js`;
  writeFileSync(join(dir, name), body.trim() + '\n');
  moved += 1;
  return `<script type="module" src="./${name}"></script>`;
});
if (moved !== 1) {
  console.error(`loader-hook: expected Trunk's one inline loader script, found ${moved}`);
  process.exit(1);
}
writeFileSync(file, html);
