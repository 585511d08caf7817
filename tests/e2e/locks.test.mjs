// The lock service on the page: the Locks tab's timeline (one lane per client with
// its holds and tokens, the storage's writes, the spells of two holders shaded), the
// list of spells with the assumption that failed, each one click from its moment; and
// the key-value map's appends: its data type chosen in the editor, its operations
// offered by the console, its strings in the node panel. Screenshots in
// screenshots/locks-*.png and kv-*.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sharedBrowser } from './harness.mjs';
import { ROOT, SCREENSHOTS } from './static-server.mjs';
import { watchForErrors } from './browser.mjs';
import { cli, encodeScenario, selectNode } from './page-helpers.mjs';

const TIMEOUT = 30_000;
const MS = 1000;
const env = sharedBrowser();

const preset = async (id) => JSON.parse(await readFile(join(ROOT, 'scenarios', `${id}.json`), 'utf8'));

async function open(scenario) {
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  await page.goto(`${env.server.url}?runtime=inline#${encodeScenario(scenario)}`, { waitUntil: 'load' });
  await page.locator('svg[data-testid="canvas"] g[data-node]').first().waitFor({ timeout: TIMEOUT });
  await page.evaluate(() => window.postMessage({ type: 'pause' }, '*'));
  await page.locator('[data-testid="pause"].on').waitFor({ timeout: TIMEOUT });
  return { page, errors };
}

async function seek(page, ms) {
  await page.evaluate((t) => window.postMessage({ type: 'seek', time: t }, '*'), ms);
  await page.waitForFunction(
    (us) => Number(document.querySelector('[data-testid="time"]')?.dataset.us) === us,
    ms * MS,
    { timeout: TIMEOUT, polling: 'raf' },
  );
}

test('the lock timeline shows holds, writes and the GC pause that made two holders', { timeout: 120_000 }, async () => {
  const s = await preset('lock-gc-pause');
  const want = JSON.parse(cli(['run', '-', '--json'], JSON.stringify(s)).stdout).locks;
  const { page, errors } = await open(s);
  await page.locator('[data-testid="tab-locks"]').click();
  const panel = page.locator('[data-testid="locks"]');
  await seek(page, s.duration_ms);
  await panel.locator('[data-testid="lock-spell"]').first().waitFor({ timeout: TIMEOUT });
  // The same spells as the command line's, each blamed on the pause.
  const spells = await panel.locator('[data-testid="lock-spell"]').evaluateAll((ls) =>
    ls.map((l) => ({ kind: l.dataset.kind, text: l.textContent })));
  assert.equal(spells.length, want.spells.length, JSON.stringify(spells));
  assert.ok(spells.every((x) => x.kind === 'pause' && x.text.includes('paused for 600 ms')), JSON.stringify(spells));
  // One lane per client, holds drawn with their tokens; the storage's writes, one corrupted.
  const lanes = await panel.locator('[data-testid="lock-lane"]').evaluateAll((ls) =>
    ls.map((l) => ({ client: Number(l.dataset.client), holds: l.querySelectorAll('.ql-lock-hold').length })));
  assert.deepEqual(lanes.map((l) => l.client), want.lanes.map((l) => l.client));
  assert.deepEqual(lanes.map((l) => l.holds), want.lanes.map((l) => l.holds.length));
  const tokens = await panel.locator('.ql-lock-hold').evaluateAll((rs) => rs.map((r) => r.dataset.token));
  assert.ok(tokens.includes('t1.1'), `Redis tokens as epoch.grant: ${tokens}`);
  assert.equal(await panel.locator('.ql-lock-write.corrupted').count(), 1);
  assert.equal(await panel.locator('.ql-lock-write').count(), want.writes.length);
  // The paused client believed past its lease: drawn.
  assert.ok(await panel.locator('.ql-lock-over').count() >= 1);
  await panel.screenshot({ path: join(SCREENSHOTS, 'locks-gc-pause.png') });
  // A spell is one click from its moment.
  const first = want.spells[0];
  await panel.locator('[data-testid="lock-spell"] button').first().click();
  await page.waitForFunction(
    (us) => Number(document.querySelector('[data-testid="time"]')?.dataset.us) === us,
    first.from,
    { timeout: TIMEOUT, polling: 'raf' },
  );
  // Before the pause: no spell yet.
  await seek(page, 300);
  await panel.locator('[data-testid="lock-spells-none"]').waitFor({ timeout: TIMEOUT });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a Raft cluster of strings: data type kv, appends from the console, strings in the node panel', { timeout: 120_000 }, async () => {
  const s = await preset('pb-append-stale-reads');
  const { page, errors } = await open(s);
  await page.locator('[data-testid="tab-edit"]').click();
  const dt = page.locator('[data-testid="data-type-select"]');
  assert.equal(await dt.inputValue(), 'kv');
  // Switch back to the register, then to the map again: the editor keeps it valid.
  await dt.selectOption('cas-register');
  await page.waitForFunction(() => document.querySelector('[data-testid="data-type-select"]')?.value === 'cas-register');
  await page.locator('[data-testid="data-type-select"]').selectOption('kv');
  await page.waitForFunction(() => document.querySelector('[data-testid="data-type-select"]')?.value === 'kv');
  // The console offers the map's operations only.
  await page.locator('[data-testid="tab-console"]').click();
  const ops = await page.locator('[data-testid="console-op"] option').evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(ops, ['read', 'append']);
  await seek(page, 3000);
  // The primary's store holds strings grown by appends.
  const primary = await selectNode(page, 1);
  const text = await primary.textContent();
  assert.ok(/k0\s*"(\[\w+\])+"/.test(text.replace(/\n/g, ' ')), text);
  await primary.screenshot({ path: join(SCREENSHOTS, 'kv-append-primary.png') });
  assert.deepEqual(errors, []);
  await page.close();
});

