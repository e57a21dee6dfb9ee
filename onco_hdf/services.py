"""Writes of the foundation: centres, users and memberships."""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from onco_hdf import governance
from onco_hdf.models import (
    REGIONAL_ROLES,
    VALIDATING_OUTCOMES,
    Centre,
    CopilAction,
    CopilDecision,
    CopilMeeting,
    CopilMinutes,
    CouncilOpinion,
    DecisionComment,
    GateOverride,
    MeetingStatus,
    Membership,
    Milestone,
    MilestoneStatus,
    MinutesSource,
    Outcome,
)
from onco_hdf.permissions import forget_memberships

User = get_user_model()


@transaction.atomic
def centre_save(*, centre: Centre) -> Centre:
    """Create or update a centre (validated by its form); history records who and what."""
    centre.full_clean()
    centre.save()
    return centre


@transaction.atomic
def membership_create(*, user, role: str, centre: Centre | None) -> Membership:
    if role in REGIONAL_ROLES and centre is not None:
        raise ValidationError(_("A regional role is not attached to a centre."))
    if role not in REGIONAL_ROLES and centre is None:
        raise ValidationError(_("This role needs a centre."))
    if Membership.objects.filter(user=user, role=role, centre=centre).exists():
        raise ValidationError(_("This user already has this role here."))
    try:
        with transaction.atomic():
            membership = Membership.objects.create(user=user, role=role, centre=centre)
    except IntegrityError as error:
        raise ValidationError(_("This user already has this role here.")) from error
    forget_memberships(user)
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership) -> None:
    user = membership.user
    membership.delete()
    forget_memberships(user)


def user_invite(*, email: str, first_name: str, last_name: str, request) -> User:
    """Create an account without a usable password and e-mail a link to choose one."""
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(_("An account already uses this e-mail address."))
        username = email.lower()
        user = User(username=username, email=email, first_name=first_name, last_name=last_name)
        user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
    # Django's reset form skips users without a usable password; send to this one directly.
    form = PasswordResetForm(data={"email": email})
    form.is_valid()
    form.send_mail(
        subject_template_name="registration/account_invitation_subject.txt",
        email_template_name="registration/account_invitation_email.txt",
        context=_invitation_context(user, request),
        from_email=None,
        to_email=email,
    )
    return user


def _invitation_context(user, request) -> dict:
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    return {
        "user": user,
        "protocol": "https" if request.is_secure() else "http",
        "domain": request.get_host(),
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }


# --- COPIL governance -----------------------------------------------------------------
MINUTES_MAX_BYTES = 20 * 1024 * 1024


def _lock_meeting(meeting: CopilMeeting) -> CopilMeeting:
    return CopilMeeting.objects.select_for_update().get(pk=meeting.pk)


@transaction.atomic
def copil_meeting_save(*, meeting: CopilMeeting, attendees, user) -> CopilMeeting:
    """Create or update a meeting (its form validated the fields); attendees replaced."""
    if meeting.pk is None:
        meeting.created_by = user
    meeting.full_clean(exclude=["created_by"])
    meeting.save()
    meeting.attendees.set(attendees)
    return meeting


def check_minutes_file(upload) -> None:
    limit = min(MINUTES_MAX_BYTES, settings.UPLOAD_MAX_BYTES)
    if upload.size == 0:
        raise ValidationError(_("This file is empty."))
    if upload.size > limit:
        raise ValidationError(
            _("This file is too large (%(size)s MB); the limit is %(limit)s MB.")
            % {"size": round(upload.size / 1048576, 1), "limit": round(limit / 1048576, 1)}
        )
    upload.seek(0)
    head = upload.read(5)
    upload.seek(0)
    if not upload.name.lower().endswith(".pdf") or head != b"%PDF-":
        raise ValidationError(_("The minutes must be a PDF file."))


def _minutes_add(*, meeting: CopilMeeting, content, source: str, user, job=None) -> CopilMinutes:
    """Store a new version of the minutes on the locked meeting; it becomes the current one."""
    meeting = _lock_meeting(meeting)
    number = (meeting.minutes_versions.aggregate(n=Max("number"))["n"] or 0) + 1
    content.seek(0)
    digest = hashlib.sha256(content.read()).hexdigest()
    content.seek(0)
    version = CopilMinutes(
        meeting=meeting, number=number, sha256=digest, source=source, job=job, created_by=user
    )
    version.file.save(f"{uuid.uuid4().hex}.pdf", content, save=False)
    version.save()
    meeting.minutes_file.name = version.file.name
    meeting.save(update_fields=["minutes_file"])
    return version


@transaction.atomic
def copil_meeting_minutes_upload(*, meeting: CopilMeeting, upload, user) -> CopilMeeting:
    check_minutes_file(upload)
    version = _minutes_add(
        meeting=meeting, content=upload, source=MinutesSource.UPLOADED, user=user
    )
    return version.meeting


@transaction.atomic
def copil_minutes_attach(*, meeting: CopilMeeting, content: bytes, user, job=None) -> CopilMinutes:
    """Keep the generated minutes on the meeting, as its new version."""
    return _minutes_add(
        meeting=meeting,
        content=ContentFile(content),
        source=MinutesSource.GENERATED,
        user=user,
        job=job,
    )


@transaction.atomic
def copil_meeting_close(*, meeting: CopilMeeting, user) -> CopilMeeting:
    """Mark the meeting held once every decision on it is recorded."""
    meeting = _lock_meeting(meeting)
    if meeting.status == MeetingStatus.HELD:
        raise ValidationError(_("This meeting is already marked as held."))
    if meeting.held_on > timezone.localdate():
        raise ValidationError(_("This meeting has not taken place yet."))
    if meeting.decisions.filter(outcome=Outcome.PENDING).exists():
        raise ValidationError(_("Record the outcome of every item before closing the meeting."))
    meeting.status = MeetingStatus.HELD
    meeting.save()
    return meeting


