"""Health data stays out, end to end: canaries in every text attribute of the uploaded CT
and RTSTRUCTs (and in the upload file names) are found nowhere afterwards — not in the
stored files, the database, the pages or the report PDF — except in the ROI names."""

from __future__ import annotations

import html
import io
from pathlib import Path

import pydicom
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse
from pypdf import PdfReader

from contouring import phantoms
from contouring.models import ClinicalCase, Submission
from onco_hdf.models import Job, JobStatus
from tests.conftest import login
from tests.contouring.conftest import solution_for
from tests.contouring.test_services_deidentify import CANARY, poison

IDENTITY = {
    "PatientName": "CANARY^PATIENT",
    "PatientID": "CANARY-ID-4242",
    "PatientBirthDate": "19010203",
    "PatientAddress": "CANARY 1 rue de Lille",
    "OtherPatientIDs": "CANARY-OTHER",
}


def _poisoned_upload(path: Path, name: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    poison(pydicom.dcmread(path)).save_as(buffer, enforce_file_format=True)
    return SimpleUploadedFile(name, buffer.getvalue())


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def _database_text() -> str:
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - table names from Django
            chunks.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(chunks)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return phantoms.write_case(
        phantoms.PELVIS, tmp_path_factory.mktemp("e2e"), identity=IDENTITY, seed="e2e"
    )


def test_no_canary_anywhere_but_in_roi_names(
    generated, pm, centre_a, settings, django_capture_on_commit_callbacks
):
    client = login(pm)
    ct = [
        _poisoned_upload(p, f"{CANARY}_patient_{k:03d}.dcm")
        for k, p in enumerate(generated.ct_files)
    ]
    response = client.post(
        reverse("contouring:case-create"),
        {
            "title": "Cas pelvien",
            "site": "prostate",
            "description": "",
            "ct_files": ct,
            "reference": _poisoned_upload(generated.reference, f"{CANARY}_reference.dcm"),
        },
    )
    assert response.status_code == 302, html.unescape(response.content.decode())[-3000:]
    case = ClinicalCase.objects.get()
    simulated = generated.solutions[0]
    solution = solution_for(simulated.solution)
    response = client.post(
        reverse("contouring:submission-create", args=[case.pk]),
        {
            "solution": solution.pk,
            "centre": centre_a.pk,
            "file": _poisoned_upload(simulated.path, f"{CANARY}_{simulated.path.name}"),
            "attested": "on",
        },
    )
    assert response.status_code == 302, html.unescape(response.content.decode())[-3000:]
    submission = Submission.objects.get()
    data = {f"structure_{m.structure_id}": m.roi_id for m in submission.mappings.all()}
    assert client.post(response["Location"], data).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("contouring:comparison-start", args=[case.pk]))
    assert case.runs.get().job.status == JobStatus.DONE
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("onco_hdf:report-start", args=["contouring.comparison_report"]),
            {"p_cases": str(case.pk)},
        )
    job = Job.objects.get(kind="report")
    assert job.status == JobStatus.DONE, job.message
    download = client.get(reverse("onco_hdf:job-result", args=[job.pk]))
    pdf = _pdf_text(b"".join(download.streaming_content))

    roi_names = sorted({s.name for s in case.structures.all()}, key=len, reverse=True)
    assert roi_names and all(name.startswith(f"{CANARY}_ROI_") for name in roi_names)
    assert roi_names[0] in " ".join(pdf.split())  # ROI names are the one exception

    def clean(text: str) -> str:
        for name in roi_names:
            text = text.replace(name, "")
        return text.upper()

    structure = case.structures.first()
    pages = {
        name: html.unescape(client.get(url).content.decode())
        for name, url in {
            "list": reverse("contouring:case-list"),
            "detail": reverse("contouring:case-detail", args=[case.pk]),
            "submission": reverse("contouring:submission-detail", args=[submission.pk]),
            "results": reverse("contouring:case-results", args=[case.pk]),
            "overlays": reverse("contouring:structure-overlays", args=[case.pk, structure.pk]),
            "solutions": reverse("contouring:solution-list"),
        }.items()
    }
    for name, page in pages.items():
        assert CANARY not in clean(page), name
    assert CANARY not in clean(pdf)
    assert "CANARY_patient" not in _database_text().upper()
    assert CANARY not in clean(_database_text())
    stored = [p for p in Path(settings.MEDIA_ROOT).rglob("*") if p.is_file()]
    assert len(stored) >= len(ct) + 2
    for path in stored:
        content = path.read_bytes()
        text = _pdf_text(content) if content.startswith(b"%PDF") else content.decode("latin-1")
        assert CANARY not in clean(text), path.name
        assert "19010203" not in text
