"""Login, lockout after repeated failures, the second factor for regional roles."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import PASSWORD, login

LOGIN = "/compte/connexion/"


def post_login(client: Client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


def current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


@pytest.mark.django_db
def test_login_page_is_french_by_default(anonymous):
    html = anonymous.get(LOGIN).content.decode()
    assert '<html lang="fr">' in html
    assert "Se connecter" in html and "Identifiant" in html and "Mot de passe" in html


@pytest.mark.django_db
def test_wrong_password_gives_a_french_message(anonymous, oncologist_a):
    response = post_login(anonymous, "oncologist_a", "wrong")
    assert response.status_code == 200
    assert "Saisissez un nom d’utilisateur et un mot de passe valides" in response.content.decode()


@pytest.mark.django_db
def test_centre_user_logs_in_and_sees_their_centre(anonymous, oncologist_a):
    response = post_login(anonymous, "oncologist_a", PASSWORD)
    assert response.status_code == 302 and response["Location"] == "/"
    html = anonymous.get("/").content.decode()
    assert "Mon centre" in html and "Centre A (test)" in html


@pytest.mark.django_db
def test_lockout_after_repeated_failures(anonymous, settings, oncologist_a):
    for _attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_login(anonymous, "oncologist_a", "wrong").status_code == 200
    assert post_login(anonymous, "oncologist_a", "wrong").status_code == 429
    # Even the right password is refused now.
    response = post_login(anonymous, "oncologist_a", PASSWORD)
    assert response.status_code == 429
    assert "Compte temporairement verrouillé" in response.content.decode()
    assert "_auth_user_id" not in anonymous.session


@pytest.mark.django_db
def test_lockout_is_per_account(anonymous, settings, oncologist_a, referent_a):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        post_login(anonymous, "oncologist_a", "wrong")
    assert post_login(anonymous, "referent_a", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_project_manager_must_enrol_a_second_factor(anonymous, pm):
    post_login(anonymous, "pm", PASSWORD)
    response = anonymous.get("/centres/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account:otp-setup"))
    page = anonymous.get(response["Location"]).content.decode()
    assert "Activer la double authentification" in page
    device = TOTPDevice.objects.get(user=pm, confirmed=False)
    bad = anonymous.post(reverse("account:otp-setup"), {"token": "000000", "next": "/centres/"})
    assert "Ce code n’est pas valide" in bad.content.decode()
    device.refresh_from_db()
    device.throttle_reset()  # django-otp slows down retries after a failure
    good = anonymous.post(
        reverse("account:otp-setup"), {"token": current_code(device), "next": "/centres/"}
    )
    assert good.status_code == 302 and good["Location"] == "/centres/"
    assert anonymous.get("/centres/").status_code == 200


@pytest.mark.django_db
def test_project_manager_with_device_is_asked_for_a_code(anonymous, pm):
    device = TOTPDevice.objects.create(user=pm, name="phone", confirmed=True)
    post_login(anonymous, "pm", PASSWORD)
    response = anonymous.get("/")
    assert response["Location"].startswith(reverse("account:otp-verify"))
    assert anonymous.post(reverse("account:otp-verify"), {"token": "123456"}).status_code == 200
    device.refresh_from_db()
    device.throttle_reset()
    ok = anonymous.post(reverse("account:otp-verify"), {"token": current_code(device)})
    assert ok.status_code == 302
    assert anonymous.get("/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["copil", "pm"])
def test_every_regional_role_must_enrol_a_second_factor(anonymous, request, persona):
    """DESIGN.md §5: a second factor for regional roles, the COPIL member's included."""
    user = request.getfixturevalue(persona)
    post_login(anonymous, user.username, PASSWORD)
    response = anonymous.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account:otp-setup"))
    page = anonymous.get(response["Location"]).content.decode()
    assert "Activer la double authentification" in page


@pytest.mark.django_db
def test_centre_roles_need_no_second_factor(anonymous, oncologist_a):
    post_login(anonymous, "oncologist_a", PASSWORD)
    assert anonymous.get("/").status_code == 200


