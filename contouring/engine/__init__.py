"""Contour comparison engine: DICOM-RT geometry, rasterisation and metrics.

Pure Python (standard library, numpy, scipy, pydicom); it never imports Django so the web
app's Celery tasks and a physicist's command line run the same code.
"""

# Recorded with every comparison run; bump when a figure could change for the same input.
__version__ = "1.1.0"

from .compare import CaseResult, PairResult, compare_case
from .errors import EngineError, EngineIssue
from .geometry import CTGeometry, load_ct_series
from .metrics import PairMetrics, compare_masks
from .raster import Mask, rasterise
from .rtstruct import ROI, StructureSet, read_rtstruct

__all__ = [
    "CTGeometry",
    "CaseResult",
    "EngineError",
    "EngineIssue",
    "Mask",
    "PairMetrics",
    "PairResult",
    "ROI",
    "StructureSet",
    "compare_case",
    "compare_masks",
    "load_ct_series",
    "rasterise",
    "read_rtstruct",
]
