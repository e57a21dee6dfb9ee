"""One number formatter for tables, charts, PDF reports and exports shown to people.

Values are rounded half away from zero to a fixed number of decimals (never truncated,
as Django's ``number_format`` does on floats: 0.946 at 2 decimals is "0,95", not
"0,94"), then written with the active language's decimal separator (French: comma).
A missing value is a dash. Units follow a no-break space, as French typography wants.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from django.utils import formats

DASH = "—"
NBSP = "\u00a0"


def round_half_up(value: float, decimals: int) -> Decimal:
    quantum = Decimal(1).scaleb(-decimals)
    rounded = Decimal(repr(float(value))).quantize(quantum, rounding=ROUND_HALF_UP)
    return rounded.copy_abs() if rounded.is_zero() else rounded  # no "-0,00"


def format_number(value: float | int | None, decimals: int = 1, unit: str = "") -> str:
    """``value`` with exactly ``decimals`` decimals, localised; "—" when there is none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return DASH
    decimals = max(0, int(decimals))
    text = formats.number_format(round_half_up(value, decimals), decimals)
    return f"{text}{NBSP}{unit}" if unit else text


def decimals_needed(value: float, limit: int = 3) -> int:
    """The fewest decimals (up to ``limit``) that write ``value`` exactly (axis ticks)."""
    for decimals in range(limit + 1):
        if abs(round(value, decimals) - value) < 1e-9 * max(1.0, abs(value)):
            return decimals
    return limit
