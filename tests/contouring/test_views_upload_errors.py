"""Never a 500 at upload: damaged DICOM files get a French form error that names the file as
uploaded (no internal name, no English detail), and simultaneous uploads of one file give
one row and clear messages."""

from __future__ import annotations

import html
import io
import re

import pydicom
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contouring import services
from contouring.models import ClinicalCase, Submission
from tests.concurrency import run_together
from tests.conftest import login
from tests.contouring.conftest import create_case, solution_for, uploaded
from tests.contouring.fuzz import KINDS, mutated_files
from tests.requirements import need_postgres

INTERNAL = re.compile(r"upload/|rs/RS|ct/CT|/tmp/|onco-contouring|bytes missing|values, not|NaN")


def _errors(response) -> str:
    """The form's errors, checked to be on the page too."""
    errors = list(response.context["form"].non_field_errors())
    assert errors, html.unescape(response.content.decode())[-2000:]
    page = html.unescape(response.content.decode())
    for error in errors:
        assert error in page
    return " ".join(errors)


def _bad_vr_in_a_sequence(data: bytes) -> bytes:
    # ROIName (3006,0026) inside StructureSetROISequence, explicit VR "LO" → an unknown VR.
    marker = b"\x06\x30\x26\x00LO"
    assert marker in data
    return data.replace(marker, b"\x06\x30\x26\x00\x54\x00", 1)


def _empty_contour(path) -> bytes:
    ds = pydicom.dcmread(path)
    ds.ROIContourSequence[1].ContourSequence[0].ContourData = []
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


@pytest.fixture
def case(pelvis_files, pm):
    return create_case(pelvis_files, pm)


