"""The pages of a comparison, end to end through the Django test client (French UI)."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from contouring.models import ClinicalCase, Submission
from onco_hdf.models import JobStatus
from tests.conftest import login
from tests.contouring.conftest import create_case, ct_zip, solution_for, submit, uploaded, zipped


def text(response) -> str:
    return html.unescape(response.content.decode())


def test_project_manager_opens_a_case_from_a_zip(head_neck_files, pm):
    client = login(pm)
    page = text(client.get(reverse("contouring:case-create")))
    assert "Ouvrir un cas clinique" in page
    response = client.post(
        reverse("contouring:case-create"),
        {
            "title": "Cas ORL 1",
            "site": "head_neck",
            "description": "Premier cas",
            "ct_files": [ct_zip(head_neck_files, with_reference=True)],
        },
    )
    case = ClinicalCase.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("contouring:case-detail", args=[case.pk])
    detail = text(client.get(response["Location"]))
    assert "Cas ORL 1" in detail and "Parotid_L" in detail and "désidentifiés" in detail
    assert case.pseudonym in detail


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"../../evil.dcm": b"x"}, "sort de son dossier"),
        ({"notes.txt": b"hello" * 50}, "n'est pas un fichier DICOM"),
    ],
)
def test_bad_case_upload_shows_a_french_message_and_keeps_the_form(files, message, pm):
    client = login(pm)
    response = client.post(
        reverse("contouring:case-create"),
        {
            "title": "Mon cas",
            "site": "prostate",
            "description": "",
            "ct_files": [zipped(files)],
        },
    )
    page = text(response)
    assert response.status_code == 200
    assert message in page
    assert 'value="Mon cas"' in page
    assert ClinicalCase.objects.count() == 0


def test_physicist_uploads_maps_and_project_manager_compares(
    head_neck_files, pm, physicist_a, centre_a, oncologist_b, django_capture_on_commit_callbacks
):
    case = create_case(head_neck_files, pm)
    solution = solution_for(head_neck_files.solutions[1].solution)
    physicist = login(physicist_a)
    url = reverse("contouring:submission-create", args=[case.pk])
    form = text(physicist.get(url))
    assert "aucune retouche manuelle" in form

    # Without the attestation: refused, in French, nothing stored.
    response = physicist.post(
        url,
        {
            "solution": solution.pk,
            "centre": centre_a.pk,
            "file": uploaded(head_neck_files.solutions[1].path),
        },
    )
    assert "L'attestation d'absence de retouche manuelle est obligatoire" in text(response)
    assert Submission.objects.count() == 0

    response = physicist.post(
        url,
        {
            "solution": solution.pk,
            "centre": centre_a.pk,
            "file": uploaded(head_neck_files.solutions[1].path),
            "attested": "on",
        },
    )
    submission = Submission.objects.get()
    assert response["Location"] == reverse("contouring:submission-detail", args=[submission.pk])
    assert submission.uploaded_by == physicist_a and submission.centre == centre_a
    page = text(physicist.get(response["Location"]))
    assert "Parotide G" in page and "Synonyme / nom TG-263" in page and "à confirmer" in page

    # The same file again: a duplicate.
    again = physicist.post(
        url,
        {
            "solution": solution.pk,
            "centre": centre_a.pk,
            "file": uploaded(head_neck_files.solutions[1].path),
            "attested": "on",
        },
    )
    assert "a déjà été déposé pour ce cas" in text(again)

    data = {f"structure_{m.structure_id}": m.roi_id for m in submission.mappings.all()}
    confirmed = physicist.post(response["Location"], data)
    assert confirmed.status_code == 302
    submission.refresh_from_db()
    assert submission.is_mapped

    manager = login(pm)
    with django_capture_on_commit_callbacks(execute=True):
        started = manager.post(
            reverse("contouring:comparison-start", args=[case.pk]), {"include_consensus": "on"}
        )
    assert started.status_code == 302
    run = case.runs.get()
    assert run.job.status == JobStatus.DONE, run.job.message
    detail = text(manager.get(reverse("contouring:case-detail", args=[case.pk])))
    assert "data-job-status-url" in detail and "100 %" in detail
    # The physicist did not start the job: its status as text, no polling of a 404.
    seen = text(physicist.get(reverse("contouring:case-detail", args=[case.pk])))
    assert "data-job-status-url" not in seen and "Dernière comparaison" in seen

    results = text(manager.get(reverse("contouring:case-results", args=[case.pk])))
    assert "Rapport de volumes" in results and "HD95" in results and "<svg" in results
    shifted = case.results.get(structure__name="Parotid_L", test=submission)
    assert f"{shifted.dsc:.3f}".replace(".", ",") in results

    structure = case.structures.get(name="Parotid_L")
    overlays = manager.get(reverse("contouring:structure-overlays", args=[case.pk, structure.pk]))
    assert overlays.status_code == 200
    k = overlays.context["slices"][0]
    overlay_page = text(overlays)
    assert "Coupes affichées : le milieu de la structure" in overlay_page
    assert "milieu de la structure" in overlay_page and "désaccord :" in overlay_page
    image = manager.get(reverse("contouring:overlay-image", args=[case.pk, structure.pk, k]))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image.content[:8] == b"\x89PNG\r\n\x1a\n"

    # The physicist of the centre sees their own results; another centre gets a 404.
    own = text(physicist.get(reverse("contouring:case-results", args=[case.pk])))
    assert "Vous voyez les résultats des soumissions de votre centre" in own
    other = login(oncologist_b)
    assert (
        other.get(reverse("contouring:submission-detail", args=[submission.pk])).status_code == 404
    )


def test_solution_registration_and_duplicate(physicist_a):
    client = login(physicist_a)
    data = {
        "vendor": "Vendeur",
        "product": "Produit",
        "model_version": "2.1",
        "ce_marking": "mdr_iia",
    }
    assert client.post(reverse("contouring:solution-create"), data).status_code == 302
    again = text(client.post(reverse("contouring:solution-create"), data))
    assert "existe déjà" in again or "est déjà enregistrée" in again
    listing = text(client.get(reverse("contouring:solution-list")))
    assert "Marquage CE, MDR classe IIa" in listing


def test_mapping_error_is_shown_on_the_page(head_neck_files, pm, physicist_a, centre_a):
    case = create_case(head_neck_files, pm)
    submission, _warnings = submit(case, head_neck_files, 0, centre_a, pm, confirm=False)
    roi = submission.rois.first()
    data = {f"structure_{m.structure_id}": roi.pk for m in submission.mappings.all()}
    response = login(physicist_a).post(
        reverse("contouring:submission-detail", args=[submission.pk]), data
    )
    assert response.status_code == 200
    assert "est choisie à la fois pour" in text(response)
