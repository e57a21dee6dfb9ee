"""Auto-contouring solutions."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from contouring.models import (
    Solution,
)


@transaction.atomic
def solution_create(
    *,
    vendor: str,
    product: str,
    model_version: str,
    ce_marking: str,
    user,
    is_simulated: bool = False,
) -> Solution:
    vendor, product, model_version = vendor.strip(), product.strip(), model_version.strip()
    if Solution.objects.filter(
        vendor__iexact=vendor, product__iexact=product, model_version__iexact=model_version
    ).exists():
        raise ValidationError(
            _("This solution (same vendor, product and version) is already registered."),
            code="duplicate",
        )
    return Solution.objects.create(
        vendor=vendor,
        product=product,
        model_version=model_version,
        ce_marking=ce_marking,
        is_simulated=is_simulated,
        registered_by=user,
    )
