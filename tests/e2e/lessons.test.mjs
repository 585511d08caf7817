// A scenario's expectations on the page (issue 20): the checklist ticks as the run plays,
// a false expectation fails at its moment with the reason, and clicking the moment moves
// the playhead there. Read from the checklist's data- attributes
// (web/src/ui/lessons.rs); screenshots in /tmp/quorumlab-lessons-*.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { sharedBrowser } from './harness.mjs';
import { ROOT } from './static-server.mjs';
import { watchForErrors } from './browser.mjs';
import { encodeScenario } from './page-helpers.mjs';

const TIMEOUT = 30_000;
const env = sharedBrowser();

async function open(scenario) {
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  await page.goto(`${env.server.url}#${encodeScenario(scenario)}`, { waitUntil: 'load' });
  await page.locator('[data-testid="lesson"]').waitFor({ timeout: TIMEOUT });
  await page.evaluate(() => window.postMessage({ type: 'pause' }, '*'));
  await page.locator('[data-testid="pause"].on').waitFor({ timeout: TIMEOUT });
  return { page, errors };
}

async function seek(page, ms) {
  await page.evaluate((t) => window.postMessage({ type: 'seek', time: t }, '*'), ms);
  await page.waitForFunction(
    (us) => Number(document.querySelector('[data-testid="time"]')?.dataset.us) === us,
    ms * 1000,
    { timeout: TIMEOUT, polling: 'raf' },
  );
}

async function items(page) {
  return page.locator('[data-testid="expectation"]').evaluateAll((els) => els.map((e) => ({ ...e.dataset, text: e.textContent })));
}

test('a preset\'s lesson ticks as the run plays and holds at the end', { timeout: 120_000 }, async () => {
  const text = await readFile(join(ROOT, 'scenarios', 'raft-minority-partition.json'), 'utf8');
  const { page, errors } = await open(text);
  const total = JSON.parse(text).expect.length;
  await seek(page, 1000);
  let xs = await items(page);
  assert.equal(xs.length, total);
  assert.equal(xs[0].status, 'passed', `the first leader is decided when it appears: ${JSON.stringify(xs[0])}`);
  assert.ok(Number(xs[0].at) < 1000);
  assert.ok(xs.slice(1).every((x) => x.status === 'pending'), JSON.stringify(xs));
  await seek(page, 8000);
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="lesson"]').dataset.passed) === n,
    total,
    { timeout: TIMEOUT, polling: 'raf' },
  );
  await page.screenshot({ path: '/tmp/quorumlab-lessons-passed.png', fullPage: true });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a false expectation fails at its moment, and its moment is one click away', { timeout: 120_000 }, async () => {
  const s = JSON.parse(await readFile(join(ROOT, 'scenarios', 'raft-minority-partition.json'), 'utf8'));
  s.expect = [
    { type: 'no_commit', from_ms: 2500, to_ms: 4500, says: 'nothing commits during the partition (false: the majority commits)' },
    { type: 'linearizable' },
  ];
  const { page, errors } = await open(s);
  await seek(page, 8000);
  // The history's verdict comes from the analysis worker, after the run's own checks.
  await page.waitForFunction(
    () => {
      const d = document.querySelector('[data-testid="lesson"]').dataset;
      return d.failed === '1' && Number(d.passed) + Number(d.failed) === Number(d.total);
    },
    null,
    { timeout: TIMEOUT, polling: 'raf' },
  );
  const [bad, lin] = await items(page);
  assert.equal(bad.status, 'failed');
  assert.match(bad.text, /write succeeded/);
  const at = Number(bad.at);
  assert.ok(at >= 2500 && at < 4500, `decided at the first write in the interval: ${at}`);
  assert.equal(lin.status, 'passed');
  await page.locator('[data-testid="expectation"][data-index="0"] [data-testid="expectation-seek"]').click();
  await page.waitForFunction(
    (us) => Math.abs(Number(document.querySelector('[data-testid="time"]')?.dataset.us) - us) <= 1000,
    at * 1000,
    { timeout: TIMEOUT, polling: 'raf' },
  );
  await page.locator('[data-testid="lesson"]').screenshot({ path: '/tmp/quorumlab-lessons-failed.png' });
  assert.deepEqual(errors, []);
  await page.close();
});

test('split brain without fencing: the anomalies are listed under the verdict, each one click from its moment', { timeout: 120_000 }, async () => {
  const text = await readFile(join(ROOT, 'scenarios', 'pb-split-brain.json'), 'utf8');
  // The CLI's run (built in release by the test step before); exit 1 is the expected
  // non-linearizable history, not a failure of the command.
  const r = spawnSync('cargo', ['run', '-q', '--release', '-p', 'quorumlab-cli', '--', 'run', '-', '--json'], {
    cwd: ROOT,
    input: text,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  assert.ok(r.status === 0 || r.status === 1, `quorumlab run failed (${r.status}): ${r.stderr}`);
  const native = JSON.parse(r.stdout);
  const { page, errors } = await open(text);
  await seek(page, JSON.parse(text).duration_ms);
  await page.getByTestId('tab-cap').click();
  const panel = page.locator('[data-testid="anomaly-list"]');
  await panel.waitFor({ timeout: TIMEOUT });
  const counts = await panel.evaluate((e) => ({ ...e.dataset }));
  // The page's counts are the CLI's.
  assert.equal(Number(counts.lost), native.anomalies.lost_writes);
  assert.equal(Number(counts.stale), native.anomalies.stale_reads);
  assert.equal(Number(counts.split), native.anomalies.split_brains);
  assert.ok(Number(counts.split) >= 1 && Number(counts.lost) >= 1, JSON.stringify(counts));
  // The lesson's anomaly expectations hold at the end.
  await page.waitForFunction(
    (n) => Number(document.querySelector('[data-testid="lesson"]').dataset.passed) === n,
    JSON.parse(text).expect.length,
    { timeout: TIMEOUT, polling: 'raf' },
  );
  const split = page.locator('[data-testid="anomaly"][data-kind="split_brain"]').first();
  assert.match(await split.textContent(), /both accepted writes/);
  const at = Number(await split.getAttribute('data-at'));
  await split.locator('[data-testid="anomaly-seek"]').click();
  await page.waitForFunction(
    (us) => Math.abs(Number(document.querySelector('[data-testid="time"]')?.dataset.us) - us) <= 1000,
    at,
    { timeout: TIMEOUT, polling: 'raf' },
  );
  await page.locator('[data-testid="cap-panel"]').screenshot({ path: '/tmp/quorumlab-anomalies.png' });
  assert.deepEqual(errors, []);
  await page.close();
});