@transaction.atomic
def copil_decision_add(*, meeting: CopilMeeting, artefact, summary: str, user) -> CopilDecision:
    """Put an artefact, at its current version, on the meeting's agenda."""
    meeting = _lock_meeting(meeting)
    if meeting.status == MeetingStatus.HELD:
        raise ValidationError(_("This meeting is over: put the item on a later meeting."))
    if governance.kind_of(artefact) is None:
        raise ValidationError(_("The COPIL does not decide on this kind of item."))
    ref = governance.artefact_ref(artefact)
    if CopilDecision.objects.filter(meeting=meeting, **ref.lookup()).exists():
        raise ValidationError(_("This artefact is already on this meeting's agenda."))
    return CopilDecision.objects.create(
        meeting=meeting, artefact_label=ref.label, summary=summary, **ref.lookup()
    )


@transaction.atomic
def copil_decision_record(
    *,
    decision: CopilDecision,
    outcome: str,
    reservations: str = "",
    council_opinion: str = "",
    council_opinion_on=None,
    council_text: str = "",
    user,
) -> CopilDecision:
    """Record the outcome of an agenda item (and the scientific council's opinion)."""
    decision = (
        CopilDecision.objects.select_for_update().select_related("meeting").get(pk=decision.pk)
    )
    meeting = decision.meeting
    if meeting.status == MeetingStatus.HELD:
        raise ValidationError(_("This meeting is closed: its decisions can no longer change."))
    if outcome not in Outcome.values or outcome == Outcome.PENDING:
        raise ValidationError(_("Choose the outcome of the decision."))
    if meeting.held_on > timezone.localdate():
        raise ValidationError(
            _("This meeting has not taken place yet: its decisions are recorded on %(date)s.")
            % {"date": meeting.held_on.strftime("%d/%m/%Y")}
        )
    if outcome != Outcome.POSTPONED and not meeting.quorum_reached:
        raise ValidationError(
            _(
                "The quorum is not reached (%(present)s present, %(quorum)s needed): the item "
                "can only be postponed."
            )
            % {"present": meeting.present_count, "quorum": meeting.quorum}
        )
    reservations = reservations.strip()
    if outcome == Outcome.VALIDATED_WITH_RESERVATIONS and not reservations:
        raise ValidationError(_("State the reservations of a validation with reservations."))
    if council_opinion not in CouncilOpinion.values:
        raise ValidationError(_("Unknown opinion of the scientific council."))
    if council_opinion and council_opinion_on is None:
        raise ValidationError(_("Give the date of the scientific council's opinion."))
    decision.outcome = outcome
    decision.reservations = reservations
    decision.council_opinion = council_opinion
    decision.council_opinion_on = council_opinion_on if council_opinion else None
    decision.council_text = council_text.strip() if council_opinion else ""
    decision.decided_at = timezone.now()
    decision.decided_by = user
    decision.save()
    return decision


@transaction.atomic
def copil_decision_comment(*, decision: CopilDecision, user, text: str) -> DecisionComment:
    """COPIL members comment an item before the meeting."""
    decision = CopilDecision.objects.select_related("meeting").get(pk=decision.pk)
    text = text.strip()
    if not text:
        raise ValidationError(_("The comment is empty."))
    if decision.meeting.status == MeetingStatus.HELD or decision.outcome != Outcome.PENDING:
        raise ValidationError(_("Comments close when the item has been decided."))
    return DecisionComment.objects.create(decision=decision, author=user, text=text)


@transaction.atomic
def gate_override_grant(*, artefact, reason: str, user) -> GateOverride:
    """Let an artefact be used before the COPIL validated it; the reason is mandatory."""
    reason = reason.strip()
    if len(reason) < 20:
        raise ValidationError(
            _("Justify the override in a full sentence (at least 20 characters).")
        )
    if governance.kind_of(artefact) is None:
        raise ValidationError(_("The COPIL does not decide on this kind of item."))
    ref = governance.artefact_ref(artefact)
    if CopilDecision.objects.filter(outcome__in=VALIDATING_OUTCOMES, **ref.lookup()).exists():
        raise ValidationError(_("This version is already validated in COPIL: no override needed."))
    if GateOverride.objects.filter(**ref.lookup()).exists():
        raise ValidationError(_("An override already exists for this version."))
    return GateOverride.objects.create(
        artefact_label=ref.label, reason=reason, granted_by=user, **ref.lookup()
    )


@transaction.atomic
def milestone_save(*, milestone: Milestone) -> Milestone:
    if milestone.status == MilestoneStatus.DONE and milestone.done_on is None:
        milestone.done_on = timezone.localdate()
    if milestone.status != MilestoneStatus.DONE:
        milestone.done_on = None
    milestone.full_clean()
    milestone.save()
    return milestone


@transaction.atomic
def copil_action_add(*, meeting: CopilMeeting, title: str, owner: str = "", due_on=None, user):
    title = title.strip()
    if not title:
        raise ValidationError(_("Describe the action."))
    return CopilAction.objects.create(
        meeting=meeting, title=title, owner=owner.strip(), due_on=due_on
    )


@transaction.atomic
def copil_action_done(*, action: CopilAction, user) -> CopilAction:
    action = CopilAction.objects.select_for_update().get(pk=action.pk)
    if action.done_on is None:
        action.done_on = timezone.localdate()
        action.save()
    return action
