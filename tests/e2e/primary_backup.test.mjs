// Primary-backup on the page: the chain drawn as arrows head to tail, the primary's
// per-backup replication lag as bars (a recovering replica's snapshot transfer first),
// the view manager's suspicion gauges, and the node menu's "Promote" (manual failover)
// moving the primary role, with a refused promotion of a crashed node explained by the
// view service (and logged by the simulator), never a panic. Screenshots in screenshots/pb-*.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sharedBrowser } from './harness.mjs';
import { ROOT, SCREENSHOTS } from './static-server.mjs';
import { watchForErrors } from './browser.mjs';
import { encodeScenario, selectNode } from './page-helpers.mjs';

const TIMEOUT = 30_000;
const MS = 1000; // simulated microseconds per millisecond
const env = sharedBrowser();

const preset = async (id) => JSON.parse(await readFile(join(ROOT, 'scenarios', `${id}.json`), 'utf8'));
const shot = (page, name) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

/** The role kinds drawn on the canvas, by node id ('leader' for a primary or head). */
async function kinds(page) {
  return page.$$eval('svg[data-testid="canvas"] g[data-node]', (gs) =>
    gs
      .sort((a, b) => Number(a.dataset.node) - Number(b.dataset.node))
      .map((g) => g.dataset.kind));
}

async function open(scenario) {
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  await page.goto(`${env.server.url}?runtime=inline#${encodeScenario(scenario)}`, { waitUntil: 'load' });
  await page.locator('svg[data-testid="canvas"] g[data-node]').first().waitFor({ timeout: TIMEOUT });
  await page.evaluate(() => window.postMessage({ type: 'pause' }, '*'));
  await page.locator('[data-testid="pause"].on').waitFor({ timeout: TIMEOUT });
  return { page, errors };
}

/** Go to simulated time `ms` (paused) and wait until the page stands there. */
async function seek(page, ms) {
  await page.evaluate((t) => window.postMessage({ type: 'seek', time: t }, '*'), ms);
  await page.waitForFunction(
    (us) => Number(document.querySelector('[data-testid="time"]')?.dataset.us) === us,
    ms * MS,
    { timeout: TIMEOUT, polling: 'raf' },
  );
}

/** The canvas's labelled arrows: [from, to, label]. */
async function edges(page) {
  return page.$$eval('svg[data-testid="canvas"] g.ql-edge', (gs) =>
    gs.map((g) => [Number(g.dataset.from), Number(g.dataset.to), g.dataset.label]));
}

/** The selected node's gauges: { node, label, flagged, bar (px) }. */
async function gauges(panel) {
  return panel.locator('[data-testid="gauges"] tr[data-node]').evaluateAll((rows) =>
    rows.map((r) => ({
      node: Number(r.dataset.node),
      label: r.dataset.label,
      flagged: r.dataset.flagged === 'true',
      bar: Number(r.querySelector('[data-testid="gauge-bar"]')?.getAttribute('width')),
    })));
}

test('a chain is drawn as arrows, the head shows each successor lag as a bar', { timeout: 90_000 }, async () => {
  const s = await preset('pb-chain-middle-crash');
  const { page, errors } = await open(s);
  await seek(page, 1000);
  const chain = (await edges(page)).filter((e) => e[2] === 'chain');
  // Nodes 1 -> 2 -> 3 -> 4: head to tail, each node's arrow to its successor.
  assert.deepEqual(chain.map((e) => `${e[0]}->${e[1]}`).sort(), ['1->2', '2->3', '3->4'], JSON.stringify(chain));
  assert.equal((await kinds(page))[1], 'leader', 'the head is of the leader kind');
  const head = await selectNode(page, 1);
  const g = await gauges(head);
  assert.deepEqual(g.map((x) => x.node), [2], 'a chain node replicates to its successor only');
  assert.equal(g[0].label, 'lag');
  assert.ok(g[0].bar >= 0 && g[0].bar <= 60, `bar width ${g[0].bar}`);
  await shot(page, 'pb-chain');
  // The view service's picture: every member's suspicion, the crashed middle flagged.
  await seek(page, 2600);
  const vs = await selectNode(page, 0);
  const sus = await gauges(vs);
  assert.ok(sus.length >= 3, JSON.stringify(sus));
  assert.ok(sus.every((x) => x.label === 'silence ms'), JSON.stringify(sus));
  const after = (await edges(page)).filter((e) => e[2] === 'chain').map((e) => `${e[0]}->${e[1]}`);
  assert.ok(!after.some((e) => e.includes('2')), `node 2 spliced out of the chain: ${after}`);
  await shot(page, 'pb-chain-view-service');
  await page.close();
  assert.deepEqual(errors, []);
});

