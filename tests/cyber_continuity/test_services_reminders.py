"""Capacity reminders: a centre without a referent is escalated to the project manager."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from cyber_continuity import services
from tests.conftest import login
from tests.cyber_continuity.factories import CapacityFactory, CentreFactory

pytestmark = pytest.mark.django_db


def test_centres_without_referent_are_escalated_to_the_project_manager(centre_a, referent_a, pm):
    pm.email = "chef.projet@onco-hdf.example"
    pm.save()
    orphan = CentreFactory(name="CH Orphelin")
    old = timezone.now() - timedelta(days=45)
    CapacityFactory(centre=centre_a, attested_at=old)
    CapacityFactory(centre=orphan, attested_at=old)
    assert services.capacity_attestation_remind() == 2
    to_pm = [m for m in mail.outbox if m.to == ["chef.projet@onco-hdf.example"]]
    assert len(to_pm) == 1
    assert "1 centre(s) sans référent" in to_pm[0].subject
    assert "- CH Orphelin" in to_pm[0].body
    assert centre_a.name not in to_pm[0].body
    # Claimed for a week: a rerun sends nothing twice.
    mail.outbox.clear()
    assert services.capacity_attestation_remind() == 0
    assert mail.outbox == []


def test_overview_lists_centres_without_referent(centre_a, referent_a, pm, copil):
    orphan = CentreFactory(name="CH Orphelin")
    html = login(copil).get(reverse("cyber_continuity:overview")).content.decode()
    section = html[html.index("Centres sans personne à relancer") :]
    section = section[: section.index("</section>")]
    assert orphan.name in section
    assert centre_a.name not in section
