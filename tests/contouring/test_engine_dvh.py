"""DVHs on a reference dose: analytic phantoms, dicompyler-core, the planning system's DVHs."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace

import numpy as np
import pytest

from contouring.engine import load_ct_series, read_rtstruct
from contouring.engine.cli import main as cli_main
from contouring.engine.dvh import (
    DoseGrid,
    check_dose_matches_ct,
    compare_with_plan,
    dvh_from_doses,
    dvh_on_ct_grid,
    dvh_on_dose_grid,
    dvh_structure_set,
    dvhs_on_ct_grid,
    read_rtdose,
)
from contouring.engine.errors import EngineError
from contouring.engine.geometry import CTGeometry
from contouring.engine.raster import Mask
from contouring.engine.rtstruct import ROI, Contour
from tests.peers import peer_python
from tests.requirements import REPO_ROOT, need_shared_data

ORACLE = REPO_ROOT / "tests" / "contouring" / "dicompyler_dvh.py"


def box_geometry(shape=(20, 40, 40), spacing=(2.0, 1.0, 1.0)) -> CTGeometry:
    nz = shape[0]
    return CTGeometry(
        shape=shape,
        spacing=spacing,
        origin=(0.0, 0.0, 0.0),
        signs=(1, 1, 1),
        slice_positions=tuple(spacing[0] * k for k in range(nz)),
        frame_of_reference_uid="1.2.3",
        orientation=(1, 0, 0, 0, 1, 0),
        series_instance_uid=None,
        sop_instance_uids=frozenset(),
        files=(),
        source="phantom",
    )


def gradient_dose(gradient=0.5, shape=(12, 21, 21), spacing=(4.0, 2.0, 2.0)) -> DoseGrid:
    """Dose rising linearly along x (``gradient`` Gy/mm, 0 at x = 0), coarser than the CT."""
    nz, ny, nx = shape
    x = spacing[2] * np.arange(nx)
    dose = np.broadcast_to(gradient * x, shape).astype(float)
    return DoseGrid(
        dose=np.ascontiguousarray(dose),
        z=spacing[0] * np.arange(nz),
        y=spacing[1] * np.arange(ny),
        x=x,
        frame_of_reference_uid="1.2.3",
        dose_type="PHYSICAL",
        summation_type="PLAN",
        source="dose.dcm",
    )


def square_roi(x0, x1, y0, y1, zs, name="BOX") -> ROI:
    points = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], dtype=float)
    return ROI(1, name, None, None, tuple(Contour(z, points) for z in zs))


def test_uniform_gradient_on_a_box_gives_the_closed_form_dvh():
    geometry = box_geometry()
    dose = gradient_dose(gradient=0.5)
    # Box: voxel columns 10..29 (centres x = 10..29 mm), rows 5..14, slices 2..11.
    array = np.zeros(geometry.shape, bool)
    array[2:12, 5:15, 10:30] = True
    mask = Mask.from_array(array, geometry.spacing, name="BOX")
    result = dvh_on_ct_grid(mask, dose.on_ct_grid(geometry), voxel_cc=0.002, dose_levels=(10.0,))
    doses = 0.5 * np.arange(10, 30)  # every x column equally weighted
    assert result.volume_cc == pytest.approx(10 * 10 * 20 * 0.002)
    assert result.mean == pytest.approx(doses.mean())  # 9.75 Gy, the dose at the centre
    assert result.minimum == pytest.approx(5.0)
    assert result.peak == pytest.approx(14.5)
    # D50 %: half of the columns receive at least 10 Gy (x >= 20 mm).
    assert result.d_percent[50.0] == pytest.approx(10.0)
    # D98 % and D2 %: the coldest and hottest columns (each column is 5 % of the volume).
    assert result.d_percent[98.0] == pytest.approx(5.0)
    assert result.d_percent[2.0] == pytest.approx(14.5)
    # V10 Gy: columns x = 20..29 → 50 %.
    assert result.v_gy[10.0] == (pytest.approx(2.0), pytest.approx(50.0))
    # Cumulative curve: V(d) = fraction of columns with 0.5 x >= d, a straight line.
    edges, cumulative = result.dose_edges, result.cumulative_cc
    for level in (6.0, 8.0, 12.0):
        expected = result.volume_cc * np.mean(doses >= level - 1e-9)
        assert cumulative[int(round(level / 0.01))] == pytest.approx(expected)
    assert edges[1] - edges[0] == pytest.approx(0.01)


def test_dose_grid_method_on_the_same_phantom():
    dose = gradient_dose(gradient=0.5)
    # Planes at z = 8, 12, 16 mm are dose planes; 10 mm is interpolated between two.
    roi = square_roi(9.0, 31.0, 9.0, 21.0, zs=(8.0, 10.0, 12.0, 16.0))
    result = dvh_on_dose_grid(roi, dose)
    # Dose pixel centres inside: x = 10, 12, ..., 30 (11 columns), y = 10..20 (6 rows).
    assert result.volume_cc == pytest.approx(4 * 11 * 6 * 2 * 2 * 2.0 / 1000)  # thickness 2 mm
    assert result.mean == pytest.approx(0.5 * 20.0)
    assert result.minimum == pytest.approx(5.0)
    assert result.peak == pytest.approx(15.0)


def test_a_structure_partly_outside_the_dose_grid_is_reported_not_counted_as_zero():
    geometry = box_geometry(shape=(20, 40, 60))
    dose = gradient_dose(gradient=0.5)  # x up to 40 mm; the CT goes to 59 mm
    array = np.zeros(geometry.shape, bool)
    array[2:12, 5:15, 30:50] = True  # x = 30..49: x > 40 has no dose
    mask = Mask.from_array(array, geometry.spacing, name="PTV")
    result = dvh_on_ct_grid(mask, dose.on_ct_grid(geometry), voxel_cc=0.002, source="dose.dcm")
    assert result.fraction_without_dose == pytest.approx(9 / 20)  # columns 41..49
    assert result.minimum == pytest.approx(15.0)  # never 0 Gy
    assert [w.code for w in result.warnings] == ["dose_partly_outside"]
    assert "45 %" in result.warnings[0].message("fr")
    assert "Dose non disponible" in result.warnings[0].message("fr")
    assert check_dose_matches_ct(dose, geometry)[0].code == "dose_partial_ct"


def test_a_dose_in_another_frame_of_reference_or_away_from_the_ct_is_refused():
    geometry = box_geometry()
    with pytest.raises(EngineError) as error:
        check_dose_matches_ct(replace(gradient_dose(), frame_of_reference_uid="9.9"), geometry)
    assert error.value.code == "dose_frame_of_reference"
    far = replace(gradient_dose(), x=gradient_dose().x + 1000.0)
    with pytest.raises(EngineError) as error:
        check_dose_matches_ct(far, geometry)
    assert error.value.code == "dose_outside_ct"


@pytest.fixture(scope="module")
def breast():
    folder = need_shared_data("dicompyler-core-breast")
    return {
        "folder": folder,
        "dose": read_rtdose(folder / "rtdose.dcm"),
        "rois": read_rtstruct(folder / "rtss.dcm").rois,
    }


@pytest.fixture(scope="module")
def dicompyler(breast):
    python = peer_python("dicompyler")
    folder = breast["folder"]
    out = subprocess.run(
        [str(python), str(ORACLE), str(folder / "rtss.dcm"), str(folder / "rtdose.dcm")],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return json.loads(out.stdout)


def test_dose_grid_method_matches_dicompyler_core_on_every_breast_structure(breast, dicompyler):
    bin_width = 0.01  # dicompyler-core reports max and min as the upper edge of a 1 cGy bin
    checked = 0
    for roi in breast["rois"]:
        ours = dvh_on_dose_grid(roi, breast["dose"])
        theirs = dicompyler[str(roi.number)]
        if theirs["volume"] == 0:
            assert ours.volume_cc == 0 and ours.mean is None  # the empty Areola
            continue
        assert ours.volume_cc == pytest.approx(theirs["volume"], rel=0.005), roi.name
        assert ours.mean == pytest.approx(theirs["mean"], rel=0.005), roi.name
        for mine, key in ((ours.peak, "max"), (ours.minimum, "min")):
            assert abs(mine - theirs[key]) <= max(0.005 * theirs[key], bin_width), (roi.name, key)
        checked += 1
    assert checked == 9


def test_ct_grid_method_stays_close_to_dicompyler_core(breast, dicompyler):
    """The platform's method differs by its mask (CT grid); the differences stay small on
    organs and are printed in the report's methods annex."""
    geometry = load_ct_series(breast["folder"] / "ct-rebuilt")
    results = dvh_structure_set(breast["rois"], breast["dose"], geometry=geometry, grid="ct")
    by_name = {r.name: r for r in results}
    for roi in breast["rois"]:
        theirs = dicompyler[str(roi.number)]
        if theirs["volume"] < 100:  # a few voxels of dose grid: the mask rule dominates
            continue
        ours = by_name[roi.name]
        assert ours.volume_cc == pytest.approx(theirs["volume"], rel=0.01), roi.name
        assert ours.mean == pytest.approx(theirs["mean"], rel=0.02), roi.name


