"""Provenance reconciled at upload: the header's device identity (Manufacturer,
ManufacturerModelName, SoftwareVersions) against the declared solution, shown side by side;
another product needs a justification, another version is another solution."""

from __future__ import annotations

import html
import io

import pydicom
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contouring import services
from contouring.models import Solution, Submission
from tests.conftest import login
from tests.contouring.conftest import create_case


def _rtstruct(path, **header) -> SimpleUploadedFile:
    ds = pydicom.dcmread(path)
    for keyword, value in header.items():
        setattr(ds, keyword, value)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return SimpleUploadedFile("export.dcm", buffer.getvalue())


@pytest.fixture
def alpha(db):
    return Solution.objects.create(
        vendor="Alpha Medical", product="AlphaContour", model_version="2.3.1", ce_marking="mdr_iia"
    )


def _submit(case, solution, centre, user, upload, justification=""):
    return services.submission_create(
        case=case,
        solution=solution,
        centre=centre,
        upload=upload,
        user=user,
        attested=True,
        justification=justification,
    )


def test_another_product_in_the_header_needs_a_justification(pelvis_files, pm, centre_a, alpha):
    case = create_case(pelvis_files, pm)
    header = {"Manufacturer": "DerivedSolution", "ManufacturerModelName": "matRad DicomExport"}
    path = pelvis_files.solutions[0].path
    with pytest.raises(ValidationError) as error:
        _submit(case, alpha, centre_a, pm, _rtstruct(path, SoftwareVersions="2.3.1", **header))
    assert error.value.code == "provenance_mismatch"
    assert "DerivedSolution / matRad DicomExport" in error.value.messages[0]
    assert "Alpha Medical / AlphaContour" in error.value.messages[0]
    assert [(r.attribute, r.matches) for r in error.value.rows] == [
        ("Manufacturer", False),
        ("ManufacturerModelName", False),
        ("SoftwareVersions", True),
    ]
    assert Submission.objects.count() == 0

    submission, _warnings = _submit(
        case,
        alpha,
        centre_a,
        pm,
        _rtstruct(path, SoftwareVersions="2.3.1", **header),
        justification="Export par le TPS matRad après calcul de dose",
    )
    assert submission.manufacturer == "DerivedSolution"
    assert submission.provenance_justification == "Export par le TPS matRad après calcul de dose"
    page = html.unescape(
        login(pm)
        .get(reverse("contouring:submission-detail", args=[submission.pk]))
        .content.decode()
    )
    assert "Dans l'en-tête du fichier" in page and "Solution déclarée" in page
    assert "matRad DicomExport" in page and "AlphaContour" in page and "différent" in page
    assert "Export par le TPS matRad après calcul de dose" in page


def test_another_version_is_another_solution(pelvis_files, pm, centre_a, alpha):
    case = create_case(pelvis_files, pm)
    path = pelvis_files.solutions[0].path
    header = {"Manufacturer": "Alpha Medical", "ManufacturerModelName": "AlphaContour"}
    first, _warnings = _submit(
        case, alpha, centre_a, pm, _rtstruct(path, SoftwareVersions="2.3.1", **header)
    )
    replacement = _rtstruct(path, SoftwareVersions="2.3.2", StructureSetLabel="v2", **header)
    with pytest.raises(ValidationError) as error:
        _submit(case, alpha, centre_a, pm, replacement, justification="c'est la même")
    assert error.value.code == "version_mismatch"
    assert "2.3.2" in error.value.messages[0] and "2.3.1" in error.value.messages[0]
    assert error.value.suggestion is None
    assert Submission.objects.count() == 1

    newer = Solution.objects.create(
        vendor="Alpha Medical", product="AlphaContour", model_version="2.3.2", ce_marking="mdr_iia"
    )
    with pytest.raises(ValidationError) as error:
        _submit(case, alpha, centre_a, pm, _rtstruct(path, SoftwareVersions="2.3.2", **header))
    assert error.value.suggestion == newer
    second, _warnings = _submit(
        case, newer, centre_a, pm, _rtstruct(path, SoftwareVersions="2.3.2", **header)
    )
    # Each version is its own row: the 2.3.1 submission stays current for its solution.
    first.refresh_from_db()
    assert second.solution == newer and first.solution == alpha
    assert first.is_current and second.is_current


def test_the_upload_page_shows_both_and_prefills_from_the_header(pelvis_files, pm, centre_a, alpha):
    case = create_case(pelvis_files, pm)
    newer = Solution.objects.create(
        vendor="Alpha Medical", product="AlphaContour", model_version="2.3.2", ce_marking="mdr_iia"
    )
    client = login(pm)
    header = {"Manufacturer": "Alpha Medical", "ManufacturerModelName": "AlphaContour"}
    response = client.post(
        reverse("contouring:submission-create", args=[case.pk]),
        {
            "solution": alpha.pk,
            "centre": centre_a.pk,
            "file": _rtstruct(pelvis_files.solutions[0].path, SoftwareVersions="2.3.2", **header),
            "attested": "on",
        },
    )
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "L'en-tête du fichier ne désigne pas la solution déclarée" in page
    assert "chaque version est une solution à part" in page
    assert response.context["form"]["solution"].value() == str(newer.pk)  # pre-filled

    # No registered solution for the header: a link registers it, pre-filled.
    response = client.post(
        reverse("contouring:submission-create", args=[case.pk]),
        {
            "solution": alpha.pk,
            "centre": centre_a.pk,
            "file": _rtstruct(pelvis_files.solutions[0].path, SoftwareVersions="3.0", **header),
            "attested": "on",
        },
    )
    page = html.unescape(response.content.decode())
    assert "Enregistrer la solution indiquée par l'en-tête" in page
    register = response.context["register_query"]
    assert "model_version=3.0" in register
    form = client.get(reverse("contouring:solution-create") + "?" + register)
    assert form.context["form"]["model_version"].value() == "3.0"
    assert form.context["form"]["vendor"].value() == "Alpha Medical"
