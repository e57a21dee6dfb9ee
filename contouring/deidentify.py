"""De-identification of DICOM datasets at ingestion (DICOM PS3.15 Annex E).

Profile applied: **Basic Application Level Confidentiality Profile** (113100) with the
**Retain Device Identity Option** (113109), because the comparison must state which
software produced each contour set (Manufacturer, ManufacturerModelName, SoftwareVersions).

- patient name and ID are replaced by the case pseudonym; birth date, sex, age, size,
  weight, addresses, other IDs and comments are removed;
- institution, department, station, and every person name (physicians, operators,
  reviewers, ROI interpreters) are removed;
- dates and times of the study, series and acquisition are emptied; the structure set
  date is replaced by a dummy date (the platform records the original as provenance);
- free-text descriptions (study, series, structure set, ROI, observation descriptions,
  comments) are replaced by neutral text;
- every instance UID (study, series, SOP instance, frame of reference and each
  reference to them) is replaced by ``2.25.<HMAC-SHA256(case key, uid)>``: the same UID
  always maps to the same value within a case, so an RTSTRUCT still refers to its CT and
  several uploads of one case stay linked, while nobody can map it back without the key;
- private tags and curves/overlays are removed, the 128-byte preamble is zeroed, and
  PatientIdentityRemoved / DeidentificationMethod(+CodeSequence) are written.
"""

from __future__ import annotations

import hashlib
import hmac

from pydicom.datadict import dictionary_VR, keyword_for_tag
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence
from pydicom.tag import Tag

# DeidentificationMethod is a LO (64 characters at most).
PROFILE_DESCRIPTION = "PS3.15 E Basic Profile + Retain Device Identity; keyed UID remap"
PROFILE_CODES = (
    ("113100", "Basic Application Confidentiality Profile"),
    ("113109", "Retain Device Identity Option"),
)
DUMMY_DATE = "20000101"
NEUTRAL_TEXT = "ANONYMISE"

# Removed (X) or emptied (Z) attributes that identify the patient, people or places.
REMOVE_KEYWORDS = frozenset(
    {
        "PatientBirthDate",
        "PatientBirthTime",
        "PatientSex",
        "PatientAge",
        "PatientSize",
        "PatientWeight",
        "PatientAddress",
        "PatientTelephoneNumbers",
        "PatientMotherBirthName",
        "PatientBirthName",
        "PatientReligiousPreference",
        "PatientComments",
        "PatientInsurancePlanCodeSequence",
        "PatientState",
        "OtherPatientIDs",
        "OtherPatientIDsSequence",
        "OtherPatientNames",
        "MilitaryRank",
        "BranchOfService",
        "EthnicGroup",
        "Occupation",
        "AdditionalPatientHistory",
        "MedicalRecordLocator",
        "MedicalAlerts",
        "Allergies",
        "SmokingStatus",
        "PregnancyStatus",
        "LastMenstrualDate",
        "CountryOfResidence",
        "RegionOfResidence",
        "ResponsiblePerson",
        "ResponsibleOrganization",
        "IssuerOfPatientID",
        "InstitutionName",
        "InstitutionAddress",
        "InstitutionalDepartmentName",
        "InstitutionCodeSequence",
        "StationName",
        "DeviceSerialNumber",
        "ReferringPhysicianName",
        "ReferringPhysicianAddress",
        "ReferringPhysicianTelephoneNumbers",
        "ReferringPhysicianIdentificationSequence",
        "PerformingPhysicianName",
        "PerformingPhysicianIdentificationSequence",
        "PhysiciansOfRecord",
        "PhysiciansOfRecordIdentificationSequence",
        "NameOfPhysiciansReadingStudy",
        "PhysiciansReadingStudyIdentificationSequence",
        "RequestingPhysician",
        "RequestingService",
        "OperatorsName",
        "OperatorIdentificationSequence",
        "ReviewerName",
        "ReviewDate",
        "ReviewTime",
        "ROIInterpreter",
        "PersonName",
        "ContentCreatorName",
        "AccessionNumber",
        "StudyID",
        "RequestAttributesSequence",
        "ReferencedPatientSequence",
        "ReferencedStudySequence",
        "ReferencedPerformedProcedureStepSequence",
        "PerformedProcedureStepID",
        "PerformedProcedureStepDescription",
        "ScheduledProcedureStepID",
        "AdmittingDiagnosesDescription",
        "DerivationDescription",
        "ImageComments",
        "ContrastBolusAgent",
        "StudyDate",
        "SeriesDate",
        "AcquisitionDate",
        "ContentDate",
        "AcquisitionDateTime",
        "StudyTime",
        "SeriesTime",
        "AcquisitionTime",
        "ContentTime",
        "InstanceCreationDate",
        "InstanceCreationTime",
        "TimezoneOffsetFromUTC",
        "FrameComments",
    }
)
# Free text replaced by neutral text (attributes a viewer or the app expects to exist).
NEUTRAL_TEXT_KEYWORDS = frozenset(
    {
        "StudyDescription",
        "SeriesDescription",
        "StructureSetDescription",
        "StructureSetName",
        "ROIDescription",
        "ROIObservationDescription",
        "ROIObservationLabel",
        "ProtocolName",
        "BodyPartExamined",
    }
)
DUMMY_DATE_KEYWORDS = frozenset({"StructureSetDate"})
DUMMY_TIME_KEYWORDS = frozenset({"StructureSetTime"})
# UIDs that name a standard class or syntax, not an instance: kept as they are.
KEEP_UID_KEYWORDS = frozenset(
    {
        "SOPClassUID",
        "ReferencedSOPClassUID",
        "MediaStorageSOPClassUID",
        "TransferSyntaxUID",
        "ImplementationClassUID",
        "CodingSchemeUID",
        "ContextUID",
        "MappingResourceUID",
        "PrivateInformationCreatorUID",
        "ReferencedTransferSyntaxUIDInFile",
        "RelatedGeneralSOPClassUID",
        "OriginalSpecializedSOPClassUID",
    }
)
CURVE_OVERLAY_GROUPS = (0x5000, 0x6000)


