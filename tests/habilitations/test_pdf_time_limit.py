"""A synchronous PDF page whose layout runs out of time answers a French page, not a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from habilitations.models import SheetStatus
from tests.conftest import login
from tests.habilitations.factories import make_sheet


@pytest.mark.django_db
def test_sheet_pdf_out_of_time_says_so_in_french(oncologist_a, centre_a, version, settings):
    settings.PDF_RENDER_SECONDS = 0
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.DRAFT)
    response = login(oncologist_a).get(reverse("habilitations:sheet-pdf", args=[sheet.pk]))
    assert response.status_code == 503
    page = response.content.decode()
    assert "Le PDF n’a pas pu être construit" in page
    assert "a dépassé la durée autorisée (0 s) et a été arrêtée" in page
