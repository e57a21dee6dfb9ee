"""The survey report: one document model, rendered as PDF (registered "surveys.report").

:func:`report_document` builds the whole report as numbered chapters of blocks
(paragraphs, numbered tables and figures, quotes); the PDF template and the Word copy
both walk the same blocks, so they have the same sections, numbers and words.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from onco_hdf import charts
from onco_hdf.jobs import JobInputError
from onco_hdf.models import Departement, Sector
from onco_hdf.reports import ReportSpec
from surveys import answers, statistics, suppression
from surveys.models import MATRIX_TYPES, Campaign, QuestionType, ResponseStatus, ResponseUnit
from surveys.results import (
    CATEGORICAL,
    CampaignResults,
    QuestionResult,
    campaign_results,
    participation,
)
from surveys.selectors import campaign_list_for_user
from surveys.services import SECTOR


# --- Blocks of the document -----------------------------------------------------------
@dataclass
class Paragraph:
    text: str
    muted: bool = False
    kind: str = "paragraph"


@dataclass
class RichText:
    """The project manager's Markdown, rendered and sanitised by :mod:`surveys.richtext`."""

    source: str
    kind: str = "rich"


@dataclass
class Bullets:
    items: list[str]
    kind: str = "bullets"


@dataclass
class Quotes:
    items: list[str]
    kind: str = "quotes"


@dataclass
class Heading:
    title: str
    number: str = ""
    anchor: str = ""
    level: int = 2
    kind: str = "heading"

    @property
    def text(self) -> str:
        return f"{self.number} {self.title}" if self.number else self.title


@dataclass
class Table:
    number: int
    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""
    numeric_from: int = 1  # columns from this index are right-aligned numbers
    kind: str = "table"

    @property
    def caption(self) -> str:
        return _("Table %(number)d — %(title)s") % {"number": self.number, "title": self.title}


@dataclass
class Figure:
    number: int
    title: str
    chart: charts.Svg
    note: str = ""
    kind: str = "figure"

    @property
    def caption(self) -> str:
        return _("Figure %(number)d — %(title)s") % {"number": self.number, "title": self.title}


@dataclass
class Chapter:
    number: str
    anchor: str
    title: str
    blocks: list = field(default_factory=list)

    @property
    def heading(self) -> str:
        return f"{self.number}. {self.title}" if self.number else self.title


class Numbering:
    """Figures and tables are numbered in reading order, across the whole report."""

    def __init__(self) -> None:
        self.figures = 0
        self.tables = 0

    def figure(self, title: str, chart, note: str = "") -> Figure | None:
        if not chart:
            return None
        self.figures += 1
        return Figure(self.figures, title, chart, note)

    def table(self, title: str, header, rows, note: str = "", numeric_from: int = 1) -> Table:
        self.tables += 1
        return Table(self.tables, title, list(header), rows, note, numeric_from)


def unit_words(campaign: Campaign, n: int) -> str:
    """ "n = 8 centres" or "n = 8 respondents", as the campaign's response unit says."""
    if campaign.unit == ResponseUnit.CENTRE:
        return ngettext("n = %(n)d centre", "n = %(n)d centres", n) % {"n": n}
    return ngettext("n = %(n)d respondent", "n = %(n)d respondents", n) % {"n": n}


def titled(label: str, campaign: Campaign, n: int) -> str:
    return f"{label} ({unit_words(campaign, n)})"


