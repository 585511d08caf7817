// Nothing a user can type, paste or post kills the page: bad scenario JSON, impossible
// parameters, garbage console input and malformed postMessage commands each end in a
// message, and the cluster keeps running.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, SCREENSHOTS, serveDir } from './static-server.mjs';
import { encodeScenario } from './page-helpers.mjs';
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
    // In the catalogue but not in the page's bundle yet: the message says where it runs.
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

/**
 * The playground embedded in a page of another site, beside a second frame of that site
 * (a stranger): `window.events` collects what the playground posts to its parent.
 */
async function embedded(fn) {
  const dir = await mkdtemp(join(tmpdir(), 'quorumlab-embedder-'));
  await writeFile(
    join(dir, 'index.html'),
    `<!doctype html><title>Embedder</title><link rel="icon" href="data:,">
     <iframe id="app" name="app" src="${env.server.url}?runtime=inline" width="1000" height="650"></iframe>
     <iframe id="stranger" name="stranger" srcdoc="<p>a stranger</p>"></iframe>
     <script>
       window.events = [];
       window.addEventListener('message', (e) => {
         if (e.source === document.getElementById('app').contentWindow) window.events.push(e.data);
       });
     </script>`,
  );
  const host = await serveDir(dir);
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  try {
    await page.goto(host.url, { waitUntil: 'load' });
    const app = page.frameLocator('#app');
    await app.locator('svg[data-testid="canvas"] g[data-node]').first().waitFor({ timeout: TIMEOUT });
    await page.waitForFunction(() => window.events.some((e) => e && e.type === 'ready'), null, { timeout: TIMEOUT });
    await fn(page, app);
  } finally {
    await page.close();
    await host.close();
    await rm(dir, { recursive: true, force: true });
  }
  assert.deepEqual(errors, []);
}

/** The `error` events the playground posted to its parent so far. */
function errorEvents(page) {
  return page.evaluate(() => window.events.filter((e) => e && e.type === 'error').map((e) => e.message));
}

test('only the embedding page drives the playground: a stranger frame is ignored', { timeout: 120_000 }, async () => {
  await embedded(async (page, app) => {
    const stranger = page.frame({ name: 'stranger' });
    await stranger.evaluate(() => {
      const target = parent.document.getElementById('app').contentWindow;
      target.postMessage({ type: 'crash', node: 1 }, '*');
      target.postMessage({ type: 'warp-drive' }, '*');
      target.postMessage('not json', '*');
    });
    // The parent's own command after them: once it is done, the stranger's have arrived.
    await page.evaluate(() => document.getElementById('app').contentWindow.postMessage({ type: 'crash', node: 2 }, '*'));
    await app.locator('g[data-node="2"][data-role="crashed"]').waitFor({ timeout: TIMEOUT });
    await page.waitForTimeout(500);
    assert.equal(await app.locator('g[data-node="1"][data-role="crashed"]').count(), 0, 'the stranger crashed nothing');
    assert.deepEqual(await errorEvents(page), [], 'a stranger gets no answer, not even an error');
    assert.equal(await app.getByTestId('notice').count(), 0, 'and the page shows nothing of it');
    // The parent's garbage is answered with an error event.
    await page.evaluate(() => document.getElementById('app').contentWindow.postMessage({ type: 'warp-drive' }, '*'));
    await page.waitForFunction(() => window.events.some((e) => e && e.type === 'error'), null, { timeout: TIMEOUT });
    assert.match((await errorEvents(page))[0], /unknown message type `warp-drive`/);
    await page.screenshot({ path: join(SCREENSHOTS, 'robust-stranger.png') });
  });
});

test('a parent posting in a tight loop is rate-limited and the page stays alive', { timeout: 120_000 }, async () => {
  await embedded(async (page, app) => {
    // 5000 unknown commands at once: each one read would be answered with an error event.
    const t0 = Date.now();
    await page.evaluate(() => {
      const target = document.getElementById('app').contentWindow;
      for (let i = 0; i < 5000; i++) target.postMessage({ type: 'warp-drive', i }, '*');
    });
    await page.waitForFunction(
      () => window.events.some((e) => e && e.type === 'error' && /too many messages/.test(e.message)),
      null,
      { timeout: TIMEOUT },
    );
    await page.waitForTimeout(1000);
    const errs = await errorEvents(page);
    const answered = errs.filter((m) => /unknown message type/.test(m)).length;
    const told = errs.filter((m) => /too many messages/.test(m));
    console.log(`MEASURE flood: 5000 posted, ${answered} read, ${told.length} 'too many' events, ${Date.now() - t0} ms`);
    assert.ok(answered >= 50 && answered <= 200, `${answered} of 5000 read`);
    assert.ok(told.length >= 1 && told.length <= 3, told.join('\n'));
    assert.match(told[0], /at most 100 at once and 50 a second; \d+ ignored/);
    // The page is alive: simulated time moves, and after a quiet moment a command works.
    await app.getByTestId('play').click();
    const t = Number(await app.getByTestId('time').getAttribute('data-us'));
    await app.locator('[data-testid="time"]').and(app.locator(`:not([data-us="${t}"])`)).waitFor({ timeout: TIMEOUT });
    await page.waitForTimeout(2500);
    await page.evaluate(() => document.getElementById('app').contentWindow.postMessage({ type: 'crash', node: 3 }, '*'));
    await app.locator('g[data-node="3"][data-role="crashed"]').waitFor({ timeout: TIMEOUT });
    assert.equal(await app.getByTestId('panic').count(), 0);
    await page.screenshot({ path: join(SCREENSHOTS, 'robust-flood.png') });
  });
});

