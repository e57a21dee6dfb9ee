"""A section repeated for each choice ticked in an earlier multiple-choice question."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from surveys import exports, services
from surveys.models import Answer, AnswerChange
from surveys.results import campaign_results
from surveys.selectors import response_values, version_structure
from surveys.services import Actor, SurveyError
from tests.conftest import login
from tests.surveys.factories import CampaignFactory, invite, post, published_version

pytestmark = pytest.mark.django_db

VENDORS = [["v1", "Elekta"], ["v2", "Philips"], ["v3", "Varian"], ["v4", "Radformation"]]


def blocks_data(vendors=VENDORS) -> dict:
    return {
        "format": "onco-hdf-questionnaire",
        "format_version": 1,
        "code": "blocks-survey",
        "title": "Solutions par éditeur",
        "sections": [
            {
                "code": "A",
                "title": "Solutions",
                "questions": [
                    {
                        "code": "SOL",
                        "type": "multiple",
                        "label": "Solutions utilisées",
                        "allow_other": True,
                        "options": vendors,
                    },
                    {"code": "NB", "type": "integer", "label": "Accélérateurs"},
                ],
            },
            {
                "code": "B",
                "title": "Solution",
                "repeat_for": "SOL",
                "questions": [
                    {
                        "code": "HOST",
                        "type": "single",
                        "label": "Hébergement",
                        "required": True,
                        "options": [["local", "Sur site"], ["cloud", "Cloud"]],
                    },
                    {
                        "code": "HDS",
                        "type": "yes_no",
                        "label": "Hébergeur certifié HDS ?",
                        "show_if": {"q": "HOST", "op": "equals", "value": "cloud"},
                    },
                    {"code": "COST", "type": "number", "label": "Coût annuel", "unit": "€"},
                    {"code": "CE", "type": "text", "label": "Classe CE"},
                    {"code": "VER", "type": "text", "label": "Version"},
                    {"code": "START", "type": "date", "label": "Mise en service"},
                ],
            },
        ],
    }


@pytest.fixture
def campaign(centre_a, centre_b):
    campaign = CampaignFactory(version=published_version(blocks_data()))
    campaign.centres.set([centre_a, centre_b])
    return campaign


def open_response(campaign, centre, email="ref@example.org"):
    invitation, token = invite(campaign, centre, email)
    actor = Actor.for_invitation(invitation)
    return services.response_open(campaign=campaign, centre=centre, actor=actor), actor, token


def save(response, actor, section, data):
    return services.response_save_section(
        response=response, section_code=section, data=post(data), actor=actor
    )


BLOCK_V1_V3 = {
    "q-HOST__v1": "cloud",
    "q-HDS__v1": "yes",
    "q-COST__v1": "12000",
    "q-CE__v1": "IIa",
    "q-HOST__v3": "local",
    "q-HDS__v3": "yes",  # hidden for v3 (not in the cloud): dropped
    "q-COST__v3": "8000",
    "q-START__v3": "15/03/2024",
}


def test_answers_are_stored_per_choice_with_the_block_rules(campaign, centre_a):
    response, actor, _token = open_response(campaign, centre_a)
    save(response, actor, "A", {"q-SOL": ["v1", "v3"]})
    result = save(response, actor, "B", BLOCK_V1_V3)
    assert result.errors == {}
    rows = {
        (a.question.code, a.instance): a
        for a in Answer.objects.filter(response=response).select_related("question")
    }
    assert rows[("COST", "v1")].value_number == 12000
    assert rows[("COST", "v3")].value_number == 8000
    assert rows[("HDS", "v1")].value_text == "yes"
    assert ("HDS", "v3") not in rows  # v3 is on site: its HDS question is not asked
    structure = version_structure(campaign.version)
    values, _others = response_values(response, structure)
    assert values["HOST__v1"] == "cloud" and values["START__v3"].isoformat() == "2024-03-15"
    assert {c.instance for c in AnswerChange.objects.filter(response=response)} >= {"v1", "v3"}


def test_required_question_is_checked_per_ticked_choice(campaign, centre_a):
    response, actor, _token = open_response(campaign, centre_a)
    save(response, actor, "A", {"q-SOL": ["v1", "v2"]})
    save(response, actor, "B", {"q-HOST__v1": "local"})
    structure = version_structure(campaign.version)
    problems = services.response_problems(response, structure)
    assert [p.code for p in problems] == ["HOST__v2"]
    assert problems[0].label == "Hébergement — Philips"
    with pytest.raises(SurveyError):
        services.response_submit(response=response, actor=actor)


def test_unticked_choice_keeps_its_answers_but_they_are_not_counted(campaign, centre_a):
    response, actor, token = open_response(campaign, centre_a)
    save(response, actor, "A", {"q-SOL": ["v1", "v3"]})
    save(response, actor, "B", BLOCK_V1_V3)
    save(response, actor, "A", {"q-SOL": ["v1"]})  # Varian no longer used
    assert Answer.objects.filter(response=response, instance="v3").count() == 3
    page = Client().get(reverse("surveys:token-section", args=[token, "B"])).content.decode()
    assert 'id="block-v1"' in page and 'id="block-v3"' not in page
    assert "Réponses conservées pour : Varian" in page and "ne sont pas comptées" in page
    # Saving the page (which no longer shows Varian) does not erase Varian's answers.
    save(response, actor, "B", {"q-HOST__v1": "local", "q-COST__v1": "12000"})
    assert Answer.objects.filter(response=response, instance="v3").count() == 3
    services.response_submit(response=response, actor=actor)
    response.refresh_from_db()
    assert "COST__v1" in response.snapshot["answers"]
    assert "COST__v3" not in response.snapshot["answers"]
    results = campaign_results(campaign, suppress=False)
    cost_v3 = results.by_code("COST__v3")
    assert (cost_v3.shown, cost_v3.answered) == (0, 0)
    assert results.by_code("HOST__v1").answered == 1
    # Ticked again: the kept answers come back.
    response.status = "reopened"
    response.save()
    save(response, actor, "A", {"q-SOL": ["v1", "v3"]})
    page = Client().get(reverse("surveys:token-section", args=[token, "B"])).content.decode()
    assert 'id="block-v3"' in page and 'value="8000"' in page


def test_filling_page_shows_one_fieldset_per_ticked_choice_titled_with_its_label(
    campaign, centre_a
):
    response, actor, token = open_response(campaign, centre_a)
    save(response, actor, "A", {"q-SOL": ["v2", "other"], "q-SOL-other": "Limbus"})
    page = Client().get(reverse("surveys:token-section", args=[token, "B"])).content.decode()
    assert page.count('class="survey-block') == 2
    assert '<legend class="h5">Philips</legend>' in page
    assert '<legend class="h5">Autre : Limbus</legend>' in page
    assert 'name="q-COST__v2"' in page and 'name="q-COST__other"' in page
    assert 'name="q-COST__v1"' not in page
    assert "Hébergement — Philips" not in page  # the fieldset already names the vendor


def test_page_without_ticked_choice_says_why(campaign, centre_a):
    _response, _actor, token = open_response(campaign, centre_a)
    page = Client().get(reverse("surveys:token-section", args=[token, "B"])).content.decode()
    assert "une fois pour chaque choix coché dans « Solutions utilisées »" in page
    assert 'class="survey-block' not in page


def test_conflict_is_detected_per_choice(campaign, centre_a, oncologist_a, physicist_a):
    response, _actor, _token = open_response(campaign, centre_a)
    first = Actor.for_user(physicist_a, centre_a)
    second = Actor.for_user(oncologist_a, centre_a)
    save(response, first, "A", {"q-SOL": ["v1", "v2"]})
    structure = version_structure(campaign.version)
    from surveys.selectors import answer_tokens

    stale = answer_tokens(response, structure)
    save(response, first, "B", {"q-HOST__v1": "local", "q-COST__v1": "12"})
    result = save(
        response,
        second,
        "B",
        {
            "q-HOST__v1": "local",
            "q-COST__v1": "11",
            "q-COST__v2": "5",
            "v-COST__v1": stale["COST__v1"],
            "v-COST__v2": stale["COST__v2"],
            "v-HOST__v1": stale["HOST__v1"],
        },
    )
    assert list(result.conflicts) == ["COST__v1"]
    values, _others = response_values(response, structure)
    assert values["COST__v1"] == 12 and values["COST__v2"] == 5


def _page_queries(client, url) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_filling_page_query_count_does_not_grow_with_choices(centre_a):
    counts = []
    for size in (1, 5):
        vendors = [[f"v{i}", f"Éditeur {i}"] for i in range(1, size + 1)]
        campaign = CampaignFactory(version=published_version(blocks_data(vendors)))
        campaign.centres.set([centre_a])
        response, actor, token = open_response(campaign, centre_a, f"r{size}@example.org")
        save(response, actor, "A", {"q-SOL": [v[0] for v in vendors]})
        save(
            response,
            actor,
            "B",
            {f"q-{q}__{v[0]}": x for v in vendors for q, x in (("HOST", "cloud"), ("VER", "3"))},
        )
        client = Client()
        url = reverse("surveys:token-section", args=[token, "B"])
        client.get(url)
        page = client.get(url).content.decode()
        assert page.count('class="survey-block') == size
        counts.append(_page_queries(client, url))
    assert counts[0] == counts[1]


def test_exports_have_one_labelled_column_per_choice_and_question(campaign, centre_a):
    response, actor, _token = open_response(campaign, centre_a)
    save(response, actor, "A", {"q-SOL": ["v1", "v3"]})
    save(response, actor, "B", BLOCK_V1_V3)
    services.response_submit(response=response, actor=actor)
    rows = list(
        csv.DictReader(
            io.StringIO(exports.export_csv(campaign).decode("utf-8").lstrip("\ufeff")),
            delimiter=";",
        )
    )
    row = rows[0]
    assert row["COST__v1"] == "12000.0" and row["COST__v3"] == "8000.0"
    assert row["HOST__v1"] == "cloud" and row["HOST__v1_label"] == "Cloud"
    assert row["COST__v2"] == "-99998" and row["HOST__v2"] == "-8"  # Philips: not asked
    codebook = {r[0]: r for r in exports.codebook_rows(campaign)}
    assert "Coût annuel — Varian" in codebook["COST__v3"]


def test_builder_refuses_a_question_that_is_not_multiple_choice_or_not_earlier(pm):
    version = services.questionnaire_import(data=blocks_data())
    section_b = version.sections.get(code="B")
    client = login(pm)
    url = reverse("surveys:section-update", args=[section_b.pk])
    page = client.post(url, {"code": "B", "title": "Solution", "repeat_for": "NB"})
    assert page.status_code == 200 and "NB n’en fait pas partie" in page.content.decode()
    with pytest.raises(SurveyError) as error:
        services.section_save(
            version=version, section=section_b, code="B", title="S", repeat_for="NB"
        )
    assert "« NB » n’est pas une question à choix multiple" in str(error.value)
    later = services.section_save(version=version, code="C", title="Après")
    services.question_save(
        section=later,
        data=services.QuestionInput(
            code="LATE", type="multiple", label="Plus tard", options=[("a", "A"), ("b", "B")]
        ),
    )
    page = client.post(url, {"code": "B", "title": "Solution", "repeat_for": "LATE"})
    assert page.status_code == 200
    assert "« LATE » n’est pas une question d’une section précédente" in page.content.decode()
    section_b.refresh_from_db()
    assert section_b.repeat_for.code == "SOL"
    page = client.post(url, {"code": "B", "title": "Solution", "repeat_for": ""})
    section_b.refresh_from_db()
    assert section_b.repeat_for is None


def test_new_version_and_json_keep_the_repeated_section(campaign, pm):
    data = services.version_to_dict(campaign.version)
    assert data["sections"][1]["repeat_for"] == "SOL"
    draft = services.version_new_draft(version=campaign.version, user=pm)
    assert draft.sections.get(code="B").repeat_for.code == "SOL"
    assert draft.sections.get(code="B").repeat_for.version_id == draft.pk


def test_redcap_export_has_one_field_per_choice_shown_when_it_is_ticked(campaign):
    from surveys.interop.redcap import dictionary_to_questionnaire, questionnaire_to_dictionary

    text = questionnaire_to_dictionary(services.version_to_dict(campaign.version))
    rows = {r[0]: r for r in csv.reader(io.StringIO(text))}
    assert "COST" not in rows
    assert rows["COST__v3"][4] == "Coût annuel — Varian"
    assert rows["COST__v3"][11] == "[SOL(v3)] = '1'"
    assert rows["HDS__v1"][11] == "[SOL(v1)] = '1' and [HOST__v1] = 'cloud'"
    assert rows["HOST__other"][11] == "[SOL(other)] = '1'"
    # Imported back, the blocks are ordinary fields with the same branching.
    again = dictionary_to_questionnaire(text.encode()).data
    codes = [q["code"] for s in again["sections"] for q in s["questions"]]
    assert codes.count("HOST__v1") == 1 and len([c for c in codes if "__" in c]) == 30
