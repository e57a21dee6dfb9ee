/* Line form: show what the catalogue expects for the chosen activity (text only, no HTML). */
(function () {
  "use strict";
  var select = document.getElementById("id_activity");
  var data = document.getElementById("hab-activity-help-data");
  var box = document.getElementById("hab-activity-help");
  if (!select || !data || !box) { return; }
  var help = JSON.parse(data.textContent);

  function add(parent, tag, text, className) {
    var node = document.createElement(tag);
    node.textContent = text;
    if (className) { node.className = className; }
    parent.appendChild(node);
    return node;
  }

  function show() {
    var item = help[select.value];
    box.replaceChildren();
    box.hidden = !item;
    if (!item) { return; }
    add(box, "h2", item.label, "h6");
    if (item.prerequisites) {
      add(box, "p", box.dataset.prerequisites + " : " + item.prerequisites, "small mb-1");
    }
    add(box, "p", box.dataset.minCases + " : " + item.min_cases, "small mb-1");
    var list = add(box, "dl", "", "small mb-0");
    item.levels.forEach(function (pair) {
      add(list, "dt", pair[0]);
      add(list, "dd", pair[1] || "—");
    });
  }

  select.addEventListener("change", show);
  show();
})();
