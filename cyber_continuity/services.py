"""Writes of the continuity app, and the pure computations they rely on."""

from __future__ import annotations

import difflib
import logging
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cyber_continuity.models import (
    ACTIVE_STATUSES,
    EDITABLE_STATUSES,
    LINAC_TECHNIQUES,
    CapacityDeclaration,
    ClauseKind,
    Convention,
    ConventionClause,
    ConventionClauseEdit,
    ConventionParty,
    ConventionStatus,
    ConventionTemplate,
    ConventionTemplateVersion,
    ConventionTransition,
    Crisis,
    CrisisAction,
    CrisisContact,
    CrisisEvent,
    CrisisStatus,
    CrisisTransition,
    Machine,
    MachineKind,
    PatientGroup,
    Technique,
    TemplateClause,
    Transfer,
    TransferPlanEntry,
    TransferStatus,
    is_attestation_stale,
)
from onco_hdf.models import Centre, Role

logger = logging.getLogger(__name__)


class TransitionError(ValidationError):
    """A workflow move not allowed from the current state (message in French)."""


class StaleEditError(ValidationError):
    """Someone saved the clause since this form was opened."""

    def __init__(self, message, *, clause: ConventionClause, base_body: str):
        super().__init__(message)
        self.clause = clause
        self.base_body = base_body


# --- Registry -------------------------------------------------------------------------
@transaction.atomic
def registry_item_save(*, item, user=None):
    """Save a profile, contact, information system or machine of a centre (history kept)."""
    item.full_clean()
    item.save()
    return item


@transaction.atomic
def registry_item_delete(*, item) -> None:
    item.delete()


@transaction.atomic
def capacities_save(*, centre: Centre, rows: dict[str, tuple[int, int]], user) -> int:
    """Replace the centre's offered techniques; saving attests every declared row."""
    now = timezone.now()
    CapacityDeclaration.objects.filter(centre=centre).exclude(technique__in=rows).delete()
    for technique, (free, surge) in rows.items():
        if technique not in Technique.values:
            raise ValidationError(_("Unknown technique."))
        CapacityDeclaration.objects.update_or_create(
            centre=centre,
            technique=technique,
            defaults={
                "free_slots_per_day": free,
                "surge_slots_per_day": surge,
                "attested_at": now,
                "attested_by": user,
            },
        )
    return len(rows)


@transaction.atomic
def capacity_attest(*, centre: Centre, user) -> int:
    """Confirm that every declaration of the centre is still true."""
    count = 0
    for declaration in CapacityDeclaration.objects.select_for_update().filter(centre=centre):
        declaration.attested_at = timezone.now()
        declaration.attested_by = user
        declaration.save()
        count += 1
    return count


REMINDER_INTERVAL = timedelta(days=7)


def capacity_attestation_remind(*, now=None) -> int:
    """E-mail the referents of centres whose attestations are stale; once a week at most.

    Idempotent: the ``reminded_at`` stamp is claimed with a conditional UPDATE, so a rerun
    or a second worker sends nothing twice.
    """
    now = now or timezone.now()
    stale_centres: dict[int, list[CapacityDeclaration]] = {}
    for declaration in CapacityDeclaration.objects.select_related("centre"):
        if is_attestation_stale(declaration.attested_at, now) and (
            declaration.reminded_at is None or declaration.reminded_at < now - REMINDER_INTERVAL
        ):
            stale_centres.setdefault(declaration.centre_id, []).append(declaration)
    sent = 0
    for centre_id, declarations in stale_centres.items():
        claimed = CapacityDeclaration.objects.filter(
            pk__in=[d.pk for d in declarations], reminded_at=declarations[0].reminded_at
        ).update(reminded_at=now)
        if not claimed:
            continue
        centre = declarations[0].centre
        recipients = list(
            get_user_model()
            .objects.filter(
                memberships__centre_id=centre_id,
                memberships__role=Role.REFERENT,
                is_active=True,
            )
            .exclude(email="")
            .values_list("email", flat=True)
        )
        if not recipients:
            continue
        techniques = ", ".join(d.get_technique_display() for d in declarations)
        send_mail(
            _("Capacity attestation overdue — %(centre)s") % {"centre": centre.label},
            _(
                "The capacity declarations of %(centre)s have not been attested for more than "
                "30 days (%(techniques)s). Please confirm or update them: %(url)s"
            )
            % {
                "centre": centre.name,
                "techniques": techniques,
                "url": f"{settings.SITE_URL}/continuite-cyber/registre/{centre_id}/capacites/",
            },
            None,
            recipients,
        )
        sent += 1
    return sent


# --- Placeholders ---------------------------------------------------------------------
PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z_]+)\.([a-z_]+)\s*\}\}")
CENTRE_FIELDS = (
    "name",
    "short_name",
    "finess",
    "city",
    "legal_entity",
    "address",
    "crisis_contact",
)
PARTY_KEYS = ("centre_a", "centre_b", "centre_c", "centre_d")
OTHER_PLACEHOLDERS = {("convention", "title"), ("parties", "names")}


