/* Slice viewer: the slider, the wheel and the arrow keys change the slice; the toggles and
   the window preset change the image's query (PNG rendered by the server). */
(function () {
  "use strict";
  var viewer = document.getElementById("viewer");
  if (!viewer) { return; }
  var image = document.getElementById("viewer-image");
  var slider = document.getElementById("viewer-slice");
  var number = document.getElementById("viewer-slice-number");
  var windowSelect = document.getElementById("viewer-window");
  var toggles = viewer.querySelectorAll(".viewer-toggle");
  var base = viewer.dataset.base.replace(/0\.png$/, "");
  var last = parseInt(viewer.dataset.last, 10);

  function source(k) {
    var shown = [];
    toggles.forEach(function (t) { if (t.checked) { shown.push(t.value); } });
    var query = "?s=" + (shown.length ? shown.join(",") : "-");
    if (windowSelect.value) { query += "&wl=" + encodeURIComponent(windowSelect.value); }
    return base + k + ".png" + query;
  }
  function show(k) {
    k = Math.max(0, Math.min(last, k));
    slider.value = String(k);
    number.textContent = String(k + 1);
    image.src = source(k);
  }
  function current() { return parseInt(slider.value, 10); }

  slider.addEventListener("input", function () { show(current()); });
  toggles.forEach(function (t) { t.addEventListener("change", function () { show(current()); }); });
  windowSelect.addEventListener("change", function () { show(current()); });
  image.addEventListener("wheel", function (event) {
    event.preventDefault();
    show(current() + (event.deltaY > 0 ? 1 : -1));
  }, { passive: false });
  image.addEventListener("keydown", function (event) {
    if (event.key === "ArrowUp" || event.key === "ArrowRight") { event.preventDefault(); show(current() + 1); }
    if (event.key === "ArrowDown" || event.key === "ArrowLeft") { event.preventDefault(); show(current() - 1); }
  });
})();
