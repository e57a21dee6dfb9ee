"""Two submits of one response at the same instant, on PostgreSQL (real row locks)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from surveys import services
from surveys.models import Response, ResponseStatus, ResponseTransition
from tests.concurrency import run_together
from tests.requirements import need_postgres
from tests.surveys.factories import FULL_S1, FULL_S2, post

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def filled(campaign, centre_a, actor):
    response = services.response_open(campaign=campaign, centre=centre_a, actor=actor)
    for section, data in (("S1", FULL_S1), ("S2", FULL_S2)):
        services.response_save_section(
            response=response, section_code=section, data=post(data), actor=actor
        )
    return response


def test_double_submit_gives_one_submission(filled, actor):
    need_postgres()
    outcomes = run_together(
        lambda: services.response_submit(response=filled, actor=actor),
        lambda: services.response_submit(response=filled, actor=actor),
    )
    done = [o for o in outcomes if isinstance(o, Response)]
    refused = [o for o in outcomes if isinstance(o, services.AlreadySubmitted)]
    assert len(done) == 1 and len(refused) == 1, outcomes
    assert ResponseTransition.objects.filter(to_status=ResponseStatus.SUBMITTED).count() == 1


def test_double_click_in_the_browser_gets_a_friendly_message(filled, token):
    need_postgres()
    url = reverse("surveys:token-review", args=[token])
    pages = run_together(
        lambda: Client().post(url, follow=True), lambda: Client().post(url, follow=True)
    )
    texts = [p.content.decode() for p in pages]
    assert sum("Merci : votre réponse a été envoyée." in t for t in texts) == 1
    assert sum("avait déjà été envoyée" in t for t in texts) == 1
    assert Response.objects.get().status == ResponseStatus.SUBMITTED
