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
// The playground loads it too, for its Embed dialog (the snippets for the run on screen).
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

  // The playground's own Embed dialog: it leaves the run's share link in
  // [data-quorumlab-builder]; the choices and the snippets are made here.
  var PANELS = ['log', 'spacetime', 'console', 'cap', 'node', 'lesson'];

  function snippets(link, o) {
    var page = link.split('#')[0].split('?')[0];
    var frag = link.split('#')[1] || '';
    var dir = page.slice(0, page.lastIndexOf('/') + 1);
    var opts = [];
    if (o.panels.length) opts.push(['panels', o.panels.join(',')]);
    if (o.readonly) opts.push(['readonly', '1']);
    if (!o.autoplay) opts.push(['autoplay', '0']);
    var query = opts.map(function (kv) { return '&' + kv[0] + '=' + kv[1]; }).join('');
    var data = opts.map(function (kv) { return ' data-' + kv[0] + '="' + kv[1] + '"'; }).join('');
    var title = o.title.replace(/[<>&"]/g, ' ');
    return {
      iframe: '<iframe src="' + page + '?embed=1' + query + '#' + frag + '" width="100%" height="' + o.height +
        '" style="border:0" loading="lazy" title="quorumlab: ' + title + '"></iframe>',
      script: '<div data-quorumlab="' + page + '#' + frag + '" data-height="' + o.height + '"' + data + '></div>\n' +
        '<script src="' + dir + 'embed.js" defer></' + 'script>',
    };
  }

  function el(tag, props, kids) {
    var e = document.createElement(tag);
    for (var k in props) {
      if (k.indexOf('data-') === 0 || k === 'for' || k === 'aria-label') e.setAttribute(k, props[k]);
      else e[k] = props[k];
    }
    (kids || []).forEach(function (c) { e.append(c); });
    return e;
  }

  function builder(slot) {
    slot.setAttribute('data-built', '1');
    var link = slot.getAttribute('data-quorumlab-builder');
    var title = (document.querySelector('.ql-scn') || {}).textContent || 'a simulation';
    var o = { panels: [], readonly: true, autoplay: true, height: 420, title: title };
    var out = {};
    function box(label, on, change) {
      var input = el('input', { type: 'checkbox', checked: on });
      input.addEventListener('change', function () { change(input.checked); update(); });
      return el('label', { className: 'ql-check' }, [input, ' ' + label]);
    }
    function snippet(label, id) {
      var area = el('textarea', { id: id, readOnly: true, rows: 3, 'data-testid': id });
      var copy = el('button', { type: 'button', textContent: 'Copy' });
      copy.addEventListener('click', function () {
        area.select();
        if (navigator.clipboard) navigator.clipboard.writeText(area.value).catch(function () {});
      });
      out[id] = area;
      return el('div', { className: 'ql-snippet' }, [el('label', { for: id, textContent: label }), area, copy]);
    }
    function update() {
      var s = snippets(link, o);
      out['embed-iframe'].value = s.iframe;
      out['embed-script'].value = s.script;
    }
    var height = el('input', { type: 'number', min: 200, max: 3000, step: 20, value: 420, 'aria-label': 'height in pixels' });
    height.addEventListener('input', function () {
      var h = parseInt(height.value, 10);
      if (h >= 200 && h <= 3000) { o.height = h; update(); }
    });
    slot.append(
      el('p', {}, [el('strong', { textContent: 'Embed this run' }), ' in course notes or a blog: paste one of these.']),
      el('div', { className: 'ql-row' }, ['panels:'].concat(PANELS.map(function (p) {
        return box(p, false, function (on) {
          o.panels = PANELS.filter(function (q) { return q === p ? on : o.panels.indexOf(q) >= 0; });
        });
      }))),
      el('div', { className: 'ql-row' }, [
        box('read-only (faults still work)', true, function (on) { o.readonly = on; }),
        box('play on load', true, function (on) { o.autoplay = on; }),
        el('label', {}, ['height ', height, ' px']),
      ]),
      snippet('iframe', 'embed-iframe'),
      snippet('script (lazy, several per page)', 'embed-script'));
    update();
  }

  function builders() {
    document.querySelectorAll('[data-quorumlab-builder]:not([data-built])').forEach(builder);
  }
  // The dialog appears on the next render after the Embed button's click.
  document.addEventListener('click', function (e) {
    if (e.target.closest && e.target.closest('[data-testid="embed-open"]')) {
      [0, 50, 200].forEach(function (ms) { setTimeout(builders, ms); });
    }
  });

  window.quorumlabEmbed = { scan: scan, snippets: snippets };
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', function () { scan(); });
  } else {
    scan();
  }
})();
