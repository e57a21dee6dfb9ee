"""REDCap data dictionaries (the 18-column CSV) in and out.

In: one section per instrument (``Form Name``), a new section at each ``Section Header``
(code ``form__s2``, ``form__s3``… so the export gives the instrument back); matrix groups
become one matrix question whose rows are the group's fields; branching logic becomes
show-if rules (:mod:`.expressions`). Out: the reverse, from the platform's questionnaire dict.
What has no equivalent (calculated fields, file uploads, descriptive text, annotations,
alignment, some validations, calculations beyond arithmetic, sum() and if()) is listed in
the notes, field by field.
"""

from __future__ import annotations

import csv
import html
import io
import re

from django.utils.translation import gettext as _

from surveys import rules
from surveys.interop import Conversion, ImportFormatError, safe_choice_code, safe_code
from surveys.interop.expressions import (
    Translator,
    Unsupported,
    Variable,
    condition_text,
    formula_text,
)
from surveys.models import OTHER_CODE, QuestionType, instance_code

HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
(NAME, FORM, SECTION, TYPE, LABEL, CHOICES, NOTE, VALIDATION, VMIN, VMAX, IDENTIFIER, BRANCHING,
 REQUIRED, ALIGNMENT, NUMBER, MATRIX, RANKING, ANNOTATION) = range(18)  # fmt: skip
SECTION_SPLIT = "__s"
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# validation -> (platform type, pattern)
VALIDATIONS = {
    "": (QuestionType.TEXT, ""),
    "integer": (QuestionType.INTEGER, ""),
    "number": (QuestionType.NUMBER, ""),
    "date_ymd": (QuestionType.DATE, ""),
    "email": (QuestionType.TEXT, EMAIL_PATTERN),
}
NUMBER_VARIANTS = re.compile(r"^number_\d+dp(_comma_decimal)?$|^number_comma_decimal$")
DATE_VARIANTS = ("date_dmy", "date_mdy")
CHOICE_FIELD_TYPES = {
    "radio": QuestionType.SINGLE,
    "dropdown": QuestionType.SINGLE,
    "checkbox": QuestionType.MULTIPLE,
}
TAG_RE = re.compile(r"<[^>]+>")
# The action tag of a checkbox's exclusive choices: @NONEOFTHEABOVE='98,99' (quotes optional).
NONE_OF_THE_ABOVE_RE = re.compile(r"@NONEOFTHEABOVE\s*=\s*(?:'([^']*)'|\"([^\"]*)\"|([^\s'\"]+))")


def _plain(text: str) -> str:
    """HTML labels (REDCap's rich text) as plain text."""
    text = re.sub(r"<br\s*/?>|</p>|</div>", "\n", text or "", flags=re.I)
    return html.unescape(TAG_RE.sub("", text)).strip()


def _choices(text: str) -> list[tuple[str, str]]:
    pairs = []
    for part in (text or "").split("|"):
        if not part.strip():
            continue
        code, sep, label = part.partition(",")
        pairs.append((code.strip(), _plain(label) if sep else code.strip()))
    return pairs


