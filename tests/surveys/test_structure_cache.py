"""A frozen version's structure is read once per process; drafts and changes are never stale."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys import services
from surveys.models import Question, QuestionnaireVersion, VersionStatus
from surveys.selectors import version_structure
from tests.surveys.factories import published_version, questionnaire_data

pytestmark = pytest.mark.django_db


def queries_of(version) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        structure = version_structure(version)
    return len(queries), [q.code for q in structure.questions]


def test_published_structure_is_read_once():
    version = published_version()
    first_count, first_codes = queries_of(version)
    second_count, second_codes = queries_of(version)
    assert first_count == 3  # sections, questions, choices
    assert second_count == 0
    assert second_codes == first_codes and first_codes


def test_draft_is_always_read_fresh():
    draft = services.questionnaire_import(data=questionnaire_data())
    count, codes = queries_of(draft)
    again, _codes = queries_of(draft)
    assert count == again == 3
    assert "NEW1" not in codes
    section = draft.sections.first()
    Question.objects.create(
        version=draft, section=section, code="NEW1", type="text", label="Nouvelle", order=99
    )
    assert "NEW1" in queries_of(draft)[1]


def test_a_saved_question_replaces_the_kept_structure():
    """Frozen versions are not changed by the services, but a change made anyway in this
    process (shell, data fix) is seen at once."""
    version = published_version()
    question = version_structure(version).questions[0]
    assert queries_of(version)[0] == 0  # kept
    stored = Question.objects.get(pk=question.pk)
    stored.label = "Libellé corrigé"
    stored.save(update_fields=["label"])
    with CaptureQueriesContext(connection) as queries:
        label = version_structure(version).questions[0].label
    assert (len(queries), label) == (3, "Libellé corrigé")


@pytest.mark.parametrize("closed_in", ["this process", "another process"])
def test_closing_a_version_is_a_new_entry_with_the_new_version_object(closed_in):
    """The structure kept for the published version is not served for the closed one. Closed
    in this process, the version's save also empties the store; closed in another process, no
    signal reaches this one and the status in the key alone makes it a new entry."""
    version = published_version()
    count, codes = queries_of(version)
    assert (count, queries_of(version)[0]) == (3, 0)  # read, then kept
    if closed_in == "this process":
        closed = services.version_close(version=version, user=None)
    else:
        QuestionnaireVersion.objects.filter(pk=version.pk).update(status=VersionStatus.CLOSED)
        closed = QuestionnaireVersion.objects.get(pk=version.pk)
    assert closed is not version
    with CaptureQueriesContext(connection) as queries:
        structure = version_structure(closed)
    assert len(queries) == 3  # re-read for the closed version
    assert structure.version is closed
    assert structure.version.status == VersionStatus.CLOSED
    assert [q.code for q in structure.questions] == codes
    assert queries_of(closed) == (0, codes)  # the closed version's entry is kept in turn
