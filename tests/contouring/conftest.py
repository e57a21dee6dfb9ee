"""Fixtures of the contouring app tests: phantom DICOM files written once per session."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from contouring import phantoms, services
from contouring.models import Solution


def uploaded(path: Path, name: str | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name or path.name, Path(path).read_bytes())


def zipped(files: dict[str, bytes], name: str = "serie.zip") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, content in files.items():
            archive.writestr(member, content)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/zip")


def ct_zip(
    generated: phantoms.GeneratedCase, *, with_reference: bool = False
) -> SimpleUploadedFile:
    files = {f"CT/{p.name}": p.read_bytes() for p in generated.ct_files}
    if with_reference:
        files["RS_reference.dcm"] = generated.reference.read_bytes()
    return zipped(files)


@pytest.fixture(scope="session")
def pelvis_files(tmp_path_factory) -> phantoms.GeneratedCase:
    return phantoms.write_case(phantoms.PELVIS, tmp_path_factory.mktemp("pelvis"))


@pytest.fixture(scope="session")
def head_neck_files(tmp_path_factory) -> phantoms.GeneratedCase:
    return phantoms.write_case(phantoms.HEAD_NECK, tmp_path_factory.mktemp("head_neck"))


def create_case(generated: phantoms.GeneratedCase, user=None, title: str = "Cas test"):
    return services.case_create(
        title=title,
        site=generated.spec.site,
        description="",
        ct_uploads=[ct_zip(generated)],
        reference_upload=uploaded(generated.reference),
        user=user,
    )


def solution_for(simulated: phantoms.SimulatedSolution) -> Solution:
    solution, _created = Solution.objects.get_or_create(
        vendor=simulated.vendor,
        product=simulated.product,
        model_version=simulated.version,
        defaults={"ce_marking": simulated.ce_marking, "is_simulated": True},
    )
    return solution


def submit(case, generated: phantoms.GeneratedCase, index: int, centre, user=None, confirm=True):
    item = generated.solutions[index]
    submission, warnings = services.submission_create(
        case=case,
        solution=solution_for(item.solution),
        centre=centre,
        upload=uploaded(item.path),
        user=user,
        attested=True,
    )
    if confirm:
        services.mapping_confirm(
            submission=submission,
            user=user,
            choices={m.structure_id: m.roi_id for m in submission.mappings.all()},
        )
    return submission, warnings


@pytest.fixture
def pelvis_case(pelvis_files, pm):
    return create_case(pelvis_files, pm, title="Pelvis test")


def phantom_dose_file(generated: phantoms.GeneratedCase, keep_frames: int | None = None):
    """The phantom's plan-like RTDOSE (optionally only its first ``keep_frames`` planes)."""
    import pydicom

    path = generated.folder / "RD_phantom.dcm"
    if not path.exists():
        phantoms.write_rtdose(generated.spec, path, phantoms.case_uids(generated.spec))
    if keep_frames is None:
        return uploaded(path)
    ds = pydicom.dcmread(path)
    frame = ds.Rows * ds.Columns * 4
    ds.PixelData = ds.PixelData[: keep_frames * frame]
    ds.NumberOfFrames = keep_frames
    ds.GridFrameOffsetVector = list(ds.GridFrameOffsetVector)[:keep_frames]
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return SimpleUploadedFile(f"RD_{keep_frames}_plans.dcm", buffer.getvalue())


def run_comparison(case, user, capture):
    """Run the case's comparison in-process, as the worker would."""
    with capture(execute=True):
        services.comparison_run_start(case=case, user=user)
    return case.runs.first()


DOSED_SOLUTIONS = (0, 1, 3)  # +3 mm margin, 6 mm lateral shift, rectum missing / prostate empty


@pytest.fixture
def dosed_case(pelvis_files, pm, centre_a):
    """The pelvis phantom with three solutions of centre A and the phantom's reference dose."""
    case = create_case(pelvis_files, pm, title="Pelvis dose")
    for index in DOSED_SOLUTIONS:
        submit(case, pelvis_files, index, centre_a, pm)
    services.case_dose_attach(case=case, dose_upload=phantom_dose_file(pelvis_files), user=pm)
    return case
