"""One active comparison per case: a second launch is refused with a link to the first."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from contouring import services
from contouring.models import ComparisonRun
from onco_hdf.models import Job
from tests.concurrency import run_together
from tests.conftest import login
from tests.contouring.conftest import create_case, run_comparison, submit
from tests.requirements import need_postgres


def text(response) -> str:
    return html.unescape(response.content.decode())


@pytest.fixture
def ready_case(pelvis_files, pm, centre_a):
    case = create_case(pelvis_files, pm, title="Cas pelvien")
    submit(case, pelvis_files, 0, centre_a, pm)
    return case


def test_two_back_to_back_launches_start_one_job(ready_case, pm):
    client = login(pm)
    url = reverse("contouring:comparison-start", args=[ready_case.pk])
    first = client.post(url, {"include_consensus": "on"})
    second = client.post(url, {"include_consensus": "on"}, follow=True)
    assert first.status_code == 302
    assert ComparisonRun.objects.filter(case=ready_case).count() == 1
    assert Job.objects.filter(kind="contouring.comparison").count() == 1
    run = ComparisonRun.objects.get()
    page = text(second)
    assert "Une comparaison de ce cas est déjà en cours" in page
    assert f'href="{reverse("onco_hdf:job-detail", args=[run.job_id])}"' in page
    # The button is disabled while the run is waiting or running.
    assert "Run the comparison" not in page
    button = page.split('action="' + url + '"')[1].split("</form>")[0]
    assert "disabled" in button.split("<button")[1].split(">")[0]


def test_a_finished_run_allows_a_new_one(ready_case, pm, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        services.comparison_run_start(case=ready_case, user=pm)
    second = services.comparison_run_start(case=ready_case, user=pm)
    assert ComparisonRun.objects.count() == 2 and second.job.status == "pending"
    with pytest.raises(services.ComparisonAlreadyRunning) as error:
        services.comparison_run_start(case=ready_case, user=pm)
    assert error.value.run == second and error.value.code == "already_running"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_launches_at_the_same_instant_start_one_job(ready_case, pm, monkeypatch):
    need_postgres()
    from contouring import tasks

    monkeypatch.setattr(tasks.comparison_structure_compute_task, "apply_async", lambda **kw: None)
    outcomes = run_together(
        lambda: services.comparison_run_start(case=ready_case, user=pm),
        lambda: services.comparison_run_start(case=ready_case, user=pm),
    )
    started = [o for o in outcomes if isinstance(o, ComparisonRun)]
    refused = [o for o in outcomes if isinstance(o, services.ComparisonAlreadyRunning)]
    assert len(started) == 1 and len(refused) == 1, outcomes
    assert Job.objects.filter(kind="contouring.comparison").count() == 1


@pytest.mark.parametrize("threads", [1, 3])
def test_a_structure_task_computes_its_pairs_with_the_configured_threads(
    ready_case, pm, settings, monkeypatch, django_capture_on_commit_callbacks, threads
):
    """``CONTOURING_COMPARE_THREADS`` reaches the engine for every structure's task."""
    from contouring.services import runs

    settings.CONTOURING_COMPARE_THREADS = threads
    seen = []
    real = runs.compare_case

    def recording(*args, **kwargs):
        seen.append(kwargs["threads"])
        return real(*args, **kwargs)

    monkeypatch.setattr(runs, "compare_case", recording)
    run = run_comparison(ready_case, pm, django_capture_on_commit_callbacks)
    run.job.refresh_from_db()
    assert run.job.status == "done"
    assert seen and set(seen) == {threads}
    assert len(seen) == ready_case.structures.filter(is_compared=True).count()
