"""Permission matrix: every URL of the app × every persona → expected status."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from habilitations.models import Evidence, SheetStatus
from tests.conftest import login
from tests.habilitations.factories import make_sheet

PERSONAS = (
    "anonymous",
    "pm",
    "copil",
    "referent_a",
    "oncologist_a",
    "head_a",
    "physicist_a",
    "oncologist_b",
    "head_b",
)


def row(
    anonymous=302,
    pm=200,
    copil=200,
    referent_a=403,
    oncologist_a=200,
    head_a=200,
    physicist_a=403,
    oncologist_b=200,
    head_b=200,
):
    return dict(
        anonymous=anonymous,
        pm=pm,
        copil=copil,
        referent_a=referent_a,
        oncologist_a=oncologist_a,
        head_a=head_a,
        physicist_a=physicist_a,
        oncologist_b=oncologist_b,
        head_b=head_b,
    )


READERS = row()
SHEET_OF_A = row(oncologist_b=404, head_b=404)
EDIT_OF_A = row(pm=403, copil=403, oncologist_b=404, head_b=404)
MATRIX = row(oncologist_a=403, oncologist_b=403)
PUBLIC = row(anonymous=200, referent_a=200, physicist_a=200)

# (method, url name, args key, expected per persona)
MATRIX_TABLE = [
    ("get", "habilitations:home", None, READERS),
    ("get", "habilitations:workflow-help", None, READERS),
    ("get", "habilitations:catalogue-list", None, READERS),
    ("get", "habilitations:catalogue-detail", "version", READERS),
    (
        "get",
        "habilitations:catalogue-update",
        "draft",
        row(copil=403, oncologist_a=403, head_a=403, oncologist_b=403, head_b=403),
    ),
    (
        "get",
        "habilitations:activity-create",
        "draft",
        row(copil=403, oncologist_a=403, head_a=403, oncologist_b=403, head_b=403),
    ),
    (
        "get",
        "habilitations:domain-create",
        "draft",
        row(copil=403, oncologist_a=403, head_a=403, oncologist_b=403, head_b=403),
    ),
    ("get", "habilitations:sheet-list", None, READERS),
    ("get", "habilitations:sheet-create", None, row(pm=403, copil=403)),
    ("get", "habilitations:sheet-detail", "draft_sheet", SHEET_OF_A),
    ("get", "habilitations:sheet-pdf", "draft_sheet", SHEET_OF_A),
    ("get", "habilitations:sheet-update", "draft_sheet", EDIT_OF_A),
    ("get", "habilitations:line-create", "draft_sheet", EDIT_OF_A),
    ("get", "habilitations:line-update", "line", EDIT_OF_A),
    ("get", "habilitations:evidence-upload", "line_pk", EDIT_OF_A),
    ("get", "habilitations:evidence-download", "evidence", SHEET_OF_A),
    (
        "get",
        "habilitations:sheet-review",
        "submitted_sheet",
        row(pm=403, copil=403, oncologist_a=302, oncologist_b=404, head_b=404),
    ),
    ("get", "habilitations:matrix", None, MATRIX),
    ("get", "habilitations:matrix-export", None, MATRIX),
    (
        "get",
        "habilitations:overview",
        None,
        row(oncologist_a=403, head_a=403, oncologist_b=403, head_b=403),
    ),
    (
        "get",
        "habilitations:centre-detail",
        "centre_a",
        row(oncologist_a=403, oncologist_b=403, head_b=404),
    ),
    ("get", "habilitations:verify", None, PUBLIC),
    ("get", "habilitations:verify-code", "code", PUBLIC),
    (
        "post",
        "habilitations:sheet-transition",
        "submit",
        row(pm=302, copil=302, oncologist_a=302, head_a=302, oncologist_b=404, head_b=404),
    ),
    (
        "post",
        "habilitations:sheet-renew",
        "draft_sheet",
        row(pm=302, copil=302, oncologist_a=302, head_a=302, oncologist_b=404, head_b=404),
    ),
    (
        "post",
        "habilitations:line-delete",
        "line_pk",
        row(pm=403, copil=403, oncologist_a=302, head_a=302, oncologist_b=404, head_b=404),
    ),
    (
        "post",
        "habilitations:evidence-delete",
        "evidence",
        row(pm=403, copil=403, oncologist_a=302, head_a=302, oncologist_b=404, head_b=404),
    ),
    (
        "post",
        "habilitations:catalogue-create",
        None,
        row(pm=302, copil=403, oncologist_a=403, head_a=403, oncologist_b=403, head_b=403),
    ),
    (
        "post",
        "habilitations:catalogue-publish",
        "draft",
        row(pm=302, copil=403, oncologist_a=403, head_a=403, oncologist_b=403, head_b=403),
    ),
]

CASES = [
    (m, name, key, persona, expected[persona])
    for m, name, key, expected in MATRIX_TABLE
    for persona in PERSONAS
]


@pytest.fixture
def objects(version, oncologist_a, centre_a, pm):
    from habilitations import services

    draft = services.catalogue_version_create_draft(user=pm, label="Brouillon v2")
    draft_sheet = make_sheet(oncologist_a, centre_a)
    submitted = make_sheet(oncologist_a, centre_a, status=SheetStatus.SUBMITTED)
    line = draft_sheet.lines.get()
    evidence = Evidence(line=line, kind="course", original_name="attestation.pdf", size=9)
    evidence.file.save("attestation.pdf", ContentFile(b"%PDF-1.4\n"), save=True)
    return {
        "version": [version.pk],
        "draft": [draft.pk],
        "draft_sheet": [draft_sheet.pk],
        "submitted_sheet": [submitted.pk],
        "line": [draft_sheet.pk, line.pk],
        "line_pk": [line.pk],
        "evidence": [evidence.pk],
        "centre_a": [centre_a.pk],
        "code": [services.verification_code(draft_sheet)],
        "submit": [draft_sheet.pk, "submit"],
    }


@pytest.mark.parametrize(
    ("method", "name", "key", "persona", "expected"),
    CASES,
    ids=[f"{n}-{p}" for _m, n, _k, p, _e in CASES],
)
def test_permission_matrix(method, name, key, persona, expected, objects, request):
    url = reverse(name, args=objects[key] if key else None)
    client = (
        request.getfixturevalue("anonymous")
        if persona == "anonymous"
        else login(request.getfixturevalue(persona))
    )
    data = {"label": "v3", "comment": "ok"} if method == "post" else None
    response = getattr(client, method)(url, data)
    assert response.status_code == expected, f"{persona} {method.upper()} {url}"
    if persona == "anonymous" and expected == 302:
        assert "/compte/connexion/" in response["Location"]
