"""Writes of the habilitations app: catalogue, sheets, workflow, evidence, reminders."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from habilitations import workflow
from habilitations.models import (
    Activity,
    CatalogueStatus,
    CatalogueVersion,
    Domain,
    Evidence,
    HabilitationSheet,
    Level,
    Reminder,
    ReminderTarget,
    SheetLine,
    SheetStatus,
    SheetTransition,
    level_rank,
)
from onco_hdf import governance, signatures
from onco_hdf import workflow as shared_workflow
from onco_hdf.models import Membership, Role, SignatureCapacity
from onco_hdf.uploads import DOCUMENT_TYPES, check_upload

REMINDER_DAYS = (90, 60, 30, 7)
REVIEW_MONTHS = 12
# Evidence files: small scans and certificates; never more than the platform's limit.
EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_TYPES = DOCUMENT_TYPES


class TransitionError(shared_workflow.TransitionError):
    """A refused workflow step; its message is shown to the user as is."""


def one_year_after(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def today() -> dt.date:
    return timezone.localdate()


# --- Catalogue ------------------------------------------------------------------------
def catalogue_current() -> CatalogueVersion | None:
    """The latest published version: the one new sheets are written against."""
    return (
        CatalogueVersion.objects.filter(status=CatalogueStatus.PUBLISHED)
        .order_by("-number")
        .first()
    )


def _ensure_draft(version: CatalogueVersion) -> None:
    if not version.is_draft:
        raise ValidationError(
            _("Version %(n)s is published and can no longer be changed; create a new version.")
            % {"n": version.number}
        )


@transaction.atomic
def catalogue_version_create_draft(*, user, label: str) -> CatalogueVersion:
    """A new draft version, copied from the current published one."""
    if CatalogueVersion.objects.filter(status=CatalogueStatus.DRAFT).exists():
        raise ValidationError(_("A draft version already exists: edit it or publish it first."))
    source = catalogue_current()
    number = (CatalogueVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    draft = CatalogueVersion.objects.create(number=number, label=label)
    if source is not None:
        _copy_catalogue(source=source, target=draft)
    return draft


def _copy_catalogue(*, source: CatalogueVersion, target: CatalogueVersion) -> None:
    for domain in source.domains.prefetch_related("activities"):
        activities = list(domain.activities.all())
        domain.pk = None
        domain.version = target
        domain.save()
        for activity in activities:
            activity.pk = None
            activity.version = target
            activity.domain = domain
            activity.save()


@transaction.atomic
def catalogue_version_publish(*, version: CatalogueVersion, user) -> CatalogueVersion:
    version = CatalogueVersion.objects.select_for_update().get(pk=version.pk)
    _ensure_draft(version)
    if not version.activities.exists():
        raise ValidationError(_("A version without any activity cannot be published."))
    version.status = CatalogueStatus.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = user
    version.save()
    return version


@transaction.atomic
def domain_save(*, domain: Domain) -> Domain:
    _ensure_draft(domain.version)
    if (
        Domain.objects.filter(version=domain.version, code=domain.code)
        .exclude(pk=domain.pk)
        .exists()
    ):
        raise ValidationError({"code": _("This code is already used in this version.")})
    domain.save()
    return domain


@transaction.atomic
def activity_save(*, activity: Activity) -> Activity:
    _ensure_draft(activity.version)
    if activity.domain.version_id != activity.version_id:
        raise ValidationError({"domain": _("This domain belongs to another version.")})
    if (
        Activity.objects.filter(version=activity.version, code=activity.code)
        .exclude(pk=activity.pk)
        .exists()
    ):
        raise ValidationError({"code": _("This code is already used in this version.")})
    activity.save()
    return activity


@transaction.atomic
def activity_delete(*, activity: Activity) -> None:
    _ensure_draft(activity.version)
    activity.delete()


@transaction.atomic
def catalogue_load(*, data: dict, publish: bool = True, user=None) -> CatalogueVersion:
    """Create catalogue version ``data["number"]`` from a data module (idempotent).

    An existing published version is left as it is; an existing draft is refreshed.
    """
    version, created = CatalogueVersion.objects.get_or_create(
        number=data["number"], defaults={"label": data["label"], "notes": data.get("notes", "")}
    )
    if not created and not version.is_draft:
        return version
    for d_order, domain_data in enumerate(data["domains"], start=1):
        domain, _created = Domain.objects.update_or_create(
            version=version,
            code=domain_data["code"],
            defaults={"name": domain_data["name"], "order": d_order},
        )
        for a_order, item in enumerate(domain_data["activities"], start=1):
            Activity.objects.update_or_create(
                version=version,
                code=item["code"],
                defaults={
                    "domain": domain,
                    "order": a_order,
                    "label": item["label"],
                    "description": item.get("description", ""),
                    "prerequisites": item.get("prerequisites", ""),
                    "evidence_in_training": item.get("evidence_in_training", ""),
                    "evidence_supervised": item.get("evidence_supervised", ""),
                    "evidence_autonomous": item.get("evidence_autonomous", ""),
                    "evidence_referent": item.get("evidence_referent", ""),
                    "min_supervised_cases": item.get("min_supervised_cases", 0),
                },
            )
    if publish:
        version = catalogue_version_publish(version=version, user=user)
    return version


# --- Sheets ---------------------------------------------------------------------------
OPEN_STATUSES = (
    SheetStatus.DRAFT,
    SheetStatus.SUBMITTED,
    SheetStatus.HEAD_VALIDATED,
    SheetStatus.REGIONAL_VALIDATED,
)
PRIOR_STATUSES = (SheetStatus.ACTIVE, SheetStatus.TO_RENEW, SheetStatus.RENEWED)


def _check_sheet_dates(sheet: HabilitationSheet) -> None:
    errors = {}
    if (
        sheet.rp_training_date
        and sheet.rp_training_expiry
        and (sheet.rp_training_expiry <= sheet.rp_training_date)
    ):
        errors["rp_training_expiry"] = _(
            "The expiry of the radiation-protection training must be after its date."
        )
    if sheet.rp_training_date and sheet.rp_training_date > today():
        errors["rp_training_date"] = _("The training date cannot be in the future.")
    if (
        sheet.diploma_date
        and sheet.ordre_registration_date
        and (sheet.ordre_registration_date < sheet.diploma_date)
    ):
        errors["ordre_registration_date"] = _(
            "The registration with the Ordre cannot precede the diploma."
        )
    if sheet.diploma_date and sheet.diploma_date > today():
        errors["diploma_date"] = _("The diploma date cannot be in the future.")
    if errors:
        raise ValidationError(errors)


def _ensure_editable(sheet: HabilitationSheet) -> None:
    if sheet.status != SheetStatus.DRAFT:
        raise ValidationError(
            _("This sheet is “%(status)s”: it can only be changed as a draft.")
            % {"status": sheet.get_status_display()}
        )


@transaction.atomic
def sheet_create(*, user, sheet: HabilitationSheet) -> HabilitationSheet:
    """Save a new draft sheet (fields already filled) against the current catalogue."""
    version = catalogue_current()
    if version is None:
        raise ValidationError(_("No catalogue version is published yet."))
    governance.require_validated(version)
    if not Membership.objects.filter(
        user=sheet.physician,
        centre=sheet.centre,
        role__in=[Role.ONCOLOGIST, Role.HEAD_OF_DEPARTMENT],
    ).exists():
        raise ValidationError(_("This physician does not work in this centre."))
    if HabilitationSheet.objects.filter(
        physician=sheet.physician, centre=sheet.centre, status__in=OPEN_STATUSES
    ).exists():
        raise ValidationError(
            _("A sheet for this physician and centre is already in progress; complete it first.")
        )
    _check_sheet_dates(sheet)
    sheet.catalogue_version = version
    sheet.status = SheetStatus.DRAFT
    sheet.created_by = user
    sheet.save()
    return sheet


@transaction.atomic
def sheet_update(*, sheet: HabilitationSheet) -> HabilitationSheet:
    current = HabilitationSheet.objects.select_for_update().get(pk=sheet.pk)
    _ensure_editable(current)
    _check_sheet_dates(sheet)
    sheet.status = current.status
    sheet.revision = current.revision
    sheet.save()
    return sheet


def prior_level(*, physician, activity_code: str, exclude_sheet_id=None) -> str | None:
    """The highest level granted to ``physician`` for this activity on a validated sheet."""
    granted = (
        SheetLine.objects.filter(
            sheet__physician=physician,
            sheet__status__in=PRIOR_STATUSES,
            activity__code=activity_code,
        )
        .exclude(sheet_id=exclude_sheet_id)
        .exclude(level_granted="")
        .values_list("level_granted", flat=True)
    )
    return max(granted, key=level_rank, default=None)


def check_line_level(*, line: SheetLine, level: str, field: str) -> None:
    """New activities start under supervision; autonomy needs the supervised cases."""
    activity = line.activity
    previous = prior_level(
        physician=line.sheet.physician, activity_code=activity.code, exclude_sheet_id=line.sheet_id
    )
    if level_rank(level) > level_rank(Level.SUPERVISED) and level_rank(previous) < level_rank(
        Level.SUPERVISED
    ):
        raise ValidationError(
            {
                field: _(
                    "“%(activity)s” is a new activity for this physician: it starts with a "
                    "supervised period (level “Under supervision” at most)."
                )
                % {"activity": activity.label}
            }
        )
    if (
        level_rank(level) >= level_rank(Level.AUTONOMOUS)
        and level_rank(previous) < level_rank(Level.AUTONOMOUS)
        and line.supervised_cases < activity.min_supervised_cases
    ):
        raise ValidationError(
            {
                field: _(
                    "Autonomy for “%(activity)s” requires at least %(n)d supervised cases "
                    "(%(done)d recorded)."
                )
                % {
                    "activity": activity.label,
                    "n": activity.min_supervised_cases,
                    "done": line.supervised_cases,
                }
            }
        )


def _check_line_dates(line: SheetLine) -> None:
    if line.validation_date and line.expiry_date:
        if line.expiry_date <= line.validation_date:
            raise ValidationError(
                {"expiry_date": _("The expiry date must be after the validation date.")}
            )
        if line.expiry_date > one_year_after(line.validation_date):
            raise ValidationError(
                {
                    "expiry_date": _(
                        "A habilitation is reviewed at least every 12 months: the expiry date "
                        "cannot be more than one year after the validation date."
                    )
                }
            )


@transaction.atomic
def line_save(*, line: SheetLine) -> SheetLine:
    sheet = HabilitationSheet.objects.select_for_update().get(pk=line.sheet_id)
    _ensure_editable(sheet)
    line.sheet = sheet
    if line.activity.version_id != sheet.catalogue_version_id:
        raise ValidationError(
            {"activity": _("This activity is not in the catalogue version of the sheet.")}
        )
    if SheetLine.objects.filter(sheet=sheet, activity=line.activity).exclude(pk=line.pk).exists():
        raise ValidationError({"activity": _("This activity is already on the sheet.")})
    if line.tutor_id and line.tutor_id == sheet.physician_id:
        raise ValidationError({"tutor": _("A physician cannot be their own tutor.")})
    check_line_level(line=line, level=line.level_requested, field="level_requested")
    _check_line_dates(line)
    line.save()
    return line


@transaction.atomic
def line_delete(*, line: SheetLine) -> None:
    _ensure_editable(HabilitationSheet.objects.select_for_update().get(pk=line.sheet_id))
    for evidence in line.evidence.all():
        evidence.file.delete(save=False)
    line.delete()


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


# --- Workflow -------------------------------------------------------------------------
def _forbidden_message(transition, sheet: HabilitationSheet) -> str:
    return _(
        "“%(action)s” is not possible: this sheet is now “%(status)s” (someone may have "
        "acted on it in the meantime)."
    ) % {"action": transition.label, "status": sheet.get_status_display()}


def _check_actor(transition, sheet: HabilitationSheet, user) -> None:
    kinds = workflow.actor_kinds(user, sheet)
    if not kinds & transition.actors:
        if workflow.SUBJECT in kinds:
            raise TransitionError(_("A physician cannot validate or decide on their own sheet."))
        raise TransitionError(
            _("You are not allowed to do “%(action)s” on this sheet.")
            % {"action": transition.label}
        )


def _transition(
    *, sheet_id: int, user, action: str, comment: str = "", sign=None
) -> HabilitationSheet:
    """Lock the sheet, check the table, move it, record the step. Call inside atomic.

    ``sign(sheet)`` records the signature act of a signed step on the locked sheet, after
    the table and the actor are checked and before the sheet moves.
    """
    transition = workflow.BY_ACTION[action]
    comment = (comment or "").strip()

    def check(sheet: HabilitationSheet) -> None:
        _check_actor(transition, sheet, user)
        if transition.comment_required and not comment:
            raise TransitionError(
                _("A comment is required for “%(action)s”.") % {"action": transition.label}
            )
        if sign is not None:
            sign(sheet)
        sheet.revision += 1

    sheet, _record = shared_workflow.transition(
        queryset=HabilitationSheet.objects.select_related("centre", "physician"),
        pk=sheet_id,
        to_status=transition.target,
        allowed_from=transition.sources,
        actor=user,
        record_model=SheetTransition,
        subject_field="sheet",
        comment=comment,
        record_fields={"action": action},
        check=check,
        forbidden=lambda sheet: _forbidden_message(transition, sheet),
        update_fields=["revision", "valid_from", "valid_until", "updated_at"],
        error=TransitionError,
    )
    return sheet


def _check_submittable(sheet: HabilitationSheet) -> None:
    lines = list(sheet.lines.select_related("activity", "sheet__physician"))
    if not lines:
        raise TransitionError(_("Add at least one activity before submitting the sheet."))
    if sheet.rp_training_expiry <= today():
        raise TransitionError(
            _("The patient radiation-protection training has expired: renew it before submitting.")
        )
    for line in lines:
        try:
            check_line_level(line=line, level=line.level_requested, field="level_requested")
        except ValidationError as error:
            raise TransitionError(error.message_dict["level_requested"][0]) from error


@transaction.atomic
def sheet_transition(
    *, sheet: HabilitationSheet, user, action: str, comment: str = ""
) -> HabilitationSheet:
    """Any step of the table except the head's validation (see sheet_validate_head)."""
    if action not in workflow.BY_ACTION or action in ("validate_head", "mark_renewed"):
        raise TransitionError(_("This action does not exist."))
    if action in SIGNED_ACTIONS:
        raise TransitionError(_("This step is a signature: sign it on its confirmation page."))
    if action == "submit":
        _check_submittable(sheet)
    sheet = _transition(sheet_id=sheet.pk, user=user, action=action, comment=comment)
    if action in ("activate", "reinstate"):
        _activate(sheet=sheet, user=user, reinstating=action == "reinstate")
    return sheet


