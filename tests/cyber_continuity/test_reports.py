from __future__ import annotations

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from cyber_continuity import services
from cyber_continuity.models import Technique
from onco_hdf.models import Job
from tests.conftest import login

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_convention_pdf_is_rendered_from_its_text(in_force_ab, referent_a):
    clause = in_force_ab.clauses.get(kind="staff")
    clause.body = "Deux manipulateurs mis à disposition <script>x</script>"
    clause.save()
    response = login(referent_a).get(
        reverse("cyber_continuity:convention-pdf", args=[in_force_ab.pk])
    )
    assert response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    assert "Entraide A — B" in text
    assert "Article 6 — Personnel mis à disposition" in text
    assert "Deux manipulateurs mis à disposition <script>x</script>" in text
    assert "Centre A (test)" in text and "En vigueur" in text
    assert "Signatures" in text
    assert "ReferentTest" in "".join(text.split())  # who signed


def test_crisis_kit_pdf(region, referent_a, in_force_ab):
    services.plan_entry_add(
        centre=region["a"], technique=Technique.IMRT_VMAT, receiving_centre=region["b"]
    )
    response = login(referent_a).get(
        reverse("cyber_continuity:crisis-kit-pdf", args=[region["a"].pk])
    )
    text = pdf_text(response.content)
    assert "Kit de crise — A" in text
    assert "Check-list de la première heure" in text
    compact = "".join(text.split())  # table cells wrap words
    assert "".join(region["a"].crisis_contacts.get().name.split()) in compact
    assert "".join(region["b"].crisis_contacts.get().name.split()) in compact  # receiver's
    assert "TrueBeam" in text  # receiving centre's machines
    assert "Entraide A — B" in text  # convention in force
    assert "Données minimales pour un patient transféré" in text
    assert "RT Structure Set" in text
    assert "RCMI / VMAT" in text


def test_crisis_kit_as_a_background_report(region, referent_a, django_capture_on_commit_callbacks):
    client = login(referent_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("onco_hdf:report-start", args=["cyber_continuity.crisis_kit"]),
            {"p_centre": region["a"].pk},
        )
    job = Job.objects.get()
    assert response["Location"].endswith(f"/taches/{job.pk}/")
    job.refresh_from_db()
    assert job.status == "done", job.message
    assert "Kit de crise" in pdf_text(job.result_file.read())


def test_crisis_kit_report_with_a_bad_centre_fails_readably(
    referent_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        login(referent_a).post(
            reverse("onco_hdf:report-start", args=["cyber_continuity.crisis_kit"]),
            {"p_centre": "abc"},
        )
    job = Job.objects.get()
    assert job.status == "failed" and job.message == "Aucun centre n'a été choisi."
