"""Writes of the contouring app: cases, solutions, submissions, mappings, comparisons.

Uploads are staged and de-identified in a temporary folder, checked with the engine, and
only then stored, inside one transaction: a refused upload leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import re
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from contouring.deidentify import deidentify
from contouring.engine.compare import compare_case
from contouring.engine.errors import EngineError
from contouring.engine.geometry import CTGeometry, load_ct_series
from contouring.engine.metrics import PairMetrics, compare_prepared, prepare
from contouring.engine.raster import Mask, rasterise
from contouring.engine.rtstruct import StructureSet, read_rtstruct
from contouring.models import (
    CaseDose,
    CaseStructure,
    ClinicalCase,
    ClinicalObjective,
    ComparisonResult,
    ComparisonRun,
    MappingMethod,
    MappingStatus,
    ResultKind,
    Solution,
    StructureMapping,
    Submission,
    SubmissionRoi,
)
from contouring.naming import suggest_mapping
from contouring.uploads import (
    DicomFile,
    combined_sha256,
    engine_message,
    file_sha256,
    read_staged,
    stage_uploads,
)
from onco_hdf.jobs import JobInputError, job_create, job_enqueue

logger = logging.getLogger(__name__)

TAUS = (1.0, 2.0, 3.0)
# Below three solutions a consensus says nothing more than their overlap: not offered.
CONSENSUS_MIN_SOLUTIONS = 3
HD95_METHOD = "pooled"
CASES_DIR = "contouring/cases"


# --- Storage helpers -------------------------------------------------------------------
@contextlib.contextmanager
def staging_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="onco-contouring-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class StoredFiles:
    """Files saved to the storage during a write; deleted again if the write fails."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def save(self, name: str, path: Path) -> str:
        with open(path, "rb") as handle:
            saved = default_storage.save(name, File(handle))
        self.names.append(saved)
        return saved

    def discard(self) -> None:
        for name in self.names:
            default_storage.delete(name)


@contextlib.contextmanager
def storing() -> Iterator[StoredFiles]:
    stored = StoredFiles()
    try:
        yield stored
    except BaseException:
        stored.discard()
        raise


@contextlib.contextmanager
def local_paths(names: list[str]) -> Iterator[list[Path]]:
    """Local paths of stored files (copied to a temporary folder for remote storages)."""
    try:
        paths = [Path(default_storage.path(name)) for name in names]
    except NotImplementedError:
        paths = None
    if paths is not None:
        yield paths
        return
    with staging_dir() as folder:
        copies = []
        for index, name in enumerate(names):
            target = folder / f"{index:05d}.dcm"
            with default_storage.open(name, "rb") as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink)
            copies.append(target)
        yield copies


def case_geometry(case: ClinicalCase) -> CTGeometry:
    with local_paths(case.ct_files) as paths:
        return load_ct_series(paths)


def _uid_key(case_or_secret) -> bytes:
    secret = getattr(case_or_secret, "uid_secret", case_or_secret)
    return bytes.fromhex(secret)


