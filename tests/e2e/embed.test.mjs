// The embeddable widget, embed.js and the book built on them (docs/embedding.md).
//
// A page on a second origin (another port) embeds two widgets with the script snippet
// and one with a plain iframe: each runs, reaches the CLI's trace hash for its scenario
// and seed, obeys its parent and ignores a stranger frame. Then every chapter of the
// built book, axe-core on the page, the widget and a chapter, the keyboard, and
// prefers-reduced-motion.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sharedBrowser } from './harness.mjs';
import { watchForErrors } from './browser.mjs';
import { DIST, ROOT, SCREENSHOTS, serveDir } from './static-server.mjs';
import { cli } from './page-helpers.mjs';

const env = sharedBrowser();
const TIMEOUT = 30_000;
const require = createRequire(import.meta.url);
const AXE = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');


/** The share-link fragment of a preset (`quorumlab url`). */
function fragment(preset) {
  const r = cli(['url', join(ROOT, 'scenarios', `${preset}.json`)]);
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('#')[1];
}

/** The native run's trace hash for a preset, with its seed replaced if given. */
async function nativeHash(preset, seed = null) {
  const s = JSON.parse(await readFile(join(ROOT, 'scenarios', `${preset}.json`), 'utf8'));
  if (seed !== null) s.seed = seed;
  const r = cli(['run', '-', '--json'], JSON.stringify(s));
  assert.ok(r.status === 0 || r.status === 1, `quorumlab run failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout).trace_hash;
}

/** Serve `html` as index.html of a second origin (its own port). */
async function hostPage(html) {
  const dir = await mkdtemp(join(tmpdir(), 'quorumlab-host-'));
  await writeFile(join(dir, 'index.html'), html);
  const host = await serveDir(dir, { prefix: '/notes/' });
  return {
    url: host.url,
    close: async () => {
      await host.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

// Events from every frame, tagged with the frame's id, with the host's clock.
const COLLECT = `<script>
  window.events = [];
  window.addEventListener('message', (e) => {
    const f = [...document.querySelectorAll('iframe')].find((f) => f.contentWindow === e.source);
    window.events.push({ from: f ? (f.id || f.parentElement.id) : '?', at: performance.now(), data: e.data });
  });
</script>`;

function eventsOf(page, from, type) {
  return page.evaluate(
    ([from, type]) => window.events.filter((e) => e.from === from && e.data && e.data.type === type).map((e) => e.data),
    [from, type],
  );
}

test('three widgets on another site run on their own, reach the CLI trace hashes and obey only their parent', { timeout: 180_000 }, async () => {
  const dist = env.server.url;
  const runs = [
    { id: 'w1', preset: 'raft-first-election', seed: null },
    { id: 'w2', preset: 'fd-crash-detected', seed: 7 },
    { id: 'w3', preset: 'raft-leader-crash', seed: null },
  ];
  const frags = Object.fromEntries(runs.map((r) => [r.id, fragment(r.preset)]));
  const host = await hostPage(`<!doctype html><html lang="en"><title>Course notes</title><link rel="icon" href="data:,">
    ${COLLECT}
    <h1>Notes</h1>
    <div id="w1" data-quorumlab="${dist}#${frags.w1}" data-height="380" data-speed="2000" data-runtime="inline"></div>
    <div id="w2" data-quorumlab="${dist}#${frags.w2}" data-height="420" data-speed="5000" data-seed="7" data-panels="log"></div>
    <iframe id="w3" src="${dist}?embed=1&speed=5000&runtime=inline#${frags.w3}" width="100%" height="380" style="border:0" title="quorumlab"></iframe>
    <iframe id="stranger" srcdoc="<p>a stranger</p>" title="stranger"></iframe>
    <div id="bad" data-quorumlab="javascript:alert(1)"></div>
    <div id="far" style="margin-top:4000px" data-quorumlab="${dist}#${frags.w1}"></div>
    <script src="${dist}embed.js" defer></script>`);
  const page = await env.browser.context.newPage();
  // Browsers run no animation frames in iframes out of view: all three in view.
  await page.setViewportSize({ width: 1000, height: 1500 });
  const errors = watchForErrors(page);
  try {
    await page.goto(host.url, { waitUntil: 'load' });
    // Three running clusters: each widget posted a moment past 0.
    await page.waitForFunction(
      () => ['w1', 'w2', 'w3'].every((id) => window.events.some((e) => e.from === id && e.data.type === 'time' && e.data.time > 0)),
      null,
      { timeout: TIMEOUT },
    );
    const running = await page.evaluate(() =>
      Math.max(...['w1', 'w2', 'w3'].map((id) => window.events.find((e) => e.from === id && e.data.type === 'time' && e.data.time > 0).at)));
    console.log(`# three widgets running ${running.toFixed(0)} ms after navigation`);
    // The one far below is not loaded until it is scrolled to; the bad link says so.
    assert.equal(await page.locator('#far').getAttribute('data-quorumlab-state'), 'waiting');
    assert.equal(await page.locator('#far iframe').count(), 0);
    assert.match(await page.locator('#bad [role=alert]').textContent(), /not a web link/);

    // Each ends with its own trace hash, the CLI's for its scenario and seed.
    await page.waitForFunction(() => ['w1', 'w2', 'w3'].every((id) => window.events.some((e) => e.from === id && e.data.type === 'finished')), null, { timeout: 90_000 });
    const hashes = new Set();
    for (const r of runs) {
      const [fin] = await eventsOf(page, r.id, 'finished');
      const want = await nativeHash(r.preset, r.seed);
      assert.equal(fin.trace_hash, want, `${r.id} (${r.preset}, seed ${r.seed ?? 'preset'})`);
      assert.equal(fin.api, 1);
      assert.ok(fin.summary.ok > 0 || r.preset.startsWith('fd'), JSON.stringify(fin.summary));
      hashes.add(fin.trace_hash);
      const [ready] = await eventsOf(page, r.id, 'ready');
      assert.equal(ready.api, 1);
      if (r.seed !== null) assert.equal(ready.seed, r.seed);
    }
    assert.equal(hashes.size, 3);
    // Raft elects: the leader event reached the parent.
    const leaders = await eventsOf(page, 'w1', 'leader');
    assert.ok(leaders.length >= 1, 'a leader event');
    const w1 = page.frameLocator('#w1 iframe');
    const w3 = page.frameLocator('#w3');
    // The parent's commands work; a stranger frame's are ignored.
    const stranger = page.frames().find((f) => f.url() === 'about:srcdoc');
    await stranger.evaluate(() => {
      const target = parent.document.querySelector('#w1 iframe').contentWindow;
      target.postMessage({ type: 'seek', time: 0 }, '*');
      target.postMessage({ type: 'crash', node: 3 }, '*');
    });
    await page.evaluate(() => {
      const w = document.querySelector('#w1 iframe').contentWindow;
      w.postMessage({ type: 'seek', time: 1000, api: 1 }, '*');
      w.postMessage({ type: 'crash', node: 1 }, '*');
      w.postMessage({ type: 'op', node: 0, op: 'write', key: 'x', value: 5 }, '*');
      w.postMessage({ type: 'pause' }, '*');
    });
    await w1.locator('g[data-node="1"][data-role="crashed"]').waitFor({ timeout: TIMEOUT });
    assert.equal(await w1.locator('g[data-node="3"][data-role="crashed"]').count(), 0, 'the stranger crashed nothing');
    assert.equal(await w3.locator('g[data-node="1"][data-role="crashed"]').count(), 0, 'the other widgets are untouched');
    const roleEvents = await eventsOf(page, 'w1', 'role');
    assert.ok(roleEvents.some((e) => e.node === 1 && e.role === 'crashed'), 'the crash reached the parent as a role event');
    // A malformed command: an error event and a notice inside the frame.
    await page.evaluate(() => document.querySelector('#w1 iframe').contentWindow.postMessage({ type: 'op', node: 0, op: 'write' }, '*'));
    await page.waitForFunction(() => window.events.some((e) => e.from === 'w1' && e.data.type === 'error'), null, { timeout: TIMEOUT });
    assert.match((await eventsOf(page, 'w1', 'error'))[0].message, /`value`/);
    await w1.getByTestId('notice').waitFor({ timeout: TIMEOUT });
    await page.screenshot({ path: join(SCREENSHOTS, 'embed-host.png'), fullPage: false });
    // Scrolled to, the far one loads.
    await page.locator('#far').scrollIntoViewIfNeeded();
    await page.locator('#far iframe').waitFor({ timeout: TIMEOUT });
    await page.waitForFunction(() => window.events.some((e) => e.from === 'far' && e.data.type === 'ready'), null, { timeout: TIMEOUT });
  } finally {
    await page.close();
    await host.close();
  }
  assert.deepEqual(errors, []);
});

