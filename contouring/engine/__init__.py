"""Contour comparison engine: DICOM-RT geometry, rasterisation and metrics.

Pure Python (standard library, numpy, scipy, pydicom); it never imports Django so the web
app's Celery tasks and a physicist's command line run the same code.
"""

# Recorded with every comparison run; bump when a figure could change for the same input.
__version__ = "1.2.0"

# Names resolved on first use (PEP 562): the command line's --help must not wait for
# numpy, scipy and pydicom.
_EXPORTS = {
    "CaseResult": "compare",
    "PairResult": "compare",
    "compare_case": "compare",
    "EngineError": "errors",
    "EngineIssue": "errors",
    "CTGeometry": "geometry",
    "load_ct_series": "geometry",
    "PairMetrics": "metrics",
    "compare_masks": "metrics",
    "Mask": "raster",
    "rasterise": "raster",
    "ROI": "rtstruct",
    "StructureSet": "rtstruct",
    "read_rtstruct": "rtstruct",
}


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f".{module}", __name__), name)


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
