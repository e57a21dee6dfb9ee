"""Evidence files attached to the lines of a sheet."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import transaction

from habilitations.models import Evidence, HabilitationSheet, SheetLine
from habilitations.services.sheets import _ensure_editable
from onco_hdf.uploads import DOCUMENT_TYPES, check_upload

# Evidence files: small scans and certificates; never more than the platform's limit.
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_TYPES = DOCUMENT_TYPES


def evidence_max_bytes() -> int:
    return min(EVIDENCE_MAX_BYTES, settings.UPLOAD_MAX_BYTES)


def check_evidence_file(upload) -> None:
    """Type (extension and content) and size; raises a French message."""
    check_upload(upload, max_bytes=evidence_max_bytes(), types=EVIDENCE_TYPES)


@transaction.atomic
def evidence_add(*, line: SheetLine, user, upload, kind: str, description: str = "") -> Evidence:
    _ensure_editable(HabilitationSheet.objects.select_for_update().get(pk=line.sheet_id))
    check_evidence_file(upload)
    evidence = Evidence(
        line=line,
        kind=kind,
        description=description,
        uploaded_by=user,
        original_name=upload.name[-200:],
        size=upload.size,
    )
    # Stored under a random name: the typed name is kept for display and download only.
    extension = upload.name.rsplit(".", 1)[-1].lower()
    evidence.file.save(f"{uuid.uuid4().hex}.{extension}", upload, save=False)
    evidence.save()
    return evidence


@transaction.atomic
def evidence_delete(*, evidence: Evidence) -> None:
    _ensure_editable(HabilitationSheet.objects.select_for_update().get(pk=evidence.line.sheet_id))
    evidence.file.delete(save=False)
    evidence.delete()
