// The page's engine modules (crates/engines; crates/sim/src/link.rs): one WebAssembly
// module per protocol holds the page's runs, so the page's own bundle carries no
// simulator. A module is loaded the first time a scenario names its protocol
// (`engines/engine-<protocol>.js`, an ES module made by wasm-bindgen, and its
// `_bg.wasm`), and the app calls it synchronously through `call`.
//
// A module that traps (a panic in the simulator) cannot be trusted again: it is
// forgotten, the error names what it said, and the next load makes a new instance.
// Every load, and every failure, ends with a `quorumlab-engine` event on the window
// (detail: the protocol), which the page answers by building the runs that waited.
(() => {
  const modules = new Map(); // protocol -> { ready, exports, error, promise }
  // protocol -> what its last module said as it trapped: the runs that lived in it end
  // with that, not with "not loaded".
  const trapped = new Map();
  let generation = 0;

  function announce(name) {
    window.dispatchEvent(new CustomEvent('quorumlab-engine', { detail: name }));
  }

  function load(name) {
    const known = modules.get(name);
    if (known && !known.error) return known.promise;
    if (!/^[a-z0-9-]+$/.test(name)) return Promise.reject(new Error(`no engine is called ${name}`));
    const m = { ready: false, exports: null, error: null };
    const base = `./engines/engine-${name}`;
    // A fresh URL after a failure: a module is evaluated once per URL.
    const url = generation ? `${base}.js?${generation}` : `${base}.js`;
    m.promise = import(url)
      .then(async (glue) => {
        await glue.default({ module_or_path: `${base}_bg.wasm` });
        m.exports = glue;
        m.ready = true;
        trapped.delete(name);
        announce(name);
      })
      .catch((e) => {
        m.error = `the ${name} engine could not load (${e && e.message ? e.message : e})`;
        announce(name);
        throw new Error(m.error);
      });
    modules.set(name, m);
    return m.promise;
  }

  window.quorumlabEngines = {
    // 'ready', 'loading' (and starts loading), or the failure's text.
    state(name) {
      const m = modules.get(name);
      if (m && m.ready) return 'ready';
      if (m && m.error) return m.error;
      load(name).catch(() => {});
      return 'loading';
    },
    // A promise of the module (for the test API, which may name any protocol).
    load,
    // One call (bytes in, JSON text out). Throws, and forgets the module, if it traps.
    call(name, request) {
      const m = modules.get(name);
      if (!m || !m.ready) throw new Error(trapped.get(name) || `the ${name} engine is not loaded`);
      try {
        return m.exports.call(request);
      } catch (e) {
        let said = '';
        try {
          said = m.exports.last_panic() || '';
        } catch (_) {
          // The module is beyond asking.
        }
        modules.delete(name);
        generation += 1;
        const why = `the ${name} engine failed: ${said || (e && e.message) || e}`;
        trapped.set(name, why);
        throw new Error(why);
      }
    },
  };
})();