def test_planning_system_dvhs_are_read_and_compared(breast):
    results = dvh_structure_set(breast["rois"], breast["dose"], grid="dose")
    pairs = compare_with_plan(results, breast["rois"], breast["dose"])
    assert len(breast["dose"].plan_dvhs) == 9
    assert {p.name for p in pairs} == {
        "BODY", "Borders", "Breast", "Heart", "Lt Lung", "Nodes", "Scar", "Tumor Bed",
        "Tumor Bed Block",
    }  # fmt: skip
    # This file's stored DVHs are on another dose scale than its grid (about 7.1 times:
    # 1e-4 / DoseGridScaling); the comparison says so instead of hiding it.
    organs = [p for p in pairs if p.ours.volume_cc > 10]
    scales = [p.dose_scale for p in organs]
    assert max(scales) / min(scales) < 1.02
    assert np.median(scales) == pytest.approx(1e-4 / 1.4e-5, rel=0.01)
    for pair in organs:
        assert pair.ours.volume_cc == pytest.approx(pair.plan.volume_cc, rel=0.07), pair.name


def test_reading_refuses_what_is_not_an_absolute_dose(breast, tmp_path):
    import pydicom

    with pytest.raises(EngineError) as error:
        read_rtdose(breast["folder"] / "rtss.dcm")
    assert error.value.code == "not_rtdose"
    ds = pydicom.dcmread(breast["folder"] / "rtdose.dcm")
    ds.DoseUnits = "RELATIVE"
    with pytest.raises(EngineError) as error:
        read_rtdose(ds)
    assert error.value.code == "dose_units"
    assert "Gy" in error.value.message("fr")