# --- Cross-tabulations ----------------------------------------------------------------
@dataclass
class CrossTab:
    row_label: str
    column_label: str
    rows: list[str]
    columns: list[str]
    counts: list[list[int | suppression.Hidden]]  # as printed: the small-count rule applied
    total: int
    raw: list[list[int]] = field(default_factory=list)  # for the test and the totals only
    # Totals as printed: masked with the cells so that no line gives a masked cell back.
    printed_row_totals: list = field(default_factory=list)
    printed_column_totals: list = field(default_factory=list)
    printed_total: object = None
    test: statistics.TestResult | None = None
    chart: object = None

    @property
    def rows_counts(self) -> list[tuple[str, list]]:
        return list(zip(self.rows, self.counts, strict=True))

    @property
    def row_totals(self) -> list[int]:
        return [sum(r) for r in self.raw]

    @property
    def column_totals(self) -> list[int]:
        return [sum(r[j] for r in self.raw) for j in range(len(self.columns))]

    def table_rows(self) -> list[list[str]]:
        """Counts with their row percentage, the row totals, and a total row; a masked
        cell or total is printed as the rule says, without a percentage."""
        lines = []
        rows = zip(self.rows, self.counts, self.row_totals, self.printed_row_totals, strict=True)
        for label, counts, total, printed in rows:
            # A row whose total is masked prints no percentage: it would give the total back.
            cells = [
                str(n)
                if suppression.is_hidden(n) or not total or suppression.is_hidden(printed)
                else f"{n} ({statistics.percent_text(statistics.percent_value(n, total))})"
                for n in counts
            ]
            lines.append([label, *cells, str(printed)])
        totals = [str(n) for n in self.printed_column_totals]
        lines.append([_("Total"), *totals, str(self.printed_total)])
        return lines


def _categories(data: CampaignResults, code: str):
    """``(title, [(key, label)], value_of(response) -> list of keys, one_each)``."""
    if code == SECTOR:
        return (_("Sector"), list(Sector.choices), lambda r: [r.centre.sector], True)
    question = data.structure.by_code[code]
    if question.type not in CATEGORICAL:
        # A matrix or a ranking has no single answer per respondent to cross.
        raise JobInputError(
            _("The cross-tabulation uses %(code)s, which is not a choice question.")
            % {"code": code}
        )
    labels = answers.option_labels(question)
    keys = [(c, labels[c]) for c in answers.option_codes(question)]

    def value_of(response):
        if code not in data.visible[response.pk]:
            return []
        value = data.values[response.pk][0].get(code)
        return value if isinstance(value, list) else ([value] if value else [])

    return (question.plain_label, keys, value_of, question.type != QuestionType.MULTIPLE)


def cross_tab(data: CampaignResults, row_code: str, column_code: str) -> CrossTab:
    row_title, row_keys, row_of, row_one = _categories(data, row_code)
    col_title, col_keys, col_of, col_one = _categories(data, column_code)
    counter: Counter = Counter()
    total = 0
    for response in data.responses:
        rows, cols = row_of(response), col_of(response)
        if rows and cols:
            total += 1
        for r in rows:
            for c in cols:
                counter[(r, c)] += 1
    raw = [[counter[(r, c)] for c, _l in col_keys] for r, _l in row_keys]
    counts, row_totals, column_totals, grand_total = suppression.mask_table(raw)
    table = CrossTab(
        row_title,
        col_title,
        [lab for _k, lab in row_keys],
        [lab for _k, lab in col_keys],
        counts,
        total,
        raw,
        row_totals,
        column_totals,
        grand_total,
    )
    # The p-value is computed on the real counts: it identifies no cell.
    table.test = statistics.independence_test(raw, one_answer_each=row_one and col_one)
    if total:
        table.chart = charts.heatmap(
            table.rows,
            table.columns,
            [[None if suppression.is_hidden(n) else n for n in row] for row in counts],
            title=f"{row_title} × {col_title}",
            decimals=0,
        )
    return table


