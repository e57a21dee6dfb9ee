"""Exercises that count: scenario library, scheduling, injects, metrics, RETEX, compliance."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.apps import apps
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from cyber_continuity import selectors, services, steering
from cyber_continuity.models import (
    Crisis,
    CrisisEvent,
    Exercise,
    ExerciseScenario,
    ScenarioKind,
    Technique,
)
from tests.cyber_continuity.factories import CentreFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scenario_library")]


def _scenario(kind=ScenarioKind.RANSOMWARE_OIS) -> ExerciseScenario:
    return ExerciseScenario.objects.filter(kind=kind).get()


def _schedule(centres, user, *, in_days=10, kind=ScenarioKind.RANSOMWARE_OIS):
    return services.exercise_schedule(
        scenario=_scenario(kind),
        centres=centres,
        planned_for=timezone.now() + timedelta(days=in_days),
        user=user,
    )


def test_library_is_seeded_with_the_four_scenarios_and_their_injects():
    kinds = set(ExerciseScenario.objects.values_list("kind", flat=True))
    assert {"ransomware_ois", "tps_down", "network_cut", "receiver_down"} <= kinds
    ransomware = _scenario()
    assert "ois" in ransomware.systems_down
    assert [i.minutes_after_start for i in ransomware.injects.all()] == [0, 15, 45, 90, 180]


def test_schedule_for_several_centres_copies_the_injects(
    centre_a, centre_b, pm, referent_a, referent_b, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        exercise = _schedule([centre_a, centre_b], pm)
    (message,) = mail.outbox
    assert sorted(message.to) == sorted([referent_a.email, referent_b.email])
    day = timezone.localtime(exercise.planned_for).strftime("%d/%m/%Y %H:%M")
    assert message.subject == f"Exercice de crise cyber planifié le {day}"
    assert f"/continuite-cyber/exercices/{exercise.pk}/" in message.body
    assert centre_a.name in message.body and "Rançongiciel" in message.body
    assert exercise.status == "planned" and exercise.started_at is None
    assert set(exercise.centres.all()) == {centre_a, centre_b}
    assert exercise.title == _scenario().title
    assert exercise.injects.count() == 5
    assert not exercise.injects.filter(played_at__isnull=False).exists()
    assert not Crisis.objects.exists()  # nothing raised before the day


@pytest.mark.parametrize(
    ("centres", "days", "message"),
    [([], 5, "Choisissez au moins un centre."), (None, -2, "une date à venir")],
)
def test_schedule_refuses_no_centre_or_a_past_date(centre_a, pm, centres, days, message):
    with pytest.raises(ValidationError) as error:
        _schedule([centre_a] if centres is None else centres, pm, in_days=days)
    assert message in " ".join(error.value.messages)
    assert not Exercise.objects.exists()


def test_start_raises_the_alert_at_each_centre_and_the_players_declare(centre_a, centre_b, pm):
    exercise = _schedule([centre_a, centre_b], pm)
    services.exercise_start(exercise=exercise, user=pm)
    exercise.refresh_from_db()
    assert exercise.status == "running" and exercise.started_at is not None
    crises = list(exercise.crises.order_by("centre__name"))
    assert [c.centre for c in crises] == sorted([centre_a, centre_b], key=lambda c: c.name)
    for crisis in crises:
        assert crisis.is_exercise and crisis.status == "alert" and crisis.declared_at is None
        assert "ois" in crisis.systems_down
        assert crisis.events.filter(text__startswith="Scénario : Rançongiciel").exists()
    with pytest.raises(ValidationError):
        services.exercise_start(exercise=exercise, user=pm)
    assert Crisis.objects.count() == 2


def test_drill_raised_ahead_from_the_crisis_page_is_not_raised_twice(centre_a, referent_a):
    crisis = services.crisis_declare(
        centre=centre_a,
        systems_down=["tps"],
        description="",
        user=referent_a,
        is_exercise=True,
        declare_now=False,
        started_at=timezone.now() + timedelta(days=2),
    )
    exercise = crisis.exercise
    assert exercise.status == "planned" and list(exercise.centres.all()) == [centre_a]
    services.exercise_start(exercise=exercise, user=referent_a)
    assert list(exercise.crises.all()) == [crisis]


def test_injects_played_on_every_timeline_with_their_time(centre_a, centre_b, pm):
    exercise = _schedule([centre_a, centre_b], pm)
    first = exercise.injects.get(minutes_after_start=15)
    with pytest.raises(ValidationError, match="pendant l’exercice|pendant l'exercice"):
        services.exercise_inject_play(inject=first, user=pm)
    services.exercise_start(exercise=exercise, user=pm)
    played = services.exercise_inject_play(inject=first, user=pm)
    assert played.played_at is not None and played.played_by == pm
    texts = CrisisEvent.objects.filter(text__startswith="[STIMULUS T+15 min]")
    assert texts.count() == 2
    assert {e.crisis.centre_id for e in texts} == {centre_a.pk, centre_b.pk}
    with pytest.raises(ValidationError, match="déjà été joué"):
        services.exercise_inject_play(inject=first, user=pm)
    free = services.exercise_inject_add(exercise=exercise, text="  Le standard sature.  ", user=pm)
    assert free.is_free and free.played_at is not None and free.text == "Le standard sature."
    assert CrisisEvent.objects.filter(text="[STIMULUS LIBRE] Le standard sature.").count() == 2
    with pytest.raises(ValidationError):
        services.exercise_inject_add(exercise=exercise, text="   ", user=pm)
    # Scenario injects first (in their order), free ones after.
    order = list(exercise.injects.values_list("minutes_after_start", flat=True))
    assert order == [0, 15, 45, 90, 180, None]


def test_metrics_from_recorded_events(region, referent_a, referent_b, pm):
    start = timezone.now().replace(microsecond=0) - timedelta(days=2)
    with time_machine.travel(start, tick=False) as clock:
        exercise = _schedule([region["a"]], pm, in_days=0)
        services.exercise_start(exercise=exercise, user=pm)
        crisis = exercise.crises.get()
        clock.shift(timedelta(minutes=25))
        services.crisis_transition(crisis=crisis, to_status="declared", user=referent_a)
        group = services.patient_group_add(
            crisis=crisis,
            user=referent_a,
            label="VMAT prostate",
            technique=Technique.IMRT_VMAT,
            category=2,
            patient_count=2,
            fractions_left=10,
            last_fraction_on=start.date(),
        )
        clock.shift(timedelta(minutes=45))
        transfer = services.transfer_propose(
            group=group, receiving_centre=region["b"], patient_count=2, user=referent_a
        )
        clock.shift(timedelta(minutes=30))  # T+100 min
        services.transfer_update(transfer=transfer, to_status="accepted", user=referent_b)
        clock.shift(timedelta(hours=20))  # T+21 h 40
        services.transfer_update(transfer=transfer, to_status="treating", user=referent_b)
    (row,) = services.exercise_metrics(exercise)
    assert row.crisis == crisis
    assert row.metrics.to_declaration == timedelta(minutes=25)
    assert row.metrics.to_first_acceptance == timedelta(minutes=100)
    assert row.metrics.to_first_fraction == timedelta(hours=21, minutes=40)


def test_receiver_in_the_same_exercise_is_not_offered(region, pm, referent_a):
    """Scenario 'a receiver down too': both centres play; B is down for A's patients."""
    exercise = _schedule([region["a"], region["b"]], pm, kind=ScenarioKind.RECEIVER_DOWN)
    services.exercise_start(exercise=exercise, user=pm)
    crisis_a = exercise.crises.get(centre=region["a"])
    services.crisis_transition(crisis=crisis_a, to_status="declared", user=referent_a)
    group = services.patient_group_add(
        crisis=crisis_a,
        user=referent_a,
        label="VMAT ORL",
        technique=Technique.IMRT_VMAT,
        category=1,
        patient_count=1,
        fractions_left=10,
        last_fraction_on=timezone.localdate(),
    )
    by_centre = {c.centre.pk: c for c in services.match_receivers(group)}
    assert by_centre[region["b"].pk].unavailable
    assert not by_centre[region["near"].pk].unavailable


