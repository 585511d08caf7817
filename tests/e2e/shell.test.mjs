// The page shell: the app starts, one node worker does the ready handshake and answers a
// ping computed in Rust, and nothing is logged as an error.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SCREENSHOTS } from './static-server.mjs';
import { watchForErrors } from './browser.mjs';
import { sharedBrowser } from './harness.mjs';

const TIMEOUT = 30_000;

const env = sharedBrowser();

test('the app starts and a node worker answers a ping', { timeout: 60_000 }, async () => {
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);

  await page.goto(env.server.url, { waitUntil: 'load' });

  const app = page.getByTestId('app-status');
  await app.and(page.locator('[data-state="running"]')).waitFor({ timeout: TIMEOUT });
  assert.equal((await app.textContent()).trim(), 'running');

  const worker = page.getByTestId('worker-status');
  // Wait until the worker has settled one way or the other, then check which.
  await page
    .locator('[data-testid="worker-status"]:is([data-state="ok"], [data-state="failed"])')
    .waitFor({ timeout: TIMEOUT });
  const text = (await worker.textContent()).trim();
  assert.equal(
    await worker.getAttribute('data-state'),
    'ok',
    `worker status: ${text}\nerrors seen: ${JSON.stringify(errors, null, 2)}`,
  );
  assert.match(text, /^pong #1 from node 0 \(digest 0x[0-9a-f]{8}\)/);

  // The page says what it is.
  assert.equal((await page.locator('h1').textContent()).trim(), 'quorumlab');
  assert.equal(await page.getByTestId('panic').count(), 0, 'no panic banner');

  // The bundle was fetched from under the sub-path, with the right MIME type for WASM.
  const wasm = env.server.requests.filter((r) => r.path.endsWith('.wasm'));
  assert.ok(wasm.length >= 2, `app and worker WASM fetched: ${JSON.stringify(env.server.requests)}`);

  await page.screenshot({ path: join(SCREENSHOTS, 'shell.png'), fullPage: true });

  await page.close();
  assert.deepEqual(errors, [], 'no console errors, uncaught exceptions or failed requests');
});