def remap_uid(uid: str, key: bytes) -> str:
    """The de-identified value of ``uid``: ``2.25.`` + 128 bits of HMAC-SHA256 (≤ 44 chars)."""
    digest = hmac.new(key, uid.strip().encode("ascii", "replace"), hashlib.sha256).digest()
    return "2.25." + str(int.from_bytes(digest[:16], "big"))


def deidentify(ds: Dataset, *, key: bytes, pseudonym: str) -> Dataset:
    """De-identify ``ds`` in place (and return it) with the case ``key`` and ``pseudonym``."""
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
    meta = getattr(ds, "file_meta", None)
    if meta is not None and "MediaStorageSOPInstanceUID" in meta:
        meta.MediaStorageSOPInstanceUID = remap_uid(str(meta.MediaStorageSOPInstanceUID), key)
    ds.preamble = b"\x00" * 128
    return ds


def _clean(ds: Dataset, key: bytes) -> None:
    # Elements are inspected raw (tag, VR) and only decoded when changed: decoding every
    # ContourData value would cost far more than the de-identification itself.
    for raw_tag in list(ds.keys()):
        tag = Tag(raw_tag)
        if tag.is_private or (tag.group & 0xFF00) in CURVE_OVERLAY_GROUPS:
            del ds[tag]
            continue
        keyword = keyword_for_tag(tag)
        vr = _vr(ds, tag)
        if keyword in REMOVE_KEYWORDS:
            del ds[tag]
        elif vr == "SQ":
            for item in ds[tag].value or []:
                _clean(item, key)
        elif keyword in NEUTRAL_TEXT_KEYWORDS:
            elem = ds[tag]
            if elem.value not in (None, ""):
                elem.value = NEUTRAL_TEXT
        elif keyword in DUMMY_DATE_KEYWORDS:
            ds[tag].value = DUMMY_DATE
        elif keyword in DUMMY_TIME_KEYWORDS:
            ds[tag].value = "000000"
        elif vr == "PN":
            del ds[tag]
        elif vr == "UI" and keyword not in KEEP_UID_KEYWORDS:
            elem = ds[tag]
            if elem.value:
                elem.value = _remap_value(elem.value, key)


def _vr(ds: Dataset, tag: Tag) -> str | None:
    vr = getattr(ds.get_item(tag), "VR", None)
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
