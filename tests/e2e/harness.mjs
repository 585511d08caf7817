// Shared set-up for test files that use one browser for all their tests.

import { after, before } from 'node:test';
import { launch } from './browser.mjs';
import { serveDist } from './static-server.mjs';

/**
 * Serve dist/ and launch one browser before the file's tests; close both after them.
 * The returned object's `server` and `browser` are set by the time a test runs.
 */
export function sharedBrowser() {
  const env = {};
  before(async () => {
    env.server = await serveDist();
    env.browser = await launch();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
}
