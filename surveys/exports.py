"""Exports of a campaign: wide CSV/XLSX, long CSV, codebook, SPSS .sav and Stata .dta.

One list of variables (:func:`variables`) drives every wide format, so the columns of the
CSV, the spreadsheet and the statistics files are the same. Text cells that a spreadsheet
would run as a formula are neutralised by :func:`safe_cell`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
}


@dataclass
class Variable:
    name: str
    label: str
    numeric: bool
    extract: Callable[[Any, str], Any]
    value_labels: dict | None = None  # numeric code → label (SPSS/Stata)
    codes: list[str] | None = None  # choice codes in value-label order


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
                            None if v is None else int(c in (v.get(r) or []))
                        ),
                        value_labels=yes_no,
                    )
                )
    elif qtype == QuestionType.RANKING:
        for c in codes:
            found.append(
                Variable(
                    f"{code}__{c}",
                    f"{label} — {labels[c]} ({_('rank')})",
                    True,
                    lambda v, o, c=c: (v.index(c) + 1 if c in v else None) if v else None,
                )
            )
    else:
        found.append(Variable(code, label, False, lambda v, o: "" if v is None else str(v)))
    if question.allow_other and qtype in OTHER_TYPES:
        found.append(
            Variable(
                f"{code}_other", f"{label} — {_('other, specify')}", False, lambda v, o: o or ""
            )
        )
    return found


def variables(structure: Structure) -> list[Variable]:
    base = [
        Variable("response_id", _("Response"), True, lambda v, o: v),
        Variable("centre", _("Centre"), False, lambda v, o: v),
        Variable("sector", _("Sector"), False, lambda v, o: v),
        Variable("departement", _("Département"), False, lambda v, o: v),
        Variable("submitted_at", _("Submitted at"), False, lambda v, o: v),
    ]
    return base + [v for q in structure.questions for v in question_variables(q)]


def wide_rows(campaign: Campaign) -> tuple[list[Variable], list[dict], Structure]:
    data = campaign_results(campaign, with_charts=False)
    structure = data.structure
    all_vars = variables(structure)
    owners = {}
    for question in structure.questions:
        for variable in question_variables(question):
            owners[variable.name] = question
    rows = []
    for response in data.responses:
        values, others = data.values[response.pk]
        visible = data.visible[response.pk]
        row = {
            "response_id": response.pk,
            "centre": response.centre.name,
            "sector": response.centre.get_sector_display(),
            "departement": response.centre.departement,
            "submitted_at": response.submitted_at.strftime("%Y-%m-%d %H:%M")
            if response.submitted_at
            else "",
        }
        for variable in all_vars[5:]:
            question = owners[variable.name]
            value = (
                answers.json_value(values.get(question.code)) if question.code in visible else None
            )
            row[variable.name] = variable.extract(value, others.get(question.code, ""))
        rows.append(row)
    return all_vars, rows, structure


def _label_of(variable: Variable, value: Any) -> str:
    if variable.value_labels is None or value is None or variable.codes is None:
        return ""
    return variable.value_labels.get(value, "")


def _wide_table(campaign: Campaign) -> tuple[list[str], list[list]]:
    """Header and rows with codes and labels (a label column after each coded choice)."""
    all_vars, rows, _structure = wide_rows(campaign)
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
                line.append(variable.codes[value - 1] if value else "")
                line.append(_label_of(variable, value))
            else:
                line.append("" if value is None else value)
        table.append([safe_cell(cell) for cell in line])
    return header, table


def _csv(header: list[str], table: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows(table)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def export_csv(campaign: Campaign) -> bytes:
    return _csv(*_wide_table(campaign))


def export_xlsx(campaign: Campaign) -> bytes:
    from openpyxl import Workbook

    header, table = _wide_table(campaign)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Responses")[:31]
    sheet.append([safe_cell(h) for h in header])
    for line in table:
        sheet.append(line)
    codebook = workbook.create_sheet(_("Codebook")[:31])
    for line in codebook_rows(campaign):
        codebook.append([safe_cell(c) for c in line])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_long(campaign: Campaign) -> bytes:
    data = campaign_results(campaign, with_charts=False)
    header = ["response_id", "centre", "question", "row", "item", "value", "label", "other"]
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


RULE_WORDS = {
    "and": "ET",
    "or": "OU",
    "not": "NON",
    "answered": "répondu",
    "not_answered": "non répondu",
}


def codebook_rows(campaign: Campaign) -> list[list]:
    from surveys.selectors import version_structure

    structure = version_structure(campaign.version)
    rows = [
        [
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
        ]
    ]
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
                    ]
                )
    return rows


def export_codebook(campaign: Campaign) -> bytes:
    rows = codebook_rows(campaign)
    return _csv(rows[0], [[safe_cell(c) for c in row] for row in rows[1:]])


def _stat_name(name: str, used: set[str], limit: int) -> str:
    """A variable name the statistics package accepts (length, characters), unique."""
    clean = re.sub(r"[^A-Za-z0-9_]", "_", name)[:limit]
    candidate, n = clean, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{clean[: limit - len(str(n)) - 1]}_{n}"
    used.add(candidate.lower())
    return candidate


class ExportUnavailable(Exception):
    """The export cannot be produced on this installation (the message says why, in French)."""


def _stat_file(campaign: Campaign, fmt: str) -> bytes:
    try:
        import pandas as pd
        import pyreadstat
    except ImportError as error:  # pyreadstat writes only from a pandas (or polars) frame
        raise ExportUnavailable(
            _("SPSS and Stata exports need the pandas package, which is not installed.")
        ) from error

    all_vars, rows, _structure = wide_rows(campaign)
    limit = 32 if fmt == "dta" else 64
    used: set[str] = set()
    names = {v.name: _stat_name(v.name, used, limit) for v in all_vars}
    columns = {}
    for variable in all_vars:
        data = [row[variable.name] for row in rows]
        if variable.numeric:
            columns[names[variable.name]] = pd.Series(
                [float("nan") if v is None else float(v) for v in data], dtype="float64"
            )
        else:
            columns[names[variable.name]] = pd.Series(
                ["" if v is None else str(v) for v in data], dtype="object"
            )
    frame = pd.DataFrame(columns)
    labels = {names[v.name]: v.label[:80] if fmt == "dta" else v.label for v in all_vars}
    value_labels = {
        names[v.name]: {float(k): str(lab) for k, lab in v.value_labels.items()}
        for v in all_vars
        if v.value_labels
    }
    fd, path = tempfile.mkstemp(suffix=f".{fmt}")
    os.close(fd)
    try:
        if fmt == "sav":
            pyreadstat.write_sav(
                frame, path, column_labels=labels, variable_value_labels=value_labels
            )
        else:
            pyreadstat.write_dta(
                frame, path, column_labels=labels, variable_value_labels=value_labels
            )
        with open(path, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(path)


CONTENT_TYPES = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    "long": ("text/csv; charset=utf-8", "csv"),
    "codebook": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "sav": ("application/x-spss-sav", "sav"),
    "dta": ("application/x-stata-dta", "dta"),
}
SUFFIX = {
    "csv": "reponses",
    "long": "reponses-long",
    "codebook": "dictionnaire",
    "xlsx": "reponses",
    "sav": "reponses",
    "dta": "reponses",
}


def export(campaign: Campaign, fmt: str) -> tuple[bytes, str, str]:
    builders = {
        "csv": export_csv,
        "xlsx": export_xlsx,
        "long": export_long,
        "codebook": export_codebook,
        "sav": lambda c: _stat_file(c, "sav"),
        "dta": lambda c: _stat_file(c, "dta"),
    }
    content_type, extension = CONTENT_TYPES[fmt]
    slug = slugify(campaign.title)[:50].strip("-") or "enquete"  # "Enquête" -> "enquete"
    return builders[fmt](campaign), content_type, f"{slug}-{SUFFIX[fmt]}.{extension}"
