"""PAdES signing and verification of official PDFs: the project's only pyHanko import.

An official document (habilitation sheet, signed convention, COPIL minutes, final report)
is rendered by :mod:`onco_hdf.pdf` with an :class:`Official` description; the PDF gets a
visible block listing its signatories, then the platform's certificate signs it (PAdES
baseline, incremental update) and the hashes of the issued file are recorded
(:class:`~onco_hdf.models.IssuedDocument`).

The certificate: in production a PKCS#12 file and its password (``ONCO_SIGNING_P12``,
``ONCO_SIGNING_P12_PASSWORD``); in the embedded mode a self-signed one created on first use
under ``MEDIA_ROOT/private/signing`` (never in git). Nothing is fetched over the network:
no revocation information, and a time stamp only when ``ONCO_SIGNING_TSA_URL`` is set.

:func:`verify_pdf` takes an uploaded copy and says whether it is one the platform issued,
unchanged: a valid signature by the platform's certificate covering the whole file, and a
file hash on record. Any edit (text changed and re-saved, pages added, a later revision
appended) fails one of these, and the reason is given in French.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.core.signals import setting_changed
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

FIELD_NAME = "Signature-ONCO-HDF"
# The element of the report template that reserves room for the signature appearance.
ANCHOR = "platform-signature"
STAMP_HEIGHT = 80  # points, the height of the reserved box (templates/reports/_signature.html)
EMBEDDED_P12 = "platform-embedded.p12"


class SigningUnavailable(RuntimeError):
    """The configured certificate cannot be read (path, password or format).

    ``str()`` is the user-facing (French) message; ``detail`` says what failed, for the log.
    """

    def __init__(self, detail: str) -> None:
        self.detail = detail
        logger.error("Signing certificate unusable: %s", detail)
        super().__init__(
            _(
                "The official PDF cannot be signed: the platform's signing certificate cannot "
                "be read. Nothing was issued; tell the platform team."
            )
        )


@dataclass(frozen=True)
class Signatory:
    name: str
    capacity: str
    signed_at: dt.datetime | dt.date | None = None

    def as_record(self) -> dict:
        return {
            "name": self.name,
            "capacity": str(self.capacity),
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
        }


class Signable(Protocol):
    """What a document's object gives for its signature block."""

    def signatories(self) -> list[Signatory]: ...


@dataclass(frozen=True)
class Official:
    """An official document: the object it shows, the revision shown, its signatories.

    ``own_verification``: the document prints its own verification code (a habilitation
    sheet); otherwise the signature block prints the platform's code and QR code for it.
    """

    document: models.Model
    title: str
    reference: str = ""
    signatories: tuple[Signatory, ...] = field(default_factory=tuple)
    own_verification: bool = False

    @classmethod
    def of(
        cls, document: Signable, *, title: str, reference: str = "", own_verification=False
    ) -> Official:
        return cls(
            document=document,
            title=str(title),
            reference=str(reference),
            signatories=tuple(document.signatories()),
            own_verification=own_verification,
        )


def signatories_from_acts(document, *, since=None) -> list[Signatory]:
    """The signature acts recorded on ``document`` (:mod:`onco_hdf.signatures`), as the
    signature block prints them: name and title, capacity, for whom, when (only the acts
    from ``since`` on, when given)."""
    from onco_hdf import signatures

    rows = []
    for act in signatures.signatories(document):
        if since is not None and act.signed_at < since:
            continue
        capacity = act.capacity_label
        if act.on_behalf_of:
            capacity = _("%(capacity)s for %(party)s") % {
                "capacity": capacity,
                "party": act.on_behalf_of,
            }
        if act.delegation_from:
            capacity += " " + _("(by delegation of %(name)s)") % {"name": act.delegation_from}
        if not act.valid:
            capacity += " " + _("(no longer matches the document)")
        name = f"{act.name}, {act.title}" if act.title else act.name
        rows.append(Signatory(name=name, capacity=capacity, signed_at=act.signed_at))
    return rows


# --- The platform's certificate --------------------------------------------------------
@dataclass(frozen=True)
class _Key:
    signer: object  # pyhanko SimpleSigner
    embedded: bool


