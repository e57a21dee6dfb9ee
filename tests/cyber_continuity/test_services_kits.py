"""Crisis kit editions: monthly, after a plan change, previous ones kept, referents e-mailed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from cyber_continuity import services
from cyber_continuity.models import CrisisKitEdition, Technique
from tests.cyber_continuity.factories import CapacityFactory
from tests.cyber_continuity.test_reports import pdf_text

pytestmark = pytest.mark.django_db


def test_plan_change_makes_a_new_kit_and_mails_the_referent(
    centre_a, centre_b, referent_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_entry_add(
            centre=centre_a, technique=Technique.IMRT_VMAT, receiving_centre=centre_b
        )
    (edition,) = CrisisKitEdition.objects.filter(centre=centre_a)
    assert edition.reason == "plan_change"
    text = " ".join(pdf_text(edition.pdf.read()).split())
    assert "Kit de crise — A" in text and centre_b.name in text
    (message,) = mail.outbox
    assert message.to == [referent_a.email]
    assert "Nouveau kit de crise — A" in message.subject
    assert message.attachments[0][2] == "application/pdf"
    entry = centre_a.transfer_plan.get()
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_entry_delete(entry=entry)
    assert CrisisKitEdition.objects.filter(centre=centre_a).count() == 2  # previous one kept


def test_monthly_regeneration_once_per_month(centre_a, centre_b, referent_a):
    CapacityFactory(centre=centre_a)
    now = timezone.now()
    assert services.crisis_kits_monthly(now=now) == 1
    assert services.crisis_kits_monthly(now=now) == 0
    assert services.crisis_kits_monthly(now=now + timedelta(days=32)) == 1
    assert CrisisKitEdition.objects.filter(centre=centre_a, reason="monthly").count() == 2
    assert not CrisisKitEdition.objects.filter(centre=centre_b).exists()
