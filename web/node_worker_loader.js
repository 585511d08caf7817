// Starts a node worker (crates/worker, built by Trunk as `node_worker.js` and
// `node_worker_bg.wasm`). The page compiles the worker's WebAssembly once and sends the
// compiled module as its first message, `{ type: "module", module }`, so that every
// worker of the page (25 for a 25-node cluster, and one more per restart) shares one
// compilation, and its optimised code, instead of compiling its own. With `module: null`
// (the page could not compile it) the worker fetches and compiles it itself. The page
// sends nothing else before the worker says it is ready (see web/src/worker_pool.rs).
importScripts('./node_worker.js');
self.onmessage = (event) => {
  const data = event.data;
  if (!data || data.type !== 'module') return;
  self.onmessage = null;
  wasm_bindgen({ module_or_path: data.module || './node_worker_bg.wasm' });
};