_lock = threading.Lock()
_cache: dict[tuple, _Key] = {}


def _clear_cache(*, setting, **kwargs):
    if setting.startswith("SIGNING_") or setting == "MEDIA_ROOT":
        _cache.clear()


setting_changed.connect(_clear_cache)


def signing_dir() -> Path:
    return Path(settings.SIGNING_DIR or Path(settings.MEDIA_ROOT) / "private" / "signing")


def create_self_signed_p12(path: Path, *, password: bytes | None = None, common_name: str) -> None:
    """A P-256 key and a self-signed certificate for it, as a PKCS#12 file (mode 0600).

    Written to a temporary file then linked into place, so two processes creating it at
    the same time end with one certificate (the second keeps the first one's).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, NoEncryption
    from cryptography.hazmat.primitives.serialization.pkcs12 import serialize_key_and_certificates
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ONCO-HDF"),
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    encryption = BestAvailableEncryption(password) if password else NoEncryption()
    data = serialize_key_and_certificates(b"onco-hdf", key, cert, None, encryption)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".p12-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chmod(temporary, 0o600)
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def _load(path: Path, password: bytes | None, *, embedded: bool) -> _Key:
    from pyhanko.sign import signers

    try:
        signer = signers.SimpleSigner.load_pkcs12(str(path), passphrase=password)
    except (OSError, ValueError) as error:
        raise SigningUnavailable(f"Cannot read the signing certificate {path}: {error}") from error
    if signer is None:
        raise SigningUnavailable(f"Cannot read the signing certificate {path} (wrong password?)")
    return _Key(signer=signer, embedded=embedded)


def platform_key() -> _Key:
    """The signer from ``SIGNING_P12``, or the embedded self-signed one (created if absent)."""
    configured = settings.SIGNING_P12
    key = (configured, settings.SIGNING_P12_PASSWORD, str(signing_dir()))
    with _lock:
        if key not in _cache:
            if configured:
                password = settings.SIGNING_P12_PASSWORD.encode() or None
                _cache[key] = _load(Path(configured), password, embedded=False)
            else:
                path = signing_dir() / EMBEDDED_P12
                if not path.exists():
                    create_self_signed_p12(
                        path, common_name="ONCO-HDF plateforme (mode embarqué, auto-signé)"
                    )
                    logger.info("Created the embedded signing certificate %s", path)
                _cache[key] = _load(path, None, embedded=True)
        return _cache[key]


def trust_roots() -> list:
    """The current certificate and the previous ones (``SIGNING_PREVIOUS_CERTS``)."""
    from pyhanko.keys import load_cert_from_pemder

    roots = [platform_key().signer.signing_cert]
    for path in settings.SIGNING_PREVIOUS_CERTS:
        try:
            roots.append(load_cert_from_pemder(path))
        except (OSError, ValueError) as error:
            detail = f"Cannot read the previous certificate {path}: {error}"
            raise SigningUnavailable(detail) from error
    return roots


def certificate_problem() -> str | None:
    """Why production cannot sign (for the --deploy check), or None when it can."""
    if not settings.SIGNING_P12:
        return "ONCO_SIGNING_P12 is not set"
    path = Path(settings.SIGNING_P12)
    if not path.is_file():
        return f"ONCO_SIGNING_P12 names no readable file ({path})"
    try:
        _load(path, settings.SIGNING_P12_PASSWORD.encode() or None, embedded=False)
    except SigningUnavailable as error:
        return error.detail
    return None


# --- Signing ---------------------------------------------------------------------------
def _outside_event_loop(function, *args, **kwargs):
    """Call one of pyHanko's synchronous functions, which use ``asyncio.run``: from a thread
    whose event loop is running (an async caller), in a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args, **kwargs).result()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _format_date(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return date_format(timezone.localtime(value), "d/m/Y H:i")
    return date_format(value, "d/m/Y")


def signature_block_context(official: Official) -> dict:
    """What the report template prints in its signature block."""
    from onco_hdf.qr import qr_data_uri

    block = {
        "title": official.title,
        "reference": official.reference,
        "rows": [
            {"name": s.name, "capacity": s.capacity, "date": _format_date(s.signed_at)}
            for s in official.signatories
        ],
        "anchor": ANCHOR,
    }
    if not official.own_verification:
        code = document_code(official.document)
        url = settings.SITE_URL.rstrip("/") + reverse("onco_hdf:document-verify-code", args=[code])
        block.update(code=code, url=url, qr=qr_data_uri(url, box_size=6))
    return block


def document_code(document: models.Model) -> str:
    """``<id>-XXXX-XXXX-XXXX``: HMAC-SHA256 of the document's type and id, keyed by
    SECRET_KEY; printed on its PDFs, it leads to what the platform holds for it."""
    label = document._meta.label_lower
    digest = (
        hmac.new(
            settings.SECRET_KEY.encode(), f"document:{label}:{document.pk}".encode(), hashlib.sha256
        )
        .hexdigest()[:12]
        .upper()
    )
    return f"{document.pk}-{digest[0:4]}-{digest[4:8]}-{digest[8:12]}"


def _stamp_box(reader) -> tuple[int, tuple[float, float, float, float]]:
    """Page index and box of the reserved block (a named destination of the report)."""
    from pyhanko.pdf_utils import generic

    pages = []
    node_stack = [reader.root["/Pages"]]
    while node_stack:  # page tree, in order
        node = node_stack.pop(0)
        kids = node.get("/Kids")
        if kids is None:
            pages.append(node)
        else:
            node_stack[0:0] = [kid.get_object() for kid in kids]
    last = len(pages) - 1
    dests = reader.root.get("/Names", generic.DictionaryObject()).get("/Dests")
    names = list(dests.get("/Names", [])) if dests is not None else []
    for index in range(0, len(names) - 1, 2):
        if str(names[index]) != ANCHOR:
            continue
        target = names[index + 1].get_object()
        page, x, y = target[0].get_object(), float(target[2]), float(target[3])
        for page_index, candidate in enumerate(pages):
            if candidate.container_ref == page.container_ref:
                width = float(candidate["/MediaBox"][2])
                return page_index, (x, y - STAMP_HEIGHT, width - x, y)
    # No reserved block: bottom of the last page, inside the usual margins.
    width = float(pages[last]["/MediaBox"][2])
    return last, (56, 40, width - 56, 40 + STAMP_HEIGHT)


def sign_pdf(content: bytes, official: Official) -> bytes:
    """Sign ``content`` with the platform's certificate and record the issued file."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers, timestamps
    from pyhanko.stamp import TextStampStyle

    from onco_hdf.models import IssuedDocument

    key = platform_key()
    content_hash = sha256(content)
    writer = IncrementalPdfFileWriter(BytesIO(content), strict=False)
    page_index, box = _stamp_box(writer.prev)
    now = timezone.now()
    stamp_text = "\n".join(
        [
            _("Electronically signed by the ONCO-HDF platform on %(date)s")
            % {"date": _format_date(now)},
            _("Content SHA-256: %(hash)s") % {"hash": content_hash[:32]},
            "                  " + content_hash[32:],
            _("Check it on %(url)s")
            % {"url": settings.SITE_URL.rstrip("/") + reverse("onco_hdf:document-verify")},
        ]
    ).replace("%", "%%")
    timestamper = (
        timestamps.HTTPTimeStamper(settings.SIGNING_TSA_URL) if settings.SIGNING_TSA_URL else None
    )
    pdf_signer = signers.PdfSigner(
        signers.PdfSignatureMetadata(
            field_name=FIELD_NAME,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=official.title[:200],
            location="ONCO-HDF",
        ),
        signer=key.signer,
        timestamper=timestamper,
        stamp_style=TextStampStyle(
            stamp_text=stamp_text,
            text_box_style=TextBoxStyle(font_size=7),
            border_width=1,
        ),
        new_field_spec=fields.SigFieldSpec(FIELD_NAME, on_page=page_index, box=box),
    )
    signed = _outside_event_loop(pdf_signer.sign_pdf, writer).getvalue()
    document = official.document
    IssuedDocument.objects.create(
        object_type=document._meta.label_lower,
        object_id=str(document.pk),
        reference=official.reference[:100],
        title=official.title[:300],
        sha256=sha256(signed),
        content_sha256=content_hash,
        signatories=[s.as_record() for s in official.signatories],
    )
    return signed


# --- What the platform holds for an issued document ------------------------------------
# object type ("app_label.model") -> describe(issued) -> {"template": ..., **context} | None
_HOLDERS: dict[str, Callable[[object], dict | None]] = {}


def register_holder(object_type: str, describe: Callable[[object], dict | None]) -> None:
    """An app says what its verification page shows for one of its issued documents."""
    _HOLDERS[object_type] = describe


def holder_context(issued) -> dict | None:
    describe = _HOLDERS.get(issued.object_type)
    return describe(issued) if describe else None


def issued_for_code(code: str):
    """The latest document issued for the object a :func:`document_code` names, or None."""
    from django.apps import apps

    from onco_hdf.models import IssuedDocument

    code = (code or "").strip().upper()
    head, _sep, _rest = code.partition("-")
    if not head.isdigit() or len(head) > 18:  # beyond any id: never a database error
        return None
    for object_type in _HOLDERS:
        model = apps.get_model(object_type)
        candidate = model(pk=int(head))
        if hmac.compare_digest(document_code(candidate), code):
            return IssuedDocument.objects.filter(
                object_type=object_type, object_id=str(int(head))
            ).first()
    return None


# --- Verification ----------------------------------------------------------------------
@dataclass(frozen=True)
class VerifyOutcome:
    ok: bool
    reason: str
    issued: object | None = None  # IssuedDocument
    signed_at: dt.datetime | None = None


def _refused(reason: str) -> VerifyOutcome:
    return VerifyOutcome(ok=False, reason=reason)


def verify_pdf(data: bytes) -> VerifyOutcome:
    """Is ``data`` an official PDF the platform issued, unchanged? Never raises."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    from onco_hdf.models import IssuedDocument

    if data[:1024].lstrip()[:5] != b"%PDF-":
        return _refused(_("This file is not a PDF."))
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        signatures = reader.embedded_signatures
    except Exception:  # noqa: BLE001 — any parse failure means a damaged file
        return _refused(_("This PDF is damaged and cannot be read."))
    ours = [s for s in signatures if s.field_name == FIELD_NAME]
    if not ours:
        return _refused(
            _(
                "This PDF carries no signature of the platform: it is not an official copy, "
                "or it was re-saved or edited and lost its signature."
            )
        )
    if len(signatures) > 1:
        return _refused(_("This PDF carries signatures added after the platform's."))
    try:
        context = ValidationContext(
            trust_roots=trust_roots(), allow_fetching=False, revocation_mode="soft-fail"
        )
        status = _outside_event_loop(validate_pdf_signature, ours[0], context, skip_diff=True)
    except SigningUnavailable:
        logger.exception("Verification impossible: no signing certificate")
        return _refused(_("Verification is unavailable at the moment; try again later."))
    except Exception:  # noqa: BLE001 — a byte range or CMS blob that does not parse
        logger.info("Uploaded PDF: signature unreadable", exc_info=True)
        return _refused(
            _("The signature does not match the content: the file was modified after signing.")
        )
    if not status.intact or not status.valid:
        return _refused(
            _("The signature does not match the content: the file was modified after signing.")
        )
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return _refused(
            _(
                "Content was added to the file after it was signed: this is not the copy "
                "the platform issued."
            )
        )
    if not status.trusted:
        return _refused(_("This PDF was not signed by the platform's certificate."))
    issued = IssuedDocument.objects.filter(sha256=sha256(data)).first()
    if issued is None:
        return _refused(
            _("The signature is valid but the platform has no record of issuing this file.")
        )
    return VerifyOutcome(
        ok=True,
        reason=_("Authentic and unchanged copy."),
        issued=issued,
        signed_at=status.signer_reported_dt,
    )