test('a recovering backup shows its snapshot transfer, then its lag, as the primary sees it', { timeout: 90_000 }, async () => {
  const s = await preset('pb-sync-slow-backup');
  s.faults = [
    { at_ms: 1000, type: 'crash', node: 3 },
    { at_ms: 1600, type: 'restart', node: 3, disk: false },
  ];
  s.expect = [];
  const { page, errors } = await open(s);
  const seen = new Set();
  for (let t = 1600; t <= 2400; t += 10) {
    await seek(page, t);
    const primary = (await kinds(page)).indexOf('leader');
    const panel = await selectNode(page, primary);
    for (const x of await gauges(panel)) if (x.node === 3) seen.add(x.label);
    if (seen.has('snapshot transfer') && seen.has('lag')) break;
  }
  assert.ok(seen.has('snapshot transfer'), `labels seen for node 3: ${[...seen]}`);
  assert.ok(seen.has('lag'), `labels seen for node 3: ${[...seen]}`);
  await shot(page, 'pb-recovering-backup');
  await page.close();
  assert.deepEqual(errors, []);
});

test('promote from the node menu moves the primary; promoting a crashed node is refused, with the reason', { timeout: 90_000 }, async () => {
  const s = await preset('pb-sync-slow-backup');
  s.faults = [{ at_ms: 800, type: 'crash', node: 2 }];
  s.expect = [];
  const { page, errors } = await open(s);
  await seek(page, 1000);
  assert.equal((await kinds(page))[1], 'leader', 'node 1 is the first primary');
  // A backup: promote it (with fencing the old primary's lease runs out first).
  const panel = await selectNode(page, 3);
  await panel.getByTestId('promote').click();
  await page.evaluate(() => window.postMessage({ type: 'play' }, '*'));
  // Node 3 becomes primary; the old primary (whose lease ran out first) learns it is a
  // backup at its next ping.
  await page.waitForFunction(
    () => {
      const k = [...document.querySelectorAll('svg[data-testid="canvas"] g[data-node]')]
        .filter((g) => g.dataset.kind === 'leader')
        .map((g) => g.dataset.node);
      return k.length === 1 && k[0] === '3';
    },
    null,
    { timeout: TIMEOUT, polling: 'raf' },
  );
  const r = await kinds(page);
  assert.ok(['replica', 'learner'].includes(r[1]), `node 1 follows as a backup (or catches up): ${r}`);
  await page.evaluate(() => window.postMessage({ type: 'pause' }, '*'));
  await shot(page, 'pb-promoted');
  // The crashed node 2: the menu still offers it; the view service says why not.
  const crashed = await selectNode(page, 2);
  await crashed.getByTestId('promote').click();
  await page.evaluate(() => window.postMessage({ type: 'play' }, '*'));
  const vs = await selectNode(page, 0);
  await vs.getByText(/cannot promote node 2: it is not a backup/).first().waitFor({ timeout: TIMEOUT });
  assert.equal(await page.getByTestId('panic').count(), 0, 'no panic banner');
  await shot(page, 'pb-promote-refused');
  await page.close();
  assert.deepEqual(errors, []);
});
