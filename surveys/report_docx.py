"""The survey report as an editable Word copy (registered "surveys.report_docx").

It walks the same document as the PDF (:func:`surveys.reports.report_document`): the same
chapters, numbered tables and figures, words and numbers; the SVG charts become PNG images
(cairosvg) so the network can add its editorial text around them in Word.
"""

from __future__ import annotations

import io
from html.parser import HTMLParser

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from onco_hdf.reports import ReportSpec
from surveys import reports, richtext

CHART_WIDTH_CM = 15.5
MUTED = (0x55, 0x55, 0x55)


def chart_png(chart) -> bytes:
    """The chart's SVG drawn at twice its size, sharp when printed."""
    import cairosvg  # loaded only for the Word copy

    return cairosvg.svg2png(bytestring=chart.markup.encode("utf-8"), scale=2)


class _RichTextParser(HTMLParser):
    """Sanitised HTML (paragraphs, lists, emphasis, links) → Word paragraphs and runs."""

    BLOCKS = {"p": None, "li": "List Bullet", "h1": "Heading 3", "h2": "Heading 3"}
    BLOCKS |= {"h3": "Heading 4", "h4": "Heading 4", "h5": "Heading 4", "h6": "Heading 4"}
    BLOCKS |= {"blockquote": "Quote"}

    def __init__(self, document) -> None:
        super().__init__()
        self.document = document
        self.paragraph = None
        self.bold = self.italic = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in self.BLOCKS:
            style = self.BLOCKS[tag]
            self.paragraph = self.document.add_paragraph(style=style)
        elif tag in ("strong", "b"):
            self.bold += 1
        elif tag in ("em", "i"):
            self.italic += 1
        elif tag == "br" and self.paragraph is not None:
            self.paragraph.add_run().add_break()

    def handle_endtag(self, tag) -> None:
        if tag in self.BLOCKS:
            self.paragraph = None
        elif tag in ("strong", "b"):
            self.bold = max(0, self.bold - 1)
        elif tag in ("em", "i"):
            self.italic = max(0, self.italic - 1)

    def handle_data(self, data) -> None:
        if not data.strip() and self.paragraph is None:
            return
        if self.paragraph is None:
            self.paragraph = self.document.add_paragraph()
        run = self.paragraph.add_run(data)
        run.bold = bool(self.bold)
        run.italic = bool(self.italic)


def _page_number_footer(section, text: str) -> None:
    """Footer: the report's title, then "page N / M" as Word fields."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph = section.footer.paragraphs[0]
    paragraph.text = f"{text} — {_('page')}\u00a0"

    def field(instruction: str) -> None:
        simple = OxmlElement("w:fldSimple")
        simple.set(qn("w:instr"), instruction)
        run = OxmlElement("w:r")
        value = OxmlElement("w:t")
        value.text = "1"
        run.append(value)
        simple.append(run)
        paragraph._p.append(simple)

    field("PAGE")
    paragraph.add_run("\u00a0/\u00a0")
    field("NUMPAGES")


def _caption(document, text: str) -> None:
    paragraph = document.add_paragraph(style="Caption")
    paragraph.add_run(text).bold = True


def _note(document, text: str) -> None:
    from docx.shared import Pt, RGBColor

    run = document.add_paragraph().add_run(text)
    run.font.size = Pt(8)
    run.font.color.rgb = RGBColor(*MUTED)


def _table(document, block: reports.Table) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    _caption(document, block.caption)
    table = document.add_table(rows=1, cols=len(block.header), style="Table Grid")
    for j, text in enumerate(block.header):
        cell = table.rows[0].cells[j]
        cell.text = ""
        cell.paragraphs[0].add_run(text).bold = True
    for row in block.rows:
        cells = table.add_row().cells
        for j, text in enumerate(row):
            cells[j].text = str(text)
            if j >= block.numeric_from:
                cells[j].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
    if block.note:
        _note(document, block.note)


def _figure(document, block: reports.Figure) -> None:
    from docx.shared import Cm

    _caption(document, block.caption)
    document.add_picture(io.BytesIO(chart_png(block.chart)), width=Cm(CHART_WIDTH_CM))
    if block.note:
        _note(document, block.note)


def write_docx(context: dict) -> bytes:
    """The report's chapters, in the PDF's order and numbering, as a .docx file."""
    from docx import Document
    from docx.enum.text import WD_BREAK
    from docx.shared import Pt, RGBColor

    document = Document()
    document.core_properties.title = context["report_title"]
    document.core_properties.language = "fr-FR"
    styles = document.styles
    styles["Normal"].font.name = "DejaVu Sans"
    styles["Normal"].font.size = Pt(10)
    document.add_heading(context["report_title"], level=0)
    document.add_paragraph(context["report_subtitle"])
    for line in (
        _("Regional cancer network of Hauts-de-France — ONCO-HDF"),
        _("Generated on %(date)s") % {"date": timezone.localtime().strftime("%d/%m/%Y %H:%M")},
        f"{_('Data version')} : {context['data_version']}",
        f"{_('Platform version')} {settings.PLATFORM_VERSION}",
    ):
        run = document.add_paragraph().add_run(line)
        run.font.color.rgb = RGBColor(*MUTED)
    _page_number_footer(document.sections[0], context["report_title"])
    document.add_heading(_("Contents"), level=1)
    for entry in context["toc"]:
        style = "List Number 2" if entry.get("level") == 2 else "List Number"
        document.add_paragraph(entry["title"], style=style)
    for chapter in context["chapters"]:
        document.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
        document.add_heading(chapter.heading, level=1)
        for block in chapter.blocks:
            if block.kind == "heading":
                document.add_heading(block.text, level=2 if block.level == 2 else 3)
            elif block.kind == "paragraph":
                run = document.add_paragraph().add_run(block.text)
                if block.muted:
                    run.italic = True
                    run.font.color.rgb = RGBColor(*MUTED)
            elif block.kind == "rich":
                parser = _RichTextParser(document)
                parser.feed(richtext.render(block.source))
                parser.close()
            elif block.kind == "bullets":
                for item in block.items:
                    document.add_paragraph(item, style="List Bullet")
            elif block.kind == "quotes":
                for item in block.items:
                    document.add_paragraph(f"« {item} »", style="List Bullet")
            elif block.kind == "table":
                _table(document, block)
            elif block.kind == "figure":
                _figure(document, block)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def build_survey_report_docx(*, job, report) -> ReportSpec:
    campaign = reports._scoped_campaign(job)
    report(20, _("Computing the results"))
    context = reports.report_document(campaign)
    context.update(reports.report_metadata(campaign, context))
    report(50, _("Writing the Word document"))
    return ReportSpec(
        template_name="",
        context={},
        filename=f"rapport-enquete-{campaign.pk}.docx",
        content=write_docx(context),
    )
