"""Two guards on every form field, Django's and the apps' alike.

- Free text has a maximum length (``settings.FORM_TEXT_MAX_LENGTH``).
- A choice of objects by id refuses an id beyond 64 bits as an invalid choice (the
  databases raise OverflowError / "bigint out of range" instead of finding nothing).

Applied when the ``onco_hdf`` package is imported (the settings module lives in it, so
before any form class exists).
"""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

_HUGE_INTEGER = re.compile(r"\s*[+-]?\d{19,}\s*")
_INT64 = 2**63 - 1


def is_huge_integer(value) -> bool:
    text = str(value)
    return bool(_HUGE_INTEGER.fullmatch(text)) and abs(int(text)) > _INT64


def bound_free_text_fields() -> None:
    """Give every form text field without a maximum length the platform's default.

    Model ``TextField`` columns and ``forms.CharField`` declared without ``max_length`` are
    otherwise unbounded: a single 8 MB clause made its PDF and history page run for
    minutes. Django's own validator gives the French message ("Assurez-vous que cette
    valeur comporte au plus … caractères") and the widget its ``maxlength``; the value
    stays in the re-displayed form.
    """
    if getattr(forms.CharField.__init__, "_bounded", False):
        return
    unbounded_init = forms.CharField.__init__

    def __init__(self, *args, max_length=None, **kwargs):
        if max_length is None and not isinstance(self, forms.JSONField):
            max_length = settings.FORM_TEXT_MAX_LENGTH
        unbounded_init(self, *args, max_length=max_length, **kwargs)

    __init__._bounded = True
    forms.CharField.__init__ = __init__


def refuse_out_of_range_ids() -> None:
    """``ModelChoiceField`` and ``ModelMultipleChoiceField``: an id too large for any row
    is an invalid choice (Django's French message), not a database error."""
    if getattr(forms.ModelMultipleChoiceField._check_values, "_bounded", False):
        return
    check_values = forms.ModelMultipleChoiceField._check_values
    to_python = forms.ModelChoiceField.to_python

    def _check_values(self, value):
        for pk in value if isinstance(value, (list, tuple)) else ():
            if is_huge_integer(pk):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return check_values(self, value)

    def _to_python(self, value):
        if is_huge_integer(value):
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return to_python(self, value)

    _check_values._bounded = True
    forms.ModelMultipleChoiceField._check_values = _check_values
    forms.ModelChoiceField.to_python = _to_python
