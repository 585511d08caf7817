// Nothing a user can type, paste or post kills the page: bad scenario JSON, impossible
// parameters, garbage console input and malformed postMessage commands each end in a
// message, and the cluster keeps running.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { SCREENSHOTS } from './static-server.mjs';
import { watchForErrors } from './browser.mjs';
import { sharedBrowser } from './harness.mjs';

const TIMEOUT = 30_000;

const env = sharedBrowser();

/** The page is alive: no panic banner, nodes drawn, and simulated time still moves. */
async function assertAlive(page, what) {
  assert.equal(await page.getByTestId('panic').count(), 0, `${what}: no panic banner`);
  const nodes = await page.locator('svg[data-testid="canvas"] g[data-node]').count();
  assert.ok(nodes > 0, `${what}: nodes are drawn`);
  await page.getByTestId('play').click();
  const t0 = Number(await page.getByTestId('time').getAttribute('data-us'));
  if (await page.locator('[data-testid="trace-hash"][data-done="true"]').count()) return;
  await page.waitForFunction(
    (t) => Number(document.querySelector('[data-testid="time"]').dataset.us) > t,
    t0,
    { timeout: TIMEOUT },
  );
}

/** The text of the notice or error banner, whichever shows (waits for one). */
async function message(page) {
  const any = page.locator('[data-testid="notice"], [data-testid="error-banner"]').first();
  await any.waitFor({ timeout: TIMEOUT });
  return (await any.textContent()).trim();
}

async function dismissAll(page) {
  for (const b of await page.getByRole('button', { name: 'Dismiss' }).all()) {
    await b.click().catch(() => {});
  }
}

test('bad scenario JSON and impossible parameters end in messages', { timeout: 120_000 }, async () => {
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  await page.goto(`${env.server.url}?runtime=workers`, { waitUntil: 'load' });
  await page.locator('svg[data-testid="canvas"] g[data-node]').first().waitFor({ timeout: TIMEOUT });
  await page.getByTestId('tab-edit').click();
  await page.getByText('show and edit').click();
  const box = page.getByTestId('scenario-json');
  const cases = [
    ['not JSON', '{"version": 1, "protocol": ', /line|column|EOF|expected/i],
    ['wrong type', '{"version": 1, "protocol": {"name": "raft"}, "nodes": "five", "duration_ms": 1000}', /nodes/],
    ['no nodes', '{"version": 1, "protocol": {"name": "raft"}, "nodes": 0, "duration_ms": 1000}', /nodes/],
    ['unknown protocol', '{"version": 1, "protocol": {"name": "byzantine-magic"}, "nodes": 3, "duration_ms": 1000}', /byzantine-magic/],
    ['fault after the end', '{"version": 1, "protocol": {"name": "raft"}, "nodes": 3, "duration_ms": 1000, "faults": [{"at_ms": 5000, "type": "crash", "node": 1}]}', /faults\[0\]\.at_ms/],
    ['node out of range', '{"version": 1, "protocol": {"name": "raft"}, "nodes": 3, "duration_ms": 1000, "faults": [{"at_ms": 500, "type": "crash", "node": 9}]}', /node/],
    ['bad raft params', '{"version": 1, "protocol": {"name": "raft", "params": {"election_timeout_min_ms": 500, "election_timeout_max_ms": 100}}, "nodes": 3, "duration_ms": 1000}', /election_timeout/],
    ['future version', '{"version": 99, "protocol": {"name": "raft"}, "nodes": 3, "duration_ms": 1000}', /version/],
    ['binary junk', '\u0000\u0001\u00ff\uffff', /./],
  ];
  for (const [name, text, want] of cases) {
    await box.fill(text);
    await box.dispatchEvent('change');
    const m = await message(page);
    assert.match(m, want, `${name}: ${m}`);
    await dismissAll(page);
  }
  // Number fields: nonsense is refused or clamped, never fatal.
  for (const v of ['-5', '0', '1e30', 'abc']) {
    await page.getByTestId('duration').fill(v).catch(() => {});
    await page.getByTestId('duration').dispatchEvent('change');
    await page.getByTestId('seed').fill(v).catch(() => {});
    await page.getByTestId('seed').dispatchEvent('change');
    await dismissAll(page);
  }
  await assertAlive(page, 'after bad edits');
  await page.screenshot({ path: join(SCREENSHOTS, 'robust-edits.png') });
  await page.close();
  assert.deepEqual(errors, []);
});

test('garbage in the console and in postMessage commands ends in messages', { timeout: 90_000 }, async () => {
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  await page.goto(env.server.url, { waitUntil: 'load' });
  await page.locator('svg[data-testid="canvas"] g[data-node]').first().waitFor({ timeout: TIMEOUT });

  await page.getByTestId('tab-console').click();
  // Typing while the run plays (the page re-renders every frame) is kept.
  await page.getByTestId('console-key').fill('mykey');
  await page.waitForTimeout(300);
  assert.equal(await page.getByTestId('console-key').inputValue(), 'mykey');
  await page.getByTestId('console-op').selectOption('write');
  await page.getByTestId('console-value').fill('twelve');
  await page.getByTestId('console-value').dispatchEvent('change');
  await page.getByTestId('console-send').click();
  assert.match(await message(page), /whole number/);
  await dismissAll(page);

  const posts = [
    'not json at all',
    { type: 'crash', node: 99 },
    { type: 'crash' },
    { type: 'seek', time: -1 },
    { type: 'partition', groups: 'everyone' },
    { type: 'load', scenario: { version: 1, nodes: -3 } },
    { type: 'warp-drive' },
    { no_type: true },
  ];
  for (const p of posts) {
    await page.evaluate((m) => window.postMessage(m, '*'), p);
    const m = await message(page);
    assert.match(m, /Ignored a message/, `${JSON.stringify(p)}: ${m}`);
    await dismissAll(page);
  }
  // A valid command still works afterwards.
  await page.evaluate(() => window.postMessage({ type: 'crash', node: 1 }, '*'));
  await page
    .locator('svg[data-testid="canvas"] g[data-node="1"][data-role="crashed"]')
    .waitFor({ timeout: TIMEOUT });
  await assertAlive(page, 'after garbage commands');
  await page.screenshot({ path: join(SCREENSHOTS, 'robust-commands.png') });
  await page.close();
  assert.deepEqual(errors, []);
});