def _activate(*, sheet: HabilitationSheet, user, reinstating: bool) -> None:
    if not reinstating or sheet.valid_from is None:
        sheet.valid_from = today()
        sheet.valid_until = one_year_after(sheet.valid_from)
        sheet.save(update_fields=["valid_from", "valid_until"])
    previous = sheet.previous
    if previous is not None and previous.status in workflow.BY_ACTION["mark_renewed"].sources:
        with translation.override(settings.LANGUAGE_CODE):
            comment = _("Replaced by sheet no. %(n)s.") % {"n": sheet.pk}
        _transition(
            sheet_id=previous.pk,
            user=user,
            action="mark_renewed",
            comment=comment,
        )


@dataclass(frozen=True)
class Grant:
    level: str
    expiry_date: dt.date | None = None
    restrictions: str = ""


@transaction.atomic
def sheet_grants_save(*, sheet: HabilitationSheet, user, grants: dict[int, Grant]) -> None:
    """The head of department's decision on each line, before signing the validation."""
    transition = workflow.BY_ACTION["validate_head"]
    sheet = HabilitationSheet.objects.select_for_update().select_related("centre").get(pk=sheet.pk)
    if sheet.status not in transition.sources:
        raise TransitionError(_forbidden_message(transition, sheet))
    _check_actor(transition, sheet, user)
    day = today()
    errors = []
    for line in sheet.lines.select_related("activity"):
        grant = grants.get(line.pk)
        if grant is None or not grant.level:
            errors.append(_("Grant a level for “%(a)s”.") % {"a": line.activity.label})
            continue
        if level_rank(grant.level) > level_rank(line.level_requested):
            errors.append(
                _("“%(a)s”: the level granted cannot exceed the level requested.")
                % {"a": line.activity.label}
            )
            continue
        line.level_granted = grant.level
        line.restrictions = grant.restrictions
        line.validation_date = day
        line.expiry_date = grant.expiry_date or one_year_after(day)
        try:
            check_line_level(line=line, level=grant.level, field="level_granted")
            _check_line_dates(line)
        except ValidationError as error:
            errors.extend(m for messages in error.message_dict.values() for m in messages)
            continue
        line.save()
    if errors:
        raise TransitionError(errors)


