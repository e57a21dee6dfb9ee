"""Who may see or do what in the habilitations app (built on onco_hdf.permissions).

Workflow steps are decided by the transitions table in :mod:`habilitations.workflow`.
"""

from __future__ import annotations

from habilitations import workflow
from habilitations.models import EDITABLE_STATUSES, SheetStatus
from onco_hdf.models import Centre, Role
from onco_hdf.permissions import (
    centre_ids_for,
    has_centre_role,
    has_role,
    is_project_manager,
    is_regional_reader,
)

SHEET_ROLES = (Role.ONCOLOGIST, Role.HEAD_OF_DEPARTMENT)


def can_view_habilitations(user) -> bool:
    return (
        is_regional_reader(user)
        or has_role(user, *SHEET_ROLES)
        or (user.is_authenticated and Centre.objects.filter(habilitation_director=user).exists())
    )


def can_manage_catalogue(user) -> bool:
    return is_project_manager(user)


def can_create_sheet(user) -> bool:
    return has_role(user, *SHEET_ROLES)


def can_view_matrix(user) -> bool:
    return is_regional_reader(user) or has_role(user, Role.HEAD_OF_DEPARTMENT)


def can_view_regional_overview(user) -> bool:
    return is_regional_reader(user)


def can_view_centre_habilitations(user, centre=None) -> bool:
    if is_regional_reader(user):
        return True
    if centre is None:
        return has_role(user, Role.HEAD_OF_DEPARTMENT)
    return has_centre_role(user, centre, Role.HEAD_OF_DEPARTMENT)


def head_centre_ids(user) -> set[int]:
    return centre_ids_for(user, [Role.HEAD_OF_DEPARTMENT])


def can_edit_habilitation_sheet(user, sheet) -> bool:
    """Draft only; by the physician, or by a head of department of the centre."""
    if sheet.status not in EDITABLE_STATUSES:
        return False
    return user.pk == sheet.physician_id or sheet.centre_id in head_centre_ids(user)


def can_validate_habilitation_sheet(user, sheet) -> bool:
    return workflow.may(user, sheet, "validate_head")


def can_renew_habilitation_sheet(user, sheet) -> bool:
    if sheet.status not in (SheetStatus.ACTIVE, SheetStatus.TO_RENEW):
        return False
    return bool(workflow.actor_kinds(user, sheet) & {workflow.SUBJECT, workflow.HEAD})
