/* Periodic autosave of a filling page (the Save button and page changes save as well). */
(function () {
  "use strict";
  var form = document.getElementById("survey-form");
  if (!form || !form.dataset.autosaveUrl || form.querySelector("fieldset[disabled]")) { return; }
  var status = document.getElementById("autosave-status");
  var dirty = false, busy = false;
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("change", function () { dirty = true; });
  form.addEventListener("submit", function () { dirty = false; });
  function save() {
    if (!dirty || busy) { return; }
    busy = true;
    dirty = false;
    fetch(form.dataset.autosaveUrl, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) { return r.json(); }).then(function (data) {
      status.textContent = data.ok ? form.dataset.msgSaved + " " + data.saved_at : (data.message || form.dataset.msgFailed);
    }).catch(function () {
      dirty = true;
      status.textContent = form.dataset.msgFailed;
    }).finally(function () { busy = false; });
  }
  window.setInterval(save, 30000);
})();
