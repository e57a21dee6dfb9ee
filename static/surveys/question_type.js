/* Builder: show only the fields that apply to the chosen question type.
 *
 * The server renders each type-specific field in a .type-field block whose data-types lists
 * the types it applies to, hidden for the current type; this script switches them when the
 * type changes. The server ignores a hidden field's value, so nothing stray is saved.
 */
(function () {
  "use strict";

  var select = document.getElementById("id_type");
  var form = document.getElementById("question-form");
  if (!select || !form) {
    return;
  }
  var blocks = form.querySelectorAll(".type-field[data-types]");

  function update() {
    var type = select.value;
    blocks.forEach(function (block) {
      var applies = block.getAttribute("data-types").split(" ").indexOf(type) !== -1;
      block.hidden = !applies;
    });
  }

  select.addEventListener("change", update);
  update();
})();
