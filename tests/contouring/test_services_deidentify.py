"""De-identification at ingestion, by allow-list (DICOM PS3.15 Annex E).

A canary string is written in EVERY text attribute of crafted CT, RTSTRUCT, RTDOSE and
RTPLAN files — private tags, nested sequences and the file meta included — and must be found
nowhere afterwards except in the ROI names, which the comparison needs; the remapped UIDs
still link CT ↔ RTSTRUCT ↔ RTPLAN ↔ RTDOSE.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileDataset
from pydicom.sequence import Sequence

from contouring import phantoms
from contouring.deidentify import deidentify, remap_uid
from tests.requirements import need_shared_data

CANARY = "CANARY"
KEY = b"k" * 32
TEXT_VRS = {"AE", "AS", "CS", "DA", "DT", "LO", "LT", "PN", "SH", "ST", "TM", "UC", "UR", "UT"}
# Values a real file must have right for the platform to read it: kept valid here; the
# allow-list checks them against the standard's terms (see test_coded_values_are_checked).
STRUCTURAL = {"Modality", "SpecificCharacterSet", "PhotometricInterpretation"}
STRUCTURAL |= {"ContourGeometricType", "DoseUnits", "DoseType", "DoseSummationType"}
# Retained on purpose (Retain Device Identity Option): provenance of each contour set.
DEVICE = {"Manufacturer", "ManufacturerModelName", "SoftwareVersions"}
# Identifying attributes of the issue, added to every file (at the top and nested).
EXTRA_TEXT = {
    "RequestedProcedureDescription": "CANARY procedure",
    "CurrentPatientLocation": "CANARY ward 3",
    "ClinicalTrialSponsorName": "CANARY sponsor",
    "StructureSetLabel": "CANARY label",
    "StudyDescription": "CANARY study",
    "SeriesDescription": "CANARY series",
    "InstitutionName": "CANARY hospital",
    "PatientComments": "CANARY comments",
    "ImageComments": "CANARY image",
    "OperatorsName": "CANARY^OPERATOR",
    "ReferringPhysicianName": "CANARY^REFERRER",
    "StationName": "CANARYSTATION",
    "DeviceSerialNumber": "CANARY-SN",
}


def _code(meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue = "CANARY1"
    item.CodingSchemeDesignator = "CANARY"
    item.CodeMeaning = meaning
    return item


def _poison_elements(ds: Dataset) -> None:
    """Put the canary in every text attribute already in ``ds``, at every depth."""
    for elem in list(ds):
        if elem.VR == "SQ":
            for item in elem.value:
                _poison_elements(item)
        elif elem.VR in TEXT_VRS and elem.keyword not in STRUCTURAL | DEVICE:
            if elem.keyword == "ROIName":
                elem.value = f"{CANARY}_ROI_{elem.value}"
            elif elem.VR in ("DA", "TM", "DT", "AS"):
                continue  # dates and times: see test_dates_do_not_survive
            else:
                elem.value = CANARY


def poison(ds: FileDataset) -> FileDataset:
    """``ds`` with the canary everywhere it can hide."""
    _poison_elements(ds)
    for keyword, value in EXTRA_TEXT.items():
        setattr(ds, keyword, value)
    ds.ProcedureCodeSequence = Sequence([_code("CANARY meaning")])
    request = Dataset()
    request.RequestedProcedureDescription = "CANARY nested procedure"
    request.ScheduledProtocolCodeSequence = Sequence([_code("CANARY nested meaning")])
    request.add_new(0x00131010, "LO", "CANARY private in a sequence")
    ds.RequestAttributesSequence = Sequence([request])
    ds.add_new(0x00090010, "LO", "CANARY creator")
    ds.add_new(0x00091010, "LO", "CANARY private")
    ds.add_new(0x00091011, "OB", b"CANARY private bytes")
    private_item = Dataset()
    private_item.PatientName = "CANARY^IN^PRIVATE"
    ds.add_new(0x00091012, "SQ", Sequence([private_item]))
    # Text nested inside the sequences that are kept.
    for keyword in ("StructureSetROISequence", "ROIContourSequence", "DVHSequence"):
        for item in ds.get(keyword) or []:
            item.ROIDescription = "CANARY nested description"
            item.add_new(0x00111010, "LO", "CANARY nested private")
    ds.file_meta.SourceApplicationEntityTitle = "CANARY_AE"
    ds.file_meta.ImplementationVersionName = "CANARY_IMPL"
    ds.file_meta.PrivateInformationCreatorUID = "1.2.3.4"
    ds.file_meta.PrivateInformation = b"CANARY meta private"
    ds.preamble = b"CANARY-PREAMBLE".ljust(128, b"\x00")
    return ds


def _roundtrip(ds: Dataset) -> tuple[bytes, FileDataset]:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    raw = buffer.getvalue()
    return raw, pydicom.dcmread(io.BytesIO(raw))


def _poisoned(path: Path) -> FileDataset:
    """The file at ``path``, poisoned, written and read back (as an upload would be)."""
    _raw, ds = _roundtrip(poison(pydicom.dcmread(path)))
    assert CANARY in str(ds.get("StructureSetLabel", ""))  # the canaries are really there
    return ds


def _deidentified(path: Path, pseudonym: str = "ONCOHDF-TEST") -> tuple[bytes, FileDataset]:
    return _roundtrip(deidentify(_poisoned(path), key=KEY, pseudonym=pseudonym))


def _texts(ds: Dataset):
    for elem in ds:
        if elem.VR == "SQ":
            for item in elem.value:
                yield from _texts(item)
        else:
            yield elem.keyword, str(elem.value)


def assert_no_canary(raw: bytes, ds: FileDataset) -> None:
    roi_names = [str(r.ROIName) for r in ds.get("StructureSetROISequence") or []]
    stripped = raw
    for name in roi_names:
        stripped = stripped.replace(name.encode(), b"")
    assert CANARY.encode() not in stripped.upper()
    assert raw[:128] == b"\x00" * 128
    assert not any(elem.tag.is_private for elem in ds.iterall())
    survivors = {k for k, v in _texts(ds) if CANARY in v.upper()}
    assert survivors <= {"ROIName"}, survivors
    assert "SourceApplicationEntityTitle" not in ds.file_meta
    assert "PrivateInformation" not in ds.file_meta
    assert str(ds.PatientName) == "ONCOHDF-TEST" and ds.PatientID == "ONCOHDF-TEST"
    assert ds.PatientIdentityRemoved == "YES"
    codes = {item.CodeValue for item in ds.DeidentificationMethodCodeSequence}
    assert codes == {"113100", "113109"}


@pytest.fixture(scope="module")
def phantom_files(tmp_path_factory):
    return phantoms.write_case(phantoms.PELVIS, tmp_path_factory.mktemp("canary"), seed="canary")


def test_phantom_ct_and_rtstruct_keep_nothing_but_what_the_app_needs(phantom_files):
    ct_raw, ct = _deidentified(phantom_files.ct_files[0])
    assert_no_canary(ct_raw, ct)
    original = pydicom.dcmread(phantom_files.ct_files[0])
    # Geometry and pixels are untouched.
    for keyword in ("ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "Rows"):
        assert ct[keyword].value == original[keyword].value, keyword
    assert np.array_equal(ct.pixel_array, original.pixel_array)
    assert ct.RescaleIntercept == original.RescaleIntercept
    assert ct.SOPInstanceUID == remap_uid(original.SOPInstanceUID, KEY)
    assert ct.file_meta.MediaStorageSOPInstanceUID == ct.SOPInstanceUID
    assert ct.Manufacturer == original.Manufacturer  # device identity retained
    for keyword in ("StudyDate", "ReferringPhysicianName", "OperatorsName"):
        assert ct.get(keyword, "") == "", keyword  # type 2: present only empty

    rs_raw, rs = _deidentified(phantom_files.solutions[0].path)
    assert_no_canary(rs_raw, rs)
    source = pydicom.dcmread(phantom_files.solutions[0].path)
    # ROI names (the exception), numbers, colours and contours are kept.
    assert [r.ROIName for r in rs.StructureSetROISequence] == [
        f"{CANARY}_ROI_{r.ROIName}" for r in source.StructureSetROISequence
    ]
    assert [r.ROINumber for r in rs.StructureSetROISequence] == [
        r.ROINumber for r in source.StructureSetROISequence
    ]
    for kept, orig in zip(rs.ROIContourSequence, source.ROIContourSequence, strict=True):
        assert list(kept.ROIDisplayColor) == list(orig.ROIDisplayColor)
        assert [list(c.ContourData) for c in kept.ContourSequence] == [
            list(c.ContourData) for c in orig.ContourSequence
        ]
    assert rs.StructureSetLabel == "ANONYMISE"
    assert rs.SoftwareVersions == source.SoftwareVersions
    # The RTSTRUCT still refers to the CT.
    assert rs.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID == ct.FrameOfReferenceUID
    image = rs.ROIContourSequence[0].ContourSequence[0].ContourImageSequence[0]
    ct_sops = {remap_uid(pydicom.dcmread(p).SOPInstanceUID, KEY) for p in phantom_files.ct_files}
    assert image.ReferencedSOPInstanceUID in ct_sops


def test_dates_do_not_survive(phantom_files):
    original = pydicom.dcmread(phantom_files.solutions[0].path)
    assert original.StructureSetDate == "20260115" and original.StudyDate == "20260115"
    raw, ds = _deidentified(phantom_files.solutions[0].path)
    assert b"20260115" not in raw
    assert ds.StructureSetDate == "20000101"


def test_coded_values_are_checked_against_the_standard_terms(phantom_files):
    ds = pydicom.dcmread(phantom_files.solutions[0].path)
    ds.StructureSetROISequence[0].ROIGenerationAlgorithm = "CANARY"
    ds.StructureSetROISequence[1].ROIGenerationAlgorithm = "AUTOMATIC"
    ds.PatientPosition = "CANARY"
    ds.SpecificCharacterSet = "CANARY"
    deidentify(ds, key=KEY, pseudonym="P")
    assert "ROIGenerationAlgorithm" not in ds.StructureSetROISequence[0]
    assert ds.StructureSetROISequence[1].ROIGenerationAlgorithm == "AUTOMATIC"
    assert "PatientPosition" not in ds and "SpecificCharacterSet" not in ds


def test_a_number_attribute_holding_text_is_removed(phantom_files):
    ds = pydicom.dcmread(phantom_files.ct_files[0])
    # A crafted file: text bytes where a number (DS) is expected, never decoded by pydicom.
    elem = ds.get_item(0x00281053)  # RescaleSlope, still raw
    ds[0x00281053] = pydicom.dataelem.RawDataElement(
        elem.tag, elem.VR, 6, b"CANARY", elem.value_tell, elem.is_implicit_VR, True
    )
    deidentify(ds, key=KEY, pseudonym="P")
    assert "RescaleSlope" not in ds
    assert "RescaleIntercept" in ds


def test_dicompyler_ct_rtstruct_rtplan_rtdose_still_reference_each_other():
    folder = need_shared_data("dicompyler-core-breast")
    names = {"ct": "ct.0.dcm", "rs": "rtss.dcm", "plan": "rtplan.dcm", "dose": "rtdose.dcm"}
    originals = {k: pydicom.dcmread(folder / v) for k, v in names.items()}
    out = {}
    for kind, name in names.items():
        raw, ds = _deidentified(folder / name)
        assert_no_canary(raw, ds)
        out[kind] = ds
    ct, rs, plan, dose = out["ct"], out["rs"], out["plan"], out["dose"]
    frames = {ds.FrameOfReferenceUID for ds in out.values() if "FrameOfReferenceUID" in ds}
    assert frames == {ct.FrameOfReferenceUID}
    assert rs.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID == ct.FrameOfReferenceUID
    assert plan.ReferencedStructureSetSequence[0].ReferencedSOPInstanceUID == rs.SOPInstanceUID
    assert dose.ReferencedRTPlanSequence[0].ReferencedSOPInstanceUID == plan.SOPInstanceUID
    # The dose grid and its values are kept exactly.
    source = originals["dose"]
    for keyword in ("DoseGridScaling", "GridFrameOffsetVector", "PixelSpacing", "DoseUnits"):
        assert dose[keyword].value == source[keyword].value, keyword
    assert np.array_equal(dose.pixel_array, source.pixel_array)
    if "DVHSequence" in source:
        assert [list(d.DVHData) for d in dose.DVHSequence] == [
            list(d.DVHData) for d in source.DVHSequence
        ]
    # The prescription and fractionation of the plan are kept.
    assert (
        plan.FractionGroupSequence[0].NumberOfFractionsPlanned
        == originals["plan"].FractionGroupSequence[0].NumberOfFractionsPlanned
    )
    assert "BeamSequence" not in plan  # machine names and beam notes are not needed


def test_uid_remapping_is_keyed_and_consistent():
    uid = "1.2.826.0.1.3680043.8.498.1"
    assert remap_uid(uid, b"a" * 32) == remap_uid(uid, b"a" * 32)
    assert remap_uid(uid, b"a" * 32) != remap_uid(uid, b"b" * 32)
    assert remap_uid(uid, b"a" * 32).startswith("2.25.")
    assert len(remap_uid(uid, b"a" * 32)) <= 64
