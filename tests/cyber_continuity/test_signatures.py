"""Conventions are signed by each party's legal representative: confirmation page with the
content hash, re-authentication (password, and the second factor where the signer has one),
delegation with its document; a later change of the content no longer matches."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from cyber_continuity import services
from cyber_continuity.models import ConventionStatus
from onco_hdf import signatures
from onco_hdf.models import Signature
from onco_hdf.signatures import Credentials
from tests.conftest import PASSWORD, login, otp_code
from tests.cyber_continuity.conftest import sign

pytestmark = pytest.mark.django_db


@pytest.fixture
def awaiting(convention_ab, referent_a):
    for status in ("negotiation", "awaiting_signature"):
        services.convention_transition(convention=convention_ab, to_status=status, user=referent_a)
    convention_ab.refresh_from_db()
    return convention_ab


def _url(convention, centre):
    party = convention.parties.get(centre=centre)
    return reverse("cyber_continuity:convention-party-sign", args=[convention.pk, party.pk])


def _unsigned(convention) -> bool:
    return not Signature.objects.exists() and not convention.parties.filter(signed_at__isnull=False)


def test_the_page_shows_the_hash_that_is_stored(awaiting, referent_a, centre_a):
    client = login(referent_a)
    html = client.get(_url(awaiting, centre_a)).content.decode()
    expected = signatures.document_hash(awaiting, "legal_representative")
    assert len(expected) == 64
    assert f'data-testid="signature-hash">{expected}</code>' in html
    assert "Représentant légal — Centre A (test)" in html
    response = client.post(
        _url(awaiting, centre_a),
        {
            "expected_hash": expected,
            "password": PASSWORD,
            "otp_token": otp_code(referent_a),
            "signer_title": "Directrice générale",
        },
    )
    assert response.status_code == 302
    stored = Signature.objects.get()
    assert stored.content_hash == expected
    assert (stored.signer_name, stored.signer_title) == ("Referent Test", "Directrice générale")
    assert stored.capacity == "legal_representative" and stored.second_factor
    assert stored.on_behalf_of == centre_a
    party = awaiting.parties.get(centre=centre_a)
    assert party.signature == stored and party.signed_by == referent_a
    detail = client.get(reverse("cyber_continuity:convention-detail", args=[awaiting.pk]))
    html = detail.content.decode()
    assert "signée par Referent Test (Représentant légal)" in html
    assert expected in html and "correspond au contenu actuel" in html


@pytest.mark.parametrize(
    ("password", "token", "message"),
    [
        ("wrong", "ok", "Le mot de passe est incorrect"),
        (PASSWORD, "", "Saisissez le code à 6 chiffres"),
        (PASSWORD, "000000", "Le code à 6 chiffres n’est pas valide"),
        ("", "ok", "Ce champ est obligatoire"),
    ],
)
def test_signing_without_reauthentication_is_refused(
    awaiting, referent_a, centre_a, password, token, message
):
    client = login(referent_a)  # logged in with the second factor: not enough to sign
    if token == "ok":
        token = otp_code(referent_a)
    elif token == "000000" and otp_code(referent_a) == "000000":
        token = "111111"
    response = client.post(
        _url(awaiting, centre_a),
        {
            "expected_hash": signatures.document_hash(awaiting, "legal_representative"),
            "password": password,
            "otp_token": token,
            "signer_title": "Directeur général",
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert message in html
    assert 'value="Directeur général"' in html  # nothing typed is lost
    assert _unsigned(awaiting)


def test_the_service_refuses_a_wrong_password_and_a_missing_second_factor(
    awaiting, referent_a, centre_a
):
    with pytest.raises(ValidationError, match="mot de passe est incorrect|password is not"):
        sign(convention=awaiting, centre=centre_a, user=referent_a, credentials=Credentials("x"))
    login(referent_a)  # the account now has a confirmed authenticator
    with pytest.raises(ValidationError, match="code à 6 chiffres|6-digit code"):
        sign(
            convention=awaiting,
            centre=centre_a,
            user=referent_a,
            credentials=Credentials(PASSWORD),
        )
    assert _unsigned(awaiting)
    sign(
        convention=awaiting,
        centre=centre_a,
        user=referent_a,
        credentials=Credentials(PASSWORD, otp_code(referent_a)),
    )
    assert Signature.objects.get().second_factor


def test_a_code_cannot_be_used_twice(awaiting, referent_a, centre_a, centre_b):
    login(referent_a)
    code = otp_code(referent_a)
    sign(
        convention=awaiting,
        centre=centre_a,
        user=referent_a,
        credentials=Credentials(PASSWORD, code),
    )
    awaiting.parties.filter(centre=centre_a).update(signed_at=None)
    with pytest.raises(ValidationError):
        sign(
            convention=awaiting,
            centre=centre_a,
            user=referent_a,
            credentials=Credentials(PASSWORD, code),
        )


def test_a_change_after_opening_the_page_is_refused(awaiting, referent_a, centre_a):
    client = login(referent_a)
    shown = client.get(_url(awaiting, centre_a)).context["content_hash"]
    clause = awaiting.clauses.first()
    clause.body += " Modifié."
    clause.save()
    response = client.post(
        _url(awaiting, centre_a),
        {
            "expected_hash": shown,
            "password": PASSWORD,
            "otp_token": otp_code(referent_a),
            "signer_title": "Directeur général",
        },
    )
    assert "Le document a changé après l’ouverture de la page de confirmation" in (
        response.content.decode()
    )
    assert _unsigned(awaiting)


def test_a_document_changed_after_the_signature_no_longer_matches(
    awaiting, referent_a, referent_b, centre_a, centre_b
):
    sign(convention=awaiting, centre=centre_a, user=referent_a)
    sign(convention=awaiting, centre=centre_b, user=referent_b)
    awaiting.refresh_from_db()
    assert awaiting.status == ConventionStatus.IN_FORCE
    # In force: the dates set by the workflow are not part of what was signed.
    assert [s.valid for s in signatures.signatories(awaiting)] == [True, True]
    clause = awaiting.clauses.first()
    clause.body = "Texte modifié après la signature."
    clause.save()
    rows = signatures.signatories(awaiting)
    assert [s.valid for s in rows] == [False, False]
    assert rows[0].content_hash != signatures.document_hash(awaiting, "legal_representative")
    html = (
        login(referent_a)
        .get(reverse("cyber_continuity:convention-detail", args=[awaiting.pk]))
        .content.decode()
    )
    assert html.count('data-testid="signature-invalid"') == 2
    assert "le document a changé après cette signature" in html


def test_signing_by_delegation_needs_the_name_and_the_document(awaiting, referent_a, centre_a):
    client = login(referent_a)
    url = _url(awaiting, centre_a)
    data = {
        "expected_hash": signatures.document_hash(awaiting, "legal_representative"),
        "password": PASSWORD,
        "otp_token": otp_code(referent_a),
        "signer_title": "Directrice des soins",
        "by_delegation": "on",
    }
    html = client.post(url, data).content.decode()
    assert "Nommez le représentant légal qui a délégué la signature" in html
    assert "Joignez le document de délégation" in html
    fake = SimpleUploadedFile("delegation.pdf", b"not a pdf", content_type="application/pdf")
    html = client.post(url, {**data, "delegation_document": fake}).content.decode()
    assert "Le contenu de ce fichier ne correspond pas à son type (.pdf)" in html
    assert _unsigned(awaiting)
    document = SimpleUploadedFile("delegation.pdf", b"%PDF-1.4 delegation", "application/pdf")
    response = client.post(
        url,
        {
            **data,
            "delegation_from": "M. Dupont, directeur général",
            "delegation_document": document,
        },
    )
    assert response.status_code == 302
    stored = Signature.objects.get()
    assert stored.delegation_from == "M. Dupont, directeur général"
    assert stored.delegation_document.read() == b"%PDF-1.4 delegation"
    detail = client.get(reverse("cyber_continuity:convention-detail", args=[awaiting.pk]))
    assert "par délégation de M. Dupont, directeur général" in detail.content.decode()


def test_who_may_open_the_confirmation_page(
    awaiting, referent_a, referent_b, oncologist_a, pm, centre_a, centre_b, anonymous
):
    own, other = _url(awaiting, centre_a), _url(awaiting, centre_b)
    assert "/compte/connexion/" in anonymous.get(own)["Location"]
    assert login(referent_a).get(own).status_code == 200
    assert login(referent_a).get(other).status_code == 403  # the other party's signature
    assert login(referent_b).get(own).status_code == 403
    assert login(oncologist_a).get(own).status_code == 403  # not a referent
    assert login(pm).get(own).status_code == 403
    assert login(referent_a).post(own, {}).status_code == 200  # nothing signed
    assert _unsigned(awaiting)


def test_the_pdf_lists_the_signatories_and_the_hash(in_force_ab, referent_a):
    from tests.cyber_continuity.test_reports import pdf_text

    response = login(referent_a).get(
        reverse("cyber_continuity:convention-pdf", args=[in_force_ab.pk])
    )
    text = "".join(pdf_text(response.content).split())
    expected = signatures.document_hash(in_force_ab, "legal_representative")
    assert expected in text
    assert text.count("Directeurgénéral(Représentantlégal)") == 2
    rows = signatures.signatories(in_force_ab)
    assert [(s.name, s.on_behalf_of) for s in rows] == [
        ("Referent Test", "Centre A (test)"),
        ("Referent Test", "Centre B (test)"),
    ]


def test_the_delegation_document_is_read_by_whoever_reads_the_convention(
    awaiting, referent_a, referent_b, oncologist_b, centre_a, centre_b, anonymous, pm
):
    from tests.conftest import make_user
    from tests.cyber_continuity.factories import CentreFactory

    document = SimpleUploadedFile("d.pdf", b"%PDF-1.4 delegation", "application/pdf")
    sign(
        convention=awaiting,
        centre=centre_a,
        user=referent_a,
        delegation_from="M. Dupont, directeur général",
        delegation_document=document,
    )
    party_a = awaiting.parties.get(centre=centre_a)
    party_b = awaiting.parties.get(centre=centre_b)
    url = reverse("cyber_continuity:convention-delegation-download", args=[awaiting.pk, party_a.pk])
    detail = login(referent_b).get(
        reverse("cyber_continuity:convention-detail", args=[awaiting.pk])
    )
    assert url in detail.content.decode()
    response = login(referent_b).get(url)  # the other party reads it
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 delegation"
    assert login(pm).get(url).status_code == 200
    assert "/compte/connexion/" in anonymous.get(url)["Location"]
    assert login(oncologist_b).get(url).status_code == 200  # B's staff read B's convention
    outsider = make_user("referent_c", "referent", CentreFactory(short_name="C"))
    assert login(outsider).get(url).status_code == 404  # not a party, not yet signed
    no_document = reverse(
        "cyber_continuity:convention-delegation-download", args=[awaiting.pk, party_b.pk]
    )
    assert login(referent_b).get(no_document).status_code == 404


def test_wrong_passwords_at_signing_lock_the_account(awaiting, referent_a, centre_a, settings):
    client = login(referent_a)
    data = {
        "expected_hash": signatures.document_hash(awaiting, "legal_representative"),
        "password": "wrong",
        "signer_title": "Directeur général",
    }
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        data["otp_token"] = otp_code(referent_a)
        assert client.post(_url(awaiting, centre_a), data).status_code == 200
    data["otp_token"] = otp_code(referent_a)
    assert client.post(_url(awaiting, centre_a), data).status_code == 429
    # Locked: even the right password no longer signs.
    data.update(password=PASSWORD, otp_token=otp_code(referent_a))
    response = client.post(_url(awaiting, centre_a), data)
    assert response.status_code == 429
    assert "Compte temporairement verrouillé" in response.content.decode()
    assert _unsigned(awaiting)