test('the ring view: arcs per node, keys with their preference lists, hints in a partition, data moved by a join', { timeout: 120_000 }, async () => {
  const s = await preset('quorum-sloppy-partition');
  const { page, errors } = await open(s);
  await seek(page, 2500);
  await page.locator('[data-testid="tab-ring"]').click();
  const panel = page.locator('[data-testid="ring"]');
  await panel.waitFor({ timeout: TIMEOUT });
  // Five nodes' tokens, every arc coloured by its node.
  const arcs = await panel.locator('.ql-ring-arc').evaluateAll((ps) => ps.map((p) => Number(p.dataset.node)));
  assert.deepEqual([...new Set(arcs)].sort(), [0, 1, 2, 3, 4], `arcs by node: ${arcs}`);
  // Every key's preference list has n = 3 distinct replicas, and its walk draws one
  // line per replica.
  const keys = await panel.locator('.ql-ring-key').evaluateAll((gs) =>
    gs.map((g) => ({ key: g.dataset.key, pref: g.dataset.preference.split(',').map(Number), lines: g.querySelectorAll('.ql-ring-pref').length })));
  assert.ok(keys.length >= 2, JSON.stringify(keys));
  for (const k of keys) {
    assert.equal(new Set(k.pref).size, 3, JSON.stringify(k));
    assert.equal(k.lines, 3, JSON.stringify(k));
  }
  // Mid-partition the sloppy quorum keeps hints for the nodes cut off.
  await panel.locator('[data-testid="ring-hints"] li').first().waitFor({ timeout: TIMEOUT });
  await panel.locator('.ql-ring-key').first().hover();
  await panel.screenshot({ path: join(SCREENSHOTS, 'ring-sloppy-partition.png') });
  // After the heal the hints are handed back.
  await seek(page, 5900);
  await panel.locator('[data-testid="ring-hints-none"]').waitFor({ timeout: TIMEOUT });
  assert.deepEqual(errors, []);
  await page.close();

  // A join: the new node's arcs appear, and the move is reported.
  const j = await preset('quorum-join');
  const o = await open(j);
  await seek(o.page, 5000);
  await o.page.locator('[data-testid="tab-ring"]').click();
  const ring = o.page.locator('[data-testid="ring"]');
  await ring.locator('[data-testid="ring-moved"] li').first().waitFor({ timeout: TIMEOUT });
  const nodes = await ring.locator('.ql-ring-arc').evaluateAll((ps) => [...new Set(ps.map((p) => Number(p.dataset.node)))].sort());
  assert.deepEqual(nodes, [0, 1, 2, 3, 4, 5]);
  await ring.screenshot({ path: join(SCREENSHOTS, 'ring-join.png') });
  assert.deepEqual(o.errors, []);
  await o.page.close();
});

