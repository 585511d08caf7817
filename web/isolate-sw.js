// quorumlab's isolation service worker.
//
// The node workers share memory with the page only when the page is cross-origin
// isolated, which takes two response headers (COOP and COEP) that many static hosts
// (GitHub Pages, for one) do not let a site set. This worker adds them to the site's own
// responses. It caches nothing: every request still goes to the network (and the
// browser's HTTP cache) as it would without it. index.html registers it on the first
// visit and reloads once, so that the page itself comes through it.

self.addEventListener('install', () => self.skipWaiting());

self.addEventListener('fetch', (event) => {
  const request = event.request;
  // Only this site's own files; anything else passes untouched.
  if (new URL(request.url).origin !== self.location.origin) return;
  // A request that may only be answered from the cache cannot be fetched again here.
  if (request.cache === 'only-if-cached' && request.mode !== 'same-origin') return;
  event.respondWith(fetch(request).then(withIsolation));
});

function withIsolation(response) {
  // Redirects and opaque answers keep their headers hidden: hand them on as they are.
  if (response.status === 0 || response.type === 'opaqueredirect') return response;
  const headers = new Headers(response.headers);
  headers.set('Cross-Origin-Opener-Policy', 'same-origin');
  headers.set('Cross-Origin-Embedder-Policy', 'require-corp');
  return new Response(response.body, {
    status: response.status,
    statusText: response.statusText,
    headers,
  });
}
