# English UI keeps the region's dd/mm/yyyy dates; only number punctuation differs.
from onco_hdf.formats.fr.formats import *  # noqa: F403

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
