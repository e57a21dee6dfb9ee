"""Daily habilitation check (Celery beat): flag renewals, send expiry reminders."""

from __future__ import annotations

from celery import shared_task

from habilitations import services


@shared_task(bind=True, name="habilitations.habilitations_daily")
def habilitations_daily_task(self, on_date: str | None = None) -> dict:
    import datetime as dt

    day = dt.date.fromisoformat(on_date) if on_date else services.today()
    return services.habilitations_daily(on_date=day)