def _deidentify_to(
    files: list[DicomFile],
    folder: Path,
    *,
    key: bytes,
    pseudonym: str,
    prefix: str,
    names: dict[str, str],
) -> list[Path]:
    """Write the de-identified copies; ``names`` learns which upload each copy comes from."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, item in enumerate(files):
        path = folder / f"{prefix}{index:04d}.dcm"
        try:
            dataset = deidentify(item.dataset, key=key, pseudonym=pseudonym)
            dataset.save_as(path, enforce_file_format=True)
        except Exception as exc:  # noqa: BLE001 — pydicom parses nested data lazily, and
            # a damaged file fails here in many ways (NotImplementedError for a bad VR...).
            logger.info("Undecodable upload %s: %r", item.staged.display_name, exc)
            raise ValidationError(
                _("The file %(name)s is damaged: its DICOM content cannot be decoded.")
                % {"name": item.staged.display_name},
                code="undecodable",
            ) from exc
        names[str(path)] = item.staged.display_name
        paths.append(path)
    return paths


def _engine_error(
    error: EngineError, folder: Path, names: dict[str, str] | None = None
) -> ValidationError:
    return ValidationError(engine_message(error, folder, names), code=error.code)


def _parse_dicom_date(value) -> datetime.date | None:
    try:
        return datetime.datetime.strptime(str(value or "").strip()[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _hex_colour(colour) -> str:
    if not colour:
        return ""
    return "#{:02x}{:02x}{:02x}".format(*(max(0, min(255, int(c))) for c in colour))


def _volumes(
    structure_set: StructureSet, geometry: CTGeometry, folder: Path, display: str
) -> dict[int, float]:
    """Rasterise every ROI (so a contour off the CT is refused now) and return volumes."""
    volumes = {}
    for roi in structure_set.rois:
        try:
            volumes[roi.number] = rasterise(roi, geometry, source=display).volume_cc
        except EngineError as error:
            raise _engine_error(error, folder, {}) from error
    return volumes


def _wrong_modality(item: DicomFile, expected: str) -> ValidationError:
    return ValidationError(
        _("The file %(name)s has the modality %(modality)s, but %(expected)s is expected here.")
        % {"name": item.staged.display_name, "modality": item.modality, "expected": expected},
        code="wrong_modality",
    )


# --- Clinical cases --------------------------------------------------------------------
def case_create(
    *,
    title: str,
    site: str,
    description: str,
    ct_uploads,
    reference_upload,
    user,
    is_demo: bool = False,
) -> ClinicalCase:
    """Open a case from a CT series (zip or files) and the reference RTSTRUCT.

    The reference may be a separate file or the single RTSTRUCT inside the CT upload.
    """
    uid_secret = secrets.token_hex(32)
    pseudonym = f"ONCOHDF-{secrets.token_hex(4).upper()}"
    key = _uid_key(uid_secret)
    with staging_dir() as folder:
        staged = stage_uploads(list(ct_uploads), folder / "upload")
        items = read_staged(staged, folder)
        cts = [item for item in items if item.modality == "CT"]
        structure_sets = [item for item in items if item.modality == "RTSTRUCT"]
        others = [item for item in items if item.modality not in ("CT", "RTSTRUCT")]
        if others:
            raise _wrong_modality(others[0], "CT")
        if not cts:
            raise ValidationError(_("The upload contains no CT image."), code="no_ct")
        if reference_upload is not None:
            ref_staged = stage_uploads([reference_upload], folder / "reference")
            structure_sets += read_staged(ref_staged, folder)
        reference_items = [i for i in structure_sets if i.modality == "RTSTRUCT"]
        if structure_sets and len(reference_items) != len(structure_sets):
            bad = next(i for i in structure_sets if i.modality != "RTSTRUCT")
            raise _wrong_modality(bad, "RTSTRUCT")
        if not reference_items:
            raise ValidationError(
                _("The reference RTSTRUCT is missing: add it to the zip or upload it separately."),
                code="no_reference",
            )
        if len(reference_items) > 1:
            raise ValidationError(
                _("The upload holds %(count)d RTSTRUCT files: give only the reference.")
                % {"count": len(reference_items)},
                code="several_references",
            )
        reference_item = reference_items[0]
        ct_sha = combined_sha256([item.staged for item in cts])
        manufacturer = str(cts[0].dataset.get("Manufacturer") or "")[:200]
        names = {str(folder / "ct"): _("the CT series")}
        ct_paths = _deidentify_to(
            cts, folder / "ct", key=key, pseudonym=pseudonym, prefix="CT", names=names
        )
        (ref_path,) = _deidentify_to(
            [reference_item],
            folder / "rs",
            key=key,
            pseudonym=pseudonym,
            prefix="RS",
            names=names,
        )
        try:
            geometry = load_ct_series(ct_paths)
            structure_set = read_rtstruct(ref_path)
        except EngineError as error:
            raise _engine_error(error, folder, names) from error
        _check_frame(
            structure_set, geometry.frame_of_reference_uid, reference_item.staged.display_name
        )
        volumes = _volumes(structure_set, geometry, folder, reference_item.staged.display_name)
        if not any(volumes.values()):
            raise ValidationError(
                _("The reference RTSTRUCT contains no contour."), code="empty_reference"
            )
        with storing() as stored, transaction.atomic():
            base = f"{CASES_DIR}/{pseudonym}"
            ct_names = [
                stored.save(f"{base}/ct/CT{position:04d}.dcm", Path(path))
                # geometry.files is sorted by z: slice k of the grid is ct_files[k].
                for position, path in enumerate(geometry.files)
            ]
            ref_name = stored.save(f"{base}/RS_reference.dcm", ref_path)
            case = ClinicalCase.objects.create(
                title=title,
                site=site,
                description=description,
                pseudonym=pseudonym,
                uid_secret=uid_secret,
                ct_files=ct_names,
                ct_sha256=ct_sha,
                ct_series_uid=geometry.series_instance_uid or "",
                ct_frame_of_reference_uid=geometry.frame_of_reference_uid,
                ct_shape=list(geometry.shape),
                ct_spacing=[round(s, 4) for s in geometry.spacing],
                ct_manufacturer=manufacturer,
                reference_file=ref_name,
                reference_sha256=reference_item.staged.sha256,
                reference_stored_sha256=file_sha256(ref_path),
                is_demo=is_demo,
                created_by=user,
            )
            seen = set()
            for position, roi in enumerate(structure_set.rois):
                if roi.name.casefold() in seen:
                    continue
                seen.add(roi.name.casefold())
                CaseStructure.objects.create(
                    case=case,
                    name=roi.name[:64],
                    roi_number=roi.number,
                    colour=_hex_colour(roi.colour) or "#ff0000",
                    volume_cc=volumes[roi.number],
                    is_compared=bool(volumes[roi.number]),
                    position=position,
                )
    return case


def _check_frame(structure_set: StructureSet, frame_uid: str, display: str) -> None:
    uid = structure_set.frame_of_reference_uid
    if uid is not None and uid != frame_uid:
        raise ValidationError(
            _(
                "The RTSTRUCT %(name)s was drawn on another scan: its frame of reference "
                "(FrameOfReferenceUID) is not the one of the case's CT."
            )
            % {"name": display},
            code="for_mismatch",
        )


@transaction.atomic
def case_update(*, case: ClinicalCase, title: str, site: str, description: str) -> ClinicalCase:
    case.title, case.site, case.description = title, site, description
    case.save(update_fields=["title", "site", "description"])
    return case


@transaction.atomic
def case_structures_choose(*, case: ClinicalCase, structure_ids: list[int]) -> None:
    """Choose which reference structures are compared (at least one, none empty)."""
    chosen = set(case.structures.filter(pk__in=structure_ids).values_list("pk", flat=True))
    if not chosen:
        raise ValidationError(_("Choose at least one structure to compare."), code="none")
    empty = case.structures.filter(pk__in=chosen, volume_cc__in=[0, None])
    if empty.exists():
        raise ValidationError(
            _("The structure %(name)s is empty in the reference and cannot be compared.")
            % {"name": empty.first().name},
            code="empty_structure",
        )
    for structure in case.structures.select_for_update():
        structure.is_compared = structure.pk in chosen
        structure.save(update_fields=["is_compared"])
    for submission in case.submissions.filter(is_current=True):
        mapping_suggest(submission=submission)


# --- Reference dose ----------------------------------------------------------------------
def _single_upload(upload, folder: Path, expected: str) -> DicomFile:
    staged = stage_uploads([upload], folder)
    if len(staged) != 1:
        raise ValidationError(
            _("Give exactly one %(expected)s file (the upload holds %(count)d).")
            % {"expected": expected, "count": len(staged)},
            code="several_files",
        )
    (item,) = read_staged(staged, folder)
    if item.modality != expected:
        raise _wrong_modality(item, expected)
    return item


def _other_frame(item: DicomFile) -> ValidationError:
    return ValidationError(
        _(
            "The file %(name)s is not in the frame of reference (FrameOfReferenceUID) of the "
            "case's CT: it belongs to another scan."
        )
        % {"name": item.staged.display_name},
        code="dose_frame_of_reference",
    )


def _delete_stored(names: list[str]) -> None:
    for name in names:
        default_storage.delete(name)


def _prescription_gy(plan) -> float | None:
    """The plan's highest target prescription (DoseReferenceSequence), if it states one."""
    doses = []
    for item in plan.get("DoseReferenceSequence") or ():
        try:
            value = float(item.get("TargetPrescriptionDose"))
        except (TypeError, ValueError):
            continue
        if np.isfinite(value) and value > 0:
            doses.append(value)
    return max(doses) if doses else None


