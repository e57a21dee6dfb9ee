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

/* Builder: the "exclusive options" boxes follow the options typed above them (one per
 * "code | label" line), keeping what was ticked; without script the saved list is shown. */
(function () {
  "use strict";

  var options = document.getElementById("id_options");
  var list = document.querySelector("#div_id_exclusive_options fieldset > div");
  if (!options || !list) {
    return;
  }

  function rebuild() {
    var ticked = {};
    list.querySelectorAll('input[name="exclusive_options"]').forEach(function (box) {
      ticked[box.value] = box.checked;
    });
    list.textContent = "";
    options.value.split("\n").forEach(function (line, index) {
      var cut = line.indexOf("|");
      var code = cut === -1 ? "" : line.slice(0, cut).trim();
      if (!code) { return; }
      var item = document.createElement("div");
      var box = document.createElement("input");
      var label = document.createElement("label");
      item.className = "form-check";
      box.type = "checkbox";
      box.className = "form-check-input";
      box.name = "exclusive_options";
      box.value = code;
      box.id = "id_exclusive_options_" + index;
      box.checked = !!ticked[code];
      label.className = "form-check-label";
      label.htmlFor = box.id;
      label.textContent = line.slice(cut + 1).split("|")[0].trim() || code;
      item.appendChild(box);
      item.appendChild(label);
      list.appendChild(item);
    });
  }

  options.addEventListener("input", rebuild);
})();
