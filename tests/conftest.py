"""Shared fixtures: one persona per role (healthchecks' alice/bob idea) and two centres.

- ``pm``: project manager (regional, second factor verified in tests that log in)
- ``copil``: COPIL member
- ``referent_a`` / ``oncologist_a`` / ``head_a`` / ``physicist_a``: centre A
- ``oncologist_b``: centre B
- ``anonymous``: an unauthenticated client
"""

from __future__ import annotations

import io
import shutil

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import Client, override_settings
from django.utils import translation
from django_otp.plugins.otp_totp.models import TOTPDevice

from onco_hdf.celery import app as celery_app
from onco_hdf.i18n_check import compile_catalogue
from onco_hdf.models import Centre, Membership, Role
from surveys.selectors import structure_cache_clear
from tests.requirements import REPO_ROOT

pytest_plugins = ["tests.fixtures_celery", "tests.fixtures_browser"]

PASSWORD = "correct-horse-battery-staple"
# PBKDF2's deliberate slowness would dominate a suite that creates users in every test.
FAST_HASHING = {"PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"]}


def pytest_configure(config):
    """Build the French .mo when it is missing or older than its catalogue (it is not committed)."""
    catalogue = REPO_ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
    compiled = catalogue.with_suffix(".mo")
    if not compiled.exists() or compiled.stat().st_mtime < catalogue.stat().st_mtime:
        compile_catalogue(str(catalogue))


@pytest.fixture(autouse=True, scope="session")
def _tasks_in_process():
    """Tests run tasks in-process unless a test starts a real worker (tests/celery_worker.py)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path, request):
    settings.MEDIA_ROOT = tmp_path / "media"
    # The COPIL gates have their own tests (marked copil_gates); elsewhere an app's tests
    # publish and use their artefacts without recording a COPIL decision first.
    settings.COPIL_GATES_ENFORCED = request.node.get_closest_marker("copil_gates") is not None
    settings.PASSWORD_HASHERS = FAST_HASHING["PASSWORD_HASHERS"]
    cache.clear()  # rate-limit counters are per test
    structure_cache_clear()  # frozen questionnaire structures kept by the process
    # A request handled in an earlier test leaves its language active in this thread: every
    # test starts in the default language, as a fresh process would.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


@pytest.fixture(scope="class")
def _demo_seeded_for_class(django_db_setup, django_db_blocker, tmp_path_factory):
    """Every app's demo (``seed_demo``, among the slowest steps of the suite) seeded once for
    the tests of a class, in a transaction rolled back after the last of them; the tests'
    own transactions are savepoints in it. Yields the folder of the demo's files."""
    media = tmp_path_factory.mktemp("demo_media")
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media, TWO_FACTOR_REQUIRED=False, **FAST_HASHING),
        transaction.atomic(),
    ):
        call_command("seed_demo", allow_production=True, stdout=io.StringIO())
        yield media
        transaction.set_rollback(True)


@pytest.fixture
def demo_data(_demo_seeded_for_class, db, settings):
    """The demo of every app, seeded once per test class (see ``_demo_seeded_for_class``):
    what a test writes is rolled back after it, its media folder starts as the demo's
    files. Second factor off, as for the demo's accounts."""
    settings.TWO_FACTOR_REQUIRED = False
    shutil.copytree(_demo_seeded_for_class, settings.MEDIA_ROOT, dirs_exist_ok=True)


@pytest.fixture
def centre_a(db):
    return Centre.objects.create(
        name="Centre A (test)",
        short_name="A",
        finess="590000001",
        city="Lille",
        departement="59",
        sector="public",
    )


@pytest.fixture
def centre_b(db):
    return Centre.objects.create(
        name="Centre B (test)",
        short_name="B",
        finess="800000002",
        city="Amiens",
        departement="80",
        sector="private",
    )


def make_user(username: str, role: str, centre: Centre | None = None, **extra):
    user = get_user_model().objects.create_user(
        username=username,
        password=PASSWORD,
        email=f"{username}@example.org",
        first_name=username.split("_")[0].capitalize(),
        last_name="Test",
        **extra,
    )
    Membership.objects.create(user=user, role=role, centre=centre)
    return user


@pytest.fixture
def pm(db):
    return make_user("pm", Role.PROJECT_MANAGER)


@pytest.fixture
def copil(db):
    return make_user("copil", Role.COPIL)


@pytest.fixture
def admin_user(db):
    return make_user("admin_it", Role.ADMIN, is_staff=True, is_superuser=True)


@pytest.fixture
def referent_a(centre_a):
    return make_user("referent_a", Role.REFERENT, centre_a)


@pytest.fixture
def oncologist_a(centre_a):
    return make_user("oncologist_a", Role.ONCOLOGIST, centre_a)


@pytest.fixture
def head_a(centre_a):
    return make_user("head_a", Role.HEAD_OF_DEPARTMENT, centre_a)


@pytest.fixture
def physicist_a(centre_a):
    return make_user("physicist_a", Role.PHYSICIST, centre_a)


@pytest.fixture
def oncologist_b(centre_b):
    return make_user("oncologist_b", Role.ONCOLOGIST, centre_b)


def login(user) -> Client:
    """A client logged in as ``user``, second factor verified where the role needs one."""
    client = Client()
    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="test", confirmed=True)
    session = client.session
    session["otp_device_id"] = device.persistent_id
    session.save()
    return client


@pytest.fixture
def anonymous() -> Client:
    return Client()


PERSONAS = ("anonymous", "pm", "copil", "referent_a", "oncologist_a", "oncologist_b")


@pytest.fixture
def as_persona(request):
    """``as_persona("pm")`` → a logged-in client for that persona (anonymous: no login)."""

    def get(name: str) -> Client:
        if name == "anonymous":
            return Client()
        return login(request.getfixturevalue(name))

    return get


def otp_code(user, *, drift: int = 0) -> str:
    """The current code of ``user``'s authenticator (``drift=1``: the next one, for a
    second check in the same 30 seconds, as the device refuses a code used twice)."""
    from django_otp.oath import totp

    device = TOTPDevice.objects.get(user=user, confirmed=True)
    value = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{value:06d}"