def _rows(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as error:
        raise ImportFormatError(_("This file is empty.")) from error
    if [h.strip() for h in header[:4]] != HEADER[:4]:
        raise ImportFormatError(
            _("This CSV file is not a REDCap data dictionary (its first columns are not %(cols)s).")
            % {"cols": ", ".join(HEADER[:4])}
        )
    try:
        rows = [r + [""] * (18 - len(r)) for r in reader if any(cell.strip() for cell in r)]
    except csv.Error as error:
        raise ImportFormatError(_("This CSV file cannot be read: %(e)s") % {"e": error}) from error
    return rows


def _humanize(form: str) -> str:
    return form.replace("_", " ").strip().capitalize() or form


def dictionary_to_questionnaire(content: bytes, *, title: str = "") -> Conversion:
    rows = _rows(content)
    if not rows:
        raise ImportFormatError(_("This data dictionary has no field."))
    conversion = Conversion("redcap", {})
    sections: list[dict] = []
    section_codes: set[str] = set()
    question_codes: set[str] = set()
    known: dict[str, dict] = {}  # REDCap field -> rule target of an earlier question
    kinds: dict[str, str] = {}  # question code -> platform type
    values: dict[str, dict[str, str]] = {}  # question code -> REDCap code -> platform code
    skipped: dict[str, str] = {}  # REDCap field -> why it is not a question
    forms_seen: dict[str, int] = {}
    current_form = None
    matrix: dict | None = None

    def new_section(form: str, header: str) -> dict:
        count = forms_seen.get(form, 0) + 1
        forms_seen[form] = count
        base = form if count == 1 else f"{form}{SECTION_SPLIT}{count}"
        code = safe_code(base, section_codes, prefix="S")
        section = {
            "code": code,
            "title": (_plain(header) or _humanize(form))[:200],
            "description": "",
            "questions": [],
        }
        sections.append(section)
        return section

    def translate(field: str, logic: str) -> dict | None:
        if not logic.strip():
            return None
        translator = Translator(
            resolve=lambda v: _resolve(v, known, skipped),
            value_of=lambda q, raw: values.get(q, {}).get(raw, raw),
            multiple=lambda q: kinds.get(q) == QuestionType.MULTIPLE,
        )
        try:
            return translator.translate(logic)
        except Unsupported as reason:
            conversion.note(
                field,
                "branching",
                _("Branching logic “%(logic)s” not carried over (%(reason)s): shown always.")
                % {"logic": logic.strip(), "reason": reason},
            )
            return None

    section = None
    for row in rows:
        name, form, ftype = row[NAME].strip(), row[FORM].strip(), row[TYPE].strip().lower()
        if not name:
            continue
        if form != current_form or row[SECTION].strip():
            section = new_section(form or "form", row[SECTION])
            current_form = form
            matrix = None
        exclusive_raw: list[str] = []
        if ftype == "checkbox" and not row[MATRIX].strip():
            # The exclusive choices are carried over; the rest of the annotation is noted.
            for match in NONE_OF_THE_ABOVE_RE.finditer(row[ANNOTATION]):
                listed = next(g for g in match.groups() if g is not None)
                exclusive_raw += [c.strip() for c in listed.split(",") if c.strip()]
            row[ANNOTATION] = NONE_OF_THE_ABOVE_RE.sub("", row[ANNOTATION]).strip()
        extras = (
            (ANNOTATION, "annotation"),
            (ALIGNMENT, "alignment"),
            (NUMBER, "question_number"),
            (IDENTIFIER, "identifier"),
        )
        for column, aspect in extras:
            if row[column].strip():
                conversion.note(
                    name,
                    aspect,
                    _("%(column)s “%(value)s” not carried over.")
                    % {"column": HEADER[column], "value": row[column].strip()[:80]},
                )
        label = _plain(row[LABEL]) or name
        formula = None
        if ftype == "calc":
            try:
                formula = Translator(
                    resolve=lambda v: _resolve(v, known, skipped),
                    value_of=lambda q, raw: values.get(q, {}).get(raw, raw),
                ).formula(row[CHOICES])
            except Unsupported as reason:
                calc_reason = str(reason)
        if ftype in ("descriptive", "calc", "file", "sql") and formula is None:
            reasons = {
                "descriptive": _("descriptive text: added to the section's description"),
                "calc": _("the calculation %(formula)s cannot be carried over (%(reason)s)")
                % {"formula": row[CHOICES].strip(), "reason": calc_reason}
                if ftype == "calc"
                else "",
                "file": _("file upload has no equivalent"),
                "sql": _("SQL field has no equivalent"),
            }
            if ftype == "descriptive":
                section["description"] = "\n\n".join(filter(None, [section["description"], label]))
            elif row[SECTION].strip():
                reasons[ftype] += " — " + _("with its section header “%(h)s”") % {
                    "h": _plain(row[SECTION])
                }
            skipped[name] = _("%(field)s is not carried over") % {"field": name}
            conversion.note(
                name, "all", _("Field not carried over: %(why)s.") % {"why": reasons[ftype]}
            )
            continue
        group = row[MATRIX].strip()
        if group and ftype in ("radio", "checkbox"):
            choices = _choices(row[CHOICES])
            if matrix and matrix["group"] == group and matrix["source_choices"] == choices:
                row_code = safe_choice_code(name, matrix["row_codes"])
                matrix["question"]["rows"].append([row_code, label[:300]])
                matrix["question"]["required"] |= row[REQUIRED].strip().lower() == "y"
                known[name] = {"q": matrix["question"]["code"], "row": row_code}
                if (row[BRANCHING].strip() or None) != matrix["branching"]:
                    conversion.note(
                        name,
                        "branching",
                        _("Matrix row with its own branching logic: the matrix's is used."),
                    )
                continue
            code = safe_code(group, question_codes)
            if code != group:
                conversion.note(
                    group,
                    "matrix_name",
                    _("Matrix group “%(group)s” renamed “%(code)s” (the name is taken).")
                    % {"group": group, "code": code},
                )
            options, mapping = _options(choices, name, conversion)
            question = {
                "code": code,
                "type": QuestionType.MATRIX if ftype == "radio" else QuestionType.MATRIX_MULTI,
                "label": _humanize(group)[:200],
                "required": row[REQUIRED].strip().lower() == "y",
                "options": options,
                "rows": [],
            }
            rule = translate(name, row[BRANCHING])
            if rule:
                question["show_if"] = rule
            row_codes: set[str] = set()
            row_code = safe_choice_code(name, row_codes)
            question["rows"].append([row_code, label[:300]])
            section["questions"].append(question)
            kinds[code], values[code] = question["type"], mapping
            known[name] = {"q": code, "row": row_code}
            matrix = {
                "group": group,
                "source_choices": choices,
                "question": question,
                "row_codes": row_codes,
                "branching": row[BRANCHING].strip() or None,
            }
            continue
        matrix = None
        code = safe_code(name, question_codes)
        if code != name:
            conversion.note(name, "name", _("Variable renamed “%(code)s”.") % {"code": code})
        question = {"code": code, "label": label, "required": row[REQUIRED].strip().lower() == "y"}
        if row[NOTE].strip():
            question["help_text"] = _plain(row[NOTE])
        mapping: dict[str, str] = {}
        if ftype in CHOICE_FIELD_TYPES:
            question["type"] = CHOICE_FIELD_TYPES[ftype]
            question["options"], mapping = _options(_choices(row[CHOICES]), name, conversion)
            if ftype == "dropdown":
                conversion.note(name, "type", _("Drop-down list imported as a single choice."))
            if not question["options"]:
                conversion.note(name, "all", _("Field not carried over: it has no choice."))
                skipped[name] = _("%(field)s is not carried over") % {"field": name}
                continue
            exclusive = [mapping[c] for c in exclusive_raw if c in mapping]
            if exclusive:
                question["exclusive"] = exclusive
            if len(exclusive) != len(exclusive_raw):
                conversion.note(
                    name,
                    "annotation",
                    _("@NONEOFTHEABOVE names a choice the field does not have: not carried over."),
                )
        elif ftype == "yesno":
            question["type"] = QuestionType.YES_NO
            mapping = {"1": "yes", "0": "no"}
        elif ftype == "truefalse":
            question["type"] = QuestionType.SINGLE
            question["options"] = [["1", _("True")], ["0", _("False")]]
            conversion.note(name, "type", _("True / false imported as a single choice (1, 0)."))
        elif ftype == "notes":
            question["type"] = QuestionType.LONG_TEXT
        elif ftype == "slider":
            question["type"] = QuestionType.RATING
            question["min_value"], question["max_value"] = _slider_bounds(row)
            labels = [p.strip() for p in row[CHOICES].split("|")]
            conversion.note(
                name,
                "type",
                _("Slider imported as a rating from %(lo)s to %(hi)s (labels lost: %(labels)s).")
                % {
                    "lo": f"{question['min_value']:g}",
                    "hi": f"{question['max_value']:g}",
                    "labels": " | ".join(labels),
                },
            )
        elif ftype == "text":
            question.update(_text_question(row, name, conversion))
        elif ftype == "calc":
            question["type"], question["formula"] = QuestionType.CALCULATED, formula
            question["required"] = False
        else:
            conversion.note(
                name, "all", _("Field type “%(type)s” unknown: not carried over.") % {"type": ftype}
            )
            skipped[name] = _("%(field)s is not carried over") % {"field": name}
            continue
        rule = translate(name, row[BRANCHING])
        if rule:
            question["show_if"] = rule
        section["questions"].append(question)
        kinds[code], values[code] = question["type"], mapping
        known[name] = {"q": code}
    sections = [s for s in sections if s["questions"]] or sections[:1]
    first_form = rows[0][FORM].strip() or "redcap"
    conversion.data = {
        "format": "onco-hdf-questionnaire",
        "format_version": 1,
        "code": safe_code(title or first_form, set(), prefix="Q")[:60].lower().replace("_", "-"),
        "title": title or _("REDCap data dictionary (%(n)d fields)") % {"n": len(rows)},
        "introduction": "",
        "sections": sections,
    }
    return conversion


def _resolve(variable: Variable, known: dict, skipped: dict) -> dict:
    target = known.get(variable.name)
    if target is None:
        raise Unsupported(
            skipped.get(variable.name)
            or _("%(field)s is not an earlier field") % {"field": variable.name}
        )
    if variable.choice is not None and "row" in target:
        raise Unsupported(_("a checkbox choice of a matrix row"))
    return dict(target)


def _options(
    choices: list[tuple[str, str]], name: str, conversion: Conversion
) -> tuple[list[list[str]], dict[str, str]]:
    taken: set[str] = set()
    options, mapping = [], {}
    for raw, label in choices:
        code = safe_choice_code(raw, taken)
        if code != raw:
            conversion.note(
                name,
                "choice_code",
                _("Choice code “%(raw)s” written “%(code)s”.") % {"raw": raw, "code": code},
            )
        options.append([code, label[:300]])
        mapping[raw] = code
    return options, mapping


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "."))
    except (AttributeError, ValueError):
        return None