def case_dose_attach(
    *, case: ClinicalCase, dose_upload, plan_upload=None, user
) -> tuple[CaseDose, list[str]]:
    """Attach the reference plan's RTDOSE (and optionally its RTPLAN) to the case.

    The dose is checked as the CT is (RTDOSE SOP class, dose in Gy, known summation type,
    axial grid, the CT's frame of reference, a grid that overlaps the CT), de-identified
    with the case's key, and replaces the previous dose. Returns the warnings to show.
    """
    from contouring.engine.dvh import check_dose_matches_ct, read_rtdose

    key = _uid_key(case)
    with staging_dir() as folder:
        dose_item = _single_upload(dose_upload, folder / "dose-upload", "RTDOSE")
        plan_item = (
            _single_upload(plan_upload, folder / "plan-upload", "RTPLAN") if plan_upload else None
        )
        names: dict[str, str] = {}
        (dose_path,) = _deidentify_to(
            [dose_item], folder / "rd", key=key, pseudonym=case.pseudonym, prefix="RD", names=names
        )
        try:
            # de-identified in place: its UIDs are the stored copy's
            dose = read_rtdose(dose_item.dataset, source=str(dose_path))
        except EngineError as error:
            raise _engine_error(error, folder, names) from error
        # The CT's UID was remapped with the same key: the same scan gives the same UID.
        if dose.frame_of_reference_uid != case.ct_frame_of_reference_uid:
            raise _other_frame(dose_item)
        try:
            issues = check_dose_matches_ct(dose, case_geometry(case))
        except EngineError as error:
            raise _engine_error(error, folder, names) from error
        warnings = [engine_message(EngineError(i.code, i.file), folder, names) for i in issues]
        plan_path, prescription = None, None
        if plan_item is not None:
            (plan_path,) = _deidentify_to(
                [plan_item],
                folder / "rp",
                key=key,
                pseudonym=case.pseudonym,
                prefix="RP",
                names=names,
            )
            plan = plan_item.dataset
            plan_frame = str(plan.get("FrameOfReferenceUID") or "")
            if plan_frame and plan_frame != case.ct_frame_of_reference_uid:
                raise _other_frame(plan_item)
            referenced = {
                str(ref.get("ReferencedSOPInstanceUID") or "")
                for ref in dose_item.dataset.get("ReferencedRTPlanSequence") or ()
            }
            if referenced and str(plan.get("SOPInstanceUID") or "") not in referenced:
                warnings.append(
                    _(
                        "The RTDOSE %(dose)s does not refer to the RTPLAN %(plan)s: check that "
                        "they belong together."
                    )
                    % {"dose": dose_item.staged.display_name, "plan": plan_item.staged.display_name}
                )
            prescription = _prescription_gy(plan)
        with storing() as stored, transaction.atomic():
            base = f"{CASES_DIR}/{case.pseudonym}"
            previous = CaseDose.objects.select_for_update().filter(case=case).first()
            old_names = [previous.file.name, previous.plan_file.name] if previous else []
            dose_name = stored.save(f"{base}/RD_reference.dcm", dose_path)
            plan_name = stored.save(f"{base}/RP_reference.dcm", plan_path) if plan_path else ""
            case_dose, _created = CaseDose.objects.update_or_create(
                case=case,
                defaults={
                    "file": dose_name,
                    "sha256": dose_item.staged.sha256,
                    "stored_sha256": file_sha256(dose_path),
                    "plan_file": plan_name,
                    "plan_sha256": plan_item.staged.sha256 if plan_item else "",
                    "shape": list(dose.shape),
                    "spacing": [round(s, 4) for s in dose.spacing],
                    "max_dose_gy": dose.max_dose,
                    "dose_type": dose.dose_type[:16],
                    "summation_type": dose.summation_type[:16],
                    "covers_whole_ct": not issues,
                    "plan_dvh_count": len(dose.plan_dvhs),
                    "prescription_gy": prescription,
                    "uploaded_by": user,
                },
            )
            transaction.on_commit(lambda: _delete_stored([n for n in old_names if n]))
    return case_dose, warnings


# --- Clinical objectives ---------------------------------------------------------------
@transaction.atomic
def objective_save(*, objective: ClinicalObjective | None = None, data: dict) -> ClinicalObjective:
    """Create or change a clinical objective (``data`` already validated by its form)."""
    objective = objective or ClinicalObjective()
    for name, value in data.items():
        setattr(objective, name, value)
    objective.save()
    return objective


@transaction.atomic
def objective_delete(*, objective: ClinicalObjective) -> None:
    objective.delete()


