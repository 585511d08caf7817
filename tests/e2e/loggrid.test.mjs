// The log grid (issue 21) in a real browser: the raft-log-divergence preset shows the
// old leader's conflicting entry before the heal and the leader's entry in its place
// after it; the snapshot preset shows the compacted block, and a crashed node's row keeps
// what its disk holds; a paused node is marked; pinning and following; and (measured)
// the frame rate with 25 nodes and a log of thousands of entries.
//
// Everything is read from the grid's data- attributes (web/src/ui/grid_view.rs). Each
// test fails on console errors, uncaught exceptions or failed requests, and saves
// screenshots to /tmp/quorumlab-loggrid-*.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sharedBrowser } from './harness.mjs';
import { ROOT } from './static-server.mjs';
import { watchForErrors } from './browser.mjs';
import { encodeScenario, measureFps, selectNode, setSpeed, simTimeUs } from './page-helpers.mjs';

const TIMEOUT = 30_000;
const MS = 1000; // simulated microseconds per millisecond
const env = sharedBrowser();

const preset = async (id) => readFile(join(ROOT, 'scenarios', `${id}.json`), 'utf8');
const shot = (page, name) => page.screenshot({ path: `/tmp/quorumlab-loggrid-${name}.png`, fullPage: true });

/** Open the page on a scenario (JSON text or object), paused; resolves to { page, errors }. */
async function open(scenario, { query = '' } = {}) {
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  await page.goto(`${env.server.url}${query}#${encodeScenario(scenario)}`, { waitUntil: 'load' });
  await page.locator('[data-testid="log-grid"]').waitFor({ timeout: TIMEOUT });
  return { page, errors };
}

async function post(page, msg) {
  await page.evaluate((m) => window.postMessage(m, '*'), msg);
}

async function pauseRun(page) {
  await post(page, { type: 'pause' });
  await page.locator('[data-testid="pause"].on').waitFor({ timeout: TIMEOUT });
}

/** Go to simulated time `ms` (paused) and wait until the page stands there. */
async function seek(page, ms, { timeout = TIMEOUT } = {}) {
  await post(page, { type: 'seek', time: ms });
  await page.waitForFunction(
    (us) => Number(document.querySelector('[data-testid="time"]')?.dataset.us) === us,
    ms * MS,
    { timeout, polling: 'raf' },
  );
}

/** Keep index `i` at the grid's left edge. */
async function pinFrom(page, i) {
  const field = page.getByTestId('grid-pin');
  await field.fill(String(i));
  await field.press('Enter');
  await page.waitForFunction(
    (i) => {
      const g = document.querySelector('[data-testid="log-grid"]');
      return g.dataset.follow === 'pinned' && Number(g.dataset.first) <= i && Number(g.dataset.last) >= i;
    },
    i,
    { timeout: TIMEOUT, polling: 'raf' },
  );
}

/** A row's data- attributes and its drawn cells. */
async function row(page, node) {
  return page.locator(`[data-testid="log-grid"] .ql-grid-row[data-node="${node}"]`).evaluate((el) => ({
    ...el.dataset,
    cells: [...el.querySelectorAll('.c')].map((c) => ({ ...c.dataset, struckClass: c.classList.contains('struck') })),
    blocks: [...el.querySelectorAll('.blk')].map((b) => Number(b.dataset.snapshot)),
  }));
}

async function grid(page) {
  return page.locator('[data-testid="log-grid"]').evaluate((el) => ({ ...el.dataset }));
}

function noErrors(page, errors) {
  assert.deepEqual(errors, [], 'no console errors, uncaught exceptions or failed requests');
}

