// Helpers for driving the playground page (web/src/ui/) from the browser tests. They
// only read what the page shows: data-node/data-role on the canvas, data-testid controls,
// data-us on the time readout and the node panel's "commit / applied" line.

import { spawnSync } from 'node:child_process';
import { deflateRawSync } from 'node:zlib';
import { ROOT } from './static-server.mjs';

/** Run the native CLI (built in release by the test step before) with `args`. */
export function cli(args, input) {
  const r = spawnSync('cargo', ['run', '-q', '--release', '-p', 'quorumlab-cli', '--', ...args], {
    cwd: ROOT,
    input,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  return r;
}

/** The catalogue as `quorumlab protocols --json` lists it. */
export function cliProtocols() {
  const r = cli(['protocols', '--json']);
  if (r.status !== 0) throw new Error(`quorumlab protocols: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

/** The roles drawn on the canvas, by node id (index = node id). */
export async function roles(page) {
  return page.$$eval('svg[data-testid="canvas"] g[data-node]', (gs) =>
    gs
      .sort((a, b) => Number(a.dataset.node) - Number(b.dataset.node))
      .map((g) => g.dataset.role));
}

/** Simulated time shown by the page, in microseconds. */
export async function simTimeUs(page) {
  return Number(await page.getByTestId('time').getAttribute('data-us'));
}

/** The trace hash shown in the header (16 hex digits once a run exists). */
export async function traceHash(page) {
  return ((await page.getByTestId('trace-hash').textContent()) ?? '').trim();
}

/** Choose a speed (simulated ms per wall-clock second) from the speed menu. */
export async function setSpeed(page, msPerSecond) {
  await page.getByTestId('speed').selectOption(String(msPerSecond));
}

/**
 * Wait until exactly one node is drawn as leader (and, if given, it is not `exclude`).
 * Resolves to its id. Bounded by `timeout` wall-clock milliseconds.
 */
export async function waitForLeader(page, { exclude = null, timeout = 30_000 } = {}) {
  const handle = await page.waitForFunction(
    (excluded) => {
      const leaders = [...document.querySelectorAll('svg[data-testid="canvas"] g[data-node]')]
        .filter((g) => g.dataset.role === 'leader')
        .map((g) => Number(g.dataset.node));
      if (leaders.length !== 1 || leaders[0] === excluded) return null;
      return leaders[0];
    },
    exclude,
    { timeout, polling: 'raf' },
  );
  return handle.jsonValue();
}

/** Wait until the page's simulated time has reached `us` microseconds. */
export async function waitForSimTime(page, us, { timeout = 30_000 } = {}) {
  await page.waitForFunction(
    (target) => Number(document.querySelector('[data-testid="time"]')?.dataset.us) >= target,
    us,
    { timeout, polling: 'raf' },
  );
}

/** Pause the run and wait until the Pause button shows as on. */
export async function pause(page) {
  await page.getByTestId('pause').click();
  await page.locator('[data-testid="pause"].on').waitFor();
}

/** Play the run and wait until the Play button shows as on. */
export async function play(page) {
  await page.getByTestId('play').click();
  await page.locator('[data-testid="play"].on').waitFor();
}

/**
 * Select node `id` by clicking it on the canvas (pointer down + up on the node), unless
 * it is selected already (a second click would deselect it). Waits for its panel.
 */
export async function selectNode(page, id) {
  const panel = page.locator(`[data-testid="node-panel"][data-node="${id}"]`);
  if ((await panel.count()) === 0) {
    await page.locator(`svg[data-testid="canvas"] g[data-node="${id}"] circle.body`).click();
  }
  await panel.waitFor();
  return panel;
}

/**
 * The node panel's key/value list (term, leader, "commit / applied", ...) for node `id`,
 * selected first. Numbers stay strings; see `commitIndex`.
 */
export async function nodeDetails(page, id) {
  const panel = await selectNode(page, id);
  return panel.evaluate((el) => {
    const out = {};
    const dl = el.querySelector('.ql-view > dl.ql-kv');
    if (!dl) return out;
    for (const dt of dl.querySelectorAll(':scope > dt')) {
      const dd = dt.nextElementSibling;
      out[dt.textContent.trim()] = dd ? dd.textContent.trim() : '';
    }
    return out;
  });
}

/** A number the canvas shows on node `id` (`data-<name>`; null when it has no state). */
async function nodeNumber(page, id, name) {
  const v = await page.locator(`svg[data-testid="canvas"] g[data-node="${id}"]`).getAttribute(`data-${name}`);
  return v === null ? null : Number(v);
}

/** Node `id`'s commit index, from the canvas (`data-commit`; null when it has no state). */
export function commitIndex(page, id) {
  return nodeNumber(page, id, 'commit');
}

/** Node `id`'s term, from the canvas (`data-term`; null when it has no state). */
export function nodeTerm(page, id) {
  return nodeNumber(page, id, 'term');
}

/**
 * A share-link fragment (without `#`) for a scenario, in the first link format (which the
 * page still opens): `1.` + base64url without padding of the raw-deflated JSON.
 */
export function encodeScenario(scenario) {
  const json = typeof scenario === 'string' ? scenario : JSON.stringify(scenario);
  return `1.${deflateRawSync(Buffer.from(json, 'utf8'), { level: 9 }).toString('base64url')}`;
}

/** The checksum of a link's data, as crates/sim/src/url.rs computes it (36 bits of FNV-1a). */
export function linkChecksum(data) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(data, 'utf8')) {
    h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  let out = '';
  for (let i = 0; i < 6; i++) out += alphabet[Number((h >> BigInt(58 - 6 * i)) & 63n)];
  return out;
}

/** A share-link fragment in the current format, as the page writes it: `2.<checksum>.<data>`. */
export function encodeScenarioChecked(scenario) {
  const data = encodeScenario(scenario).slice(2);
  return `2.${linkChecksum(data)}.${data}`;
}

/** Count animation frames in the page over `ms` wall-clock milliseconds. */
export async function measureFps(page, ms = 3000) {
  return page.evaluate(
    (dur) =>
      new Promise((done) => {
        let frames = 0;
        let start = null;
        const tick = (ts) => {
          if (start === null) start = ts;
          else frames += 1;
          if (ts - start >= dur) done({ frames, ms: ts - start, fps: (frames * 1000) / (ts - start) });
          else requestAnimationFrame(tick);
        };
        requestAnimationFrame(tick);
      }),
    ms,
  );
}

/**
 * Wait until the run is at its end (`endUs`) and the trace hash is final: 16 hex digits
 * and, where the page marks it (`data-done` on the trace hash, e.g. a run in Web Workers
 * that catches up with the playhead), marked done. With `not`/`equals`, also wait until
 * the hash differs from / equals that one. Resolves to the hash.
 */
export async function waitForFinalHash(page, endUs, { not = null, equals = null, timeout = 30_000 } = {}) {
  const handle = await page.waitForFunction(
    ({ endUs, not, equals }) => {
      const time = document.querySelector('[data-testid="time"]');
      const code = document.querySelector('[data-testid="trace-hash"]');
      if (!time || !code || Number(time.dataset.us) !== endUs) return null;
      const done = code.getAttribute('data-done');
      if (done !== null && done !== 'true') return null;
      const hash = code.textContent.trim();
      if (!/^[0-9a-f]{16}$/.test(hash)) return null;
      if (not !== null && hash === not) return null;
      if (equals !== null && hash !== equals) return null;
      return hash;
    },
    { endUs, not, equals },
    { timeout, polling: 'raf' },
  );
  return handle.jsonValue();
}
