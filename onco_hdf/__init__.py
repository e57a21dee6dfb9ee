from onco_hdf.textlimits import bound_free_text_fields

bound_free_text_fields()  # before any form class is defined, Django's own included

from onco_hdf.celery import app as celery_app  # noqa: E402

__all__ = ["celery_app"]