def known_placeholder(obj: str, attr: str) -> bool:
    return (obj in PARTY_KEYS and attr in CENTRE_FIELDS) or (obj, attr) in OTHER_PLACEHOLDERS


def unknown_placeholders(text: str) -> list[str]:
    return [
        m.group(0)
        for m in PLACEHOLDER_RE.finditer(text)
        if not known_placeholder(m.group(1), m.group(2))
    ]


def centre_placeholder_values(centre: Centre) -> dict[str, str]:
    profile = getattr(centre, "continuity_profile", None)
    contact = centre.crisis_contacts.order_by("order", "name").first()
    return {
        "name": centre.name,
        "short_name": centre.label,
        "finess": centre.finess,
        "city": centre.city,
        "legal_entity": (profile.legal_entity if profile else "") or centre.name,
        "address": (profile.address if profile else "") or centre.city,
        "crisis_contact": f"{contact.name}, {contact.function}, {contact.mobile_phone}"
        if contact
        else "—",
    }


def placeholder_values(*, centres: list[Centre], title: str) -> dict[tuple[str, str], str]:
    values: dict[tuple[str, str], str] = {
        ("convention", "title"): title,
        ("parties", "names"): ", ".join(c.name for c in centres),
    }
    for key, centre in zip(PARTY_KEYS, centres, strict=False):
        for attr, value in centre_placeholder_values(centre).items():
            values[(key, attr)] = value
    return values


def fill_placeholders(text: str, values: dict[tuple[str, str], str]) -> str:
    """Replace known ``{{obj.attr}}`` by plain values; leave anything else untouched.

    A regular-expression substitution, never template rendering: the text is user input and
    must not reach the template engine.
    """

    def replace(match: re.Match) -> str:
        return values.get((match.group(1), match.group(2)), match.group(0))

    return PLACEHOLDER_RE.sub(replace, text)


# --- Convention templates -------------------------------------------------------------
DEFAULT_CLAUSES = [
    (
        ClauseKind.PARTIES,
        False,
        gettext_lazy(
            "This convention is made between {{centre_a.legal_entity}} ({{centre_a.name}}, "
            "FINESS {{centre_a.finess}}), {{centre_a.address}}, and {{centre_b.legal_entity}} "
            "({{centre_b.name}}, FINESS {{centre_b.finess}}), {{centre_b.address}}."
        ),
    ),
    (
        ClauseKind.SCOPE,
        True,
        gettext_lazy(
            "It applies when a party loses its information systems (record-and-verify, "
            "planning system, oncology information system) following a malicious incident and "
            "can no longer treat its patients safely."
        ),
    ),
    (
        ClauseKind.ACTIVATION,
        True,
        gettext_lazy(
            "The convention is activated by a call between crisis contacts, confirmed in "
            "writing through an out-of-band channel. Crisis contacts: {{centre_a.crisis_contact}}; "
            "{{centre_b.crisis_contact}}."
        ),
    ),
    (
        ClauseKind.RESPONSIBILITY,
        True,
        gettext_lazy(
            "The receiving centre's radiation oncologist validates the treatment continued there; "
            "its medical physicist validates the plan or the re-planning."
        ),
    ),
    (
        ClauseKind.RADIATION_PROTECTION,
        False,
        gettext_lazy(
            "The receiving centre applies its own radiation protection rules to patients and to "
            "staff made available."
        ),
    ),
    (
        ClauseKind.STAFF,
        True,
        gettext_lazy(
            "The affected centre may make radiation therapists and physicists available to the "
            "receiving centre, under its supervision."
        ),
    ),
    (
        ClauseKind.DATA,
        False,
        gettext_lazy(
            "Data are exchanged through a secure channel approved by both data protection officers "
            "and hosted by certified health data hosts (HDS)."
        ),
    ),
    (
        ClauseKind.BILLING,
        True,
        gettext_lazy(
            "Treatment delivered is billed by the receiving centre according to the national "
            "tariffs."
        ),
    ),
    (
        ClauseKind.INSURANCE,
        False,
        gettext_lazy("Each party keeps its own civil liability insurance for its activity."),
    ),
    (
        ClauseKind.QUALITY,
        False,
        gettext_lazy(
            "Significant radiation protection events are declared by the centre where they occur; "
            "both parties share their analysis."
        ),
    ),
    (
        ClauseKind.DURATION,
        True,
        gettext_lazy(
            "The convention is made for three years and can be renewed by written agreement."
        ),
    ),
]


@transaction.atomic
def template_create(
    *, title: str, description: str = "", user=None, is_demo: bool = False
) -> ConventionTemplate:
    if ConventionTemplate.objects.filter(title=title).exists():
        raise ValidationError(_("A template with this title already exists."))
    template = ConventionTemplate.objects.create(
        title=title, description=description, is_demo=is_demo
    )
    version = ConventionTemplateVersion.objects.create(template=template, number=1)
    for order, (kind, negotiable, body) in enumerate(DEFAULT_CLAUSES, start=1):
        TemplateClause.objects.create(
            version=version,
            order=order,
            kind=kind,
            title=str(ClauseKind(kind).label),
            body=str(body),
            negotiable=negotiable,
        )
    return template


