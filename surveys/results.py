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
from surveys import answers, rules
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

MIN_CELL = 3  # a centre never sees a count below this (other centres could be recognised)
CATEGORICAL = frozenset(
    {QuestionType.SINGLE, QuestionType.LIKERT, QuestionType.YES_NO, QuestionType.MULTIPLE}
)


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

    @property
    def percentages(self) -> list[tuple[str, str, int, float]]:
        return [
            (code, label, count, 100.0 * count / self.answered if self.answered else 0.0)
            for code, label, count in self.counts
        ]

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
    question: Question, answers_list: list[tuple[Any, str]], shown: int, *, with_charts: bool = True
) -> QuestionResult:
    """Aggregate ``[(value, other_text)]`` of the respondents who answered ``question``."""
    result = QuestionResult(question=question, shown=shown, answered=len(answers_list))
    labels = answers.option_labels(question)
    codes = answers.option_codes(question)
    qtype = question.type
    title = question.code
    if qtype in CATEGORICAL:
        counter = Counter()
        for value, other in answers_list:
            for code in value if isinstance(value, list) else [value]:
                counter[code] += 1
            if other:
                result.texts.append(other)
        result.counts = [(c, labels[c], counter[c]) for c in codes]
        if with_charts and result.answered:
            if qtype == QuestionType.LIKERT:
                result.chart = charts.stacked_bar_chart(
                    [question.code],
                    [(labels[c], [counter[c]]) for c in codes],
                    title=title,
                    diverging=True,
                )
            else:
                result.chart = charts.bar_chart(
                    [labels[c] for c in codes],
                    [round(100.0 * counter[c] / result.answered, 1) for c in codes],
                    title=title,
                    unit=" %",
                    max_value=100,
                )
    elif qtype in NUMERIC_TYPES:
        result.values = sorted(float(v) for v, _o in answers_list)
        result.stats = charts.box_stats(result.values)
        if with_charts and result.values:
            result.chart = charts.box_plot(
                [(question.code, result.values)],
                title=title,
                unit=question.unit and f" {question.unit}",
            )
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
        if with_charts and result.answered and qtype == QuestionType.MATRIX:
            # Rows × one answer (Likert-like columns): diverging stacked bars.
            result.chart = charts.stacked_bar_chart(
                [label for label, _c in result.matrix],
                [
                    (col, [counts[j] for _l, counts in result.matrix])
                    for j, col in enumerate(result.columns)
                ],
                title=title,
                diverging=len(codes) in (4, 5),
            )
        elif with_charts and result.answered:
            # Rows × several answers: heatmap of the share of respondents ticking each cell.
            shares = [
                [round(100.0 * n / result.answered, 0) for n in counts]
                for _label, counts in result.matrix
            ]
            result.heatmap = charts.heatmap(
                [label for label, _c in result.matrix],
                result.columns,
                shares,
                title=f"{title} (%)",
                vmin=0,
                vmax=100,
                decimals=0,
            )
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
        if with_charts and result.answered:
            result.chart = charts.bar_chart(
                [s[0] for s in result.scores],
                [round(s[1], 2) for s in result.scores],
                title=title,
                max_value=top,
            )
    elif qtype in TEXT_TYPES:
        result.texts = [str(v) for v, _o in answers_list]
    else:
        result.values = sorted(str(v) for v, _o in answers_list)
        years = Counter(v[:4] for v in result.values)
        result.counts = [(y, y, n) for y, n in sorted(years.items())]
    return result


def campaign_results(
    campaign: Campaign,
    sector: str = "",
    departement: str = "",
    *,
    with_charts: bool = True,
    structure: Structure | None = None,
    responses: list[Response] | None = None,
) -> CampaignResults:
    structure = structure or version_structure(campaign.version)
    responses = responses if responses is not None else _filtered(campaign, sector, departement)
    values = responses_values(responses, structure)
    visible = {pk: rules.visible_codes(structure.rule_list, v[0]) for pk, v in values.items()}
    questions = []
    for question in structure.questions:
        shown = [pk for pk in values if question.code in visible[pk]]
        answered = []
        for pk in shown:
            value = values[pk][0].get(question.code)
            if value not in (None, "", [], {}):
                answered.append((answers.json_value(value), values[pk][1].get(question.code, "")))
        questions.append(question_result(question, answered, len(shown), with_charts=with_charts))
    return CampaignResults(
        structure=structure,
        responses=responses,
        questions=questions,
        values=values,
        visible=visible,
    )


# --- Centre view ----------------------------------------------------------------------
def suppress(count: int) -> str | int:
    return count if count >= MIN_CELL or count == 0 else f"< {MIN_CELL}"


@dataclass
class CentreRow:
    question: Question
    own: str
    regional: list[tuple[str, Any]]
    note: str = ""
    answered: int = 0
    shown: int = 0


def centre_comparison(campaign: Campaign, centre) -> list[CentreRow]:
    """The centre's own answers next to the regional distribution, small cells suppressed."""
    data = campaign_results(campaign, with_charts=False)
    own_response = next((r for r in data.responses if r.centre_id == centre.pk), None)
    if own_response is None:
        own_response = campaign.responses.filter(centre=centre).first()
    own_values, own_others = ({}, {})
    if own_response is not None:
        own_values, own_others = responses_values([own_response], data.structure)[own_response.pk]
    rows = []
    for result in data.questions:
        question = result.question
        own = answers.display(
            question, own_values.get(question.code), own_others.get(question.code, "")
        )
        row = CentreRow(
            question=question, own=own, regional=[], answered=result.answered, shown=result.shown
        )
        if result.answered < MIN_CELL:
            row.note = _(
                "Fewer than %(n)d centres answered: the regional figures are not shown."
            ) % {"n": MIN_CELL}
        elif result.kind == "choice" or result.kind == "date":
            row.regional = [(label, suppress(count)) for _c, label, count in result.counts]
        elif result.kind == "number" and result.stats:
            s = result.stats
            row.regional = [
                (_("median"), charts.fmt(s.median)),
                (_("interquartile range"), f"{charts.fmt(s.q1)} – {charts.fmt(s.q3)}"),
            ]
        elif result.kind == "matrix":
            for label, counts in result.matrix:
                cells = ", ".join(
                    f"{col} : {suppress(n)}" for col, n in zip(result.columns, counts, strict=True)
                )
                row.regional.append((label, cells))
        elif result.kind == "ranking":
            row.regional = [(label, charts.fmt(score, 2)) for label, score, _f in result.scores]
        else:
            row.note = _("Free-text answers are not shared between centres.")
        rows.append(row)
    return rows
