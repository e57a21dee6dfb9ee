"""RTSTRUCT submissions of the solutions and their provenance."""

from __future__ import annotations

import dataclasses
import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contouring.engine.errors import EngineError
from contouring.engine.rtstruct import read_rtstruct
from contouring.models import (
    ClinicalCase,
    Solution,
    Submission,
    SubmissionRoi,
)
from contouring.services.common import (
    CASES_DIR,
    _check_frame,
    _deidentify_to,
    _engine_error,
    _hex_colour,
    _parse_dicom_date,
    _uid_key,
    _volumes,
    _wrong_modality,
    case_geometry,
    staging_dir,
    storing,
)
from contouring.services.mappings import (
    mapping_suggest,
)
from contouring.uploads import (
    file_sha256,
    read_staged,
    stage_uploads,
)


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


def comparison_ready_submissions(case: ClinicalCase):
    return case.submissions.filter(is_current=True, mapping_confirmed_at__isnull=False)