test('bad options and a bad link: a message in the frame and an error event, the host intact', { timeout: 60_000 }, async () => {
  const host = await hostPage(`<!doctype html><html lang="en"><title>Notes</title><link rel="icon" href="data:,">${COLLECT}
    <p id="host-ok">host text</p>
    <iframe id="x" src="${env.server.url}?embed=1&runtime=inline&colour=red&speed=fast#2.not-a-scenario" width="600" height="400" title="quorumlab"></iframe>`);
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  try {
    await page.goto(host.url, { waitUntil: 'load' });
    await page.waitForFunction(() => window.events.some((e) => e.data.type === 'error'), null, { timeout: TIMEOUT });
    const [err] = await eventsOf(page, 'x', 'error');
    for (const needle of ['does not hold a scenario', '`colour` is not an option', 'speed=fast']) {
      assert.ok(err.message.includes(needle), `${needle} in ${err.message}`);
    }
    const banner = page.frameLocator('#x').getByTestId('error-banner');
    assert.match(await banner.textContent(), /`colour` is not an option/);
    // The default scenario still runs in it.
    await page.frameLocator('#x').locator('g[data-node]').first().waitFor({ timeout: TIMEOUT });
    assert.equal(await page.locator('#host-ok').textContent(), 'host text');
  } finally {
    await page.close();
    await host.close();
  }
  assert.deepEqual(errors, []);
});

