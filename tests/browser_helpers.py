"""Steps shared by the browser tests."""

from __future__ import annotations

from tests.conftest import PASSWORD


def log_in(page, live_server, username: str, password: str = PASSWORD) -> None:
    """Log in through the real login page (second factor: see ``verify_second_factor``)."""
    page.goto(f"{live_server.url}/compte/connexion/")
    page.get_by_label("Identifiant").fill(username)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_load_state()


def verify_second_factor(page, user) -> None:
    """Answer the TOTP prompt with a code computed from the user's device."""
    from django_otp.oath import totp
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user=user)
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    page.get_by_label("Code à 6 chiffres").fill(code)
    page.get_by_role("button", name="Vérifier").click()
    page.wait_for_load_state()


def sign_with_reauthentication(page, user=None, password: str = PASSWORD) -> None:
    """On a signature confirmation page: password again, the authenticator's next code when
    ``user`` has one (the current one was used at login), then "Signer"."""
    page.get_by_label("Votre mot de passe").fill(password)
    if user is not None:
        from tests.conftest import otp_code

        page.get_by_label("Code à 6 chiffres de votre application").fill(otp_code(user, drift=1))
    page.get_by_role("button", name="Signer", exact=True).click()
    page.wait_for_load_state()
