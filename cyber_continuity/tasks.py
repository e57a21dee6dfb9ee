"""Periodic tasks (Celery beat): thin wrappers around idempotent services."""

from __future__ import annotations

from celery import shared_task

from cyber_continuity import services


@shared_task(name="cyber_continuity.capacity_attestation_remind")
def capacity_attestation_remind_task() -> int:
    return services.capacity_attestation_remind()


@shared_task(name="cyber_continuity.convention_expiry_check")
def convention_expiry_check_task() -> int:
    return services.convention_expiry_check()


@shared_task(name="cyber_continuity.crisis_kits_monthly")
def crisis_kits_monthly_task() -> int:
    return services.crisis_kits_monthly()


@shared_task(name="cyber_continuity.crisis_kit_generate", acks_late=True)
def crisis_kit_generate_task(centre_id: int, reason: str) -> int | None:
    from onco_hdf.models import Centre

    centre = Centre.objects.filter(pk=centre_id, is_active=True).first()
    if centre is None:
        return None
    return services.crisis_kit_generate(centre=centre, reason=reason).pk
