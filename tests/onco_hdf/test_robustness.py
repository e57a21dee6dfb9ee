"""No page answers 500 to made-up input: every URL, GET and POST, with existing and
unknown ids and junk parameters, for people of different roles, on the full demo data."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from tests.onco_hdf.test_url_walker import all_urls

JUNK = {"x": "'<script>", "status": "zz", "statut": "zz", "page": "-1", "direction": "nowhere"}
USERS = ("cheffe.projet", "referent.lille", "oncologue.amiens", "physicien.lille")


def concrete_paths() -> list[str]:
    paths = []
    for pattern, name in all_urls():
        if pattern.startswith("admin/") or name in ("account:logout", "onco_hdf:system-status"):
            continue
        for value in ("1", "999999"):
            path = re.sub(r"<int:[^>]+>", value, pattern)
            paths.append("/" + re.sub(r"<[^>]+>", "x", path))
    return sorted(set(paths))


@pytest.mark.django_db
def test_no_url_answers_500_to_made_up_input(settings):
    settings.TWO_FACTOR_REQUIRED = False
    call_command("seed_demo", allow_production=True)  # tests run with DEBUG off
    failures = []
    for username in USERS:
        client = Client(raise_request_exception=False)
        client.force_login(get_user_model().objects.get(username=username))
        for path in concrete_paths():
            for method in (client.get, client.post):
                status = method(path, JUNK).status_code
                if status >= 500:
                    failures.append(f"{username} {method.__name__.upper()} {path} → {status}")
    assert failures == []
