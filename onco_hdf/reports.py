"""Registry of PDF reports rendered as background jobs.

An app registers a builder under a key (``register("surveys.report", builder)``) in its
``AppConfig.ready``. The builder receives the job (its ``params`` say what to render)
and a progress callback, and returns a :class:`ReportSpec`. The job then renders the PDF
through :mod:`onco_hdf.pdf` and stores it as the job's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _

from onco_hdf import pdf, signing
from onco_hdf.jobs import JobInputError


@dataclass(frozen=True)
class ReportSpec:
    """A PDF to render from ``template_name``, or a document already written (``content``,
    e.g. an editable Word copy of a report), stored as is."""

    template_name: str
    context: dict = field(default_factory=dict)
    filename: str = "rapport.pdf"
    content: bytes | None = None
    # Called with the rendered PDF, e.g. to keep it on the object it reports on.
    on_rendered: Callable[[bytes], object] | None = None
    # An official document (final report, minutes): signed, with its signature block.
    official: signing.Official | None = None


@dataclass(frozen=True)
class RegisteredReport:
    builder: Callable[..., ReportSpec]
    label: str
    may_start: Callable[[object], bool]


_REPORTS: dict[str, RegisteredReport] = {}


def register(
    key: str, builder: Callable[..., ReportSpec], *, label, may_start: Callable[[object], bool]
) -> None:
    """``builder(job=, report=)`` gives the report; ``may_start(user)`` who may ask for it."""
    _REPORTS[key] = RegisteredReport(builder=builder, label=label, may_start=may_start)


def registered(key: str) -> bool:
    return key in _REPORTS


def may_start(key: str, user) -> bool:
    return _REPORTS[key].may_start(user)


def label(key: str) -> str:
    return str(_REPORTS[key].label)


def report_render(job, report) -> dict:
    entry = _REPORTS.get(job.params.get("report", ""))
    if entry is None:
        raise JobInputError(_("This report does not exist."))
    report(10, _("Gathering the data"))
    spec = entry.builder(job=job, report=report)
    if spec.content is not None:
        return {
            "message": _("The report is ready."),
            "result_name": spec.filename,
            "result_content": spec.content,
        }
    report(60, _("Rendering the PDF"))
    try:
        content = pdf.render_pdf(
            spec.template_name,
            spec.context,
            time_limit=settings.PDF_JOB_RENDER_SECONDS,
            official=spec.official,
        )
    except (pdf.PdfTooSlow, signing.SigningUnavailable) as error:
        raise JobInputError(str(error)) from error
    if spec.on_rendered is not None:
        spec.on_rendered(content)
    return {
        "message": _("The report is ready."),
        "result_name": spec.filename,
        "result_content": content,
    }
