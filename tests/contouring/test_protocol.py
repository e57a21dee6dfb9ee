"""The comparison protocol as a versioned artefact the COPIL validates, and the report on it
that cannot be marked final before the COPIL validated that exact version."""

from __future__ import annotations

import datetime as dt
import hashlib
import io

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from pypdf import PdfReader

from contouring import protocols, services
from contouring.models import ComparisonReportTransition, ReportStatus
from onco_hdf import governance, signing
from onco_hdf import services as core_services
from onco_hdf.models import CopilMeeting, IssuedDocument, Job, JobStatus, Outcome, ReadAudit
from tests.conftest import login
from tests.contouring.conftest import create_case, submit

pytestmark = pytest.mark.django_db

NOT_VALIDATED = "n’a pas été validé en COPIL"


@pytest.fixture
def compared_case(pelvis_files, pm, centre_a, centre_b, django_capture_on_commit_callbacks):
    case = create_case(pelvis_files, pm, title="Cas pelvien")
    submit(case, pelvis_files, 0, centre_a, pm)
    submit(case, pelvis_files, 1, centre_b, pm)
    with django_capture_on_commit_callbacks(execute=True):
        services.comparison_run_start(case=case, user=pm)
    return case


def solutions_of(case):
    return [s.solution for s in services.comparison_ready_submissions(case)]


def new_protocol(case, pm, solutions=None, title="Protocole de comparaison"):
    return protocols.protocol_create(
        title=title, notes="", cases=[case], solutions=solutions or solutions_of(case), user=pm
    )


def decide(pm, copil, artefact, outcome=Outcome.VALIDATED, held_on=None):
    meeting = core_services.copil_meeting_save(
        meeting=CopilMeeting(
            held_on=held_on or dt.date(2026, 3, 12), title="COPIL", agenda="Protocole", quorum=2
        ),
        attendees=[pm, copil],
        user=pm,
    )
    decision = core_services.copil_decision_add(
        meeting=meeting, artefact=artefact, summary="", user=pm
    )
    return core_services.copil_decision_record(decision=decision, outcome=outcome, user=pm)


