"""Signature acts, shared by every app: content hash, re-authentication, the signatories.

A document that can be signed is a model with ``signature_content(capacity)``: a dict of
what the person in that capacity signs (plain JSON values). Its hash is the SHA-256 of a
canonical JSON serialisation (sorted keys, no whitespace, UTF-8), so the same content
always gives the same hash, and any change of it another one.

A signature is recorded by :func:`signature_record`, inside the app's transaction (the
document locked by the app's workflow): the signer types their password again, and the
code of their authenticator where they have one; the hash they saw on the confirmation
page must still be the document's. :func:`signatories` gives, per signature step, the
latest signature with whether it still matches the document; this is what the PDF's
signature block prints.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onco_hdf.models import Signature, SignatureCapacity
from onco_hdf.uploads import check_upload

DELEGATION_MAX_BYTES = 10 * 1024 * 1024


class SignatureError(ValidationError):
    """A refused signature (French, user-facing message)."""


def canonical_json(content) -> bytes:
    return json.dumps(
        content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    ).encode("utf-8")


def content_hash(content) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def document_hash(document, capacity: str | None = None) -> str:
    """The hash of what ``capacity`` signs on ``document`` (None: the whole document)."""
    return content_hash(document.signature_content(capacity))


def short_hash(value: str) -> str:
    """The hash in groups of four, easier to compare by eye (still the full hash)."""
    return " ".join(value[i : i + 4] for i in range(0, len(value), 4))


# --- Re-authentication ----------------------------------------------------------------
def second_factor_devices(user) -> list:
    from django_otp import devices_for_user

    return list(devices_for_user(user, confirmed=True))


def reauthenticate(*, user, password: str, otp_token: str = "") -> bool:
    """Check the password again, and the second factor where the user has one.

    Returns whether a second factor was checked; raises SignatureError otherwise.
    """
    if not password or user is None or not user.check_password(password):
        raise SignatureError(_("The password is not correct: the document was not signed."))
    devices = second_factor_devices(user)
    if not devices:
        return False
    token = (otp_token or "").strip()
    if not token:
        raise SignatureError(
            _("Enter the 6-digit code of your authenticator app: the document was not signed.")
        )
    if not (token.isascii() and token.isdigit()) or not any(
        device.verify_token(token) for device in devices
    ):
        raise SignatureError(
            _("The 6-digit code is not valid (or was already used): the document was not signed.")
        )
    return True


@dataclass(frozen=True)
class Credentials:
    """What the signer typed on the confirmation page."""

    password: str
    otp_token: str = ""


# --- Recording and reading signatures -------------------------------------------------
def signature_record(
    *,
    document,
    step: str,
    capacity: str,
    user,
    credentials: Credentials,
    expected_hash: str | None = None,
    signer_title: str = "",
    on_behalf_of=None,
    delegation_from: str = "",
    delegation_document=None,
) -> Signature:
    """Record one signature of ``document``; call inside the app's transaction.

    ``expected_hash`` is the hash shown on the confirmation page: when the document changed
    since, nothing is signed and the signer is told to look again.
    """
    second_factor = reauthenticate(
        user=user, password=credentials.password, otp_token=credentials.otp_token
    )
    current = document_hash(document, capacity)
    if expected_hash is not None and expected_hash != current:
        raise SignatureError(
            _(
                "The document changed after you opened the confirmation page: read it again "
                "and sign its current content."
            )
        )
    if delegation_document is not None and not delegation_from:
        raise SignatureError(_("Name the legal representative who delegated the signature."))
    signature = Signature(
        content_type=ContentType.objects.get_for_model(document),
        object_id=document.pk,
        step=step,
        capacity=capacity,
        signer=user,
        signer_name=user.get_full_name() or user.username,
        signer_title=signer_title.strip(),
        on_behalf_of=on_behalf_of,
        delegation_from=delegation_from.strip(),
        content_hash=current,
        second_factor=second_factor,
    )
    if delegation_document is not None:
        extension = delegation_document.name.rsplit(".", 1)[-1].lower()
        signature.delegation_document.save(
            f"{uuid.uuid4().hex}.{extension}", delegation_document, save=False
        )
    signature.save()
    return signature


def signatures_of(document):
    return Signature.objects.filter(
        content_type=ContentType.objects.get_for_model(document), object_id=document.pk
    ).select_related("on_behalf_of")


@dataclass(frozen=True)
class Signatory:
    """One signature as the documents print it."""

    step: str
    name: str
    title: str
    capacity: str
    capacity_label: str
    on_behalf_of: str
    delegation_from: str
    signed_at: datetime
    content_hash: str
    # False when the document changed after this signature.
    valid: bool
    signature_id: int


def signatories(document) -> list[Signatory]:
    """The latest signature of each step of ``document``, oldest first."""
    latest: dict[str, Signature] = {}
    for signature in signatures_of(document):
        latest[signature.step] = signature
    hashes: dict[str, str] = {}
    result = []
    for signature in sorted(latest.values(), key=lambda s: (s.signed_at, s.pk)):
        if signature.capacity not in hashes:
            hashes[signature.capacity] = document_hash(document, signature.capacity)
        result.append(
            Signatory(
                step=signature.step,
                name=signature.signer_name,
                title=signature.signer_title,
                capacity=signature.capacity,
                capacity_label=str(SignatureCapacity(signature.capacity).label),
                on_behalf_of=signature.on_behalf_of.name if signature.on_behalf_of else "",
                delegation_from=signature.delegation_from,
                signed_at=signature.signed_at,
                content_hash=signature.content_hash,
                valid=signature.content_hash == hashes[signature.capacity],
                signature_id=signature.pk,
            )
        )
    return result


def signatory_for(document, step: str) -> Signatory | None:
    return next((s for s in signatories(document) if s.step == step), None)


# --- Forms ----------------------------------------------------------------------------
class SignatureConfirmForm(forms.Form):
    """Re-authentication on the confirmation page; the hash shown travels with it."""

    expected_hash = forms.CharField(widget=forms.HiddenInput, max_length=64, min_length=64)
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    otp_token = forms.CharField(
        label=gettext_lazy("6-digit code from your authenticator app"),
        required=False,
        max_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*"}
        ),
    )

    def __init__(self, *args, user, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.request = user, request
        if not second_factor_devices(user):
            del self.fields["otp_token"]

    def clean_password(self):
        password = self.cleaned_data["password"]
        # Through the authentication backends, outside the signing transaction: a wrong
        # password here counts towards the lockout after repeated failures (and a locked
        # account cannot sign). The service checks the password again when it signs.
        if self.request is not None:
            from django.contrib.auth import authenticate

            found = authenticate(self.request, username=self.user.get_username(), password=password)
            if found is None or found.pk != self.user.pk:
                raise forms.ValidationError(
                    _("The password is not correct: the document was not signed.")
                )
        return password

    def credentials(self) -> Credentials:
        return Credentials(
            password=self.cleaned_data["password"],
            otp_token=self.cleaned_data.get("otp_token", ""),
        )


class LegalRepresentativeSignatureForm(SignatureConfirmForm):
    """A party's legal representative, or a person with their delegation (and its document)."""

    signer_title = forms.CharField(
        label=gettext_lazy("Your title"),
        max_length=200,
        help_text=gettext_lazy("For example: Directeur général, Directrice déléguée."),
    )
    by_delegation = forms.BooleanField(
        label=gettext_lazy("I sign by delegation of the legal representative"), required=False
    )
    delegation_from = forms.CharField(
        label=gettext_lazy("Legal representative who delegated (name and title)"),
        max_length=200,
        required=False,
    )
    delegation_document = forms.FileField(
        label=gettext_lazy("Delegation document (PDF, PNG or JPEG)"), required=False
    )

    field_order = [
        "signer_title",
        "by_delegation",
        "delegation_from",
        "delegation_document",
        "password",
        "otp_token",
        "expected_hash",
    ]

    def clean(self):
        data = super().clean()
        if data.get("by_delegation"):
            if not data.get("delegation_from"):
                self.add_error(
                    "delegation_from",
                    _("Name the legal representative who delegated the signature."),
                )
            document = data.get("delegation_document")
            if document is None:
                self.add_error("delegation_document", _("Attach the delegation document."))
            else:
                try:
                    check_upload(document, max_bytes=DELEGATION_MAX_BYTES)
                except ValidationError as error:
                    self.add_error("delegation_document", error)
        return data

    def delegation(self) -> dict:
        if not self.cleaned_data.get("by_delegation"):
            return {}
        return {
            "delegation_from": self.cleaned_data["delegation_from"],
            "delegation_document": self.cleaned_data["delegation_document"],
        }