def _locked_version(version_id: int) -> ConventionTemplateVersion:
    return ConventionTemplateVersion.objects.select_for_update().get(pk=version_id)


@transaction.atomic
def template_version_publish(
    *, version: ConventionTemplateVersion, user, notes: str = ""
) -> ConventionTemplateVersion:
    version = _locked_version(version.pk)
    if version.is_published:
        raise ValidationError(_("This version is already published."))
    if not version.clauses.exists():
        raise ValidationError(_("A version without clauses cannot be published."))
    for clause in version.clauses.all():
        unknown = unknown_placeholders(clause.body)
        if unknown:
            raise ValidationError(
                _("Clause “%(title)s” has unknown placeholders: %(names)s")
                % {"title": clause.title, "names": ", ".join(unknown)}
            )
    version.published_at = timezone.now()
    version.published_by = user
    if notes:
        version.notes = notes
    version.save()
    return version


@transaction.atomic
def template_version_create_next(*, template: ConventionTemplate) -> ConventionTemplateVersion:
    """A new draft version, copied from the latest version."""
    ConventionTemplate.objects.select_for_update().get(pk=template.pk)
    latest = template.versions.order_by("-number").first()
    if latest is not None and not latest.is_published:
        raise ValidationError(_("Publish or finish the current draft version first."))
    number = (latest.number if latest else 0) + 1
    version = ConventionTemplateVersion.objects.create(template=template, number=number)
    if latest is not None:
        for clause in latest.clauses.all():
            TemplateClause.objects.create(
                version=version,
                order=clause.order,
                kind=clause.kind,
                title=clause.title,
                body=clause.body,
                negotiable=clause.negotiable,
            )
    return version


# --- Conventions ----------------------------------------------------------------------
@transaction.atomic
def convention_create(
    *,
    template_version: ConventionTemplateVersion,
    centres: list[Centre],
    title: str,
    user,
    start_date=None,
    end_date=None,
    is_demo: bool = False,
) -> Convention:
    if not template_version.is_published:
        raise ValidationError(_("Only a published template version can be used."))
    if len({c.pk for c in centres}) < 2:
        raise ValidationError(_("A convention needs at least two different centres."))
    if len(centres) > len(PARTY_KEYS):
        raise ValidationError(_("A convention has at most four parties."))
    convention = Convention.objects.create(
        title=title,
        template_version=template_version,
        created_by=user,
        start_date=start_date,
        end_date=end_date,
        is_demo=is_demo,
    )
    for centre in centres:
        ConventionParty.objects.create(convention=convention, centre=centre)
    values = placeholder_values(centres=centres, title=title)
    for clause in template_version.clauses.all():
        ConventionClause.objects.create(
            convention=convention,
            order=clause.order,
            kind=clause.kind,
            title=clause.title,
            body=fill_placeholders(clause.body, values),
            negotiable=clause.negotiable,
            updated_by=user,
        )
    ConventionTransition.objects.create(
        convention=convention, from_status="", to_status=ConventionStatus.DRAFT, user=user
    )
    return convention


@transaction.atomic
def convention_clause_update(
    *, clause: ConventionClause, body: str, expected_version: int, user
) -> ConventionClause:
    """Save a negotiable clause if nobody saved it since ``expected_version`` was read."""
    clause = (
        ConventionClause.objects.select_for_update().select_related("convention").get(pk=clause.pk)
    )
    if not clause.negotiable:
        raise ValidationError(_("This clause comes from the template and cannot be negotiated."))
    if clause.convention.status not in EDITABLE_STATUSES:
        raise ValidationError(
            _("The convention is “%(status)s”: its clauses can no longer be edited.")
            % {"status": clause.convention.get_status_display()}
        )
    if clause.version != expected_version:
        base = clause.edits.filter(version=expected_version + 1).first()
        who = clause.updated_by.get_full_name() if clause.updated_by else _("someone")
        raise StaleEditError(
            _(
                "%(who)s saved this clause while you were editing it. Your text was not saved: "
                "it is kept below. Compare it with the current text, then save again."
            )
            % {"who": who or clause.updated_by.username},
            clause=clause,
            base_body=base.old_body if base else clause.body,
        )
    body = body.replace("\r\n", "\n").strip()
    if body == clause.body:
        return clause
    ConventionClauseEdit.objects.create(
        clause=clause,
        user=user,
        version=clause.version + 1,
        old_body=clause.body,
        new_body=body,
    )
    clause.body = body
    clause.version += 1
    clause.updated_by = user
    clause.save()
    return clause


