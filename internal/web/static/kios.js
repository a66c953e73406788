// kios's pages work without this script; it only improves them: copy
// buttons, and, after a form that showed a secret once, an address bar that
// reloads the page instead of posting the form again.
(function () {
  var clean = document.body.dataset.cleanUrl;
  if (clean && window.history && history.replaceState) {
    history.replaceState(null, '', clean);
  }
  document.querySelectorAll('button[data-copy]').forEach(function (b) {
    if (!navigator.clipboard) { return; }
    b.hidden = false;
    b.addEventListener('click', function () {
      navigator.clipboard.writeText(b.dataset.copy).then(function () {
        var was = b.textContent;
        b.textContent = b.dataset.copied || '✓';
        setTimeout(function () { b.textContent = was; }, 1500);
      });
    });
  });
})();
