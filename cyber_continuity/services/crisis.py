"""Crises: workflow, patient groups, matching of receivers, transfers, actions, metrics."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cyber_continuity.models import (
    LINAC_TECHNIQUES,
    OPEN_STATUSES,
    ActionStatus,
    CapacityDeclaration,
    ClauseKind,
    Convention,
    Crisis,
    CrisisAction,
    CrisisEvent,
    CrisisStatus,
    CrisisTransition,
    Machine,
    PatientGroup,
    Technique,
    Transfer,
    TransferPlanEntry,
    TransferStatus,
)
from cyber_continuity.services.common import (
    Move,
    TransitionError,
    _label,
    moves_into,
    notify_crisis_contacts,
)
from cyber_continuity.services.plans import (
    MachineSlots,
    active_convention_between,
    capacity_slots,
    linacs,
    machine_capable,
    plan_transferable,
    receivers_unavailable,
)
from habilitations.selectors import habilitated_physicians
from onco_hdf import workflow
from onco_hdf.models import Centre

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


# The end of an exercise closes its drill crises from wherever they are.
EXERCISE_END_FROM = OPEN_STATUSES


def crisis_moves_from(status: str) -> list[tuple[str, Move]]:
    return [(to, move) for (frm, to), move in CRISIS_TRANSITIONS.items() if frm == status]


def _crisis_move(
    crisis_id: int,
    to_status: str,
    user,
    comment: str = "",
    *,
    allowed_from: frozenset[str] | None = None,
) -> Crisis:
    """Apply one move of the table (shared workflow: locked, checked, recorded) and put it
    on the timeline; ``allowed_from`` widens the table for an exercise's end."""

    def check(crisis: Crisis) -> None:
        if to_status == C.DECLARED:
            crisis.declared_at = timezone.now()
            crisis.declared_by = user
        if to_status == C.CLOSED:
            crisis.closed_at = timezone.now()

    def forbidden(crisis: Crisis) -> str:
        return _("A crisis cannot go from “%(from)s” to “%(to)s”.") % {
            "from": crisis.get_status_display(),
            "to": _label(CrisisStatus, to_status),
        }

    crisis, record = workflow.transition(
        queryset=Crisis.objects.select_related("centre"),
        pk=crisis_id,
        to_status=to_status,
        allowed_from=allowed_from or moves_into(CRISIS_TRANSITIONS, to_status, manual=True),
        actor=user,
        record_model=CrisisTransition,
        subject_field="crisis",
        comment=comment,
        check=check,
        forbidden=forbidden,
        update_fields=["declared_at", "declared_by", "closed_at"],
        error=TransitionError,
    )
    _event(
        crisis,
        user,
        _("Status: %(status)s.") % {"status": _label(CrisisStatus, to_status)}
        + (f" {comment}" if comment else ""),
        at=record.at,
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
    exercise=None,
) -> Crisis:
    """Raise the alert and, unless told otherwise, declare the crisis at once.

    A drill belongs to an exercise: the one it is played in, else one made for it (an
    exercise started at once from the crisis page), so the annual compliance counts it.
    """
    started_at = started_at or timezone.now()
    if is_exercise and exercise is None:
        from cyber_continuity.services.exercises import exercise_for_drill

        exercise = exercise_for_drill(centre=centre, started_at=started_at, user=user)
    crisis = Crisis.objects.create(
        centre=centre,
        systems_down=list(systems_down),
        description=description,
        is_exercise=is_exercise,
        started_at=started_at,
        exercise=exercise if is_exercise else None,
    )
    workflow.record_creation(
        record_model=CrisisTransition,
        subject_field="crisis",
        obj=crisis,
        to_status=C.ALERT,
        actor=user,
        at=crisis.started_at,
    )
    _event(crisis, user, _crisis_prefix(crisis) + _("Alert raised."), at=crisis.started_at)
    if declare_now:
        crisis = _crisis_move(crisis.pk, C.DECLARED, user)
    return crisis


# Moves that say "the patients are safe": refused while some are not, unless a reason is given.
GUARDED_MOVES = frozenset({C.STABILISED, C.LIFTED, C.RETEX})


def crisis_unplaced_warnings(crisis: Crisis) -> list[str]:
    """What is still open for the patients: category-1 patients unplaced, proposals unanswered."""
    warnings = []
    for group in crisis.patient_groups.filter(category=1):
        left = patients_left_to_place(group)
        if left:
            warnings.append(
                _("%(group)s: %(n)d category-1 patient(s) not placed")
                % {"group": group.label, "n": left}
            )
    proposed = Transfer.objects.filter(group__crisis=crisis, status=TransferStatus.PROPOSED)
    for transfer in proposed.select_related("group", "receiving_centre"):
        warnings.append(
            _("%(centre)s: %(n)d × %(group)s still “Proposed”")
            % {
                "centre": transfer.receiving_centre.label,
                "n": transfer.patient_count,
                "group": transfer.group.label,
            }
        )
    return warnings


