// mdBook 0.5's sidebar toggle is a <label> carrying aria-controls and aria-expanded,
// which a label may not have (axe: aria-allowed-attr, aria-prohibited-attr): make it
// the button it acts as, reachable and usable by keyboard.
(function () {
  var t = document.getElementById('mdbook-sidebar-toggle');
  if (!t) return;
  t.setAttribute('role', 'button');
  if (!t.hasAttribute('tabindex')) t.setAttribute('tabindex', '0');
  t.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      t.click();
    }
  });
})();
