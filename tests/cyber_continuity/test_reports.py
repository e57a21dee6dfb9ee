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


def test_a_convention_names_the_crisis_function_and_switchboard_never_a_personal_mobile(
    template_v1, centre_a, centre_b, referent_a, oncologist_b
):
    """Every reader of a convention sees its text and PDF: a party's crisis contact is
    written as the function on call and the centre's switchboard, never the person's name,
    mobile or e-mail (those stay in the registry, for the readers defect 9 allows)."""
    from cyber_continuity.models import CentreProfile
    from tests.cyber_continuity.factories import ContactFactory

    CentreProfile.objects.create(centre=centre_a, switchboard_phone="03 20 44 59 62")
    ContactFactory(
        centre=centre_a,
        name="Jean Dupont",
        function="Cadre de santé d'astreinte",
        mobile_phone="06 12 34 56 78",
        email="jean.dupont@perso.example",
    )
    ContactFactory(centre=centre_b, name="Marie Curie", mobile_phone="07 98 76 54 32")
    convention = services.convention_create(
        template_version=template_v1,
        centres=[centre_a, centre_b],
        title="Entraide A — B",
        user=referent_a,
    )
    body = convention.clauses.get(kind="activation").body
    assert (
        "Contacts de crise : Cadre de santé d'astreinte, joignable par le standard "
        "03 20 44 59 62 ; Radiothérapeute d'astreinte." in body
    )
    for personal in ("06 12 34 56 78", "Dupont", "perso.example", "07 98 76 54 32", "Curie"):
        assert personal not in body
    response = login(oncologist_b).get(
        reverse("cyber_continuity:convention-pdf", args=[convention.pk])
    )
    assert response.status_code == 200
    text = " ".join(pdf_text(response.content).split())
    assert "Cadre de santé d'astreinte, joignable par le standard 03 20 44 59 62" in text
    assert "06 12 34 56 78" not in text and "Dupont" not in text
