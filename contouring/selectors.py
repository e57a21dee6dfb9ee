"""Reads of the contouring app, already restricted to what the user may see."""

from __future__ import annotations

import dataclasses

from django.db.models import Count, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404

from contouring import permissions
from contouring.models import (
    CaseDose,
    CaseStructure,
    ClinicalCase,
    ClinicalObjective,
    ComparisonProtocol,
    ComparisonResult,
    ComparisonRun,
    ResultKind,
    Solution,
    StructureDose,
    Submission,
)
from onco_hdf.permissions import scope_to_user


def case_list_for_user(user) -> QuerySet[ClinicalCase]:
    if not permissions.can_view_cases(user):
        return ClinicalCase.objects.none()
    visible = submission_list_for_user(user)
    return ClinicalCase.objects.annotate(
        structure_count=Count("structures", filter=Q(structures__is_compared=True), distinct=True),
        submission_count=Count(
            "submissions",
            filter=Q(submissions__in=visible, submissions__is_current=True),
            distinct=True,
        ),
    )


def case_get_for_user(user, pk: int) -> ClinicalCase:
    return get_object_or_404(case_list_for_user(user), pk=pk)


def case_dose(case: ClinicalCase) -> CaseDose | None:
    """The case's reference dose, if one is attached (the case is already the user's)."""
    return CaseDose.objects.filter(case=case).select_related("uploaded_by").first()


def objective_list() -> QuerySet[ClinicalObjective]:
    """The clinical objectives (regional settings, no centre data)."""
    return ClinicalObjective.objects.all()


def objective_get(pk: int) -> ClinicalObjective:
    return get_object_or_404(ClinicalObjective, pk=pk)


def structure_doses_for_user(user, case: ClinicalCase) -> QuerySet[StructureDose]:
    """The case's DVH rows the user may read: the reference, the consensus, and the
    solutions' of the submissions the user sees (of the last succeeded run)."""
    visible = submission_list_for_user(user).values("pk")
    return current_doses(case).filter(Q(submission__isnull=True) | Q(submission__in=visible))


def structure_get_for_case(case: ClinicalCase, pk: int) -> CaseStructure:
    return get_object_or_404(case.structures.all(), pk=pk)


def submission_list_for_user(user) -> QuerySet[Submission]:
    return scope_to_user(
        Submission.objects.select_related("solution", "centre", "case", "uploaded_by"),
        user,
        roles=permissions.CENTRE_READER_ROLES,
    )


def submission_get_for_user(user, pk: int) -> Submission:
    return get_object_or_404(submission_list_for_user(user), pk=pk)


def current_submissions(case: ClinicalCase, user=None) -> QuerySet[Submission]:
    queryset = case.submissions.filter(is_current=True).select_related("solution", "centre")
    if user is not None:
        queryset = queryset.filter(pk__in=submission_list_for_user(user).values("pk"))
    return queryset


def solution_list() -> QuerySet[Solution]:
    return Solution.objects.annotate(submission_count=Count("submissions"))


def _succeeded_runs(case: ClinicalCase) -> QuerySet[ComparisonRun]:
    from onco_hdf.models import JobStatus

    return case.runs.filter(job__status=JobStatus.DONE)


def current_results(case: ClinicalCase) -> QuerySet[ComparisonResult]:
    """The case's result rows: those of its last succeeded run, all of them.

    A run's rows are written structure by structure but shown only once its final step
    committed, so a run under way or failed never mixes its figures with the previous run's.
    """
    return case.results.filter(run=_succeeded_runs(case).values("pk")[:1])


def current_doses(case: ClinicalCase) -> QuerySet[StructureDose]:
    """The case's DVH rows of its last succeeded run (see :func:`current_results`)."""
    return case.doses.filter(run=_succeeded_runs(case).values("pk")[:1])


def results_for_user(user, case: ClinicalCase) -> QuerySet[ComparisonResult]:
    """Rows of the case the user may read: all for regional readers, else their centre's."""
    queryset = current_results(case).select_related(
        "structure", "test__solution", "test__centre", "other__solution", "other__centre"
    )
    if permissions.can_view_all_results(user):
        return queryset
    visible = submission_list_for_user(user).values("pk")
    return queryset.filter(kind=ResultKind.VS_REFERENCE, test__in=visible)


def latest_run(case: ClinicalCase) -> ComparisonRun | None:
    return case.runs.select_related("job").first()


def results_columns_for_user(user) -> list[str]:
    """The metric columns the user chose (empty: the default columns)."""
    from contouring.models import ResultsColumns

    if not user.is_authenticated:
        return []
    row = ResultsColumns.objects.filter(user=user).first()
    return list(row.columns) if row else []


def latest_finished_run(case: ClinicalCase) -> ComparisonRun | None:
    """The last succeeded run: the one whose results the case shows."""
    return _succeeded_runs(case).select_related("job").first()


@dataclasses.dataclass(frozen=True)
class RunNotice:
    """The case's last run, under way or failed, and the older run whose results are shown."""

    latest: ComparisonRun
    shown: ComparisonRun | None


def results_run_notice(case: ClinicalCase) -> RunNotice | None:
    """Why the results shown are not the last run's (None: they are)."""
    from onco_hdf.models import JobStatus

    latest = latest_run(case)
    if latest is None or latest.job.status == JobStatus.DONE:
        return None
    return RunNotice(latest=latest, shown=latest_finished_run(case))


def active_run(case: ClinicalCase) -> ComparisonRun | None:
    """The case's comparison still waiting or running, if any (at most one at a time)."""
    from onco_hdf.models import JobStatus

    return (
        case.runs.select_related("job")
        .filter(job__status__in=[JobStatus.PENDING, JobStatus.RUNNING])
        .first()
    )


def results_out_of_date(case: ClinicalCase) -> ComparisonRun | None:
    """The last finished run, when the case changed after it (None: results current).

    A change is a submission uploaded or a mapping confirmed after the run started, or a
    different set of compared structures or mapped submissions than the results hold.
    While a comparison is under way the page shows its progress instead.
    """

    if active_run(case) is not None:
        return None
    run = latest_finished_run(case)
    if run is None:
        return None
    current = list(case.submissions.filter(is_current=True))
    if any(
        s.uploaded_at > run.created_at
        or (s.mapping_confirmed_at is not None and s.mapping_confirmed_at > run.created_at)
        for s in current
    ):
        return run
    compared = set(case.structures.filter(is_compared=True).values_list("pk", flat=True))
    ready = {s.pk for s in current if s.mapping_confirmed_at is not None}
    rows = current_results(case).filter(kind=ResultKind.VS_REFERENCE)
    if set(rows.values_list("structure_id", flat=True)) != compared:
        return run
    if set(rows.values_list("test_id", flat=True)) != ready:
        return run
    return None


def submissions_with_rois(case: ClinicalCase, user) -> QuerySet[Submission]:
    """Every visible submission of the case, replaced ones included (they are kept)."""
    from contouring.models import StructureMapping

    return (
        submission_list_for_user(user)
        .filter(case=case)
        .prefetch_related(
            "rois",
            Prefetch(
                "mappings", queryset=StructureMapping.objects.select_related("roi", "structure")
            ),
        )
    )


def protocol_list() -> QuerySet[ComparisonProtocol]:
    return ComparisonProtocol.objects.order_by("-number")


def protocol_get(pk: int) -> ComparisonProtocol:
    """A protocol version (regional: no centre scope); 404 when absent."""
    return get_object_or_404(protocol_list(), pk=pk)
