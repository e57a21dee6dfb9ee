/* Point-and-click editor of a question's show-if rule (builder).
 *
 * Progressive enhancement: the JSON field (#id_show_if) stays the value that is posted and
 * that the server validates; this editor only reads and writes it. Without JavaScript the
 * JSON field works alone. Rules the editor cannot show (nested, matrix rows, invalid JSON)
 * are left untouched in the JSON field.
 */
(function () {
  "use strict";

  var dataNode = document.getElementById("showif-editor-data");
  var field = document.getElementById("id_show_if");
  if (!dataNode || !field) {
    return;
  }
  var data = JSON.parse(dataNode.textContent);
  var text = data.text;
  var questions = {};
  data.questions.forEach(function (q) {
    questions[q.code] = q;
  });
  var OPS = {
    choice: ["equals", "not_equals", "in", "not_in", "answered", "not_answered"],
    number: ["equals", "not_equals", "lt", "lte", "gt", "gte", "in", "not_in", "answered", "not_answered"],
    text: ["equals", "not_equals", "in", "not_in", "answered", "not_answered"],
  };
  var LIST_OPS = ["in", "not_in"];
  var NO_VALUE_OPS = ["answered", "not_answered"];
  var uid = 0;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") {
        node.textContent = attrs[key];
      } else {
        node.setAttribute(key, attrs[key]);
      }
    });
    (children || []).forEach(function (child) {
      node.appendChild(child);
    });
    return node;
  }

  function format(template, n) {
    return template.replace("%(n)s", String(n));
  }

  /* --- Reading the JSON field ------------------------------------------------------ */
  function simple(node) {
    if (!node || typeof node !== "object" || Array.isArray(node)) {
      return null;
    }
    var keys = Object.keys(node).sort().join(",");
    if (keys !== "op,q,value" && keys !== "op,q" && keys !== "q,value" && keys !== "q") {
      return null;
    }
    var op = node.op || "equals";
    if (!questions[node.q] || OPS[questions[node.q].kind].indexOf(op) === -1) {
      return null;
    }
    return { q: node.q, op: op, value: node.value };
  }

  /* {mode, rows} for the editor, or null when the rule is beyond it. */
  function parse(raw) {
    var source = raw.trim();
    if (!source) {
      return { mode: "all", rows: [] };
    }
    var rule;
    try {
      rule = JSON.parse(source);
    } catch (error) {
      return null;
    }
    var one = simple(rule);
    if (one) {
      return { mode: "all", rows: [one] };
    }
    if (!rule || typeof rule !== "object" || Array.isArray(rule) || Object.keys(rule).length !== 1) {
      return null;
    }
    var key = Object.keys(rule)[0];
    var mode = { all: "all", and: "all", any: "any", or: "any" }[key];
    if (!mode || !Array.isArray(rule[key]) || !rule[key].length) {
      return null;
    }
    var rows = rule[key].map(simple);
    return rows.indexOf(null) === -1 ? { mode: mode, rows: rows } : null;
  }

  /* --- Writing the JSON field ------------------------------------------------------ */
  function numberOrText(kind, raw) {
    var value = String(raw).trim();
    if (kind === "number" && value !== "" && !isNaN(Number(value.replace(",", ".")))) {
      return Number(value.replace(",", "."));
    }
    return value;
  }

  function rowRule(row) {
    var q = row.question.value;
    if (!q || !questions[q]) {
      return null;
    }
    var kind = questions[q].kind;
    var op = row.operator.value;
    var rule = { q: q, op: op };
    if (NO_VALUE_OPS.indexOf(op) !== -1) {
      return rule;
    }
    var input = row.valueBox.querySelector("select, input");
    if (LIST_OPS.indexOf(op) !== -1) {
      if (input.tagName === "SELECT") {
        rule.value = Array.prototype.filter
          .call(input.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
      } else {
        rule.value = input.value.split(",").map(function (v) { return numberOrText(kind, v); })
          .filter(function (v) { return v !== ""; });
      }
    } else {
      rule.value = numberOrText(kind, input.value);
    }
    return rule;
  }

  function write() {
    var rules = rows.map(rowRule).filter(function (r) { return r; });
    var rule = "";
    if (rules.length === 1) {
      rule = rules[0];
    } else if (rules.length > 1) {
      rule = {};
      rule[modeValue()] = rules;
    }
    field.value = rule === "" ? "" : JSON.stringify(rule);
    empty.hidden = rows.length > 0;
  }

  /* --- The editor ------------------------------------------------------------------ */
  var rows = [];
  var editor = el("fieldset", { class: "border rounded p-3 mb-3", id: "showif-editor" });
  editor.appendChild(el("legend", { class: "h6", text: text.title }));
  editor.appendChild(el("p", { class: "form-text mt-0", text: text.intro }));
  var notice = el("div", { class: "alert alert-warning", role: "status", text: text.complex });
  notice.hidden = true;
  var clear = el("button", { type: "button", class: "btn btn-sm btn-outline-secondary ms-2", text: text.clear });
  notice.appendChild(clear);
  editor.appendChild(notice);
  var body = el("div");
  editor.appendChild(body);

  var modeName = "showif-mode-" + Math.random().toString(36).slice(2);
  var modeBox = el("fieldset", { class: "mb-2" }, [el("legend", { class: "form-label fs-6", text: text.combine })]);
  ["all", "any"].forEach(function (mode) {
    var id = modeName + "-" + mode;
    var radio = el("input", { type: "radio", class: "form-check-input", name: modeName, id: id, value: mode });
    radio.addEventListener("change", write);
    modeBox.appendChild(el("div", { class: "form-check form-check-inline" }, [
      radio, el("label", { class: "form-check-label", for: id, text: text[mode] }),
    ]));
  });
  body.appendChild(modeBox);
  var list = el("div");
  body.appendChild(list);
  var empty = el("p", { class: "text-muted", text: data.questions.length ? text.none : text.no_questions });
  body.appendChild(empty);
  var add = el("button", { type: "button", class: "btn btn-sm btn-outline-primary", text: text.add });
  add.disabled = !data.questions.length;
  body.appendChild(add);

  function modeValue() {
    var checked = modeBox.querySelector("input:checked");
    return checked ? checked.value : "all";
  }

  function setMode(mode) {
    modeBox.querySelector('input[value="' + mode + '"]').checked = true;
  }

  function labelled(labelText, control) {
    var id = "showif-" + ++uid;
    control.id = id;
    return el("div", { class: "col-md-4" }, [el("label", { class: "form-label", for: id, text: labelText }), control]);
  }

  function fillOperators(row, selected) {
    var q = questions[row.question.value];
    var ops = q ? OPS[q.kind] : [];
    row.operator.textContent = "";
    ops.forEach(function (op) {
      row.operator.appendChild(el("option", { value: op, text: text.ops[op] }));
    });
    if (selected && ops.indexOf(selected) !== -1) {
      row.operator.value = selected;
    }
    row.operator.disabled = !q;
  }

  function fillValue(row, value) {
    var q = questions[row.question.value];
    var op = row.operator.value;
    var list = LIST_OPS.indexOf(op) !== -1;
    row.valueBox.textContent = "";
    if (!q || NO_VALUE_OPS.indexOf(op) !== -1) {
      return;
    }
    var control;
    var values = Array.isArray(value) ? value.map(String) : value === undefined || value === null ? [] : [String(value)];
    if (q.kind === "choice") {
      control = el("select", { class: "form-select" });
      if (list) {
        control.multiple = true;
        control.size = Math.min(Math.max(q.options.length, 2), 6);
      } else {
        control.appendChild(el("option", { value: "", text: text.choose }));
      }
      q.options.forEach(function (option) {
        var node = el("option", { value: option.code, text: option.label });
        node.selected = values.indexOf(option.code) !== -1;
        control.appendChild(node);
      });
    } else if (q.kind === "number" && !list) {
      control = el("input", { type: "number", step: "any", class: "form-control" });
      control.value = values[0] || "";
    } else {
      control = el("input", { type: "text", class: "form-control" });
      control.value = list ? values.join(", ") : values[0] || "";
    }
    control.addEventListener("input", write);
    control.addEventListener("change", write);
    var label = list ? (q.kind === "choice" ? text.values : text.values_text) : text.value;
    control.id = "showif-" + ++uid;
    row.valueBox.appendChild(el("label", { class: "form-label", for: control.id, text: label }));
    row.valueBox.appendChild(control);
  }

  function renumber() {
    rows.forEach(function (row, index) {
      row.legend.textContent = format(text.condition, index + 1);
      row.remove.textContent = format(text.remove, index + 1);
    });
  }

  function addRow(rule, focus) {
    var row = {};
    row.node = el("fieldset", { class: "border rounded p-2 mb-2" });
    row.legend = el("legend", { class: "fs-6 float-none w-auto px-1 mb-0" });
    row.node.appendChild(row.legend);
    var grid = el("div", { class: "row g-2 align-items-end" });
    row.question = el("select", { class: "form-select" });
    row.question.appendChild(el("option", { value: "", text: text.choose }));
    data.questions.forEach(function (q) {
      row.question.appendChild(el("option", { value: q.code, text: q.label }));
    });
    row.operator = el("select", { class: "form-select" });
    row.valueBox = el("div", { class: "col-md-4" });
    grid.appendChild(labelled(text.question, row.question));
    grid.appendChild(labelled(text.operator, row.operator));
    grid.appendChild(row.valueBox);
    row.node.appendChild(grid);
    row.remove = el("button", { type: "button", class: "btn btn-sm btn-link text-danger mt-1" });
    row.node.appendChild(row.remove);

    row.question.value = rule ? rule.q : "";
    fillOperators(row, rule ? rule.op : null);
    fillValue(row, rule ? rule.value : undefined);
    row.question.addEventListener("change", function () {
      fillOperators(row, row.operator.value);
      fillValue(row, undefined);
      write();
    });
    row.operator.addEventListener("change", function () {
      var current = rowRule(row);
      fillValue(row, current && current.value);
      write();
    });
    row.remove.addEventListener("click", function () {
      var index = rows.indexOf(row);
      rows.splice(index, 1);
      list.removeChild(row.node);
      renumber();
      write();
      var next = rows[Math.min(index, rows.length - 1)];
      (next ? next.question : add).focus();
    });
    rows.push(row);
    list.appendChild(row.node);
    renumber();
    if (focus) {
      row.question.focus();
    }
  }

  function load() {
    var parsed = parse(field.value);
    rows.forEach(function (row) { list.removeChild(row.node); });
    rows = [];
    notice.hidden = parsed !== null;
    body.hidden = parsed === null;
    if (parsed === null) {
      advanced.open = true;
      return;
    }
    setMode(parsed.mode);
    parsed.rows.forEach(function (rule) { addRow(rule, false); });
    empty.hidden = rows.length > 0;
  }

  add.addEventListener("click", function () {
    addRow(null, true);
    write();
  });
  clear.addEventListener("click", function () {
    field.value = "";
    load();
    add.focus();
  });

  /* The JSON field moves into an "advanced" disclosure, still editable and still posted. */
  var wrapper = document.getElementById("div_id_show_if") || field.parentNode;
  var advanced = el("details", { class: "mb-3" }, [el("summary", { text: text.advanced })]);
  wrapper.parentNode.insertBefore(editor, wrapper);
  wrapper.parentNode.insertBefore(advanced, wrapper);
  advanced.appendChild(wrapper);
  if (wrapper.querySelector(".invalid-feedback, .is-invalid")) {
    advanced.open = true;
  }
  field.addEventListener("input", load);
  load();
})();
