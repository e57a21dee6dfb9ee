"""Calculated fields: one formula reader (surveys.interop.expressions) and one evaluator
(surveys.rules.compute), the value stored with the response and exported as a number,
REDCap ``calc`` fields in and out."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from surveys import rules
from surveys.exports import export_csv
from surveys.interop.expressions import Translator, Unsupported, formula_text, resolver
from surveys.interop.redcap import (
    CHOICES,
    NAME,
    TYPE,
    dictionary_to_questionnaire,
    questionnaire_to_dictionary,
)
from surveys.models import Question, Response
from surveys.services import SurveyError, questionnaire_import, version_to_dict
from tests.conftest import login
from tests.requirements import need_shared_data
from tests.surveys.factories import (
    FULL_S1,
    CampaignFactory,
    invite,
    published_version,
    questionnaire_data,
)

READER = Translator(resolve=resolver({c: {"q": c} for c in ("a", "b", "m", "y")}))
ANSWERS = {"a": 6.0, "b": 0.0, "m": ["x", "z"], "y": "yes"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("[a] + [b] * 2", 6.0),
        ("([a] - 1) * 2", 10.0),
        ("[a]-1", 5.0),
        ("-[a] / 4", -1.5),
        ("([a])^2", 36.0),
        ("[m]", 2.0),  # the options ticked
        ("[m(x)] + [m(y)]", 1.0),
        ("sum([a], [m], [missing_is_not_here])", None),
        ("sum([a], [m])", 8.0),
        ("[y] * 10", 10.0),
        ("if([a] > 5 and [m(z)] = '1', [a] * 2, 0)", 12.0),
        ("if([a] < 5, 1, [b])", 0.0),
        ("[a] / [b]", None),  # division by zero: empty, never an error
        ("10^400", None),  # overflow: empty
    ],
)
def test_formulas_compute_as_written(text, value):
    if "missing" in text:
        with pytest.raises(Unsupported):
            READER.formula(text)
        return
    formula = READER.formula(text)
    assert rules.compute(formula, ANSWERS) == value
    assert READER.formula(formula_text(formula)) == formula  # written back, read the same


def test_missing_inputs_leave_the_value_empty():
    formula = READER.formula("[a] + [b]")
    assert rules.compute(formula, {"a": 1.0}) is None
    assert rules.compute(READER.formula("sum([a], [b])"), {"a": 1.0}) == 1.0
    assert rules.formula_codes(READER.formula("if([y] = 'yes', [a], [b])")) == {"y", "a", "b"}
    for bad in ("[a] +", "max([a], [b])", "[a] 'x'", "'x' + 1", ""):
        with pytest.raises(Unsupported):
            READER.formula(bad)


def with_calculations() -> dict:
    """The test questionnaire with S1's score (Q2 × 2 + options ticked in Q3) and, on
    S2, 100 / (Q2 − 42): an input on another page, and a division by zero at Q2 = 42."""
    data = questionnaire_data()
    data["sections"][0]["questions"].append(
        {
            "code": "C1",
            "type": "calculated",
            "label": "Score",
            "unit": "pts",
            "formula": {
                "op": "+",
                "args": [{"op": "*", "args": [{"q": "Q2"}, {"num": 2}]}, {"q": "Q3"}],
            },
        }
    )
    data["sections"][1]["questions"].append(
        {
            "code": "C2",
            "type": "calculated",
            "label": "Écart",
            "formula": {
                "op": "/",
                "args": [{"num": 100}, {"op": "-", "args": [{"q": "Q2"}, {"num": 42}]}],
            },
        }  # fmt: skip
    )
    return data


@pytest.mark.django_db
def test_the_value_is_stored_with_the_response_updated_and_exported_as_a_number(centre_a):
    campaign = CampaignFactory(version=published_version(with_calculations()))
    campaign.centres.set([centre_a])
    token = invite(campaign, centre_a)[1]
    client = Client()
    url = reverse("surveys:token-section", args=[token, "S1"])
    posted = {**FULL_S1, "q-C1": "9999", "action": "save"}  # a posted value is ignored
    assert client.post(url, posted).status_code in (200, 302)
    response = Response.objects.get()
    stored = {a.question.code: a.value_number for a in response.answers.all()}
    assert stored["C1"] == 42 * 2 + 2  # x and "other" ticked
    assert "C2" not in stored  # 100 / 0: empty, not an error
    page = client.get(url).content.decode()
    assert 'data-formula="' in page and ">86</output>" in page
    # The input changes on page 1: both fields follow, page 2 included.
    client.post(url, {**FULL_S1, "q-Q2": "52", "q-Q3": ["x"], "q-Q3-other": "", "action": "save"})
    stored = {a.question.code: a.value_number for a in response.answers.all()}
    assert stored["C1"] == 105 and stored["C2"] == 10
    exported = export_csv(campaign, include_in_progress=True).decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(exported), delimiter=";"))[:2]
    assert float(row[header.index("C1")]) == 105 and float(row[header.index("C2")]) == 10


@pytest.mark.django_db
def test_builder_reads_the_formula_and_refuses_a_later_question(pm):
    version = questionnaire_import(data=questionnaire_data())
    section = version.sections.get(code="S1")
    client = login(pm)
    url = reverse("surveys:question-create", args=[section.pk])
    fields = {"code": "C9", "type": "calculated", "label": "Total", "unit": "%"}
    page = client.post(url, {**fields, "formula": "[Q2] / 2 + sum([Q3])"})
    assert page.status_code == 302
    question = Question.objects.get(code="C9")
    assert question.formula == {
        "op": "+",
        "args": [{"op": "/", "args": [{"q": "Q2"}, {"num": 2.0}]}, {"sum": [{"q": "Q3"}]}],
    }
    edit = client.get(reverse("surveys:question-update", args=[question.pk])).content.decode()
    assert "[Q2] / 2 + sum([Q3])" in edit
    bad = client.post(url, {**fields, "code": "C10", "formula": "[Q2] +"}).content.decode()
    assert "Cette formule ne peut pas être lue" in bad and 'value="C10"' in bad
    later = client.post(url, {**fields, "code": "C11", "formula": "[I1] * 2"}).content.decode()
    assert "pas une question précédente" in later
    assert not Question.objects.filter(code__in=["C10", "C11"]).exists()
    data = version_to_dict(version)
    first = data["sections"][0]["questions"][0]
    data["sections"][0]["questions"][0] = {**first, "type": "calculated", "formula": {"q": "Q2"}}
    data["code"] = "other-code"
    with pytest.raises(SurveyError, match="pas une question précédente"):
        questionnaire_import(data=data)


@pytest.mark.django_db
def test_redcap_calc_fields_come_in_and_go_back_out_with_their_formula():
    path = need_shared_data("survey-imports", "redcapAPI_TestRedcapAPI_DataDictionary.csv")
    conversion = dictionary_to_questionnaire(path.read_bytes())
    questions = {q["code"]: q for s in conversion.data["sections"] for q in s["questions"]}
    assert questions["calc_addition"]["type"] == "calculated"
    assert questions["calc_squared"]["formula"] == {
        "op": "^", "args": [{"q": "left_operand"}, {"num": 2.0}]
    }  # fmt: skip
    assert not conversion.declared("calc_addition", "all")
    assert not conversion.declared("calc_squared", "all")
    # 57 fields: 2 file, 1 descriptive are still not carried over; the 2 calcs are.
    dropped = {n.item for n in conversion.notes if n.aspect == "all"}
    assert {"calc_addition", "calc_squared"}.isdisjoint(dropped) and len(dropped) <= 3
    version = questionnaire_import(data=conversion.data)
    text = questionnaire_to_dictionary(version_to_dict(version))
    rows = {r[NAME]: r for r in csv.reader(io.StringIO(text))}
    assert rows["calc_addition"][TYPE] == "calc"
    assert rows["calc_addition"][CHOICES] == "[left_operand] + [right_operand]"
    assert rows["calc_squared"][CHOICES] == "[left_operand]^2"
    again = dictionary_to_questionnaire(text.encode())
    back = {q["code"]: q for s in again.data["sections"] for q in s["questions"]}
    assert back["calc_squared"]["formula"] == questions["calc_squared"]["formula"]


def test_redcap_calc_beyond_what_is_supported_is_declared_with_the_reason():
    header = '"Variable / Field Name","Form Name","Section Header","Field Type","Field Label"'
    content = (
        f"{header},c6,c7,c8,c9,c10,c11,c12,c13,c14,c15,c16,c17,c18\n"
        "w,f,,text,Poids,,,number\n"
        'bmi,f,,calc,IMC,"round([w] / 2, 1)"\n'
        'later,f,,calc,Plus tard,"[z] * 2"\n'
    ).encode()
    conversion = dictionary_to_questionnaire(content)
    messages = {n.item: n.message for n in conversion.notes if n.aspect == "all"}
    assert "round() n’a pas d’équivalent" in messages["bmi"] or "round()" in messages["bmi"]
    assert "z" in messages["later"]
