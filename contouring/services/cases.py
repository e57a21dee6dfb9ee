"""Clinical cases: creation from the uploaded CT and reference, edits, compared structures."""

from __future__ import annotations

import secrets
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from contouring.engine.errors import EngineError
from contouring.engine.geometry import load_ct_series
from contouring.engine.rtstruct import read_rtstruct
from contouring.models import (
    CaseStructure,
    ClinicalCase,
)
from contouring.services.common import (
    CASES_DIR,
    _check_frame,
    _deidentify_to,
    _engine_error,
    _hex_colour,
    _uid_key,
    _volumes,
    _wrong_modality,
    staging_dir,
    storing,
)
from contouring.services.mappings import (
    mapping_suggest,
)
from contouring.uploads import (
    combined_sha256,
    file_sha256,
    read_staged,
    stage_uploads,
)


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
