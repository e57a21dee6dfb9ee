"""Editions of each centre's crisis kit: monthly and after any change of its plan."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from cyber_continuity.models import (
    CapacityDeclaration,
    CrisisKitEdition,
    KitReason,
    TransferPlanEntry,
)
from onco_hdf.models import Centre, Role


def crisis_kit_generate(*, centre: Centre, reason: str) -> CrisisKitEdition:
    """Render the centre's own kit, keep it as a new edition and e-mail it to its referents."""
    from cyber_continuity.reports import build_crisis_kit_context
    from onco_hdf.pdf import render_pdf

    spec = build_crisis_kit_context(centre=centre)
    content = render_pdf(spec.template_name, spec.context)
    now = timezone.now()
    edition = CrisisKitEdition(centre=centre, reason=reason, created_at=now)
    name = f"kit-crise-{slugify(centre.label)}-{timezone.localtime(now):%Y%m%d-%H%M%S}.pdf"
    edition.pdf.save(name, ContentFile(content), save=False)
    edition.save()
    recipients = list(
        get_user_model()
        .objects.filter(memberships__centre=centre, memberships__role=Role.REFERENT, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if recipients:
        message = EmailMessage(
            _("New crisis kit — %(centre)s") % {"centre": centre.label},
            _(
                "A new edition of the crisis kit of %(centre)s is ready (%(reason)s). Print it "
                "and keep it with the paper crisis procedure; the previous edition can be "
                "thrown away. %(url)s"
            )
            % {
                "centre": centre.name,
                "reason": edition.get_reason_display(),
                "url": f"{settings.SITE_URL}/continuite-cyber/registre/{centre.pk}/",
            },
            to=recipients,
        )
        message.attach(name, content, "application/pdf")
        message.send()
    return edition


def crisis_kits_monthly(*, now=None) -> int:
    """Beat task body: one edition per centre with a plan or capacities, once a month."""
    now = timezone.localtime(now or timezone.now())
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    centre_ids = set(TransferPlanEntry.objects.values_list("centre_id", flat=True)) | set(
        CapacityDeclaration.objects.values_list("centre_id", flat=True)
    )
    made = 0
    for centre in Centre.objects.filter(pk__in=centre_ids, is_active=True):
        if CrisisKitEdition.objects.filter(
            centre=centre, reason=KitReason.MONTHLY, created_at__gte=month_start
        ).exists():
            continue
        crisis_kit_generate(centre=centre, reason=KitReason.MONTHLY)
        made += 1
    return made


def crisis_kit_refresh_after_commit(centre_id: int) -> None:
    """The plan changed: a new kit once the change is committed (never inside it)."""

    def enqueue() -> None:
        from cyber_continuity.tasks import crisis_kit_generate_task

        crisis_kit_generate_task.delay(centre_id, KitReason.PLAN_CHANGE)

    transaction.on_commit(enqueue)
