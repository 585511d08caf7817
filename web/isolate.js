// Cross-origin isolation lets the node workers share memory with the page (a few
// times faster). A host that does not send the headers for it gets them from
// isolate-sw.js: register it, then reload once so the page comes through it.
// Never inside another page (isolation is the embedding page's choice), never
// twice in a tab, and nothing changes if the browser says no: postMessage works.
(function () {
  try {
    if (window.crossOriginIsolated || !window.isSecureContext) return;
    if (!('serviceWorker' in navigator) || window.top !== window) return;
    if (navigator.serviceWorker.controller) return;
    var key = 'quorumlab-isolation-reload';
    if (sessionStorage.getItem(key)) return;
    navigator.serviceWorker
      .register('./isolate-sw.js')
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function () {
        sessionStorage.setItem(key, '1');
        location.reload();
      })
      .catch(function (err) {
        console.warn('quorumlab: no isolation service worker (' + err + '); workers use postMessage');
      });
  } catch (err) {
    // No storage, no service workers: the page works without isolation.
  }
})();
