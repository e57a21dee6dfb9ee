"""The fast paths give exactly what the straightforward code gives.

- :mod:`contouring.engine.fastdicom` against pydicom, attribute by attribute, on explicit
  and implicit VR files, other character sets, the shared data, and every kind of file it
  must hand back to pydicom (truncated at any byte, another character set);
- the neighbourhood scan of the surface distances and of the added path length against
  the KD-tree alone;
- the all-slices-at-once rasterisation against the per-slice fill.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import ImplicitVRLittleEndian

from contouring.engine import fastdicom
from contouring.engine.dicomfile import read_dicom, read_fast, text
from contouring.engine.errors import EngineError
from contouring.engine.geometry import load_ct_series
from contouring.engine.metrics import (
    added_path_length,
    compare_prepared,
    directed_distances,
    prepare,
)
from contouring.engine.raster import Mask, fill_polygons, rasterise
from contouring.engine.rtstruct import read_rtstruct
from tests.contouring.engine_phantoms import (
    make_geometry,
    roi_from_polygons,
    square,
    write_ct_series,
    write_rtstruct,
)
from tests.requirements import need_shared_data

FOR = "1.2.826.0.1.3680043.8.498.1"


def _plain(value):
    if isinstance(value, (list, pydicom.multival.MultiValue, pydicom.sequence.Sequence)):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    return value


def assert_same(expected, fast, where: str = "") -> None:
    """Every engine attribute of ``fast`` (a fastdicom node) equals pydicom's, recursively."""
    for keyword in fastdicom.KEYWORDS:
        assert (keyword in expected) == (keyword in fast), f"{where}/{keyword}"
        if keyword not in expected:
            continue
        if keyword == "ContourData":
            # The raw bytes the engine parses, then the values pydicom would give.
            assert fast.get_item(keyword).value == expected.get_item(keyword).value
            assert fast.get(keyword) == [float(v) for v in expected.get(keyword)]
            continue
        value, got = expected.get(keyword), fast.get(keyword)
        if isinstance(value, pydicom.sequence.Sequence):
            assert len(got) == len(value), f"{where}/{keyword}"
            for index, (a, b) in enumerate(zip(value, got, strict=True)):
                assert_same(a, b, f"{where}/{keyword}[{index}]")
            continue
        assert _plain(got) == _plain(value), f"{where}/{keyword}"
        if isinstance(_plain(value), str):
            assert text(fast, keyword) == text(expected, keyword)


def _phantom_files(folder: Path) -> list[Path]:
    paths = write_ct_series(folder / "ct", [0.0, 2.5, 5.0], pixel_spacing=(0.8, 0.9))
    rs = write_rtstruct(
        folder / "rs.dcm",
        {
            "PTV": [(0.0, square(1, 1, 5, 5)), (2.5, square(1, 1, 5, 5))],
            "Empty": [],
            "Marker": [(0.0, square(2, 2, 3, 3))],
        },
        extra_contour_types={"Marker": ["POINT"]},
    )
    return [*paths, rs]


def test_explicit_vr_phantoms_read_the_same(tmp_path):
    for path in _phantom_files(tmp_path):
        assert_same(pydicom.dcmread(path), fastdicom.read(path), str(path))


def test_implicit_vr_and_other_character_sets_read_the_same(tmp_path):
    source = _phantom_files(tmp_path)[-1]
    for charset, name in (
        (None, "Cœur"),
        ("ISO_IR 100", "Poumon gauche é"),
        ("ISO_IR 192", "Cœur — ganglions"),
    ):
        ds = pydicom.dcmread(source)
        if charset:
            ds.SpecificCharacterSet = charset
        ds.StructureSetROISequence[0].ROIName = name if charset else "Coeur"
        ds.Manufacturer = "Éditeur" if charset else "Vendor"
        for implicit in (False, True):
            path = tmp_path / f"rs_{charset}_{implicit}.dcm"
            if implicit:
                ds.file_meta.TransferSyntaxUID = ImplicitVRLittleEndian
            ds.save_as(path, enforce_file_format=True)
            assert_same(pydicom.dcmread(path), fastdicom.read(path), str(path))
            assert read_rtstruct(path).names[0] == (name if charset else "Coeur")


@pytest.mark.parametrize(
    "folder", ["ibsi-sts/STS_001", "matrad-phantom", "dicompyler-core-breast", "rtutils-mock"]
)
def test_shared_data_reads_the_same(folder):
    root = need_shared_data(folder)
    files = [p for p in sorted(root.rglob("*")) if p.is_file()]
    compared = 0
    for path in files:
        try:
            fast = fastdicom.read(path)
        except fastdicom.Fallback:
            continue  # read by pydicom: nothing to compare
        assert_same(pydicom.dcmread(path), fast, str(path))
        compared += 1
    assert compared >= len(files) // 2


def test_files_the_fast_reader_does_not_handle_go_to_pydicom(tmp_path):
    source = _phantom_files(tmp_path)[-1]
    ds = pydicom.dcmread(source)
    cyrillic = tmp_path / "cyrillic.dcm"
    ds.SpecificCharacterSet = "ISO_IR 144"
    ds.StructureSetROISequence[0].ROIName = "Сердце"
    ds.save_as(cyrillic, enforce_file_format=True)
    with pytest.raises(fastdicom.Fallback):
        fastdicom.read(cyrillic)
    assert isinstance(read_fast(cyrillic), pydicom.Dataset)
    assert read_rtstruct(cyrillic).names == ["Сердце", "Empty", "Marker"]


