"""Registry writes: profiles, contacts, systems, machines, capacities and their reminders."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cyber_continuity.models import (
    CapacityDeclaration,
    Machine,
    MachineCapacity,
    Technique,
    is_attestation_stale,
)
from cyber_continuity.services.common import _label
from cyber_continuity.services.plans import machines_suited_for
from onco_hdf.models import Centre, Role

logger = logging.getLogger(__name__)


# --- Registry -------------------------------------------------------------------------
@transaction.atomic
def registry_item_save(*, item, user=None):
    """Save a profile, contact, information system or machine of a centre (history kept)."""
    item.full_clean()
    item.save()
    return item


@transaction.atomic
def registry_item_delete(*, item) -> None:
    item.delete()


@transaction.atomic
def capacities_save(
    *,
    centre: Centre,
    rows: dict[str, tuple[int, int]],
    user,
    machine_rows: dict[str, dict[int, int]] | None = None,
) -> int:
    """Replace the centre's offered techniques; saving attests every declared row.

    ``machine_rows`` splits a technique's free slots per machine of the centre able to
    deliver it; the technique's free slots are then their sum. A technique without a split
    keeps its technique-level slots.
    """
    machine_rows = machine_rows or {}
    now = timezone.now()
    machines = {m.pk: m for m in Machine.objects.filter(centre=centre)}
    CapacityDeclaration.objects.filter(centre=centre).exclude(technique__in=rows).delete()
    for technique, (free, surge) in rows.items():
        if technique not in Technique.values:
            raise ValidationError(_("Unknown technique."))
        split = machine_rows.get(technique) or {}
        suited = {m.pk for m in machines_suited_for(technique, machines.values())}
        if set(split) - suited:
            raise ValidationError(
                _("Slots per machine: a machine is not one of this centre's for %(technique)s.")
                % {"technique": _label(Technique, technique)}
            )
        declaration, _created = CapacityDeclaration.objects.update_or_create(
            centre=centre,
            technique=technique,
            defaults={
                "free_slots_per_day": sum(split.values()) if split else free,
                "surge_slots_per_day": surge,
                "attested_at": now,
                "attested_by": user,
            },
        )
        declaration.machine_slots.exclude(machine_id__in=split).delete()
        for machine_id, slots in split.items():
            MachineCapacity.objects.update_or_create(
                capacity=declaration,
                machine=machines[machine_id],
                defaults={"free_slots_per_day": slots},
            )
    return len(rows)


@transaction.atomic
def capacity_attest(*, centre: Centre, user) -> int:
    """Confirm that every declaration of the centre is still true."""
    count = 0
    for declaration in CapacityDeclaration.objects.select_for_update().filter(centre=centre):
        declaration.attested_at = timezone.now()
        declaration.attested_by = user
        declaration.save()
        count += 1
    return count


REMINDER_INTERVAL = timedelta(days=7)


def capacity_attestation_remind(*, now=None) -> int:
    """E-mail the referents of centres whose attestations are stale; once a week at most.

    Idempotent: the ``reminded_at`` stamp is claimed with a conditional UPDATE, so a rerun
    or a second worker sends nothing twice.
    """
    now = now or timezone.now()
    stale_centres: dict[int, list[CapacityDeclaration]] = {}
    for declaration in CapacityDeclaration.objects.select_related("centre"):
        if is_attestation_stale(declaration.attested_at, now) and (
            declaration.reminded_at is None or declaration.reminded_at < now - REMINDER_INTERVAL
        ):
            stale_centres.setdefault(declaration.centre_id, []).append(declaration)
    sent = 0
    unreachable: list[Centre] = []
    for centre_id, declarations in stale_centres.items():
        claimed = CapacityDeclaration.objects.filter(
            pk__in=[d.pk for d in declarations], reminded_at=declarations[0].reminded_at
        ).update(reminded_at=now)
        if not claimed:
            continue
        centre = declarations[0].centre
        recipients = list(
            get_user_model()
            .objects.filter(
                memberships__centre_id=centre_id,
                memberships__role=Role.REFERENT,
                is_active=True,
            )
            .exclude(email="")
            .values_list("email", flat=True)
        )
        if not recipients:
            unreachable.append(centre)
            continue
        techniques = ", ".join(d.get_technique_display() for d in declarations)
        send_mail(
            _("Capacity attestation overdue — %(centre)s") % {"centre": centre.label},
            _(
                "The capacity declarations of %(centre)s have not been attested for more than "
                "30 days (%(techniques)s). Please confirm or update them: %(url)s"
            )
            % {
                "centre": centre.name,
                "techniques": techniques,
                "url": f"{settings.SITE_URL}/continuite-cyber/registre/{centre_id}/capacites/",
            },
            None,
            recipients,
        )
        sent += 1
    if unreachable:
        sent += _escalate_unreachable(unreachable)
    return sent


def centres_without_referent() -> list[Centre]:
    """Active centres with nobody to remind: no active referent with an e-mail address."""
    reachable = (
        get_user_model()
        .objects.filter(memberships__role=Role.REFERENT, is_active=True)
        .exclude(email="")
        .values_list("memberships__centre_id", flat=True)
    )
    return list(Centre.objects.filter(is_active=True).exclude(pk__in=reachable).order_by("name"))


def _escalate_unreachable(centres: list[Centre]) -> int:
    """Stale centres nobody can be reminded at: the project manager gets the list."""
    managers = list(
        get_user_model()
        .objects.filter(memberships__role=Role.PROJECT_MANAGER, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    if not managers:
        logger.warning("No project manager to escalate %d unreachable centre(s) to", len(centres))
        return 0
    send_mail(
        _("Capacity attestations overdue: %(n)d centre(s) without a referent")
        % {"n": len(centres)},
        _(
            "These centres have stale capacity declarations and no referent to remind, so "
            "nobody was e-mailed:\n\n%(centres)s\n\nPlease appoint a referent or attest "
            "their capacities with them: %(url)s"
        )
        % {
            "centres": "\n".join(f"- {c.name}" for c in centres),
            "url": f"{settings.SITE_URL}/continuite-cyber/synthese/",
        },
        None,
        managers,
    )
    return 1
