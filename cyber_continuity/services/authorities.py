"""The regional directory of authorities, and the crisis's mandatory reporting."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cyber_continuity.models import (
    Authority,
    Crisis,
    CrisisEvent,
    CrisisReport,
    ReportRecipient,
)


@transaction.atomic
def authority_save(*, authority: Authority, user) -> Authority:
    """Save a directory line; saving confirms it (freshness like capacities)."""
    authority.checked_at = timezone.now()
    authority.checked_by = user
    authority.full_clean()
    authority.save()
    return authority


@transaction.atomic
def authorities_confirm(*, user) -> int:
    """The project manager checked every number of the directory."""
    return Authority.objects.update(checked_at=timezone.now(), checked_by=user)


@transaction.atomic
def crisis_report_record(
    *, crisis: Crisis, recipient: str, declared_at, reference: str, declared_by: str, user
) -> CrisisReport:
    crisis = Crisis.objects.select_for_update().get(pk=crisis.pk)
    if recipient not in ReportRecipient.values:
        raise ValidationError(_("Unknown recipient."))
    if declared_at > timezone.now() + timedelta(minutes=5):
        raise ValidationError(_("The declaration cannot be in the future."))
    if declared_at < crisis.started_at - timedelta(days=1):
        raise ValidationError(_("The declaration cannot be older than the alert."))
    if crisis.reports.filter(recipient=recipient).exists():
        raise ValidationError(_("This declaration is already recorded."))
    report = CrisisReport.objects.create(
        crisis=crisis,
        recipient=recipient,
        declared_at=declared_at,
        reference=reference.strip(),
        declared_by=declared_by.strip(),
        recorded_by=user,
    )
    CrisisEvent.objects.create(
        crisis=crisis,
        user=user,
        at=timezone.now(),
        text=_("Mandatory report to %(to)s made on %(at)s by %(who)s, reference %(ref)s.")
        % {
            "to": report.get_recipient_display(),
            "at": timezone.localtime(declared_at).strftime("%d/%m/%Y %H:%M"),
            "who": report.declared_by,
            "ref": report.reference,
        },
    )
    return report


@dataclass(frozen=True)
class ReportItem:
    recipient: str
    label: str
    report: CrisisReport | None
    # Done: from the crisis declaration to the report; pending: since the declaration.
    clock: timedelta | None


def crisis_report_checklist(crisis: Crisis, now=None) -> list[ReportItem]:
    now = now or timezone.now()
    reports = {r.recipient: r for r in crisis.reports.all()}
    start = crisis.declared_at or crisis.started_at
    items = []
    for value, label in ReportRecipient.choices:
        report = reports.get(value)
        clock = (report.declared_at if report else now) - start
        items.append(ReportItem(value, str(label), report, max(clock, timedelta(0))))
    return items
