"""Versions: publish freezes, new version copies, JSON import/export, builder checks."""

import pytest

from surveys import services
from surveys.models import Question, QuestionnaireVersion, VersionStatus
from surveys.services import QuestionInput, SurveyError
from tests.surveys.factories import published_version, questionnaire_data

pytestmark = pytest.mark.django_db


def test_import_creates_a_draft_with_every_question_and_choice():
    version = services.questionnaire_import(data=questionnaire_data())
    assert version.status == VersionStatus.DRAFT
    assert version.number == 1
    assert list(version.sections.values_list("code", flat=True)) == ["S1", "S2"]
    assert version.questions.count() == 14
    m1 = version.questions.get(code="M1")
    assert [c.code for c in m1.rows()] == ["r1", "r2"]
    assert [c.code for c in m1.options()] == ["c1", "c2", "c3", "c4"]
    assert version.questions.get(code="Q2").show_if == {"q": "Q1", "op": "equals", "value": "a"}


def test_export_then_import_round_trips():
    version = published_version()
    exported = services.version_to_dict(version)
    copy = services.questionnaire_import(data=exported)
    assert copy.questionnaire == version.questionnaire
    assert copy.number == 2
    assert services.version_to_dict(copy)["sections"] == exported["sections"]


def test_published_version_is_frozen():
    version = published_version()
    section = version.sections.get(code="S1")
    with pytest.raises(SurveyError, match="figée"):
        services.section_save(version=version, code="S9", title="Nouvelle")
    with pytest.raises(SurveyError):
        services.question_save(
            section=section, data=QuestionInput(code="NEW", type="text", label="x")
        )
    with pytest.raises(SurveyError):
        services.question_delete(question=version.questions.get(code="Q4"))
    assert version.questions.count() == 14


def test_new_version_copies_codes_and_leaves_the_published_one_alone():
    version = published_version()
    draft = services.version_new_draft(version=version, user=None)
    assert draft.number == 2 and draft.status == VersionStatus.DRAFT
    assert set(draft.questions.values_list("code", flat=True)) == set(
        version.questions.values_list("code", flat=True)
    )
    q4 = draft.questions.get(code="Q4")
    services.question_save(
        section=q4.section,
        question=q4,
        data=QuestionInput(code="Q4", type="text", label="Nom modifié", max_length=30),
    )
    assert version.questions.get(code="Q4").label == "Nom court"
    with pytest.raises(SurveyError, match="brouillon"):
        services.version_new_draft(version=version, user=None)


def test_publish_checks_the_draft():
    version = services.questionnaire_create(title="Vide", code="vide", user=None)
    with pytest.raises(SurveyError, match="au moins une question"):
        services.version_publish(version=version, user=None)
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="other"), "pas un questionnaire"),
        (
            lambda d: d["sections"][0]["questions"][1].update(
                show_if={"q": "T1", "op": "answered"}
            ),
            "pas une question précédente",
        ),
        (lambda d: d["sections"][0]["questions"][0].update(type="slider"), "inconnu"),
        (lambda d: d["sections"][0]["questions"][0].update(options=[]), "nécessite des options"),
        (lambda d: d["sections"][1]["questions"][0].update(rows=[]), "nécessite des lignes"),
        (lambda d: d["sections"][0]["questions"][3].update(code="Q1"), "deux fois"),
        (lambda d: d["sections"][0]["questions"][0].update(options=[["a b", "x"]]), "pas valide"),
        (lambda d: d["sections"][0]["questions"][3].update(pattern="(["), "expression régulière"),
        (lambda d: d["sections"][0]["questions"][1].update(min_value="abc"), "pas un nombre"),
    ],
)
def test_import_refuses_bad_files_with_a_message_and_writes_nothing(mutate, message):
    data = questionnaire_data()
    mutate(data)
    before = QuestionnaireVersion.objects.count()
    with pytest.raises(SurveyError, match=message):
        services.questionnaire_import(data=data)
    assert QuestionnaireVersion.objects.count() == before


def test_builder_adds_moves_and_checks_rules():
    version = services.questionnaire_import(data=questionnaire_data())
    s1 = version.sections.get(code="S1")
    new = services.question_save(
        section=s1,
        data=QuestionInput(
            code="Q5",
            type="single",
            label="Autre",
            options=[("o", "Oui"), ("n", "Non")],
            show_if={"q": "Q1", "op": "equals", "value": "a"},
        ),
    )
    assert list(s1.questions.order_by("order").values_list("code", flat=True))[-1] == "Q5"
    services.question_move(question=new, direction="up")
    assert list(s1.questions.order_by("order").values_list("code", flat=True)) == [
        "Q1",
        "Q2",
        "Q3",
        "Q5",
        "Q4",
    ]
    # Q2 depends on Q1: moving Q1 below it would break the rule, so it is refused.
    with pytest.raises(SurveyError, match="pas une question précédente"):
        services.question_move(question=version.questions.get(code="Q1"), direction="down")
    assert list(s1.questions.order_by("order").values_list("code", flat=True))[:2] == ["Q1", "Q2"]
    with pytest.raises(SurveyError, match="a déjà le code"):
        services.question_save(section=s1, data=QuestionInput(code="Q1", type="text", label="x"))


def test_moving_a_section_reorders():
    version = services.questionnaire_import(data=questionnaire_data())
    # S2's RT depends on Q1 in S1: moving S2 first is refused.
    with pytest.raises(SurveyError):
        services.section_move(section=version.sections.get(code="S2"), direction="up")
    section = services.section_save(version=version, code="S3", title="Troisième")
    services.section_move(section=section, direction="up")
    assert list(version.sections.order_by("order").values_list("code", flat=True)) == [
        "S1",
        "S3",
        "S2",
    ]


def test_rating_needs_bounds():
    version = services.questionnaire_import(data=questionnaire_data())
    with pytest.raises(SurveyError, match="échelle de notation"):
        services.question_save(
            section=version.sections.first(),
            data=QuestionInput(code="RX", type="rating", label="Note"),
        )
    assert not Question.objects.filter(code="RX").exists()
