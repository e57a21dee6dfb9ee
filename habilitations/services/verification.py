"""Verification codes printed on the sheets, and their lookup."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings

from habilitations.models import HabilitationSheet
from habilitations.services.common import today


def verification_code(sheet: HabilitationSheet, revision: int | None = None) -> str:
    """``<id>-XXXX-XXXX-XXXX``: HMAC-SHA256 of sheet id and revision, keyed by SECRET_KEY."""
    revision = sheet.revision if revision is None else revision
    digest = (
        hmac.new(
            settings.SECRET_KEY.encode(),
            f"habilitation:{sheet.pk}:{revision}".encode(),
            hashlib.sha256,
        )
        .hexdigest()[:12]
        .upper()
    )
    return f"{sheet.pk}-{digest[0:4]}-{digest[4:8]}-{digest[8:12]}"


@dataclass(frozen=True)
class Verification:
    sheet: HabilitationSheet | None
    current: bool = False

    @property
    def valid(self) -> bool:
        return bool(
            self.sheet is not None
            and self.current
            and self.sheet.is_valid_status
            and (self.sheet.valid_until is None or self.sheet.valid_until >= today())
        )


def verification_lookup(code: str) -> Verification:
    code = (code or "").strip().upper()
    head, _sep, _rest = code.partition("-")
    if not head.isdigit() or len(head) > 18:  # beyond any id: never a database error
        return Verification(sheet=None)
    sheet = (
        HabilitationSheet.objects.select_related("centre", "physician").filter(pk=int(head)).first()
    )
    if sheet is None:
        return Verification(sheet=None)
    for revision in range(sheet.revision, 0, -1):
        if hmac.compare_digest(verification_code(sheet, revision), code):
            return Verification(sheet=sheet, current=revision == sheet.revision)
    return Verification(sheet=None)