def pdf_text(content: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    return " ".join(text.split())


def report_pdf(client, protocol, capture) -> str:
    with capture(execute=True):
        response = client.post(
            reverse("onco_hdf:report-start", args=["contouring.comparison_report"]),
            {"p_protocol": str(protocol.pk)},
        )
    assert response.status_code == 302
    job = Job.objects.filter(kind="report").latest("pk")
    assert job.status == JobStatus.DONE, job.message
    assert f"protocole-v{protocol.number}" in job.result_file.name
    download = login(job.created_by).get(reverse("onco_hdf:job-result", args=[job.pk]))
    return pdf_text(b"".join(download.streaming_content))


def test_a_version_freezes_cases_solutions_submissions_convention_and_engine(compared_case, pm):
    submissions = list(services.comparison_ready_submissions(compared_case))
    protocol = new_protocol(compared_case, pm)
    assert protocol.number == 1
    assert protocol.convention == "default"
    assert protocol.hd95_method == "pooled"
    assert protocol.taus == [1.0, 2.0, 3.0]
    assert protocol.engine_version == services._engine_version() != ""
    (case,) = protocol.content["cases"]
    assert case["ct_sha256"] == compared_case.ct_sha256
    assert case["reference_sha256"] == compared_case.reference_sha256
    assert case["structures"] == list(
        compared_case.structures.filter(is_compared=True).values_list("name", flat=True)
    )
    assert sorted(s["sha256"] for s in case["submissions"]) == sorted(s.sha256 for s in submissions)
    assert protocol.solution_ids == sorted(s.solution_id for s in submissions)
    assert protocol.report.status == ReportStatus.DRAFT
    assert governance.version_label(protocol) == "v1"

    # Nothing changed: no new version.
    with pytest.raises(ValidationError, match="Rien n’a changé depuis la version 1"):
        new_protocol(compared_case, pm)
    # One solution fewer: version 2, whose diff against a validated v1 names what went.
    v2 = new_protocol(compared_case, pm, solutions=[submissions[0].solution])
    assert v2.number == 2
    assert len(v2.content["cases"][0]["submissions"]) == 1


def test_the_version_diff_of_the_meeting_pack_names_the_changes(compared_case, pm, copil):
    first, second = list(services.comparison_ready_submissions(compared_case))
    v1 = new_protocol(compared_case, pm)
    decide(pm, copil, v1)
    v2 = new_protocol(compared_case, pm, solutions=[first.solution])
    diff = governance.version_diff(v2)
    assert diff.base_label == "v1"
    assert diff.added == []
    assert f"Solution : {second.solution}" in diff.removed
    assert any(second.sha256[:12] in line for line in diff.removed)


@pytest.mark.copil_gates
def test_the_report_is_not_final_before_the_copil_validated_that_version(compared_case, pm, copil):
    v1 = new_protocol(compared_case, pm)
    with pytest.raises(ValidationError, match=NOT_VALIDATED):
        protocols.report_mark_final(protocol=v1, user=pm)
    decide(pm, copil, v1, Outcome.POSTPONED)
    with pytest.raises(ValidationError, match=NOT_VALIDATED):
        protocols.report_mark_final(protocol=v1, user=pm)
    v1.report.refresh_from_db()
    assert v1.report.status == ReportStatus.DRAFT
    assert not ComparisonReportTransition.objects.exists()

    decision = decide(pm, copil, v1, Outcome.VALIDATED)
    report = protocols.report_mark_final(protocol=v1, user=pm, comment="Version diffusée")
    assert report.status == ReportStatus.FINAL
    assert report.decision == decision and report.override is None
    step = ComparisonReportTransition.objects.get()
    assert (step.from_status, step.to_status, step.actor, step.comment) == (
        "draft",
        "final",
        pm,
        "Version diffusée",
    )
    with pytest.raises(ValidationError, match="déjà final"):
        protocols.report_mark_final(protocol=v1, user=pm)

    # The validation was about v1: v2 needs its own.
    first = services.comparison_ready_submissions(compared_case).first()
    v2 = new_protocol(compared_case, pm, solutions=[first.solution])
    with pytest.raises(ValidationError, match=NOT_VALIDATED):
        protocols.report_mark_final(protocol=v2, user=pm)


@pytest.mark.copil_gates
def test_results_that_no_longer_match_the_protocol_keep_the_report_a_draft(
    compared_case, pm, copil
):
    protocol = new_protocol(compared_case, pm)
    decide(pm, copil, protocol)
    run = compared_case.runs.first()
    run.engine_version = "0.9.0"
    run.save(update_fields=["engine_version"])
    with pytest.raises(ValidationError) as caught:
        protocols.report_mark_final(protocol=protocol, user=pm)
    assert "comparé avec le moteur 0.9.0" in " ".join(caught.value.messages)
    protocol.report.refresh_from_db()
    assert protocol.report.status == ReportStatus.DRAFT


@pytest.mark.copil_gates
def test_a_justified_override_lets_the_report_be_final_and_is_listed(
    compared_case, pm, django_capture_on_commit_callbacks
):
    protocol = new_protocol(compared_case, pm)
    reason = "Rapport attendu par l’ARS avant le COPIL de juin."
    override = core_services.gate_override_grant(artefact=protocol, reason=reason, user=pm)
    report = protocols.report_mark_final(protocol=protocol, user=pm)
    assert report.override == override and report.decision is None
    client = login(pm)
    assert reason in client.get(reverse("home")).content.decode()
    text = report_pdf(client, protocol, django_capture_on_commit_callbacks)
    assert "Rapport final" in text
    assert reason in text
    assert "validé en COPIL" not in text


@pytest.mark.copil_gates
def test_pdf_and_page_show_the_badge_and_the_status(
    compared_case, pm, copil, django_capture_on_commit_callbacks
):
    protocol = new_protocol(compared_case, pm)
    client = login(pm)
    text = report_pdf(client, protocol, django_capture_on_commit_callbacks)
    assert "Protocole de comparaison : Protocole de comparaison v1" in text
    assert "Projet de rapport : non final" in text
    assert "validé en COPIL" not in text
    assert not IssuedDocument.objects.exists()  # a draft report is not signed

    decision = decide(pm, copil, protocol, held_on=dt.date(2026, 3, 12))
    page = client.get(reverse("contouring:protocol-detail", args=[protocol.pk])).content.decode()
    assert "Validé en COPIL le 12/03/2026" in page
    assert f'href="/copil/decisions/{decision.pk}/"' in page

    response = client.post(
        reverse("contouring:protocol-report-final", args=[protocol.pk]), {"comment": ""}
    )
    assert response.status_code == 302
    text = report_pdf(client, protocol, django_capture_on_commit_callbacks)
    assert "validé en COPIL le 12/03/2026" in text
    assert "Rapport final" in text
    assert "Projet de rapport" not in text
    # The final report is official: sealed, with who decided and who marked it final.
    assert "Signatures et sceau de la plateforme" in text
    outcome = signing.verify_pdf(Job.objects.filter(kind="report").latest("pk").result_file.read())
    assert outcome.ok, outcome.reason
    assert outcome.issued.object_type == "contouring.comparisonreport"
    assert [s["capacity"] for s in outcome.issued.signatories] == [
        "a enregistré la décision du COPIL",
        "a marqué le rapport final",
    ]


@pytest.mark.copil_gates
def test_marking_final_in_the_page_before_the_decision_shows_why(compared_case, pm):
    protocol = new_protocol(compared_case, pm)
    response = login(pm).post(
        reverse("contouring:protocol-report-final", args=[protocol.pk]),
        {"comment": "Diffusion ARS"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert NOT_VALIDATED in page
    assert "Diffusion ARS</textarea>" in page  # what was typed stays
    protocol.report.refresh_from_db()
    assert protocol.report.status == ReportStatus.DRAFT


def test_the_project_manager_creates_a_version_in_the_page(compared_case, pm):
    client = login(pm)
    page = client.get(reverse("contouring:protocol-create"))
    assert page.status_code == 200
    assert "Cas pelvien" in page.content.decode()
    solutions = {s.pk for s in solutions_of(compared_case)}
    response = client.post(
        reverse("contouring:protocol-create"),
        {"title": "Protocole 2026", "notes": "", "cases": [compared_case.pk], "solutions": []},
    )
    assert response.status_code == 400
    assert "Choisissez au moins une solution." in response.content.decode()
    assert 'value="Protocole 2026"' in response.content.decode()
    response = client.post(
        reverse("contouring:protocol-create"),
        {
            "title": "Protocole 2026",
            "notes": "Première version",
            "cases": [compared_case.pk],
            "solutions": sorted(solutions),
        },
    )
    protocol = protocols.protocol_latest()
    assert response.status_code == 302
    assert response["Location"] == reverse("contouring:protocol-detail", args=[protocol.pk])
    assert set(protocol.solution_ids) == solutions
    listing = client.get(reverse("contouring:protocol-list")).content.decode()
    assert "Protocole 2026" in listing


@pytest.mark.parametrize(
    "name",
    ["contouring:protocol-list", "contouring:protocol-create", "contouring:protocol-detail"],
)
def test_permissions_of_the_protocol_pages(name, anonymous, as_persona, pelvis_case, pm):
    args = []
    if name == "contouring:protocol-detail":
        submit_case = pelvis_case
        args = [_bare_protocol(submit_case, pm).pk]
    url = reverse(name, args=args)
    response = anonymous.get(url)
    assert response.status_code == 302 and "/compte/connexion/" in response["Location"]
    for persona in ("physicist_a", "oncologist_a", "referent_a"):
        assert as_persona(persona).get(url).status_code == 403
    expected = 403 if name == "contouring:protocol-create" else 200
    assert as_persona("copil").get(url).status_code == expected
    assert as_persona("pm").get(url).status_code == 200


def test_permissions_of_marking_final(anonymous, as_persona, pelvis_case, pm):
    protocol = _bare_protocol(pelvis_case, pm)
    url = reverse("contouring:protocol-report-final", args=[protocol.pk])
    assert anonymous.post(url).status_code == 302
    for persona in ("copil", "physicist_a"):
        assert as_persona(persona).post(url).status_code == 403
    assert as_persona("pm").get(url).status_code == 405
    missing = reverse("contouring:protocol-report-final", args=[protocol.pk + 1000])
    assert as_persona("pm").post(missing).status_code == 404
    detail = reverse("contouring:protocol-detail", args=[protocol.pk + 1000])
    assert as_persona("pm").get(detail).status_code == 404


def _bare_protocol(case, pm):
    """A protocol version without running a comparison (the pages only read it)."""
    from contouring.models import ComparisonProtocol, ComparisonReport

    protocol = ComparisonProtocol.objects.create(
        number=1,
        title="Protocole",
        hd95_method="pooled",
        taus=[1.0, 2.0, 3.0],
        engine_version="1.2.0",
        content=protocols.protocol_content(cases=[case], solutions=[]),
        created_by=pm,
    )
    ComparisonReport.objects.create(protocol=protocol)
    return protocol


@pytest.mark.copil_gates
def test_the_first_pdf_once_final_is_kept_as_the_final_report(
    compared_case, pm, copil, physicist_a, django_capture_on_commit_callbacks
):
    protocol = new_protocol(compared_case, pm)
    client = login(pm)
    report_pdf(client, protocol, django_capture_on_commit_callbacks)  # a draft: not kept
    protocol.report.refresh_from_db()
    assert not protocol.report.file
    download = reverse("contouring:protocol-report-download", args=[protocol.pk])
    assert client.get(download).status_code == 404

    decide(pm, copil, protocol)
    protocols.report_mark_final(protocol=protocol, user=pm)
    text = report_pdf(client, protocol, django_capture_on_commit_callbacks)
    assert "Rapport final" in text
    protocol.report.refresh_from_db()
    kept = protocol.report.file.read()
    assert protocol.report.sha256 == hashlib.sha256(kept).hexdigest()
    response = client.get(download)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == kept
    assert ReadAudit.objects.filter(
        actor=pm, action="download", object_type="contouring.comparisonreport"
    ).exists()
    page = client.get(reverse("contouring:protocol-detail", args=[protocol.pk])).content.decode()
    assert download in page and protocol.report.sha256 in page

    # A later rendering is a copy: the kept final report does not change.
    report_pdf(client, protocol, django_capture_on_commit_callbacks)
    protocol.report.refresh_from_db()
    assert protocol.report.file.read() == kept
    assert login(copil).get(download).status_code == 200
    assert login(physicist_a).get(download).status_code == 403
