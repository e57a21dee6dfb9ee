"""Who may do what in the contouring comparison (built on onco_hdf.permissions).

- the project manager opens cases, chooses structures, uploads for any centre, runs the
  comparisons and reads everything;
- COPIL members read every result and report, and change nothing;
- a centre's medical physicist registers solutions and uploads/maps the RTSTRUCTs of
  their centre; the other centre roles read their centre's submissions and results;
- a submission of another centre is not found (404), never shown.
"""

from __future__ import annotations

from onco_hdf.models import Role
from onco_hdf.permissions import centre_ids_for, has_centre_role, has_role, is_project_manager
from onco_hdf.permissions import is_regional_reader as _is_regional_reader

CENTRE_READER_ROLES = (Role.PHYSICIST, Role.REFERENT, Role.ONCOLOGIST, Role.HEAD_OF_DEPARTMENT)


def is_regional_reader(user) -> bool:
    return _is_regional_reader(user)


def can_view_cases(user) -> bool:
    return is_regional_reader(user) or bool(centre_ids_for(user, CENTRE_READER_ROLES))


def can_manage_case(user, case=None) -> bool:
    return is_project_manager(user)


def can_manage_objectives(user) -> bool:
    return is_project_manager(user)


def can_register_solution(user) -> bool:
    return is_project_manager(user) or has_role(user, Role.PHYSICIST)


def upload_centre_ids(user) -> set[int] | None:
    """Centres the user may upload for; None means every centre (project manager)."""
    if is_project_manager(user):
        return None
    return centre_ids_for(user, [Role.PHYSICIST])


def can_upload_submission(user, centre=None) -> bool:
    if is_project_manager(user):
        return True
    if centre is None:
        return has_role(user, Role.PHYSICIST)
    return has_centre_role(user, centre, Role.PHYSICIST)


def can_map_submission(user, submission) -> bool:
    return can_upload_submission(user, submission.centre_id)


def can_view_all_results(user) -> bool:
    return is_regional_reader(user)


def can_run_comparison(user, case=None) -> bool:
    return is_project_manager(user)


def can_download_report(user) -> bool:
    return is_regional_reader(user)


def can_view_protocols(user) -> bool:
    return is_regional_reader(user)


def can_manage_protocol(user) -> bool:
    """Create protocol versions and mark the comparison report final."""
    return is_project_manager(user)
