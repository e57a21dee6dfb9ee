"""Builder: each question type shows only the fields it uses; mistakes are told in French
next to the field concerned."""

import re

import pytest
from django.urls import reverse

from surveys import services
from tests.conftest import login
from tests.surveys.factories import questionnaire_data

pytestmark = pytest.mark.django_db

TYPE_SPECIFIC = [
    "options",
    "rows",
    "allow_other",
    "exclusive_options",
    "not_applicable_label",
    "not_applicable_label_en",
    "min_value",
    "max_value",
    "unit",
    "pattern",
    "max_length",
    "max_choices",
    "formula",
]


@pytest.fixture
def section(db):
    version = services.questionnaire_import(data=questionnaire_data())
    return version.sections.get(code="S1")


def shown_fields(html: str) -> set[str]:
    """The type-specific fields of the page that are not hidden."""
    shown = set()
    for block in re.finditer(r'<div class="type-field" data-types="[^"]*"( hidden)?>', html):
        name = re.search(r'name="([a-z_]+)"', html[block.end() :]).group(1)
        if not block.group(1):
            shown.add(name)
    return shown


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("Q1", {"options", "allow_other"}),  # single choice
        ("Q2", {"min_value", "max_value", "unit"}),  # number
        ("Q3", {"options", "allow_other", "exclusive_options", "max_choices"}),  # multiple
        ("Q4", {"pattern", "max_length"}),  # text
    ],
)
def test_edit_page_shows_only_the_fields_of_the_type(pm, section, code, expected):
    question = section.questions.get(code=code)
    html = login(pm).get(reverse("surveys:question-update", args=[question.pk])).content.decode()
    assert len(re.findall(r'class="type-field"', html)) == len(TYPE_SPECIFIC)  # all rendered
    assert shown_fields(html) == expected
    assert 'src="/static/surveys/question_type.js"' in html


def test_matrix_and_ranking_fields(pm, section):
    version = section.version
    client = login(pm)
    for code, expected in (
        ("M1", {"options", "rows", "not_applicable_label", "not_applicable_label_en"}),
        ("R1", {"options", "max_choices"}),
        ("Y1", set()),
        ("D1", set()),
    ):
        question = version.questions.get(code=code)
        html = client.get(reverse("surveys:question-update", args=[question.pk])).content.decode()
        assert shown_fields(html) == expected, code


def test_new_question_page_follows_the_posted_type(pm, section):
    page = login(pm).post(
        reverse("surveys:question-create", args=[section.pk]),
        {"code": "N1", "type": "rating", "label": "Note", "min_value": "0"},
    )
    assert page.status_code == 200  # refused: a rating needs a maximum
    html = page.content.decode()
    assert shown_fields(html) == {"min_value", "max_value", "unit"}
    assert 'value="N1"' in html and 'value="0"' in html  # what was typed stays


def test_fields_of_another_type_are_ignored_not_refused(pm, section):
    response = login(pm).post(
        reverse("surveys:question-create", args=[section.pk]),
        {
            "code": "N2",
            "type": "text",
            "label": "Texte",
            "pattern": "[A-Z]+",
            "min_value": "pas un nombre",  # hidden for a text: not a reason to refuse
            "max_choices": "-3",
            "options": "sans barre",
        },
    )
    assert response.status_code == 302
    question = section.version.questions.get(code="N2")
    assert (question.pattern, question.min_value, question.max_choices) == ("[A-Z]+", None, None)
    assert question.options() == []


def field_errors(page, name: str) -> list[str]:
    return [str(e) for e in page.context["form"].errors.get(name, [])]


def test_validation_messages_in_french_on_the_field_concerned(pm, section):
    client = login(pm)
    url = reverse("surveys:question-create", args=[section.pk])
    page = client.post(
        url, {"code": "N3", "type": "number", "label": "Nb", "min_value": "10", "max_value": "5"}
    )
    assert field_errors(page, "max_value") == ["Question N3 : le minimum est supérieur au maximum."]
    assert "le minimum est supérieur au maximum" in page.content.decode()
    page = client.post(url, {"code": "N4", "type": "text", "label": "T", "pattern": "([a-z"})
    assert field_errors(page, "pattern") == [
        "Question N4 : le motif n'est pas une expression régulière valide."
    ]
    page = client.post(url, {"code": "N5", "type": "single", "label": "Choix"})
    assert field_errors(page, "options") == [
        "Question N5 : ce type de question nécessite des options."
    ]
    page = client.post(url, {"code": "N6", "type": "matrix", "label": "M", "options": "a | A"})
    assert field_errors(page, "rows") == ["Question N6 : une matrice nécessite des lignes."]
    page = client.post(url, {"code": "N7", "type": "number", "label": "Nb", "max_value": "abc"})
    assert field_errors(page, "max_value") == ["Saisissez un nombre."]
    assert not section.version.questions.filter(code__in=["N3", "N4", "N5", "N6", "N7"]).exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_changing_the_type_in_the_browser_switches_the_fields(page, live_server, pm):
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from playwright.sync_api import expect

    from tests.browser_helpers import log_in, verify_second_factor

    version = services.questionnaire_import(data=questionnaire_data())
    section = version.sections.get(code="S1")
    TOTPDevice.objects.create(user=pm, name="phone", confirmed=True)
    log_in(page, live_server, "pm")
    verify_second_factor(page, pm)
    page.goto(live_server.url + reverse("surveys:question-create", args=[section.pk]))
    minimum, options, pattern = (
        page.locator(f"#id_{n}") for n in ("min_value", "options", "pattern")
    )
    expect(options).to_be_visible()  # single choice first
    expect(minimum).to_be_hidden()
    page.get_by_label("Type").select_option("number")
    expect(minimum).to_be_visible()
    expect(page.locator("#id_unit")).to_be_visible()
    expect(options).to_be_hidden()
    expect(pattern).to_be_hidden()
    page.get_by_label("Type").select_option("text")
    expect(pattern).to_be_visible()
    expect(minimum).to_be_hidden()
    page.get_by_label("Type").select_option("matrix")
    expect(page.locator("#id_rows")).to_be_visible()
    expect(page.locator("#id_not_applicable_label")).to_be_visible()
    expect(pattern).to_be_hidden()
