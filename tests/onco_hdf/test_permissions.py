"""Permission matrix of the foundation's pages: URL × persona → status."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser

from onco_hdf import permissions
from onco_hdf.models import Centre, Membership, Role

LOGIN_REDIRECT = 302

# (url template, {persona: expected status}); {a} and {b} are centre A's and B's pks.
MATRIX = [
    (
        "/",
        {
            "anonymous": 302,
            "pm": 200,
            "copil": 200,
            "referent_a": 200,
            "oncologist_a": 200,
            "oncologist_b": 200,
        },
    ),
    (
        "/centres/",
        {
            "anonymous": 302,
            "pm": 200,
            "copil": 200,
            "referent_a": 403,
            "oncologist_a": 403,
            "oncologist_b": 403,
        },
    ),
    (
        "/centres/nouveau/",
        {
            "anonymous": 302,
            "pm": 200,
            "copil": 403,
            "referent_a": 403,
            "oncologist_a": 403,
            "oncologist_b": 403,
        },
    ),
    (
        "/centres/{a}/",
        {
            "anonymous": 302,
            "pm": 200,
            "copil": 200,
            "referent_a": 200,
            "oncologist_a": 200,
            "oncologist_b": 404,
        },
    ),
    (
        "/centres/{b}/",
        {
            "anonymous": 302,
            "pm": 200,
            "copil": 200,
            "referent_a": 404,
            "oncologist_a": 404,
            "oncologist_b": 200,
        },
    ),
    (
        "/centres/{a}/modifier/",
        {
            "anonymous": 302,
            "pm": 200,
            "copil": 403,
            "referent_a": 403,
            "oncologist_a": 403,
            "oncologist_b": 403,
        },
    ),
    (
        "/utilisateurs/",
        {
            "anonymous": 302,
            "pm": 200,
            "copil": 403,
            "referent_a": 403,
            "oncologist_a": 403,
            "oncologist_b": 403,
        },
    ),
    (
        "/utilisateurs/inviter/",
        {
            "anonymous": 302,
            "pm": 200,
            "copil": 403,
            "referent_a": 403,
            "oncologist_a": 403,
            "oncologist_b": 403,
        },
    ),
    (
        "/rattachements/nouveau/",
        {
            "anonymous": 302,
            "pm": 200,
            "copil": 403,
            "referent_a": 403,
            "oncologist_a": 403,
            "oncologist_b": 403,
        },
    ),
    (
        "/historique/onco_hdf/centre/{a}/",
        {
            "anonymous": 302,
            "pm": 200,
            "copil": 403,
            "referent_a": 403,
            "oncologist_a": 403,
            "oncologist_b": 403,
        },
    ),
    (
        "/systeme/",
        {
            "anonymous": 302,
            "pm": 403,
            "copil": 403,
            "referent_a": 403,
            "oncologist_a": 403,
            "oncologist_b": 403,
        },
    ),
]

# The public verification of official PDFs: every persona, logged in or not.
EVERYONE = ("anonymous", "pm", "copil", "referent_a", "oncologist_a", "oncologist_b")
MATRIX.append(("/verifier/", dict.fromkeys(EVERYONE, 200)))
MATRIX.append(("/verifier/1-AAAA-BBBB-CCCC/", dict.fromkeys(EVERYONE, 200)))

CASES = [(url, persona, status) for url, expected in MATRIX for persona, status in expected.items()]


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "persona", "expected"), CASES)
def test_permission_matrix(as_persona, centre_a, centre_b, url, persona, expected):
    client = as_persona(persona)
    response = client.get(url.format(a=centre_a.pk, b=centre_b.pk))
    assert response.status_code == expected
    if expected == LOGIN_REDIRECT:
        assert response["Location"].startswith("/compte/connexion/")


@pytest.mark.django_db
def test_admin_reaches_system_page(admin_user):
    from tests.conftest import login

    assert login(admin_user).get("/systeme/").status_code == 200


@pytest.mark.django_db
def test_scope_to_user_filters_by_membership(centre_a, centre_b, oncologist_a, pm, copil):
    all_centres = Centre.objects.all()
    assert set(permissions.scope_to_user(all_centres, oncologist_a, centre_field="pk")) == {
        centre_a
    }
    assert set(permissions.scope_to_user(all_centres, pm, centre_field="pk")) == {
        centre_a,
        centre_b,
    }
    assert (
        set(permissions.scope_to_user(all_centres, copil, centre_field="pk", regional=False))
        == set()
    )
    assert list(permissions.scope_to_user(all_centres, AnonymousUser(), centre_field="pk")) == []


@pytest.mark.django_db
def test_membership_rules(centre_a, oncologist_a):
    from django.core.exceptions import ValidationError

    from onco_hdf import services

    with pytest.raises(ValidationError, match="régional"):
        services.membership_create(user=oncologist_a, role=Role.COPIL, centre=centre_a)
    with pytest.raises(ValidationError, match="nécessite un centre"):
        services.membership_create(user=oncologist_a, role=Role.REFERENT, centre=None)
    with pytest.raises(ValidationError, match="déjà ce rôle"):
        services.membership_create(user=oncologist_a, role=Role.ONCOLOGIST, centre=centre_a)
    services.membership_create(user=oncologist_a, role=Role.REFERENT, centre=centre_a)
    assert permissions.has_centre_role(oncologist_a, centre_a, Role.REFERENT)
    assert Membership.objects.filter(user=oncologist_a).count() == 2


@pytest.mark.django_db
def test_pm_creates_a_centre_and_history_records_it(pm):
    from tests.conftest import login

    client = login(pm)
    data = {
        "name": "Centre de Lens",
        "short_name": "Lens",
        "finess": "62000001",
        "city": "Lens",
        "departement": "62",
        "sector": "public",
        "is_active": "on",
    }
    bad = client.post("/centres/nouveau/", data)
    assert "exactement 9 chiffres" in bad.content.decode()
    assert 'value="Centre de Lens"' in bad.content.decode()  # nothing typed is lost
    data["finess"] = "620000001"
    response = client.post("/centres/nouveau/", data)
    centre = Centre.objects.get(finess="620000001")
    assert response["Location"] == f"/centres/{centre.pk}/"
    client.post(f"/centres/{centre.pk}/modifier/", {**data, "city": "Liévin"})
    history = client.get(f"/historique/onco_hdf/centre/{centre.pk}/").content.decode()
    assert "Lens" in history and "Liévin" in history and "Pm" in history


@pytest.mark.django_db
def test_pm_invites_a_user_and_gives_a_role(pm, centre_a, mailoutbox):
    from django.contrib.auth import get_user_model

    from tests.conftest import login

    client = login(pm)
    response = client.post(
        "/utilisateurs/inviter/",
        {"first_name": "Léa", "last_name": "Durand", "email": "lea.durand@example.org"},
    )
    user = get_user_model().objects.get(email="lea.durand@example.org")
    assert not user.has_usable_password()
    assert len(mailoutbox) == 1 and "/compte/mot-de-passe/nouveau/" in mailoutbox[0].body
    assert response["Location"].endswith(f"?user={user.pk}")
    client.post(
        "/rattachements/nouveau/", {"user": user.pk, "centre": centre_a.pk, "role": Role.PHYSICIST}
    )
    assert Membership.objects.filter(user=user, centre=centre_a, role=Role.PHYSICIST).exists()
    duplicate = client.post(
        "/rattachements/nouveau/", {"user": user.pk, "centre": centre_a.pk, "role": Role.PHYSICIST}
    )
    assert "déjà ce rôle" in duplicate.content.decode()
