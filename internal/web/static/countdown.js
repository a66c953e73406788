// Counts down every element with data-until (unix seconds); the page works
// without it, showing the time left when it was rendered.
(function () {
  var els = document.querySelectorAll('[data-until]');
  function pad(n) { return n < 10 ? '0' + n : '' + n; }
  function tick() {
    var now = Date.now() / 1000;
    els.forEach(function (el) {
      var left = Math.max(0, Math.floor(Number(el.dataset.until) - now));
      el.textContent = pad(Math.floor(left / 3600)) + ':' + pad(Math.floor(left % 3600 / 60)) + ':' + pad(left % 60);
    });
  }
  tick();
  setInterval(tick, 1000);
})();
