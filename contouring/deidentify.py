"""De-identification of DICOM datasets at ingestion (DICOM PS3.15 Annex E), by allow-list.

Only the attributes the platform needs are kept, at every depth; everything else (private
tags, overlays, unknown or unlisted public attributes, free text) is removed, and the file
meta information is rebuilt from scratch. What is kept:

- image geometry and pixels (CT and RTDOSE grids), the dose grid scaling and values, the
  planning system's DVHs;
- contour data, ROI numbers, names and colours (ROI names are the clinical vocabulary the
  comparison works on: they are kept as they are);
- the device identity that provenance needs (Manufacturer, ManufacturerModelName,
  SoftwareVersions): the **Retain Device Identity Option** (113109) of the Basic
  Application Level Confidentiality Profile (113100);
- coded attributes (``CS``) only when their value is one of the terms the standard
  defines, so nothing can be smuggled through them; numbers only when they are numbers;
- every instance UID (study, series, SOP instance, frame of reference, dose reference and
  each reference to them) replaced by ``2.25.<HMAC-SHA256(case key, uid)>``: the same UID
  always maps to the same value within a case, so an RTSTRUCT still refers to its CT, an
  RTDOSE to its plan, and several uploads of one case stay linked, while nobody can map it
  back without the key.

The patient is named by the case pseudonym; type 2 attributes the IODs require (study date,
referring physician, operator…) are written empty; labels that must exist get a neutral
text. PatientIdentityRemoved / DeidentificationMethod(+CodeSequence) are written and the
128-byte preamble is zeroed.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from pydicom.charset import python_encoding
from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID
from pydicom.valuerep import VR

# DeidentificationMethod is a LO (64 characters at most).
PROFILE_DESCRIPTION = "PS3.15 E Basic Profile + Retain Device Identity; keyed UID remap"
PROFILE_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113109", "Retain Device Identity Option"),
)
DUMMY_DATE = "20000101"
DUMMY_TIME = "000000"
NEUTRAL_TEXT = "ANONYMISE"
IMPLEMENTATION_VERSION = "ONCOHDF_DEID1"

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
RT_DOSE_STORAGE = "1.2.840.10008.5.1.4.1.1.481.2"
RT_STRUCTURE_SET_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
RT_PLAN_STORAGE = "1.2.840.10008.5.1.4.1.1.481.5"
# The SOP classes the platform accepts, with the modality each must declare.
ACCEPTED_SOP_CLASSES = {
    CT_IMAGE_STORAGE: "CT",
    RT_STRUCTURE_SET_STORAGE: "RTSTRUCT",
    RT_DOSE_STORAGE: "RTDOSE",
    RT_PLAN_STORAGE: "RTPLAN",
}

# Kept as they are: numbers, binary values and the sequences that hold what is kept.
KEEP = frozenset(
    {
        # Image pixel and plane (CT and RTDOSE grids)
        "Rows",
        "Columns",
        "SamplesPerPixel",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "PixelRepresentation",
        "PlanarConfiguration",
        "PixelData",
        "PixelPaddingValue",
        "SmallestImagePixelValue",
        "LargestImagePixelValue",
        "PixelSpacing",
        "SliceThickness",
        "SpacingBetweenSlices",
        "ImagePositionPatient",
        "ImageOrientationPatient",
        "SliceLocation",
        "RescaleIntercept",
        "RescaleSlope",
        "WindowCenter",
        "WindowWidth",
        "KVP",
        "NumberOfFrames",
        "FrameIncrementPointer",
        "InstanceNumber",
        "SeriesNumber",
        "AcquisitionNumber",
        # RT Dose
        "GridFrameOffsetVector",
        "DoseGridScaling",
        "NormalizationPoint",
        "DVHNormalizationPoint",
        "DVHNormalizationDoseValue",
        "DVHSequence",
        "DVHReferencedROISequence",
        "DVHDoseScaling",
        "DVHNumberOfBins",
        "DVHData",
        "DVHMinimumDose",
        "DVHMaximumDose",
        "DVHMeanDose",
        "ReferencedRTPlanSequence",
        "ReferencedFractionGroupSequence",
        "ReferencedFractionGroupNumber",
        "ReferencedStructureSetSequence",
        # RT Structure Set
        "ReferencedFrameOfReferenceSequence",
        "RTReferencedStudySequence",
        "RTReferencedSeriesSequence",
        "ContourImageSequence",
        "ReferencedFrameNumber",
        "StructureSetROISequence",
        "ROINumber",
        "ROIContourSequence",
        "ROIDisplayColor",
        "ContourSequence",
        "ContourNumber",
        "NumberOfContourPoints",
        "ContourData",
        "AttachedContours",
        "RTROIObservationsSequence",
        "ObservationNumber",
        "ReferencedROINumber",
        # RT Plan: prescription and fractionation, not the beams (machine names, notes)
        "DoseReferenceSequence",
        "DoseReferenceNumber",
        "DoseReferencePointCoordinates",
        "TargetPrescriptionDose",
        "TargetMinimumDose",
        "TargetMaximumDose",
        "DeliveryMaximumDose",
        "DeliveryWarningDose",
        "OrganAtRiskFullVolumeDose",
        "OrganAtRiskLimitDose",
        "OrganAtRiskMaximumDose",
        "FractionGroupSequence",
        "FractionGroupNumber",
        "NumberOfFractionsPlanned",
        "NumberOfBeams",
        "NumberOfBrachyApplicationSetups",
        "ReferencedBeamSequence",
        "ReferencedBeamNumber",
        "BeamMeterset",
        "BeamDose",
        "ReferencedDoseReferenceSequence",
        "ReferencedDoseReferenceNumber",
        # Text kept on purpose: the structures' names and the device identity (113109)
        "ROIName",
        "Manufacturer",
        "ManufacturerModelName",
        "SoftwareVersions",
    }
)
# Coded strings kept only when every value is a term the standard defines.
CODED = {
    "Modality": frozenset(ACCEPTED_SOP_CLASSES.values()),
    "ImageType": frozenset(
        {"ORIGINAL", "DERIVED", "PRIMARY", "SECONDARY", "AXIAL", "LOCALIZER", "REFORMATTED"}
    ),
    "PhotometricInterpretation": frozenset(
        {"MONOCHROME1", "MONOCHROME2", "RGB", "PALETTE COLOR", "YBR_FULL", "YBR_FULL_422"}
    ),
    "PatientPosition": frozenset(
        {
            "HFS",
            "HFP",
            "FFS",
            "FFP",
            "HFDR",
            "HFDL",
            "FFDR",
            "FFDL",
            "LFP",
            "LFS",
            "RFP",
            "RFS",
            "AFDR",
            "AFDL",
            "PFDR",
            "PFDL",
        }
    ),
    "RescaleType": frozenset({"HU", "US", "OD", "MGML", "Z_EFF", "ED", "EDW", "HU_MOD", "PCT"}),
    "LossyImageCompression": frozenset({"00", "01"}),
    "ROIGenerationAlgorithm": frozenset({"AUTOMATIC", "SEMIAUTOMATIC", "MANUAL"}),
    "ContourGeometricType": frozenset(
        {"POINT", "OPEN_PLANAR", "OPEN_NONPLANAR", "CLOSED_PLANAR", "CLOSEDPLANAR_XOR"}
    ),
    "RTROIInterpretedType": frozenset(
        {
            "EXTERNAL",
            "PTV",
            "CTV",
            "GTV",
            "TREATED_VOLUME",
            "IRRAD_VOLUME",
            "BOLUS",
            "AVOIDANCE",
            "ORGAN",
            "MARKER",
            "REGISTRATION",
            "ISOCENTER",
            "CONTRAST_AGENT",
            "CAVITY",
            "BRACHY_CHANNEL",
            "BRACHY_ACCESSORY",
            "BRACHY_SRC_APP",
            "BRACHY_CHNL_SHLD",
            "SUPPORT",
            "FIXATION",
            "DOSE_REGION",
            "CONTROL",
            "DOSE_MEASUREMENT",
        }
    ),
    "DoseUnits": frozenset({"GY", "RELATIVE"}),
    "DoseType": frozenset({"PHYSICAL", "EFFECTIVE", "ERROR"}),
    "DoseSummationType": frozenset(
        {
            "PLAN",
            "MULTI_PLAN",
            "FRACTION",
            "BEAM",
            "BRACHY",
            "FRACTION_SESSION",
            "BEAM_SESSION",
            "BRACHY_SESSION",
            "CONTROL_POINT",
            "RECORD",
        }
    ),
    "TissueHeterogeneityCorrection": frozenset({"IMAGE", "ROI_OVERRIDE", "WATER"}),
    "DVHType": frozenset({"DIFFERENTIAL", "CUMULATIVE", "NATURAL"}),
    "DVHROIContributionType": frozenset({"INCLUDED", "EXCLUDED"}),
    "DVHVolumeUnits": frozenset({"CM3", "PERCENT", "PER_U"}),
    "RTPlanGeometry": frozenset({"PATIENT", "TREATMENT_DEVICE"}),
    "DoseReferenceStructureType": frozenset({"POINT", "VOLUME", "COORDINATES", "SITE"}),
    "DoseReferenceType": frozenset({"TARGET", "ORGAN_AT_RISK"}),
    "SpecificCharacterSet": frozenset(python_encoding),
}
# Instance UIDs: replaced by their keyed remap.
REMAPPED_UIDS = frozenset(
    {
        "StudyInstanceUID",
        "SeriesInstanceUID",
        "SOPInstanceUID",
        "FrameOfReferenceUID",
        "ReferencedFrameOfReferenceUID",
        "ReferencedSOPInstanceUID",
        "DoseReferenceUID",
    }
)
# Standard class UIDs: kept when they look like a UID.
CLASS_UIDS = frozenset({"SOPClassUID", "ReferencedSOPClassUID"})
# Labels the IODs require (type 1): a neutral text.
NEUTRAL = frozenset({"StructureSetLabel", "RTPlanLabel"})
# Type 2 attributes the IODs require: written empty (or as a dummy date for the structure
# set, whose original date the platform records as provenance before de-identification).
EMPTIED = frozenset(
    {
        "PatientBirthDate",
        "PatientSex",
        "StudyDate",
        "StudyTime",
        "ReferringPhysicianName",
        "StudyID",
        "AccessionNumber",
        "OperatorsName",
        "PositionReferenceIndicator",
        "ROIInterpreter",
        "RTPlanDate",
        "RTPlanTime",
    }
)
DUMMY = {"StructureSetDate": DUMMY_DATE, "StructureSetTime": DUMMY_TIME}

_UID = re.compile(rb"[0-9]+(\.[0-9]+)*\x00?")
_NUMBERS = re.compile(rb"[0-9eE+\-. \\\x00]*")
_NUMBER_VRS = frozenset({"DS", "IS"})
_KNOWN_VRS = frozenset(v.value for v in VR)


def remap_uid(uid: str, key: bytes) -> str:
    """The de-identified value of ``uid``: ``2.25.`` + 128 bits of HMAC-SHA256 (≤ 44 chars)."""
    digest = hmac.new(key, uid.strip().encode("ascii", "replace"), hashlib.sha256).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def deidentify(ds: Dataset, *, key: bytes, pseudonym: str) -> Dataset:
    """De-identify ``ds`` in place (and return it) with the case ``key`` and ``pseudonym``."""
    transfer_syntax = None
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "TransferSyntaxUID" in meta:
        transfer_syntax = str(meta.TransferSyntaxUID)
    _clean(ds, key)
    ds.PatientName = pseudonym
    ds.PatientID = pseudonym
    ds.PatientIdentityRemoved = "YES"
    ds.DeidentificationMethod = PROFILE_DESCRIPTION
    codes = []
    for value, meaning in PROFILE_CODES:
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        codes.append(item)
    ds.DeidentificationMethodCodeSequence = Sequence(codes)
    ds.LongitudinalTemporalInformationModified = "REMOVED"
    if hasattr(ds, "file_meta") or transfer_syntax:
        ds.file_meta = _file_meta(ds, transfer_syntax)
    ds.preamble = b"\x00" * 128
    return ds


def _file_meta(ds: Dataset, transfer_syntax: str | None) -> FileMetaDataset:
    """New file meta information: nothing of the sender's (AE titles, private info) stays."""
    meta = FileMetaDataset()
    if "SOPClassUID" in ds:
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
    if "SOPInstanceUID" in ds:
        meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    if transfer_syntax and _UID.fullmatch(transfer_syntax.encode("ascii", "replace")):
        meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = IMPLEMENTATION_VERSION
    return meta


