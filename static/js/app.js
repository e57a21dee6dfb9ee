/* Progress of background jobs: poll the status URL until the job ends. */
(function () {
  "use strict";
  function poll(section) {
    var url = section.dataset.jobStatusUrl;
    var bar = section.querySelector(".progress");
    var inner = section.querySelector(".progress-bar");
    var label = section.querySelector(".job-status-label");
    var message = section.querySelector(".job-message");
    var error = section.querySelector(".job-error");
    var result = section.querySelector(".job-result");
    inner.style.width = bar.getAttribute("aria-valuenow") + "%";
    function tick() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (job) {
          bar.setAttribute("aria-valuenow", job.progress);
          inner.style.width = job.progress + "%";
          inner.textContent = job.progress + " %";
          label.textContent = job.status_label;
          message.textContent = job.message ? " — " + job.message : "";
          if (job.status === "failed") {
            inner.classList.remove("progress-bar-animated", "progress-bar-striped");
            inner.classList.add("bg-danger");
            error.textContent = job.message;
            error.classList.remove("d-none");
          } else if (job.status === "done") {
            inner.classList.remove("progress-bar-animated", "progress-bar-striped");
            inner.classList.add("bg-success");
            if (job.result_url) {
              result.querySelector("a").setAttribute("href", job.result_url);
              result.classList.remove("d-none");
            }
            section.dispatchEvent(new CustomEvent("job:done", { bubbles: true, detail: job }));
          }
          if (!job.finished) { window.setTimeout(tick, 1000); }
        })
        .catch(function () { window.setTimeout(tick, 3000); });
    }
    tick();
  }
  document.querySelectorAll("[data-job-status-url]").forEach(poll);
})();

/* Wide tables scroll sideways: keyboard users must be able to focus and scroll them. */
(function () {
  "use strict";
  document.querySelectorAll(".table-responsive").forEach(function (region) {
    if (region.scrollWidth <= region.clientWidth || region.hasAttribute("tabindex")) { return; }
    var caption = region.querySelector("caption");
    var heading = region.closest("section") && region.closest("section").querySelector("h2, h3");
    region.setAttribute("tabindex", "0");
    region.setAttribute("role", "region");
    region.setAttribute("aria-label", (caption || heading || document.querySelector("h1")).textContent.trim());
  });
})();