# --- Solutions -------------------------------------------------------------------------
@transaction.atomic
def solution_create(
    *,
    vendor: str,
    product: str,
    model_version: str,
    ce_marking: str,
    user,
    is_simulated: bool = False,
) -> Solution:
    vendor, product, model_version = vendor.strip(), product.strip(), model_version.strip()
    if Solution.objects.filter(
        vendor__iexact=vendor, product__iexact=product, model_version__iexact=model_version
    ).exists():
        raise ValidationError(
            _("This solution (same vendor, product and version) is already registered."),
            code="duplicate",
        )
    return Solution.objects.create(
        vendor=vendor,
        product=product,
        model_version=model_version,
        ce_marking=ce_marking,
        is_simulated=is_simulated,
        registered_by=user,
    )


# --- Submissions -----------------------------------------------------------------------
def submission_create(
    *,
    case: ClinicalCase,
    solution: Solution,
    centre,
    upload,
    user,
    attested: bool,
    justification: str = "",
    is_demo: bool = False,
) -> tuple[Submission, list[str]]:
    """Store a solution's RTSTRUCT for the case, de-identified; return it and its warnings.

    The header's device identity is reconciled with the declared solution first
    (:func:`provenance_reconcile`).
    """
    if not attested:
        raise ValidationError(
            _("You must attest that the contours were not retouched by hand."), code="attestation"
        )
    with staging_dir() as folder:
        staged = stage_uploads([upload], folder / "upload")
        if len(staged) != 1:
            raise ValidationError(
                _("Give exactly one RTSTRUCT file per submission (the upload holds %(count)d).")
                % {"count": len(staged)},
                code="several_files",
            )
        sha = staged[0].sha256
        if sha == case.reference_sha256:
            raise ValidationError(
                _("This file is the case's reference, not a solution's output."), code="reference"
            )
        if case.submissions.filter(sha256=sha).exists():
            raise _duplicate_submission(case, sha)
        (item,) = read_staged(staged, folder)
        if item.modality != "RTSTRUCT":
            raise _wrong_modality(item, "RTSTRUCT")
        header = item.dataset
        provenance = {
            "manufacturer": str(header.get("Manufacturer") or "")[:200],
            "manufacturer_model_name": str(header.get("ManufacturerModelName") or "")[:200],
            "software_versions": _joined(header.get("SoftwareVersions"))[:200],
            "structure_set_date": _parse_dicom_date(header.get("StructureSetDate")),
        }
        provenance["provenance_justification"] = provenance_reconcile(
            provenance=provenance, solution=solution, justification=justification
        )
        names: dict[str, str] = {}
        (path,) = _deidentify_to(
            [item],
            folder / "rs",
            key=_uid_key(case),
            pseudonym=case.pseudonym,
            prefix="RS",
            names=names,
        )
        try:
            structure_set = read_rtstruct(path)
        except EngineError as error:
            raise _engine_error(error, folder, names) from error
        _check_frame(structure_set, case.ct_frame_of_reference_uid, item.staged.display_name)
        try:
            geometry = case_geometry(case)
        except EngineError as error:
            raise _engine_error(error, folder, names) from error
        volumes = _volumes(structure_set, geometry, folder, item.staged.display_name)
        if not any(volumes.values()):
            raise ValidationError(
                _("The RTSTRUCT %(name)s contains no contour at all.")
                % {"name": item.staged.display_name},
                code="empty_submission",
            )
        warnings = [
            _(
                "The structure %(roi)s is empty in this file: it will be shown as missing "
                "for this solution."
            )
            % {"roi": roi.name}
            for roi in structure_set.rois
            if not volumes[roi.number]
        ]
        try:
            submission = _submission_store(
                case=case,
                solution=solution,
                centre=centre,
                path=path,
                sha=sha,
                user=user,
                is_demo=is_demo,
                provenance=provenance,
                structure_set=structure_set,
                volumes=volumes,
            )
        except IntegrityError as error:
            # The same file uploaded at the same instant by another request: one row wins
            # (unique case × SHA-256), the others get the duplicate message.
            raise _duplicate_submission(case, sha) from error
    return submission, warnings


def _duplicate_submission(case: ClinicalCase, sha: str) -> ValidationError:
    duplicate = case.submissions.filter(sha256=sha).first()
    date = timezone.localtime(duplicate.uploaded_at if duplicate else timezone.now())
    return ValidationError(
        _(
            "This file was already uploaded for this case on %(date)s: a submission "
            "is stored only once."
        )
        % {"date": date.strftime("%d/%m/%Y")},
        code="duplicate",
    )


def _submission_store(
    *, case, solution, centre, path, sha, user, is_demo, provenance, structure_set, volumes
) -> Submission:
    with storing() as stored, transaction.atomic():
        name = stored.save(f"{CASES_DIR}/{case.pseudonym}/submissions/RS_{sha[:16]}.dcm", path)
        Submission.objects.select_for_update().filter(
            case=case, solution=solution, centre=centre, is_current=True
        ).update(is_current=False)
        submission = Submission.objects.create(
            case=case,
            solution=solution,
            centre=centre,
            file=name,
            sha256=sha,
            stored_sha256=file_sha256(path),
            attested_no_retouch=True,
            uploaded_by=user,
            is_demo=is_demo,
            **provenance,
        )
        for roi in structure_set.rois:
            SubmissionRoi.objects.create(
                submission=submission,
                name=roi.name[:64],
                roi_number=roi.number,
                volume_cc=volumes[roi.number],
                colour=_hex_colour(roi.colour),
            )
        mapping_suggest(submission=submission)
    return submission


@dataclasses.dataclass(frozen=True)
class ProvenanceRow:
    attribute: str
    header: str
    declared: str
    matches: bool


class ProvenanceMismatch(ValidationError):
    """The header does not name the declared solution; ``rows`` shows both side by side and
    ``suggestion`` is the registered solution the header names, if any."""

    def __init__(self, message, *, code, rows, suggestion, header):
        super().__init__(message, code=code)
        self.rows, self.suggestion, self.header = rows, suggestion, header


def _tokens(value: str) -> set[str]:
    return {t.casefold().removeprefix("v") for t in re.split(r"[\s/\\,;]+", value) if t}


