"""Reads, already scoped to what the user may see."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from cyber_continuity import services
from cyber_continuity.models import (
    DEGRADED_STATUSES,
    DOWN_STATUSES,
    OPEN_STATUSES,
    UNSIGNED_STATUSES,
    ActionStatus,
    Convention,
    ConventionParty,
    ConventionStatus,
    ConventionTemplate,
    ConventionTemplateVersion,
    Crisis,
    CrisisAction,
    CrisisKitEdition,
    DownSystem,
    Exercise,
    ExerciseScenario,
    Transfer,
)
from cyber_continuity.permissions import (
    can_manage_templates,
    can_view_kit_editions,
    can_view_registry,
    follows_crises,
)
from cyber_continuity.services import CENTRE_FIELDS, OTHER_PLACEHOLDERS
from onco_hdf.models import Centre, Role
from onco_hdf.permissions import centre_ids_for, is_project_manager, is_regional_reader


def centre_list_for_user(user) -> QuerySet[Centre]:
    """The registry: every active centre, for any member of the region."""
    if not can_view_registry(user):
        return Centre.objects.none()
    return Centre.objects.filter(is_active=True)


def centre_get_for_user(user, pk: int) -> Centre:
    return get_object_or_404(centre_list_for_user(user), pk=pk)


def template_list_for_user(user) -> QuerySet[ConventionTemplate]:
    if not can_view_registry(user):
        return ConventionTemplate.objects.none()
    return ConventionTemplate.objects.all()


def template_version_get_for_user(user, pk: int) -> ConventionTemplateVersion:
    """Published versions for everyone in the region; drafts only for the project manager."""
    versions = ConventionTemplateVersion.objects.select_related("template").filter(
        template__in=template_list_for_user(user)
    )
    if not can_manage_templates(user):
        versions = versions.filter(published_at__isnull=False)
    return get_object_or_404(versions, pk=pk)


def convention_list_for_user(user) -> QuerySet[Convention]:
    """Parties and regional readers see everything; others only signed conventions."""
    if not can_view_registry(user):
        return Convention.objects.none()
    conventions = Convention.objects.select_related("template_version__template")
    if is_regional_reader(user):
        return conventions
    mine = centre_ids_for(user)
    return conventions.filter(
        Q(parties__centre__in=mine) | ~Q(status__in=UNSIGNED_STATUSES)
    ).distinct()


def convention_get_for_user(user, pk: int) -> Convention:
    return get_object_or_404(convention_list_for_user(user), pk=pk)


def crisis_list_for_user(user) -> QuerySet[Crisis]:
    """Regional readers and the crisis cell see all; a centre sees its own crises and
    those it receives for."""
    if not can_view_registry(user):
        return Crisis.objects.none()
    crises = Crisis.objects.select_related("centre", "declared_by")
    if follows_crises(user):
        return crises
    mine = centre_ids_for(user)
    return crises.filter(
        Q(centre__in=mine)
        | Q(patient_groups__transfers__receiving_centre__in=mine)
        | Q(centre__transfer_plan__receiving_centre__in=mine)
    ).distinct()


def crisis_get_for_user(user, pk: int) -> Crisis:
    return get_object_or_404(crisis_list_for_user(user), pk=pk)


def transfer_get_for_user(user, pk: int) -> Transfer:
    transfer = get_object_or_404(
        Transfer.objects.select_related("group__crisis__centre", "receiving_centre"), pk=pk
    )
    if not crisis_list_for_user(user).filter(pk=transfer.group.crisis_id).exists():
        raise Http404
    return transfer


def exercise_list_for_user(user) -> QuerySet[Exercise]:
    """Regional readers and the crisis cell see every exercise; a centre those it takes part in."""
    if not can_view_registry(user):
        return Exercise.objects.none()
    exercises = Exercise.objects.select_related("scenario")
    if follows_crises(user):
        return exercises
    return exercises.filter(centres__in=centre_ids_for(user)).distinct()


def exercise_get_for_user(user, pk: int) -> Exercise:
    return get_object_or_404(exercise_list_for_user(user), pk=pk)


def scenario_list(*, active_only: bool = False) -> QuerySet[ExerciseScenario]:
    scenarios = ExerciseScenario.objects.prefetch_related("injects")
    return scenarios.filter(is_active=True) if active_only else scenarios


def retex_actions_for_user(user) -> QuerySet[CrisisAction]:
    """Actions not done yet, of the crises and exercises the user sees, soonest due first."""
    crises = crisis_list_for_user(user).values("pk")
    exercises = exercise_list_for_user(user).values("pk")
    return (
        CrisisAction.objects.exclude(status=ActionStatus.DONE)
        .filter(Q(crisis__in=crises) | Q(exercise__in=exercises))
        .select_related("crisis__centre", "exercise")
        .order_by("due_date", "pk")
    )


def kit_centre_get_for_user(user, pk: int) -> Centre:
    """The centre whose kept kit editions the user may list; any other centre is a 404."""
    centre = centre_get_for_user(user, pk)
    if not can_view_kit_editions(user, centre):
        raise Http404
    return centre


def kit_edition_get_for_user(user, pk: int) -> CrisisKitEdition:
    edition = get_object_or_404(CrisisKitEdition.objects.select_related("centre"), pk=pk)
    kit_centre_get_for_user(user, edition.centre_id)
    return edition


def declarable_centres(user) -> QuerySet[Centre]:
    """Centres the user may declare a crisis for: all for the PM, own ones for referents."""
    if is_project_manager(user):
        return Centre.objects.filter(is_active=True)
    return Centre.objects.filter(pk__in=centre_ids_for(user, [Role.REFERENT]))


def systems_down_labels(crisis: Crisis) -> list[str]:
    labels = dict(DownSystem.choices)
    return [str(labels.get(value, value)) for value in crisis.systems_down]


def placeholder_help() -> list[str]:
    names = [f"{{{{centre_a.{attr}}}}}" for attr in CENTRE_FIELDS]
    names += [f"{{{{{obj}.{attr}}}}}" for obj, attr in sorted(OTHER_PLACEHOLDERS)]
    return names


def centre_status(centre_id: int, open_crises: list[Crisis]) -> str:
    """normal / degraded / down, from the real (non-exercise) open crises."""
    statuses = {c.status for c in open_crises if c.centre_id == centre_id and not c.is_exercise}
    if statuses & DOWN_STATUSES:
        return "down"
    if statuses & DEGRADED_STATUSES:
        return "degraded"
    return "normal"


def registry_rows() -> list[dict]:
    """One row per active centre: status, capacity freshness, counts."""
    centres = list(
        Centre.objects.filter(is_active=True).prefetch_related(
            "capacities", "machines", "crisis_contacts"
        )
    )
    open_crises = list(Crisis.objects.filter(status__in=OPEN_STATUSES))
    rows = []
    for centre in centres:
        capacities = list(centre.capacities.all())
        attested = [c.attested_at for c in capacities if c.attested_at]
        rows.append(
            {
                "centre": centre,
                "status": centre_status(centre.pk, open_crises),
                "techniques": len(capacities),
                "stale": sum(1 for c in capacities if c.is_stale),
                "last_attested": max(attested) if attested else None,
                "linacs": sum(
                    1 for m in centre.machines.all() if m.kind == "linac" and m.in_service
                ),
                "contacts": len(centre.crisis_contacts.all()),
            }
        )
    return rows


def coverage_matrix(centres: list[Centre]) -> list[dict]:
    """Centre × centre: the best convention status between each pair."""
    rank = {
        ConventionStatus.IN_FORCE: 0,
        ConventionStatus.RENEWAL_DUE: 1,
        ConventionStatus.AWAITING_SIGNATURE: 2,
        ConventionStatus.NEGOTIATION: 3,
        ConventionStatus.DRAFT: 4,
    }
    parties: dict[int, list[int]] = {}
    statuses: dict[int, str] = {}
    for conv_id, centre_id, status in ConventionParty.objects.filter(
        convention__status__in=list(rank)
    ).values_list("convention_id", "centre_id", "convention__status"):
        parties.setdefault(conv_id, []).append(centre_id)
        statuses[conv_id] = status
    best: dict[tuple[int, int], str] = {}
    for conv_id, members in parties.items():
        for a in members:
            for b in members:
                if a != b:
                    current = best.get((a, b))
                    if current is None or rank[statuses[conv_id]] < rank[current]:
                        best[(a, b)] = statuses[conv_id]
    labels = dict(ConventionStatus.choices)
    return [
        {
            "centre": row,
            "cells": [
                {
                    "other": col,
                    "self": row.pk == col.pk,
                    "status": best.get((row.pk, col.pk), ""),
                    "label": labels.get(best.get((row.pk, col.pk), ""), ""),
                }
                for col in centres
            ],
        }
        for row in centres
    ]


def overview_context(user) -> dict:
    rows = registry_rows()
    centres = [row["centre"] for row in rows]
    open_crises = Crisis.objects.filter(status__in=OPEN_STATUSES).select_related("centre")
    return {
        "rows": rows,
        "matrix": coverage_matrix(centres),
        "open_crises": [c for c in open_crises if not c.is_exercise],
        "open_exercises": [c for c in open_crises if c.is_exercise],
        "without_referent": services.centres_without_referent(),
        "retex_actions": retex_actions_for_user(user),
    }
