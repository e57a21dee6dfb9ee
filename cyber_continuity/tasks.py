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
