// Starts a node worker. Each protocol the page carries has its own node worker
// (crates/worker, `src/bin/node_*.rs`, built by `cargo xtask engines` into
// `nodes/node-<protocol>.js` and `_bg.wasm`), named by the `protocol` in this script's
// address: `node_worker_loader.js?protocol=raft`. The page compiles a protocol's
// WebAssembly once and sends the compiled module as the first message,
// `{ type: "module", module }`, so that every worker of the page (25 for a 25-node
// cluster, and one more per restart) shares one compilation and its optimised code.
// With `module: null` (the page could not compile it) the worker fetches and compiles
// it itself. The page sends nothing else before the worker says it is ready (see
// web/src/worker_pool.rs).
const protocol = new URLSearchParams(self.location.search).get('protocol') || '';
if (!/^[a-z0-9-]+$/.test(protocol)) {
  throw new Error(`node_worker_loader.js: no such protocol "${protocol}"`);
}
const base = `./nodes/node-${protocol}`;
importScripts(`${base}.js`);
self.onmessage = (event) => {
  const data = event.data;
  if (!data || data.type !== 'module') return;
  self.onmessage = null;
  wasm_bindgen({ module_or_path: data.module || `${base}_bg.wasm` });
};
