"""A synchronous PDF page whose layout runs out of time answers a French page, not a 500."""

from __future__ import annotations

import time

import pytest
import yaml
from django.urls import reverse

from habilitations.models import SheetStatus
from tests.conftest import login
from tests.habilitations.factories import make_sheet
from tests.requirements import REPO_ROOT


@pytest.mark.django_db
def test_sheet_pdf_out_of_time_says_so_in_french(oncologist_a, centre_a, version, settings):
    settings.PDF_RENDER_SECONDS = 0
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.DRAFT)
    response = login(oncologist_a).get(reverse("habilitations:sheet-pdf", args=[sheet.pk]))
    assert response.status_code == 503
    page = response.content.decode()
    assert "Le PDF n’a pas pu être construit" in page
    assert "a dépassé la durée autorisée (0 s) et a été arrêtée" in page


@pytest.mark.django_db
def test_a_slow_sheet_pdf_is_stopped_at_the_cap_with_the_french_page(
    oncologist_a, centre_a, version, settings, monkeypatch
):
    """A layout that would take a minute, in the forked child, is killed at the cap: the
    request answers the French page within seconds and leaves no child behind."""
    from onco_hdf import pdf
    from tests.onco_hdf.test_pdf import _zombies

    def slow_layout(html):
        time.sleep(60)
        return b"%PDF-never"

    monkeypatch.setattr(pdf, "_write_pdf", slow_layout)
    settings.PDF_RENDER_SECONDS = 2
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.DRAFT)
    client = login(oncologist_a)
    started = time.monotonic()
    response = client.get(reverse("habilitations:sheet-pdf", args=[sheet.pk]))
    elapsed = time.monotonic() - started
    assert 2 <= elapsed < 20
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Le PDF n’a pas pu être construit" in page
    assert "a dépassé la durée autorisée (2 s) et a été arrêtée" in page
    assert _zombies() == 0
    # The page still works afterwards: the next request is served by the same process.
    assert client.get(reverse("habilitations:sheet-detail", args=[sheet.pk])).status_code == 200


def test_gunicorn_waits_longer_than_the_synchronous_pdf_cap(settings):
    """Past gunicorn's --timeout the worker is killed (the user gets the proxy's error):
    the synchronous cap must stop the layout well before."""
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    command = compose["services"]["web"]["command"]
    timeout = float(command[command.index("--timeout") + 1])
    assert timeout >= settings.PDF_RENDER_SECONDS + 30
