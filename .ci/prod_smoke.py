#!/usr/bin/env python
"""Production smoke test: run what docker-compose.yml runs, without Docker, and use it.

The migrate, web, worker and beat commands and the web healthcheck are read from the
compose file and run as they are (only the bind address, the beat schedule path and the
interpreter differ), with ``DEBUG=0``, a random ``SECRET_KEY``, an allowed host that is not
``127.0.0.1``, HTTPS redirect on, on PostgreSQL (a database of its own, dropped at the
end) and Redis (a db number of its own). As in compose, two database roles of its own:
migrate connects as the owner of the database, web, worker and beat as an app role that
owns nothing and gets row access from migrate. Then:

1. the compose healthcheck command passes; every table belongs to the owner and the app
   role cannot drop or disable the history trigger;
2. plain HTTP is redirected to HTTPS; a user logs in over HTTP with
   ``X-Forwarded-Proto: https`` (what the TLS proxy sends) and sees the home page;
3. the user asks for a report: the worker renders the PDF, the user downloads it;
4. beat loads its schedule and sends the job sweeper, which the worker runs.

Usage: ``python .ci/prod_smoke.py`` from the repository root (CI: ``.ci/run``).
Environment: ``SMOKE_DATABASE`` (default ``onco_prod_smoke``), ``SMOKE_PG`` (default
``postgres://postgres@127.0.0.1:5432``), ``SMOKE_REDIS_URL`` (default
``redis://127.0.0.1:6379/10``), ``SMOKE_PORT`` (default: a free port).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import yaml
from django_otp.oath import totp

ROOT = Path(__file__).resolve().parent.parent
HOST = "onco-smoke.example.org"
PG = os.environ.get("SMOKE_PG", "postgres://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("SMOKE_DATABASE", "onco_prod_smoke")
REDIS = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/10")
OWNER_ROLE, APP_ROLE = f"{DATABASE}_owner", f"{DATABASE}_app"
# The compose file's roles, and the smoke's own in their place.
COMPOSE_ROLES = {"onco": OWNER_ROLE, "onco_app": APP_ROLE}
USERNAME, PASSWORD = "smoke.copil", secrets.token_urlsafe(16)
# The COPIL member's authenticator (regional roles need the second factor in production).
OTP_KEY = secrets.token_hex(20)


def log(message: str) -> None:
    print(f"[prod-smoke {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def psql(sql: str, url: str = f"{PG}/postgres", check: bool = True):
    return subprocess.run(["psql", url, "-qAtc", sql], check=check, capture_output=True, text=True)


def database_url(compose_url: str) -> str:
    """The compose DATABASE_URL's role, on the smoke's server and database."""
    user = compose_url.split("://", 1)[1].split(":", 1)[0].split("@", 1)[0]
    scheme, server = PG.split("://", 1)
    return f"{scheme}://{COMPOSE_ROLES[user]}@{server.rsplit('@', 1)[-1]}/{DATABASE}"


class Stack:
    """The compose services as local processes, each in its own process group."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir, self.port = workdir, port
        self.processes: dict[str, subprocess.Popen] = {}
        compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
        self.services = compose["services"]
        env = dict(compose["x-app"]["environment"])
        self.app_url = database_url(env["DATABASE_URL"])
        self.env = {
            **os.environ,
            **{k: str(v) for k, v in env.items() if "${" not in str(v)},
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": HOST,
            "CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
            "SITE_URL": f"https://{HOST}",
            "SECURE_SSL_REDIRECT": "1",
            "DATABASE_URL": self.app_url,
            "CELERY_BROKER_URL": REDIS,
            "MEDIA_ROOT": str(workdir / "media"),
            "STATIC_ROOT": str(workdir / "static"),
            "JOB_SWEEP_SECONDS": "5",  # beat's first sweep comes within seconds
            "PYTHONUNBUFFERED": "1",
        }
        for name in ("TWO_FACTOR_REQUIRED", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_SETTINGS_MODULE"):
            self.env.pop(name, None)

    def command(self, service: str) -> list[str]:
        """The service's compose command, with the local bind address and media path."""
        swaps = {"0.0.0.0:8000": f"127.0.0.1:{self.port}", "/data/media": self.env["MEDIA_ROOT"]}
        command = []
        for arg in self.services[service]["command"]:
            for old, new in swaps.items():
                arg = arg.replace(old, new)
            command.append(arg)
        return command

    def env_of(self, service: str) -> dict[str, str]:
        """The service's own environment entries over the common one (the migrate service
        connects as the owner and names the app role)."""
        env = dict(self.env)
        for key, value in (self.services[service].get("environment") or {}).items():
            if key == "DATABASE_URL":
                env[key] = database_url(value)
            elif key == "DATABASE_APP_ROLE":
                env[key] = COMPOSE_ROLES[value]
            elif "${" not in str(value):
                env.setdefault(key, str(value))
        return env

    def run(self, *args: str) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True)

    def start(self, service: str) -> None:
        out = open(self.workdir / f"{service}.log", "wb")  # noqa: SIM115  (child's life)
        self.processes[service] = subprocess.Popen(
            self.command(service),
            cwd=ROOT,
            env=self.env_of(service),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log_of(self, service: str) -> str:
        return (self.workdir / f"{service}.log").read_text(errors="replace")

    def alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise AssertionError(f"{name} exited ({process.returncode}):\n{self.log_of(name)}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes.values():
            try:
                process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)

    def healthcheck(self) -> subprocess.CompletedProcess:
        test = self.services["web"]["healthcheck"]["test"]
        assert test[0] == "CMD", test
        argv = [sys.executable if test[1] == "python" else test[1], *test[2:]]
        argv = [arg.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}") for arg in argv]
        return subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=30)


