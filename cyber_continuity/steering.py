"""Steering hooks of the continuity project: capacity attestations, conventions, exercises."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from cyber_continuity.models import (
    ACTIVE_STATUSES,
    ACUTE_STATUSES,
    ConventionStatus,
    ExerciseStatus,
    TransferStatus,
)
from cyber_continuity.selectors import (
    centre_list_for_user,
    convention_list_for_user,
    crisis_list_for_user,
    exercise_list_for_user,
    registry_rows,
    retex_actions_for_user,
)
from onco_hdf import permissions as core
from onco_hdf.models import Role
from onco_hdf.steering_hooks import LATE, OK, WARN, Cell, Column, TodoItem


def participation(user, centres) -> list[Column]:
    if not core.is_regional_reader(user):
        return []
    now = timezone.now()
    rows = {row["centre"].pk: row for row in registry_rows()}
    in_force = {}
    for convention in convention_list_for_user(user).filter(status__in=ACTIVE_STATUSES):
        for centre_id in convention.parties.values_list("centre_id", flat=True):
            in_force[centre_id] = in_force.get(centre_id, 0) + 1
    exercises_by_centre = exercise_compliance(user, now=now)
    retex_by_centre = retex_counts(user)
    attestation, conventions, exercises, retex = {}, {}, {}, {}
    for centre in centres:
        url = reverse("cyber_continuity:centre-detail", args=[centre.pk])
        row = rows.get(centre.pk)
        last = row["last_attested"] if row else None
        if last is None:
            attestation[centre.pk] = Cell(_("never"), url, LATE)
        else:
            days = (now - last).days
            level = LATE if row["stale"] else OK
            attestation[centre.pk] = Cell(
                ngettext("%(n)s day", "%(n)s days", days) % {"n": days}, url, level
            )
        count = in_force.get(centre.pk, 0)
        conventions[centre.pk] = Cell(
            str(count), reverse("cyber_continuity:convention-list"), OK if count else WARN
        )
        state, when = exercises_by_centre.get(centre.pk, ("overdue", None))
        exercises[centre.pk] = exercise_cell(state, when)
        retex[centre.pk] = _retex_cell(*retex_by_centre.get(centre.pk, (0, 0)))
    return [
        Column(
            "capacity_attestation", "cyber_continuity", _("Capacity attestation age"), attestation
        ),
        Column("conventions_in_force", "cyber_continuity", _("Conventions in force"), conventions),
        Column("exercise_this_year", "cyber_continuity", _("Annual exercise"), exercises),
        Column("retex_actions", "cyber_continuity", _("RETEX actions"), retex),
    ]


def retex_counts(user) -> dict[int, tuple[int, int]]:
    """Per centre: RETEX actions not done (of its crises and exercises), and how many late."""
    counts: dict[int, list[int]] = {}
    for action in retex_actions_for_user(user).prefetch_related("exercise__centres"):
        if action.crisis_id:
            centre_ids = {action.crisis.centre_id}
        else:
            centre_ids = {c.pk for c in action.exercise.centres.all()}
        for centre_id in centre_ids:
            row = counts.setdefault(centre_id, [0, 0])
            row[0] += 1
            row[1] += action.is_overdue
    return {k: (v[0], v[1]) for k, v in counts.items()}


def _retex_cell(open_count: int, late: int) -> Cell:
    url = reverse("cyber_continuity:overview")
    if not open_count:
        return Cell(_("none open"), url, OK)
    text = ngettext("%(n)s open", "%(n)s open", open_count) % {"n": open_count}
    if late:
        text += " · " + ngettext("%(n)s overdue", "%(n)s overdue", late) % {"n": late}
    return Cell(text, url, LATE if late else WARN)


def exercise_compliance(user, *, now=None) -> dict[int, tuple[str, object]]:
    """Per centre, the mandatory annual exercise: done / planned / to plan / overdue.

    Done: an exercise played (started) this calendar year; planned: one scheduled for today
    or later; to plan: the last one played is less than a year old but none this year yet;
    overdue: none played for a year. Cancelled exercises do not count; one planned whose
    day has passed without being played does not either.
    """
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    found: dict[int, tuple[str, object]] = {}
    exercises = (
        exercise_list_for_user(user)
        .exclude(status=ExerciseStatus.CANCELLED)
        .prefetch_related("centres")
    )
    for exercise in sorted(exercises, key=lambda e: e.when):
        played = exercise.status in (ExerciseStatus.RUNNING, ExerciseStatus.DONE)
        when = exercise.when
        day = timezone.localtime(when).date()
        for centre in exercise.centres.all():
            previous = found.get(centre.pk, ("overdue", None))
            if played and day.year == today.year and day <= today:
                found[centre.pk] = ("done", when)
            elif not played and exercise.status == ExerciseStatus.PLANNED and day >= today:
                if previous[0] != "done":
                    found[centre.pk] = ("planned", when)
            elif played and when > now - timedelta(days=365) and previous[0] == "overdue":
                found[centre.pk] = ("to_plan", when)
    return found


def exercise_cell(state: str, when) -> Cell:
    url = reverse("cyber_continuity:exercise-list")
    day = timezone.localtime(when).strftime("%d/%m/%Y") if when else ""
    if state == "done":
        return Cell(_("done on %(d)s") % {"d": day}, url, OK)
    if state == "planned":
        return Cell(_("planned on %(d)s") % {"d": day}, url, WARN)
    if state == "to_plan":
        return Cell(_("to plan (last on %(d)s)") % {"d": day}, url, WARN)
    return Cell(_("overdue"), url, LATE)


def crisis_cell_todo(user) -> list[TodoItem]:
    """The crisis cell's list: each crisis under way, with the transfers still awaiting the
    receiver's answer (the cell phones the receivers and records what they say)."""
    items = []
    crises = (
        crisis_list_for_user(user)
        .filter(status__in=ACUTE_STATUSES)
        .annotate(
            proposed=Count(
                "patient_groups__transfers",
                filter=Q(patient_groups__transfers__status=TransferStatus.PROPOSED),
            )
        )
        .order_by("started_at")
    )
    for crisis in crises:
        label = str(crisis)
        if crisis.proposed:
            text = ngettext(
                "%(crisis)s: %(n)s transfer awaits the receiving centre's answer",
                "%(crisis)s: %(n)s transfers await the receiving centres' answers",
                crisis.proposed,
            ) % {"crisis": label, "n": crisis.proposed}
            action, level = _("record a phone answer"), LATE
        else:
            text, action, level = _("%(crisis)s under way") % {"crisis": label}, _("follow"), WARN
        url = reverse("cyber_continuity:crisis-detail", args=[crisis.pk])
        items.append(TodoItem(text, url, action, level))
    return items


