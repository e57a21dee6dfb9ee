"""The survey report (PDF): context builder registered as "surveys.report"."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from onco_hdf import charts
from onco_hdf.jobs import JobInputError
from onco_hdf.models import Sector
from onco_hdf.reports import ReportSpec
from surveys import answers, suppression
from surveys.exports import codebook_rows
from surveys.models import MATRIX_TYPES, Campaign, QuestionType
from surveys.results import CampaignResults, campaign_results, participation
from surveys.selectors import campaign_list_for_user
from surveys.services import SECTOR

CATEGORICAL = (QuestionType.SINGLE, QuestionType.LIKERT, QuestionType.YES_NO, QuestionType.MULTIPLE)


@dataclass
class CrossTab:
    row_label: str
    column_label: str
    rows: list[str]
    columns: list[str]
    counts: list[list[int | suppression.Hidden]]
    total: int
    chart: object = None

    @property
    def rows_counts(self) -> list[tuple[str, list[int]]]:
        return list(zip(self.rows, self.counts, strict=True))


def _categories(data: CampaignResults, code: str):
    """``(title, [(key, label)], value_of(response) -> list of keys)`` for a cross-tab axis."""
    if code == SECTOR:
        return (_("Sector"), list(Sector.choices), lambda r: [r.centre.sector])
    question = data.structure.by_code[code]
    matrix = question.type in MATRIX_TYPES
    if question.type not in CATEGORICAL and not matrix and question.type != QuestionType.RANKING:
        raise JobInputError(
            _("The cross-tabulation uses %(code)s, which is not a choice question.")
            % {"code": code}
        )
    if matrix:  # a matrix counts by row: the rows the respondent filled (e.g. sites used)
        keys = [(r.code, r.label) for r in question.rows()]
    else:
        labels = answers.option_labels(question)
        keys = [(c, labels[c]) for c in answers.option_codes(question)]

    def value_of(response):
        if code not in data.visible[response.pk]:
            return []
        value = data.values[response.pk][0].get(code)
        if matrix:
            return [row for row, cell in (value or {}).items() if cell]
        return value if isinstance(value, list) else ([value] if value else [])

    return (f"{code} — {question.plain_label}", keys, value_of)


def cross_tab(data: CampaignResults, row_code: str, column_code: str) -> CrossTab:
    row_title, row_keys, row_of = _categories(data, row_code)
    col_title, col_keys, col_of = _categories(data, column_code)
    counter: Counter = Counter()
    total = 0
    for response in data.responses:
        rows, cols = row_of(response), col_of(response)
        if rows and cols:
            total += 1
        for r in rows:
            for c in cols:
                counter[(r, c)] += 1
    counts = [[suppression.mask(counter[(r, c)]) for c, _l in col_keys] for r, _l in row_keys]
    table = CrossTab(
        row_title,
        col_title,
        [lab for _k, lab in row_keys],
        [lab for _k, lab in col_keys],
        counts,
        total,
    )
    if total:
        table.chart = charts.heatmap(
            table.rows,
            table.columns,
            [[None if suppression.is_hidden(n) else n for n in row] for row in counts],
            title=f"{row_code} × {column_code}",
            decimals=0,
        )
    return table


def report_context(campaign: Campaign) -> dict:
    """Every number of the report, computed from the submitted responses."""
    data = campaign_results(campaign)
    follow = participation(campaign)
    reminders = list(campaign.reminders.order_by("sent_at"))
    texts = []
    for result in data.questions:
        if result.texts:
            texts.append((result.question, sorted(result.texts, key=str.lower)))
    crosstabs = [cross_tab(data, row, col) for row, col in campaign.cross_tabs]
    sections = [
        (s, [r for r in data.questions if r.question.section_id == s.pk])
        for s in data.structure.sections
    ]
    return {
        "campaign": campaign,
        "version": campaign.version,
        "results": data,
        "sections": sections,
        "participation": follow,
        "participation_chart": charts.bar_chart(
            [_("Submitted"), _("In progress"), _("Not opened")],
            [follow.submitted, follow.in_progress, follow.not_opened],
            title=_("Participation of the centres"),
        ),
        "reminders": reminders,
        "invitation_count": campaign.invitations.count(),
        "crosstabs": crosstabs,
        "free_texts": texts,
        "codebook": codebook_rows(campaign)[1:],
    }


def build_survey_report_context(*, job, report) -> ReportSpec:
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
    report(20, _("Computing the results"))
    context = report_context(campaign)
    report(50, _("Preparing the charts"))
    count = context["participation"].submitted
    context.update(
        {
            "report_title": campaign.title,
            "report_subtitle": _("Survey report"),
            "data_version": _("questionnaire v%(version)d, %(count)d responses at %(date)s")
            % {
                "version": campaign.version.number,
                "count": count,
                "date": timezone.localtime().strftime("%d/%m/%Y"),
            },
            "toc": [
                {"anchor": "introduction", "title": _("Introduction")},
                {"anchor": "methods", "title": _("Methods")},
                {"anchor": "participation", "title": _("Participation")},
                {"anchor": "results", "title": _("Results per question")},
                *[
                    {"anchor": f"section-{s.code}", "title": f"{s.code}. {s.title}", "level": 2}
                    for s, _r in context["sections"]
                ],
                {"anchor": "crosstabs", "title": _("Cross-tabulations")},
                {"anchor": "free-texts", "title": _("Free-text answers")},
                {"anchor": "conclusions", "title": _("Conclusions")},
                {"anchor": "codebook", "title": _("Appendix: codebook")},
            ],
        }
    )
    return ReportSpec(
        template_name="reports/surveys/survey_report.html",
        context=context,
        filename=f"rapport-enquete-{campaign.pk}.pdf",
    )
