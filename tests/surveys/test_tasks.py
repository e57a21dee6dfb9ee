"""Invitation e-mails, manual and scheduled reminders (Celery beat task)."""

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from surveys import services
from surveys.models import Reminder, ReminderKind
from surveys.services import invitations
from surveys.tasks import scheduled_reminders_send_task
from tests.conftest import login
from tests.surveys.factories import invite

pytestmark = pytest.mark.django_db


def test_invitation_email_is_french_and_carries_a_working_link(
    campaign, centre_a, django_capture_on_commit_callbacks, client
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation = services.invitation_create(
            campaign=campaign, centre=centre_a, email="onco@example.org", name="Dr Martin"
        )
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.subject == f"Enquête : {campaign.title}"
    assert "Bonjour Dr Martin" in message.body
    assert "Centre A (test)" in message.body
    link = services.invitation_url(invitation)
    assert link in message.body
    assert client.get(link.replace(settings.SITE_URL, "")).status_code == 302
    invitation.refresh_from_db()
    assert invitation.sent_at is not None


def test_manual_reminder_skips_submitted_centres(campaign, centre_a, centre_b, pm):
    a, _t = invite(campaign, centre_a, "a@example.org")
    invite(campaign, centre_b, "b@example.org")
    actor = services.Actor.for_invitation(a)
    response = services.response_open(campaign=campaign, centre=centre_a, actor=actor)
    from tests.surveys.factories import post

    services.response_save_section(
        response=response, section_code="S1", data=post({"q-Q1": "b"}), actor=actor
    )
    services.response_submit(response=response, actor=actor)
    page = login(pm).post(f"/enquetes/campagnes/{campaign.pk}/relancer/", follow=True)
    assert "1 relance(s) envoyée(s)." in page.content.decode()
    assert [m.to for m in mail.outbox] == [["b@example.org"]]
    assert mail.outbox[0].subject.startswith("Relance — enquête")
    reminder = Reminder.objects.get()
    assert (reminder.kind, reminder.sent_count, reminder.by) == (ReminderKind.MANUAL, 1, pm)
    assert campaign.invitations.get(email="b@example.org").reminder_count == 1


def test_scheduled_reminders_wait_for_the_interval(campaign, centre_a):
    invite(campaign, centre_a, "a@example.org")
    campaign.reminder_every_days = 7
    campaign.opens_on = timezone.localdate() - datetime.timedelta(days=3)
    campaign.save()
    assert scheduled_reminders_send_task.delay().get() == 0
    campaign.opens_on = timezone.localdate() - datetime.timedelta(days=8)
    campaign.save()
    assert scheduled_reminders_send_task.delay().get() == 1
    # Run again the same day (a redelivered beat message): nobody is reminded twice.
    assert scheduled_reminders_send_task.delay().get() == 0
    assert Reminder.objects.get().kind == ReminderKind.SCHEDULED
    assert len(mail.outbox) == 1


def test_no_reminder_for_closed_campaign(campaign, centre_a, pm):
    invite(campaign, centre_a, "a@example.org")
    services.campaign_close(campaign=campaign, user=pm)
    page = login(pm).post(f"/enquetes/campagnes/{campaign.pk}/relancer/", follow=True)
    assert "aucune relance" in page.content.decode()
    assert mail.outbox == []


def test_beat_schedule_has_the_reminder_task():
    from onco_hdf.celery import app

    assert (
        settings.CELERY_BEAT_SCHEDULE["surveys-reminders"]["task"]
        == "surveys.scheduled_reminders_send"
    )
    assert "surveys-reminders" in app.conf.beat_schedule


def test_refused_delivery_is_not_counted_and_not_a_500(
    campaign, centre_a, centre_b, pm, monkeypatch
):
    import smtplib

    invite(campaign, centre_a, "a@example.org")
    invite(campaign, centre_b, "b@example.org")
    real_send = invitations.send_mail

    def flaky(subject, body, sender, recipients):
        if recipients == ["a@example.org"]:
            raise smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"unknown")})
        return real_send(subject, body, sender, recipients)

    monkeypatch.setattr(invitations, "send_mail", flaky)
    page = login(pm).post(f"/enquetes/campagnes/{campaign.pk}/relancer/", follow=True)
    assert page.status_code == 200
    assert "1 relance(s) envoyée(s)." in page.content.decode()
    assert campaign.invitations.get(email="a@example.org").reminder_count == 0
    assert campaign.invitations.get(email="b@example.org").reminder_count == 1
