// The playground page in a real browser: a leader is elected, a crashed leader is
// replaced, a partition stops commits on the minority side, a share link replays to the
// same trace hash, a broken link falls back to the default scenario with a banner, and
// (measured, not asserted) frame rate and load time.
//
// Every test runs in its own fresh browser profile (the page autosaves the scenario to
// localStorage, and a page without a link opens the autosaved one), fails on console
// errors, uncaught exceptions, failed requests or the panic banner, and saves a
// screenshot to screenshots/<name>.png. Waits are bounded; nothing asserts on wall-clock
// speed.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, SCREENSHOTS, serveDist } from './static-server.mjs';
import { launch, watchForErrors } from './browser.mjs';
import {
  cliProtocols,
  commitIndex,
  encodeScenario,
  encodeScenarioChecked,
  measureFps,
  nodeTerm,
  pause,
  play,
  roles,
  selectNode,
  setSpeed,
  simTimeUs,
  traceHash,
  waitForFinalHash,
  waitForLeader,
  waitForSimTime,
} from './page-helpers.mjs';

/** Wall-clock bound for any single wait. */
const TIMEOUT = 30_000;
const MS = 1000; // simulated microseconds per millisecond

/** The scenario the page opens on (web/src/ui/gallery.rs, DEFAULT_JSON). */
const DEFAULT_SCENARIO = {
  version: 1,
  name: 'Playground: five Raft nodes',
  description:
    'Five Raft nodes elect a leader and replicate a light stream of client writes and reads. Click a node to crash, pause or restart it; click a link to cut it.',
  watch:
    'The first election (vote requests racing out), then heartbeats from the leader and appends carrying client writes.',
  protocol: { name: 'raft' },
  nodes: 5,
  workload: { clients: 2, rate: 2, keys: 2, start_ms: 400 },
  duration_ms: 30000,
  seed: 1,
};
const DEFAULT_NAME = DEFAULT_SCENARIO.name;

let server;

before(async () => {
  server = await serveDist();
});

after(async () => {
  await server?.close();
});

/**
 * Run `body(open)` with a fresh browser. `open(fragment)` opens the page (with `#fragment`
 * if given), waits for the cluster to be drawn and returns { page, errors }. Afterwards
 * every opened page must have logged no errors and shown no panic.
 */
async function withBrowser(body, { clipboard = false } = {}) {
  const browser = await launch();
  const opened = [];
  if (clipboard) {
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: new URL(server.url).origin,
    });
  }
  const open = async (fragment = '', { initScript } = {}) => {
    const page = await browser.context.newPage();
    const errors = watchForErrors(page);
    opened.push({ page, errors });
    if (initScript) await page.addInitScript(initScript);
    await page.goto(fragment ? `${server.url}#${fragment}` : server.url, { waitUntil: 'load' });
    await page.locator('svg[data-testid="canvas"] g[data-node]').first().waitFor({ timeout: TIMEOUT });
    return { page, errors };
  };
  try {
    await body(open);
    for (const { page, errors } of opened) {
      if (!page.isClosed()) {
        assert.equal(await page.getByTestId('panic').count(), 0, 'no panic banner');
      }
      assert.deepEqual(errors, [], 'no console errors, uncaught exceptions or failed requests');
    }
  } catch (err) {
    const seen = opened.flatMap((o) => o.errors);
    if (seen.length) err.message += `\nerrors seen in the page: ${JSON.stringify(seen, null, 2)}`;
    throw err;
  } finally {
    await browser.close();
  }
}

const shot = (page, name) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

/** Wait for the end of the default-length run and its final trace hash. */
async function waitForEnd(page, opts = {}) {
  try {
    return await waitForFinalHash(page, DEFAULT_SCENARIO.duration_ms * MS, { timeout: TIMEOUT, ...opts });
  } catch (err) {
    const want = opts.not ? `a hash other than ${opts.not}` : opts.equals ? `hash ${opts.equals}` : 'a final hash';
    err.message = `waiting for the end of the run with ${want}: at t=${await simTimeUs(page)} us ` +
      `the page shows trace hash ${JSON.stringify(await traceHash(page))}\n${err.message}`;
    throw err;
  }
}