def test_end_closes_the_drill_crises(centre_a, centre_b, pm):
    exercise = _schedule([centre_a, centre_b], pm)
    with pytest.raises(ValidationError):
        services.exercise_end(exercise=exercise, user=pm)
    services.exercise_start(exercise=exercise, user=pm)
    services.exercise_end(exercise=exercise, user=pm)
    exercise.refresh_from_db()
    assert exercise.status == "done" and exercise.ended_at is not None
    assert set(exercise.crises.values_list("status", flat=True)) == {"closed"}
    assert exercise.crises.first().transitions.last().comment == "Fin de l’exercice."


def test_retex_actions_status_overdue_and_listed(centre_a, pm, referent_a, oncologist_b):
    exercise = _schedule([centre_a], pm)
    late = services.crisis_action_add(
        exercise=exercise,
        title="Imprimer le kit de crise chaque mois",
        owner="Cadre de santé",
        due_date=timezone.localdate() - timedelta(days=3),
        user=pm,
    )
    soon = services.crisis_action_add(
        exercise=exercise,
        title="Second contact joignable par Signal",
        owner="Référent",
        due_date=timezone.localdate() + timedelta(days=30),
        user=pm,
    )
    assert late.is_overdue and not soon.is_overdue and late.status == "todo"
    services.crisis_action_status(action=late, status="in_progress", user=referent_a)
    late.refresh_from_db()
    assert late.status == "in_progress" and late.is_overdue and late.done_at is None
    assert list(selectors.retex_actions_for_user(referent_a)) == [late, soon]
    assert list(selectors.retex_actions_for_user(oncologist_b)) == []  # other centre
    services.crisis_action_status(action=late, status="done", user=referent_a)
    late.refresh_from_db()
    assert late.status == "done" and late.done_at is not None and not late.is_overdue
    assert list(selectors.retex_actions_for_user(pm)) == [soon]
    with pytest.raises(ValidationError):
        services.crisis_action_status(action=soon, status="nope", user=pm)
    with pytest.raises(ValidationError):  # an action belongs to a crisis or an exercise
        services.crisis_action_add(title="x", owner="y", due_date=timezone.localdate(), user=pm)


