"""Malformed input gets a French 400 or a form error, never a 500.

A NUL byte cannot be stored by PostgreSQL (text and jsonb refuse it), so before the guard
every path that stored or filtered on a raw value answered 500 there."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from tests.conftest import login
from tests.surveys.factories import CampaignFactory, invite

NUL_MESSAGE = "caractère nul"


def _client(user=None) -> Client:
    client = login(user) if user else Client()
    client.raise_request_exception = False
    return client


def _assert_refused(response):
    assert response.status_code == 400
    assert NUL_MESSAGE in response.content.decode()


@pytest.fixture
def token(centre_a):
    campaign = CampaignFactory()
    campaign.centres.set([centre_a])
    return invite(campaign, centre_a)[1]


@pytest.mark.django_db
def test_nul_byte_in_an_anonymous_survey_answer_is_refused_in_french(token):
    client = _client()
    section = reverse("surveys:token-section", args=[token, "S1"])
    _assert_refused(client.post(section, {"q-Q1": "a", "q-Q2": "4", "q-Q4": "Co\x00urt"}))
    autosave = reverse("surveys:token-autosave", args=[token, "S1"])
    response = client.post(autosave, {"q-Q4": "Co\x00urt"}, HTTP_ACCEPT="application/json")
    assert response.status_code == 400
    assert NUL_MESSAGE in response.json()["message"]
    # A clean answer still saves afterwards.
    assert client.post(autosave, {"q-Q4": "Court"}).status_code == 200


@pytest.mark.django_db
def test_nul_byte_in_report_parameters_is_refused(pm, centre_a):
    campaign = CampaignFactory()
    url = reverse("onco_hdf:report-start", args=["surveys.report"])
    _assert_refused(_client(pm).post(url, {"p_campaign": f"{campaign.pk}\x00"}))


@pytest.mark.django_db
def test_nul_byte_in_result_filters_is_refused(pm):
    campaign = CampaignFactory()
    url = reverse("surveys:campaign-results", args=[campaign.pk])
    _assert_refused(_client(pm).get(url, {"sector": "public\x00"}))


@pytest.mark.django_db
def test_nul_byte_in_a_parameter_name_or_json_body_is_refused(pm):
    client = _client(pm)
    _assert_refused(client.get(reverse("home"), {"a\x00": "1"}))
    response = client.post(
        reverse("home"), json.dumps({"nested": ["x\u0000"]}), content_type="application/json"
    )
    assert response.status_code == 400
    assert NUL_MESSAGE in response.json()["message"]


@pytest.mark.django_db
def test_english_visitors_read_the_message_in_english(pm):
    client = _client(pm)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("home"), {"q": "\x00"})
    assert response.status_code == 400
    assert "null character" in response.content.decode()


@pytest.mark.django_db
def test_an_id_beyond_64_bits_is_an_invalid_choice_in_french(pm, centre_a, centre_b):
    """A choice of centres by id once reached the database with 40 digits: OverflowError."""
    url = reverse("cyber_continuity:convention-create")
    response = _client(pm).post(url, {"title": "A — B", "centres": ["9" * 40, str(centre_a.pk)]})
    assert response.status_code == 200
    html = response.content.decode()
    assert "n’est pas une valeur correcte" in html or "n'est pas une valeur correcte" in html
    assert 'value="A — B"' in html  # what was typed stays
