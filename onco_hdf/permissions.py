"""Roles and centre scoping: the one place every app asks "who may see or do what".

Every query that returns centre data goes through :func:`scope_to_user` (or a selector
built on it), so an object of another centre is simply not found: the view answers 404
and never reveals its content.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from onco_hdf.models import REGIONAL_ROLES, Centre, Membership, Role

_CACHE_ATTR = "_onco_memberships"


def memberships_of(user) -> list[Membership]:
    """The user's memberships, loaded once per user object (i.e. once per request)."""
    if not getattr(user, "is_authenticated", False):
        return []
    cached = getattr(user, _CACHE_ATTR, None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).select_related("centre"))
        setattr(user, _CACHE_ATTR, cached)
    return cached


def forget_memberships(user) -> None:
    """Drop the cached memberships (after a membership of this user changed)."""
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)


def roles_of(user) -> set[str]:
    roles = {m.role for m in memberships_of(user)}
    if getattr(user, "is_superuser", False):
        roles.add(Role.ADMIN)
    return roles


def has_role(user, *roles: str) -> bool:
    return bool(roles_of(user) & set(roles))


def is_project_manager(user) -> bool:
    return has_role(user, Role.PROJECT_MANAGER)


def is_regional_reader(user) -> bool:
    """Project manager and COPIL read every centre's data."""
    return has_role(user, Role.PROJECT_MANAGER, Role.COPIL)


def is_crisis_cell(user) -> bool:
    """The DSR-C crisis cell: regional, follows the crises, no other regional right."""
    return has_role(user, Role.CRISIS_CELL)


def needs_second_factor(user) -> bool:
    """Every regional role (DESIGN.md §5: they read or change what every centre holds),
    and superusers."""
    return has_role(user, *REGIONAL_ROLES) or getattr(user, "is_superuser", False)


def centre_ids_for(user, roles: Iterable[str] | None = None) -> set[int]:
    """Ids of the centres where the user holds one of ``roles`` (any centre role if None)."""
    wanted = set(roles) if roles is not None else None
    return {
        m.centre_id
        for m in memberships_of(user)
        if m.centre_id is not None and (wanted is None or m.role in wanted)
    }


def has_centre_role(user, centre: Centre | int, *roles: str) -> bool:
    centre_id = centre if isinstance(centre, int) else centre.pk
    return centre_id in centre_ids_for(user, roles or None)


def scope_to_user(
    queryset: QuerySet,
    user,
    *,
    centre_field: str = "centre",
    roles: Iterable[str] | None = None,
    regional: bool = True,
) -> QuerySet:
    """Restrict ``queryset`` to the objects of the user's centres.

    ``centre_field`` is the lookup path from the model to its Centre (``"centre"``,
    ``"case__centre"``; ``"pk"`` for Centre itself). Regional readers see everything unless
    ``regional`` is False; ``roles`` narrows which centre memberships count.
    """
    if not getattr(user, "is_authenticated", False):
        return queryset.none()
    if regional and is_regional_reader(user):
        return queryset
    return queryset.filter(**{f"{centre_field}__in": centre_ids_for(user, roles)})


def centres_for_user(user) -> QuerySet[Centre]:
    return scope_to_user(Centre.objects.all(), user, centre_field="pk")


def get_for_user_or_404(queryset: QuerySet, user, *, centre_field: str = "centre", **lookup):
    """Fetch one object inside the user's scope; anything else is a 404."""
    return get_object_or_404(scope_to_user(queryset, user, centre_field=centre_field), **lookup)


# --- Foundation permissions -----------------------------------------------------------
def can_view_centre_directory(user) -> bool:
    return is_regional_reader(user) or has_role(user, Role.ADMIN)


def can_manage_centres(user) -> bool:
    return is_project_manager(user)


def can_manage_memberships(user) -> bool:
    return has_role(user, Role.PROJECT_MANAGER, Role.ADMIN)


def can_view_history(user) -> bool:
    return has_role(user, Role.PROJECT_MANAGER, Role.ADMIN)


def can_view_job(user, job) -> bool:
    return job.created_by_id == user.pk or is_project_manager(user)


# --- COPIL governance -----------------------------------------------------------------
def can_view_copil(user) -> bool:
    return is_regional_reader(user)


def can_manage_copil(user) -> bool:
    return is_project_manager(user)


def can_comment_copil_decision(user) -> bool:
    return is_regional_reader(user)


def require(check: Callable[..., bool]):
    """View decorator: login required, then ``check(user)`` or 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