test('divergence: the old leader\'s conflicting entry is highlighted, then replaced', { timeout: 120_000 }, async () => {
  const { page, errors } = await open(await preset('raft-log-divergence'));
  await pauseRun(page);
  // Node 2 leads until it is isolated at 1.5 s; at 3.59 s it appends a write it can never
  // commit; the heal is at 4 s.
  await seek(page, 3_950);
  const g = await grid(page);
  assert.notEqual(g.leader, '2', `a new leader (${g.leader}) compares node 2's log`);
  let old = await row(page, 2);
  assert.equal(old.status, 'up');
  assert.equal(old.role, 'leader', 'node 2 still thinks it leads');
  assert.ok(Number(old.conflicts) >= 1, `node 2 has conflicting entries: ${JSON.stringify(old)}`);
  const from = Number(old.commit) + 1;
  await pinFrom(page, Math.max(1, from - 3));
  old = await row(page, 2);
  const conflicting = old.cells.filter((c) => c.conflicting === 'true');
  assert.ok(conflicting.length >= 1, `conflicting cells drawn on node 2's row: ${JSON.stringify(old.cells)}`);
  for (const c of conflicting) {
    assert.equal(c.committed, 'false', `conflicting entry ${c.index} is not committed`);
    assert.ok(Number(c.index) > Number(old.commit));
  }
  // The leader's row holds other terms at those indexes.
  const leader = await row(page, g.leader);
  for (const c of conflicting) {
    const theirs = leader.cells.find((l) => l.index === c.index);
    assert.ok(!theirs || theirs.term !== c.term, `index ${c.index}: leader ${JSON.stringify(theirs)} vs node 2 ${c.term}`);
  }
  // The leader's view of node 2 is marked on its row.
  assert.ok(old.match !== undefined && old.next !== undefined, 'match and next from the leader');
  await page.locator('[data-testid="log-grid"]').screenshot({ path: '/tmp/quorumlab-loggrid-divergence-before-grid.png' });
  await shot(page, 'divergence-before');

  // Just after the heal: the leader's append has replaced them (shown as replaced for a
  // moment), and node 2's log agrees with the leader's.
  await seek(page, 4_100);
  const after = await row(page, 2);
  const g2 = await grid(page);
  const leaderAfter = await row(page, g2.leader);
  assert.equal(after.conflicts, '0', `no conflicts left: ${JSON.stringify(after)}`);
  assert.equal(after.role, 'follower');
  for (const c of conflicting) {
    const now = after.cells.find((x) => x.index === c.index);
    const theirs = leaderAfter.cells.find((x) => x.index === c.index);
    assert.ok(now && theirs, `index ${c.index} drawn on both rows`);
    assert.equal(now.term, theirs.term, `index ${c.index} now holds the leader's term`);
    assert.notEqual(now.term, c.term, `index ${c.index} was overwritten`);
    assert.equal(now.conflicting, 'false');
    assert.equal(now.replaced, c.term, `index ${c.index} is marked as replaced (was term ${c.term})`);
  }
  await page.locator('[data-testid="log-grid"]').screenshot({ path: '/tmp/quorumlab-loggrid-divergence-after-grid.png' });
  // Back to following the newest entries.
  await page.getByTestId('grid-follow').click();
  await page.waitForFunction(() => {
    const g = document.querySelector('[data-testid="log-grid"]');
    return g.dataset.follow === 'newest' && g.dataset.last === g.dataset.hi;
  }, null, { timeout: TIMEOUT, polling: 'raf' });
  noErrors(page, errors);
  await page.close();
});

