from onco_hdf.formguards import bound_free_text_fields, refuse_out_of_range_ids

# Before any form class is defined, Django's own included.
bound_free_text_fields()
refuse_out_of_range_ids()

from onco_hdf.celery import app as celery_app  # noqa: E402

__all__ = ["celery_app"]
