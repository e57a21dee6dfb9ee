/* Show-if rules and calculated fields in the browser: a comfort mirror of surveys/rules.py
   (the server decides and stores the calculated values). */
(function () {
  "use strict";

  function isEmpty(v) {
    return v === null || v === undefined || v === "" ||
      (Array.isArray(v) && v.length === 0) ||
      (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0);
  }
  function num(v) {
    if (typeof v === "number") { return isFinite(v) ? v : null; }
    if (typeof v === "string" && v.trim() !== "") {
      var n = Number(v.replace(",", "."));
      return isFinite(n) ? n : null;
    }
    return null;
  }
  function same(a, b) {
    if (a === b) { return true; }
    var na = num(a), nb = num(b);
    return na !== null && nb !== null && na === nb;
  }
  function compare(op, answer, expected) {
    if (op === "answered") { return !isEmpty(answer); }
    if (op === "not_answered") { return isEmpty(answer); }
    if (op === "not_equals" || op === "not_in") { return !compare(op.slice(4), answer, expected); }
    if (isEmpty(answer)) { return false; }
    if (op === "equals") {
      if (Array.isArray(answer)) { return answer.some(function (i) { return same(i, expected); }); }
      return same(answer, expected);
    }
    if (op === "in") {
      var options = Array.isArray(expected) ? expected : [expected];
      var items = Array.isArray(answer) ? answer : [answer];
      return items.some(function (i) { return options.some(function (o) { return same(i, o); }); });
    }
    var a = num(answer), b = num(expected);
    if (a === null || b === null) { return false; }
    return { gt: a > b, gte: a >= b, lt: a < b, lte: a <= b }[op] || false;
  }
  function evaluate(rule, answers) {
    if (!rule || Object.keys(rule).length === 0) { return true; }
    if ("not" in rule) { return !evaluate(rule.not, answers); }
    var all = rule.all || rule.and, any = rule.any || rule.or;
    if (all) { return all.every(function (r) { return evaluate(r, answers); }); }
    if (any) { return any.some(function (r) { return evaluate(r, answers); }); }
    var answer = answers[rule.q];
    if (rule.row !== undefined && rule.row !== null) {
      answer = (answer && typeof answer === "object" && !Array.isArray(answer)) ? answer[rule.row] : null;
    }
    return compare(rule.op || "equals", answer, rule.value);
  }

  function operand(answer) {
    if (Array.isArray(answer)) { return answer.length; }
    if (answer === "yes" || answer === "no") { return answer === "yes" ? 1 : 0; }
    return num(answer);
  }
  function finite(v) { return (typeof v === "number" && isFinite(v)) ? v : null; }
  function compute(f, answers) {
    if (!f || typeof f !== "object") { return null; }
    if ("num" in f) { return num(f.num); }
    if ("q" in f) {
      var answer = answers[f.q];
      if ("choice" in f) {
        var ticked = Array.isArray(answer) ? answer : [answer];
        return ticked.some(function (t) { return same(t, f.choice); }) ? 1 : 0;
      }
      return isEmpty(answer) ? null : operand(answer);
    }
    if ("neg" in f) { var n = compute(f.neg, answers); return n === null ? null : -n; }
    if ("sum" in f) {
      var given = f.sum.map(function (p) { return compute(p, answers); })
        .filter(function (v) { return v !== null; });
      return given.length ? given.reduce(function (x, y) { return x + y; }, 0) : null;
    }
    if ("if" in f) { return compute(evaluate(f["if"], answers) ? f.then : f["else"], answers); }
    var args = f.args || [];
    if (args.length !== 2) { return null; }
    var a = compute(args[0], answers), b = compute(args[1], answers);
    if (a === null || b === null) { return null; }
    if (f.op === "/" && b === 0) { return null; }
    return finite({ "+": a + b, "-": a - b, "*": a * b, "/": a / b, "^": Math.pow(a, b) }[f.op]);
  }
  function shown(value) {
    if (value === null) { return ""; }
    var lang = document.documentElement.lang || "fr";
    return value.toLocaleString(lang, { maximumFractionDigits: 2 }).replace(/\u202f|\u00a0/g, " ");
  }

  function valueOf(box) {
    var type = box.dataset.type, code = box.dataset.code, name = "q-" + code;
    function checked(n) {
      return Array.prototype.map.call(box.querySelectorAll('input[name="' + n + '"]:checked'),
        function (i) { return i.value; });
    }
    if (type === "multiple") { return checked(name); }
    if (type === "single" || type === "likert" || type === "yes_no") { return checked(name)[0] || null; }
    if (type === "rating") { var r = checked(name)[0]; return r === undefined ? null : Number(r); }
    if (type === "matrix" || type === "matrix_multi") {
      var result = {};
      box.querySelectorAll("tbody tr").forEach(function (tr) {
        var input = tr.querySelector("input");
        if (!input) { return; }
        var values = checked(input.name);
        var row = input.name.slice(name.length + 1);
        if (values.length) { result[row] = type === "matrix" ? values[0] : values; }
      });
      return result;
    }
    if (type === "ranking") {
      return Array.prototype.map.call(box.querySelectorAll("select"), function (s) { return s.value; })
        .filter(function (v) { return v !== ""; });
    }
    var field = box.querySelector('[name="' + name + '"]');
    if (!field || field.value.trim() === "") { return null; }
    if (type === "number" || type === "integer") { var n = num(field.value); return n === null ? field.value : n; }
    return field.value;
  }

  function refresh(form, stored) {
    var answers = Object.assign({}, stored);
    var anyVisible = false;
    form.querySelectorAll(".survey-question").forEach(function (box) {
      var rule = box.dataset.showIf ? JSON.parse(box.dataset.showIf) : null;
      var show = evaluate(rule, answers);
      box.hidden = !show;
      anyVisible = anyVisible || show;
      if (show && box.dataset.type === "calculated") {
        var value = compute(JSON.parse(box.dataset.formula || "null"), answers);
        var output = box.querySelector("output");
        if (output && output.textContent !== shown(value)) { output.textContent = shown(value); }
        answers[box.dataset.code] = value;
      } else if (show) { answers[box.dataset.code] = valueOf(box); } else { delete answers[box.dataset.code]; }
    });
    var none = document.getElementById("survey-none");
    if (none) { none.hidden = anyVisible; }
  }

  var form = document.getElementById("survey-form");
  if (!form) { return; }
  var storedNode = document.getElementById("survey-other-answers");
  var stored = storedNode ? (JSON.parse(storedNode.textContent) || {}) : {};
  form.addEventListener("change", function () { refresh(form, stored); });
  form.addEventListener("input", function () { refresh(form, stored); });
  refresh(form, stored);
  window.oncoSurveyRules = { evaluate: evaluate, compute: compute };
})();