test('snapshot: the compacted block, a crashed node\'s disk, a paused node', { timeout: 120_000 }, async () => {
  const { page, errors } = await open(await preset('raft-snapshot-catchup'));
  await pauseRun(page);
  // A follower (node 0 at this seed: the partition is aimed at "a follower") is cut off
  // from 1 s to 4 s while the leader compacts every 20 entries.
  await seek(page, 3_900);
  const g = await grid(page);
  const lead = await row(page, g.leader);
  assert.ok(Number(lead.snapshot) >= 20, `the leader compacted: ${JSON.stringify(lead.snapshot)}`);
  const cut = 0;
  const lagging = await row(page, cut);
  assert.ok(Number(lagging.last) < Number(lead.snapshot), `node ${cut} (${lagging.last}) lags behind the snapshot (${lead.snapshot})`);
  // Pin the start of the grid: the leader's snapshot is one block there.
  await pinFrom(page, Number(g.lo));
  const leadPinned = await row(page, g.leader);
  assert.deepEqual(leadPinned.blocks, [Number(lead.snapshot)], 'one compacted block on the leader\'s row');
  await page.locator('[data-testid="log-grid"]').screenshot({ path: '/tmp/quorumlab-loggrid-snapshot-before-grid.png' });
  await shot(page, 'snapshot-before');

  // After the heal the cut-off node installed a snapshot: its row starts with a block too.
  await seek(page, 7_000);
  await page.getByTestId('grid-follow').click();
  const caught = await row(page, cut);
  assert.ok(Number(caught.snapshot) > Number(lagging.last), `node ${cut} caught up from a snapshot: ${caught.snapshot}`);

  // Crash node 4: its row stays, greyed, with what its disk holds.
  await post(page, { type: 'crash', node: 4 });
  await page.locator('.ql-grid-row[data-node="4"][data-status="crashed"]').waitFor({ timeout: TIMEOUT });
  const crashed = await row(page, 4);
  assert.equal(crashed.source, 'disk');
  assert.ok(Number(crashed.last) >= Number(caught.snapshot), `the disk holds the log: ${crashed.last}`);
  assert.ok(crashed.cells.length > 0 || crashed.blocks.length > 0, 'its entries are drawn');
  const label = page.locator('.ql-grid-label.crashed');
  assert.match(await label.getAttribute('title'), /disk/);

  // Pause node 3 from its panel: its row is marked paused.
  await selectNode(page, 3);
  await page.getByTestId('pause-node').click();
  await page.locator('.ql-grid-row[data-node="3"][data-status="paused"]').waitFor({ timeout: TIMEOUT });
  await page.locator('[data-testid="log-grid"]').screenshot({ path: '/tmp/quorumlab-loggrid-snapshot-crashed-grid.png' });
  await shot(page, 'snapshot-crashed');
  noErrors(page, errors);
  await page.close();
});

test('25 nodes and thousands of entries: only the visible columns are drawn (fps measured)', { timeout: 300_000 }, async () => {
  const scenario = {
    version: 1,
    name: 'Twenty-five Raft nodes, a long log',
    description: 'Made by the browser tests to measure the log grid: 25 nodes, a heavy write load, no compaction.',
    protocol: { name: 'raft', params: { snapshot_threshold: 1000000 } },
    nodes: 25,
    workload: { clients: 20, rate: 20, keys: 4, start_ms: 300 },
    duration_ms: 60000,
    seed: 3,
  };
  const { page, errors } = await open(scenario, { query: '?runtime=inline' });
  await pauseRun(page);
  // 20 s of 25 nodes under load, simulated at once (a few seconds; more on a busy machine).
  await seek(page, 20_000, { timeout: 150_000 });
  let g = await grid(page);
  const hi = Number(g.hi);
  assert.ok(hi >= 2000, `a long log: ${hi} entries`);
  assert.equal(g.follow, 'newest');
  assert.equal(g.last, g.hi, 'the newest entries are in view');
  const drawn = await page.locator('[data-testid="log-grid"] .ql-grid-row').evaluateAll((rows) => rows.map((r) => r.querySelectorAll('.c').length));
  assert.equal(drawn.length, 25);
  const cols = Number(g.last) - Number(g.first) + 1;
  assert.ok(cols < 80 && Math.max(...drawn) <= cols, `only the visible columns are drawn (${cols} columns, cells per row ${Math.max(...drawn)})`);
  await shot(page, 'long-25');

  // Play and measure while following the newest entries.
  await setSpeed(page, 50);
  await post(page, { type: 'play' });
  await page.locator('[data-testid="play"].on').waitFor({ timeout: TIMEOUT });
  const t0 = await simTimeUs(page);
  const fps = await measureFps(page, 4000);
  const appFps = await page.evaluate(() => window.__quorumlab_fps);
  // Mean time per frame spent on the grid (its input, model and virtual DOM; not the
  // browser's layout and paint), as the page measures it.
  const gridMs = await page.evaluate(() => window.__quorumlab_grid_ms);
  const gridInputMs = await page.evaluate(() => window.__quorumlab_grid_input_ms);
  g = await grid(page);
  const t1 = await simTimeUs(page);
  assert.ok(t1 > t0, 'the run moved');
  assert.equal(g.follow, 'newest');
  assert.ok(Number(g.hi) - Number(g.last) <= 2, `still following the newest (${g.last} of ${g.hi})`);
  // Pinned, it stays where it was while the log grows.
  await pinFrom(page, 1000);
  const pinnedFirst = Number((await grid(page)).first);
  const fpsPinned = await measureFps(page, 2000);
  const g2 = await grid(page);
  assert.equal(Number(g2.first), pinnedFirst, 'a pinned range stays put');
  assert.ok(Number(g2.hi) > Number(g.hi), 'while the log grows');
  await page.locator('[data-testid="log-grid"]').screenshot({ path: '/tmp/quorumlab-loggrid-long-25-grid.png' });
  await post(page, { type: 'pause' });

  assert.ok(fps.fps >= 5, `a generous floor: ${fps.fps.toFixed(1)} fps`);
  const f = (x) => (typeof x === 'number' ? x.toFixed(1) : String(x));
  console.log(
    `MEASURE loggrid_fps25=${f(fps.fps)} app_fps=${f(appFps)} grid_ms_per_frame=${f(gridMs)} of_which_views_ms=${f(gridInputMs)} pinned_fps25=${f(fpsPinned.fps)} log_entries=${g.hi} columns_drawn=${Number(g.last) - Number(g.first) + 1} sim_ms_per_s=${f((t1 - t0) / MS / (fps.ms / 1000))} (rAF frames over ${f(fps.ms)} ms, 25 nodes, 50 ms/s, inline runtime)`,
  );
  noErrors(page, errors);
  await page.close();
});

