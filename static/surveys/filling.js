/* Keep every typed answer: autosave shortly after a change and every 30 s, save before a
   section tab is followed, send the last changes when the tab is hidden or closed
   (navigator.sendBeacon), and warn before leaving a page with unsaved changes. */
(function () {
  "use strict";
  var form = document.getElementById("survey-form");
  if (!form || !form.dataset.autosaveUrl || form.querySelector("fieldset[disabled]")) { return; }
  var status = document.getElementById("autosave-status");
  var goto = form.querySelector('input[name="goto"]');
  var dirty = false, busy = false, leaving = false, timer = null;

  function changed() {
    dirty = true;
    window.clearTimeout(timer);
    timer = window.setTimeout(save, 2000);
  }
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", function () { leaving = true; dirty = false; });

  /* URL-encoded (the form has no file): lighter to send and to parse than multipart. */
  function body() { return new URLSearchParams(new FormData(form)); }

  function save() {
    if (!dirty || busy || leaving) { return; }
    busy = true;
    dirty = false;
    fetch(form.dataset.autosaveUrl, {
      method: "POST", body: body(), credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (r) { return r.json(); }).then(function (data) {
      status.textContent = data.ok ? form.dataset.msgSaved + " " + data.saved_at : (data.message || form.dataset.msgFailed);
      if (data.ok) { applySaved(data); }
    }).catch(function () {
      dirty = true;
      status.textContent = form.dataset.msgFailed;
    }).finally(function () { busy = false; });
  }

  /* The new bases of the saved answers; a colleague's newer value is shown, never
     overwritten: the Save button then lets the person choose. */
  function applySaved(data) {
    Object.keys(data.tokens || {}).forEach(function (name) {
      var input = form.querySelector('input[name="' + name + '"]');
      if (input) { input.value = data.tokens[name]; }
    });
    form.querySelectorAll("p[data-conflict-for]").forEach(function (p) {
      var conflict = (data.conflicts || {})[p.dataset.conflictFor];
      p.textContent = conflict ? conflict.message : "";
      p.hidden = !conflict;
    });
    if (Object.keys(data.conflicts || {}).length) { dirty = true; }
  }

  /* The page is going away: the browser delivers a beacon even after it is gone. */
  function flush() {
    if (!dirty || leaving) { return; }
    if (navigator.sendBeacon && navigator.sendBeacon(form.dataset.autosaveUrl, body())) {
      dirty = false;
    }
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { flush(); }
  });
  window.addEventListener("pagehide", flush);
  window.addEventListener("beforeunload", function (event) {
    if (dirty && !leaving) {
      status.textContent = form.dataset.msgUnsaved;
      event.preventDefault();
      event.returnValue = "";
    }
  });

  /* A section tab saves the page first, then the server opens the chosen section. */
  document.querySelectorAll("a[data-goto]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      if (event.ctrlKey || event.metaKey || event.shiftKey || event.button !== 0) { return; }
      event.preventDefault();
      goto.value = link.dataset.goto;
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    });
  });

  window.setInterval(save, 30000);
})();