# --- Signature steps ------------------------------------------------------------------
TUTOR, HEAD, DIRECTOR, REGIONAL = "tutor", "head", "director", "regional"
SIGN_STEPS = (TUTOR, HEAD, DIRECTOR, REGIONAL)
SIGNED_ACTIONS = ("validate_regional",)
STEP_CAPACITY = {
    TUTOR: SignatureCapacity.TUTOR,
    HEAD: SignatureCapacity.HEAD_OF_DEPARTMENT,
    DIRECTOR: SignatureCapacity.DIRECTOR,
    REGIONAL: SignatureCapacity.REGIONAL_VALIDATOR,
}


def step_key(step: str, user) -> str:
    """The signature slot: one per tutor, one for each other step."""
    return f"{TUTOR}:{user.pk}" if step == TUTOR else step


def tutors_of(sheet: HabilitationSheet) -> list:
    seen = {}
    for line in sheet.lines.select_related("tutor"):
        if line.tutor_id and line.tutor_id != sheet.physician_id:
            seen[line.tutor_id] = line.tutor
    return list(seen.values())


def current_acts(sheet: HabilitationSheet) -> dict:
    """Valid signatures of the current cycle (since the last return to draft), by slot."""
    last_return = (
        sheet.transitions.filter(to_status=SheetStatus.DRAFT).order_by("-at", "-pk").first()
    )
    return {
        act.step: act
        for act in signatures.signatories(sheet)
        if act.valid and (last_return is None or act.signed_at >= last_return.at)
    }