def _column(copil, centres):
    (column,) = [c for c in steering.participation(copil, centres) if c.key == "exercise_this_year"]
    return column.cells


def test_compliance_from_scheduled_and_played_exercises(centre_a, centre_b, pm, copil):
    played = _schedule([centre_a], pm, in_days=0)
    services.exercise_start(exercise=played, user=pm)
    planned = _schedule([centre_b], pm, in_days=20)
    cancelled_centre = CentreFactory(short_name="X")
    services.exercise_cancel(exercise=_schedule([cancelled_centre], pm), user=pm)
    cells = _column(copil, [centre_a, centre_b, cancelled_centre])
    today = timezone.localdate().strftime("%d/%m/%Y")
    assert cells[centre_a.pk].text == f"fait le {today}" and cells[centre_a.pk].level == "ok"
    day = timezone.localtime(planned.planned_for).strftime("%d/%m/%Y")
    assert cells[centre_b.pk].text == f"prévu le {day}" and cells[centre_b.pk].level == "warn"
    assert cells[cancelled_centre.pk].text == "en retard"


def test_planned_day_passed_without_playing_is_overdue(centre_a, pm, copil):
    exercise = _schedule([centre_a], pm, in_days=3)
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        assert _column(copil, [centre_a])[centre_a.pk].text == "en retard"
    assert exercise.status == "planned"


def test_existing_drills_get_their_exercise_and_still_count(centre_a, centre_b, pm, copil):
    """The data migration: a drill crisis of before the exercise model counts as before."""
    from importlib import import_module

    migration = import_module(
        "cyber_continuity.migrations.0008_seed_scenarios_and_migrate_exercises"
    )
    now = timezone.now()
    past = Crisis.objects.create(
        centre=centre_a, is_exercise=True, status="retex", started_at=now - timedelta(hours=2)
    )
    future = Crisis.objects.create(
        centre=centre_b, is_exercise=True, started_at=now + timedelta(days=15)
    )
    real = Crisis.objects.create(centre=centre_b, is_exercise=False)
    assert _column(copil, [centre_a])[centre_a.pk].text == "en retard"  # not linked yet
    migration.exercises_from_drills(apps, None)
    past.refresh_from_db()
    future.refresh_from_db()
    real.refresh_from_db()
    assert past.exercise.status == "done" and past.exercise.started_at == past.started_at
    assert list(past.exercise.centres.all()) == [centre_a]
    assert future.exercise.status == "planned" and future.exercise.started_at is None
    assert real.exercise is None
    cells = _column(copil, [centre_a, centre_b])
    assert cells[centre_a.pk].text.startswith("fait le ")
    assert cells[centre_b.pk].text.startswith("prévu le ")
