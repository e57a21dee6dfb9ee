"""Machines compatibility and transfer plans."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from cyber_continuity.models import (
    ACTIVE_STATUSES,
    LINAC_TECHNIQUES,
    CapacityDeclaration,
    Convention,
    Crisis,
    CrisisStatus,
    Machine,
    MachineKind,
    Technique,
    TransferPlanEntry,
)
from cyber_continuity.services.kits import crisis_kit_refresh_after_commit
from onco_hdf.models import Centre


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


def machines_suited_for(technique: str, machines) -> list[Machine]:
    """The machines (in service or not) that can deliver the technique."""
    if technique in LINAC_TECHNIQUES:
        suited = [m for m in machines if m.kind == MachineKind.LINAC]
        if technique == Technique.SBRT:
            suited = [m for m in suited if m.sbrt_capable]
        elif technique == Technique.SRS:
            suited = [m for m in suited if m.srs_capable]
        return suited
    return [m for m in machines if m.kind == MachineKind.BRACHY]


def machines_stopped_for(technique: str, machines: list[Machine]) -> bool:
    """The centre has machines for the technique, and every one of them is out of service."""
    suited = machines_suited_for(technique, machines)
    return bool(suited) and not any(m.in_service for m in suited)


@dataclass(frozen=True)
class MachineSlots:
    machine: Machine
    # Declared for the machine; 0 while it is stopped ("à l'arrêt").
    declared: int
    # Declared minus this technique's patients accepted on this machine.
    free_slots: int

    @property
    def stopped(self) -> bool:
        return not self.machine.in_service


@dataclass(frozen=True)
class CapacitySlots:
    # Free slots per day of the technique before surge: the declaration's, or with a machine
    # split the sum over the machines in service.
    free: int
    machines: tuple[MachineSlots, ...] = ()


def capacity_slots(
    declaration: CapacityDeclaration, *, taken_by_machine: dict[int, int] | None = None
) -> CapacitySlots:
    """The slots a declaration offers now, per machine where it is split."""
    taken_by_machine = taken_by_machine or {}
    lines = []
    for line in declaration.machine_slots.all():
        declared = line.free_slots_per_day if line.machine.in_service else 0
        lines.append(
            MachineSlots(
                machine=line.machine,
                declared=declared,
                free_slots=declared - taken_by_machine.get(line.machine_id, 0),
            )
        )
    if not lines:
        return CapacitySlots(free=declaration.free_slots_per_day)
    return CapacitySlots(free=sum(line.declared for line in lines), machines=tuple(lines))


# A centre in one of these crisis states cannot take anyone else's patients.
UNAVAILABLE_CRISIS_STATUSES = frozenset(
    {
        CrisisStatus.ALERT,
        CrisisStatus.DECLARED,
        CrisisStatus.TRANSFERS,
        CrisisStatus.STABILISED,
        CrisisStatus.RETURN,
    }
)


def receivers_unavailable(
    centre_ids, technique: str, *, include_exercises: bool = False, exclude_crisis=None
) -> dict[int, str]:
    """Centres that cannot receive ``technique`` now, with the reason (in French).

    A centre with an open crisis (a real one; in an exercise, also an exercise's) or whose
    machines for the technique are all stopped is never offered as a receiver.
    """
    centre_ids = list(centre_ids)
    crises = Crisis.objects.filter(
        centre_id__in=centre_ids, status__in=UNAVAILABLE_CRISIS_STATUSES
    ).exclude(pk=exclude_crisis)
    if not include_exercises:
        crises = crises.filter(is_exercise=False)
    reasons: dict[int, str] = {}
    for crisis in crises.order_by("started_at"):
        reasons.setdefault(
            crisis.centre_id,
            (
                _("exercise under way at this centre (%(status)s)")
                if crisis.is_exercise
                else _("crisis under way at this centre (%(status)s)")
            )
            % {"status": crisis.get_status_display()},
        )
    machines: dict[int, list[Machine]] = {}
    for machine in Machine.objects.filter(centre_id__in=centre_ids):
        machines.setdefault(machine.centre_id, []).append(machine)
    for centre_id, owned in machines.items():
        if centre_id not in reasons and machines_stopped_for(technique, owned):
            reasons[centre_id] = _("its machines for this technique are stopped")
    return reasons


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
    entry = TransferPlanEntry.objects.create(
        centre=centre,
        technique=technique,
        receiving_centre=receiving_centre,
        rank=rank,
        notes=notes,
    )
    crisis_kit_refresh_after_commit(centre.pk)
    return entry


@transaction.atomic
def plan_entry_delete(*, entry: TransferPlanEntry) -> None:
    centre_id = entry.centre_id
    entry.delete()
    crisis_kit_refresh_after_commit(centre_id)


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
    crisis_kit_refresh_after_commit(entry.centre_id)


@dataclass(frozen=True)
class PlanRow:
    entry: TransferPlanEntry
    convention: Convention | None
    capacity: CapacityDeclaration | None
    transferable: bool
    capable: bool
    unavailable: str = ""

    @property
    def linac_based(self) -> bool:
        return self.entry.technique in LINAC_TECHNIQUES

    @property
    def problems(self) -> list[str]:
        found = []
        if self.unavailable:
            found.append(self.unavailable)
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
        receiver_ids = [e.receiving_centre_id for e in entries if e.technique == technique]
        unavailable = receivers_unavailable(receiver_ids, technique)
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
                    unavailable=unavailable.get(entry.receiving_centre_id, ""),
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