def missing_signatures(sheet: HabilitationSheet, before: str) -> list[str]:
    """Names of the signatures still needed before step ``before`` (head or regional)."""
    acts = current_acts(sheet)
    missing = [
        _("the tutor %(name)s") % {"name": tutor.get_full_name() or tutor.username}
        for tutor in tutors_of(sheet)
        if step_key(TUTOR, tutor) not in acts
    ]
    if before == REGIONAL:
        # The head's signature is the move to "validated by the head" itself.
        director = sheet.centre.habilitation_director
        if director is not None and DIRECTOR not in acts:
            missing.append(
                _("the director / RAN %(name)s") % {"name": director.get_full_name() or director}
            )
    return missing


def _require_signed(sheet: HabilitationSheet, before: str) -> None:
    missing = missing_signatures(sheet, before)
    if missing:
        raise TransitionError(
            _("Still to sign before this step: %(who)s.") % {"who": ", ".join(missing)}
        )


def may_sign(user, sheet: HabilitationSheet, step: str) -> bool:
    """Whether ``user`` may sign ``step`` of ``sheet`` now (the pages' permission)."""
    if user is None or user.pk == sheet.physician_id or step not in SIGN_STEPS:
        return False
    if step == TUTOR:
        return sheet.status == SheetStatus.SUBMITTED and any(
            t.pk == user.pk for t in tutors_of(sheet)
        )
    if step == HEAD:
        return workflow.may(user, sheet, "validate_head")
    if step == DIRECTOR:
        return (
            sheet.status == SheetStatus.HEAD_VALIDATED
            and sheet.centre.habilitation_director_id == user.pk
        )
    return workflow.may(user, sheet, "validate_regional")


