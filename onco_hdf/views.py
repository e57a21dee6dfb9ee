"""Foundation pages: home dashboard, centres, users and memberships, jobs, history, 2FA."""

from __future__ import annotations

import base64
import json

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_otp import devices_for_user
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from onco_hdf import permissions, ratelimit, reports, services, signing
from onco_hdf import steering_hooks as steering
from onco_hdf.audit import ReadAction, audit_read
from onco_hdf.dashboard import (
    MatrixFilters,
    centre_panels,
    project_tiles,
    regional_summary,
    sector_chart,
    steering_context,
)
from onco_hdf.forms import (
    CentreForm,
    DocumentVerifyForm,
    MembershipForm,
    OtpTokenForm,
    UserInviteForm,
)
from onco_hdf.history import record_author
from onco_hdf.jobs import job_enqueue, job_get_or_create
from onco_hdf.models import Centre, Job, Membership
from onco_hdf.permissions import require
from onco_hdf.qr import qr_data_uri
from onco_hdf.tasks import report_render_task, worker_check_task

User = get_user_model()


# --- Home -----------------------------------------------------------------------------
@login_required
def home(request):
    user = request.user
    context = {"tiles": project_tiles(user), "centres": permissions.centres_for_user(user)}
    if permissions.is_regional_reader(user):
        summary = regional_summary()
        context.update(regional=True, summary=summary, sector_chart=sector_chart(summary))
        context.update(steering_context(user, MatrixFilters.from_query(request.GET)))
    else:
        context["memberships"] = permissions.memberships_of(user)
        context["todo"] = steering.todo_items(user)
    return render(request, "onco_hdf/home.html", context)


# --- Centres --------------------------------------------------------------------------
@require(permissions.can_view_centre_directory)
def centre_list(request):
    centres = Centre.objects.all()
    return render(request, "onco_hdf/centre_list.html", {"centres": centres})


@login_required
def centre_detail(request, pk: int):
    centre = permissions.get_for_user_or_404(
        Centre.objects.all(), request.user, centre_field="pk", pk=pk
    )
    members = centre.memberships.select_related("user").order_by("role", "user__last_name")
    return render(
        request,
        "onco_hdf/centre_detail.html",
        {"centre": centre, "members": members, "panels": centre_panels(request, centre)},
    )


@require(permissions.can_manage_centres)
def centre_edit(request, pk: int | None = None):
    centre = get_object_or_404(Centre, pk=pk) if pk else None
    form = CentreForm(request.POST or None, instance=centre)
    if request.method == "POST" and form.is_valid():
        centre = services.centre_save(centre=form.save(commit=False))
        messages.success(request, _("Centre “%(name)s” saved.") % {"name": centre.name})
        return redirect("onco_hdf:centre-detail", pk=centre.pk)
    return render(request, "onco_hdf/centre_form.html", {"form": form, "centre": centre})


# --- Users and memberships ------------------------------------------------------------
@require(permissions.can_manage_memberships)
def user_list(request):
    users = User.objects.order_by("last_name", "first_name").prefetch_related("memberships__centre")
    return render(request, "onco_hdf/user_list.html", {"users": users})


@require(permissions.can_manage_memberships)
def user_invite(request):
    form = UserInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_invite(request=request, **form.cleaned_data)
        except ValidationError as error:
            form.add_error("email", error)
        else:
            messages.success(
                request,
                _("Account created; an e-mail was sent to %(email)s to choose a password.")
                % {"email": user.email},
            )
            return redirect(f"{reverse('onco_hdf:membership-create')}?user={user.pk}")
    return render(request, "onco_hdf/user_invite.html", {"form": form})


@require(permissions.can_manage_memberships)
def membership_create(request):
    initial = {key: request.GET[key] for key in ("user", "centre") if request.GET.get(key)}
    form = MembershipForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            membership = services.membership_create(**form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Membership added: %(m)s.") % {"m": membership})
            return redirect("onco_hdf:user-list")
    return render(request, "onco_hdf/membership_form.html", {"form": form})


@require_POST
@require(permissions.can_manage_memberships)
def membership_delete(request, pk: int):
    membership = get_object_or_404(Membership, pk=pk)
    services.membership_delete(membership=membership)
    messages.success(request, _("Membership removed: %(m)s.") % {"m": membership})
    return redirect("onco_hdf:user-list")


# --- Audit history --------------------------------------------------------------------
@require(permissions.can_view_history)
def object_history(request, app_label: str, model_name: str, pk: int):
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError as error:
        raise Http404 from error
    if not hasattr(model, "history"):
        raise Http404
    obj = get_object_or_404(model, pk=pk)
    records = list(obj.history.select_related("history_user").order_by("-history_date"))
    rows = []
    for index, record in enumerate(records):
        previous = records[index + 1] if index + 1 < len(records) else None
        changes = []
        if previous is not None:
            delta = record.diff_against(previous)
            for change in delta.changes:
                field = model._meta.get_field(change.field)
                changes.append((field.verbose_name, change.old, change.new))
        rows.append({"record": record, "changes": changes, "by": record_author(record)})
    return render(
        request,
        "onco_hdf/object_history.html",
        {"object": obj, "rows": rows, "model_name": model._meta.verbose_name},
    )


# --- Jobs and reports -----------------------------------------------------------------
def _job_for_user(request, pk: int) -> Job:
    job = get_object_or_404(Job, pk=pk)
    if not permissions.can_view_job(request.user, job):
        raise Http404
    return job


def job_payload(job: Job) -> dict:
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": job.get_status_display(),
        "progress": job.progress,
        "message": job.message,
        "finished": job.is_finished,
        "result_url": job_result_link(job),
    }


