"""One way to refuse a malformed request: a French 400 page, or JSON for scripts."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render


def wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get(
        "Accept", ""
    ) or request.content_type.startswith("application/json")


def bad_request(request: HttpRequest, message: str) -> HttpResponse:
    """Answer 400 with ``message``; nothing was saved, so going back keeps what was typed."""
    if wants_json(request):
        return JsonResponse({"ok": False, "message": str(message)}, status=400)
    return render(request, "400.html", {"message": message}, status=400)
