"""REDCap data dictionaries and LimeSurvey .lss files in (and REDCap out), on the real files of
shared/data/survey-imports: the facts its README lists, the preview, the round trip."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from surveys import rules
from surveys.interop import ImportFormatError, convert_upload
from surveys.interop.redcap import (
    BRANCHING,
    CHOICES,
    FORM,
    LABEL,
    MATRIX,
    NAME,
    REQUIRED,
    TYPE,
    dictionary_to_questionnaire,
    questionnaire_to_dictionary,
)
from surveys.models import Question, QuestionType
from surveys.services import questionnaire_import, validate_questionnaire_dict, version_to_dict
from tests.conftest import login
from tests.requirements import need_shared_data

REDCAP_API = "redcapAPI_TestRedcapAPI_DataDictionary.csv"
CCC19 = "CCC19_DataDictionary.csv"
CENSUS = "ls2_group_relevance.lss"
RANDOM = "Randomization_Group_Test.lss"


def load(name: str):
    path = need_shared_data("survey-imports", name)
    conversion = convert_upload(name, path.read_bytes())
    validate_questionnaire_dict(conversion.data)  # what the preview confirms is importable
    return conversion


def questions(conversion) -> dict[str, dict]:
    return {q["code"]: q for s in conversion.data["sections"] for q in s["questions"]}


def test_redcap_api_dictionary_facts():
    conversion = load(REDCAP_API)
    q = questions(conversion)
    assert q["checkbox_test"]["type"] == QuestionType.MULTIPLE
    assert q["checkbox_test"]["options"] == [["x", "Guitar"], ["y", "Ukulele"], ["z", "Mandolin"]]
    assert [c for c, _ in q["prereq_checkbox"]["options"]] == ["1", "2", "ABC", "4"]
    assert q["one_prereq_checkbox"]["type"] == QuestionType.DATE
    assert q["one_prereq_checkbox"]["show_if"] == {
        "q": "prereq_checkbox", "op": "equals", "value": "ABC"
    }  # fmt: skip
    three = q["three_prereq_andor"]
    assert three["type"] == QuestionType.SINGLE and len(three["options"]) == 5
    assert three["show_if"] == {
        "any": [
            {"all": [{"q": "prereq_radio", "op": "equals", "value": "2"},
                     {"q": "prereq_yesno", "op": "equals", "value": "no"}]},
            {"q": "prereq_checkbox", "op": "equals", "value": "2"},
        ]
    }  # fmt: skip
    assert conversion.declared("three_prereq_andor", "alignment")  # RH
    # A date comparison has no equivalent: declared, and the question is shown always.
    assert "show_if" not in q["two_prereq_or"]
    assert conversion.declared("two_prereq_or", "branching")
    assert q["slider_text_label_test"]["type"] == QuestionType.RATING
    slider_note = [n.message for n in conversion.notes if n.item == "slider_text_label_test"]
    assert any("Not a Fan |  | Obsessed" in m for m in slider_note)
    # Calculated fields come in with their formula (tests/surveys/test_calculated.py); the
    # section header of calc_squared heads the section it opens.
    assert q["calc_squared"]["type"] == QuestionType.CALCULATED
    assert "New Section Example - All Variable Types Below" in [
        s["title"] for s in conversion.data["sections"]
    ]
    assert "Prerequisites" in [s["title"] for s in conversion.data["sections"]]
    dates = [s for s in conversion.data["sections"] if s["code"].startswith("dates_and_times")]
    assert "date_dmy_test" in [x["code"] for s in dates for x in s["questions"]]
    assert q["date_dmy_test"]["type"] == QuestionType.DATE
    assert q["integer_test"]["type"] == QuestionType.INTEGER
    # 57 fields: each one is a question or is declared not carried over.
    carried = set(q)
    dropped = {n.item for n in conversion.notes if n.aspect == "all"}
    assert len(carried) + len(dropped) == 57


def test_ccc19_dictionary_facts():
    conversion = load(CCC19)
    q = questions(conversion)
    cbc = q["cbc"]
    assert cbc["type"] == QuestionType.MATRIX
    assert [r for r, _ in cbc["rows"]] == [
        "wbc_range", "alc_range", "anc_range", "aec_range", "hgb_range", "plt_range"
    ]  # fmt: skip
    assert cbc["options"] == [["LO", "Low"], ["WNL", "Normal"], ["HI", "High"],
                              ["NT", "Not tested"], ["99", "Unknown"]]  # fmt: skip
    # The matrix group "labs" shares its name with the radio field "labs": renamed, declared.
    assert q["labs"]["type"] == QuestionType.SINGLE
    assert [c for c, _ in q["labs"]["options"]] == ["1", "2a", "2b", "3", "OTH", "UNK"]
    labs_matrix = q["labs_2"]
    assert len(labs_matrix["rows"]) == 15 and labs_matrix["rows"][0][0] == "creat"
    assert conversion.declared("labs", "matrix_name")
    expected = {
        "all": [
            {"any": [{"q": "covid_19_more", "op": "equals", "value": "yes"},
                     {"q": "ccc19", "op": "equals", "value": "yes"}]},
            {"q": "labs", "op": "not_equals", "value": "3"},
        ]
    }  # fmt: skip
    assert cbc["show_if"] == expected and labs_matrix["show_if"] == expected
    symptoms = q["symptoms"]
    assert symptoms["type"] == QuestionType.MULTIPLE and symptoms["required"] is True
    assert len(symptoms["options"]) == 23
    assert symptoms["options"][0] == ["367391008", "Fatigue/Malaise"]
    assert ["OTH", "Other"] in symptoms["options"]
    assert conversion.declared("symptoms", "annotation")  # @NONEOFTHEABOVE
    # A choice code with a hyphen: written with an underscore, and the rule follows it.
    assert q["steroid_type"]["show_if"] == {
        "q": "covid_19_treatment", "op": "equals", "value": "HO_45523"
    }  # fmt: skip
    assert [c for c, _ in q["covid_19_treatment"]["options"] if c == "HO_45523"] == ["HO_45523"]
    assert conversion.declared("covid_19_treatment", "choice_code")
    assert q["ccc19"]["type"] == QuestionType.YES_NO and q["ccc19"]["required"] is True
    assert q["ccc19"]["show_if"] == {"q": "inclusion_yn", "op": "equals", "value": "yes"}
    with_rules = sum(1 for x in q.values() if x.get("show_if"))
    assert with_rules >= 250  # of 278: the rest are declared one by one
    untranslated = {n.item for n in conversion.notes if n.aspect == "branching"}
    assert with_rules + len(untranslated) >= 250


def test_census_lss_facts():
    conversion = load(CENSUS)
    sections = {s["title"]: s for s in conversion.data["sections"]}
    assert list(sections)[:2] == ["Initial Questions", "Person 1"]
    q = questions(conversion)
    assert [c for c, _ in q["p1_rel"]["options"]] == [str(i) for i in range(1, 12)]
    assert [label for _, label in q["p1_rel"]["options"]][:2] == ["Spouse", "Parent"]
    assert q["p1_rel"]["options"][-1] == ["11", "Employee"]
    age = q["age"]
    assert age["required"] is True and (age["min_value"], age["max_value"]) == (18.0, 65.0)
    assert q["cohabs"]["type"] == QuestionType.INTEGER
    assert q["cohabs"]["show_if"] == {"not": {"q": "age", "op": "not_answered"}}
    # Group "Person 2": cohabs>1 && p1_rel != "" and-ed into each of its questions.
    group_rule = {"all": [{"q": "cohabs", "op": "gt", "value": 1.0},
                          {"q": "p1_rel", "op": "answered"}]}  # fmt: skip
    assert q["p2_sex"]["show_if"] == group_rule
    assert q["p2_name"]["show_if"]["all"][0] == group_rule
    assert q["p1_name"]["label"] == "What is {if (p1_sex == 'M' , 'his' , 'her')} name?"
    assert conversion.declared("p1_name", "tailoring")
    assert conversion.declared("group Finished", "relevance")  # count(...) == cohabs
    # The rules work as in LimeSurvey: person 2 appears only with 2+ people and p1_rel given.
    order = [(code, x.get("show_if")) for code, x in q.items()]
    base = {"name": "A", "gender": "F", "age": 30, "p1_sex": "M", "p1_name": "B"}
    assert "p2_sex" not in rules.visible_codes(order, {**base, "cohabs": 1, "p1_rel": "1"})
    assert "p2_sex" in rules.visible_codes(order, {**base, "cohabs": 2, "p1_rel": "1"})
    assert "p2_sex" not in rules.visible_codes(order, {**base, "cohabs": 2})


def test_randomization_lss_facts_in_both_languages():
    conversion = load(RANDOM)
    assert conversion.data["title"] == "Enquête test groupe de randomisation"
    titles = [s["title"] for s in conversion.data["sections"]]
    assert titles == ["Groupe A", "Groupe B", "Groupe C"]
    q = questions(conversion)
    assert q["Q4"]["type"] == QuestionType.SINGLE
    assert q["Q4"]["options"] == [
        ["A1", "Certains option de réponse par exemple"],
        ["A2", "Nouvelle option de réponse"],
    ]
    assert q["Q4"]["label_en"] and q["Q4"]["label"] != q["Q4"]["label_en"]
    q8 = q["Q8"]
    assert [r for r, _ in q8["rows"]] == ["SQ001", "SQ002"]
    assert [c for c, _ in q8["options"]] == ["SQ001"]
    groups = {
        "Group1": ["Q1", "Q4", "Q7"],
        "Group2": ["Q2", "Q5", "Q8"],
        "Group3": ["Q3", "Q6", "Q9"],
    }
    for group, codes in groups.items():
        for code in codes:
            assert any(
                n.item == code and n.aspect == "randomization" and group in n.message
                for n in conversion.notes
            ), code
    assert not any(n.aspect == "language" for n in conversion.notes)  # fr and en both carried


def test_bad_files_get_a_clear_message():
    with pytest.raises(ImportFormatError, match="REDCap"):
        convert_upload("x.csv", b"a,b,c\n1,2,3\n")
    with pytest.raises(ImportFormatError, match="XML"):
        convert_upload("x.lss", b"<document><oops")
    with pytest.raises(ImportFormatError, match="DTD"):
        convert_upload("x.lss", b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "b">]><document/>')
    with pytest.raises(ImportFormatError):
        convert_upload("x.txt", b"hello")


def _fields(text: str) -> dict[str, list[str]]:
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))[1:]
    return {r[NAME]: r + [""] * (18 - len(r)) for r in rows if r and r[NAME]}


@pytest.mark.parametrize("name", [REDCAP_API, CCC19])
@pytest.mark.django_db
def test_redcap_round_trip_gives_the_same_dictionary_up_to_what_the_preview_declared(name):
    path = need_shared_data("survey-imports", name)
    original = _fields(path.read_text(encoding="utf-8-sig"))
    conversion = dictionary_to_questionnaire(path.read_bytes())
    version = questionnaire_import(data=conversion.data)
    exported = _fields(questionnaire_to_dictionary(version_to_dict(version)))
    again = dictionary_to_questionnaire(
        questionnaire_to_dictionary(version_to_dict(version)).encode()
    )
    compared = 0
    for field, row in original.items():
        if conversion.declared(field, "all") or conversion.declared(field, "name"):
            assert field not in exported or conversion.declared(field, "name")
            continue
        out = exported[field]
        assert out[FORM] == row[FORM], field
        assert out[LABEL] == " ".join(row[LABEL].split()) or "<" in row[LABEL], field
        assert (out[REQUIRED] == "y") == (row[REQUIRED].strip().lower() == "y") or row[MATRIX]
        if not conversion.declared(field, "type"):
            assert out[TYPE] == row[TYPE], field
        if row[TYPE] in ("radio", "checkbox", "dropdown") and not conversion.declared(
            field, "choice_code"
        ):
            assert [c.split(",")[0].strip() for c in out[CHOICES].split("|")] == [
                c.split(",")[0].strip() for c in row[CHOICES].split("|") if c.strip()
            ], field
        if not row[MATRIX] or not conversion.declared(row[MATRIX], "matrix_name"):
            assert out[MATRIX] == row[MATRIX], field
        if row[BRANCHING].strip() and not conversion.declared(field, "branching"):
            assert out[BRANCHING], field
        compared += 1
    assert compared >= (40 if name == REDCAP_API else 250)
    # Exported branching means the same rules when read back.
    first, second = questions(conversion), questions(again)
    for code, question in first.items():
        assert second[code].get("show_if") == question.get("show_if"), code


@pytest.mark.django_db
def test_import_preview_then_draft(pm):
    client = login(pm)
    path = need_shared_data("survey-imports", CENSUS)
    with path.open("rb") as upload:
        page = client.post(reverse("surveys:questionnaire-import"), {"file": upload})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Aperçu de l’import" in text or "Aperçu de l'import" in text
    assert "count(p1_rel.NAOK" in text  # what is not carried over, and why
    assert not Question.objects.exists()  # nothing written before the confirmation
    payload = page.context["payload"]
    done = client.post(reverse("surveys:questionnaire-import"), {"payload": payload})
    assert done.status_code == 302
    assert Question.objects.filter(code="p1_rel").get().choices.count() == 11
    tampered = client.post(reverse("surveys:questionnaire-import"), {"payload": payload + "x"})
    assert tampered.status_code == 302
    assert Question.objects.filter(code="p1_rel").count() == 1


@pytest.mark.django_db
def test_redcap_export_of_a_version(pm):
    path = need_shared_data("survey-imports", REDCAP_API)
    version = questionnaire_import(data=dictionary_to_questionnaire(path.read_bytes()).data)
    client = login(pm)
    response = client.get(reverse("surveys:version-export", args=[version.pk]) + "?format=redcap")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().startswith("Variable / Field Name,Form Name,")
    assert "checkbox_test" in _fields(response.content.decode())