def _record(sheet, *, step, user, credentials, expected_hash):
    return signatures.signature_record(
        document=sheet,
        step=step_key(step, user),
        capacity=STEP_CAPACITY[step],
        user=user,
        credentials=credentials,
        expected_hash=expected_hash,
        on_behalf_of=sheet.centre if step in (HEAD, DIRECTOR) else None,
    )


@transaction.atomic
def sheet_sign(
    *,
    sheet: HabilitationSheet,
    user,
    step: str,
    credentials: signatures.Credentials,
    expected_hash: str | None = None,
    comment: str = "",
) -> HabilitationSheet:
    """Sign one step, re-authenticated: the tutor's and the director's signatures are
    recorded on the sheet; the head's and the regional one also move it."""
    if step == HEAD:
        return sheet_validate_head(
            sheet=sheet,
            user=user,
            credentials=credentials,
            expected_hash=expected_hash,
            comment=comment,
        )
    if step == REGIONAL:

        def sign(locked):
            _require_signed(locked, REGIONAL)
            _record(
                locked,
                step=REGIONAL,
                user=user,
                credentials=credentials,
                expected_hash=expected_hash,
            )

        return _transition(
            sheet_id=sheet.pk, user=user, action="validate_regional", comment=comment, sign=sign
        )
    locked = (
        HabilitationSheet.objects.select_for_update()
        .select_related("centre", "physician")
        .get(pk=sheet.pk)
    )
    if not may_sign(user, locked, step):
        raise TransitionError(_("You cannot sign this sheet at this step."))
    if step_key(step, user) in current_acts(locked):
        raise TransitionError(_("You have already signed this sheet."))
    _record(locked, step=step, user=user, credentials=credentials, expected_hash=expected_hash)
    return locked


