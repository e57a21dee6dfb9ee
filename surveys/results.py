"""Aggregates of a campaign: participation, per-question results, the centre comparison.

Each question is counted over the respondents for whom it was shown (N) and those who
answered it (n). The same numbers feed the dashboard, the centre view and the PDF report.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from onco_hdf import charts
from onco_hdf.models import Departement, Sector
from surveys import answers, rules, statistics, suppression
from surveys.models import (
    MATRIX_TYPES,
    NUMERIC_TYPES,
    TEXT_TYPES,
    Campaign,
    Question,
    QuestionType,
    Response,
    ResponseStatus,
)
from surveys.selectors import Structure, responses_values, version_structure

CATEGORICAL = frozenset(
    {QuestionType.SINGLE, QuestionType.LIKERT, QuestionType.YES_NO, QuestionType.MULTIPLE}
)
# Questions where one respondent may count in several cells (no complementary masking).
MULTI_ANSWER = frozenset({QuestionType.MULTIPLE})


def sector_choices():
    return Sector.choices


def departement_choices():
    return Departement.choices


# --- Participation --------------------------------------------------------------------
@dataclass
class ParticipationRow:
    centre: Any
    status: str
    status_label: str
    response: Response | None
    invitations: int
    opened: bool


@dataclass
class Participation:
    rows: list[ParticipationRow]
    expected: int
    submitted: int
    in_progress: int

    @property
    def rate(self) -> float:
        return 100.0 * self.submitted / self.expected if self.expected else 0.0

    @property
    def not_opened(self) -> int:
        return self.expected - self.submitted - self.in_progress


STATUS_NOT_OPENED = "not_opened"


def participation(campaign: Campaign) -> Participation:
    centres = {c.pk: c for c in campaign.centres.all()}
    responses: dict[int, list[Response]] = {}
    for response in campaign.responses.select_related("centre"):
        centres.setdefault(response.centre_id, response.centre)
        responses.setdefault(response.centre_id, []).append(response)
    invitations = Counter(campaign.invitations.values_list("centre_id", flat=True))
    opened = set(
        campaign.invitations.filter(opened_at__isnull=False).values_list("centre_id", flat=True)
    )
    labels = {
        STATUS_NOT_OPENED: _("Not opened"),
        ResponseStatus.IN_PROGRESS: _("In progress"),
        ResponseStatus.REOPENED: _("Reopened"),
        ResponseStatus.SUBMITTED: _("Submitted"),
    }
    rows = []
    for centre in sorted(centres.values(), key=lambda c: c.name):
        found = responses.get(centre.pk, [])
        best = next((r for r in found if r.status == ResponseStatus.SUBMITTED), None) or (
            found[0] if found else None
        )
        status = best.status if best else STATUS_NOT_OPENED
        rows.append(
            ParticipationRow(
                centre,
                status,
                str(labels[status]),
                best,
                invitations.get(centre.pk, 0),
                centre.pk in opened,
            )
        )
    submitted = sum(1 for r in rows if r.status == ResponseStatus.SUBMITTED)
    in_progress = sum(
        1 for r in rows if r.status in (ResponseStatus.IN_PROGRESS, ResponseStatus.REOPENED)
    )
    return Participation(
        rows=rows, expected=len(rows), submitted=submitted, in_progress=in_progress
    )


# --- Per-question results -------------------------------------------------------------
@dataclass
class QuestionResult:
    question: Question
    shown: int  # N
    answered: int  # n
    counts: list[tuple[str, str, int]] = field(default_factory=list)  # code, label, count
    stats: Any = None
    values: list = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    matrix: list[tuple[str, list[int]]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    scores: list[tuple[str, float, int]] = field(default_factory=list)
    chart: Any = None
    heatmap: Any = None
    masked: bool = False  # the small-count rule was applied (cells may be Hidden)
    suppressed: bool = False  # too few answers: nothing but n is shown
    # Masked whole across a branching (rule 5): not even N or n is shown.
    follow_up_masked: bool = False
    hidden_sums: list[int] = field(default_factory=list)

    @property
    def percentages(self) -> list[tuple[str, str, Any, float | None]]:
        """``(code, label, count, %)``; the % of a masked cell is None."""
        return [
            (
                code,
                label,
                count,
                None
                if suppression.is_hidden(count)
                else (statistics.percent_value(count, self.answered) or 0.0),
            )
            for code, label, count in self.counts
        ]

    @property
    def has_hidden(self) -> bool:
        cells = [n for _c, _l, n in self.counts] + [n for _l, row in self.matrix for n in row]
        return self.suppressed or any(suppression.is_hidden(n) for n in cells)

    @property
    def limit(self) -> int:
        return suppression.threshold()

    @property
    def shown_display(self):
        """N, itself masked when small (it can tell how a filter question was answered)."""
        if self.follow_up_masked:
            return suppression.Hidden(suppression.threshold(), primary=False)
        return suppression.mask(self.shown) if self.masked else self.shown

    @property
    def answered_display(self):
        """n as printed: masked with N when the question is masked across a branching."""
        if self.follow_up_masked:
            return suppression.Hidden(suppression.threshold(), primary=False)
        return self.answered

    @property
    def suppression_text(self) -> str:
        """Why a suppressed question shows no figure."""
        if self.follow_up_masked:
            return suppression.follow_up_note()
        return _(
            "Fewer than %(n)s answers (N = %(N)s respondents to whom the question was "
            "shown): the figures are not shown, so that no centre can be recognised."
        ) % {"n": suppression.threshold(), "N": self.shown_display}

    @property
    def suppression_note(self) -> str:
        return suppression.note()

    @property
    def kind(self) -> str:
        qtype = self.question.type
        if qtype in CATEGORICAL:
            return "choice"
        if qtype in NUMERIC_TYPES:
            return "number"
        if qtype in MATRIX_TYPES:
            return "matrix"
        if qtype == QuestionType.RANKING:
            return "ranking"
        if qtype in TEXT_TYPES:
            return "text"
        return "date"


@dataclass
class CampaignResults:
    structure: Structure
    responses: list[Response]
    questions: list[QuestionResult]
    values: dict[int, tuple[dict, dict]]
    visible: dict[int, set[str]]

    def by_code(self, code: str) -> QuestionResult | None:
        return next((q for q in self.questions if q.question.code == code), None)

    @property
    def too_few(self) -> bool:
        """The selection (e.g. one département) has too few responses to show anything."""
        return suppression.too_few(len(self.responses))

    @property
    def has_hidden(self) -> bool:
        return any(q.has_hidden for q in self.questions)


def _filtered(campaign: Campaign, sector: str = "", departement: str = "") -> list[Response]:
    responses = (
        campaign.responses.filter(status=ResponseStatus.SUBMITTED)
        .select_related("centre")
        .order_by("centre__name", "pk")
    )
    if sector:
        responses = responses.filter(centre__sector=sector)
    if departement:
        responses = responses.filter(centre__departement=departement)
    return list(responses)


def question_result(
    question: Question,
    answers_list: list[tuple[Any, str]],
    shown: int,
    *,
    with_charts: bool = True,
    suppress: bool = True,
) -> QuestionResult:
    """Aggregate ``[(value, other_text)]`` of the respondents who answered ``question``.

    ``suppress`` applies the small-count rule of :mod:`surveys.suppression` before anything
    is drawn; only the raw exports turn it off.
    """
    result = _aggregate(question, answers_list, shown)
    if suppress:
        _suppress(result)
    if with_charts and result.answered and not result.suppressed:
        _draw(result)
    return result


def _aggregate(question: Question, answers_list: list[tuple[Any, str]], shown: int):
    result = QuestionResult(question=question, shown=shown, answered=len(answers_list))
    labels = answers.option_labels(question)
    codes = answers.option_codes(question)
    qtype = question.type
    if qtype in CATEGORICAL:
        counter = Counter()
        for value, other in answers_list:
            for code in value if isinstance(value, list) else [value]:
                counter[code] += 1
            if other:
                result.texts.append(other)
        result.counts = [(c, labels[c], counter[c]) for c in codes]
    elif qtype in NUMERIC_TYPES:
        result.values = sorted(float(v) for v, _o in answers_list)
        result.stats = charts.box_stats(result.values)
    elif qtype in MATRIX_TYPES:
        result.columns = [labels[c] for c in codes]
        for row in question.rows():
            counts = []
            for code in codes:
                hits = 0
                for value, _o in answers_list:
                    cell = value.get(row.code)
                    if cell == code or (isinstance(cell, list) and code in cell):
                        hits += 1
                counts.append(hits)
            result.matrix.append((row.label, counts))
    elif qtype == QuestionType.RANKING:
        top = question.max_choices or len(codes)
        points, firsts = Counter(), Counter()
        for value, _o in answers_list:
            for rank, code in enumerate(value, 1):
                points[code] += top - rank + 1
                if rank == 1:
                    firsts[code] += 1
        result.scores = sorted(
            (
                (labels[c], points[c] / result.answered if result.answered else 0.0, firsts[c])
                for c in codes
            ),
            key=lambda item: -item[1],
        )
        result.counts = [(c, labels[c], firsts[c]) for c in codes]
    elif qtype in TEXT_TYPES:
        result.texts = [str(v) for v, _o in answers_list]
    else:
        result.values = sorted(str(v) for v, _o in answers_list)
        years = Counter(v[:4] for v in result.values)
        result.counts = [(y, y, n) for y, n in sorted(years.items())]
    return result


def _clear(result: QuestionResult) -> None:
    result.suppressed = True
    result.counts, result.matrix, result.scores = [], [], []
    result.values, result.texts, result.stats = [], [], None
    result.chart = result.heatmap = None
    result.hidden_sums = []


def _suppress(result: QuestionResult) -> None:
    """Mask in place what the small-count rule hides (see :mod:`surveys.suppression`)."""
    result.masked = True
    if suppression.too_few(result.answered):
        _clear(result)
        return
    qtype = result.question.type
    if result.counts:
        raw = [n for _c, _l, n in result.counts]
        masked = suppression.mask_counts(raw, exclusive=qtype not in MULTI_ANSWER)
        result.hidden_sums = [suppression.hidden_sum(raw, masked)]
        result.counts = [
            (c, label, m) for (c, label, _n), m in zip(result.counts, masked, strict=True)
        ]
        if qtype == QuestionType.RANKING:
            firsts = {label: m for _c, label, m in result.counts}
            result.scores = [(label, score, firsts[label]) for label, score, _f in result.scores]
    if result.matrix:
        rows, sums = [], []
        for label, counts in result.matrix:
            masked = suppression.mask_counts(counts, exclusive=qtype == QuestionType.MATRIX)
            rows.append((label, masked))
            sums.append(suppression.hidden_sum(counts, masked))
        result.matrix, result.hidden_sums = rows, sums
    if result.kind == "date":
        result.values = []  # each date is one respondent's answer; the years are counted


def _stacked_series(columns, rows, sums):
    """Series of a stacked bar chart; masked cells go together in one grey "masked" part."""
    series = [
        (col, [0 if suppression.is_hidden(cells[j]) else cells[j] for cells in rows])
        for j, col in enumerate(columns)
    ]
    if any(sums):
        series.append((str(suppression.Hidden(suppression.threshold(), primary=False)), sums))
    return series


def _draw(result: QuestionResult) -> None:
    question, qtype = result.question, result.question.type
    title = question.plain_label  # a chart is titled in words, never by its variable code
    sums = result.hidden_sums or []
    if qtype == QuestionType.LIKERT:
        result.chart = charts.stacked_bar_chart(
            [_("All respondents")],
            _stacked_series(
                [label for _c, label, _n in result.counts],
                [[n for _c, _l, n in result.counts]],
                sums,
            ),
            title=title,
            diverging=not any(sums),
        )
    elif qtype in CATEGORICAL:
        result.chart = charts.bar_chart(
            [label for _c, label, _n in result.counts],
            [statistics.percent_share(n, result.answered) for _c, _l, n in result.counts],
            title=title,
            unit=" %",
            max_value=100,
        )
    elif qtype in NUMERIC_TYPES and result.values:
        result.chart = charts.box_plot(
            [(_("All respondents"), result.values)],
            title=title,
            unit=question.unit and f" {question.unit}",
        )
    elif qtype == QuestionType.MATRIX:
        # Rows × one answer (Likert-like columns): diverging stacked bars.
        result.chart = charts.stacked_bar_chart(
            [label for label, _c in result.matrix],
            _stacked_series(result.columns, [c for _l, c in result.matrix], sums),
            title=title,
            diverging=len(result.columns) in (4, 5) and not any(sums),
        )
    elif qtype in MATRIX_TYPES:
        # Rows × several answers: heatmap of the share of respondents ticking each cell.
        result.heatmap = charts.heatmap(
            [label for label, _c in result.matrix],
            result.columns,
            [
                [statistics.percent_share(n, result.answered) for n in counts]
                for _label, counts in result.matrix
            ],
            title=f"{title} (%)",
            vmin=0,
            vmax=100,
            decimals=statistics.PERCENT_DECIMALS,
        )
    elif qtype == QuestionType.RANKING:
        top = question.max_choices or len(answers.option_codes(question))
        result.chart = charts.bar_chart(
            [s[0] for s in result.scores],
            [round(s[1], 2) for s in result.scores],
            title=title,
            max_value=top,
        )


def campaign_results(
    campaign: Campaign,
    sector: str = "",
    departement: str = "",
    *,
    with_charts: bool = True,
    structure: Structure | None = None,
    responses: list[Response] | None = None,
    suppress: bool = True,
) -> CampaignResults:
    """Every question's aggregate over the submitted responses of the selection.

    The small-count rule applies unless ``suppress`` is False (raw exports, tests of the
    arithmetic); every page and report shows the suppressed figures.
    """
    structure = structure or version_structure(campaign.version)
    responses = responses if responses is not None else _filtered(campaign, sector, departement)
    values = responses_values(responses, structure)
    visible = {pk: rules.visible_codes(structure.rule_list, v[0]) for pk, v in values.items()}
    questions = []
    # Respondents counted in each question's masked cells (rule 5), and whether they gave
    # one answer each.
    hidden_by_code: dict[str, tuple[set[int], bool]] = {}
    for question in structure.questions:
        shown = [pk for pk in values if question.code in visible[pk]]
        answered, answered_pks = [], []
        for pk in shown:
            value = values[pk][0].get(question.code)
            if value not in (None, "", [], {}):
                answered.append((answers.json_value(value), values[pk][1].get(question.code, "")))
                answered_pks.append(pk)
        # A small N is masked already ("< k") and tells nothing more.
        leaks = (
            suppress
            and not suppression.too_few(len(shown))
            and any(
                suppression.follow_up_leaks(
                    shown, hidden_by_code[code][0], exclusive=hidden_by_code[code][1]
                )
                for code in rules.referenced_codes(question.show_if)
                if code in hidden_by_code
            )
        )
        result = question_result(
            question,
            answered,
            len(shown),
            with_charts=with_charts and not leaks,
            suppress=suppress,
        )
        if leaks:
            _clear(result)
            result.follow_up_masked = True
        if suppress:
            hidden_by_code[question.code] = _hidden_respondents(result, answered_pks, answered)
        questions.append(result)
    return CampaignResults(
        structure=structure,
        responses=responses,
        questions=questions,
        values=values,
        visible=visible,
    )


# Questions with one answer per respondent: their masked cells' sum is known from n.
ONE_ANSWER = frozenset({QuestionType.SINGLE, QuestionType.YES_NO, QuestionType.LIKERT})


def _hidden_respondents(result: QuestionResult, pks, answered) -> tuple[set[int], bool]:
    """``(respondents in the masked cells, one answer each)`` once the rule is applied."""
    if result.suppressed:  # nothing shown: each of its respondents is behind a mask
        return set(pks), False
    question = result.question
    hidden = {code for code, _l, n in result.counts if suppression.is_hidden(n)}
    rows = [row.code for row in question.rows()] if result.matrix else []
    hidden_rows = {
        (rows[i], code)
        for i, (_label, cells) in enumerate(result.matrix)
        for code, n in zip(answers.option_codes(question), cells, strict=True)
        if suppression.is_hidden(n)
    }
    inside = set()
    for pk, (value, _other) in zip(pks, answered, strict=True):
        if isinstance(value, dict):
            given = {
                (row, str(v))
                for row, cell in value.items()
                for v in (cell if isinstance(cell, list) else [cell])
            }
            if given & hidden_rows:
                inside.add(pk)
        elif _own_codes(question, value) & hidden:
            inside.add(pk)
    return inside, question.type in ONE_ANSWER


# --- Centre view ----------------------------------------------------------------------
@dataclass
class RegionalCell:
    """One line of the regional distribution beside a centre's answer."""

    label: str
    value: Any  # a count (maybe masked) or a formatted figure
    share: str = ""  # "63 %", empty when masked or not a count
    mine: bool = False  # the centre gave this answer


