// The console works without this script; it only adds a select-all box
// to the review queue. The server still refuses a selection of more than
// 25 before doing anything.
(function () {
  var all = document.getElementById('select-all');
  if (!all) return;
  var boxes = document.querySelectorAll('#queue input[name=ref]');
  all.hidden = boxes.length === 0;
  all.addEventListener('change', function () {
    boxes.forEach(function (b) { b.checked = all.checked; });
  });
})();
