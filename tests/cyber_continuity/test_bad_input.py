"""Tampered convention forms get a French 400, never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from cyber_continuity import services
from tests.conftest import login


@pytest.mark.django_db
@pytest.mark.parametrize("party", ["abc", "1.5", "", "-1", "\u0661"])
def test_a_party_that_is_not_a_number_is_refused_in_french(party, convention_ab, referent_a):
    services.convention_transition(
        convention=convention_ab, to_status="negotiation", user=referent_a
    )
    services.convention_transition(
        convention=convention_ab, to_status="awaiting_signature", user=referent_a
    )
    client = login(referent_a)
    client.raise_request_exception = False
    url = reverse("cyber_continuity:convention-sign", args=[convention_ab.pk])
    response = client.post(url, {"party": party})
    assert response.status_code == 400
    assert "Choisissez le centre pour lequel vous signez" in response.content.decode()
    convention_ab.refresh_from_db()
    assert convention_ab.status == "awaiting_signature"
    assert not convention_ab.parties.filter(signed_at__isnull=False).exists()


@pytest.mark.django_db
def test_a_number_beyond_any_id_is_no_party_of_the_user(convention_ab, referent_a):
    client = login(referent_a)
    client.raise_request_exception = False
    url = reverse("cyber_continuity:convention-sign", args=[convention_ab.pk])
    assert client.post(url, {"party": "9" * 30}).status_code == 403
