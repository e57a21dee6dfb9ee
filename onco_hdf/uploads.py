"""Type and size check of an uploaded document (extension and leading bytes)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Scans and certificates: extension -> accepted leading bytes.
DOCUMENT_TYPES = {
    "pdf": (b"%PDF-",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
}


def check_upload(
    upload, *, max_bytes: int, types: dict[str, tuple[bytes, ...]] = DOCUMENT_TYPES
) -> None:
    """Refuse, in French, a file too large, empty, or whose content is not its type."""
    limit = min(max_bytes, settings.UPLOAD_MAX_BYTES)
    if upload.size > limit:
        raise ValidationError(
            _("This file is too large (%(size)s MB); the limit is %(limit)s MB.")
            % {"size": round(upload.size / 1048576, 1), "limit": round(limit / 1048576, 1)}
        )
    if upload.size == 0:
        raise ValidationError(_("This file is empty."))
    extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else ""
    signatures = types.get(extension)
    if signatures is None:
        raise ValidationError(_("Only PDF, PNG and JPEG files are accepted."))
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if not any(head.startswith(sig) for sig in signatures):
        raise ValidationError(
            _("The content of this file does not match its type (.%(ext)s).") % {"ext": extension}
        )
