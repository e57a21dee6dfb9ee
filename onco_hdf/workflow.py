"""The one workflow helper: an abstract transition record and one transition function.

An app's workflow keeps its own ``status`` field, its table of allowed moves and its own
record model (a subclass of :class:`TransitionRecord` with a foreign key to its object).
:func:`transition` locks the object (``select_for_update``), refuses a move the table does
not allow with a clear message, lets the app check its own rules on the locked object,
moves it and records who, when, from, to and why.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class TransitionError(ValidationError):
    """A move the workflow does not allow (French, user-facing message)."""


class TransitionRecord(models.Model):
    """Who moved what, when, from which status to which, and why."""

    from_status = models.CharField(gettext_lazy("from"), max_length=30, blank=True)
    to_status = models.CharField(gettext_lazy("to"), max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=gettext_lazy("by"),
    )
    comment = models.TextField(gettext_lazy("comment"), blank=True)
    at = models.DateTimeField(gettext_lazy("on"), auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["at", "pk"]

    @property
    def actor_name(self) -> str:
        if self.actor is None:
            return str(gettext_lazy("automatic"))
        return self.actor.get_full_name() or self.actor.username


def transition(
    *,
    queryset: QuerySet,
    pk: int,
    to_status: str,
    allowed_from: Iterable[str],
    actor,
    record_model: type[TransitionRecord],
    subject_field: str,
    comment: str = "",
    record_fields: dict | None = None,
    check: Callable[[models.Model], None] | None = None,
    forbidden: Callable[[models.Model], str] | None = None,
    update_fields: Iterable[str] = (),
    status_field: str = "status",
    error: type[ValidationError] = TransitionError,
):
    """Move object ``pk`` of ``queryset`` to ``to_status`` and record it; returns the
    locked, moved object and its record.

    ``allowed_from`` is the row of the allowed-moves table for this move; ``forbidden(obj)``
    gives the message when the object is elsewhere; ``check(obj)`` runs the app's own rules
    on the locked object (it may also change fields listed in ``update_fields``).
    """
    with transaction.atomic():
        obj = queryset.select_for_update().get(pk=pk)
        current = getattr(obj, status_field)
        if current not in set(allowed_from):
            message = (
                forbidden(obj)
                if forbidden is not None
                else _("This change is not possible from the current status (%(status)s).")
                % {"status": current}
            )
            raise error(message)
        if check is not None:
            check(obj)
        setattr(obj, status_field, to_status)
        obj.save(update_fields=[status_field, *update_fields])
        record = record_model.objects.create(
            **{subject_field: obj},
            from_status=current,
            to_status=to_status,
            actor=actor,
            comment=comment,
            **(record_fields or {}),
        )
    return obj, record


def record_creation(
    *,
    record_model: type[TransitionRecord],
    subject_field: str,
    obj: models.Model,
    to_status: str,
    actor,
    comment: str = "",
    at=None,
) -> TransitionRecord:
    """Record the first step of a new object (from no status to ``to_status``); ``at`` dates
    it when the object started before it was entered (``at`` is otherwise set on creation)."""
    record = record_model.objects.create(
        **{subject_field: obj}, from_status="", to_status=to_status, actor=actor, comment=comment
    )
    if at is not None:
        record_model.objects.filter(pk=record.pk).update(at=at)
        record.at = at
    return record