test('the CAP panel: each side of the partition, the sloppy quorum next to Raft on the same faults, in nines', { timeout: 120_000 }, async () => {
  const s = await preset('quorum-sloppy-partition');
  const { page, errors } = await open(s);
  await seek(page, s.duration_ms);
  await page.locator('[data-testid="tab-cap"]').click();
  const panel = page.locator('[data-testid="cap-panel"]');
  await panel.locator('[data-testid="compare-select"]').selectOption('Raft');
  const cmp = panel.locator('[data-testid="compare"]');
  await cmp.locator('[data-testid="sides"]').waitFor({ timeout: TIMEOUT });
  const side = async (scope, id) => {
    const row = scope.locator(`[data-testid="side-${id}"]`).first();
    return { reads: Number(await row.getAttribute('data-reads')), writes: Number(await row.getAttribute('data-writes')) };
  };
  const mine = panel.locator('.ql-cap > div').first();
  // The sloppy quorum answers writes on the minority side; Raft cannot.
  const sloppy = await side(mine, 'minority');
  const raft = await side(cmp, 'minority');
  assert.ok(sloppy.writes >= 0.9, `sloppy minority writes ${sloppy.writes}`);
  assert.equal(raft.writes, 0, `Raft's minority side takes no write: ${raft.writes}`);
  assert.ok((await side(cmp, 'majority')).writes >= 0.9, 'Raft serves the majority side');
  // Per window, the minority side's line: the sloppy store's near the top, Raft's at 0.
  const lowest = async (scope) => {
    const pts = (await scope.locator('[data-testid="minority-line"]').getAttribute('points')).trim().split(' ');
    return Math.max(...pts.map((p) => Number(p.split(',')[1])));
  };
  assert.ok(await lowest(cmp) >= 57, 'Raft: the minority side at 0% in some window');
  assert.ok(await lowest(mine) < 20, 'the sloppy quorum: the minority side stays near 100%');
  const nines = await mine.locator('[data-testid="nines"]').textContent();
  assert.match(nines, /nines, .* down a year/);
  // PACELC: both again with no fault; Raft's fault-free run serves no stale read.
  await panel.locator('[data-testid="pacelc-toggle"]').check();
  const pacelc = panel.locator('[data-testid="pacelc"]');
  await pacelc.waitFor({ timeout: TIMEOUT });
  const cells = async (id) => pacelc.locator(`[data-testid="pacelc-${id}"] td`).allTextContents();
  const p50 = await cells('p50');
  assert.equal(p50.length, 3, JSON.stringify(p50));
  assert.ok(p50.slice(1).every((c) => / ms$/.test(c)), JSON.stringify(p50));
  assert.equal((await cells('stale'))[2], '0', 'Raft without faults: no stale read');
  assert.equal((await cells('availability'))[2], '100.0%');
  // The lab: a second column, the chart with a line per column, exports and a link.
  await panel.locator('[data-testid="compare-select"]').selectOption('R1W1');
  await panel.locator('[data-testid="compare"]').nth(1).waitFor({ timeout: TIMEOUT });
  assert.equal(await panel.locator('[data-testid="lab-chart"] polyline').count(), 3);
  const href = async (id) => decodeURIComponent((await panel.locator(`[data-testid="${id}"]`).getAttribute('href')).replace(/^data:[^,]*,/, ''));
  const csv = (await href('export-csv')).trim().split('\n');
  assert.equal(csv[0], 'figure,"this run","Raft (consensus) instead","r = w = 1"', csv[0]);
  assert.ok(csv.some((l) => l.startsWith('minority_writes_answered,')), csv.join('|'));
  const json = JSON.parse(await href('export-json'));
  assert.equal(json['Raft (consensus) instead'].minority_writes_answered, 0);
  assert.match(await href('export-svg'), /^<svg xmlns=/);
  const lab = await panel.locator('[data-testid="lab-link"]').getAttribute('href');
  assert.match(lab, /[?&]lab=Raft,R1W1#/);
  await panel.screenshot({ path: join(SCREENSHOTS, 'cap-sides-sloppy-vs-raft.png') });
  assert.deepEqual(errors, []);
  await page.close();
  // The link opens the same lab.
  const again = await env.browser.context.newPage();
  const errs = watchForErrors(again);
  await again.goto(lab.replace(/^[^?]*/, env.server.url), { waitUntil: 'load' });
  const p2 = again.locator('[data-testid="cap-panel"]');
  await p2.locator('[data-testid="compare"]').nth(1).waitFor({ timeout: TIMEOUT });
  const cols = await p2.locator('[data-testid="compare"]').evaluateAll((ds) => ds.map((d) => d.dataset.variant));
  assert.deepEqual(cols, ['Raft', 'R1W1']);
  assert.deepEqual(errs, []);
  await again.close();
});