def text_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Word-level diff as (op, text) pieces: op is "equal", "delete" or "insert"."""
    old_words = re.split(r"(\s+)", old)
    new_words = re.split(r"(\s+)", new)
    pieces: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(("equal", "".join(old_words[a0:a1])))
        else:
            if a1 > a0:
                pieces.append(("delete", "".join(old_words[a0:a1])))
            if b1 > b0:
                pieces.append(("insert", "".join(new_words[b0:b1])))
    return pieces


def _label(choices, value: str) -> str:
    """The display label of a status; unknown values (bad input) shown as typed."""
    return str(dict(choices.choices).get(value, value))


@dataclass(frozen=True)
class Move:
    label: str
    manual: bool = True


S = ConventionStatus
# The one table of allowed convention moves. "In force" is reached only by the last signature.
CONVENTION_TRANSITIONS: dict[tuple[str, str], Move] = {
    (S.DRAFT, S.NEGOTIATION): Move(gettext_lazy("Open the negotiation")),
    (S.NEGOTIATION, S.AWAITING_SIGNATURE): Move(gettext_lazy("Send for signature")),
    (S.AWAITING_SIGNATURE, S.NEGOTIATION): Move(gettext_lazy("Reopen the negotiation")),
    (S.AWAITING_SIGNATURE, S.IN_FORCE): Move(gettext_lazy("All parties signed"), manual=False),
    (S.IN_FORCE, S.RENEWAL_DUE): Move(gettext_lazy("Mark renewal due")),
    (S.RENEWAL_DUE, S.IN_FORCE): Move(gettext_lazy("Renew for three years")),
    (S.RENEWAL_DUE, S.EXPIRED): Move(gettext_lazy("Mark expired")),
    (S.DRAFT, S.TERMINATED): Move(gettext_lazy("Abandon")),
    (S.NEGOTIATION, S.TERMINATED): Move(gettext_lazy("Abandon")),
    (S.IN_FORCE, S.TERMINATED): Move(gettext_lazy("Terminate")),
    (S.RENEWAL_DUE, S.TERMINATED): Move(gettext_lazy("Terminate")),
}


def convention_moves_from(status: str) -> list[tuple[str, Move]]:
    return [
        (to, move)
        for (frm, to), move in CONVENTION_TRANSITIONS.items()
        if frm == status and move.manual
    ]


def _convention_move(
    convention: Convention, to_status: str, user, comment: str = "", *, manual: bool = True
) -> Convention:
    """Apply one move on a row already locked by the caller."""
    move = CONVENTION_TRANSITIONS.get((convention.status, to_status))
    if move is None or (manual and not move.manual):
        raise TransitionError(
            _("A convention cannot go from “%(from)s” to “%(to)s”.")
            % {"from": convention.get_status_display(), "to": _label(ConventionStatus, to_status)}
        )
    from_status = convention.status
    convention.status = to_status
    if to_status == S.NEGOTIATION and from_status == S.AWAITING_SIGNATURE:
        convention.parties.update(signed_at=None, signed_by=None)
    if to_status == S.IN_FORCE:
        today = timezone.localdate()
        if from_status == S.RENEWAL_DUE:
            convention.start_date = convention.end_date or today
        else:
            convention.start_date = convention.start_date or today
        convention.end_date = convention.start_date + timedelta(days=3 * 365)
    convention.save()
    ConventionTransition.objects.create(
        convention=convention,
        from_status=from_status,
        to_status=to_status,
        user=user,
        comment=comment,
    )
    return convention


@transaction.atomic
def convention_transition(
    *, convention: Convention, to_status: str, user, comment: str = ""
) -> Convention:
    convention = Convention.objects.select_for_update().get(pk=convention.pk)
    return _convention_move(convention, to_status, user, comment)


@transaction.atomic
def convention_sign(*, convention: Convention, centre: Centre, user) -> Convention:
    """Sign for one party; the last signature brings the convention into force."""
    convention = Convention.objects.select_for_update().get(pk=convention.pk)
    if convention.status != S.AWAITING_SIGNATURE:
        raise TransitionError(_("Only a convention awaiting signature can be signed."))
    party = convention.parties.filter(centre=centre).first()
    if party is None:
        raise ValidationError(_("This centre is not a party to the convention."))
    if party.signed_at is not None:
        raise ValidationError(_("This party has already signed."))
    party.signed_at = timezone.now()
    party.signed_by = user
    party.save()
    if not convention.parties.filter(signed_at__isnull=True).exists():
        _convention_move(convention, S.IN_FORCE, user, manual=False)
    return convention


RENEWAL_NOTICE = timedelta(days=90)


def convention_expiry_check(*, today: date | None = None) -> int:
    """Beat task body: in force → renewal due 90 days before the end; renewal due → expired."""
    today = today or timezone.localdate()
    moved = 0
    due = Convention.objects.filter(status=S.IN_FORCE, end_date__lte=today + RENEWAL_NOTICE)
    for convention in due.values_list("pk", flat=True):
        moved += _move_if(convention, S.IN_FORCE, S.RENEWAL_DUE)
    for convention in Convention.objects.filter(status=S.RENEWAL_DUE, end_date__lt=today):
        moved += _move_if(convention.pk, S.RENEWAL_DUE, S.EXPIRED)
    return moved


@transaction.atomic
def _move_if(convention_id: int, from_status: str, to_status: str) -> int:
    convention = Convention.objects.select_for_update().get(pk=convention_id)
    if convention.status != from_status:
        return 0
    _convention_move(convention, to_status, None, _("Automatic"), manual=False)
    return 1


# --- Machines and transfer plans ------------------------------------------------------
def linacs(centre_id: int) -> list[Machine]:
    return list(
        Machine.objects.filter(centre_id=centre_id, kind=MachineKind.LINAC, in_service=True)
    )


def plan_transferable(sender_linacs: list[Machine], receiver_linacs: list[Machine]) -> bool:
    """A plan moves as is to a machine of the same beam-matching group or the same model."""
    groups = {
        m.beam_matching_group.strip().lower()
        for m in sender_linacs
        if m.beam_matching_group.strip()
    }
    models_ = {(m.manufacturer.strip().lower(), m.model.strip().lower()) for m in sender_linacs}
    return any(
        (m.beam_matching_group.strip().lower() in groups)
        or ((m.manufacturer.strip().lower(), m.model.strip().lower()) in models_)
        for m in receiver_linacs
    )


def machine_capable(technique: str, receiver_linacs: list[Machine]) -> bool:
    """The receiver has a machine able to deliver the technique at all."""
    if technique not in LINAC_TECHNIQUES:
        return True
    if technique == Technique.SBRT:
        return any(m.sbrt_capable for m in receiver_linacs)
    if technique == Technique.SRS:
        return any(m.srs_capable for m in receiver_linacs)
    return bool(receiver_linacs)


@transaction.atomic
def plan_entry_add(
    *,
    centre: Centre,
    technique: str,
    receiving_centre: Centre,
    rank: int | None = None,
    notes: str = "",
) -> TransferPlanEntry:
    if receiving_centre.pk == centre.pk:
        raise ValidationError(_("A centre cannot be its own receiving centre."))
    if TransferPlanEntry.objects.filter(
        centre=centre, technique=technique, receiving_centre=receiving_centre
    ).exists():
        raise ValidationError(_("This receiving centre is already in the plan for this technique."))
    if rank is None:
        rank = (
            TransferPlanEntry.objects.filter(centre=centre, technique=technique).aggregate(
                m=Max("rank")
            )["m"]
            or 0
        ) + 1
    return TransferPlanEntry.objects.create(
        centre=centre,
        technique=technique,
        receiving_centre=receiving_centre,
        rank=rank,
        notes=notes,
    )


@transaction.atomic
def plan_entry_move(*, entry: TransferPlanEntry, up: bool) -> None:
    """Swap the entry with its neighbour in the ordered list."""
    siblings = list(
        TransferPlanEntry.objects.select_for_update()
        .filter(centre=entry.centre, technique=entry.technique)
        .order_by("rank", "pk")
    )
    index = next(i for i, e in enumerate(siblings) if e.pk == entry.pk)
    other = index - 1 if up else index + 1
    if 0 <= other < len(siblings):
        siblings[index], siblings[other] = siblings[other], siblings[index]
    for rank, item in enumerate(siblings, start=1):
        if item.rank != rank:
            item.rank = rank
            item.save()


@dataclass(frozen=True)
class PlanRow:
    entry: TransferPlanEntry
    convention: Convention | None
    capacity: CapacityDeclaration | None
    transferable: bool
    capable: bool

    @property
    def linac_based(self) -> bool:
        return self.entry.technique in LINAC_TECHNIQUES

    @property
    def problems(self) -> list[str]:
        found = []
        if self.convention is None:
            found.append(_("no convention in force"))
        if self.capacity is None:
            found.append(_("technique not declared by the receiving centre"))
        elif self.capacity.is_stale:
            found.append(_("capacity attestation stale"))
        if not self.capable:
            found.append(_("no machine able to deliver this technique"))
        elif self.entry.technique in LINAC_TECHNIQUES and not self.transferable:
            found.append(_("machines not compatible: re-planning needed"))
        return found


@dataclass(frozen=True)
class PlanSection:
    technique: str
    label: str
    rows: list[PlanRow]

    @property
    def has_receiver(self) -> bool:
        return any(not row.problems for row in self.rows)


def transfer_plan(centre: Centre) -> list[PlanSection]:
    """The centre's plan per offered technique, each row with its gaps."""
    offered = list(
        CapacityDeclaration.objects.filter(centre=centre).values_list("technique", flat=True)
    )
    entries = list(
        TransferPlanEntry.objects.filter(centre=centre)
        .select_related("receiving_centre")
        .order_by("technique", "rank", "pk")
    )
    techniques = [
        t for t in Technique.values if t in offered or any(e.technique == t for e in entries)
    ]
    sender = linacs(centre.pk)
    capacities = {
        (c.centre_id, c.technique): c
        for c in CapacityDeclaration.objects.filter(
            centre__in=[e.receiving_centre_id for e in entries]
        )
    }
    sections = []
    for technique in techniques:
        rows = []
        for entry in (e for e in entries if e.technique == technique):
            receiver = linacs(entry.receiving_centre_id)
            rows.append(
                PlanRow(
                    entry=entry,
                    convention=active_convention_between(centre.pk, entry.receiving_centre_id),
                    capacity=capacities.get((entry.receiving_centre_id, technique)),
                    transferable=plan_transferable(sender, receiver),
                    capable=machine_capable(technique, receiver),
                )
            )
        sections.append(PlanSection(technique, str(Technique(technique).label), rows))
    return sections


