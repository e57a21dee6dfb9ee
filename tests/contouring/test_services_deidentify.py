"""De-identification at ingestion: canary values in every identifying tag never survive,
and the remapped UIDs still link the RTSTRUCTs to the CT (DICOM PS3.15 Annex E)."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest
from django.core.files.storage import default_storage
from pydicom.dataset import Dataset

from contouring import phantoms
from contouring.deidentify import deidentify, remap_uid
from tests.contouring.conftest import create_case, submit

CANARY = "CANARY"
IDENTITY = {
    "PatientName": "CANARY^PATIENT",
    "PatientID": "CANARY-ID-4242",
    "PatientBirthDate": "19010203",
    "PatientSex": "F",
    "PatientAge": "077Y",
    "PatientAddress": "CANARY 1 rue de Lille",
    "PatientTelephoneNumbers": "CANARY-0320000000",
    "OtherPatientIDs": "CANARY-OTHER",
    "PatientComments": "CANARY comment",
    "InstitutionName": "CANARY Hospital",
    "InstitutionAddress": "CANARY street",
    "InstitutionalDepartmentName": "CANARY radiotherapy",
    "StationName": "CANARYSTATION",
    "DeviceSerialNumber": "CANARY-SN",
    "ReferringPhysicianName": "CANARY^REFERRER",
    "PerformingPhysicianName": "CANARY^PERFORMER",
    "OperatorsName": "CANARY^OPERATOR",
    "PhysiciansOfRecord": "CANARY^RECORD",
    "NameOfPhysiciansReadingStudy": "CANARY^READER",
    "AccessionNumber": "CANARYACC",
    "StudyID": "CANARYSTUDY",
    "StudyDescription": "CANARY study description",
    "ImageComments": "CANARY image comment",
}


def _poison(path: Path) -> None:
    """Add canaries where only RTSTRUCTs have them, plus a private tag and the preamble."""
    ds = pydicom.dcmread(path)
    ds.preamble = b"CANARY-PREAMBLE".ljust(128, b"\x00")
    ds.add_new(0x00091010, "LO", "CANARY private")
    ds.add_new(0x00090010, "LO", "CANARY creator")
    if ds.Modality == "RTSTRUCT":
        ds.StructureSetDescription = "CANARY structure set"
        ds.ReviewerName = "CANARY^REVIEWER"
        for roi in ds.StructureSetROISequence:
            roi.ROIDescription = "CANARY roi description"
        for observation in ds.RTROIObservationsSequence:
            observation.ROIInterpreter = "CANARY^INTERPRETER"
            observation.ROIObservationDescription = "CANARY observation"
    ds.save_as(path, enforce_file_format=True)


@pytest.fixture(scope="module")
def canary_files(tmp_path_factory):
    generated = phantoms.write_case(
        phantoms.HEAD_NECK, tmp_path_factory.mktemp("canary"), identity=IDENTITY, seed="canary"
    )
    for path in [*generated.ct_files, generated.reference, *(s.path for s in generated.solutions)]:
        _poison(path)
    return generated


def _stored(case) -> list[Path]:
    names = [*case.ct_files, case.reference_file.name]
    names += [s.file.name for s in case.submissions.all()]
    return [Path(default_storage.path(name)) for name in names]


def test_no_canary_survives_and_references_resolve(canary_files, pm, centre_a):
    original_ct = pydicom.dcmread(canary_files.ct_files[0])
    original_rs = pydicom.dcmread(canary_files.reference)
    assert "CANARY" in str(original_ct.PatientName)  # the canaries are really in the input

    case = create_case(canary_files, pm)
    submission, _warnings = submit(case, canary_files, 0, centre_a, pm)

    stored = _stored(case)
    assert len(stored) == len(canary_files.ct_files) + 2
    original_uids = {
        str(original_ct.StudyInstanceUID),
        str(original_ct.SeriesInstanceUID),
        str(original_ct.SOPInstanceUID),
        str(original_ct.FrameOfReferenceUID),
        str(original_rs.SOPInstanceUID),
    }
    for path in stored:
        raw = path.read_bytes()
        assert CANARY.encode() not in raw.upper(), path.name
        assert b"19010203" not in raw
        assert raw[:128] == b"\x00" * 128
        for uid in original_uids:
            assert uid.encode() not in raw
        ds = pydicom.dcmread(path)
        for keyword in (
            "PatientBirthDate",
            "PatientSex",
            "PatientAge",
            "InstitutionName",
            "ReferringPhysicianName",
            "OperatorsName",
            "AccessionNumber",
        ):
            assert keyword not in ds, keyword
        assert str(ds.PatientName) == case.pseudonym
        assert ds.PatientID == case.pseudonym
        assert ds.PatientIdentityRemoved == "YES"
        assert "PS3.15" in ds.DeidentificationMethod
        codes = {item.CodeValue for item in ds.DeidentificationMethodCodeSequence}
        assert codes == {"113100", "113109"}
        assert not any(elem.tag.is_private for elem in ds)

    ct = [pydicom.dcmread(p) for p in stored[: len(canary_files.ct_files)]]
    ct_sops = {str(d.SOPInstanceUID) for d in ct}
    frame = {str(d.FrameOfReferenceUID) for d in ct}
    series = {str(d.SeriesInstanceUID) for d in ct}
    assert len(frame) == 1 and len(series) == 1 and len(ct_sops) == len(ct)
    for rs_path in stored[len(ct) :]:
        rs = pydicom.dcmread(rs_path)
        referenced = rs.ReferencedFrameOfReferenceSequence[0]
        assert referenced.FrameOfReferenceUID in frame
        ref_series = referenced.RTReferencedStudySequence[0].RTReferencedSeriesSequence[0]
        assert ref_series.SeriesInstanceUID in series
        images = {i.ReferencedSOPInstanceUID for i in ref_series.ContourImageSequence}
        assert images and images <= ct_sops
        for item in rs.ROIContourSequence:
            for contour in item.get("ContourSequence", []):
                assert contour.ContourImageSequence[0].ReferencedSOPInstanceUID in ct_sops
        assert {r.ROIDescription for r in rs.StructureSetROISequence} == {"ANONYMISE"}
        # The SOP class is a standard UID: kept as is.
        assert rs.SOPClassUID == phantoms.RT_STRUCTURE_SET_STORAGE
    # Provenance was read before de-identification and the device identity retained.
    assert submission.manufacturer == canary_files.solutions[0].solution.vendor
    assert submission.software_versions == canary_files.solutions[0].solution.version
    assert str(submission.structure_set_date) == "2026-01-15"


def test_uid_remapping_is_keyed_and_consistent():
    uid = "1.2.826.0.1.3680043.8.498.1"
    assert remap_uid(uid, b"a" * 32) == remap_uid(uid, b"a" * 32)
    assert remap_uid(uid, b"a" * 32) != remap_uid(uid, b"b" * 32)
    assert remap_uid(uid, b"a" * 32).startswith("2.25.")
    assert len(remap_uid(uid, b"a" * 32)) <= 64


def test_deidentify_removes_nested_person_names():
    ds = Dataset()
    ds.PatientName = "CANARY^X"
    item = Dataset()
    item.ContentCreatorName = "CANARY^NESTED"
    item.ReferencedSOPInstanceUID = "1.2.3.4"
    ds.ReferencedImageSequence = [item]
    deidentify(ds, key=b"k" * 32, pseudonym="P1")
    assert str(ds.PatientName) == "P1"
    assert "ContentCreatorName" not in ds.ReferencedImageSequence[0]
    assert ds.ReferencedImageSequence[0].ReferencedSOPInstanceUID == remap_uid("1.2.3.4", b"k" * 32)