def provenance_rows(*, provenance: dict, solution: Solution) -> list[ProvenanceRow]:
    """Header (device identity) against the declared solution, attribute by attribute."""
    pairs = (
        ("Manufacturer", provenance.get("manufacturer", ""), solution.vendor),
        ("ManufacturerModelName", provenance.get("manufacturer_model_name", ""), solution.product),
        ("SoftwareVersions", provenance.get("software_versions", ""), solution.model_version),
    )
    rows = []
    for attribute, header, declared in pairs:
        header, declared = (header or "").strip(), (declared or "").strip()
        if attribute == "SoftwareVersions":
            matches = not header or declared.casefold().removeprefix("v") in _tokens(header)
        else:
            h, d = header.casefold(), declared.casefold()
            matches = not header or h in d or d in h
        rows.append(ProvenanceRow(attribute, header, declared, matches))
    return rows


def provenance_reconcile(*, provenance: dict, solution: Solution, justification: str) -> str:
    """The justification to store, or a :class:`ProvenanceMismatch`.

    Another software version is always another solution (each version is its own row of
    the report): it cannot be justified away. Another vendor or product (a planning system
    that re-exported the file, for instance) needs a written justification.
    """
    rows = provenance_rows(provenance=provenance, solution=solution)
    if all(row.matches for row in rows):
        return ""
    header = {row.attribute: row.header for row in rows}
    suggestion = (
        Solution.objects.filter(
            vendor__iexact=header["Manufacturer"] or solution.vendor,
            product__iexact=header["ManufacturerModelName"] or solution.product,
            model_version__iexact=header["SoftwareVersions"] or solution.model_version,
        )
        .exclude(pk=solution.pk)
        .first()
    )
    if suggestion is None and header["SoftwareVersions"]:
        suggestion = (
            Solution.objects.filter(
                vendor__iexact=solution.vendor,
                product__iexact=solution.product,
                model_version__iexact=header["SoftwareVersions"],
            )
            .exclude(pk=solution.pk)
            .first()
        )
    version = rows[2]
    if not version.matches:
        raise ProvenanceMismatch(
            _(
                "The file's header gives the software version %(header)s, but the declared "
                "solution is version %(declared)s: each version is its own solution. Choose "
                "or register the solution of version %(header)s."
            )
            % {"header": version.header, "declared": version.declared},
            code="version_mismatch",
            rows=rows,
            suggestion=suggestion,
            header=header,
        )
    justification = (justification or "").strip()
    if not justification:
        raise ProvenanceMismatch(
            _(
                "The file's header names %(header)s, not the declared solution %(declared)s: "
                "choose the right solution, or explain the difference (for instance a system "
                "that re-exported the file) in the justification field."
            )
            % {
                "header": " / ".join(r.header for r in rows[:2] if r.header),
                "declared": f"{solution.vendor} / {solution.product}",
            },
            code="provenance_mismatch",
            rows=rows,
            suggestion=suggestion,
            header=header,
        )
    return justification


