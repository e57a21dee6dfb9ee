"""Who may do what with surveys; built on the foundation's roles and scoping."""

from __future__ import annotations

from onco_hdf import permissions as core
from onco_hdf.models import CENTRE_ROLES


def can_build_questionnaire(user, obj=None) -> bool:
    return core.is_project_manager(user)


def can_manage_campaign(user, obj=None) -> bool:
    return core.is_project_manager(user)


def can_view_results(user, obj=None) -> bool:
    """Regional dashboard, participation and every response: project manager and COPIL."""
    return core.is_regional_reader(user)


def can_export_responses(user, obj=None) -> bool:
    return core.is_project_manager(user)


def can_reopen_response(user, obj=None) -> bool:
    return core.is_project_manager(user)


def can_answer_survey(user, obj=None) -> bool:
    """Centre members answer for their centre (their section roles apply)."""
    return bool(core.centre_ids_for(user, CENTRE_ROLES))


def can_view_centre_results(user, obj=None) -> bool:
    return bool(core.centre_ids_for(user)) or core.is_regional_reader(user)


def can_use_surveys(user, obj=None) -> bool:
    return can_view_results(user) or can_answer_survey(user)