@transaction.atomic
def sheet_validate_head(
    *,
    sheet: HabilitationSheet,
    user,
    credentials: signatures.Credentials,
    grants: dict[int, Grant] | None = None,
    comment: str = "",
    expected_hash: str | None = None,
) -> HabilitationSheet:
    """The head of department grants a level per line (``grants``, or as already saved by
    sheet_grants_save), then signs the validation, re-authenticated."""
    if grants is not None:
        sheet_grants_save(sheet=sheet, user=user, grants=grants)

    def sign(locked):
        ungranted = [
            line for line in locked.lines.select_related("activity") if not line.level_granted
        ]
        if ungranted:
            raise TransitionError(
                [_("Grant a level for “%(a)s”.") % {"a": line.activity.label} for line in ungranted]
            )
        _require_signed(locked, HEAD)
        _record(locked, step=HEAD, user=user, credentials=credentials, expected_hash=expected_hash)

    return _transition(
        sheet_id=sheet.pk, user=user, action="validate_head", comment=comment, sign=sign
    )


@transaction.atomic
def sheet_return(*, sheet: HabilitationSheet, user, comment: str) -> HabilitationSheet:
    return _transition(sheet_id=sheet.pk, user=user, action="return", comment=comment)


@transaction.atomic
def sheet_renew(*, sheet: HabilitationSheet, user) -> HabilitationSheet:
    """Start the renewal: a new draft copied from ``sheet`` on the current catalogue."""
    sheet = HabilitationSheet.objects.select_for_update().get(pk=sheet.pk)
    if sheet.status not in (SheetStatus.ACTIVE, SheetStatus.TO_RENEW):
        raise TransitionError(_("Only an active sheet or one to be renewed can be renewed."))
    if not workflow.actor_kinds(user, sheet) & {workflow.SUBJECT, workflow.HEAD}:
        raise TransitionError(_("Only the physician or the head of department may renew it."))
    if HabilitationSheet.objects.filter(previous=sheet).exists():
        raise TransitionError(_("A renewal of this sheet has already been started."))
    version = catalogue_current()
    old_lines = list(sheet.lines.select_related("activity"))
    new = HabilitationSheet.objects.get(pk=sheet.pk)
    new.pk = None
    new.previous = sheet
    new.status = SheetStatus.DRAFT
    new.revision = 1
    new.valid_from = new.valid_until = None
    new.catalogue_version = version
    new.created_by = user
    new.save()
    activities = {a.code: a for a in version.activities.all()}
    for line in old_lines:
        activity = activities.get(line.activity.code)
        if activity is None:
            continue
        SheetLine.objects.create(
            sheet=new,
            activity=activity,
            level_requested=line.level_granted or line.level_requested,
            tutor=line.tutor,
            supervised_cases=line.supervised_cases,
            peer_reviewed_contours=line.peer_reviewed_contours,
            courses=line.courses,
            vendor_training=line.vendor_training,
            restrictions=line.restrictions,
        )
    return new