def _clean(ds: Dataset, key: bytes) -> None:
    # Elements are inspected raw (tag, VR, bytes) and only decoded when changed: decoding
    # every ContourData value would cost far more than the de-identification itself.
    for raw_tag in list(ds.keys()):
        tag = Tag(raw_tag)
        keyword = "" if tag.is_private else keyword_for_tag(tag)
        vr = _vr(ds, tag)
        if keyword in KEEP:
            if vr == "SQ":
                for item in ds[tag].value or []:
                    _clean(item, key)
            elif vr in _NUMBER_VRS and not _is_number_text(ds, tag):
                del ds[tag]
        elif keyword in CODED:
            if not _coded_ok(ds[tag].value, CODED[keyword]):
                del ds[tag]
        elif keyword in REMAPPED_UIDS:
            elem = ds[tag]
            if elem.value:
                elem.value = _remap_value(elem.value, key)
        elif keyword in CLASS_UIDS:
            if not _is_uid(ds[tag].value):
                del ds[tag]
        elif keyword in NEUTRAL:
            ds[tag].value = NEUTRAL_TEXT
        elif keyword in EMPTIED:
            ds[tag].value = ""
        elif keyword in DUMMY:
            ds[tag].value = DUMMY[keyword]
        else:
            del ds[tag]


