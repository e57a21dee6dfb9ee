"""Uploads: every kind of bad input is refused with a specific error and stores nothing."""

from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

import pydicom
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from contouring import services
from contouring.models import ClinicalCase, Submission
from tests.contouring.conftest import create_case, ct_zip, solution_for, submit, uploaded, zipped


def _media_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _create(ct_uploads, reference, pm):
    return services.case_create(
        title="Cas",
        site="head_neck",
        description="",
        ct_uploads=ct_uploads,
        reference_upload=reference,
        user=pm,
    )


def _modified(path: Path, **changes) -> bytes:
    ds = pydicom.dcmread(path)
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _expect(code, call, settings):
    with pytest.raises(ValidationError) as error:
        call()
    assert error.value.code == code, error.value.messages
    return error.value


def test_case_from_a_zip_holding_ct_and_reference(head_neck_files, pm):
    case = _create([ct_zip(head_neck_files, with_reference=True)], None, pm)
    assert case.ct_slice_count == head_neck_files.spec.shape[0]
    assert case.ct_shape == list(head_neck_files.spec.shape)
    assert [s.name for s in case.structures.all()] == [o.name for o in head_neck_files.spec.organs]
    assert all(s.volume_cc > 0 for s in case.structures.all())
    assert len(case.ct_sha256) == 64 and len(case.reference_sha256) == 64


def test_case_from_several_files_in_any_order(head_neck_files, pm):
    from django.core.files.storage import default_storage

    files = [uploaded(p) for p in reversed(head_neck_files.ct_files)]
    case = _create(files, uploaded(head_neck_files.reference), pm)
    assert case.ct_slice_count == len(files)
    # Stored in slice order whatever the upload order: ct_files[k] is slice k.
    z = [
        float(
            pydicom.dcmread(
                default_storage.path(name), stop_before_pixels=True
            ).ImagePositionPatient[2]
        )
        for name in case.ct_files
    ]
    assert z == sorted(z) and len(set(z)) == len(z)


@pytest.mark.parametrize(
    ("builder", "code"),
    [
        ("not_dicom", "not_dicom"),
        ("wrong_modality", "sop_class_modality"),
        ("bogus_sop_class", "sop_class"),
        ("rtdose_in_ct", "wrong_modality"),
        ("gap", "missing_slice"),
        ("mixed_series", "multiple_series"),
        ("traversal", "zip_traversal"),
        ("absolute", "zip_traversal"),
        ("symlink", "zip_symlink"),
        ("no_reference", "no_reference"),
        ("reference_is_ct", "wrong_modality"),
    ],
)
def test_bad_case_uploads(builder, code, head_neck_files, pm, settings):
    ct = head_neck_files.ct_files
    files = {f"CT/{p.name}": p.read_bytes() for p in ct}
    reference = uploaded(head_neck_files.reference)
    if builder == "not_dicom":
        files["CT/readme.dcm"] = b"this is not a DICOM file at all" * 10
    elif builder == "wrong_modality":
        files[f"CT/{ct[3].name}"] = _modified(ct[3], Modality="MR")
    elif builder == "bogus_sop_class":
        files[f"CT/{ct[3].name}"] = _modified(ct[3], SOPClassUID="1.2.3.4.5.6.7.8")
    elif builder == "rtdose_in_ct":
        files[f"CT/{ct[3].name}"] = _modified(
            ct[3], SOPClassUID="1.2.840.10008.5.1.4.1.1.481.2", Modality="RTDOSE"
        )
    elif builder == "gap":
        del files[f"CT/{ct[10].name}"]
    elif builder == "mixed_series":
        files[f"CT/{ct[5].name}"] = _modified(ct[5], SeriesInstanceUID="1.2.3.4.5.6.7")
    elif builder == "traversal":
        files["../../evil.dcm"] = b"x"
    elif builder == "absolute":
        files["/etc/evil.dcm"] = b"x"
    elif builder == "no_reference":
        reference = None
    elif builder == "reference_is_ct":
        reference = uploaded(ct[0], "reference.dcm")
    upload = zipped(files)
    if builder == "symlink":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, content in files.items():
                archive.writestr(name, content)
            link = zipfile.ZipInfo("CT/link.dcm")
            link.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(link, "/etc/passwd")
        upload = SimpleUploadedFile("serie.zip", buffer.getvalue())
    error = _expect(code, lambda: _create([upload], reference, pm), settings)
    if builder == "bogus_sop_class":
        assert error.messages == [
            f"Le fichier CT/{ct[3].name} n'est pas d'un type DICOM accepté (classe SOP "
            "1.2.3.4.5.6.7.8) : seuls les images CT, les RT Structure Sets (RTSTRUCT), les "
            "RT Doses (RTDOSE) et les RT Plans (RTPLAN) sont acceptés."
        ]
    assert ClinicalCase.objects.count() == 0
    assert _media_files(settings) == []