def test_cli_dvh_prints_every_structure_and_exits_2_on_bad_input(breast, capsys):
    folder = breast["folder"]
    code = cli_main(
        [
            "dvh",
            "--ct", str(folder / "ct-rebuilt"),
            "--rtstruct", str(folder / "rtss.dcm"),
            "--rtdose", str(folder / "rtdose.dcm"),
            "--dose-levels", "5,10",
            "--format", "json",
        ]
    )  # fmt: skip
    assert code == 0
    data = json.loads(capsys.readouterr().out)
    rows = {row["structure"]: row for row in data["structures"]}
    assert len(rows) == 10 and data["method"] == "ct"
    assert rows["Heart"]["dmean_gy"] == pytest.approx(0.647, abs=0.01)
    assert rows["Breast"]["v5gy_pct"] == pytest.approx(45.1, abs=1.0)
    assert rows["Areola"]["dmean_gy"] is None
    assert any("BODY" in w for w in data["warnings"])

    code = cli_main(["dvh", "--rtstruct", str(folder / "rtss.dcm"), "--rtdose",
                     str(folder / "rtss.dcm"), "--dvh-grid", "dose"])  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("erreur [not_rtdose] :") and err.count("\n") == 1


@pytest.mark.parametrize("size", [5, 70_000, 300_000])
def test_equal_voxels_take_the_fast_path_with_the_same_figures(size):
    # A low-dose plateau (many equal or near-equal doses), ties and a gradient: the
    # order statistics found through the histogram equal those of a full sort.
    rng = np.random.default_rng(size)
    doses = np.concatenate(
        [
            np.full(size // 2, 3.9, dtype=np.float32),
            (3.9 + rng.random(size // 4) * 1e-5).astype(np.float32),
            (rng.random(size - size // 2 - size // 4) * 78).astype(np.float32),
        ]
    )
    rng.shuffle(doses)
    fast = dvh_from_doses("S", doses, 0.002, method="ct", dose_levels=(5.0, 20.0))
    slow = dvh_from_doses(
        "S", doses, np.full(doses.size, 0.002), method="ct", dose_levels=(5.0, 20.0)
    )
    assert fast.d_percent == pytest.approx(slow.d_percent, abs=1e-6)
    assert (fast.maximum, fast.minimum, fast.peak) == pytest.approx(
        (slow.maximum, slow.minimum, slow.peak), abs=1e-6
    )
    assert fast.mean == pytest.approx(slow.mean, rel=1e-6)
    for level in (5.0, 20.0):
        assert fast.v_gy[level] == pytest.approx(slow.v_gy[level])
    assert fast.cumulative_cc.sum() == pytest.approx(slow.cumulative_cc.sum(), rel=1e-3)


def test_the_ct_grid_path_gives_the_histogram_and_statistics_of_the_voxels():
    # Doses on a grid with a no-dose (NaN) slab, a plateau, bin edges and a gradient: the
    # CT-grid path (gathered doses, no sort) gives the statistics of the unsorted
    # doses and, bin for bin, the counts of the truncated quotients by the bin width.
    rng = np.random.default_rng(19)
    grid = (rng.random((12, 30, 30)) * 60).astype(np.float32)
    grid[:, :10] = 3.9
    grid[0, 10, :4] = [0.07, 0.3, 5.0, 20.0]
    grid[-2:] = np.nan
    inside = rng.random(grid.shape) < 0.7
    mask = Mask.from_array(inside, (2.0, 1.0, 1.0), name="S")
    result = dvh_on_ct_grid(mask, grid, voxel_cc=0.002, dose_levels=(5.0, 20.0), bin_width=0.01)
    values = grid[inside]
    known = values[np.isfinite(values)]
    direct = dvh_from_doses("S", known, 0.002, method="ct", dose_levels=(5.0, 20.0))
    assert result.volume_without_dose_cc == pytest.approx(
        np.count_nonzero(~np.isfinite(values)) * 0.002
    )
    assert result.mean == pytest.approx(float(known.astype(float).mean()), rel=1e-12)
    assert result.d_percent == direct.d_percent
    assert (result.minimum, result.maximum, result.peak) == (
        direct.minimum,
        direct.maximum,
        direct.peak,
    )
    assert result.v_gy == direct.v_gy
    counts = np.bincount((known / np.float32(0.01)).astype(np.int64))
    expected = counts[::-1].cumsum()[::-1] * 0.002
    assert np.allclose(result.cumulative_cc[: expected.size], expected, rtol=1e-12, atol=0)
    assert not result.cumulative_cc[expected.size :].any()
    hottest = np.sort(known)[::-1]
    assert result.d_percent[95.0] == hottest[int(np.ceil(0.95 * known.size - 1e-9)) - 1]


def _sorted_figures(name, doses, levels):
    """The statistics of a full sort: the weighted path sorts every dose."""
    return dvh_from_doses(name, doses, np.full(doses.size, 0.002), method="ct", dose_levels=levels)


@pytest.mark.parametrize("neighbours", [1 << 18, 1000])
def test_fast_path_equals_a_full_sort_on_negative_doses_and_a_spread_low_dose_bin(
    neighbours, monkeypatch
):
    # Negative doses (bins of their own, below the curve's), a 0.01 Gy bin of 20 000 doses
    # spread over many bit patterns (narrowed by finer histograms), exact ties and a plateau;
    # with few neighbours read together, the plateau's and the spread bin are read apart.
    monkeypatch.setattr("contouring.engine.dvh._NEIGHBOURS", neighbours)
    rng = np.random.default_rng(5)
    doses = np.concatenate(
        [
            (-rng.random(3000) * 0.05).astype(np.float32),
            (rng.random(20_000) * 0.0099).astype(np.float32),
            np.full(9000, 0.0, dtype=np.float32),
            np.full(40_000, 3.9, dtype=np.float32),
            (rng.random(8000) * 70).astype(np.float32),
        ]
    )
    rng.shuffle(doses)
    fast = dvh_from_doses("S", doses, 0.002, method="ct", dose_levels=(0.005, 3.9, 20.0))
    slow = _sorted_figures("S", doses, (0.005, 3.9, 20.0))
    assert fast.d_percent == slow.d_percent
    assert (fast.minimum, fast.maximum, fast.peak) == (slow.minimum, slow.maximum, slow.peak)
    for level in (0.005, 3.9, 20.0):
        assert fast.v_gy[level] == pytest.approx(slow.v_gy[level], rel=1e-12)
    assert fast.v_gy[3.9][0] >= 40_000 * 0.002  # the plateau counts: >= 3.9
    known = doses[doses >= 0]
    counts = np.bincount((known / np.float32(0.01)).astype(np.int64)) * 0.002
    assert np.allclose(fast.cumulative_cc[: counts.size], counts[::-1].cumsum()[::-1])


def test_the_sets_of_a_structure_together_give_each_set_s_own_figures():
    # Three overlapping masks (one shifted, one with a hole, one apart from the others: no
    # common voxel with it) and an empty one, on a dose with a NaN slab, a 3.9 Gy plateau
    # and a gradient: computed together, each equals its DVH alone and a full sort.
    rng = np.random.default_rng(7)
    grid = np.full((14, 40, 40), 3.9, dtype=np.float32)
    grid[:, 25:] = (rng.random((14, 15, 40)) * 60).astype(np.float32)
    grid[-3:] = np.nan
    base = np.zeros(grid.shape, dtype=bool)
    base[2:13, 5:35, 5:35] = True
    shifted = np.roll(base, 2, axis=2)
    holed = base.copy()
    holed[5:8, 10:20, 10:20] = False
    apart = np.zeros(grid.shape, dtype=bool)
    apart[0:2, 0:3, 0:3] = True
    arrays = [base, shifted, holed, np.zeros(grid.shape, dtype=bool)]
    masks = [Mask.from_array(a, (2.0, 1.0, 1.0), name="S") for a in arrays]
    levels = (5.0, 20.0)
    together = dvhs_on_ct_grid(masks, grid, voxel_cc=0.002, dose_levels=levels)
    apart_too = dvhs_on_ct_grid(
        masks[:2] + [Mask.from_array(apart, (2.0, 1.0, 1.0), name="S")],
        grid,
        voxel_cc=0.002,
        dose_levels=levels,
    )
    for array, result in list(zip(arrays, together, strict=True)) + [(apart, apart_too[2])]:
        alone = dvh_on_ct_grid(
            Mask.from_array(array, (2.0, 1.0, 1.0), name="S"),
            grid,
            voxel_cc=0.002,
            dose_levels=levels,
        )
        values = grid[array]
        known = values[np.isfinite(values)]
        assert result.volume_cc == alone.volume_cc == pytest.approx(values.size * 0.002)
        assert result.volume_without_dose_cc == alone.volume_without_dose_cc
        if not known.size:
            assert result.mean is None and alone.mean is None
            continue
        slow = _sorted_figures("S", known, levels)
        assert result.d_percent == alone.d_percent == slow.d_percent
        assert (result.minimum, result.maximum, result.peak) == (
            slow.minimum,
            slow.maximum,
            slow.peak,
        )
        assert result.v_gy == alone.v_gy
        assert result.v_gy[5.0] == pytest.approx(slow.v_gy[5.0], rel=1e-12)
        assert result.mean == pytest.approx(float(known.astype(float).mean()), rel=1e-12)
        assert np.array_equal(result.cumulative_cc, alone.cumulative_cc)
    assert together[0].d_percent != together[2].d_percent  # the hole changes the figures