# --- Verification code ----------------------------------------------------------------
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


# --- Reminders ------------------------------------------------------------------------
@dataclass(frozen=True)
class DueReminder:
    sheet: HabilitationSheet
    target: str
    target_key: str
    label: str
    expiry_date: dt.date
    days_before: int
    line: SheetLine | None = None


def expiries_of(sheet: HabilitationSheet) -> list[tuple[str, str, str, dt.date, SheetLine | None]]:
    """Everything on a sheet that expires: (target, key, label, date, line)."""
    items = []
    if sheet.valid_until:
        items.append(
            (
                ReminderTarget.SHEET,
                "sheet",
                str(ReminderTarget.SHEET.label),
                sheet.valid_until,
                None,
            )
        )
    if sheet.rp_training_expiry:
        items.append(
            (
                ReminderTarget.TRAINING,
                "training",
                str(ReminderTarget.TRAINING.label),
                sheet.rp_training_expiry,
                None,
            )
        )
    for line in sheet.lines.all():
        if line.expiry_date:
            items.append(
                (
                    ReminderTarget.LINE,
                    f"line:{line.pk}",
                    line.activity.label,
                    line.expiry_date,
                    line,
                )
            )
    return items


def threshold_for(days_left: int) -> int | None:
    """The most urgent threshold already reached (7 when 5 days are left), None if none."""
    reached = [d for d in REMINDER_DAYS if 0 <= days_left <= d]
    return min(reached) if reached else None


def watched_sheets():
    from habilitations.models import WATCHED_STATUSES

    return (
        HabilitationSheet.objects.filter(status__in=WATCHED_STATUSES)
        .select_related("centre", "physician")
        .prefetch_related("lines__activity")
    )


def reminders_due(*, on_date: dt.date, sheets=None) -> list[DueReminder]:
    """Reminders to send on ``on_date``: one per expiry per threshold, never twice."""
    sheets = watched_sheets() if sheets is None else sheets
    sent = set(
        Reminder.objects.filter(sheet__in=sheets).values_list(
            "sheet_id", "target_key", "expiry_date", "days_before"
        )
    )
    due = []
    for sheet in sheets:
        for target, key, label, expiry, line in expiries_of(sheet):
            days = threshold_for((expiry - on_date).days)
            if days is None or (sheet.pk, key, expiry, days) in sent:
                continue
            due.append(
                DueReminder(
                    sheet=sheet,
                    target=target,
                    target_key=key,
                    label=label,
                    expiry_date=expiry,
                    days_before=days,
                    line=line,
                )
            )
    return due


