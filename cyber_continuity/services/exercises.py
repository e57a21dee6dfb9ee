"""Exercises: the scenario library, scheduling, injects played on a timeline, metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cyber_continuity.models import (
    OPEN_STATUSES,
    Crisis,
    Exercise,
    ExerciseInject,
    ExerciseScenario,
    ExerciseStatus,
)
from cyber_continuity.services.common import TransitionError
from cyber_continuity.services.crisis import (
    EXERCISE_END_FROM,
    C,
    CrisisMetrics,
    _crisis_move,
    _event,
    crisis_declare,
    crisis_metrics,
)
from onco_hdf.models import Role

# An exercise is scheduled for a moment to come; a few minutes of slack for the form.
SCHEDULE_SLACK = timedelta(minutes=5)


@transaction.atomic
def scenario_save(*, form, formset) -> ExerciseScenario:
    """Save a scenario of the library and its injects (forms already valid)."""
    scenario = form.save()
    formset.instance = scenario
    formset.save()
    return scenario


@transaction.atomic
def exercise_schedule(*, scenario: ExerciseScenario, centres, planned_for, user, title: str = ""):
    """Plan an exercise for one centre or several; the scenario's injects are copied."""
    centres = list(centres)
    if not centres:
        raise ValidationError(_("Choose at least one centre."))
    if planned_for < timezone.now() - SCHEDULE_SLACK:
        raise ValidationError(_("An exercise is scheduled for a date to come."))
    exercise = Exercise.objects.create(
        title=(title or scenario.title).strip()[:200],
        scenario=scenario,
        planned_for=planned_for,
        created_by=user,
    )
    exercise.centres.set(centres)
    ExerciseInject.objects.bulk_create(
        ExerciseInject(exercise=exercise, minutes_after_start=i.minutes_after_start, text=i.text)
        for i in scenario.injects.all()
    )
    _notify_scheduled(exercise, centres)
    return exercise


def _notify_scheduled(exercise: Exercise, centres) -> None:
    """Tell the referents of the centres taking part (after commit)."""
    recipients = sorted(
        set(
            get_user_model()
            .objects.filter(
                memberships__centre__in=centres,
                memberships__role=Role.REFERENT,
                is_active=True,
            )
            .exclude(email="")
            .values_list("email", flat=True)
        )
    )
    if not recipients:
        return
    day = timezone.localtime(exercise.planned_for).strftime("%d/%m/%Y %H:%M")
    subject = _("Cyber-crisis exercise scheduled on %(day)s") % {"day": day}
    message = _(
        "An exercise “%(title)s” is scheduled on %(day)s for: %(centres)s. Scenario: "
        "%(scenario)s. At the start the alert is raised on the platform and your centre "
        "declares the crisis as it would for real. %(url)s"
    ) % {
        "title": exercise.title,
        "day": day,
        "centres": ", ".join(c.name for c in centres),
        "scenario": exercise.scenario.title if exercise.scenario else "—",
        "url": f"{settings.SITE_URL}/continuite-cyber/exercices/{exercise.pk}/",
    }
    transaction.on_commit(lambda: send_mail(subject, message, None, recipients))


def exercise_for_drill(*, centre, started_at, user) -> Exercise:
    """The exercise of a drill started at once from the crisis page (no scenario)."""
    played = started_at <= timezone.now()
    exercise = Exercise.objects.create(
        title=_("Exercise — %(centre)s") % {"centre": centre.label},
        planned_for=started_at,
        started_at=started_at if played else None,
        status=ExerciseStatus.RUNNING if played else ExerciseStatus.PLANNED,
        created_by=user,
    )
    exercise.centres.add(centre)
    return exercise


def _locked(exercise: Exercise) -> Exercise:
    return Exercise.objects.select_for_update().get(pk=exercise.pk)


def _require(exercise: Exercise, status: str, message: str) -> None:
    if exercise.status != status:
        raise TransitionError(message)


