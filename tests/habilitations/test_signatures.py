"""Signature steps of a habilitation sheet: the tutor, the head of department, the centre's
director / RAN where the centre requires it, the regional validator; each on a confirmation
page with the content hash and re-authentication."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from habilitations import services
from habilitations.models import Level, SheetStatus
from onco_hdf import signatures
from onco_hdf.models import Role, Signature
from tests.conftest import PASSWORD, login, make_user, otp_code
from tests.habilitations.conftest import reauth
from tests.habilitations.factories import make_sheet

pytestmark = pytest.mark.django_db


@pytest.fixture
def tutor_a(centre_a):
    return make_user("tutor_a", Role.ONCOLOGIST, centre_a)


@pytest.fixture
def submitted(oncologist_a, tutor_a, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a, levels={"CONT-SEIN": Level.SUPERVISED})
    sheet.lines.update(tutor=tutor_a)
    services.sheet_transition(sheet=sheet, user=oncologist_a, action="submit")
    sheet.refresh_from_db()
    return sheet


def _url(sheet, step):
    return reverse("habilitations:sheet-sign", args=[sheet.pk, step])


def _sign(client, user, sheet, step, **extra):
    page = client.get(_url(sheet, step))
    assert page.status_code == 200
    data = {
        "expected_hash": page.context["content_hash"],
        "password": PASSWORD,
        "otp_token": otp_code(user),
        **extra,
    }
    return page, client.post(_url(sheet, step), data)


def test_the_whole_chain_signed_through_the_pages(
    submitted, tutor_a, head_a, pm, referent_a, centre_a
):
    centre_a.habilitation_director = referent_a
    centre_a.save()
    head = login(head_a)
    grant = {f"line-{submitted.lines.get().pk}-level": Level.SUPERVISED, "decision": "validate"}
    # The tutor has not signed yet: the head's validation is refused, nothing moves.
    head.post(reverse("habilitations:sheet-review", args=[submitted.pk]), grant)
    _page, response = _sign(head, head_a, submitted, "head")
    assert "Reste à signer avant cette étape : le tuteur Tutor Test" in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == SheetStatus.SUBMITTED

    tutor = login(tutor_a)
    detail = tutor.get(reverse("habilitations:sheet-detail", args=[submitted.pk]))
    assert "Signer en tant que Tuteur" in detail.content.decode()
    page, response = _sign(tutor, tutor_a, submitted, "tutor")
    assert response.status_code == 302
    tutor_act = Signature.objects.get(step=f"tutor:{tutor_a.pk}")
    assert tutor_act.content_hash == page.context["content_hash"]
    assert page.context["content_hash"] in page.content.decode()
    assert tutor_act.capacity == "tutor" and tutor_act.second_factor

    _page, response = _sign(head, head_a, submitted, "head", comment="Conforme")
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == SheetStatus.HEAD_VALIDATED
    # The centre requires its director / RAN: the region cannot validate before.
    regional = login(pm)
    _page, response = _sign(regional, pm, submitted, "regional", comment="COPIL")
    assert "le directeur / RAN Referent Test" in response.content.decode()
    _page, response = _sign(login(referent_a), referent_a, submitted, "director")
    assert response.status_code == 302
    _page, response = _sign(regional, pm, submitted, "regional", comment="COPIL")
    assert response.status_code == 302
    submitted.refresh_from_db()
    assert submitted.status == SheetStatus.REGIONAL_VALIDATED
    rows = signatures.signatories(submitted)
    assert [(r.capacity, r.name, r.valid) for r in rows] == [
        ("tutor", "Tutor Test", True),
        ("head_of_department", "Head Test", True),
        ("director", "Referent Test", True),
        ("regional_validator", "Pm Test", True),
    ]
    # What the PDF's signature block prints.
    printed = [(s.name, s.capacity) for s in submitted.signatories()]
    assert printed == [
        ("Oncologist Test", "médecin (dépôt)"),
        ("Tutor Test", "Tuteur"),
        ("Head Test", "Chef de service pour Centre A (test)"),
        (
            "Referent Test",
            "Directeur / responsable de l’activité nucléaire (RAN) pour Centre A (test)",
        ),
        ("Pm Test", "Validateur régional"),
    ]


@pytest.mark.parametrize(
    ("password", "token", "message"),
    [
        ("wrong", "ok", "Le mot de passe est incorrect"),
        (PASSWORD, "", "Saisissez le code à 6 chiffres"),
        (PASSWORD, "bad", "Le code à 6 chiffres n’est pas valide"),
    ],
)
def test_signing_without_reauthentication_is_refused(
    oncologist_a, head_a, centre_a, version, password, token, message
):
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.SUBMITTED)
    line = sheet.lines.get()
    services.sheet_grants_save(
        sheet=sheet, user=head_a, grants={line.pk: services.Grant(level=Level.SUPERVISED)}
    )
    client = login(head_a)  # the session has the second factor: not enough to sign
    current = otp_code(head_a)
    token = {"ok": current, "bad": "111111" if current == "999999" else "999999"}.get(token, token)
    response = client.post(
        _url(sheet, "head"),
        {
            "expected_hash": signatures.document_hash(sheet, "head_of_department"),
            "password": password,
            "otp_token": token,
            "comment": "Mon commentaire",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200 and message in html
    assert "Mon commentaire" in html  # nothing typed is lost
    sheet.refresh_from_db()
    assert sheet.status == SheetStatus.SUBMITTED and not Signature.objects.exists()


def test_a_change_after_the_signature_shows_and_the_stale_page_is_refused(
    oncologist_a, head_a, centre_a, version
):
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.SUBMITTED)
    line = sheet.lines.get()
    grants = {line.pk: services.Grant(level=Level.SUPERVISED)}
    services.sheet_grants_save(sheet=sheet, user=head_a, grants=grants)
    shown = signatures.document_hash(sheet, "head_of_department")
    line.refresh_from_db()
    line.restrictions = "Ajouté après l'ouverture de la page"
    line.save()
    with pytest.raises(ValidationError, match="Le document a changé"):
        services.sheet_validate_head(
            sheet=sheet, user=head_a, credentials=reauth(head_a), expected_hash=shown
        )
    sheet.refresh_from_db()
    assert sheet.status == SheetStatus.SUBMITTED
    services.sheet_validate_head(
        sheet=sheet,
        user=head_a,
        credentials=reauth(head_a),
        expected_hash=signatures.document_hash(sheet, "head_of_department"),
    )
    assert [s.valid for s in signatures.signatories(sheet)] == [True]
    line.refresh_from_db()
    line.level_granted = Level.IN_TRAINING  # edited behind the workflow's back
    line.save()
    assert [s.valid for s in signatures.signatories(sheet)] == [False]
    html = login(oncologist_a).get(reverse("habilitations:sheet-detail", args=[sheet.pk]))
    assert 'data-testid="signature-invalid"' in html.content.decode()


def test_validation_steps_are_no_longer_plain_buttons(oncologist_a, pm, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.HEAD_VALIDATED)
    url = reverse("habilitations:sheet-transition", args=[sheet.pk, "validate_regional"])
    assert login(pm).post(url).status_code == 404
    with pytest.raises(services.TransitionError):
        services.sheet_transition(sheet=sheet, user=pm, action="validate_regional")
    sheet.refresh_from_db()
    assert sheet.status == SheetStatus.HEAD_VALIDATED


def test_who_may_open_a_signature_page(
    submitted, tutor_a, head_a, head_b, oncologist_a, pm, anonymous
):
    assert "/compte/connexion/" in anonymous.get(_url(submitted, "tutor"))["Location"]
    assert login(tutor_a).get(_url(submitted, "tutor")).status_code == 200
    assert login(tutor_a).get(_url(submitted, "head")).status_code == 403
    assert login(oncologist_a).get(_url(submitted, "head")).status_code == 403  # own sheet
    assert login(oncologist_a).get(_url(submitted, "tutor")).status_code == 403
    assert login(head_a).get(_url(submitted, "head")).status_code == 200
    assert login(pm).get(_url(submitted, "regional")).status_code == 403  # not yet
    assert login(pm).get(_url(submitted, "director")).status_code == 403
    assert login(head_b).get(_url(submitted, "head")).status_code == 404  # other centre
    assert login(head_a).get(_url(submitted, "nonsense")).status_code == 404


def test_the_project_manager_sets_the_centre_director(pm, centre_a, referent_a, head_a):
    url = reverse("onco_hdf:centre-update", args=[centre_a.pk])
    page = login(pm).get(url)
    assert "Directeur / RAN signataire des fiches d’habilitation" in page.content.decode()
    data = {
        key: value
        for key, value in page.context["form"].initial.items()
        if value is not None and key != "habilitation_director"
    }
    data.update(habilitation_director=referent_a.pk, is_active="on")
    response = login(pm).post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    centre_a.refresh_from_db()
    assert centre_a.habilitation_director == referent_a
    assert login(head_a).get(url).status_code == 403
