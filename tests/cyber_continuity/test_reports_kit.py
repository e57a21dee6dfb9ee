"""Crisis kit PDF: what a centre prints for the night its IT is down."""

from __future__ import annotations

import pytest

from cyber_continuity import reports, services
from cyber_continuity.models import Technique
from onco_hdf.pdf import render_pdf
from tests.cyber_continuity.factories import ContactFactory, MachineFactory
from tests.cyber_continuity.test_reports import pdf_text

pytestmark = pytest.mark.django_db


def _kit_text(centre) -> str:
    spec = reports.build_crisis_kit_context(centre=centre)
    return pdf_text(render_pdf(spec.template_name, spec.context))


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
    lines = _kit_text(centre_a).splitlines()
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