@pytest.mark.django_db
def test_second_factor_can_be_switched_off_for_the_demo(anonymous, settings, pm):
    settings.TWO_FACTOR_REQUIRED = False
    post_login(anonymous, "pm", PASSWORD)
    assert anonymous.get("/centres/").status_code == 200


@pytest.mark.django_db
def test_next_parameter_cannot_leave_the_site(pm):
    client = login(pm)
    TOTPDevice.objects.filter(user=pm).update(confirmed=True)
    session = client.session
    session.pop("otp_device_id")
    session.save()
    device = TOTPDevice.objects.get(user=pm)
    response = client.post(
        reverse("account:otp-verify"),
        {"token": current_code(device), "next": "https://evil.example.org/"},
    )
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_a_user_changes_their_password_from_the_menu(oncologist_a):
    client = login(oncologist_a)
    home = client.get("/").content.decode()
    assert 'href="/compte/mot-de-passe/changer/"' in home and "Mon mot de passe" in home
    short = client.post(
        "/compte/mot-de-passe/changer/",
        {"old_password": PASSWORD, "new_password1": "court", "new_password2": "court"},
    )
    assert "Ce mot de passe est trop court" in short.content.decode()
    new = "un-mot-de-passe-bien-long-2026"
    done = client.post(
        "/compte/mot-de-passe/changer/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert done.status_code == 302
    oncologist_a.refresh_from_db()
    assert oncologist_a.check_password(new)


# --- Lockout duration, idle and absolute session limits -------------------------------
def _later(minutes: float):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    return time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=False)


@pytest.mark.django_db
def test_lockout_lasts_one_hour_by_default(settings, oncologist_a):
    import datetime as dt

    import time_machine
    from django.utils import timezone

    assert settings.AXES_FAILURE_LIMIT == 5
    start = timezone.now()
    client = Client()
    with time_machine.travel(start, tick=False):
        for _attempt in range(5):
            post_login(client, "oncologist_a", "wrong")
        assert post_login(client, "oncologist_a", PASSWORD).status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=59), tick=False):
        assert post_login(client, "oncologist_a", PASSWORD).status_code == 429
    with time_machine.travel(start + dt.timedelta(minutes=61), tick=False):
        assert post_login(client, "oncologist_a", PASSWORD).status_code == 302


def test_lockout_duration_and_session_limits_come_from_the_environment():
    from tests.onco_hdf.test_deploy import manage

    result = manage(
        "shell",
        "-v",
        "0",
        "-c",
        "from django.conf import settings as s; print(s.AXES_COOLOFF_TIME, s.AXES_FAILURE_LIMIT,"
        " s.SESSION_COOKIE_AGE, s.SESSION_ABSOLUTE_SECONDS)",
        AXES_COOLOFF_HOURS="2",
        AXES_FAILURE_LIMIT="3",
        SESSION_IDLE_MINUTES="10",
        SESSION_ABSOLUTE_HOURS="4",
    )
    assert result.stdout.split() == ["2:00:00", "3", "600", "14400"], result.stderr


@pytest.mark.django_db
def test_an_idle_session_ends_after_30_minutes_and_activity_extends_it(oncologist_a):
    client = Client()
    assert post_login(client, "oncologist_a", PASSWORD).status_code == 302
    for minutes in (25, 50, 75):  # one page every 25 minutes: still signed in
        with _later(minutes):
            assert client.get("/").status_code == 200
    with _later(75 + 31):
        response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/compte/connexion/")


@pytest.mark.django_db
def test_a_session_ends_after_8_hours_even_when_active(oncologist_a):
    client = Client()
    assert post_login(client, "oncologist_a", PASSWORD).status_code == 302
    for minutes in range(20, 8 * 60, 20):
        with _later(minutes):
            assert client.get("/").status_code == 200, minutes
    with _later(8 * 60 + 5):
        response = client.get("/centres/")
        assert response.status_code == 302
        assert response["Location"] == "/compte/connexion/?next=/centres/"
        page = client.get(response["Location"]).content.decode()
    assert "Votre session a dépassé 8 heures" in page
    assert "_auth_user_id" not in client.session
