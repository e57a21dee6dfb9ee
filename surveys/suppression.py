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

4. In a table (a cross-tabulation with its row and column totals), every row and every
   column, totals included, has no masked entry or at least two: a lone one takes the
   smallest other of its line with it, until no line has a lone masked entry.
5. Across a branching: the N of a follow-up question counts the respondents who gave the
   answers that open it. When those respondents include some of the filter question's
   masked cells (for a one-answer question: some but not all of them), that N, with the
   shown cells, would give a masked count back: the follow-up is masked whole (N, n and
   every figure), and so are its own follow-ups.

N, the number of respondents a question was shown to, is masked the same way (for a
conditional question it counts an answer to another one).

Zero is shown: it points at nobody. A masked cell is a :class:`Hidden` value, never a
number, so code that would do arithmetic on it fails loudly instead of leaking it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
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


def mask_table(raw: Sequence[Sequence[int]]) -> tuple[list, list, list, int | Hidden]:
    """Mask a table and its totals (rules 2 and 4): ``(cells, row totals, column totals,
    grand total)``, each a count or a :class:`Hidden`."""
    limit = threshold()
    rows, cols = len(raw), len(raw[0]) if raw else 0
    # The table with its totals as one grid: row totals in the last column, column totals
    # (and the grand total) in the last row; every line of it sums to its last entry.
    grid = [list(r) + [sum(r)] for r in raw]
    grid.append([sum(raw[i][j] for i in range(rows)) for j in range(cols)] + [sum(map(sum, raw))])
    hidden = {(i, j) for i, line in enumerate(grid) for j, n in enumerate(line) if 0 < n < limit}
    primary = set(hidden)
    lines = [[(i, j) for j in range(cols + 1)] for i in range(rows + 1)]
    lines += [[(i, j) for i in range(rows + 1)] for j in range(cols + 1)]
    changed = True
    while changed:
        changed = False
        for line in lines:
            masked = [cell for cell in line if cell in hidden]
            if len(masked) != 1:
                continue
            others = [cell for cell in line if cell not in hidden]
            nonzero = [cell for cell in others if grid[cell[0]][cell[1]] > 0]
            pick = min(nonzero or others, key=lambda c: grid[c[0]][c[1]], default=None)
            if pick is not None:
                hidden.add(pick)
                changed = True

    def value(i: int, j: int):
        if (i, j) in hidden:
            return Hidden(limit, primary=(i, j) in primary)
        return grid[i][j]

    cells = [[value(i, j) for j in range(cols)] for i in range(rows)]
    row_totals = [value(i, cols) for i in range(rows)]
    col_totals = [value(rows, j) for j in range(cols)]
    return cells, row_totals, col_totals, value(rows, cols)


def follow_up_leaks(shown: Collection, hidden_respondents: Collection, *, exclusive: bool) -> bool:
    """Rule 5: would the N of a follow-up shown to ``shown`` give back a masked count?

    ``hidden_respondents`` are the respondents counted in the filter question's masked
    cells. With one answer each (``exclusive``) the masked cells' sum is already known
    (n minus the shown cells): only a part of them leaks. Otherwise any of them does.
    """
    inside = set(shown) & set(hidden_respondents)
    if not inside:
        return False
    return not exclusive or inside != set(hidden_respondents)


def hidden_sum(raw: Sequence[int], masked: Sequence[int | Hidden]) -> int:
    """What the masked cells hold together (already known as n minus the shown cells)."""
    return sum(r for r, m in zip(raw, masked, strict=True) if is_hidden(m))


def note() -> str:
    return _(
        "Counts below %(n)d are not shown (“< %(n)d”), nor any cell from which they could "
        "be recomputed (“masked”), so that no centre can be recognised."
    ) % {"n": threshold()}


def follow_up_note() -> str:
    return _(
        "Masked: the number of respondents to whom this question was shown would give back "
        "a masked count of the question that opens it."
    )
