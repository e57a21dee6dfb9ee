"""Exclusive options of a multiple choice ("Aucune"): built, enforced by the server, carried
in and out of the JSON, REDCap (@NONEOFTHEABOVE) and LimeSurvey (exclude_all_others)."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from django.urls import reverse

from surveys import answers
from surveys.interop import convert_upload
from surveys.interop.redcap import (
    ANNOTATION,
    NAME,
    dictionary_to_questionnaire,
    questionnaire_to_dictionary,
)
from surveys.models import Choice, Question, Response
from surveys.services import questionnaire_import, version_new_draft, version_to_dict
from tests.conftest import login
from tests.requirements import need_shared_data
from tests.surveys.factories import (
    FULL_S1,
    CampaignFactory,
    invite,
    post,
    published_version,
    questionnaire_data,
)

pytestmark = pytest.mark.django_db


def with_none() -> dict:
    """The test questionnaire whose Q3 ("Solutions") has an exclusive "Aucune"."""
    data = questionnaire_data()
    q3 = data["sections"][0]["questions"][2]
    q3["options"].append(["none", "Aucune"])
    q3["exclusive"] = ["none"]
    return data


@pytest.fixture
def exclusive_token(centre_a):
    campaign = CampaignFactory(version=published_version(with_none()))
    campaign.centres.set([centre_a])
    return invite(campaign, centre_a)[1]


def q3():
    return Question.objects.get(code="Q3", version__status="published")


def test_an_exclusive_option_with_another_is_refused_in_french_naming_it():
    questionnaire_import(data=with_none())
    question = Question.objects.get(code="Q3")
    both = answers.parse(question, post({"q-Q3": ["x", "none"]}))
    assert both.error == "« Aucune » exclut les autres choix : décochez cette option ou les autres."
    assert both.raw["values"] == ["x", "none"]  # what was ticked comes back as ticked
    alone = answers.parse(question, post({"q-Q3": ["none"]}))
    assert (alone.value, alone.error) == (["none"], "")
    others = answers.parse(question, post({"q-Q3": ["x", "y"]}))
    assert (others.value, others.error) == (["x", "y"], "")
    # "Please specify" typed ticks "Other", which does not combine with "Aucune" either.
    typed = answers.parse(question, post({"q-Q3": ["none"], "q-Q3-other": "Maison"}))
    assert "« Aucune » exclut" in typed.error


def test_the_filling_page_refuses_both_and_keeps_every_typed_answer(exclusive_token):
    client = Client()
    url = reverse("surveys:token-section", args=[exclusive_token, "S1"])
    page = client.post(url, {**FULL_S1, "q-Q3": ["x", "none"], "action": "next"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "« Aucune » exclut les autres choix" in html
    assert 'value="none" checked data-exclusive' in html and 'value="x" checked' in html
    assert 'value="Court"' in html  # the other answers of the page are still there
    assert "data-exclusive-status" in html
    alone = {k: v for k, v in FULL_S1.items() if k != "q-Q3-other"}
    saved = client.post(url, {**alone, "q-Q3": ["none"], "action": "next"})
    assert saved.status_code == 302
    answer = Response.objects.get().answers.get(question__code="Q3")
    assert answer.value_json == ["none"]


def test_builder_ticks_an_exclusive_option_and_refuses_it_off_the_list(pm):
    version = questionnaire_import(data=questionnaire_data())
    section = version.sections.get(code="S1")
    client = login(pm)
    url = reverse("surveys:question-create", args=[section.pk])
    fields = {"code": "Q9", "type": "multiple", "label": "Freins",
              "options": "p | Prix\nt | Temps\naucun | Aucun frein"}  # fmt: skip
    page = client.get(url)
    assert 'id="div_id_exclusive_options"' in page.content.decode()
    assert client.post(url, {**fields, "exclusive_options": "aucun"}).status_code == 302
    question = version.questions.get(code="Q9")
    assert question.exclusive_codes() == ["aucun"]
    edit = client.get(reverse("surveys:question-update", args=[question.pk])).content.decode()
    assert 'value="aucun"' in edit and "checked" in edit.split('value="aucun"')[1][:80]
    # A code not among the options is refused with the form kept.
    bad = client.post(url, {**fields, "code": "Q10", "exclusive_options": "zz"})
    assert bad.status_code == 200 and "zz" in bad.content.decode()
    assert not version.questions.filter(code="Q10").exists()
    # Another type ignores the boxes: nothing exclusive is stored.
    single = {**fields, "code": "Q11", "type": "single", "exclusive_options": "aucun"}
    assert client.post(url, single).status_code == 302
    assert not Choice.objects.filter(question__code="Q11", exclusive=True).exists()


def test_json_export_and_new_version_keep_the_exclusive_option():
    version = published_version(with_none())
    data = version_to_dict(version)
    assert data["sections"][0]["questions"][2]["exclusive"] == ["none"]
    draft = version_new_draft(version=version, user=None)
    assert draft.questions.get(code="Q3").exclusive_codes() == ["none"]
    bad = with_none()
    bad["sections"][0]["questions"][2]["exclusive"] = ["nope"]
    from surveys.services import SurveyError

    with pytest.raises(SurveyError, match="une des options"):
        questionnaire_import(data=bad)


def test_redcap_none_of_the_above_comes_in_and_goes_back_out():
    path = need_shared_data("survey-imports", "CCC19_DataDictionary.csv")
    conversion = dictionary_to_questionnaire(path.read_bytes())
    questions = {q["code"]: q for s in conversion.data["sections"] for q in s["questions"]}
    assert questions["symptoms"]["exclusive"] == ["84387000"]
    assert questions["concomitant_meds"]["exclusive"] == ["NONE"]
    assert questions["c19_complications_systemic"]["exclusive"] == ["NONE"]
    # The rest of the annotation is still declared; the action tag itself is not.
    notes = [n.message for n in conversion.notes if n.item == "symptoms"]
    assert any("Terminology: SNOMED" in m for m in notes)
    assert not any("@NONEOFTHEABOVE" in m for m in notes)
    version = questionnaire_import(data=conversion.data)
    assert version.questions.get(code="symptoms").exclusive_codes() == ["84387000"]
    text = questionnaire_to_dictionary(version_to_dict(version))
    rows = {r[NAME]: r for r in csv.reader(io.StringIO(text))}
    assert rows["symptoms"][ANNOTATION] == "@NONEOFTHEABOVE='84387000'"
    again = dictionary_to_questionnaire(text.encode())
    back = {q["code"]: q for s in again.data["sections"] for q in s["questions"]}
    assert back["symptoms"]["exclusive"] == ["84387000"]
    assert not again.declared("symptoms", "annotation")


LSS = """<?xml version="1.0" encoding="UTF-8"?>
<document>
 <LimeSurveyDocType>Survey</LimeSurveyDocType>
 <DBVersion>155</DBVersion>
 <groups><rows><row><gid>1</gid><sid>1</sid><group_name>Outils</group_name>
  <group_order>0</group_order><language>fr</language></row></rows></groups>
 <questions><rows><row><qid>10</qid><parent_qid>0</parent_qid><sid>1</sid><gid>1</gid>
  <type>M</type><title>tools</title><question>Outils utilisés</question>
  <question_order>1</question_order><language>fr</language></row></rows></questions>
 <subquestions><rows>
  <row><qid>11</qid><parent_qid>10</parent_qid><gid>1</gid><type>T</type><title>SQ001</title>
   <question>Atlas</question><question_order>1</question_order><language>fr</language></row>
  <row><qid>12</qid><parent_qid>10</parent_qid><gid>1</gid><type>T</type><title>SQ002</title>
   <question>IA</question><question_order>2</question_order><language>fr</language></row>
  <row><qid>13</qid><parent_qid>10</parent_qid><gid>1</gid><type>T</type><title>SQ003</title>
   <question>Aucun</question><question_order>3</question_order><language>fr</language></row>
 </rows></subquestions>
 <question_attributes><rows><row><qid>10</qid><attribute>exclude_all_others</attribute>
  <value>SQ003</value></row></rows></question_attributes>
 <surveys><rows><row><sid>1</sid><language>fr</language></row></rows></surveys>
 <surveys_languagesettings><rows><row><surveyls_survey_id>1</surveyls_survey_id>
  <surveyls_language>fr</surveyls_language><surveyls_title>Outils</surveyls_title></row>
 </rows></surveys_languagesettings>
</document>
"""


def test_limesurvey_exclude_all_others_comes_in():
    conversion = convert_upload("outils.lss", LSS.encode())
    tools = conversion.data["sections"][0]["questions"][0]
    assert tools["type"] == "multiple"
    assert [c for c, _label in tools["options"]] == ["SQ001", "SQ002", "SQ003"]
    assert tools["exclusive"] == ["SQ003"]
    version = questionnaire_import(data=conversion.data)
    assert version.questions.get(code="tools").exclusive_codes() == ["SQ003"]
    unknown = LSS.replace("<value>SQ003</value>", "<value>SQ003;SQ009</value>")
    conversion = convert_upload("outils.lss", unknown.encode())
    assert conversion.data["sections"][0]["questions"][0]["exclusive"] == ["SQ003"]
    assert conversion.declared("tools", "exclusive")