@transaction.atomic
def crisis_transition(
    *, crisis: Crisis, to_status: str, user, comment: str = "", override_reason: str = ""
) -> Crisis:
    crisis = Crisis.objects.select_for_update().get(pk=crisis.pk)
    if to_status in GUARDED_MOVES and (crisis.status, to_status) in CRISIS_TRANSITIONS:
        warnings = crisis_unplaced_warnings(crisis)
        override_reason = override_reason.strip()
        if warnings and not override_reason:
            raise TransitionError(
                _(
                    "“%(to)s” refused: %(warnings)s. Place these patients first, or give the "
                    "reason to go on anyway."
                )
                % {"to": _label(CrisisStatus, to_status), "warnings": "; ".join(warnings)}
            )
        if warnings:
            override = _("Forced despite: %(warnings)s. Reason: %(reason)s") % {
                "warnings": "; ".join(warnings),
                "reason": override_reason,
            }
            comment = f"{comment} {override}".strip() if comment else override
    return _crisis_move(crisis.pk, to_status, user, comment)


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
    # Why the centre cannot receive now (in crisis itself, machines stopped); "" if it can.
    unavailable: str = ""
    # The technique's slots per machine of the receiver, when it declares them so.
    machine_slots: tuple[MachineSlots, ...] = ()
    # Physicians of the receiver habilitated (autonomous, active) for the technique; None when
    # the habilitation catalogue has no activity for it.
    habilitated: tuple[str, ...] | None = None
    # The convention's staff clause: can a physician of the sending centre follow there?
    staff_clause: str = ""

    @property
    def stale(self) -> bool:
        return self.capacity.is_stale

    def sort_key(self):
        return (
            bool(self.unavailable),
            not self.capable,
            not self.transferable,
            self.free_slots <= 0,
            self.convention is None,
            self.distance_km if self.distance_km is not None else math.inf,
            -self.free_slots,
            self.centre.name,
        )


def match_receivers(group: PatientGroup) -> list[Candidate]:
    """Receiving centres for a patient group, best first; unavailable centres last.

    Ranked by: technique declared (a filter), able to receive at all (no open crisis there,
    machines for the technique not stopped), machine able to deliver it, plan transferable
    (same beam-matching group or model) before re-planning, free slots left for that
    technique (declared plus surge, minus this technique's patients already accepted there
    in this crisis; with a machine split, the machines in service only), convention in
    force, distance.
    """
    crisis = group.crisis
    home = crisis.centre
    declarations = (
        CapacityDeclaration.objects.filter(technique=group.technique, centre__is_active=True)
        .exclude(centre=home)
        .select_related("centre")
        .prefetch_related("machine_slots__machine")
    )
    taken = accepted_patients_by_receiver(crisis, group.technique)
    taken_by_machine = accepted_patients_by_machine(crisis, group.technique)
    ranks = dict(
        TransferPlanEntry.objects.filter(centre=home, technique=group.technique).values_list(
            "receiving_centre_id", "rank"
        )
    )
    unavailable = receivers_unavailable(
        [d.centre_id for d in declarations],
        group.technique,
        include_exercises=crisis.is_exercise,
        exclude_crisis=crisis.pk,
    )
    codes = HABILITATION_ACTIVITIES.get(group.technique)
    habilitated = (
        habilitated_physicians(
            centre_ids=[d.centre_id for d in declarations],
            activity_codes=codes,
            on_date=timezone.localdate(),
        )
        if codes
        else {}
    )
    sender = linacs(home.pk)
    candidates = []
    for declaration in declarations:
        centre = declaration.centre
        receiver = linacs(centre.pk)
        linac_based = group.technique in LINAC_TECHNIQUES
        slots = capacity_slots(declaration, taken_by_machine=taken_by_machine)
        candidates.append(
            Candidate(
                centre=centre,
                capacity=declaration,
                transferable=linac_based and plan_transferable(sender, receiver),
                capable=machine_capable(group.technique, receiver),
                free_slots=slots.free + declaration.surge_slots_per_day - taken.get(centre.pk, 0),
                machine_slots=slots.machines,
                convention=active_convention_between(home.pk, centre.pk),
                distance_km=haversine_km(
                    home.latitude, home.longitude, centre.latitude, centre.longitude
                ),
                plan_rank=ranks.get(centre.pk),
                unavailable=unavailable.get(centre.pk, ""),
                habilitated=tuple(habilitated.get(centre.pk, ())) if codes else None,
                staff_clause=_staff_clause(home.pk, centre.pk),
            )
        )
    return sorted(candidates, key=Candidate.sort_key)