def active_convention_between(centre_a_id: int, centre_b_id: int) -> Convention | None:
    return (
        Convention.objects.filter(status__in=ACTIVE_STATUSES, parties__centre=centre_a_id)
        .filter(parties__centre=centre_b_id)
        .order_by("-end_date")
        .first()
    )


# --- Crises ---------------------------------------------------------------------------
C = CrisisStatus
# The one table of allowed crisis moves.
CRISIS_TRANSITIONS: dict[tuple[str, str], Move] = {
    (C.ALERT, C.DECLARED): Move(gettext_lazy("Declare the crisis")),
    (C.ALERT, C.CLOSED): Move(gettext_lazy("Close: false alarm")),
    (C.DECLARED, C.TRANSFERS): Move(gettext_lazy("Start the transfers")),
    (C.DECLARED, C.STABILISED): Move(gettext_lazy("Stabilised without transfer")),
    (C.TRANSFERS, C.STABILISED): Move(gettext_lazy("Mark stabilised")),
    (C.STABILISED, C.RETURN): Move(gettext_lazy("Start the return")),
    (C.STABILISED, C.LIFTED): Move(gettext_lazy("Lift the crisis")),
    (C.RETURN, C.LIFTED): Move(gettext_lazy("Lift the crisis")),
    (C.LIFTED, C.RETEX): Move(gettext_lazy("Start the lessons learned")),
    (C.RETEX, C.CLOSED): Move(gettext_lazy("Close")),
}