# --- Results of one question ----------------------------------------------------------
def question_blocks(result: QuestionResult, campaign: Campaign, numbering: Numbering) -> list:
    """A question's table(s) and figure, numbered and titled in words."""
    question = result.question
    label = question.plain_label
    n, shown = result.answered, result.shown_display
    coverage = _("%(n)s answers out of %(N)s respondents to whom the question was shown.") % {
        "n": result.answered_display,
        "N": shown,
    }
    blocks: list = [Heading(label, level=3)]
    if not n:
        blocks.append(Paragraph(_("No answer.") + " " + coverage, muted=True))
        return blocks
    if result.suppressed:
        blocks.append(Paragraph(result.suppression_text, muted=True))
        return blocks
    kind = result.kind
    title = titled(label, campaign, n)
    if kind == "choice":
        rows = []
        for _code, choice, count in result.counts:
            if suppression.is_hidden(count):
                rows.append([choice, str(count), "—", "—"])
                continue
            share = statistics.proportion(count, n)
            rows.append(
                [choice, str(count), statistics.percent_text(share.percent), share.interval_range]
            )
        note = coverage
        if question.type == QuestionType.MULTIPLE:
            note += " " + _("Several answers possible: percentages of the respondents.")
        blocks.append(
            numbering.table(
                title,
                [pgettext("table header", "Answer"), _("n"), "%", _("95% CI (Wilson)")],
                rows,
                note,
            )
        )
    elif kind == "number" and result.values:
        s = statistics.summary(result.values, question.unit)
        blocks.append(
            numbering.table(
                title,
                [_("n / N"), _("Median [IQR]"), _("Range")],
                [
                    [
                        f"{n} / {shown}",
                        s.text,
                        f"{charts.fmt(s.minimum)} – {charts.fmt(s.maximum)}",
                    ]
                ],
                coverage,
                numeric_from=0,
            )
        )
    elif kind == "matrix":
        rows = []
        for row_label, counts in result.matrix:
            rows.append(
                [row_label]
                + [
                    str(c)
                    if suppression.is_hidden(c)
                    else f"{c} ({statistics.percent_text(statistics.percent_value(c, n))})"
                    for c in counts
                ]
            )
        blocks.append(
            numbering.table(
                title,
                ["", *result.columns],
                rows,
                coverage + " " + _("Percentages of the respondents, per row."),
            )
        )
    elif kind == "ranking":
        rows = [
            [
                item,
                charts.fmt(score, 2),
                str(firsts)
                if suppression.is_hidden(firsts)
                else statistics.proportion(firsts, n).text,
            ]
            for item, score, firsts in result.scores
        ]
        blocks.append(
            numbering.table(
                title,
                [_("Item"), _("Mean score"), _("Ranked first")],
                rows,
                coverage
                + " "
                + _("Score: points per respondent (first rank = most points), averaged."),
            )
        )
    elif kind == "date":
        rows = [[year, str(count)] for _c, year, count in result.counts]
        blocks.append(numbering.table(title, [_("Year"), _("n")], rows, coverage))
    elif kind == "text":
        blocks.append(
            Paragraph(coverage + " " + _("The answers are in the free-text chapter."), muted=True)
        )
    figure = numbering.figure(title, result.chart or result.heatmap)
    if figure:
        blocks.append(figure)
    if result.has_hidden:
        blocks.append(Paragraph(suppression.note(), muted=True))
    if kind == "choice" and result.texts:
        blocks.append(Paragraph(_("“Other” answers:")))
        blocks.append(Quotes(sorted(result.texts, key=str.lower)))
    return blocks


# --- Key findings ---------------------------------------------------------------------
def _choice_share(result: QuestionResult | None, codes) -> statistics.Proportion | None:
    if result is None or not result.answered:
        return None
    parts = [count for code, _l, count in result.counts if code in codes]
    if any(suppression.is_hidden(c) for c in parts):
        return None  # the sum would give the masked cell back
    return statistics.proportion(sum(parts), result.answered)


def _shown_counts(result: QuestionResult) -> list[tuple[str, str, int]]:
    """The counts the small-count rule lets the report print (masked cells left out)."""
    return [c for c in result.counts if not suppression.is_hidden(c[2]) and c[2]]


