"""Reminders at 90/60/30/7 days before any expiry, with a frozen clock."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core import mail

from habilitations import services
from habilitations.models import Reminder, SheetStatus
from habilitations.tasks import habilitations_daily_task
from tests.habilitations.factories import make_sheet

EXPIRY = dt.date(2027, 6, 30)


def at(day: dt.date):
    return time_machine.travel(dt.datetime.combine(day, dt.time(7, 0)), tick=False)


@pytest.fixture
def active_sheet(oncologist_a, head_a, centre_a, version):
    """Only the periodic review expires within the window (training and lines far later)."""
    return make_sheet(
        oncologist_a,
        centre_a,
        status=SheetStatus.ACTIVE,
        valid_from=EXPIRY - dt.timedelta(days=365),
        valid_until=EXPIRY,
        rp_training_date=dt.date(2024, 1, 1),
        rp_training_expiry=dt.date(2031, 1, 1),
    )


def due_days(day):
    return sorted((r.target_key, r.days_before) for r in services.reminders_due(on_date=day))


def test_threshold_is_the_most_urgent_one_reached():
    assert [services.threshold_for(n) for n in (120, 91, 90, 61, 60, 31, 30, 8, 7, 0, -1)] == [
        None,
        None,
        90,
        90,
        60,
        60,
        30,
        30,
        7,
        7,
        None,
    ]


def test_each_threshold_is_sent_once(active_sheet):
    sent_on = {}
    day = EXPIRY - dt.timedelta(days=100)
    while day <= EXPIRY + dt.timedelta(days=3):
        with at(day):
            count = services.reminders_send(on_date=services.today())
        if count:
            sent_on[(EXPIRY - day).days] = count
        day += dt.timedelta(days=1)
    assert sent_on == {90: 1, 60: 1, 30: 1, 7: 1}
    assert sorted(Reminder.objects.values_list("days_before", flat=True)) == [7, 30, 60, 90]
    assert len(mail.outbox) == 4
    assert set(mail.outbox[0].to) == {"oncologist_a@example.org", "head_a@example.org"}


def test_a_missed_day_sends_only_the_most_urgent_reminder(active_sheet):
    with at(EXPIRY - dt.timedelta(days=5)):
        assert due_days(services.today()) == [("sheet", 7)]
        assert services.reminders_send(on_date=services.today()) == 1
        assert services.reminders_send(on_date=services.today()) == 0


def test_training_and_lines_are_watched_and_grouped_in_one_mail(oncologist_a, centre_a, version):
    sheet = make_sheet(
        oncologist_a,
        centre_a,
        status=SheetStatus.ACTIVE,
        valid_until=dt.date(2030, 1, 1),
        rp_training_date=dt.date(2020, 7, 1),
        rp_training_expiry=EXPIRY,
    )
    line = sheet.lines.get()
    line.validation_date, line.expiry_date = EXPIRY - dt.timedelta(days=300), EXPIRY
    line.save()
    day = EXPIRY - dt.timedelta(days=30)
    assert due_days(day) == [(f"line:{line.pk}", 30), ("training", 30)]
    with time_machine.travel(dt.datetime.combine(day, dt.time(7)), tick=False):
        assert services.reminders_send(on_date=day) == 2
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert "Activité CONT-SEIN" in body and "30/06/2027" in body


def test_sheets_not_in_force_get_no_reminder(oncologist_a, centre_a, version):
    for status in (
        SheetStatus.DRAFT,
        SheetStatus.SUSPENDED,
        SheetStatus.RENEWED,
        SheetStatus.ARCHIVED,
    ):
        make_sheet(oncologist_a, centre_a, status=status, valid_until=EXPIRY)
    assert services.reminders_due(on_date=EXPIRY - dt.timedelta(days=7)) == []


def test_daily_task_flags_renewal_and_reminds(active_sheet):
    with at(EXPIRY - dt.timedelta(days=95)):
        assert habilitations_daily_task.delay().get() == {"flagged": 0, "reminders": 0}
    with at(EXPIRY - dt.timedelta(days=90)):
        assert habilitations_daily_task.delay().get() == {"flagged": 1, "reminders": 1}
        assert habilitations_daily_task.delay().get() == {"flagged": 0, "reminders": 0}
    active_sheet.refresh_from_db()
    assert active_sheet.status == SheetStatus.TO_RENEW
    step = active_sheet.transitions.get()
    assert step.actor is None and step.action == "flag_renewal"
    assert step.comment == "Revue périodique à faire dans les 90 jours."  # stored in French
    assert len(mail.outbox) == 1


def test_task_accepts_an_explicit_date(active_sheet):
    result = habilitations_daily_task.delay(
        on_date=(EXPIRY - dt.timedelta(days=60)).isoformat()
    ).get()
    assert result == {"flagged": 1, "reminders": 1}
    assert Reminder.objects.get().days_before == 60


def test_beat_schedule_is_registered(settings):
    from onco_hdf.celery import app

    entry = app.conf.beat_schedule["habilitations-daily"]
    assert entry["task"] == "habilitations.habilitations_daily"
    assert "habilitations-daily" in settings.CELERY_BEAT_SCHEDULE


def test_a_failed_mail_is_sent_again_next_run(active_sheet, monkeypatch):
    day = EXPIRY - dt.timedelta(days=30)

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr("habilitations.services.reminders.send_mail", broken)
    with pytest.raises(ConnectionRefusedError):
        services.reminders_send(on_date=day)
    assert not Reminder.objects.exists()
    monkeypatch.undo()
    assert services.reminders_send(on_date=day) == 1
    assert len(mail.outbox) == 1