test('the Content-Security-Policy refuses inline script, yet the app and its workers run', { timeout: 90_000 }, async () => {
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  await page.goto(`${env.server.url}?runtime=workers`, { waitUntil: 'load' });
  await page.locator('[data-testid="runtime"][data-transport="shared-memory"]').waitFor({ timeout: 60_000 });
  const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
  assert.match(csp, /script-src 'self' 'wasm-unsafe-eval';/);
  assert.equal(await page.locator('script:not([src])').count(), 0, 'no inline script in the page');
  // Script injected into the page (what an XSS would do) does not run.
  const ran = await page.evaluate(
    () =>
      new Promise((done) => {
        document.addEventListener('securitypolicyviolation', (e) => done({ ran: !!window.__injected, blocked: e.violatedDirective }), { once: true });
        const s = document.createElement('script');
        s.textContent = 'window.__injected = true';
        document.head.appendChild(s);
        setTimeout(() => done({ ran: !!window.__injected, blocked: null }), 2000);
      }),
  );
  assert.deepEqual(ran, { ran: false, blocked: 'script-src-elem' });
  await assertAlive(page, 'under the policy');
  await page.close();
  // The refusal is the only thing logged.
  assert.deepEqual(errors.filter((e) => !/Content Security Policy/.test(e)), []);
});

test('a scenario that would take minutes asks before running; presets never ask', { timeout: 120_000 }, async () => {
  const huge = {
    version: 1, name: 'Forty nodes for an hour', protocol: { name: 'raft' }, nodes: 40, duration_ms: 3_600_000,
    workload: { clients: 5, rate: 20 }, nemesis: { interval_ms: 2000 }, seed: 1,
  };
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  const asked = [];
  page.on('dialog', (d) => {
    asked.push(d.message());
    d.dismiss().catch(() => {});
  });
  // From a link: declined, the default scenario opens instead.
  await page.goto(`${env.server.url}#${encodeScenario(huge)}`, { waitUntil: 'load' });
  await page.locator('svg[data-testid="canvas"] g[data-node]').first().waitFor({ timeout: TIMEOUT });
  assert.equal(asked.length, 1, `asked once: ${asked}`);
  assert.match(asked[0], /40 nodes, 3600 s simulated, nemesis\) would take about \d+ minutes/);
  assert.notEqual((await page.locator('.ql-scn').textContent()).trim(), huge.name);
  // A preset loads without a question.
  for (const id of ['raft-nemesis', 'pb-split-brain', 'fd-jitter-phi-accrual']) {
    const text = await readFile(join(ROOT, 'scenarios', `${id}.json`), 'utf8');
    await page.evaluate((s) => window.postMessage({ type: 'load', scenario: JSON.parse(s) }, '*'), text);
    const name = JSON.parse(text).name;
    await page.waitForFunction((n) => document.querySelector('.ql-scn')?.textContent.trim() === n, name, { timeout: TIMEOUT });
  }
  assert.equal(asked.length, 1, `no question for presets: ${asked}`);
  // The huge one by postMessage: asked, declined, the preset stays, with a notice.
  await page.evaluate((s) => window.postMessage({ type: 'load', scenario: s }, '*'), huge);
  assert.match(await message(page), /Not run/);
  assert.equal(asked.length, 2);
  assert.notEqual((await page.locator('.ql-scn').textContent()).trim(), huge.name);
  await page.screenshot({ path: join(SCREENSHOTS, 'robustness-cost-declined.png') });
  await assertAlive(page, 'after declining');
  await page.close();
  assert.deepEqual(errors, []);
});

test('an engine module that traps ends its run with the reason, and a reset runs it again', { timeout: 120_000 }, async () => {
  const page = await env.browser.context.newPage();
  const errors = watchForErrors(page);
  // Raft's engine module, made to trap on its 400th call (as a panic in the simulator
  // would: WebAssembly's `unreachable`); the module loaded again after the trap works.
  let served = 0;
  await page.route((u) => u.pathname.endsWith('/engines/engine-raft.js'), async (route) => {
    const real = await route.fetch();
    let body = await real.text();
    if (served++ === 0) {
      assert.ok(body.includes('export function call('), 'the glue exports call');
      body = body.replace('export function call(', 'function call_real(') +
        '\nlet calls = 0;\nexport function call(r) { if (++calls >= 400) throw new WebAssembly.RuntimeError("unreachable"); return call_real(r); }\n';
    }
    await route.fulfill({ response: real, body });
  });
  // A Raft preset by link (without one the page would reopen what an earlier test left).
  const preset = await readFile(join(ROOT, 'scenarios', 'raft-leader-crash.json'), 'utf8');
  await page.goto(`${env.server.url}?runtime=inline#${encodeScenario(preset)}`, { waitUntil: 'load' });
  const banner = page.getByTestId('error-banner');
  await banner.waitFor({ timeout: TIMEOUT });
  const text = (await banner.textContent()).trim();
  assert.match(text, /The run stopped: the raft engine failed: .*unreachable/, text);
  assert.equal(await page.getByTestId('panic').count(), 0, 'the page did not die');
  await page.screenshot({ path: join(SCREENSHOTS, 'engine-trap.png') });
  // Reset: the module is loaded afresh and the run goes on.
  await page.getByTestId('reset').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid="error-banner"]'), null, { timeout: TIMEOUT });
  assert.equal(served, 2, 'the module was loaded again');
  await assertAlive(page, 'after the reset');
  await page.close();
  assert.deepEqual(errors.filter((e) => !/unreachable|engine failed/.test(e)), []);
});