def _joined(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return " / ".join(str(v) for v in value)
    return str(value)


@transaction.atomic
def mapping_suggest(*, submission: Submission) -> None:
    """Suggest a ROI for every compared structure; confirmed choices are kept."""
    structures = list(submission.case.structures.filter(is_compared=True))
    rois = list(submission.rois.all())
    existing = {m.structure_id: m for m in submission.mappings.select_related("roi")}
    taken = {m.roi.name for m in existing.values() if m.status == MappingStatus.CONFIRMED and m.roi}
    free = [roi for roi in rois if roi.name not in taken]
    pending = [
        s
        for s in structures
        if s.pk not in existing or existing[s.pk].status != MappingStatus.CONFIRMED
    ]
    by_name = {roi.name: roi for roi in free}
    for suggestion, structure in zip(
        suggest_mapping([s.name for s in pending], [r.name for r in free]), pending, strict=True
    ):
        StructureMapping.objects.update_or_create(
            submission=submission,
            structure=structure,
            defaults={
                "roi": by_name.get(suggestion.roi) if suggestion.roi else None,
                "method": suggestion.method,
                "status": MappingStatus.SUGGESTED,
            },
        )
    unconfirmed = any(s.pk not in existing for s in pending)
    if unconfirmed and submission.mapping_confirmed_at is not None:
        submission.mapping_confirmed_at = None
        submission.save(update_fields=["mapping_confirmed_at"])


@transaction.atomic
def mapping_confirm(*, submission: Submission, user, choices: dict[int, int | None]) -> None:
    """Confirm the mapping: ``choices`` gives, per structure id, a ROI id or None."""
    submission = Submission.objects.select_for_update().get(pk=submission.pk)
    rois = {roi.pk: roi for roi in submission.rois.all()}
    used: dict[int, str] = {}
    mappings = {m.structure_id: m for m in submission.mappings.select_related("structure")}
    for structure_id, mapping in mappings.items():
        if not mapping.structure.is_compared:
            continue
        roi_id = choices.get(structure_id)
        if roi_id is not None and roi_id not in rois:
            raise ValidationError(_("Choose a structure of this file."), code="unknown_roi")
        if roi_id is not None and roi_id in used:
            raise ValidationError(
                _("The structure %(roi)s is chosen for both %(first)s and %(second)s.")
                % {
                    "roi": rois[roi_id].name,
                    "first": used[roi_id],
                    "second": mapping.structure.name,
                },
                code="roi_twice",
            )
        if roi_id is not None:
            used[roi_id] = mapping.structure.name
        if roi_id != mapping.roi_id:
            mapping.method = MappingMethod.MANUAL if roi_id else MappingMethod.NONE
        mapping.roi = rois.get(roi_id) if roi_id is not None else None
        mapping.status = MappingStatus.CONFIRMED
        mapping.save(update_fields=["roi", "method", "status"])
    submission.mapping_confirmed_at = timezone.now()
    submission.mapping_confirmed_by = user
    submission.save(update_fields=["mapping_confirmed_at", "mapping_confirmed_by"])


# --- Result tables -----------------------------------------------------------------------
@transaction.atomic
def results_columns_save(*, user, columns: list[str]) -> list[str]:
    """Keep the user's choice of metric columns (unknown names dropped, at least one)."""
    from contouring.models import ResultsColumns
    from contouring.results import METRIC_BY_FIELD, METRICS

    wanted = {c for c in columns if c in METRIC_BY_FIELD}
    if not wanted:
        raise ValidationError(_("Choose at least one metric to show."), code="no_column")
    kept = [m.field for m in METRICS if m.field in wanted]
    ResultsColumns.objects.update_or_create(user=user, defaults={"columns": kept})
    return kept


# --- Comparisons -----------------------------------------------------------------------
def comparison_ready_submissions(case: ClinicalCase):
    return case.submissions.filter(is_current=True, mapping_confirmed_at__isnull=False)


class ComparisonAlreadyRunning(ValidationError):
    """A second launch while the case's comparison is waiting or running."""

    def __init__(self, run: ComparisonRun) -> None:
        self.run = run
        super().__init__(
            _(
                "A comparison of this case is already under way (started on %(date)s); "
                "a new one can be run once it is over."
            )
            % {"date": timezone.localtime(run.created_at).strftime("%d/%m/%Y %H:%M")},
            code="already_running",
        )


@transaction.atomic
def comparison_run_start(
    *, case: ClinicalCase, user, include_consensus: bool = True
) -> ComparisonRun:
    """Start the case's comparison; refused while another one is waiting or running."""
    from contouring.selectors import active_run
    from contouring.tasks import comparison_run_compute_task

    # The case row is the lock: two launches at the same instant start one job.
    case = ClinicalCase.objects.select_for_update().get(pk=case.pk)
    running = active_run(case)
    if running is not None:
        raise ComparisonAlreadyRunning(running)
    if not comparison_ready_submissions(case).exists():
        raise ValidationError(
            _("No submission of this case has a confirmed structure mapping yet."),
            code="nothing_to_compare",
        )
    job = job_create(
        kind="contouring.comparison",
        label=_("Contour comparison — %(case)s") % {"case": case.title},
        user=user,
        params={"case": case.pk},
    )
    run = ComparisonRun.objects.create(
        case=case,
        job=job,
        include_consensus=include_consensus,
        hd95_method=HD95_METHOD,
        taus=list(TAUS),
        created_by=user,
    )
    job_enqueue(job=job, task=comparison_run_compute_task, run_id=run.pk)
    return run


def set_label(submission_id: int) -> str:
    return f"s{submission_id}"


def _renamed(structure_set: StructureSet, mapping: dict[int, str]) -> StructureSet:
    """The set restricted to the mapped ROIs, each renamed after its case structure."""
    rois = tuple(
        dataclasses.replace(roi, name=mapping[roi.number])
        for roi in structure_set.rois
        if roi.number in mapping
    )
    return dataclasses.replace(structure_set, rois=rois)


def comparison_run_compute(*, run_id: int, report: Callable[[int, str], None]) -> dict:
    """Compute every metric of the run's case and replace the case's results."""
    run = ComparisonRun.objects.select_related("case").get(pk=run_id)
    case = run.case
    structures = list(case.structures.filter(is_compared=True))
    submissions = list(
        comparison_ready_submissions(case)
        .select_related("solution", "centre")
        .prefetch_related("mappings__roi")
    )
    if not submissions or not structures:
        raise JobInputError(_("No submission of this case has a confirmed structure mapping yet."))
    report(2, _("Reading the CT series and the contours"))
    names = {s.roi_number: s.name for s in structures}
    try:
        geometry = case_geometry(case)
        with local_paths([case.reference_file.name]) as (ref_path,):
            reference = _renamed(read_rtstruct(ref_path), names)
        sources: dict[str, Submission | None] = {str(ref_path): None}
        tests = {}
        for submission in submissions:
            mapping = {
                m.roi.roi_number: m.structure.name
                for m in submission.mappings.all()
                if m.roi is not None and m.structure.is_compared
            }
            with local_paths([submission.file.name]) as (path,):
                tests[set_label(submission.pk)] = _renamed(read_rtstruct(path), mapping)
                sources[str(path)] = submission
    except EngineError as error:
        raise JobInputError(error.message("fr")) from error

    state = {"last": -1}

    def progress(done: int, total: int) -> None:
        percent = 5 + int(75 * done / max(total, 1))
        if percent != state["last"]:
            state["last"] = percent
            report(
                percent,
                _("Computing the metrics (%(done)d/%(total)d)") % {"done": done, "total": total},
            )

    try:
        result = compare_case(
            geometry, reference, tests, taus=TAUS, hd95=HD95_METHOD, progress=progress
        )
        consensus = (
            _consensus_metrics(geometry, reference, tests, structures, report)
            if run.include_consensus and len(tests) >= CONSENSUS_MIN_SOLUTIONS
            else {}
        )
    except EngineError as error:
        raise JobInputError(error.message("fr")) from error

    doses = _dose_statistics(run, geometry, reference, tests, structures, report)
    report(96 if doses else 92, _("Saving the results"))
    by_label = {set_label(s.pk): s for s in submissions}
    by_name = {s.name: s for s in structures}
    with transaction.atomic():
        _save_doses(run, doses or {}, by_label, by_name)
        kept = []
        for pair in result.pairs:
            structure = by_name[pair.structure]
            if pair.first == "reference":
                key, kind = f"ref:{by_label[pair.second].pk}", ResultKind.VS_REFERENCE
                test, other = by_label[pair.second], None
            else:
                first, second = by_label[pair.first], by_label[pair.second]
                key, kind = f"pair:{first.pk}:{second.pk}", ResultKind.PAIR
                test, other = second, first
            kept.append(_save_result(run, structure, key, kind, test, other, pair.metrics))
        for (name, kind), metrics in consensus.items():
            kept.append(_save_result(run, by_name[name], kind, kind, None, None, metrics))
        case.results.exclude(pk__in=kept).delete()
        run.warnings = run_warnings(result.warnings, sources)
        run.engine_version = _engine_version()
        run.finished_at = timezone.now()
        run.save(update_fields=["warnings", "engine_version", "finished_at"])
    return {
        "message": _("%(count)d results computed.") % {"count": len(kept)},
        "result_url": reverse("contouring:case-results", args=[case.pk]),
    }


def _dose_statistics(run, geometry, reference, tests, structures, report) -> dict | None:
    """The DVH of every structure set on the case's reference dose; None without a dose."""
    from contouring import dosimetry
    from contouring.engine.dvh import read_rtdose

    case_dose = CaseDose.objects.filter(case=run.case).first()
    if case_dose is None:
        return None
    report(92, _("Computing the DVHs on the reference dose"))
    objectives = dosimetry.objectives_for_case(run.case, structures)
    levels = {pk: dosimetry.dose_levels(found) for pk, found in objectives.items()}
    with_consensus = run.include_consensus and len(tests) >= CONSENSUS_MIN_SOLUTIONS
    try:
        with local_paths([case_dose.file.name]) as (path,):
            dose = read_rtdose(path, source=_("the reference RTDOSE"))
        doses = dosimetry.structure_set_dvhs(
            geometry,
            dose,
            reference,
            tests,
            structures,
            levels,
            consensus=(lambda masks, voters: majority_vote(masks, voters, geometry))
            if with_consensus
            else None,
            progress=lambda done, total: report(
                92 + int(4 * done / max(total, 1)), _("Computing the DVHs on the reference dose")
            ),
        )
    except EngineError as error:
        raise JobInputError(error.message("fr")) from error
    case_dose.plan_comparison = dosimetry.plan_comparison(doses, reference, dose)
    case_dose.save(update_fields=["plan_comparison"])
    return doses


def _save_doses(run, doses: dict, by_label: dict, by_name: dict) -> None:
    """Replace the case's DVH rows by the run's (none when the case has no dose)."""
    from contouring import dosimetry
    from contouring.models import DoseSetKind, StructureDose

    kept = []
    for (name, key), result in doses.items():
        if key == dosimetry.REFERENCE_KEY:
            kind, submission = DoseSetKind.REFERENCE, None
        elif key == dosimetry.CONSENSUS_KEY:
            kind, submission = DoseSetKind.CONSENSUS, None
        else:
            kind, submission = DoseSetKind.SOLUTION, by_label[key]
        row, _created = StructureDose.objects.update_or_create(
            case=run.case,
            structure=by_name[name],
            set_key=key if submission is None else f"sub:{submission.pk}",
            defaults={
                "kind": kind,
                "submission": submission,
                "run": run,
                **dosimetry.row_values(result),
            },
        )
        kept.append(row.pk)
    StructureDose.objects.filter(case=run.case).exclude(pk__in=kept).delete()


def run_warnings(issues, sources: dict[str, Submission | None]) -> list[dict]:
    """The engine's warnings of a run, each tied to its submission (None: the reference).

    The message names the file by its solution and centre, never by the stored copy's
    internal name.
    """
    out = []
    seen = set()
    for issue in issues:
        submission = sources.get(str(issue.file)) if issue.file else None
        if submission is not None:
            display = _("the RTSTRUCT of %(label)s") % {"label": submission.short_label}
        elif issue.file in sources:
            display = _("the reference RTSTRUCT")
        else:
            display = _("the CT series")
        message = dataclasses.replace(issue, file=display).message("fr")
        key = (submission.pk if submission else None, message)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {
                "submission": submission.pk if submission else None,
                "code": issue.code,
                "message": message,
            }
        )
    return out[:200]