test('the default scenario elects a leader', { timeout: 60_000 }, async () => {
  await withBrowser(async (open) => {
    const { page } = await open();
    assert.equal((await page.locator('.ql-scn').textContent()).trim(), DEFAULT_NAME);
    assert.equal((await roles(page)).length, 5, 'five nodes drawn');
    // It plays by itself, at the default speed.
    await page.locator('[data-testid="play"].on').waitFor({ timeout: TIMEOUT });
    assert.equal(await page.getByTestId('speed').inputValue(), '50');

    const leader = await waitForLeader(page, { timeout: TIMEOUT });
    const at = await simTimeUs(page);
    assert.ok(at > 0 && at <= 2_000 * MS, `leader elected within 2 s simulated (at ${at} us)`);

    // And it stays the only leader (no faults in this scenario).
    await waitForSimTime(page, at + 300 * MS, { timeout: TIMEOUT });
    const later = await roles(page);
    assert.equal(later[leader], 'leader', `node ${leader} is still the leader 300 ms later: ${later}`);
    assert.equal(later.filter((r) => r === 'leader').length, 1, `one leader: ${later}`);
    const term = await nodeTerm(page, leader);
    assert.ok(term >= 1, `the leader has a term (${term})`);
    await shot(page, 'elects-leader');
  });
});

test('crashing the leader leads to a new leader', { timeout: 60_000 }, async () => {
  await withBrowser(async (open) => {
    const { page } = await open();
    await setSpeed(page, 200);
    const old = await waitForLeader(page, { timeout: TIMEOUT });
    const oldTerm = await nodeTerm(page, old);

    // Click the leader on the canvas; its panel has the Crash button.
    const panel = await selectNode(page, old);
    await panel.getByTestId('crash').click();
    await page
      .locator(`svg[data-testid="canvas"] g[data-node="${old}"][data-role="crashed"]`)
      .waitFor({ timeout: TIMEOUT });
    assert.ok(await panel.getByTestId('crash').isDisabled(), 'a crashed node cannot crash again');
    assert.ok(await panel.getByTestId('restart').isEnabled(), 'a crashed node can restart');
    assert.match(await panel.textContent(), /Crashed/);
    // The crash is now part of the scenario: a mark on the timeline, and undoable.
    assert.equal(await page.locator('[data-testid="timeline"] [data-fault].crash').count(), 1);
    assert.ok(await page.getByTestId('undo').isEnabled(), 'the crash can be undone');

    // Still playing: the others elect a new leader in a higher term.
    await page.locator('[data-testid="play"].on').waitFor({ timeout: TIMEOUT });
    const next = await waitForLeader(page, { exclude: old, timeout: TIMEOUT });
    assert.notEqual(next, old);
    const r = await roles(page);
    assert.equal(r[old], 'crashed', `the old leader is still shown crashed: ${r}`);
    const newTerm = await nodeTerm(page, next);
    assert.ok(newTerm > oldTerm, `new leader's term ${newTerm} > old term ${oldTerm}`);
    await shot(page, 'leader-crash');
  });
});