def crisis_moves_from(status: str) -> list[tuple[str, Move]]:
    return [(to, move) for (frm, to), move in CRISIS_TRANSITIONS.items() if frm == status]


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


def _crisis_move(crisis: Crisis, to_status: str, user, comment: str = "") -> Crisis:
    move = CRISIS_TRANSITIONS.get((crisis.status, to_status))
    if move is None:
        raise TransitionError(
            _("A crisis cannot go from “%(from)s” to “%(to)s”.")
            % {"from": crisis.get_status_display(), "to": _label(CrisisStatus, to_status)}
        )
    from_status = crisis.status
    crisis.status = to_status
    now = timezone.now()
    if to_status == C.DECLARED:
        crisis.declared_at = now
        crisis.declared_by = user
    if to_status == C.CLOSED:
        crisis.closed_at = now
    crisis.save()
    CrisisTransition.objects.create(
        crisis=crisis,
        from_status=from_status,
        to_status=to_status,
        user=user,
        comment=comment,
        at=now,
    )
    _event(
        crisis,
        user,
        _("Status: %(status)s.") % {"status": _label(CrisisStatus, to_status)}
        + (f" {comment}" if comment else ""),
        at=now,
    )
    if to_status == C.DECLARED:
        _notify_declared(crisis)
    return crisis


def _event(crisis: Crisis, user, text: str, at=None) -> CrisisEvent:
    return CrisisEvent.objects.create(crisis=crisis, user=user, text=text, at=at or timezone.now())


def _crisis_prefix(crisis: Crisis) -> str:
    return _("[EXERCISE] ") if crisis.is_exercise else ""


def _notify_declared(crisis: Crisis) -> None:
    receivers = Centre.objects.filter(receiving_plans__centre=crisis.centre).distinct()
    count = notify_crisis_contacts(
        centres=receivers,
        subject=_crisis_prefix(crisis)
        + _("Cyber crisis declared at %(centre)s") % {"centre": crisis.centre.label},
        message=_(
            "%(centre)s has declared a cyber crisis. Your centre is in its transfer "
            "plan: please stand by for transfer requests. %(url)s"
        )
        % {
            "centre": crisis.centre.name,
            "url": f"{settings.SITE_URL}/continuite-cyber/crises/{crisis.pk}/",
        },
    )
    _event(
        crisis,
        None,
        _("Crisis contacts of %(n)d receiving centre(s) notified (%(contacts)d contact(s)).")
        % {"n": receivers.count(), "contacts": count},
    )


@transaction.atomic
def crisis_declare(
    *,
    centre: Centre,
    systems_down: list[str],
    description: str,
    user,
    is_exercise: bool = False,
    declare_now: bool = True,
    started_at=None,
) -> Crisis:
    """Raise the alert and, unless told otherwise, declare the crisis at once."""
    crisis = Crisis.objects.create(
        centre=centre,
        systems_down=list(systems_down),
        description=description,
        is_exercise=is_exercise,
        started_at=started_at or timezone.now(),
    )
    CrisisTransition.objects.create(
        crisis=crisis, from_status="", to_status=C.ALERT, user=user, at=crisis.started_at
    )
    _event(crisis, user, _crisis_prefix(crisis) + _("Alert raised."), at=crisis.started_at)
    if declare_now:
        _crisis_move(crisis, C.DECLARED, user)
    return crisis


@transaction.atomic
def crisis_transition(*, crisis: Crisis, to_status: str, user, comment: str = "") -> Crisis:
    crisis = Crisis.objects.select_for_update().get(pk=crisis.pk)
    return _crisis_move(crisis, to_status, user, comment)


