// quorumlab's embed script. On any page:
//
//   <div data-quorumlab="SHARE-LINK" data-height="420" data-panels="log"></div>
//   <script src="https://where-quorumlab-is/embed.js" defer></script>
//
// turns every such div into the quorumlab widget: an iframe of SHARE-LINK's page with
// ?embed=1 and the div's other data-* attributes as the widget's options (data-panels,
// data-readonly, data-autoplay, data-speed, data-start-ms, ...; see docs/embedding.md).
// Each iframe loads when it is about to scroll into view, and each runs on its own.
// A link that is not one leaves a message in the div; the host page is never broken.
(function () {
  'use strict';
  // Attributes that are the div's own, not options of the widget.
  var OWN = { quorumlab: 1, height: 1, title: 1, testid: 1, quorumlabState: 1 };
  // Links resolve like any link of the page that holds the div.
  var base = document.baseURI;

  function fail(el, message) {
    el.setAttribute('data-quorumlab-state', 'error');
    el.textContent = '';
    var p = document.createElement('p');
    p.setAttribute('role', 'alert');
    p.style.cssText = 'border:1px solid #c2372e;border-radius:6px;padding:0.5em;color:#c2372e;font:14px system-ui,sans-serif';
    p.textContent = 'quorumlab widget: ' + message;
    el.appendChild(p);
    if (window.console) console.warn('quorumlab embed: ' + message);
  }

  /** The widget's address for `el`, or throws a message. */
  function widgetUrl(el) {
    var link = el.getAttribute('data-quorumlab') || '';
    var url;
    try {
      url = new URL(link, base);
    } catch (e) {
      throw '"' + link + '" is not a link';
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw '"' + link + '" is not a web link (http or https)';
    }
    var params = new URLSearchParams(url.search);
    params.set('embed', '1');
    for (var key in el.dataset) {
      if (OWN[key]) continue;
      // data-start-ms -> start_ms
      params.set(key.replace(/[A-Z]/g, function (c) { return '_' + c.toLowerCase(); }), el.dataset[key]);
    }
    url.search = params.toString();
    return url.href;
  }

  function load(el) {
    if (el.getAttribute('data-quorumlab-state') !== 'waiting') return;
    var src;
    try {
      src = widgetUrl(el);
    } catch (message) {
      fail(el, String(message));
      return;
    }
    var h = parseInt(el.getAttribute('data-height') || '420', 10);
    if (!(h >= 200 && h <= 3000)) h = 420;
    var frame = document.createElement('iframe');
    frame.src = src;
    frame.title = 'quorumlab: ' + (el.getAttribute('data-title') || 'a distributed-systems simulation');
    frame.style.cssText = 'width:100%;min-width:320px;height:' + h + 'px;border:1px solid #c9cfdb;border-radius:8px;display:block;box-sizing:border-box';
    frame.setAttribute('loading', 'lazy');
    el.textContent = '';
    el.appendChild(frame);
    el.setAttribute('data-quorumlab-state', 'loaded');
  }

  function scan(root) {
    var els = (root || document).querySelectorAll('[data-quorumlab]');
    var observer = 'IntersectionObserver' in window
      ? new IntersectionObserver(function (entries) {
          entries.forEach(function (e) {
            if (e.isIntersecting) {
              observer.unobserve(e.target);
              load(e.target);
            }
          });
        }, { rootMargin: '300px 0px' })
      : null;
    Array.prototype.forEach.call(els, function (el) {
      if (el.tagName === 'IFRAME' || el.hasAttribute('data-quorumlab-state')) return;
      el.setAttribute('data-quorumlab-state', 'waiting');
      var h = parseInt(el.getAttribute('data-height') || '420', 10);
      // Keep the space, so the page does not jump when the widget arrives.
      if (h >= 200 && h <= 3000) el.style.minHeight = h + 'px';
      if (observer) observer.observe(el);
      else load(el);
    });
  }

  window.quorumlabEmbed = { scan: scan };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { scan(); });
  } else {
    scan();
  }
})();
