/* Exclusive options of a multiple choice ("None of these"): ticking one unticks the
   others, ticking another unticks it, and a live region says what changed. A comfort
   only: the server refuses the combination (surveys/answers.py). Loaded before showif.js
   so that the show-if mirror sees the boxes as they end up. */
(function () {
  "use strict";
  var form = document.getElementById("survey-form");
  if (!form) { return; }

  function labelOf(input) {
    var label = form.querySelector('label[for="' + input.id + '"]');
    return label ? label.textContent.trim() : input.value;
  }

  form.addEventListener("change", function (event) {
    var box = event.target;
    if (box.type !== "checkbox" || !box.checked) { return; }
    var fieldset = box.closest('.survey-question[data-type="multiple"]');
    var status = fieldset && fieldset.querySelector("[data-exclusive-status]");
    if (!status) { return; }
    var others = fieldset.querySelectorAll('input[type="checkbox"][name="' + box.name + '"]');
    var unticked = [];
    others.forEach(function (other) {
      if (other === box || !other.checked) { return; }
      if (box.hasAttribute("data-exclusive") || other.hasAttribute("data-exclusive")) {
        other.checked = false;
        unticked.push(other);
      }
    });
    if (box.hasAttribute("data-exclusive")) {
      var detail = fieldset.querySelector('input[type="text"][name$="-other"]');
      if (detail) { detail.value = ""; }
    }
    if (!unticked.length) { return; }
    var template = box.hasAttribute("data-exclusive") ? status.dataset.msgAlone : status.dataset.msgUntick;
    var named = box.hasAttribute("data-exclusive") ? labelOf(box) : labelOf(unticked[0]);
    status.textContent = template.replace("%(option)s", named);
  });
})();
