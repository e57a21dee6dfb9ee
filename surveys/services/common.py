"""Shared by the survey services: the refusal error and the lock on a draft version."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from surveys.models import QuestionnaireVersion, VersionStatus


class SurveyError(ValidationError):
    """An action the user may not do now; the message says why, in French."""


def _fail(message: str, field: str | None = None) -> None:
    """Refuse with ``message``; ``field`` names the form field it is about, if any."""
    error = SurveyError(message)
    error.field = field
    raise error


def _lock_version(version: QuestionnaireVersion) -> QuestionnaireVersion:
    return QuestionnaireVersion.objects.select_for_update().get(pk=version.pk)


def _ensure_draft(version: QuestionnaireVersion) -> None:
    if version.status != VersionStatus.DRAFT:
        _fail(_("This version is published and frozen: create a new version to change it."))
