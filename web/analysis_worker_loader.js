// Starts the analysis worker (crates/worker, binary `analysis_worker`, built by Trunk as
// `analysis_worker.js` and `analysis_worker_bg.wasm`). It answers each request (JSON
// text) with the run's verdict and anomalies (see web/src/analysis.rs).
importScripts('./analysis_worker.js');
wasm_bindgen({ module_or_path: './analysis_worker_bg.wasm' });