test('cluster table: a row per node, the leader\'s lag 0, sortable, hover linked with the canvas', { timeout: 120_000 }, async () => {
  const { page, errors } = await open(await preset('raft-leader-crash'));
  await pauseRun(page);
  await seek(page, 1000);
  const table = page.getByTestId('cluster-table');
  const rows = table.locator('tbody tr[data-node]');
  assert.equal(await rows.count(), 5);
  const heads = await table.locator('th').allTextContents();
  for (const h of ['node', 'role', 'term', 'follows', 'commit', 'applied', 'log', 'snapshot', 'lag', 'clock', 'voted for']) {
    assert.ok(heads.some((x) => x.replace(/[▲▼]/g, '').trim() === h), `column ${h} in ${heads}`);
  }
  const col = (name) => heads.findIndex((x) => x.replace(/[▲▼]/g, '').trim() === name) + 1;
  const cell = (row, name) => row.locator(`td:nth-child(${col(name)})`).textContent();
  const leader = table.locator('tbody tr[data-leader="true"]');
  assert.equal(await leader.count(), 1, 'one leader row');
  assert.equal(await cell(leader, 'role'), 'leader');
  assert.equal(await cell(leader, 'lag'), '0');
  const id = await leader.getAttribute('data-node');
  assert.equal(await page.locator(`svg[data-testid="canvas"] g[data-node="${id}"]`).getAttribute('data-role'), 'leader');
  // Sorting by commit, descending (a second click), orders the rows by it.
  await table.locator(`th[data-sort="${col('commit') - 1}"]`).click();
  await table.locator(`th[data-sort="${col('commit') - 1}"]`).click();
  const commits = (await table.locator(`tbody tr td:nth-child(${col('commit')})`).allTextContents()).map(Number);
  assert.deepEqual(commits, [...commits].sort((a, b) => b - a), `descending: ${commits}`);
  // The node under the mouse on the canvas highlights its row, and a row its node.
  await page.locator('svg[data-testid="canvas"] g[data-node="3"] circle.body').hover();
  await table.locator('tbody tr[data-node="3"][data-hover="true"]').waitFor({ timeout: TIMEOUT });
  await table.locator('tbody tr[data-node="1"]').hover();
  await page.locator('svg[data-testid="canvas"] g[data-node="1"][data-hover="true"]').waitFor({ timeout: TIMEOUT });
  assert.equal(await table.locator('tbody tr[data-hover="true"]').count(), 1);
  await shot(page, 'cluster-table');
  await page.locator('.ql-left').screenshot({ path: '/tmp/quorumlab-loggrid-cluster-table-left.png' });
  // After the leader's crash its row says so, with no lag or clock.
  await seek(page, 1600);
  const crashed = table.locator(`tbody tr[data-node="${id}"]`);
  assert.equal(await crashed.getAttribute('data-status'), 'crashed');
  assert.equal(await cell(crashed, 'role'), 'crashed');
  assert.equal(await cell(crashed, 'lag'), '—');
  await page.close();
  assert.deepEqual(errors, []);
});