@dataclass
class CentreRow:
    question: Question
    own: str
    regional: list[RegionalCell]
    note: str = ""
    answered: int = 0
    shown: int = 0


@dataclass
class CentreComparison:
    centre: Any
    response: Response | None
    submitted: int  # submitted responses of the region (the centre's included)
    rows: list[CentreRow]


def _own_codes(question: Question, value) -> set[str]:
    if value in (None, "", [], {}):
        return set()
    if question.type in (QuestionType.DATE, QuestionType.MONTH):
        return {str(value)[:4]}
    return {str(v) for v in value} if isinstance(value, list) else {str(value)}


def _count_cells(result: QuestionResult, mine: set[str]) -> list[RegionalCell]:
    return [
        RegionalCell(
            label,
            count,
            "" if pct is None else statistics.percent_text(pct),
            code in mine,
        )
        for code, label, count, pct in result.percentages
    ]


def centre_comparison(campaign: Campaign, centre) -> CentreComparison:
    """The centre's own answers next to the regional distribution, with the small-count
    rule of every other view: no figure lets another centre be recognised."""
    data = campaign_results(campaign, with_charts=False)
    own_response = next((r for r in data.responses if r.centre_id == centre.pk), None)
    if own_response is None:
        own_response = campaign.responses.filter(centre=centre).order_by("pk").first()
    own_values, own_others = ({}, {})
    if own_response is not None:
        own_values, own_others = responses_values([own_response], data.structure)[own_response.pk]
    rows = []
    for result in data.questions:
        question = result.question
        value = own_values.get(question.code)
        own = answers.display(question, value, own_others.get(question.code, ""))
        row = CentreRow(
            question=question, own=own, regional=[], answered=result.answered, shown=result.shown
        )
        if result.follow_up_masked:
            row.note = suppression.follow_up_note()
        elif result.suppressed or not result.answered:
            row.note = _(
                "Fewer than %(n)d centres answered: the regional figures are not shown."
            ) % {"n": suppression.threshold()}
        elif result.kind in ("choice", "date"):
            row.regional = _count_cells(result, _own_codes(question, answers.json_value(value)))
        elif result.kind == "number" and result.stats:
            s = result.stats
            unit = question.unit or ""
            row.regional = [
                RegionalCell(_("median"), statistics.number_text(s.median, unit)),
                RegionalCell(
                    _("interquartile range"),
                    f"{charts.fmt(s.q1)} – {statistics.number_text(s.q3, unit)}",
                ),
            ]
        elif result.kind == "matrix":
            for label, counts in result.matrix:
                cells = ", ".join(
                    f"{col} : {n}" for col, n in zip(result.columns, counts, strict=True)
                )
                row.regional.append(RegionalCell(label, cells))
        elif result.kind == "ranking":
            row.regional = [
                RegionalCell(label, charts.fmt(score, 2)) for label, score, _f in result.scores
            ]
        else:
            row.note = _("Free-text answers are not shared between centres.")
        rows.append(row)
    return CentreComparison(
        centre=centre, response=own_response, submitted=len(data.responses), rows=rows
    )