test('a partition stops commits on the minority side', { timeout: 90_000 }, async () => {
  await withBrowser(async (open) => {
    const { page } = await open();
    await setSpeed(page, 1000);
    const leader = await waitForLeader(page, { timeout: TIMEOUT });
    // Let some client writes commit first.
    await waitForSimTime(page, 1_500 * MS, { timeout: TIMEOUT });
    await pause(page);

    const all = [0, 1, 2, 3, 4];
    const minority = [leader, (leader + 1) % 5];
    const majority = all.filter((i) => !minority.includes(i));

    // The partition tool in the Edit tab: minority in group A, majority in group B.
    await page.getByTestId('tab-edit').click();
    const tool = page.getByTestId('partition-tool');
    const groupButton = (node, g) => page.getByTestId(`group-${g}-${node}`);
    for (const i of minority) await groupButton(i, 'a').click();
    for (const i of majority) await groupButton(i, 'b').click();
    for (const i of minority) await tool.locator('.ql-grp').nth(i).locator('button.a.on').waitFor();
    for (const i of majority) await tool.locator('.ql-grp').nth(i).locator('button.b.on').waitFor();
    await page.getByTestId('apply-partition').click();

    // Cut links are drawn: every pair across the partition, and no other.
    await page.locator('[data-testid="timeline"] [data-fault].partition').waitFor({ timeout: TIMEOUT });
    const cut = await page.$$eval('svg[data-testid="canvas"] g.ql-link.cut', (gs) =>
      gs.map((g) => g.dataset.link).sort());
    const across = [];
    for (const a of minority) for (const b of majority) across.push(`${Math.min(a, b)}-${Math.max(a, b)}`);
    assert.deepEqual(cut, across.sort(), 'the links across the partition are cut');

    const t0 = await simTimeUs(page);
    const at = {};
    for (const i of all) at[i] = await commitIndex(page, i);
    const minorityAt = Math.max(...minority.map((i) => at[i]));
    const majorityAt = Math.max(...majority.map((i) => at[i]));
    assert.ok(minorityAt >= 1, `something was committed before the partition: ${JSON.stringify(at)}`);

    // Three simulated seconds later.
    await play(page);
    await waitForSimTime(page, t0 + 3_000 * MS, { timeout: TIMEOUT });
    await pause(page);
    const later = {};
    for (const i of all) later[i] = await commitIndex(page, i);
    const detail = `commit indexes at the partition (t=${t0} us): ${JSON.stringify(at)}, ` +
      `at t=${await simTimeUs(page)} us: ${JSON.stringify(later)}; minority ${minority}`;

    for (const i of minority) {
      assert.ok(later[i] <= minorityAt, `minority node ${i} committed nothing new: ${detail}`);
    }
    const majorityLater = Math.max(...majority.map((i) => later[i]));
    assert.ok(majorityLater > majorityAt, `the majority kept committing: ${detail}`);
    const quorum = majority.filter((i) => later[i] > Math.max(minorityAt, majorityAt));
    assert.ok(quorum.length >= 2, `a quorum of the majority side is ahead: ${detail}`);

    const r = await roles(page);
    assert.ok(majority.some((i) => r[i] === 'leader'), `the majority side has a leader: ${r}`);
    assert.ok(minority.every((i) => r[i] !== 'leader'), `the old leader stepped down: ${r}`);

    await selectNode(page, leader);
    await shot(page, 'partition-minority');
  });
});

