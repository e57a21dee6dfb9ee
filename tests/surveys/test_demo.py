"""The seeded auto-contouring questionnaire and the demo campaign."""

import pytest
from django.core.management import call_command

from onco_hdf import demo as core_demo
from surveys import demo
from surveys.autocontouring import CODE
from surveys.models import Campaign, QuestionnaireVersion, Response, ResponseStatus

pytestmark = pytest.mark.django_db


def test_install_command_is_idempotent():
    call_command("install_autocontouring_survey")
    call_command("install_autocontouring_survey")
    first, second = QuestionnaireVersion.objects.filter(questionnaire__code=CODE).order_by("number")
    assert (first.status, second.status) == ("published", "published")
    assert 25 <= first.questions.count() <= 35
    assert list(first.sections.values_list("code", flat=True)) == ["A", "B", "C", "D", "E", "F"]
    assert list(second.sections.values_list("code", flat=True)) == [
        "A", "B", "BS", "C", "D", "G", "E", "F"
    ]  # fmt: skip
    for version in (first, second):
        assert version.questions.get(code="C1_SITES").show_if["value"] == "routine"


def test_demo_seed_simulates_varied_responses_and_is_idempotent():
    core_demo.seed()
    demo.seed()
    demo.seed()
    campaign = Campaign.objects.get(title=demo.CAMPAIGN_TITLE)
    assert campaign.is_demo
    submitted = campaign.responses.filter(status=ResponseStatus.SUBMITTED)
    assert submitted.count() == 11
    assert campaign.responses.filter(status=ResponseStatus.IN_PROGRESS).count() == 2
    assert all(r.is_demo for r in Response.objects.all())
    usages = {r.snapshot["answers"]["B1_USAGE"]["value"] for r in submitted}
    assert len(usages) >= 3
