"""Comparison runs: start, compute, dose statistics, warnings and result rows."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from contouring.engine.compare import compare_case
from contouring.engine.errors import EngineError
from contouring.engine.metrics import PairMetrics
from contouring.engine.raster import Mask
from contouring.engine.rtstruct import read_rtstruct
from contouring.models import (
    CaseDose,
    ClinicalCase,
    ComparisonResult,
    ComparisonRun,
    ResultKind,
    Submission,
)
from contouring.services.common import (
    CONSENSUS_MIN_SOLUTIONS,
    HD95_METHOD,
    TAUS,
    _engine_version,
    _renamed,
    case_geometry,
    local_paths,
    set_label,
)
from contouring.services.consensus import (
    _consensus_metrics,
    build_consensus_masks,
)
from contouring.services.submissions import (
    comparison_ready_submissions,
)
from onco_hdf.jobs import JobInputError, job_create, job_enqueue


class ComparisonAlreadyRunning(ValidationError):
    """A second launch while the case's comparison is waiting or running."""

    def __init__(self, run: ComparisonRun) -> None:
        self.run = run
        super().__init__(
            _(
                "A comparison of this case is already under way (started on %(date)s); "
                "a new one can be run once it is over."
            )
            % {"date": timezone.localtime(run.created_at).strftime("%d/%m/%Y %H:%M")},
            code="already_running",
        )


@transaction.atomic
def comparison_run_start(
    *, case: ClinicalCase, user, include_consensus: bool = True
) -> ComparisonRun:
    """Start the case's comparison; refused while another one is waiting or running."""
    from contouring.selectors import active_run
    from contouring.tasks import comparison_run_compute_task

    # The case row is the lock: two launches at the same instant start one job.
    case = ClinicalCase.objects.select_for_update().get(pk=case.pk)
    running = active_run(case)
    if running is not None:
        raise ComparisonAlreadyRunning(running)
    if not comparison_ready_submissions(case).exists():
        raise ValidationError(
            _("No submission of this case has a confirmed structure mapping yet."),
            code="nothing_to_compare",
        )
    job = job_create(
        kind="contouring.comparison",
        label=_("Contour comparison — %(case)s") % {"case": case.title},
        user=user,
        params={"case": case.pk},
    )
    run = ComparisonRun.objects.create(
        case=case,
        job=job,
        include_consensus=include_consensus,
        hd95_method=HD95_METHOD,
        taus=list(TAUS),
        created_by=user,
    )
    job_enqueue(job=job, task=comparison_run_compute_task, run_id=run.pk)
    return run


def comparison_run_compute(*, run_id: int, report: Callable[[int, str], None]) -> dict:
    """Compute every metric of the run's case and replace the case's results."""
    run = ComparisonRun.objects.select_related("case").get(pk=run_id)
    case = run.case
    structures = list(case.structures.filter(is_compared=True))
    submissions = list(
        comparison_ready_submissions(case)
        .select_related("solution", "centre")
        .prefetch_related("mappings__roi")
    )
    if not submissions or not structures:
        raise JobInputError(_("No submission of this case has a confirmed structure mapping yet."))
    report(2, _("Reading the CT series and the contours"))
    names = {s.roi_number: s.name for s in structures}
    try:
        geometry = case_geometry(case)
        with local_paths([case.reference_file.name]) as (ref_path,):
            reference = _renamed(read_rtstruct(ref_path), names)
        sources: dict[str, Submission | None] = {str(ref_path): None}
        tests = {}
        for submission in submissions:
            mapping = {
                m.roi.roi_number: m.structure.name
                for m in submission.mappings.all()
                if m.roi is not None and m.structure.is_compared
            }
            with local_paths([submission.file.name]) as (path,):
                tests[set_label(submission.pk)] = _renamed(read_rtstruct(path), mapping)
                sources[str(path)] = submission
    except EngineError as error:
        raise JobInputError(error.message("fr")) from error

    state = {"last": -1}

    def progress(done: int, total: int) -> None:
        percent = 5 + int(75 * done / max(total, 1))
        if percent != state["last"]:
            state["last"] = percent
            report(
                percent,
                _("Computing the metrics (%(done)d/%(total)d)") % {"done": done, "total": total},
            )

    try:
        result = compare_case(
            geometry, reference, tests, taus=TAUS, hd95=HD95_METHOD, progress=progress
        )
        consensus_masks: dict[str, dict[str, Mask]] = {}
        consensus = (
            _consensus_metrics(geometry, reference, tests, structures, report, consensus_masks)
            if run.include_consensus and len(tests) >= CONSENSUS_MIN_SOLUTIONS
            else {}
        )
    except EngineError as error:
        raise JobInputError(error.message("fr")) from error

    doses = _dose_statistics(run, geometry, reference, tests, structures, report, consensus_masks)
    report(96 if doses else 92, _("Saving the results"))
    by_label = {set_label(s.pk): s for s in submissions}
    by_name = {s.name: s for s in structures}
    with transaction.atomic():
        _save_doses(run, doses or {}, by_label, by_name)
        kept = []
        for pair in result.pairs:
            structure = by_name[pair.structure]
            if pair.first == "reference":
                key, kind = f"ref:{by_label[pair.second].pk}", ResultKind.VS_REFERENCE
                test, other = by_label[pair.second], None
            else:
                first, second = by_label[pair.first], by_label[pair.second]
                key, kind = f"pair:{first.pk}:{second.pk}", ResultKind.PAIR
                test, other = second, first
            kept.append(_save_result(run, structure, key, kind, test, other, pair.metrics))
        for (name, kind), metrics in consensus.items():
            kept.append(_save_result(run, by_name[name], kind, kind, None, None, metrics))
        case.results.exclude(pk__in=kept).delete()
        run.warnings = run_warnings(result.warnings, sources)
        run.engine_version = _engine_version()
        run.finished_at = timezone.now()
        run.save(update_fields=["warnings", "engine_version", "finished_at"])
    return {
        "message": _("%(count)d results computed.") % {"count": len(kept)},
        "result_url": reverse("contouring:case-results", args=[case.pk]),
    }


