"""Survey tasks: thin wrappers around services."""

from __future__ import annotations

from celery import shared_task

from surveys import services


@shared_task(bind=True, name="surveys.scheduled_reminders_send")
def scheduled_reminders_send_task(self) -> int:
    """Daily (Celery beat): remind the invitees of open campaigns who have not submitted."""
    return services.scheduled_reminders_send()
