// A lab column's worker (web/src/lab_workers.rs, web/src/ui/remote.rs): it holds one
// column's run in the protocol's engine module, the same module the page loads
// (`engines/engine-<protocol>.js` and its `_bg.wasm`), so the lab's columns run beside
// the page's run instead of on its thread. Each message is a batch: the protocol and
// the engine calls (bytes, made by the page); the answer is their replies (JSON text)
// in order, or why there are none. A module that traps is not used again: the run it
// held is gone, and so is this column's.
let engine = null;
let broken = null;

self.onmessage = async (ev) => {
  const { protocol, calls } = ev.data || {};
  try {
    if (broken) throw new Error(broken);
    if (!engine) {
      if (typeof protocol !== 'string' || !/^[a-z0-9-]+$/.test(protocol)) {
        throw new Error(`no engine is called ${protocol}`);
      }
      const glue = await import(`./engines/engine-${protocol}.js`);
      await glue.default({ module_or_path: `./engines/engine-${protocol}_bg.wasm` });
      engine = glue;
    }
    const replies = [];
    for (const c of calls) {
      try {
        replies.push(engine.call(c));
      } catch (e) {
        let said = '';
        try {
          said = engine.last_panic() || '';
        } catch (_) {
          // The module is beyond asking.
        }
        broken = `the ${protocol} engine failed: ${said || (e && e.message) || e}`;
        throw new Error(broken);
      }
    }
    self.postMessage({ replies });
  } catch (e) {
    self.postMessage({ error: String((e && e.message) || e) });
  }
};
