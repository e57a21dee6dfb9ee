"""Authorities directory (kept by the project manager) and the crisis's mandatory reporting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from cyber_continuity import services
from cyber_continuity.models import Authority
from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_directory_freshness_and_confirmation(pm, referent_a):
    fresh = services.authority_save(
        authority=Authority(kind="ars", name="ARS Hauts-de-France", phone="03 62 72 77 77"),
        user=pm,
    )
    old = Authority.objects.create(
        kind="asn",
        name="ASN — division de Lille",
        phone="03 20 13 65 65",
        checked_at=timezone.now() - timedelta(days=45),
    )
    assert not fresh.is_stale and old.is_stale
    html = login(referent_a).get(reverse("cyber_continuity:authority-list")).content.decode()
    assert "ASN — division de Lille" in html
    assert "1 numéro non vérifié depuis plus de 30 jours." in html
    assert services.authorities_confirm(user=pm) == 2
    old.refresh_from_db()
    assert not old.is_stale and old.checked_by == pm


def test_mandatory_report_checklist_with_its_clock(centre_a, referent_a):
    crisis = services.crisis_declare(
        centre=centre_a, systems_down=["ois"], description="", user=referent_a
    )
    three_hours_ago = timezone.now() - timedelta(hours=3)
    type(crisis).objects.filter(pk=crisis.pk).update(
        started_at=three_hours_ago, declared_at=three_hours_ago
    )
    crisis.refresh_from_db()
    later = crisis.declared_at + timedelta(hours=2, minutes=5)
    items = {i.recipient: i for i in services.crisis_report_checklist(crisis, now=later)}
    assert items["ars"].report is None
    assert items["ars"].clock == timedelta(hours=2, minutes=5)
    services.crisis_report_record(
        crisis=crisis,
        recipient="ars",
        declared_at=crisis.declared_at + timedelta(minutes=40),
        reference="SIGNAL-2026-0042",
        declared_by="Mme Durand, directrice de garde",
        user=referent_a,
    )
    items = {i.recipient: i for i in services.crisis_report_checklist(crisis, now=later)}
    assert items["ars"].report.reference == "SIGNAL-2026-0042"
    assert items["ars"].clock == timedelta(minutes=40)
    assert items["cert_sante"].report is None
    with pytest.raises(ValidationError, match="déjà enregistrée"):
        services.crisis_report_record(
            crisis=crisis,
            recipient="ars",
            declared_at=timezone.now(),
            reference="x",
            declared_by="y",
            user=referent_a,
        )
    html = login(referent_a).get(reverse("cyber_continuity:crisis-detail", args=[crisis.pk]))
    text = html.content.decode()
    assert "référence SIGNAL-2026-0042, par Mme Durand, directrice de garde" in text
    assert "40 min après la déclaration de la crise" in text
    assert "à faire" in text
    assert "Signalement obligatoire à ARS" in crisis.events.order_by("-pk").first().text


def test_report_form_keeps_what_was_typed(centre_a, referent_a):
    crisis = services.crisis_declare(
        centre=centre_a, systems_down=["ois"], description="", user=referent_a
    )
    future = timezone.localtime() + timedelta(days=1)
    page = login(referent_a).post(
        reverse("cyber_continuity:crisis-report-add", args=[crisis.pk]),
        {
            "recipient": "cert_sante",
            "declared_at": future.strftime("%Y-%m-%dT%H:%M"),
            "reference": "CERT-77",
            "declared_by": "RSSI",
        },
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert "La déclaration ne peut pas être dans le futur." in html
    assert 'value="CERT-77"' in html
    assert not crisis.reports.exists()