def _engine_version() -> str:
    from contouring import engine

    return str(getattr(engine, "__version__", "") or "dev")


def _consensus_metrics(
    geometry: CTGeometry,
    reference: StructureSet,
    tests: dict[str, StructureSet],
    structures: list[CaseStructure],
    report,
) -> dict[tuple[str, str], PairMetrics]:
    """Majority vote and STAPLE consensus of the solutions, each against the reference.

    Majority: a voxel in more than half of the solutions. STAPLE: SimpleITK's
    expectation-maximisation estimate of the true segmentation (probability ≥ 0.5). A
    solution without the structure votes "outside" everywhere in both.
    """
    out = {}
    voters = len(tests)
    for index, structure in enumerate(structures):
        ref_roi = reference.get(structure.name)
        if ref_roi is None:
            continue
        masks = [
            rasterise(roi, geometry)
            for structure_set in tests.values()
            if (roi := structure_set.get(structure.name)) is not None
        ]
        present = [m for m in masks if not m.is_empty]
        prepared_reference = prepare(rasterise(ref_roi, geometry))
        for kind, consensus in (
            (ResultKind.CONSENSUS, majority_vote(present, voters, geometry)),
            (ResultKind.STAPLE, staple(present, voters, geometry)),
        ):
            out[structure.name, kind] = compare_prepared(
                prepared_reference, prepare(consensus), taus=TAUS, hd95=HD95_METHOD
            )
        report(80 + int(12 * (index + 1) / len(structures)), _("Computing the consensus"))
    return out


def _stacked(masks: list[Mask]) -> tuple[np.ndarray, np.ndarray]:
    """The masks on their union bounding box: (lower corner, array of shape (n, z, y, x))."""
    lo = np.min([m.offset for m in masks], axis=0)
    hi = np.max([np.add(m.offset, m.data.shape) for m in masks], axis=0)
    stack = np.zeros((len(masks), *tuple(hi - lo)), dtype=np.uint8)
    for index, mask in enumerate(masks):
        window = tuple(
            slice(o - low, o - low + s)
            for o, low, s in zip(mask.offset, lo, mask.data.shape, strict=True)
        )
        stack[index][window] = mask.data
    return lo, stack