test('a protocol without a log: the grid is one quiet line', { timeout: 60_000 }, async () => {
  const { page, errors } = await open(await preset('fd-partition'));
  await pauseRun(page);
  await seek(page, 1_000);
  assert.equal(await page.locator('[data-testid="log-grid"] .ql-grid-row').count(), 0, 'no rows');
  assert.match(await page.getByTestId('grid-summary').textContent(), /no entries yet/);
  noErrors(page, errors);
  await page.close();
});

test('25 nodes with 5,000 entries each play (fps measured, never asserted)', { timeout: 300_000 }, async () => {
  const scenario = {
    version: 1,
    name: 'Twenty-five Raft nodes, five thousand entries',
    description: 'Made by the browser tests to measure playing a long log: 25 nodes, a heavy write load, no compaction.',
    protocol: { name: 'raft', params: { snapshot_threshold: 1000000 } },
    nodes: 25,
    workload: { clients: 40, rate: 20, keys: 4, start_ms: 300 },
    duration_ms: 60000,
    seed: 3,
  };
  const { page, errors } = await open(scenario, { query: '?runtime=inline' });
  await pauseRun(page);
  await seek(page, 20_000, { timeout: 200_000 });
  const rows = () =>
    page.locator('[data-testid="log-grid"] .ql-grid-row').evaluateAll((rs) => rs.map((r) => ({ ...r.dataset, cells: r.querySelectorAll('.c').length })));
  const before = await rows();
  assert.equal(before.length, 25);
  const shortest = Math.min(...before.filter((r) => r.status === 'up').map((r) => Number(r.last)));
  assert.ok(shortest >= 5000, `every running node holds at least 5,000 entries: ${shortest}`);

  await setSpeed(page, 50);
  await post(page, { type: 'play' });
  await page.locator('[data-testid="play"].on').waitFor({ timeout: TIMEOUT });
  // Let the first frames (the first one describes every entry once) pass.
  await page.waitForTimeout(1500);
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const t0 = await simTimeUs(page);
    const fps = await measureFps(page, 3000);
    const t1 = await simTimeUs(page);
    const app = await page.evaluate(() => [window.__quorumlab_fps, window.__quorumlab_grid_input_ms, window.__quorumlab_grid_ms]);
    runs.push({ raf: fps.fps, app: app[0], frameMs: app[1], gridMs: app[2], simMsPerS: (t1 - t0) / MS / (fps.ms / 1000) });
    assert.ok(t1 > t0, 'frames advance the run');
  }
  // The grid follows the newest entries while playing: its last column is the newest index.
  const g = await grid(page);
  assert.equal(g.follow, 'newest');
  assert.ok(Number(g.hi) - Number(g.last) <= 2, `the newest entries are in view (${g.last} of ${g.hi})`);
  const after = await rows();
  const hiBefore = Math.max(...before.map((r) => Number(r.last)));
  assert.ok(Number(g.hi) > hiBefore, `the log grew while playing (${hiBefore} -> ${g.hi})`);
  assert.ok(Math.max(...after.map((r) => r.cells)) <= Number(g.last) - Number(g.first) + 1, 'only the visible columns are drawn');
  await post(page, { type: 'pause' });
  const f = (x) => (typeof x === 'number' ? x.toFixed(1) : String(x));
  for (const [i, r] of runs.entries()) {
    console.log(
      `MEASURE loggrid5000_fps25 run=${i + 1} raf_fps=${f(r.raf)} app_fps=${f(r.app)} frame_build_ms=${f(r.frameMs)} grid_ms=${f(r.gridMs)} sim_ms_per_s=${f(r.simMsPerS)} log_entries=${g.hi} (25 nodes, 50 ms/s, inline runtime)`,
    );
  }
  noErrors(page, errors);
  await page.close();
});