def _post_submission(client, case, solution, centre, data: bytes, name="mon_rtstruct.dcm"):
    return client.post(
        reverse("contouring:submission-create", args=[case.pk]),
        {
            "solution": solution.pk,
            "centre": centre.pk,
            "file": SimpleUploadedFile(name, data),
            "attested": "on",
        },
    )


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (
            "truncated",
            "Le fichier mon_rtstruct.dcm est tronqué ou endommagé : il est incomplet.",
        ),
        (
            "bad_vr",
            "Le fichier mon_rtstruct.dcm ne peut pas être lu : il est endommagé.",
        ),
        ("empty_contour", "dans mon_rtstruct.dcm est invalide : son ContourData n'est pas"),
    ],
)
def test_damaged_rtstruct_gets_a_french_message_naming_the_file(
    damage, expected, case, pelvis_files, physicist_a, centre_a
):
    path = pelvis_files.solutions[0].path
    data = path.read_bytes()
    if damage == "truncated":
        data = data[: len(data) * 2 // 3]
    elif damage == "bad_vr":
        data = _bad_vr_in_a_sequence(data)
    else:
        data = _empty_contour(path)
    solution = solution_for(pelvis_files.solutions[0].solution)
    response = _post_submission(login(physicist_a), case, solution, centre_a, data)
    assert response.status_code == 200
    errors = _errors(response)
    assert expected in errors
    assert not INTERNAL.search(errors), errors
    # What was chosen stays chosen.
    assert response.context["form"]["solution"].value() == str(solution.pk)
    assert Submission.objects.count() == 0


@pytest.mark.parametrize("damage", ["truncated", "duplicate_position"])
def test_damaged_ct_slice_is_named_as_uploaded(damage, pelvis_files, pm):
    files = [uploaded(p, f"coupe_{k:03d}.dcm") for k, p in enumerate(pelvis_files.ct_files)]
    if damage == "truncated":
        data = pelvis_files.ct_files[7].read_bytes()
        files[7] = SimpleUploadedFile("coupe_007.dcm", data[: len(data) // 2])
        expected = "Le fichier coupe_007.dcm est tronqué ou endommagé : il est incomplet."
    else:
        ds = pydicom.dcmread(pelvis_files.ct_files[7])
        ds.ImagePositionPatient = pydicom.dcmread(pelvis_files.ct_files[6]).ImagePositionPatient
        ds.SOPInstanceUID = "1.2.3.4.5.6.7"
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        files[7] = SimpleUploadedFile("coupe_007.dcm", buffer.getvalue())
        expected = "Deux images de la série sont à la même position"
    response = login(pm).post(
        reverse("contouring:case-create"),
        {
            "title": "Mon cas",
            "site": "prostate",
            "description": "",
            "ct_files": files,
            "reference": uploaded(pelvis_files.reference),
        },
    )
    assert response.status_code == 200
    errors = _errors(response)
    assert expected in errors and "coupe_00" in errors, errors
    assert not INTERNAL.search(errors), errors
    assert response.context["form"]["title"].value() == "Mon cas"
    assert ClinicalCase.objects.count() == 0


def test_fuzzed_rtstructs_never_give_a_500(case, pelvis_files, physicist_a, centre_a):
    client = login(physicist_a)
    solution = solution_for(pelvis_files.solutions[1].solution)
    mutants = mutated_files(20261201, 5 * len(KINDS), [pelvis_files.solutions[1].path])
    refused = 0
    for number, mutant in enumerate(mutants):
        name = f"essai_{number}.dcm"
        response = _post_submission(client, case, solution, centre_a, mutant.data, name)
        assert response.status_code in (200, 302), mutant.label
        if response.status_code == 200:
            refused += 1
            errors = _errors(response)
            assert name in errors, (mutant.label, errors)
            assert not INTERNAL.search(errors), (mutant.label, errors)
        else:
            Submission.objects.all().delete()  # a harmless mutation: accepted, start again
    assert refused >= len(mutants) // 2


def test_fuzzed_ct_slices_never_give_a_500(pelvis_files, pm):
    slices = pelvis_files.ct_files
    for number, mutant in enumerate(mutated_files(7, len(KINDS), [slices[5]])):
        files = [uploaded(p, f"coupe_{k:03d}.dcm") for k, p in enumerate(slices)]
        files[5] = SimpleUploadedFile("coupe_005.dcm", mutant.data)
        response = login(pm).post(
            reverse("contouring:case-create"),
            {
                "title": f"Cas {number}",
                "site": "prostate",
                "description": "",
                "ct_files": files,
                "reference": uploaded(pelvis_files.reference),
            },
        )
        assert response.status_code in (200, 302), mutant.label
        if response.status_code == 200:
            errors = _errors(response)
            assert not INTERNAL.search(errors), (mutant.label, errors)


@pytest.mark.django_db(transaction=True)
def test_three_simultaneous_uploads_of_one_file_make_one_row(pelvis_files, pm, centre_a):
    need_postgres()
    case = create_case(pelvis_files, pm)
    solution = solution_for(pelvis_files.solutions[0].solution)
    path = pelvis_files.solutions[0].path

    def upload():
        return services.submission_create(
            case=case,
            solution=solution,
            centre=centre_a,
            upload=uploaded(path),
            user=pm,
            attested=True,
        )

    outcomes = run_together(upload, upload, upload)
    stored = [o for o in outcomes if isinstance(o, tuple)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(stored) == 1 and len(refused) == 2, outcomes
    assert {e.code for e in refused} == {"duplicate"}
    assert all("a déjà été déposé pour ce cas" in e.messages[0] for e in refused)
    assert Submission.objects.filter(case=case).count() == 1


def test_fuzzed_reference_rtstructs_never_give_a_500(pelvis_files, pm):
    slices = pelvis_files.ct_files
    for number, mutant in enumerate(mutated_files(11, len(KINDS), [pelvis_files.reference])):
        response = login(pm).post(
            reverse("contouring:case-create"),
            {
                "title": f"Cas {number}",
                "site": "prostate",
                "description": "",
                "ct_files": [uploaded(p, f"coupe_{k:03d}.dcm") for k, p in enumerate(slices)],
                "reference": SimpleUploadedFile("reference.dcm", mutant.data),
            },
        )
        assert response.status_code in (200, 302), mutant.label
        if response.status_code == 200:
            errors = _errors(response)
            assert not INTERNAL.search(errors), (mutant.label, errors)
            assert response.context["form"]["title"].value() == f"Cas {number}"


def test_fuzzed_rtdoses_never_give_a_500(pelvis_case, pelvis_files, pm):
    from contouring.models import CaseDose
    from tests.contouring.conftest import phantom_dose_file

    source = pelvis_files.folder / "RD_fuzz_source.dcm"
    source.write_bytes(phantom_dose_file(pelvis_files).read())
    client = login(pm)
    url = reverse("contouring:dose-create", args=[pelvis_case.pk])
    refused = 0
    mutants = mutated_files(20261202, 2 * len(KINDS), [source])
    for mutant in mutants:
        response = client.post(url, {"dose": SimpleUploadedFile("rd.dcm", mutant.data)})
        assert response.status_code in (200, 302), mutant.label
        if response.status_code == 200:
            refused += 1
            page = html.unescape(response.content.decode())
            errors = [e for field in response.context["form"] for e in field.errors]
            errors += list(response.context["form"].non_field_errors())
            assert errors and all(e in page for e in errors), mutant.label
            assert not INTERNAL.search(" ".join(errors)), (mutant.label, errors)
        else:
            CaseDose.objects.all().delete()  # a harmless mutation: accepted, start again
    assert refused >= len(mutants) // 2