def staple(masks: list[Mask], voters: int, geometry: CTGeometry) -> Mask:
    """SimpleITK's STAPLE estimate (probability ≥ 0.5) of ``voters`` solutions' masks."""
    import SimpleITK as sitk

    if not masks:
        return Mask.from_array(
            np.zeros((0, 0, 0), bool), geometry.spacing, grid_shape=geometry.shape
        )
    lo, stack = _stacked(masks)
    images = [sitk.GetImageFromArray(layer) for layer in stack]
    # Absent solutions vote "outside" everywhere, as in the majority vote.
    images += [sitk.GetImageFromArray(np.zeros_like(stack[0]))] * (voters - len(masks))
    estimator = sitk.STAPLEImageFilter()
    estimator.SetForegroundValue(1.0)
    probability = sitk.GetArrayFromImage(estimator.Execute(images))
    return Mask.from_array(
        probability >= 0.5,
        geometry.spacing,
        offset=tuple(int(v) for v in lo),
        grid_shape=geometry.shape,
    )


def majority_vote(masks: list[Mask], voters: int, geometry: CTGeometry) -> Mask:
    if not masks:
        return Mask.from_array(
            np.zeros((0, 0, 0), bool), geometry.spacing, grid_shape=geometry.shape
        )
    lo, stack = _stacked(masks)
    return Mask.from_array(
        stack.sum(axis=0, dtype=np.uint16) * 2 > voters,
        geometry.spacing,
        offset=tuple(int(v) for v in lo),
        grid_shape=geometry.shape,
    )


CONSENSUS_BUILDERS = {"majority": ResultKind.CONSENSUS, "staple": ResultKind.STAPLE}


def consensus_rtstruct(*, case: ClinicalCase, method: str) -> bytes:
    """An RTSTRUCT (rt-utils) of the case's consensus, one ROI per compared structure.

    Built on the case's stored (de-identified) CT series, from the current submissions
    with a confirmed mapping, so a physicist can load it in a planning system.
    """
    from rt_utils import RTStructBuilder

    submissions = list(
        comparison_ready_submissions(case)
        .select_related("solution", "centre")
        .prefetch_related("mappings__roi")
    )
    if len(submissions) < CONSENSUS_MIN_SOLUTIONS:
        raise ValidationError(
            _("A consensus needs at least three solutions with a confirmed mapping."),
            code="too_few_solutions",
        )
    build = majority_vote if method == "majority" else staple
    structures = list(case.structures.filter(is_compared=True))
    with local_paths(case.ct_files) as ct_paths:
        geometry = load_ct_series(ct_paths)
        tests = []
        for submission in submissions:
            mapping = {
                m.roi.roi_number: m.structure.name
                for m in submission.mappings.all()
                if m.roi is not None and m.structure.is_compared
            }
            with local_paths([submission.file.name]) as (path,):
                tests.append(_renamed(read_rtstruct(path), mapping))
        with staging_dir() as folder:
            series = folder / "ct"
            series.mkdir()
            for index, path in enumerate(ct_paths):
                shutil.copyfile(path, series / f"CT{index:04d}.dcm")
            rtstruct = RTStructBuilder.create_new(dicom_series_path=str(series))
            for structure in structures:
                masks = [
                    rasterise(roi, geometry)
                    for structure_set in tests
                    if (roi := structure_set.get(structure.name)) is not None
                ]
                mask = build([m for m in masks if not m.is_empty], len(tests), geometry)
                dense = np.zeros(geometry.shape, dtype=bool)
                if not mask.is_empty:
                    window = tuple(
                        slice(o, o + n) for o, n in zip(mask.offset, mask.data.shape, strict=True)
                    )
                    dense[window] = mask.data
                if not dense.any():
                    continue
                # rt-utils wants (rows, columns, slices), slices sorted by z like the grid.
                rtstruct.add_roi(
                    mask=np.transpose(dense, (1, 2, 0)),
                    name=f"{structure.name}_{method}"[:64],
                    color=[int(structure.colour[i : i + 2], 16) for i in (1, 3, 5)],
                )
            target = folder / "consensus.dcm"
            rtstruct.save(str(target))
            return target.read_bytes()


def _save_result(run, structure, key, kind, test, other, metrics: PairMetrics) -> int:
    sdsc = metrics.surface_dsc or {}
    apl = metrics.added_path_length_mm or {}
    row, _created = ComparisonResult.objects.update_or_create(
        case=run.case,
        structure=structure,
        pair_key=key,
        defaults={
            "kind": kind,
            "test": test,
            "other": other,
            "run": run,
            "status": metrics.status,
            "reference_volume_cc": metrics.reference_volume_cc,
            "test_volume_cc": metrics.test_volume_cc,
            "volume_ratio": metrics.volume_ratio,
            "dsc": metrics.dsc,
            "jaccard": metrics.jaccard,
            "sensitivity": metrics.sensitivity,
            "false_positive_cc": metrics.false_positive_cc,
            "hausdorff_mm": metrics.hausdorff_mm,
            "hd95_mm": metrics.hd95_mm,
            "msd_mm": metrics.mean_surface_distance_mm,
            "surface_dsc_1mm": sdsc.get(1.0),
            "surface_dsc_2mm": sdsc.get(2.0),
            "surface_dsc_3mm": sdsc.get(3.0),
            "apl_1mm": apl.get(1.0),
            "apl_2mm": apl.get(2.0),
            "apl_3mm": apl.get(3.0),
            "centroid_distance_mm": metrics.centroid_distance_mm,
        },
    )
    return row.pk
