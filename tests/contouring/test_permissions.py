"""Permission matrix: URL × persona × expected status.

A centre sees its own submissions (another centre's: 404); the project manager and the
COPIL see every result; physicists upload for their centre; only the project manager
opens cases and runs comparisons; anonymous visitors are sent to the login page.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from contouring.models import ResultKind
from tests.contouring.conftest import create_case, submit

PERSONAS = ("anonymous", "pm", "copil", "referent_a", "oncologist_a", "physicist_a", "oncologist_b")

# url name -> expected status per persona, in PERSONAS order.
GET_MATRIX = {
    "contouring:case-list": (302, 200, 200, 200, 200, 200, 200),
    "contouring:case-create": (302, 200, 403, 403, 403, 403, 403),
    "contouring:case-detail": (302, 200, 200, 200, 200, 200, 200),
    "contouring:case-update": (302, 200, 403, 403, 403, 403, 403),
    "contouring:dose-create": (302, 200, 403, 403, 403, 403, 403),
    "contouring:case-results": (302, 200, 200, 200, 200, 200, 200),
    "contouring:submission-create": (302, 200, 403, 403, 403, 200, 403),
    "contouring:submission-detail": (302, 200, 200, 200, 200, 200, 404),
    "contouring:solution-list": (302, 200, 200, 200, 200, 200, 200),
    "contouring:objective-list": (302, 200, 200, 200, 200, 200, 200),
    "contouring:objective-create": (302, 200, 403, 403, 403, 403, 403),
    "contouring:solution-create": (302, 200, 403, 403, 403, 200, 403),
    "contouring:structure-overlays": (302, 200, 200, 200, 200, 200, 200),
    "contouring:structure-viewer": (302, 200, 200, 200, 200, 200, 200),
    # Each reader exports only the rows they may see (centre B: none of centre A's).
    "contouring:results-export": (302, 200, 200, 200, 200, 200, 200),
    # Regional readers only; with one solution, a message on the results page instead.
    "contouring:consensus-rtstruct": (302, 302, 302, 403, 403, 403, 403),
}
POST_MATRIX = {
    "contouring:comparison-start": (302, 302, 403, 403, 403, 403, 403),
    "contouring:case-structures": (302, 302, 403, 403, 403, 403, 403),
    # The project manager gets the form back with "this field is required".
    "contouring:dose-create": (302, 200, 403, 403, 403, 403, 403),
    # Each signed-in reader keeps their own choice of result columns.
    "contouring:results-columns": (302, 302, 302, 302, 302, 302, 302),
}


@pytest.fixture
def compared_case(pelvis_files, pm, centre_a, django_capture_on_commit_callbacks):
    case = create_case(pelvis_files, pm)
    submission, _warnings = submit(case, pelvis_files, 0, centre_a, pm)
    from contouring import services

    with django_capture_on_commit_callbacks(execute=True):
        services.comparison_run_start(case=case, user=pm)
    return case, submission


def _url(name, case, submission):
    if name == "contouring:submission-detail":
        return reverse(name, args=[submission.pk])
    if name in (
        "contouring:case-list",
        "contouring:case-create",
        "contouring:solution-list",
        "contouring:solution-create",
        "contouring:objective-list",
        "contouring:objective-create",
    ):
        return reverse(name)
    if name == "contouring:consensus-rtstruct":
        return reverse(name, args=[case.pk, "staple"])
    if name == "contouring:results-export":
        return reverse(name, args=["xlsx"]) + f"?cas={case.pk}"
    if name in ("contouring:structure-overlays", "contouring:structure-viewer"):
        return reverse(name, args=[case.pk, case.structures.first().pk])
    return reverse(name, args=[case.pk])


def test_permission_matrix(
    compared_case, as_persona, oncologist_b, physicist_a, referent_a, oncologist_a, copil
):
    case, submission = compared_case
    mismatches = []
    for persona_index, persona in enumerate(PERSONAS):
        client = as_persona(persona)
        for name, expected in GET_MATRIX.items():
            response = client.get(_url(name, case, submission))
            if response.status_code != expected[persona_index]:
                mismatches.append((persona, "GET", name, response.status_code))
            if persona == "anonymous":
                assert response["Location"].startswith("/compte/connexion/")
        for name, expected in POST_MATRIX.items():
            response = client.post(_url(name, case, submission), {})
            if response.status_code != expected[persona_index]:
                mismatches.append((persona, "POST", name, response.status_code))
    assert mismatches == []


def test_other_centre_sees_no_figure_of_centre_a(compared_case, as_persona, oncologist_b):
    case, submission = compared_case
    row = case.results.get(kind=ResultKind.VS_REFERENCE, structure__name="Bladder", test=submission)
    figure = f"{row.dsc:.3f}".replace(".", ",")
    other = as_persona("oncologist_b")
    page = other.get(reverse("contouring:case-results", args=[case.pk])).content.decode()
    assert figure not in page and "Pas encore de résultat" in page
    own = as_persona("oncologist_a").get(reverse("contouring:case-results", args=[case.pk]))
    assert figure in own.content.decode()
    assert (
        figure
        in as_persona("copil")
        .get(reverse("contouring:case-results", args=[case.pk]))
        .content.decode()
    )
    # Overlays of another centre never include its contours: the image still renders.
    structure = case.structures.get(name="Bladder")
    image = other.get(reverse("contouring:overlay-image", args=[case.pk, structure.pk, 20]))
    assert image.status_code == 200 and image["Content-Type"] == "image/png"


def test_physicist_cannot_upload_for_another_centre(
    compared_case, as_persona, centre_b, pelvis_files
):
    from contouring.models import Submission
    from tests.contouring.conftest import solution_for, uploaded

    case, _submission = compared_case
    response = as_persona("physicist_a").post(
        reverse("contouring:submission-create", args=[case.pk]),
        {
            "solution": solution_for(pelvis_files.solutions[1].solution).pk,
            "centre": centre_b.pk,
            "file": uploaded(pelvis_files.solutions[1].path),
            "attested": "on",
        },
    )
    # centre B is not among the choices: the form refuses it, nothing is stored.
    assert response.status_code == 200
    assert Submission.objects.filter(centre=centre_b).count() == 0


def test_dashboard_tile_and_menu(compared_case, pm, oncologist_b, admin_user):
    from contouring.dashboard import nav_items, tile

    manager_tile = tile(pm)
    assert manager_tile.url == reverse("contouring:case-list")
    assert dict(manager_tile.counts)["cas cliniques"] == 1
    assert dict(tile(oncologist_b).counts)["soumissions"] == 0
    assert tile(admin_user) is None and nav_items(admin_user) == []
    assert nav_items(pm)[0].url == reverse("contouring:case-list")
