"""The job page in Chromium: the bar is sized by app.js (no inline style), then ends."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from onco_hdf import jobs
from tests.browser_helpers import log_in, verify_second_factor

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_progress_bar_width_follows_the_job(page, live_server, copil):
    job = jobs.job_create(kind="worker_check", label="Vérification", user=copil)
    jobs.job_claim(job_id=job.pk, delivery_id="m1")
    jobs.job_progress(job_id=job.pk, progress=40, message="Étape 2 sur 5")
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=copil, name="phone", confirmed=True)
    log_in(page, live_server, "copil")
    verify_second_factor(page, copil)
    page.goto(f"{live_server.url}/taches/{job.pk}/")
    bar = page.locator(".job-progress .progress-bar")
    expect(bar).to_have_attribute("style", re.compile(r"width: 40%"))
    expect(page.locator(".job-status")).to_contain_text("Étape 2 sur 5")
    jobs.job_succeed(job_id=job.pk, message="Terminé")
    expect(bar).to_have_attribute("style", re.compile(r"width: 100%"))
    expect(bar).to_have_text("100 %")
    expect(page.locator(".job-status")).to_contain_text("Terminé")
