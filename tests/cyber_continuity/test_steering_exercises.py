"""Annual cyber-crisis exercise compliance per centre on the COPIL steering dashboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from cyber_continuity import services, steering
from tests.cyber_continuity.factories import CentreFactory

pytestmark = pytest.mark.django_db


def _exercise(centre, user, started_at):
    return services.crisis_declare(
        centre=centre,
        systems_down=["ois"],
        description="",
        user=user,
        is_exercise=True,
        declare_now=False,
        started_at=started_at,
    )


def test_exercise_compliance_done_planned_to_plan_overdue(centre_a, centre_b, pm, copil):
    now = timezone.now()
    year_start = timezone.localtime(now).replace(month=1, day=1, hour=12)
    planned_centre = CentreFactory(short_name="P")
    to_plan_centre = CentreFactory(short_name="T")
    _exercise(centre_a, pm, year_start)
    _exercise(planned_centre, pm, now + timedelta(days=20))
    _exercise(to_plan_centre, pm, year_start - timedelta(days=30))
    centres = [centre_a, centre_b, planned_centre, to_plan_centre]
    (column,) = [c for c in steering.participation(copil, centres) if c.key == "exercise_this_year"]
    assert column.label == "Exercice annuel"
    assert column.cells[centre_a.pk].text == f"fait le {year_start:%d/%m/%Y}"
    assert column.cells[centre_a.pk].level == "ok"
    assert column.cells[planned_centre.pk].text.startswith("prévu le ")
    assert column.cells[planned_centre.pk].level == "warn"
    assert column.cells[to_plan_centre.pk].text.startswith("à planifier")
    assert column.cells[centre_b.pk].text == "en retard"
    assert column.cells[centre_b.pk].level == "late"


def test_retex_actions_column_and_referent_todo(centre_a, centre_b, pm, copil, referent_a):
    from cyber_continuity.models import ExerciseScenario

    exercise = services.exercise_schedule(
        scenario=ExerciseScenario.objects.create(title="Scénario test", kind="other"),
        centres=[centre_a],
        planned_for=timezone.now() + timedelta(days=3),
        user=pm,
    )
    today = timezone.localdate()
    for title, due in (("Imprimer le kit", -4), ("Tester la sauvegarde", 20)):
        services.crisis_action_add(
            exercise=exercise,
            title=title,
            owner="Cadre",
            due_date=today + timedelta(days=due),
            user=pm,
        )
    (column,) = [
        c for c in steering.participation(copil, [centre_a, centre_b]) if c.key == "retex_actions"
    ]
    assert column.label == "Actions RETEX"
    assert column.cells[centre_a.pk].text == "2 ouvertes · 1 en retard"
    assert column.cells[centre_a.pk].level == "late"
    assert column.cells[centre_b.pk].text == "aucune ouverte"
    (item,) = [i for i in steering.todo(referent_a) if "RETEX" in i.text]
    late_day = (today - timedelta(days=4)).strftime("%d/%m/%Y")
    assert item.text == f"Action RETEX en retard depuis le {late_day} : Imprimer le kit (Cadre)"
    assert item.url == f"/continuite-cyber/exercices/{exercise.pk}/"