def test_a_file_cut_anywhere_is_refused_or_read_as_pydicom_reads_it(tmp_path):
    """Cut inside an element, the fast path refuses; cut between two top-level elements
    the file is a complete, shorter one, which pydicom and the engine accept too."""
    paths = _phantom_files(tmp_path)
    for source in (paths[0], paths[-1]):
        data = source.read_bytes()
        cut = tmp_path / "cut.dcm"
        refused = 0
        for length in range(0, len(data), 3):
            cut.write_bytes(data[:length])
            try:
                fast = fastdicom.read(cut)
            except fastdicom.Fallback:
                refused += 1
                continue
            assert_same(read_dicom(cut), fast, f"cut at {length}")
        assert refused > 0.9 * len(range(0, len(data), 3))
    # ... and the engine still names the problem (pydicom path).
    cut.write_bytes(paths[-1].read_bytes()[:-200])
    with pytest.raises(EngineError) as info:
        read_rtstruct(cut)
    assert info.value.code == "truncated"


def test_series_read_by_the_fast_path_equals_the_pydicom_one(tmp_path, monkeypatch):
    folder = tmp_path / "ct"
    write_ct_series(folder, [5.0, 0.0, 2.5, 7.5], pixel_spacing=(0.7, 0.7), origin_xy=(-3, 4))
    fast = load_ct_series(folder)

    def refuse(path):
        raise fastdicom.Fallback("test")

    monkeypatch.setattr(fastdicom, "read", refuse)
    assert load_ct_series(folder) == fast


# --- metrics: neighbourhood scan against the KD-tree alone --------------------------------


def _blob(shape, rng, centre, radii) -> np.ndarray:
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    noise = rng.normal(0, 0.08, shape)
    d = sum(((g - c) / r) ** 2 for g, c, r in zip(grids, centre, radii, strict=True))
    return d + noise <= 1.0


def _tree_only(prepared):
    return dataclasses.replace(prepared, scan=False)


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (3.0, 0.98, 0.98), (2.0, 2.0, 2.0)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scan_gives_the_kd_tree_distances(spacing, seed):
    rng = np.random.default_rng(seed)
    shape = (24, 40, 40)
    a = _blob(shape, rng, (12, 20, 20), (8, 12, 14))
    shifts = {0: (0, 1, 2), 1: (1, -3, 5), 2: (0, 15, 15)}[seed]  # far apart for seed 2
    b = _blob(shape, rng, tuple(12 + s for s in (shifts[0], shifts[1], shifts[2])), (7, 13, 12))
    pa, pb = prepare(Mask.from_array(a, spacing)), prepare(Mask.from_array(b, spacing))
    ta, tb = _tree_only(pa), _tree_only(pb)
    for source, target, tree_target in ((pa, pb, tb), (pb, pa, ta)):
        scanned = directed_distances(source, target)
        assert np.array_equal(np.isfinite(scanned), np.ones(len(scanned), bool))
        np.testing.assert_allclose(scanned, directed_distances(source, tree_target), atol=1e-9)
    taus = (0.5, 1.0, 2.0, 3.0, 5.0)
    assert added_path_length(pa, pb, taus) == added_path_length(pa, tb, taus)
    scan, tree = compare_prepared(pa, pb, taus=taus), compare_prepared(ta, tb, taus=taus)
    for field in dataclasses.fields(scan):
        got, want = getattr(scan, field.name), getattr(tree, field.name)
        if isinstance(want, float):
            assert got == pytest.approx(want, abs=1e-9), field.name
        else:
            assert got == want, field.name


# --- rasterisation: all slices at once against the per-slice fill -------------------------


@pytest.mark.parametrize("rule", ["evenodd", "union"])
def test_all_slices_at_once_equals_the_per_slice_fill(rule):
    rng = np.random.default_rng(7)
    geometry = make_geometry((6, 40, 40), spacing=(2.0, 1.0, 1.0))
    planes = {}
    for k in range(6):
        polygons = []
        for _ in range(int(rng.integers(1, 4))):
            n = int(rng.integers(3, 30))
            angles = np.sort(rng.uniform(0, 2 * np.pi, n))
            radius = rng.uniform(3, 15, n)
            cx, cy = rng.uniform(10, 30, 2)
            xs, ys = cx + radius * np.cos(angles), cy + radius * np.sin(angles)
            polygons.append(list(zip(xs, ys, strict=True)))
        polygons.append(square(5, 5, 12, 12) if k % 2 else square(4.5, 4.5, 9.5, 9.5))
        planes[2.0 * k] = polygons
    mask = rasterise(roi_from_polygons(planes), geometry, rule=rule).to_grid()
    for k in range(6):
        polygons = [np.asarray(p, dtype=float)[:, ::-1] for p in planes[2.0 * k]]  # (row, col)
        expected = fill_polygons(polygons, (0, 0), (40, 40), rule)
        assert np.array_equal(mask[k], expected), k