def _slider_bounds(row: list[str]) -> tuple[float, float]:
    low, high = _number(row[VMIN]), _number(row[VMAX])
    return (low if low is not None else 0.0), (high if high is not None else 100.0)


def _text_question(row: list[str], name: str, conversion: Conversion) -> dict:
    validation = row[VALIDATION].strip().lower()
    out: dict = {}
    if validation in VALIDATIONS:
        qtype, pattern = VALIDATIONS[validation]
    elif NUMBER_VARIANTS.match(validation):
        qtype, pattern = QuestionType.NUMBER, ""
        conversion.note(
            name,
            "validation",
            _("Validation “%(v)s” imported as a number (decimals and comma not enforced).")
            % {"v": validation},
        )
    elif validation in DATE_VARIANTS:
        qtype, pattern = QuestionType.DATE, ""
        conversion.note(
            name,
            "validation",
            _("Validation “%(v)s” imported as a date (shown as dd/mm/yyyy).") % {"v": validation},
        )
    else:
        qtype, pattern = QuestionType.TEXT, ""
        conversion.note(
            name,
            "validation",
            _("Validation “%(v)s” has no equivalent: free text.") % {"v": validation},
        )
    out["type"] = qtype
    if pattern:
        out["pattern"] = pattern
    if qtype in (QuestionType.INTEGER, QuestionType.NUMBER):
        for column, key in ((VMIN, "min_value"), (VMAX, "max_value")):
            value = _number(row[column])
            if value is not None:
                out[key] = value
    elif row[VMIN].strip() or row[VMAX].strip():
        conversion.note(name, "validation", _("Minimum and maximum not carried over."))
    return out