def todo(user) -> list:
    if core.is_crisis_cell(user):
        return crisis_cell_todo(user)
    centre_ids = core.centre_ids_for(user, [Role.REFERENT])
    if not centre_ids:
        return []
    items = []
    for centre in (
        centre_list_for_user(user).filter(pk__in=centre_ids).prefetch_related("capacities")
    ):
        stale = [c for c in centre.capacities.all() if c.is_stale]
        if stale:
            items.append(
                TodoItem(
                    ngettext(
                        "%(centre)s: %(n)s capacity attestation due",
                        "%(centre)s: %(n)s capacity attestations due",
                        len(stale),
                    )
                    % {"centre": centre.label, "n": len(stale)},
                    reverse("cyber_continuity:centre-detail", args=[centre.pk]),
                    _("attest"),
                    LATE,
                )
            )
    for action in retex_actions_for_user(user):
        if not action.is_overdue:
            continue
        if action.crisis_id:
            ours = action.crisis.centre_id in centre_ids
            url = reverse("cyber_continuity:crisis-detail", args=[action.crisis_id])
        else:
            ours = action.exercise.centres.filter(pk__in=centre_ids).exists()
            url = reverse("cyber_continuity:exercise-detail", args=[action.exercise_id])
        if ours:
            items.append(
                TodoItem(
                    _("RETEX action overdue since %(d)s: %(title)s (%(owner)s)")
                    % {
                        "d": action.due_date.strftime("%d/%m/%Y"),
                        "title": action.title,
                        "owner": action.owner,
                    },
                    url,
                    _("follow up"),
                    LATE,
                )
            )
    awaiting = convention_list_for_user(user).filter(
        status=ConventionStatus.AWAITING_SIGNATURE,
        parties__centre__in=centre_ids,
        parties__signed_at__isnull=True,
    )
    for convention in awaiting.distinct():
        items.append(
            TodoItem(
                _("Convention “%(title)s” awaits your centre's signature")
                % {"title": convention.title},
                reverse("cyber_continuity:convention-detail", args=[convention.pk]),
                _("sign"),
                WARN,
            )
        )
    return items


def artefact_lines(artefact) -> list[str] | None:
    """The convention template version as text lines, for the COPIL pack's version diff."""
    from cyber_continuity.models import ConventionTemplateVersion

    if not isinstance(artefact, ConventionTemplateVersion):
        return None
    lines = []
    for clause in artefact.clauses.order_by("order"):
        lines.append(f"{clause.order}. {clause.title}")
        lines.extend(f"  {line}" for line in clause.body.splitlines() if line.strip())
    return lines
