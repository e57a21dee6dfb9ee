"""The demo seed: two synthetic cases with simulated solutions, compared, idempotent."""

from __future__ import annotations

import pytest

from contouring import demo
from contouring.models import (
    ClinicalCase,
    ComparisonProtocol,
    ComparisonRun,
    ResultKind,
    Solution,
    Submission,
)
from onco_hdf.models import Job, JobStatus


def test_demo_seed_gives_full_results_and_is_idempotent(db, django_capture_on_commit_callbacks):
    from onco_hdf import demo as core_demo

    core_demo.seed()
    with django_capture_on_commit_callbacks(execute=True):
        pelvis, head_neck = demo.seed()
    assert ClinicalCase.objects.filter(is_demo=True).count() == 2
    assert all(s.is_simulated and "simulé" in s.product for s in Solution.objects.all())
    for case in (pelvis, head_neck):
        run = case.runs.get()
        assert run.job.status == "done", run.job.message
        assert (
            case.submissions.filter(is_demo=True, mapping_confirmed_at__isnull=False).count() == 5
        )
        assert case.results.filter(kind=ResultKind.CONSENSUS).exists()
        grown = case.results.get(
            kind=ResultKind.VS_REFERENCE,
            structure__name="Body",
            test__solution__product="AutoContour A (simulé)",
        )
        assert grown.volume_ratio > 1
        # Each demo case has a reference dose: the runs stored the DVHs of every set.
        assert case.dose.max_dose_gy == pytest.approx(
            {"prostate": 78.0, "head_neck": 70.0}[case.site]
        )
        assert (
            case.doses.filter(set_key="reference").count()
            == case.structures.filter(is_compared=True).count()
        )
    centres = set(Submission.objects.values_list("centre__short_name", flat=True))
    assert {"CHU Lille", "CHU Amiens", "CLCC Lille", "Valenciennes"} <= centres

    protocol = ComparisonProtocol.objects.get()
    assert protocol.number == 1 and set(protocol.case_ids) == {pelvis.pk, head_neck.pk}
    assert len(protocol.solution_ids) == 5
    assert protocol.report.status == "draft"

    with django_capture_on_commit_callbacks(execute=True):
        demo.seed()
    assert ComparisonProtocol.objects.count() == 1
    assert ClinicalCase.objects.count() == 2
    assert Submission.objects.count() == 10
    assert ComparisonRun.objects.count() == 2

    # After a failed run (its rows kept, never shown) the seed compares that case again.
    Job.objects.filter(pk=pelvis.runs.get().job_id).update(status=JobStatus.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        demo.seed()
    assert ComparisonRun.objects.count() == 3
    assert pelvis.runs.latest("created_at").job.status == JobStatus.DONE
    assert head_neck.runs.count() == 1
