"""The kept crisis kit editions of a centre: listed with their dates, each downloadable."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from cyber_continuity.models import CrisisKitEdition
from onco_hdf.models import ReadAudit
from tests.conftest import login

pytestmark = pytest.mark.django_db
PARIS = ZoneInfo("Europe/Paris")


def _edition(centre, when, reason, content):
    edition = CrisisKitEdition(centre=centre, reason=reason, created_at=when)
    edition.pdf.save("kit.pdf", ContentFile(content), save=False)
    edition.save()
    return edition


@pytest.fixture
def editions(centre_a):
    old = _edition(centre_a, datetime(2026, 10, 1, 3, 0, tzinfo=PARIS), "monthly", b"%PDF old")
    new = _edition(
        centre_a, datetime(2026, 11, 14, 9, 30, tzinfo=PARIS), "plan_change", b"%PDF new"
    )
    return old, new


def test_previous_kits_listed_newest_first_with_dates_and_reasons(editions, centre_a, referent_a):
    old, new = editions
    client = login(referent_a)
    detail = client.get(reverse("cyber_continuity:centre-detail", args=[centre_a.pk]))
    assert "Kits de crise précédents" in detail.content.decode()
    html = client.get(reverse("cyber_continuity:kit-edition-list", args=[centre_a.pk]))
    text = html.content.decode()
    assert text.index("14/11/2026 09:30") < text.index("01/10/2026 03:00")
    assert "Plan de transfert modifié" in text and "Régénération mensuelle" in text
    assert text.count("Télécharger (PDF)") == 2
    assert "dernier" in text and "précédent" in text


def test_download_gives_that_edition_and_is_audited(editions, referent_a):
    old, _new = editions
    response = login(referent_a).get(
        reverse("cyber_continuity:kit-edition-download", args=[old.pk])
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF old"
    assert response["Content-Type"] == "application/pdf"
    assert "kit-crise-a-20261001-0300.pdf" in response["Content-Disposition"]
    (audit,) = ReadAudit.objects.filter(object_type="cyber_continuity.crisiskitedition")
    assert audit.actor == referent_a.username and audit.object_id == str(old.pk)


def test_member_who_may_not_read_contacts_sees_dates_but_cannot_download(editions, oncologist_a):
    old, _new = editions
    client = login(oncologist_a)
    html = client.get(reverse("cyber_continuity:kit-edition-list", args=[old.centre_id]))
    text = html.content.decode()
    assert "01/10/2026 03:00" in text and "Télécharger (PDF)" not in text
    assert 'id="kit-download-restricted"' in text
    download = client.get(reverse("cyber_continuity:kit-edition-download", args=[old.pk]))
    assert download.status_code == 403


def test_no_edition_yet_says_so(centre_a, pm):
    html = login(pm).get(reverse("cyber_continuity:kit-edition-list", args=[centre_a.pk]))
    assert "Aucune édition conservée" in html.content.decode()