def key_findings(campaign: Campaign, data: CampaignResults, follow) -> list[str]:
    """The 5–8 sentences that matter, written from the numbers."""
    from surveys.autocontouring import KEY_FINDINGS

    found = [
        _("%(submitted)d of the %(expected)d centres surveyed answered: %(share)s.")
        % {
            "submitted": follow.submitted,
            "expected": follow.expected,
            "share": statistics.proportion(follow.submitted, follow.expected).text,
        }
    ]
    spec = KEY_FINDINGS if data.by_code(KEY_FINDINGS["usage"][0]) else None
    if spec:
        code, codes = spec["usage"]
        usage = data.by_code(code)
        share = _choice_share(usage, codes)
        if share:
            found.append(
                _("%(share)s of the responding centres use AI auto-contouring.")
                % {"share": share.text}
            )
        elif usage and (shown := [c for c in _shown_counts(usage) if c[0] in codes]):
            # A part is masked: its sum would give it back, so the shown part only.
            _code, answer, count = max(shown, key=lambda c: c[2])
            found.append(
                _("%(share)s of the responding centres answered “%(answer)s”.")
                % {"share": statistics.proportion(count, usage.answered).text, "answer": answer}
            )
        solutions = data.by_code(spec["solutions"])
        top = []
        if solutions and solutions.answered:
            top = sorted(_shown_counts(solutions), key=lambda c: (-c[2], c[1].lower()))[:3]
        if solutions and top:
            found.append(
                _("Most used solutions: %(list)s.")
                % {
                    "list": "; ".join(
                        f"{label} {statistics.proportion(count, solutions.answered).text}"
                        for _c, label, count in top
                    )
                }
            )
        minutes = data.by_code(spec["time"])
        if minutes and minutes.values:
            found.append(
                _("Median time saved per patient: %(summary)s (%(n)s).")
                % {
                    "summary": statistics.summary(minutes.values, minutes.question.unit).text,
                    "n": unit_words(campaign, len(minutes.values)),
                }
            )
        obstacles = data.by_code(spec["obstacles"])
        if obstacles and obstacles.answered:
            top = [s for s in obstacles.scores if s[1]][:3]
            found.append(
                _("Main obstacles (ranking score): %(list)s.")
                % {
                    "list": "; ".join(
                        f"{label} ({charts.fmt(score, 2)})" for label, score, _f in top
                    )
                }
            )
    quoted = (
        {spec["usage"][0], spec["solutions"], spec["time"], spec["obstacles"]} if spec else set()
    )
    if len(found) < 5:  # any questionnaire: the most frequent answer of its first choices
        for result in data.questions:
            if len(found) >= 6:
                break
            shown = _shown_counts(result) if result.kind == "choice" else []
            if not shown or result.question.code in quoted:
                continue
            code, label, count = max(shown, key=lambda c: c[2])
            found.append(
                _("%(question)s — most frequent answer “%(answer)s”: %(share)s.")
                % {
                    "question": result.question.plain_label,
                    "answer": label,
                    "share": statistics.proportion(count, result.answered).text,
                }
            )
    return found[:8]


# --- The document ---------------------------------------------------------------------
def _reminder_text(campaign: Campaign) -> str:
    sent = list(campaign.reminders.order_by("sent_at"))
    parts = [
        _("%(date)s (%(kind)s, %(count)d sent)")
        % {
            "date": timezone.localtime(r.sent_at).strftime("%d/%m/%Y"),
            "kind": r.get_kind_display().lower(),
            "count": r.sent_count,
        }
        for r in sent
    ]
    # Reminders sent one invitation at a time are counted on the invitations only.
    counted = sum(campaign.invitations.values_list("reminder_count", flat=True))
    logged = sum(r.sent_count for r in sent)
    if counted > logged:
        parts.append(
            ngettext(
                "%(n)d individual reminder",
                "%(n)d individual reminders",
                counted - logged,
            )
            % {"n": counted - logged}
        )
    if not parts:
        return _("no reminder was sent")
    return " ; ".join(parts)