test('a share link replays to the same trace hash', { timeout: 90_000 }, async () => {
  await withBrowser(
    async (open) => {
      const { page } = await open();
      await setSpeed(page, 500);
      const leader = await waitForLeader(page, { timeout: TIMEOUT });

      // An edit: crash the leader now.
      const panel = await selectNode(page, leader);
      await panel.getByTestId('crash').click();
      await page
        .locator(`svg[data-testid="canvas"] g[data-node="${leader}"][data-role="crashed"]`)
        .waitFor({ timeout: TIMEOUT });

      await page.getByTestId('copy-link').click();
      const field = page.getByTestId('share-link');
      await field.waitFor({ timeout: TIMEOUT });
      const link = await field.inputValue();
      assert.ok(link.startsWith(`${server.url}#2.`), `a share link: ${link}`);
      assert.match(link.slice(link.indexOf('#') + 1), /^2\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]+$/);
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link, 'on the clipboard');

      await page.getByTestId('run-to-end').click();
      const edited = await waitForEnd(page);
      await shot(page, 'share-link-original');

      // Undo the crash (it replays to the end): a different run; redo: the same again.
      await page.getByTestId('undo').click();
      const unedited = await waitForEnd(page, { not: edited });
      assert.notEqual(unedited, edited, 'the crash changes the run');
      await page.getByTestId('redo').click();
      await waitForEnd(page, { equals: edited });

      // The link in a new page: the same scenario, the same run.
      const { page: copy } = await open(link.slice(link.indexOf('#') + 1));
      assert.equal(await copy.getByTestId('error-banner').count(), 0, 'the link loads');
      assert.equal((await copy.locator('.ql-scn').textContent()).trim(), DEFAULT_NAME);
      assert.equal(await copy.locator('[data-testid="timeline"] [data-fault].crash').count(), 1);
      await copy.getByTestId('run-to-end').click();
      const replayed = await waitForEnd(copy);
      assert.equal(replayed, edited, 'the shared link replays to the same trace hash');
      assert.equal((await roles(copy))[leader], 'crashed');
      await shot(copy, 'share-link-opened');

      // Another seed (Edit tab), another run; back to seed 1, the same run again.
      const setSeed = async (v) => {
        await copy.getByTestId('tab-edit').click();
        const seed = copy.getByTestId('seed');
        await seed.fill(String(v));
        await seed.press('Enter');
        await copy.waitForFunction((want) => document.querySelector('[data-testid="seed"]')?.value === want, String(v));
        await copy.getByTestId('run-to-end').click();
      };
      await setSeed(2);
      const seed2 = await waitForEnd(copy, { not: edited });
      assert.notEqual(seed2, edited, 'seed 2 gives another trace hash');
      await setSeed(1);
      await waitForEnd(copy, { equals: edited });
    },
    { clipboard: true },
  );
});

test('a broken link shows the error banner and opens the default scenario', { timeout: 90_000 }, async () => {
  // A valid link to another scenario, then cut short.
  const other = encodeScenario({ ...DEFAULT_SCENARIO, name: 'Another scenario', nodes: 3, seed: 9 });
  const checked = encodeScenarioChecked({ ...DEFAULT_SCENARIO, name: 'Another scenario', nodes: 3, seed: 9 });
  const cases = [
    { name: 'garbage', fragment: '1.!!this*is~not(base64)!!', why: /is not base64url/ },
    { name: 'not-deflate', fragment: '1.QUJDREVGR0hJSktMTU5PUA', why: /does not decompress/ },
    { name: 'truncated', fragment: other.slice(0, Math.floor(other.length / 2)), why: /does not decompress/ },
    // The current format names a cut or an edit as such, by its checksum.
    { name: 'truncated-checked', fragment: checked.slice(0, Math.floor(checked.length / 2)), why: /truncated or edited/ },
    { name: 'edited-checked', fragment: checked.slice(0, -3) + (checked.endsWith('AAA') ? 'BBB' : 'AAA'), why: /truncated or edited/ },
  ];
  await withBrowser(async (open) => {
    for (const c of cases) {
      const { page } = await open(c.fragment);
      const banner = page.getByTestId('error-banner');
      await banner.waitFor({ state: 'visible', timeout: TIMEOUT });
      const text = (await banner.locator('pre').textContent()).trim();
      assert.match(text, /^This link does not hold a scenario: the link is damaged/, `${c.name}: ${text}`);
      assert.match(text, c.why, `${c.name}: ${text}`);
      assert.equal(await banner.getAttribute('role'), 'alert');

      // The default scenario runs anyway.
      assert.equal((await page.locator('.ql-scn').textContent()).trim(), DEFAULT_NAME, c.name);
      assert.equal((await roles(page)).length, 5, `${c.name}: five nodes`);
      await setSpeed(page, 500);
      await waitForLeader(page, { timeout: TIMEOUT });
      assert.ok(await banner.isVisible(), `${c.name}: the banner stays until dismissed`);
      assert.equal(await page.evaluate(() => window.location.hash), '', `${c.name}: the broken fragment is dropped`);
      await shot(page, `broken-link-${c.name}`);

      await banner.getByRole('button', { name: 'Dismiss' }).click();
      await banner.waitFor({ state: 'detached', timeout: TIMEOUT });
      await page.close();
    }

    // Control: the same link, whole, opens its scenario without a banner.
    const { page } = await open(other);
    assert.equal((await page.locator('.ql-scn').textContent()).trim(), 'Another scenario');
    assert.equal((await roles(page)).length, 3);
    assert.equal(await page.getByTestId('error-banner').count(), 0);
  });
});