@transaction.atomic
def crisis_event_add(*, crisis: Crisis, user, text: str) -> CrisisEvent:
    text = text.strip()
    if not text:
        raise ValidationError(_("The event is empty."))
    return _event(crisis, user, text)


@transaction.atomic
def patient_group_add(*, crisis: Crisis, user, **fields) -> PatientGroup:
    if not crisis.is_open:
        raise ValidationError(_("This crisis is closed."))
    group = PatientGroup(crisis=crisis, **fields)
    group.full_clean()
    group.save()
    _event(
        crisis,
        user,
        _("Patient group entered: %(group)s, %(fractions)d fraction(s) left.")
        % {"group": group, "fractions": group.fractions_left},
    )
    return group


def haversine_km(lat1, lon1, lat2, lon2) -> float | None:
    if None in (lat1, lon1, lat2, lon2):
        return None
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp = p2 - p1
    dl = math.radians(float(lon2) - float(lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class Candidate:
    centre: Centre
    capacity: CapacityDeclaration
    transferable: bool
    capable: bool
    free_slots: int
    convention: Convention | None
    distance_km: float | None
    plan_rank: int | None

    @property
    def stale(self) -> bool:
        return self.capacity.is_stale

    def sort_key(self):
        return (
            not self.capable,
            not self.transferable,
            self.free_slots <= 0,
            self.convention is None,
            self.distance_km if self.distance_km is not None else math.inf,
            -self.free_slots,
            self.centre.name,
        )


def match_receivers(group: PatientGroup) -> list[Candidate]:
    """Receiving centres for a patient group, best first.

    Ranked by: technique declared (a filter), machine able to deliver it, plan transferable
    (same beam-matching group or model) before re-planning, free slots left (declared plus
    surge, minus patients already accepted there in this crisis), convention in force,
    distance.
    """
    crisis = group.crisis
    home = crisis.centre
    declarations = (
        CapacityDeclaration.objects.filter(technique=group.technique, centre__is_active=True)
        .exclude(centre=home)
        .select_related("centre")
    )
    taken = dict(
        Transfer.objects.filter(
            group__crisis=crisis, status__in=[TransferStatus.ACCEPTED, TransferStatus.TREATING]
        )
        .values_list("receiving_centre")
        .annotate(n=Sum("patient_count"))
        .order_by()
    )
    ranks = dict(
        TransferPlanEntry.objects.filter(centre=home, technique=group.technique).values_list(
            "receiving_centre_id", "rank"
        )
    )
    sender = linacs(home.pk)
    candidates = []
    for declaration in declarations:
        centre = declaration.centre
        receiver = linacs(centre.pk)
        linac_based = group.technique in LINAC_TECHNIQUES
        candidates.append(
            Candidate(
                centre=centre,
                capacity=declaration,
                transferable=linac_based and plan_transferable(sender, receiver),
                capable=machine_capable(group.technique, receiver),
                free_slots=declaration.free_slots_per_day
                + declaration.surge_slots_per_day
                - taken.get(centre.pk, 0),
                convention=active_convention_between(home.pk, centre.pk),
                distance_km=haversine_km(
                    home.latitude, home.longitude, centre.latitude, centre.longitude
                ),
                plan_rank=ranks.get(centre.pk),
            )
        )
    return sorted(candidates, key=Candidate.sort_key)


# Transfers are proposed while the crisis is acute.
PROPOSAL_STATUSES = frozenset({C.DECLARED, C.TRANSFERS, C.STABILISED})


def patients_left_to_place(group: PatientGroup) -> int:
    """Patients of the group not yet in a proposed or accepted transfer."""
    placed = (
        group.transfers.exclude(status=TransferStatus.REFUSED).aggregate(n=Sum("patient_count"))[
            "n"
        ]
        or 0
    )
    return max(group.patient_count - placed, 0)


@transaction.atomic
def transfer_propose(
    *, group: PatientGroup, receiving_centre: Centre, patient_count: int, user
) -> Transfer:
    crisis = Crisis.objects.select_for_update().get(pk=group.crisis_id)
    if crisis.status not in PROPOSAL_STATUSES:
        raise TransitionError(_("Transfers can be proposed only once the crisis is declared."))
    candidate = next(
        (c for c in match_receivers(group) if c.centre.pk == receiving_centre.pk), None
    )
    if candidate is None:
        raise ValidationError(_("This centre does not offer the technique of the group."))
    remaining = patients_left_to_place(group)
    if patient_count < 1 or patient_count > remaining:
        raise ValidationError(
            _("Between 1 and %(n)d patient(s) of this group remain to be placed.")
            % {"n": remaining}
        )
    transfer = Transfer.objects.create(
        group=group,
        receiving_centre=receiving_centre,
        patient_count=patient_count,
        plan_transferable=candidate.transferable,
        proposed_by=user,
    )
    if crisis.status == C.DECLARED:
        _crisis_move(crisis, C.TRANSFERS, user)
    _event(
        crisis,
        user,
        _("Transfer proposed to %(centre)s: %(n)d × %(group)s.")
        % {"centre": receiving_centre.label, "n": patient_count, "group": group.label},
    )
    notify_crisis_contacts(
        centres=[receiving_centre],
        subject=_crisis_prefix(crisis)
        + _("Transfer request from %(centre)s") % {"centre": crisis.centre.label},
        message=_(
            "%(centre)s asks your centre to take %(n)d patient(s) (%(group)s). "
            "Answer on the platform: %(url)s"
        )
        % {
            "centre": crisis.centre.name,
            "n": patient_count,
            "group": group.label,
            "url": f"{settings.SITE_URL}/continuite-cyber/crises/{crisis.pk}/",
        },
    )
    return transfer


# Transfer moves: (from, to) → the field recording when.
TRANSFER_MOVES = {
    (TransferStatus.PROPOSED, TransferStatus.ACCEPTED),
    (TransferStatus.PROPOSED, TransferStatus.REFUSED),
    (TransferStatus.ACCEPTED, TransferStatus.TREATING),
    (TransferStatus.TREATING, TransferStatus.RETURNED),
}


@transaction.atomic
def transfer_update(
    *, transfer: Transfer, to_status: str, user, comment: str = "", on: date | None = None
) -> Transfer:
    transfer = (
        Transfer.objects.select_for_update()
        .select_related("group__crisis", "receiving_centre")
        .get(pk=transfer.pk)
    )
    if (transfer.status, to_status) not in TRANSFER_MOVES:
        raise TransitionError(
            _("This transfer is “%(status)s”: it cannot become “%(to)s”.")
            % {"status": transfer.get_status_display(), "to": _label(TransferStatus, to_status)}
        )
    transfer.status = to_status
    if to_status in (TransferStatus.ACCEPTED, TransferStatus.REFUSED):
        transfer.responded_at = timezone.now()
        transfer.responded_by = user
        transfer.response_comment = comment[:300]
    elif to_status == TransferStatus.TREATING:
        transfer.first_fraction_on = on or timezone.localdate()
    else:
        transfer.returned_on = on or timezone.localdate()
    transfer.save()
    crisis = transfer.group.crisis
    summary = _("%(centre)s: %(group)s — %(status)s.") % {
        "centre": transfer.receiving_centre.label,
        "group": f"{transfer.patient_count} × {transfer.group.label}",
        "status": transfer.get_status_display(),
    } + (f" {comment}" if comment else "")
    _event(crisis, user, summary)
    if to_status in (TransferStatus.ACCEPTED, TransferStatus.REFUSED):
        # The attacked centre has lost its e-mail: its contacts get the answer by SMS too.
        notify_crisis_contacts(
            centres=[crisis.centre],
            subject=_crisis_prefix(crisis) + _("Answer to your transfer request"),
            message=summary,
        )
    return transfer


@transaction.atomic
def crisis_action_add(
    *, crisis: Crisis, title: str, owner: str, due_date: date, user
) -> CrisisAction:
    action = CrisisAction(crisis=crisis, title=title, owner=owner, due_date=due_date)
    action.full_clean()
    action.save()
    _event(
        crisis,
        user,
        _("Action added: %(title)s (%(owner)s, due %(due)s).")
        % {"title": title, "owner": owner, "due": due_date.strftime("%d/%m/%Y")},
    )
    return action


@transaction.atomic
def crisis_action_done(*, action: CrisisAction, user) -> CrisisAction:
    action = CrisisAction.objects.select_for_update().get(pk=action.pk)
    if action.done_at is None:
        action.done_at = timezone.now()
        action.save()
        _event(action.crisis, user, _("Action done: %(title)s.") % {"title": action.title})
    return action


@dataclass(frozen=True)
class CrisisMetrics:
    to_declaration: timedelta | None
    to_first_proposal: timedelta | None
    to_first_acceptance: timedelta | None


def crisis_metrics(crisis: Crisis) -> CrisisMetrics:
    transfers = Transfer.objects.filter(group__crisis=crisis)
    first_proposal = transfers.order_by("proposed_at").values_list("proposed_at", flat=True)
    first_accept = (
        transfers.filter(responded_at__isnull=False)
        .exclude(status=TransferStatus.REFUSED)
        .order_by("responded_at")
        .values_list("responded_at", flat=True)
    )

    def since_start(moment):
        return moment - crisis.started_at if moment else None

    return CrisisMetrics(
        to_declaration=since_start(crisis.declared_at),
        to_first_proposal=since_start(first_proposal.first()),
        to_first_acceptance=since_start(first_accept.first()),
    )


@transaction.atomic
def template_clauses_save(*, formset) -> None:
    """Save the clauses of a draft template version (the formset is already valid)."""
    version = _locked_version(formset.instance.pk)
    if version.is_published:
        raise ValidationError(_("A published version is frozen: create a new version."))
    formset.save()


def convention_edits(convention: Convention):
    return (
        ConventionClauseEdit.objects.filter(clause__convention=convention)
        .select_related("clause", "user")
        .order_by("-at", "-pk")
    )