def _dose_statistics(
    run, geometry, reference, tests, structures, report, consensus_masks
) -> dict | None:
    """The DVH of every structure set on the case's reference dose; None without a dose.

    ``consensus_masks`` (structure name → set key → mask) are those the consensus metrics
    were computed on; a structure missing there gets its consensus built here.
    """
    from contouring import dosimetry
    from contouring.engine.dvh import read_rtdose

    case_dose = CaseDose.objects.filter(case=run.case).first()
    if case_dose is None:
        return None
    report(92, _("Computing the DVHs on the reference dose"))
    objectives = dosimetry.objectives_for_case(run.case, structures)
    levels = {pk: dosimetry.dose_levels(found) for pk, found in objectives.items()}
    with_consensus = run.include_consensus and len(tests) >= CONSENSUS_MIN_SOLUTIONS
    try:
        with local_paths([case_dose.file.name]) as (path,):
            dose = read_rtdose(path, source=_("the reference RTDOSE"))
        doses = dosimetry.structure_set_dvhs(
            geometry,
            dose,
            reference,
            tests,
            structures,
            levels,
            consensus=(
                lambda name, masks, voters: (
                    consensus_masks.get(name) or build_consensus_masks(masks, voters, geometry)
                )
            )
            if with_consensus
            else None,
            progress=lambda done, total: report(
                92 + int(4 * done / max(total, 1)), _("Computing the DVHs on the reference dose")
            ),
        )
    except EngineError as error:
        raise JobInputError(error.message("fr")) from error
    case_dose.plan_comparison = dosimetry.plan_comparison(doses, reference, dose)
    case_dose.save(update_fields=["plan_comparison"])
    return doses


def _save_doses(run, doses: dict, by_label: dict, by_name: dict) -> None:
    """Replace the case's DVH rows by the run's (none when the case has no dose)."""
    from contouring import dosimetry
    from contouring.models import DoseSetKind, StructureDose

    kept = []
    for (name, key), result in doses.items():
        if key == dosimetry.REFERENCE_KEY:
            kind, submission = DoseSetKind.REFERENCE, None
        elif key == dosimetry.CONSENSUS_KEY:
            kind, submission = DoseSetKind.CONSENSUS, None
        elif key == dosimetry.STAPLE_KEY:
            kind, submission = DoseSetKind.STAPLE, None
        else:
            kind, submission = DoseSetKind.SOLUTION, by_label[key]
        row, _created = StructureDose.objects.update_or_create(
            case=run.case,
            structure=by_name[name],
            set_key=key if submission is None else f"sub:{submission.pk}",
            defaults={
                "kind": kind,
                "submission": submission,
                "run": run,
                **dosimetry.row_values(result),
            },
        )
        kept.append(row.pk)
    StructureDose.objects.filter(case=run.case).exclude(pk__in=kept).delete()


def run_warnings(issues, sources: dict[str, Submission | None]) -> list[dict]:
    """The engine's warnings of a run, each tied to its submission (None: the reference).

    The message names the file by its solution and centre, never by the stored copy's
    internal name.
    """
    out = []
    seen = set()
    for issue in issues:
        submission = sources.get(str(issue.file)) if issue.file else None
        if submission is not None:
            display = _("the RTSTRUCT of %(label)s") % {"label": submission.short_label}
        elif issue.file in sources:
            display = _("the reference RTSTRUCT")
        else:
            display = _("the CT series")
        message = dataclasses.replace(issue, file=display).message("fr")
        key = (submission.pk if submission else None, message)
        if key in seen:
            continue
        seen.add(key)
        out.append(
            {
                "submission": submission.pk if submission else None,
                "code": issue.code,
                "message": message,
            }
        )
    return out[:200]


def _save_result(run, structure, key, kind, test, other, metrics: PairMetrics) -> int:
    sdsc = metrics.surface_dsc or {}
    apl = metrics.added_path_length_mm or {}
    row, _created = ComparisonResult.objects.update_or_create(
        case=run.case,
        structure=structure,
        pair_key=key,
        defaults={
            "kind": kind,
            "test": test,
            "other": other,
            "run": run,
            "status": metrics.status,
            "reference_volume_cc": metrics.reference_volume_cc,
            "test_volume_cc": metrics.test_volume_cc,
            "volume_ratio": metrics.volume_ratio,
            "dsc": metrics.dsc,
            "jaccard": metrics.jaccard,
            "sensitivity": metrics.sensitivity,
            "false_positive_cc": metrics.false_positive_cc,
            "hausdorff_mm": metrics.hausdorff_mm,
            "hd95_mm": metrics.hd95_mm,
            "msd_mm": metrics.mean_surface_distance_mm,
            "surface_dsc_1mm": sdsc.get(1.0),
            "surface_dsc_2mm": sdsc.get(2.0),
            "surface_dsc_3mm": sdsc.get(3.0),
            "apl_1mm": apl.get(1.0),
            "apl_2mm": apl.get(2.0),
            "apl_3mm": apl.get(3.0),
            "centroid_distance_mm": metrics.centroid_distance_mm,
            "reference_touches_scan_end": metrics.reference_touches_scan_end,
            "test_touches_scan_end": metrics.test_touches_scan_end,
        },
    )
    return row.pk
