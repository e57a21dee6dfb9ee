"""Catalogue versions: drafts, publication, domains and activities, loading from data."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from habilitations.models import Activity, CatalogueStatus, CatalogueVersion, Domain


def catalogue_current() -> CatalogueVersion | None:
    """The latest published version: the one new sheets are written against."""
    return (
        CatalogueVersion.objects.filter(status=CatalogueStatus.PUBLISHED)
        .order_by("-number")
        .first()
    )


def _ensure_draft(version: CatalogueVersion) -> None:
    if not version.is_draft:
        raise ValidationError(
            _("Version %(n)s is published and can no longer be changed; create a new version.")
            % {"n": version.number}
        )


@transaction.atomic
def catalogue_version_create_draft(*, user, label: str) -> CatalogueVersion:
    """A new draft version, copied from the current published one."""
    if CatalogueVersion.objects.filter(status=CatalogueStatus.DRAFT).exists():
        raise ValidationError(_("A draft version already exists: edit it or publish it first."))
    source = catalogue_current()
    number = (CatalogueVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    draft = CatalogueVersion.objects.create(number=number, label=label)
    if source is not None:
        _copy_catalogue(source=source, target=draft)
    return draft


def _copy_catalogue(*, source: CatalogueVersion, target: CatalogueVersion) -> None:
    for domain in source.domains.prefetch_related("activities"):
        activities = list(domain.activities.all())
        domain.pk = None
        domain.version = target
        domain.save()
        for activity in activities:
            activity.pk = None
            activity.version = target
            activity.domain = domain
            activity.save()


@transaction.atomic
def catalogue_version_publish(*, version: CatalogueVersion, user) -> CatalogueVersion:
    version = CatalogueVersion.objects.select_for_update().get(pk=version.pk)
    _ensure_draft(version)
    if not version.activities.exists():
        raise ValidationError(_("A version without any activity cannot be published."))
    version.status = CatalogueStatus.PUBLISHED
    version.published_at = timezone.now()
    version.published_by = user
    version.save()
    return version


@transaction.atomic
def domain_save(*, domain: Domain) -> Domain:
    _ensure_draft(domain.version)
    if (
        Domain.objects.filter(version=domain.version, code=domain.code)
        .exclude(pk=domain.pk)
        .exists()
    ):
        raise ValidationError({"code": _("This code is already used in this version.")})
    domain.save()
    return domain


@transaction.atomic
def activity_save(*, activity: Activity) -> Activity:
    _ensure_draft(activity.version)
    if activity.domain.version_id != activity.version_id:
        raise ValidationError({"domain": _("This domain belongs to another version.")})
    if (
        Activity.objects.filter(version=activity.version, code=activity.code)
        .exclude(pk=activity.pk)
        .exists()
    ):
        raise ValidationError({"code": _("This code is already used in this version.")})
    activity.save()
    return activity


@transaction.atomic
def activity_delete(*, activity: Activity) -> None:
    _ensure_draft(activity.version)
    activity.delete()


@transaction.atomic
def catalogue_load(*, data: dict, publish: bool = True, user=None) -> CatalogueVersion:
    """Create catalogue version ``data["number"]`` from a data module (idempotent).

    An existing published version is left as it is; an existing draft is refreshed.
    """
    version, created = CatalogueVersion.objects.get_or_create(
        number=data["number"], defaults={"label": data["label"], "notes": data.get("notes", "")}
    )
    if not created and not version.is_draft:
        return version
    for d_order, domain_data in enumerate(data["domains"], start=1):
        domain, _created = Domain.objects.update_or_create(
            version=version,
            code=domain_data["code"],
            defaults={"name": domain_data["name"], "order": d_order},
        )
        for a_order, item in enumerate(domain_data["activities"], start=1):
            Activity.objects.update_or_create(
                version=version,
                code=item["code"],
                defaults={
                    "domain": domain,
                    "order": a_order,
                    "label": item["label"],
                    "description": item.get("description", ""),
                    "prerequisites": item.get("prerequisites", ""),
                    "evidence_in_training": item.get("evidence_in_training", ""),
                    "evidence_supervised": item.get("evidence_supervised", ""),
                    "evidence_autonomous": item.get("evidence_autonomous", ""),
                    "evidence_referent": item.get("evidence_referent", ""),
                    "min_supervised_cases": item.get("min_supervised_cases", 0),
                },
            )
    if publish:
        version = catalogue_version_publish(version=version, user=user)
    return version
