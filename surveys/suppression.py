"""The one small-count rule of every survey output.

The results page (filtered or not), the centre view, the PDF report and anything else that
shows aggregated answers go through this module; only the project manager's raw exports
(one row per response, for analysts) are outside it.

The rule, with ``k = settings.SURVEY_MIN_CELL`` (3 by default):

1. A question answered by fewer than ``k`` respondents shows only its n: no count, no
   percentage, no median, no quote, no chart (a filter on one département with one or two
   centres shows nothing of their answers).
2. A count between 1 and ``k - 1`` is masked and printed "< k"; its percentage is not shown.
3. Where each respondent gives one answer (single choice, yes/no, Likert, a row of a
   one-choice matrix, first ranks, years) and n is printed, one masked cell could be
   recomputed by subtraction: the smallest other cell is masked too ("masked").

N, the number of respondents a question was shown to, is masked the same way (for a
conditional question it counts an answer to another one). Known limit: a cell masked only
by rule 3 can still be read from the N (or n) of a question shown on exactly that answer;
there is no protection across questions.

Zero is shown: it points at nobody. A masked cell is a :class:`Hidden` value, never a
number, so code that would do arithmetic on it fails loudly instead of leaking it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _


def threshold() -> int:
    """Smallest count of respondents that may be shown."""
    return int(getattr(settings, "SURVEY_MIN_CELL", 3))


@dataclass(frozen=True)
class Hidden:
    """A masked cell: printed "< k" (primary) or "masked" (masked so the first can't be
    recomputed). Carries no count."""

    limit: int
    primary: bool = True

    def __str__(self) -> str:
        return f"< {self.limit}" if self.primary else _("masked")


def is_hidden(value) -> bool:
    return isinstance(value, Hidden)


def too_few(count: int) -> bool:
    """True when a question (or a selection) has too few respondents to show anything."""
    return 0 < count < threshold()


def mask(count: int) -> int | Hidden:
    """One count on its own (no complementary masking)."""
    limit = threshold()
    return Hidden(limit) if 0 < count < limit else count


def mask_counts(counts: Sequence[int], *, exclusive: bool) -> list[int | Hidden]:
    """Mask the small counts of one distribution (see rule 2 and 3 of the module)."""
    out: list[int | Hidden] = [mask(c) for c in counts]
    hidden = [i for i, value in enumerate(out) if is_hidden(value)]
    if exclusive and len(hidden) == 1:
        others = [i for i in range(len(counts)) if i not in hidden]
        nonzero = [i for i in others if counts[i] > 0]
        candidates = sorted(nonzero or others, key=lambda i: counts[i])
        if candidates:
            out[candidates[0]] = Hidden(threshold(), primary=False)
    return out


def hidden_sum(raw: Sequence[int], masked: Sequence[int | Hidden]) -> int:
    """What the masked cells hold together (already known as n minus the shown cells)."""
    return sum(r for r, m in zip(raw, masked, strict=True) if is_hidden(m))


def note() -> str:
    return _(
        "Counts below %(n)d are not shown (“< %(n)d”), nor any cell from which they could "
        "be recomputed (“masked”), so that no centre can be recognised."
    ) % {"n": threshold()}
