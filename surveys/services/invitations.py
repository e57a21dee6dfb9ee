"""Invitation links: tokens, creation, sending, resolving, revoking, re-issuing, and
the reminders of the invitees who have not submitted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import smtplib
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from onco_hdf.models import Centre
from surveys.models import Campaign, Invitation, Reminder, ReminderKind, ResponseStatus
from surveys.services.common import _fail
from surveys.services.responses import unit_key

logger = logging.getLogger(__name__)

INVITATION_DAYS = 60


def invitation_token(invitation: Invitation) -> str:
    """The link's token, derived from a secret so a leaked database reveals no link."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(),
        f"surveys.invitation:{invitation.nonce}".encode(),
        hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(invitation: Invitation) -> str:
    path = reverse("surveys:token-start", args=[invitation_token(invitation)])
    return settings.SITE_URL.rstrip("/") + path


@transaction.atomic
def invitation_create(
    *,
    campaign: Campaign,
    centre: Centre,
    email: str,
    name: str = "",
    role: str = "",
    days: int = INVITATION_DAYS,
    send: bool = True,
    is_demo: bool = False,
) -> Invitation:
    if not campaign.centres.filter(pk=centre.pk).exists():
        campaign.centres.add(centre)
    existing = campaign.invitations.filter(
        centre=centre, email__iexact=email, revoked_at__isnull=True
    ).first()
    if existing is not None:
        return existing
    nonce = secrets.token_hex(16)
    invitation = Invitation(
        campaign=campaign,
        centre=centre,
        email=email,
        name=name,
        role=role,
        nonce=nonce,
        expires_at=timezone.now() + timedelta(days=days),
        is_demo=is_demo,
    )
    invitation.token_hash = token_hash(invitation_token(invitation))
    invitation.save()
    if send:
        transaction.on_commit(lambda: invitation_send(invitation=invitation))
    return invitation


@transaction.atomic
def campaign_invite(*, campaign: Campaign, targets: list[tuple], days: int) -> tuple[int, int]:
    """Invite ``(centre, email, name, role)`` targets; returns (created, already invited)."""
    created = existing = 0
    seen: set[tuple] = set()
    for centre, email, name, role in targets:
        key = (centre.pk, email.lower())
        already = (
            key in seen
            or campaign.invitations.filter(
                centre=centre, email__iexact=email, revoked_at__isnull=True
            ).exists()
        )
        seen.add(key)
        if already:
            existing += 1
            continue
        invitation_create(
            campaign=campaign, centre=centre, email=email, name=name, role=role, days=days
        )
        created += 1
    return created, existing


def _send(invitation: Invitation, template: str) -> bool:
    """Send one e-mail; a refused delivery is logged and reported as False (never a 500)."""
    context = {
        "invitation": invitation,
        "campaign": invitation.campaign,
        "url": invitation_url(invitation),
        "centre": invitation.centre,
    }
    with translation.override("fr"):
        subject = render_to_string(f"surveys/email/{template}_subject.txt", context).strip()
        body = render_to_string(f"surveys/email/{template}_body.txt", context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [invitation.email])
    except (smtplib.SMTPException, OSError):
        logger.exception("Survey e-mail to invitation %s not delivered", invitation.pk)
        return False
    return True


def invitation_send(*, invitation: Invitation) -> bool:
    """Send the invitation e-mail; ``sent_at`` is set only when the server accepted it."""
    if not _send(invitation, "invitation"):
        return False
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())
    return True


def invitation_resolve(token: str) -> Invitation:
    """The valid invitation behind a token, or SurveyError (unknown, revoked, expired)."""
    if not token or len(token) > 100:
        _fail(_("This invitation link is not valid. Check that you copied the whole link."))
    invitation = (
        Invitation.objects.select_related("campaign", "campaign__version", "centre")
        .filter(token_hash=token_hash(token))
        .first()
    )
    if invitation is None:
        _fail(_("This invitation link is not valid. Check that you copied the whole link."))
    if invitation.revoked_at is not None:
        _fail(
            _(
                "This invitation link has been revoked: it no longer opens the survey. Ask the "
                "project manager for a new link if you still have to answer."
            )
        )
    if invitation.expires_at < timezone.now():
        _fail(_("This invitation link has expired. Ask the project manager for a new one."))
    if invitation.opened_at is None:
        Invitation.objects.filter(pk=invitation.pk).update(opened_at=timezone.now())
    return invitation


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, user) -> Invitation:
    """Disable an invitation link at once; the change is kept in the invitation's history."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.revoked_at is not None:
        _fail(_("This invitation was already revoked."))
    invitation.revoked_at = timezone.now()
    invitation._history_user = user
    invitation.save(update_fields=["revoked_at"])
    return invitation


@transaction.atomic
def invitation_reissue(
    *, invitation: Invitation, user, days: int = INVITATION_DAYS, send: bool = True
) -> Invitation:
    """A new link (new token) for the same person and centre as a revoked invitation."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("campaign", "centre")
        .get(pk=invitation.pk)
    )
    if invitation.revoked_at is None:
        _fail(_("Only a revoked invitation can be issued again."))
    if invitation.campaign.closed_at is not None:
        _fail(_("The campaign is closed: no new invitation can be issued."))
    new = invitation_create(
        campaign=invitation.campaign,
        centre=invitation.centre,
        email=invitation.email,
        name=invitation.name,
        role=invitation.role,
        days=days,
        send=send,
        is_demo=invitation.is_demo,
    )
    return new


def invitations_to_remind(campaign: Campaign) -> list[Invitation]:
    now = timezone.now()
    pending = []
    statuses = dict(campaign.responses.values_list("unit_key", "status"))
    for invitation in campaign.invitations.select_related("centre").filter(
        revoked_at__isnull=True, expires_at__gt=now
    ):
        if (
            statuses.get(unit_key(campaign, invitation.centre, invitation=invitation))
            != ResponseStatus.SUBMITTED
        ):
            pending.append(invitation)
    return pending


@transaction.atomic
def campaign_remind(*, campaign: Campaign, kind: str = ReminderKind.MANUAL, user=None) -> int:
    """E-mail every invitee whose response is not submitted; returns how many were sent."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if not campaign.is_open():
        _fail(_("The campaign is not open: no reminder was sent."))
    sent = [i.pk for i in invitations_to_remind(campaign) if _send(i, "reminder")]
    Invitation.objects.filter(pk__in=sent).update(
        last_reminded_at=timezone.now(), reminder_count=F("reminder_count") + 1
    )
    Reminder.objects.create(campaign=campaign, kind=kind, sent_count=len(sent), by=user)
    return len(sent)


def scheduled_reminders_send(*, today=None) -> int:
    """Remind the open campaigns whose last reminder (or opening) is old enough."""
    today = today or timezone.localdate()
    sent = 0
    for campaign in Campaign.objects.filter(
        closed_at__isnull=True, opens_on__lte=today, closes_on__gte=today, reminder_every_days__gt=0
    ):
        last = campaign.reminders.order_by("-sent_at").first()
        since = timezone.localdate(last.sent_at) if last else campaign.opens_on
        if (today - since).days >= campaign.reminder_every_days:
            sent += campaign_remind(campaign=campaign, kind=ReminderKind.SCHEDULED)
    return sent
