"""Exports of a campaign: wide CSV/XLSX, long CSV, codebook, SPSS .sav, Stata .dta, and the
data CSV with its R or SPSS syntax.

One list of variables (:func:`variables`) drives every wide format, so the columns of the
CSV, the spreadsheet and the statistics files are the same. A question that branching hid
("not asked") and a question shown but left empty ("not answered") get two different
missing-value codes (:data:`NOT_ASKED`, :data:`NOT_ANSWERED`), stated in the codebook.
Text cells that a spreadsheet would run as a formula are neutralised by :func:`safe_cell`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onco_hdf.exports import safe_cell
from surveys import answers
from surveys.models import (
    MATRIX_TYPES,
    NUMERIC_TYPES,
    OTHER_TYPES,
    Campaign,
    Question,
    QuestionType,
    Response,
    ResponseStatus,
)
from surveys.results import campaign_results
from surveys.selectors import Structure

FORMATS = {
    "csv": gettext_lazy("CSV, one row per response"),
    "xlsx": gettext_lazy("Excel (XLSX)"),
    "long": gettext_lazy("CSV, one row per answer (long format)"),
    "codebook": gettext_lazy("Codebook (CSV)"),
    "sav": gettext_lazy("SPSS (.sav)"),
    "dta": gettext_lazy("Stata (.dta)"),
    "r": gettext_lazy("R: data CSV and syntax (.zip)"),
    "sps": gettext_lazy("SPSS: data CSV and syntax (.zip)"),
}


@dataclass(frozen=True)
class MissingKind:
    """Why a value is missing; each numeric variable has one code per kind."""

    key: str
    stata: str  # Stata's extended missing value (".a", ".b")
    label: Any


NOT_ASKED = MissingKind("not_asked", "a", gettext_lazy("Not asked (hidden by branching)"))
NOT_ANSWERED = MissingKind("not_answered", "b", gettext_lazy("Not answered"))
MISSING_KINDS = (NOT_ASKED, NOT_ANSWERED)
MISSING_CODES = (-8, -9)
# For a number question that may take -8 or -9 as a true value (no minimum above -8).
WIDE_MISSING_CODES = (-99998, -99999)


@dataclass
class Variable:
    name: str
    label: str
    numeric: bool
    extract: Callable[[Any, str], Any]
    value_labels: dict | None = None  # numeric code → label (SPSS/Stata)
    codes: list[str] | None = None  # choice codes in value-label order
    # Codes of "not asked" and "not answered" (numeric variables of a question only).
    missing: tuple[int, int] | None = None
    # A ranking's item left out of the top N is empty (system-missing), not "not answered".
    blank_is_valid: bool = False

    def missing_code(self, kind: MissingKind) -> int | None:
        return None if self.missing is None else self.missing[MISSING_KINDS.index(kind)]


def _choice_variable(name: str, label: str, codes: list[str], labels: dict, pick) -> Variable:
    return Variable(
        name,
        label,
        True,
        pick,
        value_labels={i: labels[c] for i, c in enumerate(codes, 1)},
        codes=codes,
    )


def _index(codes: list[str]) -> Callable[[Any], Any]:
    positions = {c: i for i, c in enumerate(codes, 1)}
    return lambda code: positions.get(code)


def missing_codes_for(question: Question) -> tuple[int, int]:
    """-8/-9, unless a free number could truly be -8 or -9."""
    if question.type in (QuestionType.NUMBER, QuestionType.INTEGER) and (
        question.min_value is None or question.min_value <= MISSING_CODES[0]
    ):
        return WIDE_MISSING_CODES
    return MISSING_CODES


def question_variables(question: Question) -> list[Variable]:
    code, qtype, label = question.code, question.type, question.plain_label
    codes = answers.option_codes(question)
    labels = answers.option_labels(question)
    yes_no = {1: _("Yes"), 0: _("No")}
    found: list[Variable] = []
    if qtype in (QuestionType.SINGLE, QuestionType.LIKERT, QuestionType.YES_NO):
        index = _index(codes)
        found.append(
            _choice_variable(code, label, codes, labels, lambda v, o: index(v) if v else None)
        )
    elif qtype == QuestionType.MULTIPLE:
        for c in codes:
            found.append(
                Variable(
                    f"{code}__{c}",
                    f"{label} — {labels[c]}",
                    True,
                    lambda v, o, c=c: None if v is None else int(c in v),
                    value_labels=yes_no,
                )
            )
    elif qtype in NUMERIC_TYPES:
        found.append(Variable(code, label, True, lambda v, o: v))
    elif qtype == QuestionType.MATRIX:
        index = _index(codes)
        for row in question.rows():
            found.append(
                _choice_variable(
                    f"{code}__{row.code}",
                    f"{label} — {row.label}",
                    codes,
                    labels,
                    lambda v, o, r=row.code: index(v.get(r)) if v else None,
                )
            )
    elif qtype == QuestionType.MATRIX_MULTI:
        for row in question.rows():
            for c in codes:
                found.append(
                    Variable(
                        f"{code}__{row.code}__{c}",
                        f"{label} — {row.label} — {labels[c]}",
                        True,
                        lambda v, o, r=row.code, c=c: (
                            None if v is None or not v.get(r) else int(c in v[r])
                        ),
                        value_labels=yes_no,
                    )
                )
    elif qtype == QuestionType.RANKING:
        rank = _("rank")
        for c in codes:
            found.append(
                Variable(
                    f"{code}__{c}",
                    f"{label} — {labels[c]} ({rank})",
                    True,
                    lambda v, o, c=c: (v.index(c) + 1 if c in v else None) if v else None,
                    blank_is_valid=True,
                )
            )
    else:
        found.append(Variable(code, label, False, lambda v, o: "" if v is None else str(v)))
    if question.allow_other and qtype in OTHER_TYPES:
        other = _("other, specify")  # outside the f-string, where makemessages finds it
        found.append(Variable(f"{code}_other", f"{label} — {other}", False, lambda v, o: o or ""))
    missing = missing_codes_for(question)
    for variable in found:
        if variable.numeric:
            variable.missing = missing
    return found


STATUS_CODES = [ResponseStatus.SUBMITTED, ResponseStatus.IN_PROGRESS, ResponseStatus.REOPENED]


def base_variables() -> list[Variable]:
    statuses = dict(ResponseStatus.choices)
    return [
        Variable("response_id", _("Response"), True, lambda v, o: v),
        Variable("centre", _("Centre"), False, lambda v, o: v),
        Variable("sector", _("Sector"), False, lambda v, o: v),
        Variable("departement", _("Département"), False, lambda v, o: v),
        _choice_variable(
            "status",
            _("Status of the response"),
            [str(s) for s in STATUS_CODES],
            {str(s): str(statuses[s]) for s in STATUS_CODES},
            _index([str(s) for s in STATUS_CODES]),
        ),
        Variable("submitted_at", _("Submitted at"), False, lambda v, o: v),
    ]


def variables(structure: Structure) -> list[Variable]:
    return base_variables() + [v for q in structure.questions for v in question_variables(q)]


def export_responses(campaign: Campaign, *, include_in_progress: bool = False) -> list[Response]:
    """Submitted responses, and with ``include_in_progress`` those still being filled."""
    statuses = STATUS_CODES if include_in_progress else [ResponseStatus.SUBMITTED]
    return list(
        campaign.responses.filter(status__in=statuses)
        .select_related("centre")
        .order_by("centre__name", "pk")
    )


def _raw_results(campaign: Campaign, include_in_progress: bool):
    return campaign_results(
        campaign,
        with_charts=False,
        responses=export_responses(campaign, include_in_progress=include_in_progress),
        suppress=False,  # raw data: the small-count rule is for aggregated views
    )


def wide_rows(
    campaign: Campaign, *, include_in_progress: bool = False
) -> tuple[list[Variable], list[dict], Structure]:
    """Variables and one dict per response; a missing value is a :class:`MissingKind`."""
    data = _raw_results(campaign, include_in_progress)
    structure = data.structure
    per_question = [(q, question_variables(q)) for q in structure.questions]
    all_vars = base_variables() + [v for _q, found in per_question for v in found]
    rows = []
    for response in data.responses:
        values, others = data.values[response.pk]
        visible = data.visible[response.pk]
        row = {
            "response_id": response.pk,
            "centre": response.centre.name,
            "sector": response.centre.get_sector_display(),
            "departement": response.centre.departement,
            "status": STATUS_CODES.index(response.status) + 1,
            "submitted_at": response.submitted_at.strftime("%Y-%m-%d %H:%M")
            if response.submitted_at
            else "",
        }
        for question, found in per_question:
            value = answers.json_value(values.get(question.code))
            if question.code not in visible:
                state = NOT_ASKED
            elif value in (None, "", [], {}):
                state = NOT_ANSWERED
            else:
                state = None
            for variable in found:
                if state is not None:
                    row[variable.name] = state if variable.numeric else ""
                    continue
                extracted = variable.extract(value, others.get(question.code, ""))
                if extracted is None and variable.numeric and not variable.blank_is_valid:
                    extracted = NOT_ANSWERED  # e.g. a matrix row left empty
                row[variable.name] = extracted
        rows.append(row)
    return all_vars, rows, structure


def _code_cell(variable: Variable, value: Any) -> Any:
    """A numeric variable's value with its missing-value code."""
    if isinstance(value, MissingKind):
        return variable.missing_code(value)
    return value


