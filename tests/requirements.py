"""What a test needs from the machine, and what to do when it is missing.

On a developer machine a missing PostgreSQL, Redis, Chromium or plastimatch skips the test
with a visible reason. CI sets ``ONCO_STRICT_ENV=1``: the same absence then fails the test,
so a green CI always means the full suite ran.
"""

from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("ONCO_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


def strict() -> bool:
    return os.environ.get("ONCO_STRICT_ENV", "") not in ("", "0", "false")


def missing(reason: str) -> None:
    """Skip (locally) or fail (CI) the running test because ``reason``."""
    if strict():
        pytest.fail(f"ONCO_STRICT_ENV is set and {reason}", pytrace=False)
    pytest.skip(reason)


def need_binary(name: str) -> str:
    path = shutil.which(name)
    if not path:
        missing(f"the '{name}' program is not installed")
    return path


def need_shared_data(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        missing(f"shared test data not found at {path}")
    return path


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def need_postgres() -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        missing("the test database is not PostgreSQL (set DATABASE_URL)")


def need_redis() -> str:
    from django.conf import settings

    url = settings.CELERY_BROKER_URL or ""
    if not url.startswith("redis://") or not port_open("127.0.0.1", 6379):
        missing("no Redis broker (set CELERY_BROKER_URL=redis://127.0.0.1:6379/N)")
    return url


def need_chromium() -> str:
    return (
        need_binary("chromium") if not Path("/usr/bin/chromium").exists() else "/usr/bin/chromium"
    )
