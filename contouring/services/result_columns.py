"""The metric columns each user chose for the result tables."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _


@transaction.atomic
def results_columns_save(*, user, columns: list[str]) -> list[str]:
    """Keep the user's choice of metric columns (unknown names dropped, at least one)."""
    from contouring.models import ResultsColumns
    from contouring.results import METRIC_BY_FIELD, METRICS

    wanted = {c for c in columns if c in METRIC_BY_FIELD}
    if not wanted:
        raise ValidationError(_("Choose at least one metric to show."), code="no_column")
    kept = [m.field for m in METRICS if m.field in wanted]
    ResultsColumns.objects.update_or_create(user=user, defaults={"columns": kept})
    return kept