class Browser:
    """HTTP as the TLS proxy forwards it: plain HTTP, ``X-Forwarded-Proto: https``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, data: dict | None = None, https: bool = True):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Host": HOST}
        if https:
            headers["X-Forwarded-Proto"] = "https"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Referer"] = f"https://{HOST}{path}"
            headers["Origin"] = f"https://{HOST}"
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        content = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        conn.close()
        return response, content

    def csrf_token(self, page: bytes) -> str:
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        assert found, "no CSRF token in the page"
        return found.group(1).decode()


def wait_for(predicate, timeout: float, what: str, stack: Stack) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stack.alive()
        if predicate():
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def smoke(stack: Stack) -> None:
    started = time.monotonic()
    # Done by the Dockerfile: /data/media (the volume) exists, static files are collected
    # (here while the web service migrates; pages need them, the healthcheck does not).
    Path(stack.env["MEDIA_ROOT"]).mkdir()
    collect = subprocess.Popen(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=stack.env
    )
    log("migrate (as the owner role), then web, worker, beat (as the app role)")
    stack.start("migrate")
    migrate = stack.processes.pop("migrate")
    assert migrate.wait(300) == 0, stack.log_of("migrate")
    stack.start("web")
    stack.start("worker")
    stack.start("beat")

    def healthy() -> bool:
        try:
            return stack.healthcheck().returncode == 0
        except subprocess.TimeoutExpired:  # gunicorn's workers still booting on a busy host
            return False

    wait_for(healthy, 240, "the compose healthcheck to pass", stack)
    log(f"healthcheck passes after {time.monotonic() - started:.0f} s")
    assert collect.wait(120) == 0, "collectstatic failed"
    owner_url = stack.env_of("migrate")["DATABASE_URL"]
    not_owned = psql(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
        "AND tableowner <> current_user",
        owner_url,
    ).stdout.split()
    assert not not_owned, f"tables not owned by {OWNER_ROLE}: {not_owned}"
    for sql in (
        "DROP TRIGGER onco_hdf_append_only ON onco_hdf_readaudit",
        "ALTER TABLE onco_hdf_readaudit DISABLE TRIGGER ALL",
        "TRUNCATE onco_hdf_readaudit",
    ):
        refused = psql(sql, stack.app_url, check=False)
        assert refused.returncode != 0 and (
            "must be owner" in refused.stderr or "permission denied" in refused.stderr
        ), (sql, refused.stderr)
    log(f"tables owned by {OWNER_ROLE}; {APP_ROLE} cannot drop or disable the trigger")

    stack.run(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; from onco_hdf.models import "
        "Membership, Role; u = get_user_model().objects.create_user("
        f"{USERNAME!r}, password={PASSWORD!r}, first_name='Camille', last_name='Smoke'); "
        "Membership.objects.create(user=u, role=Role.COPIL); "
        "from django_otp.plugins.otp_totp.models import TOTPDevice; "
        f"TOTPDevice.objects.create(user=u, name='smoke', key={OTP_KEY!r}, confirmed=True)",
    )
    browser = Browser(stack.port)
    response, _ = browser.request("GET", "/compte/connexion/", https=False)
    assert response.status == 301, response.status
    assert response.getheader("Location") == f"https://{HOST}/compte/connexion/"
    response, page = browser.request("GET", "/compte/connexion/")
    assert response.status == 200, (response.status, page[:500])
    assert response.getheader("Strict-Transport-Security"), "no HSTS header over HTTPS"
    form = {"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": ""}
    form["csrfmiddlewaretoken"] = browser.csrf_token(page)
    response, page = browser.request("POST", "/compte/connexion/", form)
    assert response.status == 302, (response.status, page[:2000])
    response, page = browser.request("GET", "/")
    assert response.status == 302, (response.status, page[:500])
    verify_url = response.getheader("Location")
    assert verify_url.startswith("/compte/double-authentification/"), verify_url
    response, page = browser.request("GET", verify_url)
    form = {"token": f"{totp(bytes.fromhex(OTP_KEY)):06d}"}
    form["csrfmiddlewaretoken"] = browser.csrf_token(page)
    response, page = browser.request("POST", verify_url, form)
    assert response.status == 302, (response.status, page[:2000])
    response, page = browser.request("GET", "/")
    assert response.status == 200 and b"Camille" in page, (response.status, page[:500])
    log("logged in over HTTP with X-Forwarded-Proto: https, second factor answered")

    # The CSRF cookie's secret is a valid token (the login rotated it).
    token = next(v for k, v in browser.cookies.items() if "csrf" in k.lower())
    response, _ = browser.request(
        "POST", "/rapports/onco_hdf.dashboard/generer/", {"csrfmiddlewaretoken": token}
    )
    assert response.status == 302, response.status
    job_url = response.getheader("Location")
    status: dict = {}

    def job_done() -> bool:
        nonlocal status
        _, body = browser.request("GET", f"{job_url}etat/")
        status = json.loads(body)
        assert status["status"] != "failed", status
        return status["status"] == "done"

    wait_for(job_done, 90, "the worker to render the report", stack)
    response, content = browser.request("GET", status["result_url"])
    assert response.status == 200 and content.startswith(b"%PDF"), response.status
    log(f"report PDF rendered by the worker ({len(content)} bytes) and downloaded")

    def swept() -> bool:
        beat, worker = stack.log_of("beat"), stack.log_of("worker")
        return "onco_hdf-job-sweep" in beat and re.search(
            r"Task onco_hdf\.job_sweep\[[^]]+\] succeeded", worker
        )

    wait_for(swept, 60, "beat to send the job sweeper and the worker to run it", stack)
    schedule = beat_schedule(stack)
    for entry in ("onco_hdf-job-sweep", "habilitations-daily", "surveys-reminders"):
        assert entry in schedule, (entry, schedule)
    log(f"beat loaded its schedule; the sweeper ran. Total {time.monotonic() - started:.0f} s")


def beat_schedule(stack: Stack) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from onco_hdf.celery import app; "
            "print(sorted(app.conf.beat_schedule))",
        ],
        cwd=ROOT,
        env={**stack.env, "DJANGO_SETTINGS_MODULE": "onco_hdf.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def drop_database_and_roles() -> None:
    psql(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    for role in (APP_ROLE, OWNER_ROLE):
        psql(f'DROP ROLE IF EXISTS "{role}"')


def main() -> int:
    port = int(os.environ.get("SMOKE_PORT") or free_port())
    drop_database_and_roles()
    psql(f'CREATE ROLE "{OWNER_ROLE}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE')
    psql(f'CREATE ROLE "{APP_ROLE}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT')
    psql(f'CREATE DATABASE "{DATABASE}" OWNER "{OWNER_ROLE}"')
    # As deploy/postgres-init does for compose.
    psql("REVOKE CREATE ON SCHEMA public FROM PUBLIC", f"{PG}/{DATABASE}")
    subprocess.run(["redis-cli", "-u", REDIS, "flushdb"], check=True, capture_output=True)
    with tempfile.TemporaryDirectory(prefix="onco-smoke-") as workdir:
        stack = Stack(Path(workdir), port)
        try:
            smoke(stack)
        except BaseException:
            stack.stop()
            for name in stack.processes:
                print(f"----- {name} log (end) -----\n{stack.log_of(name)[-4000:]}")
            raise
        finally:
            stack.stop()
            drop_database_and_roles()
            subprocess.run(["redis-cli", "-u", REDIS, "flushdb"], check=False, capture_output=True)
    log("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
