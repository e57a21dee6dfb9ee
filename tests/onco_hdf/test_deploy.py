"""Production settings: check --deploy clean; the demo switch refused; compose file."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import yaml

from onco_hdf.signing import create_self_signed_p12
from tests.requirements import REPO_ROOT

# A production signing certificate (PKCS#12 with a password), made once for these tests.
SIGNING_P12 = Path(tempfile.mkdtemp(prefix="onco-signing-")) / "platform.p12"
SIGNING_PASSWORD = secrets.token_urlsafe(16)
create_self_signed_p12(
    SIGNING_P12, password=SIGNING_PASSWORD.encode(), common_name="ONCO-HDF test (production)"
)

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "onco-hdf.example.org",
    "DATABASE_URL": "sqlite:///:memory:",
    "SITE_URL": "https://onco-hdf.example.org",
    "ONCO_SIGNING_P12": str(SIGNING_P12),
    "ONCO_SIGNING_P12_PASSWORD": SIGNING_PASSWORD,
}


def manage(
    *args: str, unset: tuple[str, ...] = (), **extra_env: str
) -> subprocess.CompletedProcess:
    env = {**os.environ, **PRODUCTION_ENV}
    for name in unset:
        env.pop(name, None)
    env.pop("TWO_FACTOR_REQUIRED", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests for their thread
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_check_deploy_is_clean_in_production_mode():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("site_url", "expected"),
    [
        ("", True),
        ("http://127.0.0.1:8000", True),
        ("http://localhost", True),
        ("https://onco-hdf.example.org", False),
    ],
)
def test_check_deploy_fails_without_a_public_site_url(site_url, expected):
    if site_url:
        result = manage("check", "--deploy", SITE_URL=site_url)
    else:
        result = manage("check", "--deploy", unset=("SITE_URL",))
    assert ("onco_hdf.E002" in result.stderr) is expected, result.stderr
    assert (result.returncode != 0) is expected
    if expected:
        assert "SITE_URL" in result.stderr and "adresse publique" in result.stderr


@pytest.mark.parametrize(
    "env",
    [
        {"ONCO_SIGNING_P12": ""},
        {"ONCO_SIGNING_P12": "/nonexistent/platform.p12"},
        {"ONCO_SIGNING_P12_PASSWORD": "wrong password"},
    ],
    ids=["unset", "missing-file", "wrong-password"],
)
def test_check_deploy_fails_without_a_usable_signing_certificate(env):
    result = manage("check", "--deploy", **env)
    assert result.returncode != 0
    assert "onco_hdf.E003" in result.stderr and "ONCO_SIGNING_P12" in result.stderr
    assert "onco_hdf.E002" not in result.stderr


def test_embedded_mode_needs_neither_site_url_nor_certificate():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=REPO_ROOT,
        env={k: v for k, v in os.environ.items() if k not in (*PRODUCTION_ENV, "SITE_URL")},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert "onco_hdf.E002" not in result.stderr and "onco_hdf.E003" not in result.stderr


def test_production_refuses_to_switch_off_the_second_factor():
    result = manage("check", TWO_FACTOR_REQUIRED="0")
    assert result.returncode != 0
    assert "onco_hdf.E001" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_compose_file_names_every_service():
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"web", "worker", "beat", "postgres", "redis"} <= set(services)
    assert "gunicorn" in " ".join(map(str, services["web"]["command"]))
    assert "worker" in " ".join(map(str, services["worker"]["command"]))
    assert "beat" in " ".join(map(str, services["beat"]["command"]))
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert "DATABASE_URL" in env and "CELERY_BROKER_URL" in env
        assert any("media" in str(volume) for volume in services[name].get("volumes", []))
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "libpango" in dockerfile  # WeasyPrint's system libraries


def test_compose_migrates_as_the_owner_and_runs_as_the_app_role():
    """Only the migrate service connects as the owner of the tables; it names the role
    web, worker and beat use, which it grants row access (README "Security")."""
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    services = compose["services"]

    def role(service: str) -> str:
        return services[service]["environment"]["DATABASE_URL"].split("://")[1].split(":")[0]

    owner = services["postgres"]["environment"]["POSTGRES_USER"]
    assert role("migrate") == owner
    assert services["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    app_role = services["migrate"]["environment"]["DATABASE_APP_ROLE"]
    for name in ("web", "worker", "beat"):
        assert role(name) == app_role != owner
        assert "migrate" not in " ".join(services[name]["command"])
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    init = (REPO_ROOT / "deploy" / "postgres-init" / "10-app-role.sh").read_text()
    assert f"CREATE ROLE {app_role} LOGIN NOSUPERUSER" in init
    assert any("postgres-init" in str(volume) for volume in services["postgres"]["volumes"])


@pytest.mark.django_db
def test_health_answers_the_container_probe_before_host_and_https_checks(settings, client):
    """The compose healthcheck asks http://127.0.0.1:8000/sante/ in production mode."""
    settings.ALLOWED_HOSTS = ["onco-hdf.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    probe = client.get("/sante/", HTTP_HOST="127.0.0.1:8000")
    assert probe.status_code == 200 and probe.json() == {"status": "ok"}
    # Everything else keeps both checks.
    assert client.get("/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    redirect = client.get("/compte/connexion/", HTTP_HOST="onco-hdf.example.org")
    assert redirect.status_code == 301
    assert redirect["Location"] == "https://onco-hdf.example.org/compte/connexion/"
    assert client.post("/sante/", HTTP_HOST="127.0.0.1:8000").status_code == 400


def test_health_says_503_when_the_database_is_down(rf, monkeypatch):
    from django.db import connection

    from onco_hdf.views import health

    def refuse():
        raise OSError("connection refused")

    monkeypatch.setattr(connection, "cursor", refuse)
    response = health(rf.get("/sante/"))
    assert response.status_code == 503


def test_production_cookies_use_the_host_prefix():
    """``__Host-`` cookies are only accepted by browsers when Secure, Path=/ and no Domain."""
    script = (
        "from django.conf import settings as s; "
        "from django.test import Client, override_settings; "
        "plain = {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}; "
        "override_settings(STORAGES={**s.STORAGES, 'staticfiles': plain}).enable(); "
        "r = Client().get('/compte/connexion/', secure=True, HTTP_HOST='onco-hdf.example.org'); "
        "c = r.cookies['__Host-csrftoken']; "
        "print(r.status_code, s.SESSION_COOKIE_NAME, s.SESSION_COOKIE_SECURE, "
        "c['secure'], c['path'], repr(c['domain']))"
    )
    result = manage("shell", "-v", "0", "-c", script)
    assert result.stdout.split() == ["200", "__Host-sessionid", "True", "True", "/", "''"], (
        result.stdout + result.stderr
    )


def test_the_rate_limit_cache_is_shared_when_cache_url_is_set():
    script = (
        "from django.conf import settings as s; "
        "print(s.CACHES['default']['BACKEND'].rsplit('.', 1)[-1], "
        "s.CACHES['default'].get('LOCATION', '-'))"
    )
    shared = manage("shell", "-v", "0", "-c", script, CACHE_URL="redis://127.0.0.1:6379/2")
    assert shared.stdout.split() == ["RedisCache", "redis://127.0.0.1:6379/2"], shared.stderr
    local = manage("shell", "-v", "0", "-c", script, unset=("CACHE_URL",))
    assert local.stdout.split() == ["LocMemCache", "-"], local.stderr
