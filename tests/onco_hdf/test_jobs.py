"""Jobs: claim rules, progress, success and failure, report jobs, the status endpoint."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone
from pypdf import PdfReader

from onco_hdf import jobs
from onco_hdf.models import Job, JobStatus
from onco_hdf.tasks import worker_check_task
from tests.concurrency import run_together
from tests.conftest import login
from tests.requirements import need_postgres


@pytest.fixture
def job(pm):
    return jobs.job_create(kind="test", label="Test", user=pm)


@pytest.mark.django_db
def test_claim_takes_a_pending_job_once(job):
    claimed = jobs.job_claim(job_id=job.pk, delivery_id="m1")
    assert claimed.status == JobStatus.RUNNING and claimed.attempts == 1
    # A duplicate message (another id) leaves the running job alone...
    assert jobs.job_claim(job_id=job.pk, delivery_id="m2") is None
    # ...while the same message redelivered after its worker died takes it back.
    again = jobs.job_claim(job_id=job.pk, delivery_id="m1")
    assert again.attempts == 2


@pytest.mark.django_db
def test_finished_job_is_never_run_again(job):
    jobs.job_claim(job_id=job.pk, delivery_id="m1")
    jobs.job_succeed(job_id=job.pk, message="ok")
    assert jobs.job_claim(job_id=job.pk, delivery_id="m1") is None


@pytest.mark.django_db
def test_run_job_reports_progress_and_result(job):
    seen = []

    def work(current, report):
        report(40, "à moitié")
        seen.append(Job.objects.get(pk=current.pk).progress)
        return {"message": "fini", "result_name": "r.txt", "result_content": b"contenu"}

    jobs.run_job(job_id=job.pk, delivery_id="m1", work=work)
    job.refresh_from_db()
    assert seen == [40]
    assert (job.status, job.progress, job.message) == (JobStatus.DONE, 100, "fini")
    assert job.result_file.read() == b"contenu"


@pytest.mark.django_db
def test_bad_input_fails_the_job_with_its_message(job):
    def work(current, report):
        raise jobs.JobInputError("Le fichier n’est pas un DICOM.")

    jobs.run_job(job_id=job.pk, delivery_id="m1", work=work)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "Le fichier n’est pas un DICOM."


@pytest.mark.django_db
def test_unexpected_error_fails_the_job_and_is_raised(job):
    def work(current, report):
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        jobs.run_job(job_id=job.pk, delivery_id="m1", work=work)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "erreur inattendue" in job.message


@pytest.mark.django_db
def test_dashboard_pdf_job_from_the_browser_flow(pm, django_capture_on_commit_callbacks):
    client = login(pm)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/rapports/onco_hdf.dashboard/generer/")
    job = Job.objects.get()
    assert response["Location"] == f"/taches/{job.pk}/"
    status = client.get(f"/taches/{job.pk}/etat/").json()
    assert status["status"] == "done" and status["progress"] == 100
    assert status["result_url"] == f"/taches/{job.pk}/resultat/"
    pdf = client.get(status["result_url"])
    content = b"".join(pdf.streaming_content)
    text = PdfReader(io.BytesIO(content)).pages[0].extract_text()
    assert "Tableau de bord régional" in text
    assert pdf["Content-Disposition"].startswith("attachment")


@pytest.mark.django_db
def test_unknown_report_and_forbidden_report_answer_404(pm, oncologist_a):
    assert login(pm).post("/rapports/nope/generer/").status_code == 404
    assert login(oncologist_a).post("/rapports/onco_hdf.dashboard/generer/").status_code == 404


@pytest.mark.django_db
def test_someone_elses_job_is_not_found(job, oncologist_a, copil):
    for user in (oncologist_a, copil):
        client = login(user)
        assert client.get(f"/taches/{job.pk}/etat/").status_code == 404
        assert client.get(f"/taches/{job.pk}/").status_code == 404


# --- Heartbeats and the sweeper --------------------------------------------------------
class Sent:
    """Stands in for the broker: records what ``apply_async`` would publish."""

    def __init__(self, monkeypatch, task, fail: bool = False) -> None:
        self.calls: list[dict] = []
        self.fail = fail
        monkeypatch.setattr(task, "apply_async", self)

    def __call__(self, args=None, kwargs=None, **options):
        if self.fail:
            from kombu.exceptions import OperationalError

            raise OperationalError("Error 111 connecting to 127.0.0.1:6390. Connection refused.")
        self.calls.append(kwargs)


def _age(job, **fields_seconds):
    """Move the job's timestamps into the past (seconds ago)."""
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(
        **{name: now - timedelta(seconds=s) for name, s in fields_seconds.items()}
    )


@pytest.fixture
def sent(monkeypatch):
    return Sent(monkeypatch, worker_check_task)


