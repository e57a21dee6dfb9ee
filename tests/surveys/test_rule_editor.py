"""The show-if editor of the builder: its data, and the server's check of the rules it posts."""

import json

import pytest
from django.urls import reverse

from surveys import autocontouring, rule_editor, services
from surveys.forms import QuestionForm
from surveys.selectors import version_structure
from tests.surveys.factories import questionnaire_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft():
    return services.questionnaire_import(data=questionnaire_data())


def _question(version, code):
    return version.questions.get(code=code)


def _edit(client, question, show_if):
    """POST the question form as the editor leaves it: every field kept, show_if rewritten."""
    data = {k: v for k, v in QuestionForm.initial_for(question).items() if v not in (None, False)}
    data["show_if"] = json.dumps(show_if) if show_if is not None else ""
    return client.post(reverse("surveys:question-update", args=[question.pk]), data)


def test_editor_offers_only_earlier_questions_with_their_choice_codes(draft):
    structure = version_structure(draft)
    q4 = _question(draft, "Q4")
    data = rule_editor.editor_data(structure, q4.section, q4)
    assert [q["code"] for q in data["questions"]] == ["Q1", "Q2", "Q3"]
    by_code = {q["code"]: q for q in data["questions"]}
    assert by_code["Q1"]["kind"] == "choice"
    assert [o["code"] for o in by_code["Q1"]["options"]] == ["a", "b", "c"]
    assert [o["code"] for o in by_code["Q3"]["options"]] == ["x", "y", "z", "other"]
    assert by_code["Q2"]["kind"] == "number" and by_code["Q2"]["options"] == []
    # A new question of S2 comes after every question of S1 and S2; matrices are left out.
    s2 = draft.sections.get(code="S2")
    new = [q["code"] for q in rule_editor.editor_data(structure, s2, None)["questions"]]
    assert new[:4] == ["Q1", "Q2", "Q3", "Q4"] and "M1" not in new and "MM" not in new
    assert "Y1" in new and "RT" in new
    s1 = draft.sections.get(code="S1")
    assert [q["code"] for q in rule_editor.editor_data(structure, s1, None)["questions"]] == [
        "Q1",
        "Q2",
        "Q3",
        "Q4",
    ]


def test_question_page_carries_the_editor(as_persona, draft):
    page = as_persona("pm").get(
        reverse("surveys:question-update", args=[_question(draft, "Q4").pk])
    )
    html = page.content.decode()
    assert 'id="showif-editor-data"' in html and "surveys/rule_editor.js" in html
    assert "Afficher cette question seulement si" in html  # editor texts, in French
    assert 'name="show_if"' in html  # the JSON field stays, for browsers without JavaScript


@pytest.mark.parametrize(
    "rule",
    [
        {"q": "Q1", "op": "equals", "value": "c"},
        {"any": [{"q": "Q1", "op": "equals", "value": "c"}, {"q": "Q2", "op": "gte", "value": 10}]},
        {
            "all": [
                {"q": "Q3", "op": "in", "value": ["x", "other"]},
                {"q": "Q2", "op": "lt", "value": 5.5},
            ]
        },
        {"q": "Q1", "op": "not_in", "value": ["b"]},
        {"q": "Q2", "op": "answered"},
    ],
)
def test_rules_built_by_the_editor_are_saved(as_persona, draft, rule):
    q4 = _question(draft, "Q4")
    response = _edit(as_persona("pm"), q4, rule)
    assert response.status_code == 302, response.content.decode()[:3000]
    q4.refresh_from_db()
    assert q4.show_if == rule


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"q": "Q1", "op": "equals", "value": "zz"}, "« zz », qui n’est pas un code de choix"),
        (
            {"q": "Q3", "op": "in", "value": ["x", "nope"]},
            "« nope », qui n’est pas un code de choix",
        ),
        ({"q": "Q1", "op": "equals", "value": ""}, "nécessite une valeur"),
        ({"q": "Q2", "op": "gte", "value": "dix"}, "est mal formée"),
        ({"q": "T1", "op": "answered"}, "qui n’est pas une question précédente"),
        ({"q": "Q1", "op": "like", "value": "a"}, "opérateur « like » inconnu"),
    ],
)
def test_bad_rules_are_refused_and_the_form_kept(as_persona, draft, rule, message):
    q4 = _question(draft, "Q4")
    page = _edit(as_persona("pm"), q4, rule)
    assert page.status_code == 200
    html = page.content.decode()
    assert message in html.replace("&#x27;", "’").replace("'", "’")
    assert "Nom court" in html  # the typed label is still there
    q4.refresh_from_db()
    assert q4.show_if is None


def test_invalid_json_from_the_advanced_field_is_refused(as_persona, draft):
    q4 = _question(draft, "Q4")
    data = {k: v for k, v in QuestionForm.initial_for(q4).items() if v not in (None, False)}
    data["show_if"] = '{"q": "Q1",'
    page = as_persona("pm").post(reverse("surveys:question-update", args=[q4.pk]), data)
    assert page.status_code == 200
    assert "{&quot;q&quot;: &quot;Q1&quot;," in page.content.decode()
    q4.refresh_from_db()
    assert q4.show_if is None


def test_the_seeded_questionnaire_passes_the_stricter_rule_check():
    version = autocontouring.install()
    services._check_version_rules(version)
    assert any(q.show_if for q in version.questions.all())
