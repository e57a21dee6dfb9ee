"""Who made a change recorded by simple_history when that person has no account.

A survey respondent who answers through an invitation link is anonymous to Django, so
``history_user`` stays empty and the history page would say "system". A historical model
built on :class:`HistoryByLabel` also stores a label of that person, set for the duration
of a write with :func:`history_by`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db import models
from django.utils.translation import gettext_lazy as _

_by_label: ContextVar[str] = ContextVar("onco_hdf_history_by_label", default="")


class HistoryByLabel(models.Model):
    """Base of a historical model (``HistoricalRecords(bases=[HistoryByLabel])``)."""

    history_by_label = models.CharField(_("by"), max_length=200, blank=True)

    class Meta:
        abstract = True


@contextmanager
def history_by(label: str) -> Iterator[None]:
    """History rows written inside this block name ``label`` when they have no user."""
    token = _by_label.set(label)
    try:
        yield
    finally:
        _by_label.reset(token)


def stamp_history_by(sender, history_instance, **_kwargs) -> None:
    """``pre_create_historical_record`` receiver."""
    label = _by_label.get()
    if (
        label
        and history_instance.history_user_id is None
        and hasattr(history_instance, "history_by_label")
    ):
        history_instance.history_by_label = label[:200]


def record_author(record) -> str:
    """The person of a history row: account, else the stored label; "" when neither."""
    user = record.history_user
    if user is not None:
        return user.get_full_name() or user.username
    return getattr(record, "history_by_label", "")