@pytest.mark.parametrize(
    ("setting", "value", "code"),
    [
        ("CONTOURING_MAX_FILES", 10, "too_many_files"),
        ("CONTOURING_MAX_UNCOMPRESSED_BYTES", 100_000, "zip_too_large"),
        ("CONTOURING_MAX_UPLOAD_BYTES", 50_000, "too_large"),
        ("CONTOURING_MAX_PIXELS_PER_IMAGE", 100 * 100, "pixel_budget"),
        ("CONTOURING_MAX_VOXELS", 128 * 128 * 10, "voxel_budget"),
    ],
)
def test_limits_come_from_the_settings(setting, value, code, head_neck_files, pm, settings):
    setattr(settings, setting, value)
    _expect(
        code,
        lambda: _create([ct_zip(head_neck_files)], uploaded(head_neck_files.reference), pm),
        settings,
    )
    assert ClinicalCase.objects.count() == 0
    assert _media_files(settings) == []


def test_huge_declared_size_in_one_member(pm, settings):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb.dcm", b"\x00" * (3 * 1024 * 1024))
    settings.CONTOURING_MAX_UNCOMPRESSED_BYTES = 1024 * 1024
    upload = SimpleUploadedFile("bomb.zip", buffer.getvalue())
    assert upload.size < 100_000  # tiny on the wire, big once extracted
    _expect("zip_too_large", lambda: _create([upload], None, pm), settings)


def test_submission_duplicate_other_frame_and_empty_structure(
    head_neck_files, pelvis_files, pm, centre_a, centre_b, settings
):
    case = create_case(head_neck_files, pm)
    first, warnings = submit(case, head_neck_files, 0, centre_a, pm)
    assert warnings == []
    stored_before = len(_media_files(settings))

    # The same file again, even for another centre: refused as a duplicate.
    error = _expect("duplicate", lambda: submit(case, head_neck_files, 0, centre_b, pm), settings)
    assert "already" in error.messages[0] or "déjà" in error.messages[0]
    # An RTSTRUCT drawn on another CT (another frame of reference).
    _expect(
        "for_mismatch",
        lambda: services.submission_create(
            case=case,
            solution=first.solution,
            centre=centre_a,
            upload=uploaded(pelvis_files.solutions[0].path),
            user=pm,
            attested=True,
        ),
        settings,
    )
    # The reference itself, a CT image and a non-DICOM file.
    _expect(
        "reference",
        lambda: services.submission_create(
            case=case,
            solution=first.solution,
            centre=centre_a,
            upload=uploaded(head_neck_files.reference),
            user=pm,
            attested=True,
        ),
        settings,
    )
    _expect(
        "wrong_modality",
        lambda: services.submission_create(
            case=case,
            solution=first.solution,
            centre=centre_a,
            upload=uploaded(head_neck_files.ct_files[0]),
            user=pm,
            attested=True,
        ),
        settings,
    )
    _expect(
        "not_dicom",
        lambda: services.submission_create(
            case=case,
            solution=first.solution,
            centre=centre_a,
            upload=SimpleUploadedFile("rs.dcm", b"nope" * 100),
            user=pm,
            attested=True,
        ),
        settings,
    )
    # No attestation, no upload.
    _expect(
        "attestation",
        lambda: services.submission_create(
            case=case,
            solution=first.solution,
            centre=centre_a,
            upload=uploaded(head_neck_files.solutions[1].path),
            user=pm,
            attested=False,
        ),
        settings,
    )
    assert Submission.objects.count() == 1
    assert len(_media_files(settings)) == stored_before


def test_empty_structure_is_a_warning_and_a_new_upload_replaces_the_old(pelvis_files, pm, centre_a):
    case = create_case(pelvis_files, pm)
    # Simulated solution D: prostate empty, rectum missing, femoral heads swapped.
    submission, warnings = submit(case, pelvis_files, 3, centre_a, pm)
    assert len(warnings) == 1 and "Prostate" in warnings[0]
    assert submission.rois.get(name="Prostate").is_empty

    # Another upload for the same case, solution and centre is a new submission (another
    # export of the same solution's output: same device identity, other bytes).
    second, _warnings = services.submission_create(
        case=case,
        solution=solution_for(pelvis_files.solutions[3].solution),
        centre=centre_a,
        upload=SimpleUploadedFile(
            "re-export.dcm",
            _modified(pelvis_files.solutions[3].path, StructureSetLabel="Re-export"),
        ),
        user=pm,
        attested=True,
    )
    submission.refresh_from_db()
    assert not submission.is_current and second.is_current
    assert Submission.objects.filter(case=case).count() == 2
    assert second.sha256 != submission.sha256


def test_choice_of_structures(pelvis_files, pm, centre_a):
    case = create_case(pelvis_files, pm)
    submission, _warnings = submit(case, pelvis_files, 0, centre_a, pm)
    body = case.structures.get(name="Body")
    bladder = case.structures.get(name="Bladder")
    services.case_structures_choose(case=case, structure_ids=[bladder.pk])
    assert list(case.structures.filter(is_compared=True)) == [bladder]
    with pytest.raises(ValidationError):
        services.case_structures_choose(case=case, structure_ids=[])
    # Choosing a structure again keeps the mapping already confirmed for it.
    services.case_structures_choose(case=case, structure_ids=[bladder.pk, body.pk])
    submission.refresh_from_db()
    mapping = submission.mappings.get(structure=body)
    assert mapping.roi.name == "Body" and mapping.status == "confirmed"
    assert submission.is_mapped
    # An empty reference structure cannot be chosen.
    body.volume_cc = 0
    body.save()
    with pytest.raises(ValidationError) as error:
        services.case_structures_choose(case=case, structure_ids=[body.pk])
    assert error.value.code == "empty_structure"