/** The chapters listed in the book's SUMMARY.md, as built pages. */
async function chapters() {
  const summary = await readFile(join(ROOT, 'docs/book/src/SUMMARY.md'), 'utf8');
  return [...summary.matchAll(/\]\(([^)]+)\.md\)/g)].map((m) => `${m[1]}.html`);
}

test('every chapter of the book loads cleanly and each of its widgets runs', { timeout: 300_000 }, async () => {
  const list = await chapters();
  assert.ok(list.length >= 10, list.join(' '));
  const page = await env.browser.context.newPage();
  // Tall enough that every widget of a chapter is near the viewport and loads at once.
  await page.setViewportSize({ width: 1000, height: 9000 });
  const errors = watchForErrors(page);
  let widgets = 0;
  try {
    for (const ch of list) {
      await page.goto(`${env.server.url}learn/${ch}`, { waitUntil: 'load' });
      const n = await page.locator('[data-quorumlab]').count();
      assert.ok(n >= 1, `${ch} embeds a widget`);
      await page.waitForFunction((n) => document.querySelectorAll('[data-quorumlab] iframe').length === n, n, { timeout: TIMEOUT });
      for (let i = 0; i < n; i++) {
        const frame = page.frameLocator('[data-quorumlab] iframe').nth(i);
        await frame.locator('[data-testid="time"]:not([data-us="0"])').waitFor({ timeout: TIMEOUT });
        assert.equal(await frame.getByTestId('error-banner').count(), 0, `${ch} widget ${i}: no error`);
        widgets++;
      }
      if (ch === 'raft.html') await page.screenshot({ path: join(SCREENSHOTS, 'book-raft.png'), clip: { x: 0, y: 0, width: 1000, height: 2400 } });
      assert.deepEqual(errors, [], ch);
    }
  } finally {
    await page.close();
  }
  console.log(`# ${list.length} chapters, ${widgets} widgets running`);
});

async function axe(frameOrPage, what) {
  await frameOrPage.evaluate(AXE);
  const r = await frameOrPage.evaluate(() =>
    window.axe.run(document, { iframes: false, resultTypes: ['violations'] }).then((r) =>
      r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))));
  const bad = r.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad, [], `${what}: ${JSON.stringify(bad, null, 1)}`);
}

test('axe-core: no serious or critical violations on the page, the widget and a chapter', { timeout: 120_000 }, async () => {
  const page = await env.browser.context.newPage();
  try {
    await page.goto(`${env.server.url}?runtime=inline`, { waitUntil: 'load' });
    await page.locator('g[data-node]').first().waitFor({ timeout: TIMEOUT });
    await page.getByTestId('embed-open').click();
    await page.getByTestId('embed-builder').waitFor();
    await axe(page, 'full page');
    await page.goto(`${env.server.url}?embed=1&runtime=inline&panels=log,console,cap#${fragment('raft-leader-crash')}`, { waitUntil: 'load' });
    await page.locator('g[data-node]').first().waitFor({ timeout: TIMEOUT });
    await axe(page, 'widget');
    await page.goto(`${env.server.url}learn/raft.html`, { waitUntil: 'load' });
    await axe(page, 'chapter');
  } finally {
    await page.close();
  }
});

