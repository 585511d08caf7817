// The trade-off lab on the CAP tab (issue 16): columns of any configuration (the
// editor's, pinned; a gallery preset; a registry variant), each run on the run's seed
// and fault schedule; reads and writes apart with p999; each column's anomalies, one
// click from their moment (the column's run becomes the main run there); the chart as
// PNG; a link that carries the whole comparison; and how long a 3-way comparison of 10
// simulated seconds takes to run to its end in `?runtime=inline`. Screenshots in
// screenshots/lab-*.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sharedBrowser } from './harness.mjs';
import { ROOT, SCREENSHOTS } from './static-server.mjs';
import { watchForErrors } from './browser.mjs';
import { encodeScenario, encodeScenarioChecked } from './page-helpers.mjs';

const TIMEOUT = 60_000;
const env = sharedBrowser();

const preset = async (id) => JSON.parse(await readFile(join(ROOT, 'scenarios', `${id}.json`), 'utf8'));

/** Open `scenario` inline (with `lab`, a `?lab=` value), paused, on the CAP tab. */
async function open(scenario, lab = null, runtime = 'inline') {
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  const query = lab === null ? `runtime=${runtime}` : `runtime=${runtime}&lab=${lab}`;
  await page.goto(`${env.server.url}?${query}#${encodeScenario(scenario)}`, { waitUntil: 'load' });
  await page.locator('svg[data-testid="canvas"] g[data-node]').first().waitFor({ timeout: TIMEOUT });
  await page.evaluate(() => window.postMessage({ type: 'pause' }, '*'));
  await page.locator('[data-testid="pause"].on').waitFor({ timeout: TIMEOUT });
  await page.locator('[data-testid="tab-cap"]').click();
  const panel = page.locator('[data-testid="cap-panel"]');
  await panel.waitFor({ timeout: TIMEOUT });
  return { page, errors, panel };
}

/** Wait until the run and every column are at their ends. */
async function allDone(page) {
  await page.waitForFunction(() => {
    const cols = [...document.querySelectorAll('[data-testid="lab-this"], [data-testid="compare"]')];
    return cols.length > 0 && cols.every((c) => c.dataset.done === 'done' || c.dataset.done === 'error');
  }, null, { timeout: TIMEOUT, polling: 'raf' });
}

/** Wait until every column's anomalies are listed (its analysis answered). */
async function allAnalysed(page) {
  await page.waitForFunction(() => {
    const lists = [...document.querySelectorAll('[data-testid="compare"] [data-testid="lab-anomalies"]')];
    return lists.length > 0 && lists.every((l) => l.dataset.state === 'done');
  }, null, { timeout: TIMEOUT, polling: 'raf' });
}

const labels = (panel) =>
  panel.locator('[data-testid="compare"]').evaluateAll((ds) => ds.map((d) => d.dataset.label));