# --- Out ------------------------------------------------------------------------------


def questionnaire_to_dictionary(data: dict) -> str:
    """The questionnaire dict as a REDCap data dictionary (CSV text)."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(HEADER)
    fields: dict[str, dict] = {}  # question code -> how rules refer to it
    for section in data["sections"]:
        form = section["code"].split(SECTION_SPLIT)[0]
        header = section["title"] if section["title"] != _humanize(form) else ""
        if section.get("description"):
            writer.writerow(_blank(f"{form}_{len(fields)}_text", form, "descriptive",
                                   section["description"], header))  # fmt: skip
            header = ""
        for question in _expanded(section, data):
            for row in _question_rows(question, form, fields):
                if header:
                    row[SECTION], header = header, ""
                writer.writerow(row)
    return out.getvalue()


def _expanded(section: dict, data: dict) -> list[dict]:
    """A section's questions; a section repeated for each choice of an earlier question
    becomes one field per choice and question (``cost__v1``), shown when that choice is
    ticked, as REDCap projects do it (a data dictionary has no per-choice repetition)."""
    source_code = section.get("repeat_for")
    if not source_code:
        return section["questions"]
    source = next(q for s in data["sections"] for q in s["questions"] if q["code"] == source_code)
    choices = [tuple(pair) for pair in source.get("options", [])]
    if source.get("allow_other"):
        choices.append((OTHER_CODE, _("Other")))
    local = [q["code"] for q in section["questions"]]
    return [
        {
            **question,
            "code": instance_code(question["code"], choice),
            "label": f"{question['label']} — {label}",
            "show_if": rules.block_rule(
                question.get("show_if"), local, source_code, choice, instance_code
            ),
        }
        for choice, label in choices
        for question in section["questions"]
    ]


def _blank(name: str, form: str, ftype: str, label: str, header: str = "") -> list[str]:
    row = [""] * 18
    row[NAME], row[FORM], row[TYPE], row[LABEL], row[SECTION] = name, form, ftype, label, header
    return row


def _question_rows(question: dict, form: str, fields: dict) -> list[list[str]]:
    qtype, code = question["type"], question["code"]
    choices = " | ".join(f"{c}, {label}" for c, label in question.get("options", []))
    branching = _logic(question.get("show_if"), fields)
    required = "y" if question.get("required") else ""
    if qtype in (QuestionType.MATRIX, QuestionType.MATRIX_MULTI):
        ftype = "radio" if qtype == QuestionType.MATRIX else "checkbox"
        rows = []
        for row_code, label in question.get("rows", []):
            row = _blank(row_code, form, ftype, label)
            row[CHOICES], row[MATRIX], row[BRANCHING], row[REQUIRED] = (
                choices,
                code,
                branching,
                required,
            )
            rows.append(row)
            fields[code + "/" + row_code] = {"name": row_code, "kind": ftype}
        fields[code] = {"name": code, "kind": "matrix"}
        return rows
    row = _blank(code, form, "text", question["label"])
    row[NOTE], row[BRANCHING], row[REQUIRED] = question.get("help_text", ""), branching, required
    kind = "single"
    if qtype in (QuestionType.SINGLE, QuestionType.LIKERT):
        row[TYPE], row[CHOICES] = "radio", choices
    elif qtype == QuestionType.MULTIPLE:
        row[TYPE], row[CHOICES], kind = "checkbox", choices, "checkbox"
        if question.get("exclusive"):
            row[ANNOTATION] = f"@NONEOFTHEABOVE='{','.join(question['exclusive'])}'"
    elif qtype == QuestionType.YES_NO:
        row[TYPE], kind = "yesno", "yesno"
    elif qtype == QuestionType.LONG_TEXT:
        row[TYPE] = "notes"
    elif qtype == QuestionType.RATING:
        row[TYPE] = "slider"
        row[VMIN], row[VMAX] = (_fmt(question.get(k)) for k in ("min_value", "max_value"))
    elif qtype in (QuestionType.INTEGER, QuestionType.NUMBER):
        row[VALIDATION] = "integer" if qtype == QuestionType.INTEGER else "number"
        row[VMIN], row[VMAX] = (_fmt(question.get(k)) for k in ("min_value", "max_value"))
    elif qtype in (QuestionType.DATE, QuestionType.MONTH):
        row[VALIDATION] = "date_ymd"
    elif question.get("pattern") == EMAIL_PATTERN:
        row[VALIDATION] = "email"
    elif qtype == QuestionType.RANKING:
        row[TYPE], row[CHOICES], kind = "checkbox", choices, "checkbox"
    elif qtype == QuestionType.CALCULATED:
        row[TYPE] = "calc"
        row[CHOICES] = formula_text(
            question["formula"],
            name_of=lambda code: fields.get(code, {}).get("name", code),
            condition=lambda rule: _logic(rule, fields) or condition_text(rule),
        )
    fields[code] = {"name": code, "kind": kind}
    return [row]


def _fmt(value) -> str:
    return "" if value is None else f"{value:g}"


def _logic(rule, fields: dict) -> str:
    if not rule:
        return ""
    if "not" in rule:
        inner = rule["not"]
        target = fields.get(inner.get("q", ""), {})
        if inner.get("op") == "equals" and target.get("kind") == "checkbox":
            return f"[{target['name']}({inner['value']})] = '0'"
        return ""
    for key, word in (("all", " and "), ("any", " or ")):
        if key in rule:
            parts = [_logic(sub, fields) for sub in rule[key]]
            wrapped = [f"({p})" if (" and " in p or " or " in p) else p for p in parts if p]
            return word.join(wrapped)
    q, op, value = rule.get("q", ""), rule.get("op", "equals"), rule.get("value")
    target = fields.get(f"{q}/{rule['row']}" if rule.get("row") else q)
    if not target:
        return ""
    name = target["name"]
    if op in ("answered", "not_answered"):
        return f"[{name}] {'<>' if op == 'answered' else '='} ''"
    if target["kind"] == "checkbox" and op in ("equals", "not_equals"):
        return f"[{name}({value})] = '{'1' if op == 'equals' else '0'}'"
    if target["kind"] == "yesno":
        value = {"yes": "1", "no": "0"}.get(value, value)
    symbol = {"equals": "=", "not_equals": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
    if op not in symbol:
        return ""
    if op in ("equals", "not_equals"):
        return f"[{name}] {symbol[op]} '{value}'"
    return f"[{name}] {symbol[op]} {_fmt(value)}"