def _rates(rows, key, labels) -> list[tuple[str, statistics.Proportion]]:
    """``[(group label, submitted / centres)]`` for the groups that have centres."""
    groups: dict = {}
    for row in rows:
        groups.setdefault(key(row), []).append(row)
    found = []
    for code, label in labels:
        members = groups.get(code, [])
        if members:
            done = sum(1 for r in members if r.status == ResponseStatus.SUBMITTED)
            found.append((label, statistics.proportion(done, len(members))))
    return found


def _rate_rows(rows, key, labels) -> list[list[str]]:
    return [[label, str(s.n), str(s.k), s.text] for label, s in _rates(rows, key, labels)]


def methods_chapter(campaign, data, follow, numbering) -> list:
    version = campaign.version
    invitations = campaign.invitations.count()
    rows = [
        [_("Population"), _("%(n)d radiotherapy centres of the region") % {"n": follow.expected}],
        [
            _("Questionnaire"),
            _("%(title)s — version %(number)d, %(questions)d questions")
            % {
                "title": version.title,
                "number": version.number,
                "questions": len(data.structure.questions),
            },
        ],
        [
            _("Collection period"),
            f"{campaign.opens_on:%d/%m/%Y} – {campaign.closes_on:%d/%m/%Y}",
        ],
        [
            _("Invitations"),
            ngettext(
                "%(n)d personal link sent by e-mail",
                "%(n)d personal links sent by e-mail",
                invitations,
            )
            % {"n": invitations},
        ],
        [_("Reminders"), _reminder_text(campaign)],
        [_("Response unit"), campaign.get_unit_display()],
    ]
    return [
        numbering.table(_("Survey design"), [_("Item"), _("Value")], rows, numeric_from=99),
        Heading(_("Branching and missing data"), level=3),
        Paragraph(
            _(
                "Only submitted responses are analysed. Some questions are shown only when an "
                "earlier answer calls for them: each question is counted over N, the "
                "respondents to whom it was shown, and n, those who answered it. "
                "Percentages are computed on n; a question left blank is missing data and "
                "is not imputed."
            )
        ),
        Heading(_("Statistics"), level=3),
        Paragraph(
            _(
                "Proportions are given with n/N and their 95% confidence interval (Wilson "
                "score interval). Numbers are summarised by their median [interquartile "
                "range]. Cross-tabulations give counts with row percentages and totals; "
                "independence is tested with Fisher's exact test for a 2×2 table and with "
                "Pearson's χ² test for a larger one when its expected counts allow it "
                "(all ≥ 1, at most 20% below 5). Changes between waves are differences of "
                "proportions with Newcombe's interval. Percentages are rounded to the "
                "unit, half away from zero, in tables, figures and text alike."
            )
        ),
        Heading(_("Small counts"), level=3),
        Paragraph(
            suppression.note()
            + " "
            + _(
                "The rule is the same in this report, on the results pages and in every "
                "view: a question answered by fewer than %(n)d respondents shows only its n."
            )
            % {"n": suppression.threshold()}
        ),
    ]


