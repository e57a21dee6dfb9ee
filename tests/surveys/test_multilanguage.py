"""English beside French in every respondent-facing text: options, rows, sections, help,
introduction, end message; the builder edits them, the JSON carries them, LimeSurvey brings
them; French shows wherever the English is empty."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from surveys import services
from surveys.interop import convert_upload
from surveys.models import Campaign, Choice, QuestionnaireVersion, Section
from tests.conftest import login
from tests.requirements import need_shared_data
from tests.surveys.factories import (
    FULL_S1,
    FULL_S2,
    CampaignFactory,
    invite,
    published_version,
    questionnaire_data,
)

pytestmark = pytest.mark.django_db
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


def bilingual_data() -> dict:
    """The small test questionnaire with English texts, some left empty on purpose."""
    data = questionnaire_data()
    data.update(
        introduction="Bienvenue dans l'enquête.",
        introduction_en="Welcome to the survey.",
        end_message="Merci pour votre participation.",
        end_message_en="Thank you for taking part.",
    )
    s1, s2 = data["sections"]
    s1.update(title_en="First page", description="Page de garde.", description_en="Home page.")
    q1 = s1["questions"][0]
    q1.update(help_text="Une seule réponse.", help_text_en="One answer only.")
    q1["options_en"] = {"a": "Yes", "b": "No"}  # "c" (En projet) has no English: French shows
    m1 = s2["questions"][0]
    m1["rows_en"] = {"r1": "Row 1", "r2": "Row 2"}
    m1["options_en"] = {"c1": "Disagree", "c4": "Agree"}
    m1.update(not_applicable_label="Sans objet", not_applicable_label_en="Not relevant")
    return data


def section_url(token: str, code: str) -> str:
    return reverse("surveys:token-section", args=[token, code])


@pytest.fixture
def bilingual(centre_a):
    campaign = CampaignFactory(
        version=published_version(bilingual_data()), title_en="Auto-contouring survey"
    )
    campaign.centres.set([centre_a])
    _invitation, token = invite(campaign, centre_a, "marie@example.org")
    return campaign, token


def test_filling_pages_show_english_texts_and_french_where_english_is_empty(bilingual):
    _campaign, token = bilingual
    client = Client()
    french = client.get(section_url(token, "S1")).content.decode()
    english = client.get(section_url(token, "S1"), **EN).content.decode()
    for text in ("Première page", "Bienvenue dans", "Page de garde.", "Une seule réponse.", "Oui"):
        assert text in french and text not in english, text
    english_only = ("First page", "Welcome to the survey.", "Home page.", "One answer only.")
    for text in (*english_only, "Auto-contouring survey"):
        assert text in english and text not in french, text
    assert ">Yes</label>" in english and ">No</label>" in english
    assert ">En projet</label>" in english  # no English label: the French one
    matrix = client.get(section_url(token, "S2"), **EN).content.decode()
    assert "Deuxième page" in matrix  # section without an English title
    for text in ("Row 1", "Row 2", "Disagree", "Agree", "Not relevant", "Plutôt pas"):
        assert text in matrix, text
    assert "Ligne 1" not in matrix and "Sans objet" not in matrix


def test_review_page_receipt_and_end_message_in_the_respondents_language(
    bilingual, django_capture_on_commit_callbacks
):
    campaign, token = bilingual
    client = Client()
    client.post(section_url(token, "S1"), {**FULL_S1, "action": "next"}, **EN)
    client.post(section_url(token, "S2"), {**FULL_S2, "action": "review"}, **EN)
    review_url = reverse("surveys:token-review", args=[token])
    review = client.get(review_url, **EN).content.decode()
    assert "First page" in review and ">Yes<" in review  # Q1 answered "a"
    assert "Thank you for taking part." not in review  # only once submitted
    with django_capture_on_commit_callbacks(execute=True):
        client.post(review_url, **EN)
    done = client.get(review_url, **EN).content.decode()
    assert "Thank you for taking part." in done and "Merci pour votre" not in done
    assert [m.to for m in mail.outbox] == [["marie@example.org"]]
    receipt = mail.outbox[0]
    assert receipt.subject == "Your response to “Auto-contouring survey” is received"
    assert "Thank you for taking part." in receipt.body and "Answers recorded: 14." in receipt.body
    # The record of the submission stays in French, whatever the page's language.
    response = campaign.responses.get()
    assert response.snapshot["answers"]["Q1"]["display"] == "Oui"
    french = client.get(review_url).content.decode()
    assert "Merci pour votre participation." in french and campaign.title in french


def test_json_export_and_import_carry_the_english_texts():
    data = bilingual_data()
    version = services.questionnaire_import(data=data)
    exported = services.version_to_dict(version)
    for key in ("introduction_en", "end_message", "end_message_en"):
        assert exported[key] == data[key]
    s1, s2 = exported["sections"]
    assert (s1["title_en"], s1["description_en"]) == ("First page", "Home page.")
    assert "title_en" not in s2  # empty texts are left out, as before
    assert s1["questions"][0]["options_en"] == {"a": "Yes", "b": "No"}
    assert s1["questions"][0]["help_text_en"] == "One answer only."
    m1 = s2["questions"][0]
    assert m1["rows_en"] == {"r1": "Row 1", "r2": "Row 2"}
    assert m1["not_applicable_label_en"] == "Not relevant"
    imported = {**exported, "code": "copie"}
    copy = services.questionnaire_import(data=imported)
    assert services.version_to_dict(copy) == imported
    draft = services.version_new_draft(
        version=services.version_publish(version=version, user=None), user=None
    )
    assert services.version_to_dict(draft) == exported  # a new version keeps them too


def test_english_labels_of_unknown_choices_are_refused_in_french():
    data = bilingual_data()
    data["sections"][0]["questions"][0]["options_en"] = {"zz": "Nope"}
    with pytest.raises(services.SurveyError) as error:
        services.validate_questionnaire_dict(data)
    assert "Question Q1" in str(error.value) and "« zz »" in str(error.value)
    data["sections"][0]["questions"][0]["options_en"] = ["Yes", "No"]
    with pytest.raises(services.SurveyError, match="objet"):
        services.validate_questionnaire_dict(data)


def test_builder_edits_every_english_text(pm):
    client = login(pm)
    version = services.questionnaire_create(title="Enquête", code="enquete", user=pm)
    client.post(
        reverse("surveys:version-update", args=[version.pk]),
        {
            "title": "Enquête",
            "introduction": "Bonjour",
            "introduction_en": "Hello",
            "end_message": "Merci",
            "end_message_en": "Thanks",
        },
    )
    version.refresh_from_db()
    assert (version.introduction_en, version.end_message, version.end_message_en) == (
        "Hello",
        "Merci",
        "Thanks",
    )
    client.post(
        reverse("surveys:section-create", args=[version.pk]),
        {"code": "A", "title": "Centre", "title_en": "Centre (en)", "description_en": "About"},
    )
    section = Section.objects.get(version=version)
    assert (section.title_en, section.description_en) == ("Centre (en)", "About")
    page = client.get(reverse("surveys:section-update", args=[section.pk])).content.decode()
    assert 'value="Centre (en)"' in page
    response = client.post(
        reverse("surveys:question-create", args=[section.pk]),
        {
            "code": "A1",
            "type": "matrix",
            "label": "Usage",
            "help_text_en": "Tick one per row",
            "options": "oui | Oui | Yes\nnon | Non",
            "rows": "orl | ORL | Head and neck",
            "not_applicable_label": "Non utilisé",
            "not_applicable_label_en": "Not used",
        },
    )
    assert response.status_code == 302
    question = version.questions.get(code="A1")
    assert (question.help_text_en, question.not_applicable_label_en) == (
        "Tick one per row",
        "Not used",
    )
    labels = {(c.kind, c.code): (c.label, c.label_en) for c in Choice.objects.all()}
    assert labels == {
        ("option", "oui"): ("Oui", "Yes"),
        ("option", "non"): ("Non", ""),
        ("row", "orl"): ("ORL", "Head and neck"),
    }
    page = client.get(reverse("surveys:question-update", args=[question.pk])).content.decode()
    assert "oui | Oui | Yes\nnon | Non" in page and "orl | ORL | Head and neck" in page


def test_campaign_form_keeps_the_english_title(pm, centre_a):
    version = published_version()
    client = login(pm)
    response = client.post(
        reverse("surveys:campaign-create"),
        {
            "title": "Vague 2027",
            "title_en": "2027 wave",
            "version": version.pk,
            "opens_on": "2026-01-01",
            "closes_on": "2030-01-31",
            "unit": "centre",
            "reminder_every_days": "7",
            "centres": [centre_a.pk],
        },
    )
    campaign = Campaign.objects.get(title="Vague 2027")
    assert response["Location"] == reverse("surveys:campaign-detail", args=[campaign.pk])
    assert campaign.title_en == "2027 wave"


def test_limesurvey_file_brings_its_english_into_every_text():
    path = need_shared_data("survey-imports", "Randomization_Group_Test.lss")
    conversion = convert_upload(path.name, path.read_bytes())
    data = conversion.data
    assert data["introduction"].startswith("Cette enquête permettra de tester")
    assert data["introduction_en"].startswith("This survey will test the group randomization")
    sections = data["sections"]
    assert [s["title_en"] for s in sections] == ["Group A", "Group B", "Group C"]
    # The text displays (type X) of a group become its description, in both languages.
    assert sections[1]["description"].startswith("Cette question devrait toujours figurer")
    assert sections[1]["description_en"].startswith("This question should always appear on")
    q = {x["code"]: x for s in sections for x in s["questions"]}
    assert q["Q4"]["options_en"] == {"A1": "Some example answer option", "A2": "New answer option"}
    assert q["Q8"]["rows_en"] == {"SQ001": "Some example subquestion", "SQ002": "New answer option"}
    assert q["Q8"]["options_en"] == {"SQ001": "Some example subquestion"}
    assert q["Q9"]["options_en"] == {"Y": "Yes", "U": "Uncertain", "N": "No"}  # fixed columns
    # Both languages are carried whole: no note about a language left behind.
    assert not [n for n in conversion.notes if n.aspect == "language"]
    version = services.questionnaire_import(data=data)
    assert version.sections.get(code=sections[1]["code"]).title_en == "Group B"
    option = Choice.objects.get(question__version=version, question__code="Q4", code="A2")
    assert (option.label, option.label_en) == ("Nouvelle option de réponse", "New answer option")
    assert QuestionnaireVersion.objects.get(pk=version.pk).introduction_en.startswith("This")


def test_a_kept_structure_gives_the_blocks_labels_in_each_language():
    """A published version's structure is kept per process: a repeated section's block
    titles (the choice's label) must not stay in the language of the first page served."""
    from django.utils import translation

    from surveys.selectors import version_structure
    from tests.surveys.test_repeated_blocks import blocks_data

    data = blocks_data()
    data["sections"][0]["questions"][0]["options_en"] = {"v1": "Elekta (en)"}
    version = published_version(data)
    with translation.override("en"):
        english = version_structure(version).section("B").blocks[0].label
    with translation.override("fr"):
        french = version_structure(version).section("B").blocks[0].label
    assert (english, french) == ("Elekta (en)", "Elekta")
