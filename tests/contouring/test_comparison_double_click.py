"""Starting a comparison twice (a double click) gives one run and one job: the second launch
is refused with the message that names the running one."""

from __future__ import annotations

import pytest

from contouring import services
from contouring.models import ComparisonRun
from onco_hdf.models import Job
from tests.contouring.conftest import create_case, submit


@pytest.mark.django_db
def test_double_click_starts_one_comparison(
    head_neck_files, pm, centre_a, django_capture_on_commit_callbacks
):
    case = create_case(head_neck_files, pm)
    submit(case, head_neck_files, 0, centre_a, pm)
    with django_capture_on_commit_callbacks(execute=False):  # the job stays pending
        first = services.comparison_run_start(case=case, user=pm)
        with pytest.raises(services.ComparisonAlreadyRunning) as refused:
            services.comparison_run_start(case=case, user=pm)
    assert refused.value.run.pk == first.pk
    assert ComparisonRun.objects.filter(case=case).count() == 1
    assert Job.objects.filter(kind="contouring.comparison").count() == 1
