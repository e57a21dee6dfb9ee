/* Upload forms: count the chosen files and check the limits BEFORE sending, so a refused
   upload keeps every file chosen (a browser cannot refill a file input after a round trip).
   The form carries the limits and the French messages in data attributes. */
(function () {
  "use strict";
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_match, key) { return values[key]; });
  }
  function sizeLabel(bytes) {
    return (bytes / (1024 * 1024)).toFixed(1).replace(".", ",") + "\u00a0Mio";
  }
  function chosen(form) {
    var count = 0;
    var bytes = 0;
    form.querySelectorAll("input[type=file]").forEach(function (input) {
      Array.prototype.forEach.call(input.files || [], function (file) {
        count += 1;
        bytes += file.size;
      });
    });
    return { count: count, bytes: bytes };
  }
  function setup(form) {
    var maxFiles = parseInt(form.dataset.maxFiles, 10);
    var maxBytes = parseInt(form.dataset.maxBytes, 10);
    var alert = form.querySelector(".upload-limit-error");
    var counter = form.querySelector(".upload-count");
    function problem() {
      var total = chosen(form);
      if (total.count > maxFiles) {
        return fill(form.dataset.msgTooManyFiles, { count: total.count, limit: maxFiles });
      }
      if (total.bytes > maxBytes) {
        return fill(form.dataset.msgTooLarge, {
          size: sizeLabel(total.bytes), limit: sizeLabel(maxBytes)
        });
      }
      return "";
    }
    function refresh() {
      var total = chosen(form);
      if (counter) {
        counter.textContent = total.count ? fill(form.dataset.msgCount, {
          count: total.count, size: sizeLabel(total.bytes)
        }) : "";
      }
      var text = problem();
      alert.textContent = text;
      alert.classList.toggle("d-none", !text);
    }
    form.addEventListener("change", refresh);
    form.addEventListener("submit", function (event) {
      var text = problem();
      if (text) {
        event.preventDefault();
        alert.textContent = text;
        alert.classList.remove("d-none");
        alert.focus();
      }
    });
  }
  document.querySelectorAll("form[data-max-files]").forEach(setup);
})();
