"""Jobs: claim rules, progress, success and failure, report jobs, the status endpoint."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from onco_hdf import jobs
from onco_hdf.models import Job, JobStatus
from tests.conftest import login


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