def _wide_table(campaign: Campaign, *, include_in_progress: bool = False):
    """Header and rows with codes and labels (a label column after each coded choice)."""
    all_vars, rows, _structure = wide_rows(campaign, include_in_progress=include_in_progress)
    header = []
    for variable in all_vars:
        header.append(variable.name)
        if variable.codes is not None:
            header.append(f"{variable.name}_label")
    table = []
    for row in rows:
        line = []
        for variable in all_vars:
            value = row[variable.name]
            if variable.codes is not None:
                if isinstance(value, MissingKind):
                    line += [variable.missing_code(value), str(value.label)]
                elif value:
                    line += [variable.codes[value - 1], variable.value_labels[value]]
                else:
                    line += ["", ""]
            else:
                value = _code_cell(variable, value)
                line.append("" if value is None else value)
        table.append([safe_cell(cell) for cell in line])
    return header, table


def _csv(header: list[str], table: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows(table)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_csv(campaign: Campaign, *, include_in_progress: bool = False) -> bytes:
    return _csv(*_wide_table(campaign, include_in_progress=include_in_progress))


def export_xlsx(campaign: Campaign, *, include_in_progress: bool = False) -> bytes:
    from openpyxl import Workbook

    header, table = _wide_table(campaign, include_in_progress=include_in_progress)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Responses")[:31]
    sheet.append([safe_cell(h) for h in header])
    for line in table:
        sheet.append(line)
    codebook = workbook.create_sheet(_("Codebook")[:31])
    for line in full_codebook_rows(campaign):
        codebook.append([safe_cell(c) for c in line])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_long(campaign: Campaign, *, include_in_progress: bool = False) -> bytes:
    data = _raw_results(campaign, include_in_progress)
    header = ["response_id", "centre", "status", "question", "row", "item", "value", "label"]
    header += ["other"]
    table = []
    for response in data.responses:
        values, others = data.values[response.pk]
        for question in data.structure.questions:
            if question.code not in data.visible[response.pk] or question.code not in values:
                continue
            for row, item, value, label in _atoms(question, values[question.code]):
                table.append(
                    [
                        safe_cell(c)
                        for c in (
                            response.pk,
                            response.centre.name,
                            response.status,
                            question.code,
                            row,
                            item,
                            value,
                            label,
                            others.get(question.code, ""),
                        )
                    ]
                )
    return _csv(header, table)


def _atoms(question: Question, value: Any) -> list[tuple]:
    labels = answers.option_labels(question)
    qtype = question.type
    if qtype in (QuestionType.SINGLE, QuestionType.LIKERT, QuestionType.YES_NO):
        return [("", "", value, labels.get(value, ""))]
    if qtype == QuestionType.MULTIPLE:
        return [("", c, c, labels.get(c, "")) for c in value]
    if qtype == QuestionType.RANKING:
        return [("", c, rank, labels.get(c, "")) for rank, c in enumerate(value, 1)]
    if qtype in MATRIX_TYPES:
        atoms = []
        for row, cell in value.items():
            for c in cell if isinstance(cell, list) else [cell]:
                atoms.append((row, c, c, labels.get(c, "")))
        return atoms
    return [("", "", answers.json_value(value), "")]


# --- Codebook -------------------------------------------------------------------------
CODEBOOK_HEADER = [
    "variable",
    "question",
    "section",
    "label",
    "type",
    "required",
    "choices",
    "rows",
    "unit",
    "min",
    "max",
    "show_if",
    "show_if_json",
    # Added after the columns above so that their positions stay (the report reads them).
    "values",
    "missing_not_asked",
    "missing_not_answered",
    "missing_values",
]


def _value_list(variable: Variable) -> str:
    if not variable.value_labels:
        return ""
    return "; ".join(f"{code}={label}" for code, label in variable.value_labels.items())


def _missing_cells(variable: Variable) -> list:
    """The two codes (numbers, so no spreadsheet reads them as a formula) and their meaning."""
    if variable.missing is None:
        return ["", "", ""]
    meaning = "; ".join(
        f"{kind.label} = {variable.missing_code(kind)} (Stata .{kind.stata})"
        for kind in MISSING_KINDS
    )
    return [*variable.missing, meaning]


def codebook_rows(campaign: Campaign) -> list[list]:
    """The header, then one row per variable of a question (in questionnaire order)."""
    from surveys.selectors import version_structure

    structure = version_structure(campaign.version)
    rows = [list(CODEBOOK_HEADER)]
    for section in structure.sections:
        for question in section.question_list:
            labels = answers.option_labels(question)
            choices = "; ".join(f"{c}={labels[c]}" for c in answers.option_codes(question))
            matrix_rows = "; ".join(f"{r.code}={r.label}" for r in question.rows())
            for variable in question_variables(question):
                rows.append(
                    [
                        variable.name,
                        question.code,
                        section.code,
                        variable.label,
                        question.get_type_display(),
                        _("yes") if question.required else _("no"),
                        choices,
                        matrix_rows,
                        question.unit,
                        "" if question.min_value is None else question.min_value,
                        "" if question.max_value is None else question.max_value,
                        answers.describe_rule(question.show_if),
                        json.dumps(question.show_if, ensure_ascii=False)
                        if question.show_if
                        else "",
                        _value_list(variable),
                        *_missing_cells(variable),
                    ]
                )
    return rows


def full_codebook_rows(campaign: Campaign) -> list[list]:
    """The codebook with the response's own variables (identifier, centre, status) first."""
    rows = codebook_rows(campaign)
    base = []
    for variable in base_variables():
        line = [""] * len(CODEBOOK_HEADER)
        line[0], line[3] = variable.name, variable.label
        line[CODEBOOK_HEADER.index("values")] = _value_list(variable)
        base.append(line)
    return [rows[0], *base, *rows[1:]]


def export_codebook(campaign: Campaign, **_options) -> bytes:
    rows = full_codebook_rows(campaign)
    return _csv(rows[0], [[safe_cell(c) for c in row] for row in rows[1:]])


# --- Statistics packages --------------------------------------------------------------
def _stat_name(name: str, used: set[str], limit: int) -> str:
    """A variable name the statistics package accepts (length, characters), unique."""
    clean = re.sub(r"[^A-Za-z0-9_]", "_", name)[:limit]
    candidate, n = clean, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{clean[: limit - len(str(n)) - 1]}_{n}"
    used.add(candidate.lower())
    return candidate


def _size(text: str, in_bytes: bool) -> int:
    return len(text.encode("utf-8")) if in_bytes else len(text)


def _clip(text: str, limit: int, in_bytes: bool) -> str:
    if _size(text, in_bytes) <= limit:
        return text
    while text and _size(text + "…", in_bytes) > limit:
        text = text[:-1]
    return text.rstrip() + "…"


def fit_label(label: str, limit: int, *, in_bytes: bool = False) -> str:
    """``label`` within ``limit``; a "question — row — item" label loses from the question
    first, so that rows and items stay readable."""
    label = " ".join(label.split())
    if _size(label, in_bytes) <= limit:
        return label
    head, sep, tail = label.partition(" — ")
    if sep and _size(tail, in_bytes) + 12 <= limit:
        room = limit - _size(sep + tail, in_bytes)
        return _clip(head, room, in_bytes) + sep + tail
    return _clip(label, limit, in_bytes)


def unique_labels(labels: dict[str, str], limit: int, *, in_bytes: bool = False) -> dict[str, str]:
    """Each label fitted within ``limit``, two variables never sharing one (a clipped label
    that collides ends with its variable name)."""
    used: set[str] = set()
    fitted = {}
    for name, label in labels.items():
        candidate = fit_label(label, limit, in_bytes=in_bytes)
        n = 1
        while candidate in used:
            suffix = f" [{name}]" if n == 1 else f" [{name} {n}]"
            candidate = fit_label(label, limit - _size(suffix, in_bytes), in_bytes=in_bytes)
            candidate += suffix
            n += 1
        used.add(candidate)
        fitted[name] = candidate
    return fitted


class ExportUnavailable(Exception):
    """The export cannot be produced on this installation (the message says why, in French)."""


# Limits of the file formats: names, variable labels, value labels (SPSS counts bytes).
LIMITS = {
    "sav": {"name": 64, "label": 256, "value": 120, "in_bytes": True},
    "dta": {"name": 32, "label": 80, "value": 32000, "in_bytes": False},
}


@dataclass
class StatColumn:
    name: str
    variable: Variable
    label: str
    value_labels: dict[int, str]  # with the missing-value codes' labels


def stat_columns(all_vars: list[Variable], fmt: str) -> list[StatColumn]:
    """Names and labels as the package ``fmt`` stores them ("sav" also serves R and .sps)."""
    limits = LIMITS[fmt]
    used: set[str] = set()
    limit = limits["name"]
    if fmt == "dta":
        # The Stata writer names each value-label set after its variable plus a counter
        # (up to the number of variables), and that name has the same 32-character limit.
        limit -= len(str(len(all_vars)))
    names = {v.name: _stat_name(v.name, used, limit) for v in all_vars}
    labels = unique_labels(
        {names[v.name]: v.label for v in all_vars}, limits["label"], in_bytes=limits["in_bytes"]
    )
    columns = []
    for variable in all_vars:
        values = dict(variable.value_labels or {})
        for kind in MISSING_KINDS if variable.missing else ():
            values[variable.missing_code(kind)] = str(kind.label)
        values = unique_labels(
            {code: str(text) for code, text in values.items()},
            limits["value"],
            in_bytes=limits["in_bytes"],
        )
        name = names[variable.name]
        columns.append(StatColumn(name, variable, labels[name], values))
    return columns


def _stat_file(campaign: Campaign, fmt: str, *, include_in_progress: bool = False) -> bytes:
    try:
        import pandas as pd
        import pyreadstat
    except ImportError as error:  # pyreadstat writes only from a pandas (or polars) frame
        raise ExportUnavailable(
            _("SPSS and Stata exports need the pandas package, which is not installed.")
        ) from error

    all_vars, rows, _structure = wide_rows(campaign, include_in_progress=include_in_progress)
    columns = stat_columns(all_vars, fmt)
    frame = {}
    for column in columns:
        data = [row[column.variable.name] for row in rows]
        if not column.variable.numeric:
            frame[column.name] = pd.Series(
                ["" if v is None else str(v) for v in data], dtype=object
            )
        elif fmt == "dta" and any(isinstance(v, MissingKind) for v in data):
            # Stata's missing values are letters (.a, .b) in a numeric column.
            frame[column.name] = pd.Series(
                [
                    v.stata if isinstance(v, MissingKind) else (float("nan") if v is None else v)
                    for v in data
                ],
                dtype=object,
            )
        else:
            frame[column.name] = pd.Series(
                [
                    float("nan") if v is None else float(_code_cell(column.variable, v))
                    for v in data
                ],
                dtype="float64",
            )
    labels = {c.name: c.label for c in columns}
    value_labels = {}
    missing = {}
    for column in columns:
        if not column.variable.numeric:
            continue
        if fmt == "dta":
            stata = {column.variable.missing_code(k): k.stata for k in MISSING_KINDS}
            values = {stata.get(code, code): text for code, text in column.value_labels.items()}
            if column.variable.missing:
                missing[column.name] = [k.stata for k in MISSING_KINDS]
        else:
            values = {float(code): text for code, text in column.value_labels.items()}
            if column.variable.missing:
                missing[column.name] = list(column.variable.missing)
        if values:
            value_labels[column.name] = values
    fd, path = tempfile.mkstemp(suffix=f".{fmt}")
    os.close(fd)
    try:
        if fmt == "sav":
            pyreadstat.write_sav(
                pd.DataFrame(frame),
                path,
                column_labels=labels,
                variable_value_labels=value_labels,
                missing_ranges=missing,
            )
        else:
            pyreadstat.write_dta(
                pd.DataFrame(frame),
                path,
                column_labels=labels,
                variable_value_labels=value_labels,
                missing_user_values=missing,
            )
        with open(path, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(path)


# --- Data CSV with R or SPSS syntax ---------------------------------------------------
def data_cells(columns: list[StatColumn], rows: list[dict]) -> list[list[str]]:
    """The data CSV's cells: numeric codes (-8/-9 for missing), texts on one line."""
    table = []
    for row in rows:
        line = []
        for column in columns:
            value = row[column.variable.name]
            if column.variable.numeric:
                value = _code_cell(column.variable, value)
                line.append("" if value is None else _number_text(value))
            else:
                line.append(safe_cell(" ".join(str(value or "").split())))
        table.append(line)
    return table


def data_csv(columns: list[StatColumn], table: list[list[str]]) -> bytes:
    """Comma-separated, UTF-8 without BOM, one row per response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([c.name for c in columns])
    writer.writerows(table)
    return buffer.getvalue().encode("utf-8")


def _number_text(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def _r_string(text: Any) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sps_string(text: Any) -> str:
    return "'" + " ".join(str(text).split()).replace("'", "''") + "'"


def _header_lines(campaign: Campaign, comment: str) -> list[str]:
    today = timezone.localdate().strftime("%d/%m/%Y")
    lines = [
        _("%(title)s: generated on %(date)s by ONCO-HDF.")
        % {"title": campaign.title, "date": today},
        _(
            "Missing values: %(asked)d = not asked (the branching hid the question), "
            "%(answered)d = not answered (shown, left empty); a number question that could "
            "take these values uses %(wide_asked)d and %(wide_answered)d (see the codebook). "
            "An empty rank: the item is not in the respondent's ranking."
        )
        % {
            "asked": MISSING_CODES[0],
            "answered": MISSING_CODES[1],
            "wide_asked": WIDE_MISSING_CODES[0],
            "wide_answered": WIDE_MISSING_CODES[1],
        },
    ]
    return [f"{comment} {line}" for line in lines]


def r_syntax(campaign: Campaign, columns: list[StatColumn], data_file: str) -> str:
    """Base R (no package): reads the CSV, labels the variables, turns coded answers into
    factors and missing codes into NA, the reason kept in the data frame ``manquants``."""
    r_classes = ", ".join(
        f"{_r_string(c.name)} = {_r_string('numeric' if c.variable.numeric else 'character')}"
        for c in columns
    )
    lines = [
        *_header_lines(campaign, "#"),
        "# " + _("Run it from the folder of the files (setwd) or change the path below."),
        "",
        f'donnees <- read.csv({_r_string(data_file)}, fileEncoding = "UTF-8",',
        '                    check.names = FALSE, na.strings = "",',
        f"                    colClasses = c({r_classes}))",
        "",
        "etiquettes <- c(",
        ",\n".join(f"  {_r_string(c.name)} = {_r_string(c.label)}" for c in columns),
        ")",
        'for (v in names(etiquettes)) attr(donnees[[v]], "label") <- etiquettes[[v]]',
        "",
        "codes_manquants <- list(",
        ",\n".join(
            f"  {_r_string(c.name)} = c("
            + ", ".join(
                f"{_r_string(kind.label)} = {c.variable.missing_code(kind)}"
                for kind in MISSING_KINDS
            )
            + ")"
            for c in columns
            if c.variable.missing
        ),
        ")",
        "manquants <- data.frame(row.names = seq_len(nrow(donnees)))",
        "for (v in names(codes_manquants)) {",
        "  codes <- codes_manquants[[v]]",
        "  manquants[[v]] <- factor(donnees[[v]], levels = codes, labels = names(codes))",
        "  donnees[[v]][donnees[[v]] %in% codes] <- NA",
        "}",
        "",
        "valeurs <- list(",
        ",\n".join(
            f"  {_r_string(c.name)} = c("
            + ", ".join(
                f"{_r_string(text)} = {code}"
                for code, text in (c.variable.value_labels or {}).items()
            )
            + ")"
            for c in columns
            if c.variable.value_labels
        ),
        ")",
        "for (v in names(valeurs)) {",
        '  label <- attr(donnees[[v]], "label")',
        "  codes <- valeurs[[v]]",
        "  donnees[[v]] <- factor(donnees[[v]], levels = codes, labels = names(codes))",
        '  attr(donnees[[v]], "label") <- label',
        "}",
        "",
    ]
    return "\n".join(lines)


def _sps_format(index: int, column: StatColumn, table: list[list[str]]) -> str:
    variable = column.variable
    if not variable.numeric:
        width = max((len(line[index].encode()) for line in table), default=1)
        return f"A{max(width, 1)}"
    return "F8.0" if variable.value_labels or variable.name == "response_id" else "F16.4"


def sps_syntax(
    campaign: Campaign, columns: list[StatColumn], table: list[list[str]], data_file: str
) -> str:
    """SPSS (and PSPP) syntax: reads the CSV, variable and value labels, missing values."""
    lines = [
        "* Encoding: UTF-8.",
        *(f"{line}." for line in _header_lines(campaign, "*")),
        "* " + _("Run it from the folder of the files (CD) or change the path below.") + ".",
        "",
        "GET DATA /TYPE=TXT",
        f"  /FILE={_sps_string(data_file)}",
        "  /ENCODING='UTF8'",
        "  /ARRANGEMENT=DELIMITED",
        '  /DELIMITERS=","',
        "  /QUALIFIER='\"'",
        "  /FIRSTCASE=2",
        "  /VARIABLES=",
        *(f"    {c.name} {_sps_format(i, c, table)}" for i, c in enumerate(columns)),
        ".",
        "",
        "VARIABLE LABELS",
        "\n".join(
            f"  {'/' if i else ''}{c.name} {_sps_string(c.label)}" for i, c in enumerate(columns)
        ),
        ".",
        "",
    ]
    labelled = [c for c in columns if c.variable.numeric and c.value_labels]
    if labelled:
        lines.append("VALUE LABELS")
        for i, column in enumerate(labelled):
            pairs = " ".join(
                f"{code} {_sps_string(text)}" for code, text in column.value_labels.items()
            )
            lines.append(f"  {'/' if i else ''}{column.name} {pairs}")
        lines += [".", ""]
    by_codes: dict[tuple[int, int], list[str]] = {}
    for column in columns:
        if column.variable.missing:
            by_codes.setdefault(column.variable.missing, []).append(column.name)
    for codes, names in by_codes.items():
        lines.append("MISSING VALUES " + " ".join(names) + f" ({codes[0]}, {codes[1]}).")
    lines += ["EXECUTE.", ""]
    return "\n".join(lines)


def _syntax_zip(campaign: Campaign, kind: str, *, include_in_progress: bool = False) -> bytes:
    all_vars, rows, _structure = wide_rows(campaign, include_in_progress=include_in_progress)
    columns = stat_columns(all_vars, "sav")
    slug = file_slug(campaign)
    data_file = f"{slug}-donnees.csv"
    table = data_cells(columns, rows)
    if kind == "r":
        script, script_name = r_syntax(campaign, columns, data_file), f"{slug}.R"
    else:
        script, script_name = sps_syntax(campaign, columns, table, data_file), f"{slug}.sps"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(data_file, data_csv(columns, table))
        archive.writestr(script_name, script.encode("utf-8"))
        archive.writestr(f"{slug}-dictionnaire.csv", export_codebook(campaign))
    return buffer.getvalue()


CONTENT_TYPES = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "long": ("text/csv; charset=utf-8", "csv"),
    "codebook": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "sav": ("application/x-spss-sav", "sav"),
    "dta": ("application/x-stata-dta", "dta"),
    "r": ("application/zip", "zip"),
    "sps": ("application/zip", "zip"),
}
SUFFIX = {
    "csv": "reponses",
    "long": "reponses-long",
    "codebook": "dictionnaire",
    "xlsx": "reponses",
    "sav": "reponses",
    "dta": "reponses",
    "r": "r",
    "sps": "spss",
}
BUILDERS = {
    "csv": export_csv,
    "xlsx": export_xlsx,
    "long": export_long,
    "codebook": export_codebook,
    "sav": lambda c, **o: _stat_file(c, "sav", **o),
    "dta": lambda c, **o: _stat_file(c, "dta", **o),
    "r": lambda c, **o: _syntax_zip(c, "r", **o),
    "sps": lambda c, **o: _syntax_zip(c, "sps", **o),
}


def file_slug(campaign: Campaign) -> str:
    return slugify(campaign.title)[:50].strip("-") or "enquete"  # "Enquête" -> "enquete"


def export(
    campaign: Campaign, fmt: str, *, include_in_progress: bool = False
) -> tuple[bytes, str, str]:
    content_type, extension = CONTENT_TYPES[fmt]
    content = BUILDERS[fmt](campaign, include_in_progress=include_in_progress)
    with_in_progress = include_in_progress and fmt != "codebook"  # no data in a codebook
    suffix = SUFFIX[fmt] + ("-avec-en-cours" if with_in_progress else "")
    return content, content_type, f"{file_slug(campaign)}-{suffix}.{extension}"
