"""An import writes its questionnaire in bulk: a few SQL queries per batch of rows, not
three per question, which keeps a 200-field dictionary well under 2 s."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys.interop import convert_upload
from surveys.models import Choice, Question
from surveys.services import questionnaire_import
from tests.requirements import need_shared_data

pytestmark = pytest.mark.django_db


def import_queries(name: str) -> tuple[int, int]:
    path = need_shared_data("survey-imports", name)
    data = convert_upload(name, path.read_bytes()).data
    with CaptureQueriesContext(connection) as queries:
        version = questionnaire_import(data=data)
    expected = sum(len(s["questions"]) for s in data["sections"])
    assert version.questions.count() == expected
    options = sum(len(q.get("options", [])) + len(q.get("rows", []))
                  for s in data["sections"] for q in s["questions"])  # fmt: skip
    assert Choice.objects.filter(question__version=version).count() == options
    return len(queries), expected


def test_import_writes_in_bulk_batches_not_row_by_row():
    small, small_questions = import_queries("redcapAPI_TestRedcapAPI_DataDictionary.csv")
    large, large_questions = import_queries("CCC19_DataDictionary.csv")
    assert large_questions > 5 * small_questions
    # Before the bulk writes: 3 queries per question (about 1,000 for CCC19).
    assert small < 20
    # The batches of choice rows only: SQLite's limit of 999 parameters per query keeps
    # them to about a hundred rows each (34 queries for CCC19), PostgreSQL's are larger.
    assert large <= large_questions // 5
    # The bulk writes keep every link: each matrix keeps its rows, each option its order.
    cbc = Question.objects.get(code="cbc")
    assert [r.code for r in cbc.rows()][:2] == ["wbc_range", "alc_range"]
    assert cbc.section.code.startswith("covid19_details")
