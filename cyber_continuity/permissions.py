"""Who may read and write continuity data; built on onco_hdf.permissions."""

from __future__ import annotations

from cyber_continuity.models import EDITABLE_STATUSES, ConventionStatus
from onco_hdf.models import Role
from onco_hdf.permissions import (
    centre_ids_for,
    has_centre_role,
    is_crisis_cell,
    is_project_manager,
    is_regional_reader,
    memberships_of,
)


def can_view_registry(user) -> bool:
    """Every authenticated user of the region reads the registry."""
    return bool(getattr(user, "is_authenticated", False) and memberships_of(user))


def can_edit_centre_registry(user, centre) -> bool:
    """Only a centre's referent edits its registry, contacts, capacities and plan."""
    return has_centre_role(user, centre, Role.REFERENT)


def is_referent(user) -> bool:
    return bool(centre_ids_for(user, [Role.REFERENT]))


def can_manage_authorities(user) -> bool:
    return is_project_manager(user)


def can_manage_templates(user) -> bool:
    return is_project_manager(user)


def can_create_convention(user) -> bool:
    return is_referent(user) or is_project_manager(user)


def party_ids(convention) -> set[int]:
    return {party.centre_id for party in convention.parties.all()}


def is_party_referent(user, convention) -> bool:
    return bool(party_ids(convention) & centre_ids_for(user, [Role.REFERENT]))


def can_edit_convention(user, convention) -> bool:
    return convention.status in EDITABLE_STATUSES and is_party_referent(user, convention)


def can_transition_convention(user, convention) -> bool:
    return is_party_referent(user, convention) or (
        is_project_manager(user) and convention.status != ConventionStatus.DRAFT
    )


def can_amend_convention(user, convention) -> bool:
    return is_party_referent(user, convention) or is_project_manager(user)


def can_sign_convention(user, convention) -> bool:
    return convention.status == ConventionStatus.AWAITING_SIGNATURE and is_party_referent(
        user, convention
    )


def can_declare_crisis(user, centre=None) -> bool:
    if is_project_manager(user):
        return True
    if centre is None:
        return is_referent(user)
    return has_centre_role(user, centre, Role.REFERENT)


def can_manage_crisis(user, crisis) -> bool:
    """The affected centre's referents and the project manager run the crisis."""
    return is_project_manager(user) or has_centre_role(user, crisis.centre, Role.REFERENT)


def can_manage_scenarios(user) -> bool:
    """The exercise scenario library is kept by the project manager."""
    return is_project_manager(user)


def can_schedule_exercise(user) -> bool:
    """The project manager for any centre, a referent for their own centres."""
    return can_declare_crisis(user)


def can_manage_exercise(user, exercise) -> bool:
    """The project manager and the referents of a centre taking part run the exercise."""
    if is_project_manager(user):
        return True
    mine = centre_ids_for(user, [Role.REFERENT])
    return bool(mine) and exercise.centres.filter(pk__in=mine).exists()


def can_answer_transfer(user, transfer) -> bool:
    return has_centre_role(user, transfer.receiving_centre, Role.REFERENT)


def follows_crises(user) -> bool:
    """Every crisis and exercise of the region: its regional readers and the crisis cell."""
    return is_regional_reader(user) or is_crisis_cell(user)


def can_record_phone_answer(user, transfer) -> bool:
    """The project manager and the DSR-C crisis cell type in an answer given by phone."""
    return is_project_manager(user) or is_crisis_cell(user)


def crisis_participant_ids(centre_ids=None) -> dict[int, set[int]]:
    """For each crisis under way: the affected centre and its receivers (transfers, plan)."""
    from cyber_continuity.models import Crisis, CrisisStatus, Transfer, TransferPlanEntry

    active = {
        CrisisStatus.ALERT,
        CrisisStatus.DECLARED,
        CrisisStatus.TRANSFERS,
        CrisisStatus.STABILISED,
        CrisisStatus.RETURN,
    }
    crises = dict(Crisis.objects.filter(status__in=active).values_list("pk", "centre_id"))
    participants = {pk: {centre} for pk, centre in crises.items()}
    for crisis_id, receiver in Transfer.objects.filter(group__crisis__in=crises).values_list(
        "group__crisis_id", "receiving_centre_id"
    ):
        participants[crisis_id].add(receiver)
    for home, receiver in TransferPlanEntry.objects.filter(
        centre__in=set(crises.values())
    ).values_list("centre_id", "receiving_centre_id"):
        for crisis_id, centre in crises.items():
            if centre == home:
                participants[crisis_id].add(receiver)
    return participants


def crisis_contact_centre_ids(user) -> set[int] | None:
    """Centres whose crisis contacts the user may read; None means every centre.

    Personal mobiles and e-mails are for referents, heads of department, the project
    manager and the crisis cell (who phones them during a crisis); during a crisis, also for
    the members of the centres taking part in it. Everyone else sees the centre's
    switchboard only.
    """
    if (
        is_project_manager(user)
        or is_crisis_cell(user)
        or centre_ids_for(user, [Role.REFERENT, Role.HEAD_OF_DEPARTMENT])
    ):
        return None
    mine = centre_ids_for(user)
    visible: set[int] = set()
    if mine:
        for members in crisis_participant_ids().values():
            if members & mine:
                visible |= members
    return visible


def can_view_crisis_contacts(user, centre) -> bool:
    visible = crisis_contact_centre_ids(user)
    return visible is None or centre.pk in visible


def can_view_kit_editions(user, centre) -> bool:
    """Kept editions of a kit: the centre's own members and the regional readers."""
    return is_regional_reader(user) or has_centre_role(user, centre)


def can_download_kit_edition(user, centre) -> bool:
    """A kept edition prints every crisis contact: only for those who may read them."""
    return can_view_kit_editions(user, centre) and can_view_crisis_contacts(user, centre)


def can_view_overview(user) -> bool:
    return is_regional_reader(user)
