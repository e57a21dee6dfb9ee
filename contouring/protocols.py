"""The comparison protocol (a versioned artefact the COPIL validates) and the final report.

A protocol version freezes what the comparison report is computed on: the clinical cases
(CT and reference hashes, compared structures), the solutions and the RTSTRUCT submitted for
each, the metric convention and the engine version. The report on a version is a draft
until the project manager marks it final, which :func:`report_mark_final` refuses while the
COPIL has not validated that exact version (``onco_hdf.governance.require_validated``,
override possible) or while the results no longer match the frozen protocol.
"""

from __future__ import annotations

import hashlib
import uuid

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from contouring.models import (
    ClinicalCase,
    ComparisonProtocol,
    ComparisonReport,
    ComparisonReportTransition,
    ProtocolConvention,
    ReportStatus,
    Solution,
)
from contouring.selectors import latest_finished_run, results_out_of_date
from contouring.services import HD95_METHOD, TAUS, _engine_version, comparison_ready_submissions
from onco_hdf import governance, workflow
from onco_hdf.models import CopilDecision, GateOverride

# The convention the platform's comparison runs use (contouring.services.HD95_METHOD).
PLATFORM_CONVENTION = ProtocolConvention.DEFAULT


def _case_entry(case: ClinicalCase, solution_ids: set[int]) -> dict:
    submissions = (
        comparison_ready_submissions(case)
        .filter(solution_id__in=solution_ids)
        .select_related("solution", "centre")
        .order_by("solution__vendor", "solution__product", "centre__name", "pk")
    )
    return {
        "id": case.pk,
        "title": case.title,
        "pseudonym": case.pseudonym,
        "site": case.site,
        "ct_sha256": case.ct_sha256,
        "reference_sha256": case.reference_sha256,
        "structures": list(case.structures.filter(is_compared=True).values_list("name", flat=True)),
        "submissions": [
            {
                "id": s.pk,
                "solution_id": s.solution_id,
                "solution": str(s.solution),
                "centre": s.centre.label,
                "sha256": s.sha256,
            }
            for s in submissions
        ],
    }


def protocol_content(*, cases, solutions) -> dict:
    """The frozen description of the chosen cases and solutions, as they are now."""
    solution_ids = {s.pk for s in solutions}
    return {
        "cases": [_case_entry(case, solution_ids) for case in sorted(cases, key=lambda c: c.pk)],
        "solutions": [
            {"id": s.pk, "label": str(s), "ce_marking": s.ce_marking}
            for s in sorted(solutions, key=lambda s: s.pk)
        ],
    }


def protocol_latest() -> ComparisonProtocol | None:
    return ComparisonProtocol.objects.order_by("-number").first()


def protocol_create(*, title: str, notes: str, cases, solutions, user) -> ComparisonProtocol:
    """A new protocol version from the chosen cases and solutions and the platform's
    convention and engine version; its report starts as a draft."""
    cases, solutions = list(cases), list(solutions)
    if not cases:
        raise ValidationError(_("Choose at least one clinical case."))
    if not solutions:
        raise ValidationError(_("Choose at least one solution."))
    content = protocol_content(cases=cases, solutions=solutions)
    without = [
        case["title"]
        for case in content["cases"]
        if not case["submissions"] or not case["structures"]
    ]
    if without:
        raise ValidationError(
            _(
                "These cases have no compared structure or no confirmed submission of the "
                "chosen solutions: %(cases)s."
            )
            % {"cases": ", ".join(without)}
        )
    settings = {
        "convention": PLATFORM_CONVENTION,
        "hd95_method": HD95_METHOD,
        "taus": list(TAUS),
        "engine_version": _engine_version(),
    }
    latest = protocol_latest()
    if (
        latest is not None
        and latest.content == content
        and all(getattr(latest, field) == value for field, value in settings.items())
    ):
        raise ValidationError(
            _("Nothing changed since version %(number)s: it is still the current protocol.")
            % {"number": latest.number}
        )
    try:
        with transaction.atomic():
            number = (ComparisonProtocol.objects.aggregate(n=Max("number"))["n"] or 0) + 1
            protocol = ComparisonProtocol.objects.create(
                number=number,
                title=title,
                notes=notes,
                content=content,
                created_by=user,
                **settings,
            )
            ComparisonReport.objects.create(protocol=protocol)
    except IntegrityError as error:
        raise ValidationError(
            _("Another version was created at the same moment: reload the page and try again.")
        ) from error
    return protocol


def protocol_report(protocol: ComparisonProtocol) -> ComparisonReport:
    report, _created = ComparisonReport.objects.get_or_create(protocol=protocol)
    return report


def protocol_cases(protocol: ComparisonProtocol) -> list[ClinicalCase]:
    return list(ClinicalCase.objects.filter(pk__in=protocol.case_ids).order_by("created_at", "pk"))


def protocol_solutions(protocol: ComparisonProtocol) -> list[Solution]:
    return list(Solution.objects.filter(pk__in=protocol.solution_ids))