# Activities of the regional habilitation catalogue that authorise each technique.
HABILITATION_ACTIVITIES = {
    Technique.CONFORMAL_3D: ["TECH-3D"],
    Technique.IMRT_VMAT: ["TECH-IMRT"],
    Technique.SBRT: ["TECH-SBRT"],
    Technique.SRS: ["TECH-SRS"],
    Technique.TBI: ["ICT-TBI"],
    Technique.BRACHY_GYN: ["CURIE-GYN-HDR", "CURIE-GYN-VAG"],
    Technique.BRACHY_PROSTATE: ["CURIE-PROST-HDR", "CURIE-PROST-LDR"],
    Technique.PAEDIATRIC: ["PED-RT"],
}


def _staff_clause(home_id: int, receiver_id: int) -> str:
    convention = active_convention_between(home_id, receiver_id)
    if convention is None:
        return ""
    clause = convention.clauses.filter(kind=ClauseKind.STAFF).first()
    return clause.body if clause else ""


def _accepted_patients_by(crisis: Crisis, technique: str, field: str) -> dict[int, int]:
    return dict(
        Transfer.objects.filter(
            group__crisis=crisis,
            group__technique=technique,
            status__in=[TransferStatus.ACCEPTED, TransferStatus.TREATING],
            **{f"{field}__isnull": False},
        )
        .values_list(field)
        .annotate(n=Sum("patient_count"))
        .order_by()
    )


def accepted_patients_by_receiver(crisis: Crisis, technique: str) -> dict[int, int]:
    """Patients of ``technique`` accepted (or treated) per receiving centre in this crisis.

    Slots are declared per technique: a VMAT patient does not use an SBRT slot.
    """
    return _accepted_patients_by(crisis, technique, "receiving_centre")


def accepted_patients_by_machine(crisis: Crisis, technique: str) -> dict[int, int]:
    """The same per receiving machine, for the transfers that name one."""
    return _accepted_patients_by(crisis, technique, "receiving_machine")


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
    *,
    group: PatientGroup,
    receiving_centre: Centre,
    patient_count: int,
    user,
    receiving_machine: Machine | None = None,
) -> Transfer:
    """Propose patients of the group to a centre, on one of its machines or its total."""
    crisis = Crisis.objects.select_for_update().get(pk=group.crisis_id)
    if crisis.status not in PROPOSAL_STATUSES:
        raise TransitionError(_("Transfers can be proposed only once the crisis is declared."))
    candidate = next(
        (c for c in match_receivers(group) if c.centre.pk == receiving_centre.pk), None
    )
    if candidate is None:
        raise ValidationError(_("This centre does not offer the technique of the group."))
    if candidate.unavailable:
        raise ValidationError(
            _("%(centre)s cannot receive patients: %(reason)s.")
            % {"centre": receiving_centre.label, "reason": candidate.unavailable}
        )
    if receiving_machine is not None:
        line = next(
            (m for m in candidate.machine_slots if m.machine.pk == receiving_machine.pk), None
        )
        if line is None:
            raise ValidationError(
                _("%(machine)s has no slots declared for this technique.")
                % {"machine": receiving_machine.name}
            )
        if line.stopped:
            raise ValidationError(
                _("%(machine)s is stopped: choose another machine.")
                % {"machine": receiving_machine.name}
            )
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
        receiving_machine=receiving_machine,
        plan_transferable=candidate.transferable,
        proposed_by=user,
    )
    if crisis.status == C.DECLARED:
        crisis = _crisis_move(crisis.pk, C.TRANSFERS, user)
    where = receiving_centre.label
    if receiving_machine is not None:
        where = f"{where} ({receiving_machine.name})"
    _event(
        crisis,
        user,
        _("Transfer proposed to %(centre)s: %(n)d × %(group)s.")
        % {"centre": where, "n": patient_count, "group": group.label},
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
    *,
    transfer: Transfer,
    to_status: str,
    user,
    comment: str = "",
    on: date | None = None,
    answered_by_name: str = "",
    answered_at=None,
) -> Transfer:
    """Move a transfer; ``answered_by_name`` records a phone answer on the receiver's behalf."""
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
    answered_by_name = answered_by_name.strip()
    on_behalf = bool(answered_by_name)
    if on_behalf:
        if to_status not in (TransferStatus.ACCEPTED, TransferStatus.REFUSED):
            raise ValidationError(_("Only an acceptance or a refusal can be recorded by phone."))
        answered_at = answered_at or timezone.now()
        if answered_at > timezone.now() + timedelta(minutes=5):
            raise ValidationError(_("The time of the call cannot be in the future."))
    transfer.status = to_status
    if to_status in (TransferStatus.ACCEPTED, TransferStatus.REFUSED):
        transfer.responded_at = answered_at if on_behalf else timezone.now()
        transfer.responded_by = user
        transfer.response_comment = comment[:300]
        transfer.answered_by_name = answered_by_name[:120]
        transfer.recorded_on_behalf = on_behalf
    elif to_status == TransferStatus.TREATING:
        transfer.first_fraction_on = on or timezone.localdate()
        transfer.first_fraction_recorded_at = timezone.now()
    else:
        transfer.returned_on = on or timezone.localdate()
    transfer.save()
    crisis = transfer.group.crisis
    summary = _("%(centre)s: %(group)s — %(status)s.") % {
        "centre": transfer.receiving_centre.label,
        "group": f"{transfer.patient_count} × {transfer.group.label}",
        "status": transfer.get_status_display(),
    }
    if on_behalf:
        summary += " " + _(
            "Answer given by phone by %(who)s (%(centre)s) on %(at)s, recorded by %(recorder)s "
            "on behalf of the receiving centre."
        ) % {
            "who": transfer.answered_by_name,
            "centre": transfer.receiving_centre.label,
            "at": timezone.localtime(answered_at).strftime("%d/%m/%Y %H:%M"),
            "recorder": (user.get_full_name() or user.username) if user else "—",
        }
    summary += f" {comment}" if comment else ""
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
    *, title: str, owner: str, due_date: date, user, crisis: Crisis | None = None, exercise=None
) -> CrisisAction:
    """A RETEX action of a crisis, or of an exercise (all its centres)."""
    action = CrisisAction(
        crisis=crisis, exercise=exercise, title=title, owner=owner, due_date=due_date
    )
    action.full_clean()
    action.save()
    if crisis is not None:
        _event(
            crisis,
            user,
            _("Action added: %(title)s (%(owner)s, due %(due)s).")
            % {"title": title, "owner": owner, "due": due_date.strftime("%d/%m/%Y")},
        )
    return action