test('a partition drawn by dragging nodes across the line', { timeout: 60_000 }, async () => {
  await withBrowser(async (open) => {
    const { page } = await open();
    await pause(page);
    await page.getByTestId('tab-edit').click();
    await page.getByTestId('draw-partition').check();
    const inGroup = async (node, g) =>
      (await page.getByTestId(`group-${g}-${node}`).getAttribute('class')).split(/\s+/).includes('on');
    // On the default circle, nodes 3 and 4 stand left of the middle line.
    assert.ok(await inGroup(3, 'a') && await inGroup(4, 'a'), 'left side is A');
    assert.ok(await inGroup(1, 'b') && await inGroup(2, 'b'), 'right side is B');
    // Drag node 1 to the far left: it joins A.
    const canvas = await page.getByTestId('canvas').boundingBox();
    const box = await page.locator('svg[data-testid="canvas"] g[data-node="1"]').boundingBox();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    for (let k = 1; k <= 10; k++) {
      const x = box.x + box.width / 2 + ((canvas.x + canvas.width * 0.2) - (box.x + box.width / 2)) * (k / 10);
      await page.mouse.move(x, box.y + box.height / 2);
    }
    await page.mouse.up();
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="group-a-1"]').classList.contains('on'));
    const a = [];
    const b = [];
    for (let i = 0; i < 5; i++) (await inGroup(i, 'a') ? a : b).push(i);
    assert.ok(a.includes(1) && a.includes(3) && a.includes(4), `A = ${a}`);
    await page.getByTestId('apply-partition').click();
    await page.locator('[data-testid="timeline"] [data-fault].partition').waitFor({ timeout: TIMEOUT });
    const cut = await page.$$eval('svg[data-testid="canvas"] g.ql-link.cut', (gs) => gs.length);
    assert.equal(cut, a.length * b.length, `every link across ${a} | ${b} is cut`);
    await shot(page, 'partition-drawn');
  });
});

test('the protocol picker lists the registry and switches to Multi-Paxos with its parameters', { timeout: 60_000 }, async () => {
  await withBrowser(async (open) => {
    const { page } = await open();
    await pause(page);
    await page.getByTestId('tab-edit').click();
    const picker = page.getByTestId('protocol-select');
    const options = await picker.locator('option').evaluateAll((os) => os.map((o) => o.value));
    // The registry's catalogue order (crates/sim/src/registry.rs), as the schema lists it
    // (generated from the registry; a Rust test keeps them equal) and
    // `quorumlab protocols --json` lists it: every protocol, each in its own module.
    const schema = JSON.parse(await readFile(join(ROOT, 'scenarios', 'scenario.schema.json'), 'utf8'));
    const names = schema.properties.protocol.properties.name.enum;
    assert.deepEqual(cliProtocols().map((p) => p.name), names);
    assert.ok(names.includes('quorum-kv') && names.includes('lock') && names.length >= 8, JSON.stringify(names));
    assert.deepEqual(options, names);
    assert.equal(await page.locator('[data-testid="params"] [data-param="read_mode"] select').count(), 1,
      'a choice parameter is a select');
    await picker.selectOption('multi-paxos');
    await page.locator('[data-testid="params"] [data-param="catch_up_batch"]').waitFor({ timeout: TIMEOUT });
    assert.equal(await page.locator('[data-testid="params"] [data-param="read_mode"]').count(), 0,
      'Raft parameters are gone');
    const help = await page.locator('[data-testid="params"] [data-param="catch_up_batch"]').getAttribute('title');
    assert.match(help, /catch-up message/);
    await play(page);
    await waitForLeader(page, { timeout: TIMEOUT });
    await shot(page, 'protocol-picker-multi-paxos');
  });
});