def _is_number_text(ds: Dataset, tag: Tag) -> bool:
    raw = ds.get_item(tag)
    value = getattr(raw, "value", None)
    if isinstance(value, bytes):
        return _NUMBERS.fullmatch(value) is not None
    return True  # already decoded by pydicom: a number or a list of numbers


def _coded_ok(value, allowed: frozenset[str]) -> bool:
    values = [value] if isinstance(value, str) else list(value or [])
    return all(str(v).strip() in allowed for v in values)


def _is_uid(value) -> bool:
    values = [value] if isinstance(value, str) else list(value or [])
    return all(_UID.fullmatch(str(v).encode("ascii", "replace")) for v in values)


class UndecodableElement(ValueError):
    """An element whose value representation is not one DICOM defines: the file is damaged."""


def _vr(ds: Dataset, tag: Tag) -> str | None:
    vr = getattr(ds.get_item(tag), "VR", None)
    if vr is not None and str(vr) not in _KNOWN_VRS:
        raise UndecodableElement(f"unknown VR {vr!r} in {tag}")
    if vr and vr not in ("UN", "OB or OW", "US or SS"):
        return str(vr)
    try:
        return dictionary_VR(tag)
    except KeyError:
        return vr


def _remap_value(value, key: bytes):
    if (
        isinstance(value, (list, tuple))
        or hasattr(value, "__iter__")
        and not isinstance(value, str)
    ):
        return [remap_uid(str(v), key) for v in value]
    return remap_uid(str(value), key)
