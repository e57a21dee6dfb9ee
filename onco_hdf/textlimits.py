"""Free text typed in any form has a maximum length (``settings.FORM_TEXT_MAX_LENGTH``).

Applied when the ``onco_hdf`` package is imported (the settings module lives in it, so
before any form class exists): Django's and the apps' forms alike.
"""

from __future__ import annotations

from django import forms
from django.conf import settings


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
