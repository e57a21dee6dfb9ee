"""Structure mappings of a submission: suggested, then confirmed by a physicist."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from contouring.models import (
    MappingMethod,
    MappingStatus,
    StructureMapping,
    Submission,
)
from contouring.naming import suggest_mapping


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
