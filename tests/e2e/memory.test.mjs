// A long run in the page keeps its memory bounded (issue 18): one simulated hour of 25
// Raft nodes under a nemesis with clients, fast-forwarded to its end on the page's own
// thread, must leave the page's JavaScript heap plus its WebAssembly memory under
// 500 MB. Checkpoints keep only the recent messages, and are thinned so that their
// histories together stay bounded (web/src/ui/session.rs). The figures are printed as
// a MEASURE line. The Web Workers' memory (their own heaps) is not the page's and is
// not counted: the inline runtime runs everything here.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sharedBrowser } from './harness.mjs';
import { watchForErrors } from './browser.mjs';
import { encodeScenario } from './page-helpers.mjs';

const env = sharedBrowser();
const LIMIT_MB = 500;

test('one simulated hour of 25 nodes with a nemesis stays under 500 MB', { timeout: 600_000 }, async () => {
  const hour = {
    version: 1, name: 'An hour of 25 nodes', protocol: { name: 'raft' }, nodes: 25, duration_ms: 3_600_000,
    workload: { clients: 5, rate: 10 }, nemesis: { interval_ms: 3000 }, seed: 3,
  };
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  const asked = [];
  page.on('dialog', (d) => {
    asked.push(d.message());
    d.accept().catch(() => {});
  });
  await page.addInitScript(() => addEventListener('TrunkApplicationStarted', (e) => { window.__wasm = e.detail.wasm; }));
  const cdp = await env.browser.context.newCDPSession(page);
  const memory = async () => {
    const js = (await cdp.send('Runtime.getHeapUsage')).usedSize;
    const wasm = await page.evaluate(() => window.__wasm.memory.buffer.byteLength);
    return { js: js / 1e6, wasm: wasm / 1e6 };
  };
  await page.goto(`${env.server.url}?runtime=inline#${encodeScenario(hour)}`, { waitUntil: 'load' });
  await page.locator('svg[data-testid="canvas"] g[data-node]').first().waitFor({ timeout: 60_000 });
  assert.equal(asked.length, 1, 'an hour of 25 nodes asks before running');
  await page.getByTestId('pause').click();
  const before = await memory();
  const t0 = Date.now();
  // A click from inside the page: the run to the end is synchronous and long.
  await page.evaluate(() => document.querySelector('[data-testid="run-to-end"]').click());
  await page.waitForFunction(
    (end) => Number(document.querySelector('[data-testid="time"]').dataset.us) >= end,
    hour.duration_ms * 1000,
    { timeout: 540_000, polling: 2000 },
  );
  const wall = (Date.now() - t0) / 1000;
  await cdp.send('HeapProfiler.collectGarbage');
  const after = await memory();
  console.log(
    `MEASURE memory_long_run js_mb_before=${before.js.toFixed(1)} wasm_mb_before=${before.wasm.toFixed(1)} ` +
      `js_mb_after=${after.js.toFixed(1)} wasm_mb_after=${after.wasm.toFixed(1)} wall_s=${wall.toFixed(1)} (25 nodes, 1 h simulated, nemesis, 5 clients at 10 ops/s, inline)`,
  );
  assert.ok(after.js + after.wasm < LIMIT_MB, `page memory ${(after.js + after.wasm).toFixed(0)} MB`);
  // Still a working page: going back in time replays from a checkpoint.
  await page.evaluate(() => window.postMessage({ type: 'seek', time: 1_800_000 }, '*'));
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="time"]').dataset.us) === 1_800_000_000, null, { timeout: 120_000 });
  await page.close();
  assert.deepEqual(errors, []);
});
