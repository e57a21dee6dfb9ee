"""The case's reference dose (RTDOSE, optional RTPLAN) and the clinical objectives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils.translation import gettext as _

from contouring.engine.errors import EngineError
from contouring.models import (
    CaseDose,
    ClinicalCase,
    ClinicalObjective,
)
from contouring.services.common import (
    CASES_DIR,
    _deidentify_to,
    _engine_error,
    _uid_key,
    _wrong_modality,
    case_geometry,
    staging_dir,
    storing,
)
from contouring.uploads import (
    DicomFile,
    engine_message,
    file_sha256,
    read_staged,
    stage_uploads,
)


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