test('a stale read is caught by the checker and its explanation drawn', { timeout: 60_000 }, async () => {
  await withBrowser(async (open) => {
    // Mid-run, on the default scenario: the history so far checks out.
    {
      const { page } = await open();
      await setSpeed(page, 1000);
      await waitForSimTime(page, 3_000 * MS, { timeout: TIMEOUT });
      await page.getByTestId('tab-console').click();
      await page.getByTestId('check-now').click();
      // The analysis worker answers after a moment ("checking" until then).
      const v = page.locator('[data-testid="verdict"] [data-verdict]:not([data-verdict="checking"])');
      await v.waitFor({ timeout: TIMEOUT });
      assert.equal(await v.getAttribute('data-verdict'), 'passed');
      const at = Number(await page.getByTestId('verdict').getAttribute('data-at'));
      assert.ok(at > 0 && at < DEFAULT_SCENARIO.duration_ms * MS, `checked mid-run at ${at} us`);
    }
    // The lease preset: reads served from a leader whose clock runs slow are stale.
    const lease = await readFile(join(ROOT, 'scenarios', 'raft-lease-clock-skew.json'), 'utf8');
    const { page } = await open(encodeScenario(lease));
    await page.getByTestId('run-to-end').click();
    await page.getByTestId('tab-console').click();
    const v = page.locator('[data-testid="verdict"] [data-verdict="failed"]');
    await v.waitFor({ timeout: TIMEOUT });
    const ops = page.locator('svg[data-testid="explanation"] g[data-op]');
    assert.ok(await ops.count() >= 2, 'at least two operations explain the anomaly');
    assert.equal(await page.locator('svg[data-testid="explanation"] g.stuck').count(), 1, 'one operation cannot be placed');
    assert.match(await page.locator('svg[data-testid="explanation"] g.stuck').textContent(), /read/);
    await page.getByTestId('verdict').scrollIntoViewIfNeeded();
    await shot(page, 'explanation');
  });
});

