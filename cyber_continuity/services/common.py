"""Errors, workflow helpers and crisis-contact notification shared by the continuity services."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils.module_loading import import_string

from cyber_continuity.models import (
    ConventionClause,
    CrisisContact,
)
from onco_hdf import workflow

logger = logging.getLogger(__name__)


class TransitionError(workflow.TransitionError):
    """A workflow move not allowed from the current state (message in French)."""


class StaleEditError(ValidationError):
    """Someone saved the clause since this form was opened."""

    def __init__(self, message, *, clause: ConventionClause, base_body: str):
        super().__init__(message)
        self.clause = clause
        self.base_body = base_body


def _label(choices, value: str) -> str:
    """The display label of a status; unknown values (bad input) shown as typed."""
    return str(dict(choices.choices).get(value, value))


@dataclass(frozen=True)
class Move:
    label: str
    manual: bool = True


def moves_into(table: dict[tuple[str, str], Move], to_status: str, *, manual: bool) -> list[str]:
    """The statuses an allowed-moves table lets reach ``to_status`` (by hand, or also
    automatically when ``manual`` is false)."""
    return [
        frm for (frm, to), move in table.items() if to == to_status and (move.manual or not manual)
    ]


def sms_send(*, phone: str, message: str) -> None:
    """Send an SMS through the deployment's hook (setting ``CYBER_CONTINUITY_SMS_HOOK``)."""
    hook = import_string(
        getattr(settings, "CYBER_CONTINUITY_SMS_HOOK", "cyber_continuity.services.sms_log_only")
    )
    hook(phone=phone, message=message)


def sms_log_only(*, phone: str, message: str) -> None:
    """Default SMS hook: no SMS gateway configured, the message is only logged."""
    logger.info("SMS (not sent, no gateway) to %s: %s", phone, message)


def notify_crisis_contacts(*, centres, subject: str, message: str) -> int:
    """E-mail (both addresses) and SMS every crisis contact of ``centres``, after commit."""
    contacts = list(CrisisContact.objects.filter(centre__in=centres))

    def send() -> None:
        for contact in contacts:
            addresses = [a for a in (contact.email, contact.backup_email) if a]
            if addresses:
                send_mail(subject, message, None, addresses)
            if contact.mobile_phone:
                sms_send(phone=contact.mobile_phone, message=f"{subject} — {message}"[:300])

    transaction.on_commit(send)
    return len(contacts)
