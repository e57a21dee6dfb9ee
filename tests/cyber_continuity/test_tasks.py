from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from cyber_continuity.tasks import capacity_attestation_remind_task, convention_expiry_check_task
from onco_hdf.celery import app
from tests.cyber_continuity.factories import CapacityFactory


def test_beat_schedule_registered():
    for key in ("cyber-continuity-capacity-reminders", "cyber-continuity-convention-expiry"):
        assert key in settings.CELERY_BEAT_SCHEDULE
        assert key in app.conf.beat_schedule


@pytest.mark.django_db
def test_reminder_task_runs_the_service(centre_a, referent_a):
    CapacityFactory(centre=centre_a, attested_at=timezone.now() - timedelta(days=45))
    assert capacity_attestation_remind_task.delay().get() == 1
    assert len(mail.outbox) == 1
    assert capacity_attestation_remind_task.delay().get() == 0


@pytest.mark.django_db
def test_expiry_task_runs_the_service():
    assert convention_expiry_check_task.delay().get() == 0