test('the timeline marks the election after a leader crash; clicking it goes there and selects the new leader', { timeout: 60_000 }, async () => {
  await withBrowser(async (open) => {
    const text = await readFile(join(ROOT, 'scenarios', 'raft-leader-crash.json'), 'utf8');
    const { page } = await open(encodeScenario(text));
    await page.getByTestId('run-to-end').click();
    const marks = page.locator('[data-testid="timeline"] [data-testid="timeline-mark"]');
    await page.locator('[data-testid="timeline-mark"][data-kind="elected"]').nth(1).waitFor({ timeout: TIMEOUT });
    const kinds = await marks.evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')));
    assert.ok(kinds.includes('stalled'), `the gap in service is marked: ${kinds}`);
    assert.ok(kinds.includes('passed'), `decided expectations are marked: ${kinds}`);
    const elected = page.locator('[data-testid="timeline-mark"][data-kind="elected"]');
    const ats = (await elected.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-at')))));
    const i = ats.findIndex((at) => at > 1500);
    assert.ok(i > 0, `an election after the crash at 1500 ms: ${ats}`);
    const title = await elected.nth(i).locator('title').textContent();
    const m = title.match(/node (\d+) leads epoch \d+ \(after node (\d+)\)/);
    assert.ok(m, `the mark names the new and the old leader: ${title}`);
    await elected.nth(i).click();
    const us = await simTimeUs(page);
    assert.ok(Math.abs(us / 1000 - ats[i]) < 1, `the playhead at the mark: ${us} us vs ${ats[i]} ms`);
    const sel = page.locator(`svg[data-testid="canvas"] g[data-node="${m[1]}"][aria-pressed="true"]`);
    await sel.waitFor({ timeout: TIMEOUT });
    await page.getByTestId('timeline').scrollIntoViewIfNeeded();
    await shot(page, 'timeline-marks');
  });
});

test('a share link opened in a tab already showing the page loads it', { timeout: 60_000 }, async () => {
  await withBrowser(async (open) => {
    const { page } = await open();
    const three = { ...DEFAULT_SCENARIO, name: 'three nodes by link', nodes: 3 };
    // Only the fragment changes: the browser does not reload the page.
    await page.evaluate((f) => { window.location.hash = f; }, encodeScenario(three));
    await page.waitForFunction(
      () => document.querySelectorAll('svg[data-testid="canvas"] g[data-node]').length === 3,
      null,
      { timeout: TIMEOUT },
    );
    await waitForLeader(page);
    await shot(page, 'hashchange');
  });
});

test('measurements: frame rate and load time', { timeout: 90_000 }, async () => {
  // Record, inside the page, when simulated time first moves and when a leader first
  // shows (performance.now(), i.e. milliseconds since navigation start).
  const probe = () => {
    const look = () => {
      const t = Number(document.querySelector('[data-testid="time"]')?.dataset.us);
      if (window.__e2e_running_ms === undefined && t > 0) window.__e2e_running_ms = performance.now();
      if (window.__e2e_leader_ms === undefined && document.querySelector('g[data-node][data-role="leader"]')) {
        window.__e2e_leader_ms = performance.now();
        window.__e2e_leader_sim_us = t;
      }
      if (window.__e2e_leader_ms === undefined) requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
  };

  await withBrowser(async (open) => {
    const { page } = await open('', { initScript: probe });
    await waitForLeader(page, { timeout: TIMEOUT });
    await page.waitForFunction(() => window.__e2e_leader_ms !== undefined, null, { timeout: TIMEOUT });
    const load = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      return {
        dcl: nav?.domContentLoadedEventEnd,
        load: nav?.loadEventEnd,
        running: window.__e2e_running_ms,
        appRunning: window.__quorumlab_running_ms,
        leader: window.__e2e_leader_ms,
        leaderSim: window.__e2e_leader_sim_us,
      };
    });
    assert.ok(load.running > 0 && load.leader >= load.running, JSON.stringify(load));
    const fps5 = await measureFps(page, 3000);
    const appFps5 = await page.evaluate(() => window.__quorumlab_fps);
    // Also at a fast speed, where the engine's work per frame shows (60 is the cap).
    await setSpeed(page, 1000);
    const fast5 = await measureFps(page, 3000);
    await shot(page, 'measure-5-nodes');
    await page.close();

    const big = encodeScenario({
      ...DEFAULT_SCENARIO,
      name: 'Twenty-five Raft nodes',
      description: 'The default scenario with 25 nodes (made by the browser tests to measure the frame rate).',
      nodes: 25,
    });
    const { page: page25 } = await open(big);
    assert.equal((await roles(page25)).length, 25, 'twenty-five nodes drawn');
    assert.equal(await page25.getByTestId('speed').inputValue(), '50', 'normal speed');
    await waitForLeader(page25, { timeout: TIMEOUT });
    const fps25 = await measureFps(page25, 3000);
    const appFps25 = await page25.evaluate(() => window.__quorumlab_fps);
    await shot(page25, 'measure-25-nodes');
    await setSpeed(page25, 1000);
    const fast25 = await measureFps(page25, 3000);

    assert.ok([fps5, fps25, fast5, fast25].every((m) => m.fps > 0), 'frames counted');
    const f = (x) => (typeof x === 'number' ? x.toFixed(1) : String(x));
    console.log(
      `MEASURE fps5=${f(fps5.fps)} fps25=${f(fps25.fps)} app_fps5=${f(appFps5)} app_fps25=${f(appFps25)} (rAF frames over ${f(fps5.ms)} / ${f(fps25.ms)} ms at 50 ms/s)`,
    );
    console.log(`MEASURE fps5_fast=${f(fast5.fps)} fps25_fast=${f(fast25.fps)} (at 1000 ms/s)`);
    console.log(
      `MEASURE load_ms=${f(load.running)} app_running_ms=${f(load.appRunning)} first_leader_ms=${f(load.leader)} first_leader_sim_ms=${f(load.leaderSim / MS)} dom_content_loaded_ms=${f(load.dcl)} load_event_ms=${f(load.load)} (since navigation start)`,
    );
  });
});
