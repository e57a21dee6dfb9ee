"""Exports parsed back: wide CSV, XLSX, long CSV, codebook, SPSS and Stata files."""

import csv
import io
import os
import tempfile

import pytest
from openpyxl import load_workbook

from surveys import exports
from tests.conftest import login

pytestmark = pytest.mark.django_db


def read_csv(content: bytes) -> list[dict]:
    text = content.decode("utf-8").lstrip("\ufeff")
    return list(csv.DictReader(io.StringIO(text), delimiter=";"))


def by_centre(rows, key="centre"):
    return {row[key][:8]: row for row in rows}


@pytest.mark.parametrize("value", ["=1+1", "+33", "-2", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(value):
    assert exports.safe_cell(value) == "'" + value
    assert exports.safe_cell("Texte") == "Texte"
    assert exports.safe_cell(-2) == -2


def test_wide_csv_has_codes_labels_and_missing_codes_for_hidden_answers(dataset):
    rows = by_centre(read_csv(exports.export_csv(dataset)))
    assert set(rows) == {"Centre A", "Centre B", "Centre C"}
    a, b = rows["Centre A"], rows["Centre B"]
    assert (a["Q1"], a["Q1_label"], a["Q2"]) == ("a", "Oui", "42.0")
    assert b["Q2"] == "-8" and b["RT"] == "-8"  # hidden for B: not asked
    assert b["Q2"] != "'-8"  # a number, not a text neutralised as a formula
    assert (a["Q3__x"], a["Q3__y"], a["Q3__other"], a["Q3_other"]) == ("1", "0", "1", "Maison")
    assert (a["M1__r1"], a["M1__r1_label"]) == ("c3", "Plutôt")
    assert (a["MM__orl__ctv"], a["MM__sein__ctv"]) == ("1", "0")
    assert (a["R1__t"], a["R1__p"], a["R1__c"]) == ("1", "2", "")
    assert a["D1"] == "2024-03-15" and a["MO1"] == "2023-05"
    assert b["Q4"] == '\'=HYPERLINK("x")'
    assert b["T1"] == "'-rm tout"


def test_xlsx_matches_the_csv(dataset):
    workbook = load_workbook(io.BytesIO(exports.export_xlsx(dataset)))
    sheet = workbook.worksheets[0]
    values = list(sheet.values)
    header = list(values[0])
    rows = {
        row[header.index("centre")][:8]: dict(zip(header, row, strict=True)) for row in values[1:]
    }
    assert rows["Centre A"]["Q2"] == 42
    assert rows["Centre A"]["Q1_label"] == "Oui"
    assert rows["Centre B"]["Q4"] == '\'=HYPERLINK("x")'
    assert workbook.worksheets[1].title == "Dictionnaire des variables"
    csv_rows = read_csv(exports.export_csv(dataset))
    assert header == list(csv_rows[0].keys())


def test_long_format_one_row_per_atomic_answer(dataset):
    rows = read_csv(exports.export_long(dataset))
    a_q3 = [r for r in rows if r["centre"].startswith("Centre A") and r["question"] == "Q3"]
    assert {(r["item"], r["label"]) for r in a_q3} == {("x", "Xa"), ("other", "Autre")}
    ranks = [
        (r["item"], r["value"])
        for r in rows
        if r["centre"].startswith("Centre C") and r["question"] == "R1"
    ]
    assert ranks == [("t", "1"), ("c", "2")]
    assert not [r for r in rows if r["centre"].startswith("Centre B") and r["question"] == "Q2"]


def test_codebook_lists_variables_types_choices_and_rules(dataset):
    rows = {r["variable"]: r for r in read_csv(exports.export_codebook(dataset))}
    assert rows["Q1"]["choices"] == "a=Oui; b=Non; c=En projet"
    assert rows["Q2"]["show_if"] == "Q1 = a" and rows["Q2"]["unit"] == "%"
    assert rows["RT"]["show_if"] == "NON (Q1 ∈ {b, c})"
    assert rows["M1__r2"]["type"] == "Matrice (lignes × un choix par ligne)"


def _read_stat(content: bytes, suffix: str):
    import pyreadstat

    fd, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    try:
        reader = pyreadstat.read_sav if suffix == ".sav" else pyreadstat.read_dta
        return reader(path)
    finally:
        os.unlink(path)


@pytest.mark.parametrize("fmt", ["sav", "dta"])
def test_spss_and_stata_files_have_values_and_value_labels(dataset, fmt):
    frame, meta = _read_stat(exports.export(dataset, fmt)[0], f".{fmt}")
    assert len(frame) == 3
    rows = {row["centre"][:8]: row for row in frame.to_dict("records")}
    assert rows["Centre A"]["Q1"] == 1 and rows["Centre B"]["Q1"] == 2
    assert rows["Centre C"]["Q2"] == 58
    labels = meta.variable_value_labels["Q1"]
    valid = {int(k): v for k, v in labels.items() if not isinstance(k, str) and k > 0}
    assert valid == {1: "Oui", 2: "Non", 3: "En projet"}  # and the missing codes' labels
    assert meta.column_names_to_labels["Q2"] == "Part des patients"


def test_export_views_send_files(dataset, pm):
    client = login(pm)
    for fmt in exports.FORMATS:
        response = client.get(f"/enquetes/campagnes/{dataset.pk}/export/{fmt}/")
        assert response.status_code == 200, fmt
        assert "attachment" in response["Content-Disposition"]
    assert client.get(f"/enquetes/campagnes/{dataset.pk}/export/pdf/").status_code == 404


def test_piped_labels_read_plainly_outside_a_response(dataset):
    rows = {r["variable"]: r for r in read_csv(exports.export_codebook(dataset))}
    assert rows["Q3__x"]["label"] == "Solutions de (réponse à Q1) — Xa"


def test_missing_pandas_gives_a_message_not_a_500(dataset, pm, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    page = login(pm).get(f"/enquetes/campagnes/{dataset.pk}/export/sav/", follow=True)
    assert page.status_code == 200
    assert "nécessitent le paquet pandas" in page.content.decode()