def participation_chapter(campaign, follow, numbering) -> list:
    blocks: list = [
        Paragraph(
            _(
                "%(submitted)d responses submitted out of %(expected)d centres: response "
                "rate %(share)s; %(progress)d in progress and %(silent)d not opened at the "
                "time of the report."
            )
            % {
                "submitted": follow.submitted,
                "expected": follow.expected,
                "share": statistics.proportion(follow.submitted, follow.expected).text,
                "progress": follow.in_progress,
                "silent": follow.not_opened,
            }
        )
    ]
    figure = numbering.figure(
        titled(_("Participation of the centres"), campaign, follow.expected),
        charts.bar_chart(
            [_("Submitted"), _("In progress"), _("Not opened")],
            [follow.submitted, follow.in_progress, follow.not_opened],
            title=_("Participation of the centres"),
        ),
    )
    blocks.append(figure)
    header = [_("Group"), _("Centres"), _("Responses"), _("Response rate (95% CI)")]
    blocks.append(
        numbering.table(
            _("Response rate by sector"),
            header,
            _rate_rows(follow.rows, lambda r: r.centre.sector, Sector.choices),
        )
    )
    blocks.append(
        numbering.table(
            _("Response rate by département"),
            header,
            _rate_rows(follow.rows, lambda r: r.centre.departement, Departement.choices),
        )
    )
    blocks.append(
        numbering.table(
            _("Centres surveyed"),
            [_("Centre"), _("Sector"), _("Département"), _("Status")],
            [
                [
                    r.centre.name,
                    r.centre.get_sector_display(),
                    r.centre.departement,
                    r.status_label,
                ]
                for r in follow.rows
            ],
            numeric_from=99,
        )
    )
    return blocks


def crosstab_blocks(campaign, data, numbering) -> list:
    blocks: list = []
    for row_code, column_code in campaign.cross_tabs:
        table = cross_tab(data, row_code, column_code)
        title = titled(f"{table.row_label} × {table.column_label}", campaign, table.total)
        blocks.append(Heading(f"{table.row_label} × {table.column_label}", level=3))
        blocks.append(
            numbering.table(
                title,
                ["", *table.columns, _("Total")],
                table.table_rows(),
                _("Counts (row percentage).") + " " + table.test.text,
            )
        )
        figure = numbering.figure(title, table.chart)
        if figure:
            blocks.append(figure)
    if not blocks:
        blocks.append(Paragraph(_("No cross-tabulation was chosen for this report."), muted=True))
    return blocks


def free_text_blocks(campaign, data) -> list:
    from surveys.themes import group_texts

    blocks: list = [
        Paragraph(
            _(
                "Answers are quoted as written, anonymised (centre names, people, e-mail "
                "addresses and telephone numbers removed), grouped under the themes set by "
                "the project team."
            ),
            muted=True,
        )
    ]
    any_text = False
    for result in data.questions:
        if not (result.kind == "text" and result.texts):
            continue
        any_text = True
        blocks.append(Heading(result.question.plain_label, level=3))
        for theme, quotes in group_texts(campaign, result.question.code, result.texts):
            blocks.append(Paragraph(f"{theme} ({len(quotes)})"))
            blocks.append(Quotes(quotes))
    if not any_text:
        blocks.append(Paragraph(_("No free-text answer."), muted=True))
    return blocks