@pytest.mark.django_db
def test_enqueue_keeps_the_task_and_sends_it_after_commit(
    job, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        jobs.job_enqueue(job=job, task=worker_check_task, steps=2)
        assert sent.calls == []  # not before the commit
    assert sent.calls == [{"job_id": job.pk, "steps": 2}]
    job.refresh_from_db()
    assert (job.task_name, job.task_kwargs) == ("onco_hdf.worker_check", {"steps": 2})
    assert job.sent_at is not None and job.status == JobStatus.PENDING


@pytest.mark.django_db
def test_sweeper_requeues_a_running_job_whose_heartbeat_stopped(job, sent, settings):
    settings.JOB_STALE_SECONDS = 60
    jobs.job_enqueue(job=job, task=worker_check_task)
    jobs.job_claim(job_id=job.pk, delivery_id="m1")
    _age(job, heartbeat_at=30)
    assert jobs.job_sweep()["requeued"] == 0  # 30 s of silence is not yet stale
    _age(job, heartbeat_at=61)
    assert jobs.job_sweep() == {"requeued": 1, "resent": 0, "failed": 0}
    job.refresh_from_db()
    assert (job.status, job.delivery_id) == (JobStatus.PENDING, "")
    assert sent.calls == [{"job_id": job.pk}]
    # Exactly once: the new message takes the job; the dead worker's message, if the
    # broker ever gives it back, finds it taken; its late result is dropped.
    assert jobs.job_claim(job_id=job.pk, delivery_id="m2").attempts == 2
    assert jobs.job_claim(job_id=job.pk, delivery_id="m1") is None
    jobs.job_succeed(job_id=job.pk, message="late", delivery_id="m1")
    jobs.job_fail(job_id=job.pk, message="late", delivery_id="m1")
    job.refresh_from_db()
    assert (job.status, job.delivery_id, job.message) == (JobStatus.RUNNING, "m2", "")
    jobs.job_succeed(job_id=job.pk, message="fini", delivery_id="m2")
    assert Job.objects.get(pk=job.pk).status == JobStatus.DONE


@pytest.mark.django_db
def test_heartbeat_keeps_a_long_job_alive(job, sent, settings):
    settings.JOB_STALE_SECONDS = 60
    jobs.job_enqueue(job=job, task=worker_check_task)
    jobs.job_claim(job_id=job.pk, delivery_id="m1")
    _age(job, heartbeat_at=3600, started_at=3600)
    assert jobs.job_heartbeat(job_id=job.pk, delivery_id="m1") is True
    assert jobs.job_heartbeat(job_id=job.pk, delivery_id="other") is False
    assert jobs.job_sweep()["requeued"] == 0
    assert Job.objects.get(pk=job.pk).status == JobStatus.RUNNING


@pytest.mark.django_db
def test_sweeper_fails_a_job_after_max_attempts_in_french(job, sent, settings):
    settings.JOB_STALE_SECONDS = 60
    settings.JOB_MAX_ATTEMPTS = 2
    jobs.job_enqueue(job=job, task=worker_check_task)
    for delivery in ("m1", "m2"):
        jobs.job_claim(job_id=job.pk, delivery_id=delivery)
        _age(job, heartbeat_at=120)
        jobs.job_sweep()
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.attempts == 2
    assert job.message == (
        "Le serveur de calcul s’est arrêté 2 fois pendant cette tâche ; elle a été abandonnée. "
        "Relancez-la, ou contactez l’équipe si cela se répète."
    )
    assert len(sent.calls) == 1  # the requeue; nothing after the failure


@pytest.mark.django_db
def test_sweeper_resends_a_pending_job_nobody_took(job, sent, settings):
    settings.JOB_PENDING_RESEND_SECONDS = 300
    jobs.job_enqueue(job=job, task=worker_check_task)
    jobs.job_send(job_id=job.pk)
    _age(job, created_at=100, sent_at=100)
    assert jobs.job_sweep()["resent"] == 0
    _age(job, created_at=400, sent_at=301)
    assert jobs.job_sweep()["resent"] == 1
    assert len(sent.calls) == 2
    _age(job, created_at=25 * 3600)
    assert jobs.job_sweep()["failed"] == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message == "Aucun serveur de calcul n’a pris cette tâche à temps ; relancez-la."


@pytest.mark.django_db
def test_run_job_stopped_by_the_soft_time_limit_fails_in_french(job):
    def work(current, report):
        raise SoftTimeLimitExceeded()

    jobs.run_job(job_id=job.pk, delivery_id="m1", work=work)
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.message.startswith("La tâche a dépassé la durée autorisée et a été arrêtée.")


def test_sweeper_is_on_beat_every_minute(settings):
    from onco_hdf.celery import app

    entry = app.conf.beat_schedule["onco_hdf-job-sweep"]
    assert entry["task"] == "onco_hdf.job_sweep"
    assert entry["schedule"] == timedelta(seconds=60)
    assert settings.CELERY_BEAT_SCHEDULE["onco_hdf-job-sweep"] is entry
    assert "onco_hdf.job_sweep" in app.tasks


# --- Broker down, double clicks ---------------------------------------------------------
@pytest.mark.django_db
def test_one_job_per_user_action_and_object(pm, copil):
    first, created = jobs.job_get_or_create(kind="report", label="R", user=pm, obj="a")
    assert created
    assert jobs.job_get_or_create(kind="report", label="R", user=pm, obj="a") == (first, False)
    jobs.job_claim(job_id=first.pk, delivery_id="m1")
    assert jobs.job_get_or_create(kind="report", label="R", user=pm, obj="a") == (first, False)
    # Another object, another action or another user: another job.
    assert jobs.job_get_or_create(kind="report", label="R", user=pm, obj="b")[1]
    assert jobs.job_get_or_create(kind="other", label="R", user=pm, obj="a")[1]
    assert jobs.job_get_or_create(kind="report", label="R", user=copil, obj="a")[1]
    # Once it has ended, the same launch is a rerun: a new job.
    jobs.job_succeed(job_id=first.pk, message="ok")
    again, created = jobs.job_get_or_create(kind="report", label="R", user=pm, obj="a")
    assert created and again.pk != first.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_clicks_make_one_job(pm):
    need_postgres()
    outcomes = run_together(
        *[lambda: jobs.job_get_or_create(kind="report", label="R", user=pm, obj="x")] * 3
    )
    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    assert sorted(created for _job, created in outcomes) == [False, False, True]
    assert len({job.pk for job, _created in outcomes}) == 1
    assert Job.objects.count() == 1


@pytest.mark.django_db
def test_double_click_on_a_report_button_makes_one_job(pm, django_capture_on_commit_callbacks):
    client = login(pm)
    with django_capture_on_commit_callbacks(execute=False):  # no worker took it yet
        first = client.post("/rapports/onco_hdf.dashboard/generer/")
        second = client.post("/rapports/onco_hdf.dashboard/generer/")
        other = client.post("/rapports/onco_hdf.dashboard/generer/", {"p_year": "2025"})
    job = Job.objects.get(params={"report": "onco_hdf.dashboard"})
    assert first["Location"] == second["Location"] == f"/taches/{job.pk}/"
    assert other["Location"] != first["Location"]  # other parameters, another report
    assert Job.objects.count() == 2


@pytest.mark.django_db
def test_broker_down_the_job_waits_and_the_sweeper_sends_it(
    pm, monkeypatch, django_capture_on_commit_callbacks
):
    from onco_hdf.tasks import report_render_task

    down = Sent(monkeypatch, report_render_task, fail=True)
    client = login(pm)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/rapports/onco_hdf.dashboard/generer/")
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/taches/{job.pk}/"
    assert (job.status, job.sent_at) == (JobStatus.PENDING, None)
    page = client.get(f"/taches/{job.pk}/").content.decode()
    assert "en attente du serveur de calcul" in page
    assert (
        "en attente du serveur de calcul" in client.get(f"/taches/{job.pk}/etat/").json()["message"]
    )
    assert jobs.job_sweep()["resent"] == 0  # still down (and within the grace period)
    _age(job, created_at=10)
    assert jobs.job_sweep()["resent"] == 0
    down.fail = False  # the broker is back
    assert jobs.job_sweep()["resent"] == 1
    assert down.calls == [{"job_id": job.pk}]
    job.refresh_from_db()
    assert job.sent_at is not None and job.message == ""


# --- Time limits of report jobs ----------------------------------------------------------
def test_report_task_has_time_limits_below_the_visibility_timeout(settings):
    from onco_hdf.tasks import report_render_task

    assert report_render_task.soft_time_limit == settings.REPORT_TASK_SOFT_TIME_LIMIT
    assert report_render_task.time_limit == settings.REPORT_TASK_TIME_LIMIT
    assert report_render_task.soft_time_limit > settings.PDF_JOB_RENDER_SECONDS
    assert report_render_task.time_limit < settings.CELERY_BROKER_VISIBILITY_TIMEOUT


@pytest.mark.django_db
def test_report_job_out_of_layout_time_fails_in_french(
    pm, settings, django_capture_on_commit_callbacks
):
    settings.PDF_JOB_RENDER_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        login(pm).post("/rapports/onco_hdf.dashboard/generer/")
    job = Job.objects.get()
    assert job.status == JobStatus.FAILED
    assert job.message.startswith("La construction du PDF a dépassé la durée autorisée (0 s)")


@pytest.mark.django_db
def test_job_page_has_no_inline_style(job):
    """The Content-Security-Policy forbids inline styles: app.js sizes the bar."""
    jobs.job_claim(job_id=job.pk, delivery_id="m1")
    jobs.job_progress(job_id=job.pk, progress=40)
    page = login(job.created_by).get(f"/taches/{job.pk}/").content.decode()
    assert 'aria-valuenow="40"' in page
    assert "style=" not in page.split('class="job-progress"')[1].split("</section>")[0]