def job_result_link(job: Job) -> str:
    if job.status != "done":
        return ""
    if job.result_file:
        return reverse("onco_hdf:job-result", args=[job.pk])
    return job.result_url


@require_GET
@login_required
def job_status(request, pk: int):
    return JsonResponse(job_payload(_job_for_user(request, pk)))


@login_required
def job_detail(request, pk: int):
    job = _job_for_user(request, pk)
    return render(request, "onco_hdf/job_detail.html", {"job": job, "payload": job_payload(job)})


@login_required
def job_result(request, pk: int):
    job = _job_for_user(request, pk)
    if job.status != "done" or not job.result_file:
        raise Http404
    name = job.result_file.name.rsplit("/", 1)[-1]
    audit_read(user=request.user, obj=job, action=ReadAction.DOWNLOAD, detail=name)
    return FileResponse(job.result_file.open("rb"), as_attachment=True, filename=name)


@require_POST
@login_required
def report_start(request, key: str):
    """Start a registered report as a job, then show its progress page."""
    if not reports.registered(key) or not reports.may_start(key, request.user):
        raise Http404
    params = {"report": key, **{k: v for k, v in request.POST.items() if k.startswith("p_")}}
    job, created = job_get_or_create(
        kind="report",
        label=reports.label(key),
        user=request.user,
        obj=json.dumps(params, sort_keys=True),
        params=params,
    )
    if created:
        job_enqueue(job=job, task=report_render_task)
    return redirect("onco_hdf:job-detail", pk=job.pk)


# --- System ---------------------------------------------------------------------------
@require(lambda user: permissions.has_role(user, "admin"))
def system_status(request):
    if request.method == "POST":
        job, created = job_get_or_create(
            kind="worker_check", label=_("Worker check"), user=request.user
        )
        if created:
            job_enqueue(job=job, task=worker_check_task)
        return redirect("onco_hdf:job-detail", pk=job.pk)
    recent = Job.objects.select_related("created_by")[:20]
    return render(request, "onco_hdf/system_status.html", {"jobs": recent})


def admin_login_redirect(request):
    target = reverse("account:login")
    next_url = request.GET.get("next", "")
    return redirect(f"{target}?{urlencode({'next': next_url})}" if next_url else target)


def health(request):
    """Liveness for the container healthcheck: the process answers and the database too.

    Reached through :class:`onco_hdf.middleware.HealthCheckMiddleware`, before the host and
    HTTPS checks: the probe comes from inside the container as ``http://127.0.0.1``.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # the answer is the status code, not a 500 page
        return JsonResponse({"status": "database unavailable"}, status=503)
    return JsonResponse({"status": "ok"})


# --- Second factor --------------------------------------------------------------------
def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("home")


@login_required
def otp_setup(request):
    """Enrol a TOTP authenticator: show the QR code, confirm with a first code."""
    if any(True for _ in devices_for_user(request.user, confirmed=True)):
        return redirect("account:otp-verify")
    device, _created = TOTPDevice.objects.get_or_create(
        user=request.user, confirmed=False, defaults={"name": "TOTP"}
    )
    form = OtpTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            messages.success(request, _("Two-factor authentication is now active."))
            return redirect(_safe_next(request))
        form.add_error("token", _("This code is not valid. Check your phone's clock and retry."))
    secret = base64.b32encode(device.bin_key).decode().rstrip("=")
    return render(
        request,
        "account/otp_setup.html",
        {
            "form": form,
            "qr_svg": qr_data_uri(device.config_url),
            "secret": secret,
            "next": _safe_next(request),
        },
    )


@login_required
def otp_verify(request):
    devices = list(devices_for_user(request.user, confirmed=True))
    if not devices:
        return redirect("account:otp-setup")
    form = OtpTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        for device in devices:
            if device.verify_token(form.cleaned_data["token"]):
                otp_login(request, device)
                return redirect(_safe_next(request))
        form.add_error("token", _("This code is not valid. Check your phone's clock and retry."))
    return render(request, "account/otp_verify.html", {"form": form, "next": _safe_next(request)})


# --- Public verification of official PDFs ---------------------------------------------
def verification_rate_limited(request) -> bool:
    """True once this client asked the public verification pages too often."""
    return not ratelimit.allow(
        request,
        "verify",
        limit=settings.VERIFY_RATE_LIMIT,
        window=settings.VERIFY_RATE_WINDOW_SECONDS,
    )


def document_verify(request, code: str = ""):
    """Public: is the dropped PDF an unchanged copy the platform issued, and what it holds;
    or, from the code printed on a PDF (QR code), what the platform holds for it."""
    form = DocumentVerifyForm(request.POST or None, request.FILES or None)
    code = code or request.GET.get("code", "")[:40]
    outcome = holder = by_code = None
    asked = request.method == "POST" or bool(code)
    limited = asked and verification_rate_limited(request)  # then nothing is looked up
    if asked and not limited and request.method == "POST":
        if form.is_valid():
            outcome = signing.verify_pdf(form.cleaned_data["pdf"])
            holder = signing.holder_context(outcome.issued) if outcome.ok else None
    elif asked and not limited:
        by_code = signing.issued_for_code(code)
        holder = signing.holder_context(by_code) if by_code else None
    return render(
        request,
        "onco_hdf/document_verify.html",
        {
            "form": form,
            "outcome": outcome,
            "holder": holder,
            "code": code,
            "by_code": by_code,
            "limited": limited,
        },
        status=429 if limited else 200,
    )