test('the Embed button writes both snippets for the run on screen, and they work', { timeout: 60_000 }, async () => {
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  try {
    await page.goto(`${env.server.url}?runtime=inline#${fragment('raft-leader-crash')}`, { waitUntil: 'load' });
    await page.locator('g[data-node]').first().waitFor({ timeout: TIMEOUT });
    await page.getByTestId('embed-open').click();
    const builder = page.getByTestId('embed-builder');
    await builder.getByLabel('log').check();
    const iframe = await page.getByTestId('embed-iframe').inputValue();
    const script = await page.getByTestId('embed-script').inputValue();
    const frag = fragment('raft-leader-crash');
    assert.ok(iframe.includes(`?embed=1&panels=log&readonly=1#${frag}`), iframe);
    assert.ok(script.includes(`data-quorumlab="${env.server.url}#${frag}"`) && script.includes('data-panels="log"'), script);
    assert.ok(script.includes(`<script src="${env.server.url}embed.js" defer></script>`), script);
    await page.screenshot({ path: join(SCREENSHOTS, 'embed-builder.png') });
    // The iframe snippet, pasted into a page: the same run, with the log panel.
    const src = iframe.match(/src="([^"]+)"/)[1];
    await page.goto(src, { waitUntil: 'load' });
    await page.getByTestId('embed').waitFor({ timeout: TIMEOUT });
    await page.locator('.ql-grid, [data-testid="cluster-table"]').first().waitFor({ timeout: TIMEOUT });
    assert.equal(await page.locator('.ql-scn').first().textContent(), 'Raft: the leader crashes');
    // Read-only: no Undo, and the Open link leads to the full page with the same run.
    assert.equal(await page.getByTestId('undo').isVisible(), false);
    const open = await page.getByTestId('open-full').getAttribute('href');
    assert.equal(open, `${env.server.url}#${frag}`);
  } finally {
    await page.close();
  }
  assert.deepEqual(errors, []);
});

test('the widget by keyboard alone, narrow, dark, and without animated messages', { timeout: 60_000 }, async () => {
  const page = await env.browser.context.newPage();
  await page.setViewportSize({ width: 320, height: 640 });
  await page.emulateMedia({ reducedMotion: 'reduce', colorScheme: 'dark' });
  const errors = watchForErrors(page);
  try {
    await page.goto(`${env.server.url}?embed=1&runtime=inline&speed=200&panels=node#${fragment('raft-leader-crash')}`, { waitUntil: 'load' });
    await page.locator('g[data-node]').first().waitFor({ timeout: TIMEOUT });
    // No horizontal scrolling at 320 px.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `overflows by ${overflow} px`);
    // Dark colours from prefers-color-scheme; theme= overrides (below).
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    assert.equal(bg, 'rgb(20, 24, 33)');
    // Messages in flight are not drawn moving.
    await page.waitForFunction(() => document.querySelectorAll('.ql-canvas .msgs g').length > 0, null, { timeout: TIMEOUT });
    assert.equal(await page.locator('.ql-canvas .msgs').isVisible(), false);
    // Tab through everything: play, pause, step, the timeline and every node are reached.
    const reached = new Set();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press('Tab');
      const id = await page.evaluate(() => {
        const a = document.activeElement;
        return a.dataset.testid || (a.dataset.node !== undefined ? `node-${a.dataset.node}` : a.getAttribute('role') || a.tagName);
      });
      reached.add(id);
    }
    for (const want of ['play', 'pause', 'step', 'slider', 'open-full', 'node-0', 'node-4']) {
      assert.ok(reached.has(want), `${want} reached by Tab: ${[...reached].join(' ')}`);
    }
    // And usable: pause with Enter, select node 2 with Enter, crash it with Enter.
    await page.getByTestId('pause').focus();
    await page.keyboard.press('Enter');
    await page.locator('g[data-node="2"]').focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('crash').focus();
    await page.keyboard.press('Enter');
    await page.locator('g[data-node="2"][data-role="crashed"]').waitFor({ timeout: TIMEOUT });
    // The timeline moves with the arrows.
    const before = Number(await page.getByTestId('time').getAttribute('data-us'));
    await page.locator('[role=slider]').focus();
    await page.keyboard.press('End');
    await page.waitForFunction((b) => Number(document.querySelector('[data-testid=time]').dataset.us) > b, before, { timeout: TIMEOUT });
    await page.screenshot({ path: join(SCREENSHOTS, 'embed-320-dark.png'), fullPage: true });
    // theme=light wins over the reader's dark preference.
    await page.goto(`${env.server.url}?embed=1&runtime=inline&theme=light&autoplay=0`, { waitUntil: 'load' });
    await page.locator('g[data-node]').first().waitFor({ timeout: TIMEOUT });
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), 'rgb(247, 248, 251)');
    assert.equal(await page.getByTestId('time').getAttribute('data-us'), '0', 'autoplay=0 stays at 0');
  } finally {
    await page.close();
  }
  assert.deepEqual(errors, []);
});

test('dist holds the page, embed.js and the book, all linked relatively', async () => {
  const index = await readFile(join(DIST, 'learn', 'index.html'), 'utf8');
  assert.ok(!/(href|src)="\//.test(index), 'no absolute paths in the book');
  await readFile(join(DIST, 'embed.js'), 'utf8');
});