def limitations_blocks(campaign, data, follow) -> list:
    items = []
    missing = follow.expected - follow.submitted
    if missing:
        items.append(
            ngettext(
                "%(n)d centre surveyed did not submit a response: its practice is unknown "
                "and the figures describe the respondents, not the whole region.",
                "%(n)d centres surveyed did not submit a response: their practice is "
                "unknown and the figures describe the respondents, not the whole region.",
                missing,
            )
            % {"n": missing}
        )
    rates = [
        (share.percent, label)
        for label, share in _rates(follow.rows, lambda r: r.centre.sector, Sector.choices)
    ]
    if len(rates) > 1 and max(rates)[0] != min(rates)[0]:
        items.append(
            _(
                "Response rates differ by sector (from %(low)s for %(low_label)s to %(high)s "
                "for %(high_label)s): the results lean towards the sectors that answered most."
            )
            % {
                "low": statistics.percent_text(min(rates)[0]),
                "low_label": min(rates)[1],
                "high": statistics.percent_text(max(rates)[0]),
                "high_label": max(rates)[1],
            }
        )
    n = follow.submitted
    if n:
        low, high = statistics.proportion(n // 2, n).interval
        items.append(
            _(
                "With %(n)d responses, a proportion near 50%% is known to ±%(half)s points "
                "only (95%% CI): small differences between answers are not meaningful."
            )
            % {"n": n, "half": charts.fmt((high - low) / 2, 0)}
        )
    gaps = sorted(
        (
            (1 - r.answered / r.shown, r.question.plain_label)
            for r in data.questions
            if r.shown and r.answered < r.shown and not r.follow_up_masked
        ),
        reverse=True,
    )[:3]
    if gaps:
        items.append(
            _("Item non-response is highest for: %(list)s.")
            % {
                "list": "; ".join(
                    f"{label} ({statistics.percent_text(statistics.percent_value(share, 1))})"
                    for share, label in gaps
                )
            }
        )
    items.append(
        _(
            "Answers are declared by the centres and were not checked on site; one answer per "
            "%(unit)s."
        )
        % {"unit": campaign.get_unit_display().lower()}
    )
    return [Bullets(items)]


def questionnaire_blocks(data: CampaignResults) -> list:
    blocks: list = []
    for section in data.structure.sections:
        blocks.append(Heading(f"{section.code}. {section.title}", level=3))
        items = []
        for number, question in enumerate(section.question_list, 1):
            line = f"{section.code}{number}. {question.plain_label} [{question.code}]"
            if question.type in MATRIX_TYPES:
                line += " — " + _("rows: %(rows)s") % {
                    "rows": ", ".join(r.label for r in question.rows())
                }
            labels = answers.option_labels(question)
            codes = answers.option_codes(question)
            if codes:
                line += " — " + " / ".join(f"☐ {labels[c]}" for c in codes)
            if question.unit:
                line += f" ({question.unit})"
            if question.show_if:
                # In words for a reader, in codes for an analyst matching the data files.
                line += " — " + _("shown if %(words)s [%(codes)s]") % {
                    "words": answers.describe_rule_in_words(
                        question.show_if, data.structure.questions
                    ),
                    "codes": answers.describe_rule(question.show_if),
                }
            items.append(line)
        blocks.append(Bullets(items))
    return blocks


def codebook_table(data: CampaignResults, numbering: Numbering) -> Table:
    """One row per question: its variable(s), type, choice codes (not one row per dummy)."""
    from surveys.exports import question_variables

    rows = []
    for question in data.structure.questions:
        names = [v.name for v in question_variables(question)]
        variables = names[0] if len(names) == 1 else f"{names[0]} … {names[-1]} ({len(names)})"
        labels = answers.option_labels(question)
        choices = ", ".join(f"{c} = {labels[c]}" for c in answers.option_codes(question))
        if question.type in MATRIX_TYPES:
            choices = _("rows: %(rows)s; columns: %(cols)s") % {
                "rows": ", ".join(r.code for r in question.rows()),
                "cols": choices,
            }
        rows.append([question.code, variables, question.get_type_display(), choices])
    return numbering.table(
        _("Codebook"),
        [_("Question"), _("Variables"), _("Type"), _("Codes")],
        rows,
        _("The full codebook, one line per variable, is in the CSV export."),
        numeric_from=99,
    )


def report_document(campaign: Campaign) -> dict:
    """Every chapter of the report, with its numbered tables and figures."""
    data = campaign_results(campaign)
    follow = participation(campaign)
    numbering = Numbering()
    chapters: list[Chapter] = []

    def chapter(anchor: str, title: str, blocks: list) -> Chapter:
        entry = Chapter(str(len(chapters) + 1), anchor, title, [b for b in blocks if b])
        chapters.append(entry)
        return entry

    chapter("key-findings", _("Key findings"), [Bullets(key_findings(campaign, data, follow))])
    intro = campaign.introduction
    chapter(
        "context",
        _("Context and objectives"),
        [
            RichText(intro)
            if intro
            else (
                Paragraph(campaign.version.introduction) if campaign.version.introduction else None
            ),
            Paragraph(
                _(
                    "The survey describes, centre by centre, the installation and use of the "
                    "solutions studied by the questionnaire “%(title)s”, so that the network "
                    "can share practices and plan its regional work."
                )
                % {"title": campaign.version.title}
            ),
        ],
    )
    chapter("methods", _("Methods"), methods_chapter(campaign, data, follow, numbering))
    chapter("participation", _("Participation"), participation_chapter(campaign, follow, numbering))
    results = chapter("results", _("Results"), [])
    for index, section in enumerate(data.structure.sections, 1):
        results.blocks.append(
            Heading(section.title, f"{results.number}.{index}", f"section-{section.code}")
        )
        for result in data.questions:
            if result.question.section_id == section.pk:
                results.blocks.extend(question_blocks(result, campaign, numbering))
    waves = wave_blocks(campaign, data, numbering)
    if waves:
        chapter("waves", _("Comparison with the previous wave"), waves)
    chapter("crosstabs", _("Cross-tabulations"), crosstab_blocks(campaign, data, numbering))
    chapter("free-texts", _("Free-text answers"), free_text_blocks(campaign, data))
    chapter(
        "limitations", _("Limitations and non-response"), limitations_blocks(campaign, data, follow)
    )
    conclusions = campaign.conclusions
    chapter(
        "conclusions",
        _("Conclusions"),
        [
            RichText(conclusions)
            if conclusions
            else Paragraph(_("The conclusions have not been written yet."), muted=True)
        ],
    )
    annex_a = Chapter("A", "questionnaire", _("Annex A: the questionnaire"))
    annex_a.blocks = questionnaire_blocks(data)
    annex_b = Chapter("B", "codebook", _("Annex B: condensed codebook"))
    annex_b.blocks = [codebook_table(data, numbering)]
    annexes = [annex_a, annex_b]
    return {
        "campaign": campaign,
        "version": campaign.version,
        "results": data,
        "participation": follow,
        "chapters": chapters + annexes,
        "figure_count": numbering.figures,
        "table_count": numbering.tables,
    }


def wave_blocks(campaign: Campaign, data: CampaignResults, numbering: Numbering) -> list:
    from surveys.waves import wave_comparison

    return wave_comparison(campaign, data, numbering)


def _scoped_campaign(job) -> Campaign:
    campaign_id = str(job.params.get("p_campaign", ""))
    if not campaign_id.isdigit():
        raise JobInputError(_("The campaign of the report is missing."))
    # Scoped to the person who asked, like every other read.
    campaign = (
        campaign_list_for_user(job.created_by)
        .select_related("version", "version__questionnaire")
        .filter(pk=int(campaign_id))
        .first()
    )
    if campaign is None:
        raise JobInputError(_("This campaign does not exist."))
    return campaign


def report_metadata(campaign: Campaign, context: dict) -> dict:
    count = context["participation"].submitted
    return {
        "report_title": campaign.title,
        "report_subtitle": _("Survey report"),
        "data_version": _("questionnaire v%(version)d, %(count)d responses at %(date)s")
        % {
            "version": campaign.version.number,
            "count": count,
            "date": timezone.localtime().strftime("%d/%m/%Y"),
        },
        "toc": [
            entry
            for c in context["chapters"]
            for entry in [
                {"anchor": c.anchor, "title": c.heading},
                *[
                    {"anchor": b.anchor, "title": b.text, "level": 2}
                    for b in c.blocks
                    if isinstance(b, Heading) and b.anchor
                ],
            ]
        ],
    }


def build_survey_report_context(*, job, report) -> ReportSpec:
    campaign = _scoped_campaign(job)
    report(20, _("Computing the results"))
    context = report_document(campaign)
    report(50, _("Preparing the charts"))
    context.update(report_metadata(campaign, context))
    return ReportSpec(
        template_name="reports/surveys/survey_report.html",
        context=context,
        filename=f"rapport-enquete-{campaign.pk}.pdf",
    )