@transaction.atomic
def exercise_start(*, exercise: Exercise, user) -> Exercise:
    """Raise the (drill) alert at every centre of the exercise; the players declare."""
    exercise = _locked(exercise)
    _require(exercise, ExerciseStatus.PLANNED, _("Only a planned exercise can be started."))
    now = timezone.now()
    exercise.status = ExerciseStatus.RUNNING
    exercise.started_at = now
    exercise.save()
    scenario = exercise.scenario
    # A drill raised ahead from the crisis page already has its crisis: not raised twice.
    raised = set(exercise.crises.values_list("centre_id", flat=True))
    for centre in exercise.centres.exclude(pk__in=raised).order_by("name"):
        crisis = crisis_declare(
            centre=centre,
            systems_down=scenario.systems_down if scenario else [],
            description=scenario.description if scenario else "",
            user=user,
            is_exercise=True,
            declare_now=False,
            started_at=now,
            exercise=exercise,
        )
        if scenario:
            _event(crisis, user, _("Scenario: %(title)s.") % {"title": scenario.title}, at=now)
    return exercise


def _announce(exercise: Exercise, inject: ExerciseInject, user) -> None:
    if inject.minutes_after_start is not None:
        prefix = _("[INJECT T+%(m)d min]") % {"m": inject.minutes_after_start}
    else:
        prefix = _("[FREE INJECT]")
    for crisis in exercise.crises.all():
        _event(crisis, user, f"{prefix} {inject.text}", at=inject.played_at)


@transaction.atomic
def exercise_inject_play(*, inject: ExerciseInject, user) -> ExerciseInject:
    """Mark an inject played now and write it on the timeline of every crisis of the drill."""
    exercise = _locked(inject.exercise)
    _require(exercise, ExerciseStatus.RUNNING, _("Injects are played while the exercise runs."))
    inject = ExerciseInject.objects.select_for_update().get(pk=inject.pk)
    if inject.played_at is not None:
        raise ValidationError(
            _("This inject was already played on %(at)s.")
            % {"at": timezone.localtime(inject.played_at).strftime("%d/%m/%Y %H:%M")}
        )
    inject.played_at = timezone.now()
    inject.played_by = user
    inject.save()
    _announce(exercise, inject, user)
    return inject


@transaction.atomic
def exercise_inject_add(*, exercise: Exercise, text: str, user) -> ExerciseInject:
    """A free inject, decided by the animator during the exercise, played at once."""
    exercise = _locked(exercise)
    _require(exercise, ExerciseStatus.RUNNING, _("Injects are played while the exercise runs."))
    text = text.strip()
    if not text:
        raise ValidationError(_("The inject is empty."))
    inject = ExerciseInject.objects.create(
        exercise=exercise, text=text[:500], is_free=True, played_at=timezone.now(), played_by=user
    )
    _announce(exercise, inject, user)
    return inject


@transaction.atomic
def exercise_end(*, exercise: Exercise, user) -> Exercise:
    """End the exercise: its drill crises still open are closed, the RETEX goes on."""
    exercise = _locked(exercise)
    _require(exercise, ExerciseStatus.RUNNING, _("Only an exercise under way can be ended."))
    exercise.status = ExerciseStatus.DONE
    exercise.ended_at = timezone.now()
    exercise.save()
    comment = _("End of the exercise.")
    drills = Crisis.objects.filter(exercise=exercise, status__in=OPEN_STATUSES)
    for crisis_id in drills.values_list("pk", flat=True):
        _crisis_move(crisis_id, C.CLOSED, user, comment, allowed_from=EXERCISE_END_FROM)
    return exercise


@transaction.atomic
def exercise_cancel(*, exercise: Exercise, user) -> Exercise:
    exercise = _locked(exercise)
    _require(exercise, ExerciseStatus.PLANNED, _("Only a planned exercise can be cancelled."))
    exercise.status = ExerciseStatus.CANCELLED
    exercise.save()
    return exercise


@dataclass(frozen=True)
class ExerciseCentreMetrics:
    crisis: Crisis
    metrics: CrisisMetrics


def exercise_metrics(exercise: Exercise) -> list[ExerciseCentreMetrics]:
    """The action plan's clocks for each centre of the exercise, from its recorded events."""
    return [
        ExerciseCentreMetrics(crisis=crisis, metrics=crisis_metrics(crisis))
        for crisis in exercise.crises.select_related("centre").order_by("centre__name")
    ]
