/* Contour comparison pages: sortable result tables, structure colour swatches. */
(function () {
  "use strict";
  function cellValue(row, index) {
    var cell = row.children[index];
    return cell ? (cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim()) : "";
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var buttons = table.querySelectorAll("thead .sort-button");
    buttons.forEach(function (button) {
      button.addEventListener("click", function () {
        var header = button.closest("th");
        var index = Array.prototype.indexOf.call(header.parentNode.children, header);
        var numeric = button.dataset.numeric === "1";
        var ascending = button.getAttribute("aria-sort") !== "ascending";
        buttons.forEach(function (b) { b.removeAttribute("aria-sort"); });
        button.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index), y = cellValue(b, index);
          if (numeric) {
            // Missing figures ("—") always sort last.
            if (x === "" && y === "") { return 0; }
            if (x === "") { return 1; }
            if (y === "") { return -1; }
            return ascending ? parseFloat(x) - parseFloat(y) : parseFloat(y) - parseFloat(x);
          }
          return ascending ? x.localeCompare(y, "fr") : y.localeCompare(x, "fr");
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  });
  document.querySelectorAll(".swatch[data-colour]").forEach(function (swatch) {
    if (/^#[0-9a-fA-F]{6}$/.test(swatch.dataset.colour)) {
      swatch.style.backgroundColor = swatch.dataset.colour;
    }
  });
})();
