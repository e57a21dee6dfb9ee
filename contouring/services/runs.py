"""Comparison runs: start, one task per structure, the final step, dose statistics, warnings."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from contouring.engine.compare import compare_case
from contouring.engine.errors import EngineError
from contouring.engine.geometry import CTGeometry
from contouring.engine.metrics import PairMetrics
from contouring.engine.raster import Mask
from contouring.engine.rtstruct import StructureSet, read_rtstruct
from contouring.models import (
    CaseDose,
    CaseStructure,
    ClinicalCase,
    ComparisonResult,
    ComparisonRun,
    ResultKind,
    RunStructure,
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
    build_consensus_masks,
    structure_consensus,
)
from contouring.services.submissions import (
    comparison_ready_submissions,
)
from onco_hdf.jobs import JobInputError, job_create, job_part_create, job_progress, job_succeed
from onco_hdf.models import Job


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
    """Start the case's comparison; refused while another one is waiting or running.

    The run is one job split into one task per compared structure, so several workers share
    a case; the task that stores the last structure sends the final step
    (:func:`comparison_run_finish`).
    """
    from contouring.selectors import active_run
    from contouring.tasks import comparison_structure_compute_task

    # The case row is the lock: two launches at the same instant start one job.
    case = ClinicalCase.objects.select_for_update().get(pk=case.pk)
    running = active_run(case)
    if running is not None:
        raise ComparisonAlreadyRunning(running)
    submission_ids = list(comparison_ready_submissions(case).values_list("pk", flat=True))
    if not submission_ids:
        raise ValidationError(
            _("No submission of this case has a confirmed structure mapping yet."),
            code="nothing_to_compare",
        )
    structures = list(case.structures.filter(is_compared=True))
    if not structures:
        raise ValidationError(
            _("No structure of this case is chosen for the comparison."),
            code="no_structure",
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
        submission_ids=submission_ids,
        created_by=user,
    )
    for structure in structures:
        part = job_part_create(
            parent=job,
            kind="contouring.comparison.structure",
            label=_("Contour comparison — %(case)s — %(structure)s")
            % {"case": case.title, "structure": structure.name},
            task=comparison_structure_compute_task,
            run_id=run.pk,
            structure_id=structure.pk,
        )
        RunStructure.objects.create(run=run, structure=structure, job=part)
    job_progress(job_id=job.pk, progress=2, message=_structures_done(0, len(structures)))
    return run


def _structures_done(done: int, total: int) -> str:
    return _("Computing the metrics (%(done)d / %(total)d structures)") % {
        "done": done,
        "total": total,
    }


@dataclasses.dataclass(frozen=True)
class RunInputs:
    """What every task of a run reads: the CT geometry and the contour sets, renamed."""

    geometry: CTGeometry
    reference: StructureSet
    tests: dict[str, StructureSet]
    sources: dict[str, Submission | None]
    by_label: dict[str, Submission]
    structures: list[CaseStructure]
    # The consensus masks this process built (structure name → kind → mask), for the DVHs
    # of the final step when it runs here too.
    consensus_masks: dict[str, dict[str, Mask]] = dataclasses.field(default_factory=dict)


# The inputs of the last run this process worked on: a worker running several structures
# of one case reads its files once.
_inputs_cache: dict[tuple, RunInputs] = {}


def run_inputs(run: ComparisonRun) -> RunInputs:
    # With its creation time: a database whose ids were reused (SQLite) is not mistaken.
    key = (run.pk, run.created_at)
    cached = _inputs_cache.get(key)
    if cached is not None:
        return cached
    case = run.case
    structures = list(case.structures.filter(is_compared=True))
    submissions = list(
        Submission.objects.filter(pk__in=run.submission_ids)
        .select_related("solution", "centre")
        .prefetch_related("mappings__roi", "mappings__structure")
    )
    if not submissions or not structures:
        raise JobInputError(_("No submission of this case has a confirmed structure mapping yet."))
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
    inputs = RunInputs(
        geometry=geometry,
        reference=reference,
        tests=tests,
        sources=sources,
        by_label={set_label(s.pk): s for s in submissions},
        structures=structures,
    )
    _inputs_cache.clear()
    _inputs_cache[key] = inputs
    return inputs


def _only(structure_set: StructureSet, name: str) -> StructureSet:
    return dataclasses.replace(
        structure_set, rois=tuple(roi for roi in structure_set.rois if roi.name == name)
    )


def comparison_structure_compute(
    *, run_id: int, structure_id: int, report: Callable[[int, str], None]
) -> dict:
    """Compute every metric of one structure of the run and store its rows.

    Rows are the run's own, written with update_or_create under the run's lock: a task run
    twice replaces them, and the structure counts as done once. They stay hidden until the
    run's final step publishes them (the case shows its last succeeded run). The task
    storing the last structure sends the run's final step.
    """
    from contouring.tasks import comparison_run_finish_task

    run = ComparisonRun.objects.select_related("case", "job").get(pk=run_id)
    if run.job.is_finished:  # a late delivery for a run that ended (failed) meanwhile
        return {"message": _("The comparison was over; nothing was computed.")}
    inputs = run_inputs(run)
    structure = next((s for s in inputs.structures if s.pk == structure_id), None)
    if structure is None:
        raise JobInputError(_("This structure is no longer chosen for the comparison."))
    report(10, _("Computing the metrics of %(structure)s") % {"structure": structure.name})
    reference = _only(inputs.reference, structure.name)
    tests = {label: _only(s, structure.name) for label, s in inputs.tests.items()}
    consensus: dict[str, PairMetrics] = {}

    def build_consensus(name, prepared) -> None:
        masks = inputs.consensus_masks.setdefault(name, {})
        consensus.update(structure_consensus(inputs.geometry, prepared, masks))

    with_consensus = run.include_consensus and len(tests) >= CONSENSUS_MIN_SOLUTIONS
    try:
        result = compare_case(
            inputs.geometry,
            reference,
            tests,
            taus=TAUS,
            hd95=HD95_METHOD,
            on_structure=build_consensus if with_consensus else None,
            threads=settings.CONTOURING_COMPARE_THREADS,
        )
    except EngineError as error:
        raise JobInputError(error.message("fr")) from error

    by_label = inputs.by_label
    with transaction.atomic():
        run = ComparisonRun.objects.select_for_update().select_related("job").get(pk=run_id)
        if run.job.is_finished:
            return {"message": _("The comparison was over; nothing was computed.")}
        count = 0
        for pair in result.pairs:
            if pair.first == "reference":
                key, kind = f"ref:{by_label[pair.second].pk}", ResultKind.VS_REFERENCE
                test, other = by_label[pair.second], None
            else:
                first, second = by_label[pair.first], by_label[pair.second]
                key, kind = f"pair:{first.pk}:{second.pk}", ResultKind.PAIR
                test, other = second, first
            _save_result(run, structure, key, kind, test, other, pair.metrics)
            count += 1
        for kind, metrics in consensus.items():
            _save_result(run, structure, kind, kind, None, None, metrics)
            count += 1
        part = RunStructure.objects.get(run=run, structure=structure)
        if part.finished_at is None:
            part.finished_at = timezone.now()
            part.warnings = run_warnings(result.warnings, inputs.sources)
            part.save(update_fields=["finished_at", "warnings"])
        done = run.parts.filter(finished_at__isnull=False).count()
        total = run.parts.count()
        job_progress(
            job_id=run.job_id,
            progress=2 + int(88 * done / total),
            message=_structures_done(done, total),
        )
        finishing = Job.objects.filter(parent=run.job, kind="contouring.comparison.finish")
        if done == total and not finishing.exists():
            job_part_create(
                parent=run.job,
                kind="contouring.comparison.finish",
                label=_("Contour comparison — %(case)s — final step") % {"case": run.case.title},
                task=comparison_run_finish_task,
                run_id=run.pk,
            )
    return {"message": _("%(count)d results computed.") % {"count": count}}


def comparison_run_finish(*, run_id: int, report: Callable[[int, str], None]) -> dict:
    """The run's final step, once every structure is stored: DVHs, warnings, old rows, status.

    One transaction publishes the run: its DVH rows, the deletion of the older runs' rows,
    and the job's success. Until it commits the case shows its previous succeeded run whole;
    a run whose job ended (failed) meanwhile is not published.
    """
    run = ComparisonRun.objects.select_related("case", "job").get(pk=run_id)
    case = run.case
    if run.job.is_finished:
        return {"message": _("The comparison was over; nothing was computed.")}
    inputs = run_inputs(run)
    job_progress(job_id=run.job_id, progress=90, message=_("Saving the results"))
    computed = _dose_statistics(
        run,
        inputs.geometry,
        inputs.reference,
        inputs.tests,
        inputs.structures,
        lambda percent, message: job_progress(job_id=run.job_id, progress=percent, message=message),
        inputs.consensus_masks,
    )
    by_name = {s.name: s for s in inputs.structures}
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=run.job_id)
        if job.is_finished:
            return {"message": _("The comparison was over; nothing was computed.")}
        doses, plan_comparison = computed or ({}, None)
        if plan_comparison is not None:
            CaseDose.objects.filter(case=case).update(plan_comparison=plan_comparison)
        _save_doses(run, doses, inputs.by_label, by_name)
        # The older runs' rows, and those of structures this run did not compare.
        case.results.exclude(run=run).delete()
        run.warnings = _merged_warnings(run)
        run.engine_version = _engine_version()
        run.finished_at = timezone.now()
        run.save(update_fields=["warnings", "engine_version", "finished_at"])
        outcome = {
            "message": _("%(count)d results computed.") % {"count": case.results.count()},
            "result_url": reverse("contouring:case-results", args=[case.pk]),
        }
        job_succeed(job_id=run.job_id, **outcome)
    return outcome


def _merged_warnings(run: ComparisonRun) -> list[dict]:
    """The structures' warnings, each once (the files' own are found by every structure)."""
    out, seen = [], set()
    for part in run.parts.all():
        for warning in part.warnings:
            key = (warning["submission"], warning["message"])
            if key not in seen:
                seen.add(key)
                out.append(warning)
    return out[:200]


def _dose_statistics(
    run, geometry, reference, tests, structures, report, consensus_masks
) -> tuple[dict, list] | None:
    """The DVH of every structure set on the case's reference dose and our reference DVHs
    beside the planning system's (saved by the final step); None without a dose.

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
    return doses, dosimetry.plan_comparison(doses, reference, dose)


def _save_doses(run, doses: dict, by_label: dict, by_name: dict) -> None:
    """Replace the case's DVH rows by the run's (none when the case has no dose).

    Called inside the final step's transaction, so the older runs' rows go with it.
    """
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
            run=run,
            structure=by_name[name],
            set_key=key if submission is None else f"sub:{submission.pk}",
            defaults={
                "case": run.case,
                "kind": kind,
                "submission": submission,
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
        run=run,
        structure=structure,
        pair_key=key,
        defaults={
            "case": run.case,
            "kind": kind,
            "test": test,
            "other": other,
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