def reminder_recipients(sheet: HabilitationSheet) -> list[str]:
    heads = Membership.objects.filter(
        centre=sheet.centre, role=Role.HEAD_OF_DEPARTMENT
    ).values_list("user__email", flat=True)
    emails = [sheet.physician.email, *heads]
    return sorted({e for e in emails if e})


def reminders_send(*, on_date: dt.date) -> int:
    """Send the due reminders, one e-mail per sheet.

    Each reminder is claimed by its row (unique constraint) in the same transaction as its
    e-mail: a second run, even concurrent, never sends it twice, and a failed e-mail rolls
    its rows back so the next run sends it again.
    """
    by_sheet: dict[int, list[DueReminder]] = {}
    for item in reminders_due(on_date=on_date):
        by_sheet.setdefault(item.sheet.pk, []).append(item)
    sent = 0
    for items in by_sheet.values():
        recipients = reminder_recipients(items[0].sheet)
        with transaction.atomic():
            claimed = [item for item in items if _claim(item, on_date, recipients)]
            if claimed:
                _reminder_mail(claimed, recipients)
        sent += len(claimed)
    return sent


def _claim(item: DueReminder, on_date: dt.date, recipients: list[str]) -> bool:
    try:
        with transaction.atomic():
            Reminder.objects.create(
                sheet=item.sheet,
                target=item.target,
                line=item.line,
                target_key=item.target_key,
                expiry_date=item.expiry_date,
                days_before=item.days_before,
                sent_on=on_date,
                recipients=", ".join(recipients),
            )
    except IntegrityError:
        return False  # another run claimed it
    return True


def _reminder_mail(items: list[DueReminder], recipients: list[str]) -> None:
    sheet = items[0].sheet
    if not recipients:
        return
    with translation.override(settings.LANGUAGE_CODE):
        lines = "\n".join(
            _("- %(what)s: expires on %(date)s")
            % {"what": item.label, "date": item.expiry_date.strftime("%d/%m/%Y")}
            for item in items
        )
        send_mail(
            _("[ONCO-HDF] Habilitation of %(name)s: expiry approaching")
            % {"name": sheet.physician_name},
            _(
                "Hello,\n\nOn the habilitation sheet of %(name)s (%(centre)s), the following "
                "items expire soon:\n%(lines)s\n\nSheet: %(url)s\n"
            )
            % {
                "name": sheet.physician_name,
                "centre": sheet.centre.label,
                "lines": lines,
                "url": settings.SITE_URL.rstrip("/")
                + reverse("habilitations:sheet-detail", args=[sheet.pk]),
            },
            None,
            recipients,
        )


def sheets_flag_for_renewal(*, on_date: dt.date) -> int:
    """Active sheets whose review is due within 90 days become "to be renewed"."""
    limit = on_date + dt.timedelta(days=max(REMINDER_DAYS))
    flagged = 0
    for sheet_id in HabilitationSheet.objects.filter(
        status=SheetStatus.ACTIVE, valid_until__lte=limit
    ).values_list("pk", flat=True):
        with transaction.atomic(), translation.override(settings.LANGUAGE_CODE):
            try:
                _transition(
                    sheet_id=sheet_id,
                    user=None,
                    action="flag_renewal",
                    comment=_("Periodic review due within 90 days."),
                )
            except TransitionError:
                continue  # changed meanwhile; the next run will see it
        flagged += 1
    return flagged


def habilitations_daily(*, on_date: dt.date) -> dict:
    return {
        "flagged": sheets_flag_for_renewal(on_date=on_date),
        "reminders": reminders_send(on_date=on_date),
    }
