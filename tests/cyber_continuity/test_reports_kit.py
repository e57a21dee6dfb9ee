"""Crisis kit PDF: what a centre prints for the night its IT is down."""

from __future__ import annotations

import pytest

from cyber_continuity import reports, services
from cyber_continuity.models import Technique
from onco_hdf.pdf import render_pdf
from tests.cyber_continuity.factories import ContactFactory, MachineFactory
from tests.cyber_continuity.test_reports import pdf_text

pytestmark = pytest.mark.django_db


def _kit_raw_text(centre) -> str:
    spec = reports.build_crisis_kit_context(centre=centre)
    return pdf_text(render_pdf(spec.template_name, spec.context))


def _kit_text(centre) -> str:
    """The kit's text with line breaks of table cells folded into spaces."""
    return " ".join(_kit_raw_text(centre).split())


def test_kit_phone_numbers_never_wrap(centre_a):
    ContactFactory(
        centre=centre_a,
        name="Dr Marie-Hélène Vandenberghe-Delacourt",
        function="Radiothérapeute d'astreinte, coordinatrice de la cellule de crise",
        mobile_phone="+33 6 12 34 56 78",
        messaging="Signal : marie-helene.vandenberghe-delacourt.astreinte",
        email="marie-helene.vandenberghe-delacourt@chu-exemple.fr",
        backup_email="mh.vandenberghe.delacourt.secours@messagerie-exemple.org",
    )
    lines = _kit_raw_text(centre_a).splitlines()
    assert any("+33 6 12 34 56 78" in line for line in lines)


def test_kit_has_no_english_jargon(centre_a, centre_b):
    MachineFactory(centre=centre_b, beam_matching_group="TB-1")
    services.plan_entry_add(
        centre=centre_a, technique=Technique.IMRT_VMAT, receiving_centre=centre_b
    )
    text = _kit_text(centre_a)
    assert "Groupe d'appariement dosimétrique" in text
    for english in ("record-and-verify", "beam-matching"):
        assert english not in text


def test_kit_v2_sections(centre_a, centre_b, pm, in_force_ab):
    from datetime import timedelta

    from django.utils import timezone

    from cyber_continuity.models import Authority, InformationSystem
    from tests.cyber_continuity.factories import CapacityFactory

    Authority.objects.create(kind="ars", name="ARS Hauts-de-France", phone="03 62 72 77 77")
    MachineFactory(centre=centre_b, mlc="HD120", energies="6 MV, 10 FFF", name="Halcyon 2")
    InformationSystem.objects.create(
        centre=centre_b,
        kind="tps",
        vendor="Varian",
        product="Eclipse",
        version="18",
        hosting="on_site",
    )
    CapacityFactory(centre=centre_b, free_slots_per_day=5, surge_slots_per_day=2)
    CapacityFactory(
        centre=centre_a, attested_at=timezone.now() - timedelta(days=40), free_slots_per_day=1
    )
    services.plan_entry_add(
        centre=centre_a, technique=Technique.IMRT_VMAT, receiving_centre=centre_b
    )
    text = _kit_text(centre_a)
    for expected in (
        "Autorités et astreintes",
        "ARS Hauts-de-France",
        "03 62 72 77 77",
        "Catégories d'urgence et délai avant préjudice",
        "Recensement des patients en cours de traitement",
        "Patient (identité)",
        "HD120",
        "6 MV, 10 FFF",
        "Varian Eclipse 18",
        "Convention : Entraide A — B (En vigueur",
        "Personnel mis à disposition",
        "Check-list de la première heure",
        "il y a plus de 30 jours",
    ):
        assert expected in text, expected
