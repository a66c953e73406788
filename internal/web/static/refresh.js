// Reloads the page every data-refresh seconds while it waits for a
// payment; without it the page's refresh link does the same.
(function () {
  var el = document.querySelector('[data-refresh]');
  if (!el) return;
  setTimeout(function () { location.reload(); }, Number(el.dataset.refresh) * 1000);
})();
