"""Exercise pages: scenario library, scheduling in the browser, playing, RETEX actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cyber_continuity import services
from cyber_continuity.models import Exercise, ExerciseScenario, ScenarioKind
from tests.conftest import login

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("scenario_library")]


def _local(dt) -> str:
    return timezone.localtime(dt).strftime("%Y-%m-%dT%H:%M")


def _ransomware() -> ExerciseScenario:
    return ExerciseScenario.objects.get(kind=ScenarioKind.RANSOMWARE_OIS)


def test_pm_schedules_an_exercise_for_two_centres(pm, centre_a, centre_b):
    client = login(pm)
    scenario = _ransomware()
    page = client.get(reverse("cyber_continuity:exercise-schedule") + f"?scenario={scenario.pk}")
    assert f'<option value="{scenario.pk}" selected>' in page.content.decode()
    when = timezone.now() + timedelta(days=12)
    response = client.post(
        reverse("cyber_continuity:exercise-schedule"),
        {
            "scenario": scenario.pk,
            "centres": [centre_a.pk, centre_b.pk],
            "planned_for": _local(when),
            "title": "Exercice régional Lille",
        },
    )
    exercise = Exercise.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cyber_continuity:exercise-detail", args=[exercise.pk])
    html = client.get(response["Location"]).content.decode()
    assert "Exercice régional Lille" in html
    assert "Planifié" in html and "Lancer l’exercice (donner l’alerte)" in html
    assert html.count('data-testid="inject"') == 5
    assert f"prévu le {timezone.localtime(when):%d/%m/%Y %H:%M}" in html
    listing = client.get(reverse("cyber_continuity:exercise-list")).content.decode()
    assert "Exercice régional Lille" in listing
    assert listing.count("prévu le") >= 2  # the compliance table: both centres planned


def test_bad_input_is_explained_in_french_and_kept(pm, centre_a):
    response = login(pm).post(
        reverse("cyber_continuity:exercise-schedule"),
        {
            "scenario": _ransomware().pk,
            "centres": [],
            "planned_for": "32/13/2026 25:00",
            "title": "Mon titre tapé",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Ce champ est obligatoire." in html
    assert "Saisissez une date et une heure valides." in html
    assert 'value="Mon titre tapé"' in html
    past = login(pm).post(
        reverse("cyber_continuity:exercise-schedule"),
        {
            "scenario": _ransomware().pk,
            "centres": [centre_a.pk],
            "planned_for": _local(timezone.now() - timedelta(days=3)),
        },
    )
    assert "Un exercice se planifie pour une date à venir." in past.content.decode()
    assert not Exercise.objects.exists()


def test_referent_schedules_only_for_own_centre(referent_a, centre_a, centre_b):
    client = login(referent_a)
    page = client.get(reverse("cyber_continuity:exercise-schedule")).content.decode()
    assert centre_a.name in page and centre_b.name not in page
    response = client.post(
        reverse("cyber_continuity:exercise-schedule"),
        {
            "scenario": _ransomware().pk,
            "centres": [centre_b.pk],
            "planned_for": _local(timezone.now() + timedelta(days=3)),
        },
    )
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert not Exercise.objects.exists()


def test_play_an_exercise_in_the_browser(pm, referent_a, centre_a):
    exercise = services.exercise_schedule(
        scenario=_ransomware(),
        centres=[centre_a],
        planned_for=timezone.now() + timedelta(days=1),
        user=pm,
    )
    client = login(pm)
    detail = reverse("cyber_continuity:exercise-detail", args=[exercise.pk])
    transition = reverse("cyber_continuity:exercise-transition", args=[exercise.pk])
    assert client.post(transition, {"to": "start"})["Location"] == detail
    inject = exercise.injects.get(minutes_after_start=45)
    client.post(reverse("cyber_continuity:exercise-inject-play", args=[inject.pk]))
    again = client.post(
        reverse("cyber_continuity:exercise-inject-play", args=[inject.pk]), follow=True
    )
    assert "Ce stimulus a déjà été joué le" in again.content.decode()
    client.post(
        reverse("cyber_continuity:exercise-inject-add", args=[exercise.pk]),
        {"text": "Le standard est saturé d'appels de patients."},
    )
    empty = client.post(
        reverse("cyber_continuity:exercise-inject-add", args=[exercise.pk]), {"text": "  "}
    )
    assert "Ce champ est obligatoire." in empty.content.decode()
    html = client.get(detail).content.decode()
    assert html.count("joué le") == 2 and "Stimulus libre" in html
    assert "Délai jusqu’à la première séance chez le receveur" in html
    crisis = exercise.crises.get()
    timeline = client.get(reverse("cyber_continuity:crisis-detail", args=[crisis.pk]))
    timeline = timeline.content.decode()
    assert "[STIMULUS T+45 min] Le directeur de garde" in timeline
    assert "[STIMULUS LIBRE] Le standard est saturé" in timeline
    assert "Joué dans l’exercice" in timeline
    client.post(transition, {"to": "end"})
    exercise.refresh_from_db()
    assert exercise.status == "done"
    unknown = client.post(transition, {"to": "explode"}, follow=True)
    assert "Action inconnue." in unknown.content.decode()


def test_retex_actions_on_the_exercise_and_the_overview(pm, copil, referent_a, centre_a):
    exercise = services.exercise_schedule(
        scenario=_ransomware(),
        centres=[centre_a],
        planned_for=timezone.now() + timedelta(days=1),
        user=pm,
    )
    client = login(referent_a)
    add = reverse("cyber_continuity:exercise-action-add", args=[exercise.pk])
    bad = client.post(
        add, {"title": "Tester la sauvegarde hors ligne", "owner": "", "due_date": ""}
    )
    assert "Ce champ est obligatoire." in bad.content.decode()
    assert 'value="Tester la sauvegarde hors ligne"' in bad.content.decode()
    late_day = timezone.localdate() - timedelta(days=2)
    client.post(
        add,
        {"title": "Tester la sauvegarde hors ligne", "owner": "Physicien", "due_date": late_day},
    )
    (action,) = exercise.actions.all()
    html = client.get(reverse("cyber_continuity:exercise-detail", args=[exercise.pk]))
    html = html.content.decode()
    assert "Tester la sauvegarde hors ligne" in html and "en retard" in html
    assert "Physicien" in html and late_day.strftime("%d/%m/%Y") in html
    overview = login(copil).get(reverse("cyber_continuity:overview")).content.decode()
    assert "Actions RETEX en cours" in overview
    assert "Tester la sauvegarde hors ligne" in overview and "en retard" in overview
    status = reverse("cyber_continuity:crisis-action-status", args=[action.pk])
    client.post(status, {"status": "in_progress"})
    action.refresh_from_db()
    assert action.status == "in_progress"
    client.post(status, {"status": "done"})
    action.refresh_from_db()
    assert action.status == "done"
    overview = login(copil).get(reverse("cyber_continuity:overview")).content.decode()
    assert "Tester la sauvegarde hors ligne" not in overview


def test_pm_edits_the_scenario_library(pm):
    client = login(pm)
    library = client.get(reverse("cyber_continuity:scenario-list")).content.decode()
    assert library.count('data-testid="scenario"') == 4
    data = {
        "title": "Panne électrique du bunker",
        "kind": "other",
        "description": "Coupure du courant",
        "objectives": "",
        "systems_down": ["consoles"],
        "is_active": "on",
        "injects-TOTAL_FORMS": "2",
        "injects-INITIAL_FORMS": "0",
        "injects-MIN_NUM_FORMS": "0",
        "injects-MAX_NUM_FORMS": "1000",
        "injects-0-minutes_after_start": "0",
        "injects-0-text": "Le groupe électrogène ne démarre pas.",
        "injects-1-minutes_after_start": "",
        "injects-1-text": "",
    }
    response = client.post(reverse("cyber_continuity:scenario-create"), data)
    assert response.status_code == 302
    scenario = ExerciseScenario.objects.get(title="Panne électrique du bunker")
    assert scenario.systems_down == ["consoles"]
    assert [i.text for i in scenario.injects.all()] == ["Le groupe électrogène ne démarre pas."]
    bad = dict(data, title="", **{"injects-0-minutes_after_start": "-5"})
    page = client.post(reverse("cyber_continuity:scenario-update", args=[scenario.pk]), bad)
    assert page.status_code == 200
    assert "Ce champ est obligatoire." in page.content.decode()
    scenario.refresh_from_db()
    assert scenario.title == "Panne électrique du bunker"


def test_exercise_report_pdf_has_metrics_injects_and_actions(pm, copil, referent_a, centre_a):
    from onco_hdf.models import ReadAudit
    from tests.cyber_continuity.test_reports import pdf_text

    exercise = services.exercise_schedule(
        scenario=_ransomware(),
        centres=[centre_a],
        planned_for=timezone.now() + timedelta(days=1),
        user=pm,
        title="Exercice rançongiciel A",
    )
    services.exercise_start(exercise=exercise, user=pm)
    crisis = exercise.crises.get()
    crisis.started_at -= timedelta(minutes=40)  # declared 40 min after the alert
    crisis.save()
    services.crisis_transition(crisis=crisis, to_status="declared", user=referent_a)
    services.exercise_inject_play(inject=exercise.injects.get(minutes_after_start=15), user=pm)
    services.crisis_action_add(
        exercise=exercise,
        title="Doubler la ligne d'astreinte",
        owner="Directeur des soins",
        due_date=timezone.localdate() + timedelta(days=60),
        user=pm,
    )
    response = login(copil).get(reverse("cyber_continuity:exercise-pdf", args=[exercise.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(response.content).split())
    assert "Rapport d’exercice — Exercice rançongiciel A" in text
    assert "Délai jusqu'à la déclaration" in text and "40 min" in text
    assert "T+15 min" in text and "La DSI confirme" in text and "non joué" in text
    assert "Doubler la ligne d'astreinte" in text and "Directeur des soins" in text
    assert ReadAudit.objects.filter(object_type="cyber_continuity.exercise").count() == 1