@transaction.atomic
def crisis_action_status(*, action: CrisisAction, status: str, user) -> CrisisAction:
    """Move a RETEX action (to do, in progress, done); done records when."""
    if status not in ActionStatus.values:
        raise ValidationError(_("Unknown status."))
    action = CrisisAction.objects.select_for_update().get(pk=action.pk)
    if action.status == status:
        return action
    action.status = status
    action.done_at = timezone.now() if status == ActionStatus.DONE else None
    action.save()
    if action.crisis_id:
        _event(
            action.crisis,
            user,
            _("Action “%(title)s”: %(status)s.")
            % {"title": action.title, "status": action.get_status_display()},
        )
    return action


def crisis_action_done(*, action: CrisisAction, user) -> CrisisAction:
    return crisis_action_status(action=action, status=ActionStatus.DONE, user=user)


@dataclass(frozen=True)
class CrisisMetrics:
    to_declaration: timedelta | None
    to_first_proposal: timedelta | None
    to_first_acceptance: timedelta | None
    to_first_fraction: timedelta | None = None


def crisis_metrics(crisis: Crisis) -> CrisisMetrics:
    """Clocks from the alert: declaration, first proposal, first acceptance, first fraction.

    The first fraction at a receiver counts from when the receiver recorded it.
    """
    transfers = Transfer.objects.filter(group__crisis=crisis)
    first_proposal = transfers.order_by("proposed_at").values_list("proposed_at", flat=True)
    first_accept = (
        transfers.filter(responded_at__isnull=False)
        .exclude(status=TransferStatus.REFUSED)
        .order_by("responded_at")
        .values_list("responded_at", flat=True)
    )
    first_fraction = (
        transfers.filter(first_fraction_recorded_at__isnull=False)
        .order_by("first_fraction_recorded_at")
        .values_list("first_fraction_recorded_at", flat=True)
    )

    def since_start(moment):
        return moment - crisis.started_at if moment else None

    return CrisisMetrics(
        to_declaration=since_start(crisis.declared_at),
        to_first_proposal=since_start(first_proposal.first()),
        to_first_acceptance=since_start(first_accept.first()),
        to_first_fraction=since_start(first_fraction.first()),
    )