test('the lab: the editor\'s configuration, a variant and a gallery preset as columns, reads and writes apart, on the run\'s seed and faults', { timeout: 180_000 }, async () => {
  const s = await preset('quorum-strict-partition');
  const { page, errors, panel } = await open(s);
  const select = panel.locator('[data-testid="compare-select"]');
  await select.selectOption('current');
  await select.selectOption('Sloppy');
  // The gallery's files arrive after the page starts.
  await panel.locator('option[value="preset:raft-leader-crash"]:not([disabled])').waitFor({ state: 'attached', timeout: TIMEOUT });
  await select.selectOption('preset:raft-leader-crash');
  assert.deepEqual(await labels(panel), ['quorum-kv r=2 w=2', 'sloppy quorum, hinted handoff', 'raft-leader-crash']);
  // Four configurations at most.
  assert.equal(await select.isDisabled(), true);
  // Another protocol and shape is allowed, and labelled.
  const raft = panel.locator('[data-testid="compare"]').nth(2);
  assert.match(await raft.locator('[data-testid="compare-shape"]').textContent(), /7 s long \(this run: 6 s\)/);
  await page.locator('[data-testid="run-to-end"]').click();
  await allDone(page);
  await allAnalysed(page);
  // Reads and writes apart, each with p50, p99 and p999, in every column.
  for (const col of await panel.locator('[data-testid="lab-this"], [data-testid="compare"]').all()) {
    for (const id of ['availability', 'p50', 'p99', 'p999']) {
      const cells = await col.locator(`[data-testid="kind-${id}"] td`).allTextContents();
      assert.equal(cells.length, 3, `${id}: ${cells}`);
      if (id !== 'availability') assert.ok(cells.slice(1).every((c) => / ms$/.test(c)), `${id}: ${cells}`);
    }
    assert.match(await col.locator('[data-testid="throughput"]').textContent(), /ops\/s$/);
    assert.match(await col.locator('[data-testid="messages-per-op"]').textContent(), /^\d+\.\d \(/);
  }
  // On the same faults: the sloppy quorum answers writes on the minority side, Raft does not.
  const sloppy = panel.locator('[data-testid="compare"]').nth(1);
  const minorityWrites = async (col) => Number(await col.locator('[data-testid="side-minority"]').getAttribute('data-writes'));
  assert.equal(await minorityWrites(raft), 0);
  assert.ok(await minorityWrites(sloppy) >= 0.9);
  // Its anomalies: stale reads, each with its moment; Raft's none.
  const stale = sloppy.locator('[data-testid="lab-anomaly"][data-kind="stale_read"]');
  assert.ok(await stale.count() >= 1, await sloppy.locator('[data-testid="lab-anomalies"]').textContent());
  assert.ok(Number(await stale.first().getAttribute('data-at')) > 0);
  assert.equal(await raft.locator('[data-testid="lab-anomalies"]').getAttribute('data-count'), '0');
  // The exports carry the new figures.
  const href = async (id) => decodeURIComponent((await panel.locator(`[data-testid="${id}"]`).getAttribute('href')).replace(/^data:[^,]*,/, ''));
  const csv = (await href('export-csv')).trim().split('\n');
  assert.equal(csv[0], 'figure,"this run","quorum-kv r=2 w=2","sloppy quorum, hinted handoff","raft-leader-crash"');
  for (const fig of ['read_p999_ms', 'write_p999_ms', 'throughput_ops_per_s', 'messages_per_op', 'stale_reads']) {
    assert.ok(csv.some((l) => l.startsWith(`${fig},`)), `${fig} in ${csv.join('|')}`);
  }
  const json = JSON.parse(await href('export-json'));
  assert.ok(json['sloppy quorum, hinted handoff'].stale_reads >= 1);
  assert.equal(json['raft-leader-crash'].lost_writes, 0);
  assert.equal(json['raft-leader-crash'].duration_ms, 7000);
  assert.equal(await panel.locator('[data-testid="lab-chart"] polyline').count(), 4);
  // The side-by-side table: a column per configuration.
  const row = async (id) => panel.locator(`[data-testid="lab-row-${id}"] td`).allTextContents();
  assert.equal((await row("read-p999")).length, 4);
  assert.ok((await row("write-p999")).every((c) => / ms$/.test(c)), JSON.stringify(await row("write-p999")));
  assert.ok((await row('stale'))[2] >= 1, JSON.stringify(await row('stale')));
  // Tall enough for the whole side panel in one picture.
  await page.setViewportSize({ width: 1400, height: 3200 });
  await panel.screenshot({ path: join(SCREENSHOTS, 'lab-three-columns.png') });
  await panel.screenshot({ path: '/tmp/lab-three-columns.png' });
  assert.deepEqual(errors, []);
  await page.close();
});

test('the lab link carries every configuration, the seed and the faults; an old link opens, a broken entry is named', { timeout: 180_000 }, async () => {
  const s = await preset('quorum-sloppy-partition');
  s.seed = 5;
  const { page, errors, panel } = await open(s);
  const select = panel.locator('[data-testid="compare-select"]');
  await select.selectOption('Raft');
  await panel.locator('option[value="preset:raft-leader-crash"]:not([disabled])').waitFor({ state: 'attached', timeout: TIMEOUT });
  await select.selectOption('preset:raft-leader-crash');
  await select.selectOption('current');
  const want = await labels(panel);
  const link = await panel.locator('[data-testid="lab-link"]').getAttribute('href');
  assert.match(link, /[?&]runtime=inline&lab=Raft,2\.[\w-]+\.[\w-]+,2\.[\w-]+\.[\w-]+#2\./);
  await page.close();
  // Opened again: the same columns, on the same seed and faults.
  const again = await env.browser.context.newPage();
  const errs = watchForErrors(again);
  await again.goto(link.replace(/^[^?]*/, env.server.url), { waitUntil: 'load' });
  const p2 = again.locator('[data-testid="cap-panel"]');
  await p2.locator('[data-testid="compare"]').nth(2).waitFor({ timeout: TIMEOUT });
  assert.deepEqual(await labels(p2), want);
  assert.equal(await again.locator('[data-testid="notice"]').count(), 0);
  assert.deepEqual(errs, []);
  await again.close();
  // An old link of ids, an unknown id and a damaged scenario: the rest opens, the page says what it ignored.
  const mine = structuredClone(s);
  mine.name = 'mine';
  mine.protocol.params = { r: 3, w: 3 };
  const old = await open(s, `Raft,Nope,2.AAAAAA.broken,${encodeScenarioChecked(mine)}`);
  await old.panel.locator('[data-testid="compare"]').nth(1).waitFor({ timeout: TIMEOUT });
  assert.deepEqual(await labels(old.panel), ['Raft (consensus) instead', 'mine']);
  const notice = await old.page.locator('[data-testid="notice"]').textContent();
  assert.match(notice, /`Nope` was ignored/);
  assert.match(notice, /damaged/);
  assert.deepEqual(old.errors, []);
  await old.page.close();
  assert.deepEqual(errors, []);
});

test('the chart exports as a PNG drawn from its SVG', { timeout: 120_000 }, async () => {
  const s = await preset('quorum-sloppy-partition');
  const { page, errors, panel } = await open(s);
  await panel.locator('[data-testid="compare-select"]').selectOption('R1W1');
  await page.locator('[data-testid="run-to-end"]').click();
  await allDone(page);
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: TIMEOUT }),
    panel.locator('[data-testid="export-png"]').click(),
  ]);
  assert.equal(download.suggestedFilename(), 'quorumlab-availability.png');
  const png = await readFile(await download.path());
  assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(''), 'PNG');
  // IHDR: the chart at three times its size (320 wide, 108 + 11 per configuration high).
  assert.equal(png.readUInt32BE(16), 960);
  assert.equal(png.readUInt32BE(20), 3 * (108 + 11 * 2));
  assert.ok(png.length > 5_000, `${png.length} bytes: something was drawn`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('an anomaly of a column is one click from its moment: its run becomes the main run there', { timeout: 180_000 }, async () => {
  const s = await preset('pb-split-brain-fenced');
  const { page, errors, panel } = await open(s);
  await panel.locator('[data-testid="compare-select"]').selectOption('NoFencing');
  await page.locator('[data-testid="run-to-end"]').click();
  await allDone(page);
  await allAnalysed(page);
  const col = panel.locator('[data-testid="compare"]').first();
  const split = col.locator('[data-testid="lab-anomaly"][data-kind="split_brain"]').first();
  await split.waitFor({ timeout: TIMEOUT });
  const at = Number(await split.getAttribute('data-at'));
  await split.locator('[data-testid="lab-anomaly-seek"]').click();
  await page.waitForFunction(
    (us) => Number(document.querySelector('[data-testid="time"]')?.dataset.us) === us,
    at,
    { timeout: TIMEOUT, polling: 'raf' },
  );
  // The main run is the column's now, its anomaly open in the verdict; the run before is the column.
  assert.match(await panel.locator('[data-testid="lab-this"] h3').textContent(), /fencing off/);
  assert.deepEqual(await labels(panel), [s.name]);
  assert.match(await page.locator('[data-testid="notice"]').textContent(), /Now showing fencing off at/);
  const shown = panel.locator('[data-testid="anomaly"].on');
  await shown.waitFor({ timeout: TIMEOUT });
  assert.equal(await shown.getAttribute('data-kind'), 'split_brain');
  await page.setViewportSize({ width: 1400, height: 3200 });
  await panel.screenshot({ path: join(SCREENSHOTS, 'lab-anomaly-opened.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a 3-way comparison of 10 simulated seconds runs to its end inline (measured)', { timeout: 300_000 }, async () => {
  // A leaderless store's partition, Raft instead, and the sloppy quorum: all 10 s long.
  const s = await preset('quorum-strict-partition');
  s.duration_ms = 10_000;
  const sloppy = await preset('quorum-sloppy-partition');
  sloppy.duration_ms = 10_000;
  sloppy.name = 'sloppy quorum';
  const lab = `Raft,${encodeScenarioChecked(sloppy)}`;
  const times = [];
  const analysed = [];
  for (let i = 0; i < 3; i++) {
    const { page, errors, panel } = await open(s, lab);
    // Every engine module there (each column shows its figures).
    await panel.locator('[data-testid="compare"] [data-testid="availability"]').nth(1).waitFor({ timeout: TIMEOUT });
    const ms = await page.evaluate(() => new Promise((done) => {
      const t0 = performance.now();
      let ended = null;
      const check = () => {
        const cols = [...document.querySelectorAll('[data-testid="lab-this"], [data-testid="compare"]')];
        if (ended === null && cols.length === 3 && cols.every((c) => c.dataset.done === 'done')) ended = performance.now() - t0;
        const lists = [...document.querySelectorAll('[data-testid="compare"] [data-testid="lab-anomalies"]')];
        if (ended !== null && lists.length === 2 && lists.every((l) => l.dataset.state === 'done')) {
          done({ ended, analysed: performance.now() - t0 });
        } else {
          requestAnimationFrame(check);
        }
      };
      document.querySelector('[data-testid="run-to-end"]').click();
      requestAnimationFrame(check);
    }));
    times.push(ms.ended);
    analysed.push(ms.analysed);
    assert.deepEqual(errors, []);
    await page.close();
  }
  console.log(`3-way comparison of 10 simulated s, inline: at their ends after ${times.map((t) => t.toFixed(0)).join(', ')} ms; analysed after ${analysed.map((t) => t.toFixed(0)).join(', ')} ms`);
  assert.ok(Math.min(...times) < 3_000, `${times}`);
});

test('where the page is isolated each column runs in a Web Worker of its own, with the figures, hashes and anomalies of the same columns on the page\'s thread', { timeout: 300_000 }, async () => {
  const s = await preset('quorum-strict-partition');
  s.duration_ms = 10_000;
  const sloppy = await preset('quorum-sloppy-partition');
  sloppy.duration_ms = 10_000;
  sloppy.name = 'sloppy quorum';
  const lab = `Raft,${encodeScenarioChecked(sloppy)}`;
  const seen = {};
  for (const runtime of ['workers', 'inline']) {
    const { page, errors, panel } = await open(s, lab, runtime);
    const cols = panel.locator('[data-testid="compare"]');
    await cols.nth(1).waitFor({ timeout: TIMEOUT });
    const where = await cols.evaluateAll((ds) => ds.map((d) => d.dataset.runsIn));
    const t0 = Date.now();
    await page.locator('[data-testid="run-to-end"]').click();
    await allDone(page);
    const ended = Date.now() - t0;
    await allAnalysed(page);
    const labWorkers = page.workers().filter((w) => w.url().endsWith('/lab_worker.js')).length;
    const hashes = await cols.evaluateAll((ds) => ds.map((d) => d.dataset.hash));
    const json = decodeURIComponent((await panel.locator('[data-testid="export-json"]').getAttribute('href')).replace(/^data:[^,]*,/, ''));
    const anomalies = await panel.locator('[data-testid="compare"] [data-testid="lab-anomalies"]').allTextContents();
    seen[runtime] = { where, labWorkers, hashes, json, anomalies, ended };
    if (runtime === 'workers') {
      assert.equal(await page.evaluate(() => window.crossOriginIsolated), true, 'the test server isolates the page');
      await page.setViewportSize({ width: 1400, height: 3200 });
      await panel.screenshot({ path: join(SCREENSHOTS, 'lab-columns-in-workers.png') });
    }
    assert.deepEqual(errors, []);
    await page.close();
  }
  console.log(`3-way comparison of 10 simulated s: columns at their ends after ${seen.workers.ended} ms in workers, ${seen.inline.ended} ms on the page's thread`);
  assert.deepEqual(seen.workers.where, ['worker', 'worker']);
  assert.equal(seen.workers.labWorkers, 2, 'a worker per column');
  assert.deepEqual(seen.inline.where, ['page', 'page']);
  assert.equal(seen.inline.labWorkers, 0);
  assert.ok(seen.workers.hashes.every((h) => /^[0-9a-f]{16}$/.test(h)), JSON.stringify(seen.workers.hashes));
  assert.deepEqual(seen.workers.hashes, seen.inline.hashes);
  assert.deepEqual(JSON.parse(seen.workers.json), JSON.parse(seen.inline.json));
  assert.deepEqual(seen.workers.anomalies, seen.inline.anomalies);
  // The sloppy quorum's stale reads are there in both.
  assert.ok(JSON.parse(seen.workers.json)['sloppy quorum'].stale_reads >= 1, seen.workers.json);
});