def protocol_discrepancies(protocol: ComparisonProtocol) -> list[str]:
    """Why the current results are not those of the protocol (empty: they are)."""
    problems = []
    frozen = {case["id"]: case for case in protocol.content.get("cases", [])}
    found = {case.pk: case for case in protocol_cases(protocol)}
    for case_id, entry in frozen.items():
        case = found.get(case_id)
        if case is None:
            problems.append(_("The case “%(case)s” no longer exists.") % {"case": entry["title"]})
            continue
        names = {"case": case.title}
        if (case.ct_sha256, case.reference_sha256) != (
            entry["ct_sha256"],
            entry["reference_sha256"],
        ):
            problems.append(_("The CT or the reference of “%(case)s” changed.") % names)
        structures = list(case.structures.filter(is_compared=True).values_list("name", flat=True))
        if structures != entry["structures"]:
            problems.append(_("The compared structures of “%(case)s” changed.") % names)
        ready = set(
            comparison_ready_submissions(case)
            .filter(solution_id__in=protocol.solution_ids)
            .values_list("sha256", flat=True)
        )
        if ready != {s["sha256"] for s in entry["submissions"]}:
            problems.append(_("The submissions of “%(case)s” changed.") % names)
        run = latest_finished_run(case)
        if run is None:
            problems.append(_("“%(case)s” has no finished comparison.") % names)
        elif run.engine_version != protocol.engine_version:
            problems.append(
                _(
                    "“%(case)s” was compared with engine %(found)s, the protocol names "
                    "%(expected)s: run the comparison again."
                )
                % {**names, "found": run.engine_version, "expected": protocol.engine_version}
            )
        elif results_out_of_date(case) is not None:
            problems.append(
                _("The results of “%(case)s” are out of date: run the comparison again.") % names
            )
    return problems


def report_mark_final(*, protocol: ComparisonProtocol, user, comment: str = "") -> ComparisonReport:
    """Mark the report on ``protocol`` final: only once the COPIL validated that exact
    version (or the project manager granted a justified override) and the results are
    those of the protocol."""
    report = protocol_report(protocol)

    def check(locked: ComparisonReport) -> None:
        passed = governance.require_validated(protocol)
        problems = protocol_discrepancies(protocol)
        if problems:
            raise ValidationError(
                [_("The results no longer match this protocol version:"), *problems]
            )
        locked.decision = passed if isinstance(passed, CopilDecision) else None
        locked.override = passed if isinstance(passed, GateOverride) else None
        locked.finalised_at = timezone.now()

    locked, _record = workflow.transition(
        queryset=ComparisonReport.objects.all(),
        pk=report.pk,
        to_status=ReportStatus.FINAL,
        allowed_from=[ReportStatus.DRAFT],
        actor=user,
        record_model=ComparisonReportTransition,
        subject_field="report",
        comment=comment,
        check=check,
        forbidden=lambda r: _("This report is already final."),
        update_fields=["decision", "override", "finalised_at"],
    )
    return locked


def report_keep_final(*, report_id: int, content: bytes) -> ComparisonReport | None:
    """Keep ``content`` as the final report, once: the first PDF rendered after it was
    marked final (later renderings are copies). None when the report is not final."""
    with transaction.atomic():
        report = ComparisonReport.objects.select_for_update().get(pk=report_id)
        if not report.is_final or report.file:
            return None
        report.sha256 = hashlib.sha256(content).hexdigest()
        report.file.save(
            f"rapport-final-protocole-v{report.protocol.number}-{uuid.uuid4().hex[:8]}.pdf",
            ContentFile(content),
            save=False,
        )
        report.save(update_fields=["file", "sha256"])
    return report


def protocol_lines(protocol: ComparisonProtocol) -> list[str]:
    """The protocol version as text lines (the COPIL pack's version diff)."""
    lines = [
        _("Convention: %(convention)s") % {"convention": protocol.get_convention_display()},
        _("HD95: %(method)s") % {"method": protocol.hd95_method},
        _("Tolerances τ (mm): %(taus)s") % {"taus": ", ".join(f"{t:g}" for t in protocol.taus)},
        _("Engine version: %(version)s") % {"version": protocol.engine_version},
    ]
    for solution in protocol.content.get("solutions", []):
        lines.append(_("Solution: %(label)s") % {"label": solution["label"]})
    for case in protocol.content.get("cases", []):
        lines.append(
            _("Case: %(title)s (%(pseudonym)s), CT %(ct)s, reference %(reference)s")
            % {
                "title": case["title"],
                "pseudonym": case["pseudonym"],
                "ct": case["ct_sha256"][:12],
                "reference": case["reference_sha256"][:12],
            }
        )
        lines.append("  " + _("Structures: %(names)s") % {"names": ", ".join(case["structures"])})
        for submission in case["submissions"]:
            lines.append(
                f"  {submission['solution']} · {submission['centre']} · {submission['sha256'][:12]}"
            )
    return lines
