"""Cross-check with plastimatch (Debian package 1.9.4) on the public data.

What is compared, and why (see the findings in benchmarks/engine_results.md):

- Masks: ``plastimatch convert --referenced-ct`` writes masks on the CT grid (same origin,
  spacing, size) with the pixel-centre rule and the union of polygons. Our ``union`` masks
  must equal them voxel for voxel, and our default even-odd masks too on structures
  without inner contours (Dice 1.000).
- ``plastimatch dice --all``: its "(boundary)" figures use the same boundary voxels as we
  do (a voxel with a 6-neighbour outside) and the same 95th percentile order statistic,
  HD95 being the *mean* of the two directed P95 (our ``hd95="mean"``) and "Avg average" /
  "Max average" the mean / max of the two directed mean distances. But its distance map
  is plastimatch's native Danielsson transform, which is approximate inside a structure.
  So on pairs whose surfaces lie outside each other, where the distance maps agree, all
  figures must match to 1e-3 mm; on overlapping pairs DSC and HD match, and we prove the
  remaining gap is only the distance map by rebuilding plastimatch's figures from its own
  ``plastimatch dmap`` sampled on our surface voxels.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from contouring.engine.geometry import load_ct_series
from contouring.engine.metrics import PairMetrics, compare_masks, percentile95, prepare
from contouring.engine.raster import Mask, rasterise
from contouring.engine.rtstruct import read_rtstruct
from tests.contouring.engine_phantoms import read_mha, write_mha
from tests.requirements import need_binary, need_shared_data

pytestmark = pytest.mark.plastimatch

CASES = {
    "sts1": ("ibsi-sts/STS_001/image", "ibsi-sts/STS_001/mask/RS.dcm"),
    "sts4": ("ibsi-sts/STS_004/image", "ibsi-sts/STS_004/mask/RS.dcm"),
    "breast": ("dicompyler-core-breast/ct-rebuilt", "dicompyler-core-breast/rtss.dcm"),
    "matrad": ("matrad-phantom", "matrad-phantom/RTstruct.dcm"),
}


def plastimatch_dice(a: Path, b: Path) -> dict[str, float]:
    out = subprocess.run(
        [need_binary("plastimatch"), "dice", "--all", str(a), str(b)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {
        k.strip(): float(v)
        for k, v in re.findall(r"^([^=:\n]+?)\s*[=:]\s*([-\d.]+)\s*$", out, re.M)
    }


@pytest.fixture(scope="session")
def converted(tmp_path_factory):
    """Per case: our geometry and structures, and plastimatch's masks of the same files."""
    binary = need_binary("plastimatch")
    cases = {}
    for case, (ct, rs) in CASES.items():
        out = tmp_path_factory.mktemp(f"pm_{case}")
        subprocess.run(
            [binary, "convert", "--input", str(need_shared_data(rs)),
             "--referenced-ct", str(need_shared_data(ct)), "--output-prefix", str(out)],
            capture_output=True, check=True,
        )  # fmt: skip
        geometry = load_ct_series(need_shared_data(ct))
        cases[case] = (geometry, read_rtstruct(need_shared_data(rs)), out)
    return cases


@pytest.mark.parametrize("case", sorted(CASES))
def test_masks_equal_plastimatch_rasterisation(converted, case):
    geometry, structures, out = converted[case]
    checked = 0
    for roi in structures.rois:
        if roi.is_empty:
            assert not (out / f"{roi.name}.mha").exists()
            continue
        theirs, header = read_mha(out / f"{roi.name}.mha")
        # Same grid: plastimatch writes x y z, we store z y x.
        assert theirs.shape == geometry.shape
        spacing = [float(v) for v in header["ElementSpacing"].split()][::-1]
        assert spacing == pytest.approx(geometry.spacing, abs=1e-4)
        offset = [float(v) for v in header["Offset"].split()][::-1]
        assert offset == pytest.approx(geometry.origin, abs=1e-4)
        theirs = theirs.astype(bool)

        union = rasterise(roi, geometry, rule="union").to_grid()
        assert np.array_equal(union, theirs), roi.name
        even_odd = rasterise(roi, geometry).to_grid()
        if max(len(c) for c in roi.contours_by_z().values()) == 1:
            dice = 2 * np.count_nonzero(even_odd & theirs) / (even_odd.sum() + theirs.sum())
            assert dice == 1.0, roi.name
        else:
            assert not np.any(even_odd & ~theirs)  # holes only remove voxels
        checked += 1
    assert checked == len([r for r in structures.rois if not r.is_empty])


PAD = 80  # in-plane voxels added around the CT grid so shifted copies never wrap or touch


def _pair(converted, tmp_path, case, first, second, shift=None):
    """Our metrics and plastimatch's on the same two masks (files we write ourselves).

    A shifted copy is placed on the CT grid enlarged by PAD voxels in-plane: the IBSI
    grids are cropped tightly around the tumour, and the copy must stay whole.
    """
    geometry, structures, _ = converted[case]
    pad = PAD if shift else 0
    nz, ny, nx = geometry.shape
    big = replace(
        geometry,
        shape=(nz, ny + 2 * pad, nx + 2 * pad),
        origin=(
            geometry.origin[0],
            geometry.origin[1] - pad * geometry.spacing[1],
            geometry.origin[2] - pad * geometry.spacing[2],
        ),
    )

    def on_big_grid(name: str) -> np.ndarray:
        out = np.zeros(big.shape, dtype=bool)
        out[:, pad : pad + ny, pad : pad + nx] = rasterise(structures.get(name), geometry).to_grid()
        return out

    a = on_big_grid(first)
    b = on_big_grid(second) if second else np.roll(a, shift, (0, 1, 2))
    ours = compare_masks(a, b, spacing=geometry.spacing, convention="plastimatch")
    theirs = plastimatch_dice(
        write_mha(tmp_path / "a.mha", a, big), write_mha(tmp_path / "b.mha", b, big)
    )
    return ours, theirs, a, b, big


def _assert_same(ours: PairMetrics, theirs: dict[str, float]) -> None:
    assert ours.dsc == pytest.approx(theirs["DICE"], abs=1e-6)
    assert ours.hausdorff_mm == pytest.approx(theirs["Hausdorff distance (boundary)"], abs=1e-3)
    assert ours.hd95_mm == pytest.approx(
        theirs["Percent (0.95) Hausdorff distance (boundary)"], abs=1e-3
    )
    directed = (ours.mean_reference_to_test_mm, ours.mean_test_to_reference_mm)
    # The convention's MSD is plastimatch's "average": the mean of the directed means.
    assert ours.mean_surface_distance_mm == pytest.approx(
        theirs["Avg average Hausdorff distance (boundary)"], abs=1e-3
    )
    assert max(directed) == pytest.approx(
        theirs["Max average Hausdorff distance (boundary)"], abs=1e-3
    )


SEPARATE_PAIRS = [
    ("breast", "Heart", "Breast", None),
    ("breast", "Nodes", "Scar", None),
    ("breast", "Lt Lung", "Heart", None),
    ("matrad", "Volume2", "Volume3", None),
    ("sts1", "GTV_Mass_CT", None, (0, 0, 75)),
    ("sts4", "GTV_Mass_CT", None, (0, 70, 0)),
]


@pytest.mark.parametrize(("case", "first", "second", "shift"), SEPARATE_PAIRS)
def test_separate_surfaces_match_plastimatch_dice(converted, tmp_path, case, first, second, shift):
    ours, theirs, *_ = _pair(converted, tmp_path, case, first, second, shift)
    _assert_same(ours, theirs)


# (The breast Tumor Bed / Tumor Bed Block pair shows the same, at 20 s of dmap on 512².)
OVERLAPPING_PAIRS = [
    ("matrad", "Volume1", "Volume2", None),
    ("sts1", "GTV_Mass_CT", None, (1, 3, -2)),
]


@pytest.mark.parametrize(("case", "first", "second", "shift"), OVERLAPPING_PAIRS)
def test_overlapping_pairs_differ_only_by_plastimatch_distance_map(
    converted, tmp_path, case, first, second, shift
):
    ours, theirs, a, b, geometry = _pair(converted, tmp_path, case, first, second, shift)
    assert ours.dsc == pytest.approx(theirs["DICE"], abs=1e-6)

    # Rebuild plastimatch's figures from its own distance maps on our surface voxels.
    binary = need_binary("plastimatch")
    maps = []
    for name in ("a", "b"):
        subprocess.run(
            [binary, "dmap", "--input", str(tmp_path / f"{name}.mha"),
             "--output", str(tmp_path / f"{name}_dmap.mha")],
            capture_output=True, check=True,
        )  # fmt: skip
        maps.append(np.abs(read_mha(tmp_path / f"{name}_dmap.mha")[0]).astype(float))
    surfaces = [prepare(Mask.from_array(m, geometry.spacing)).surface_index for m in (a, b)]
    d_ab = maps[1][tuple(surfaces[0].T)]
    d_ba = maps[0][tuple(surfaces[1].T)]
    assert max(d_ab.max(), d_ba.max()) == pytest.approx(
        theirs["Hausdorff distance (boundary)"], abs=1e-3
    )
    assert np.mean([d_ab.mean(), d_ba.mean()]) == pytest.approx(
        theirs["Avg average Hausdorff distance (boundary)"], abs=1e-3
    )
    assert np.mean([percentile95(d_ab), percentile95(d_ba)]) == pytest.approx(
        theirs["Percent (0.95) Hausdorff distance (boundary)"], abs=1e-3
    )
    # Our exact distances stay within a small fraction of a voxel of theirs.
    exact = np.mean([ours.mean_reference_to_test_mm, ours.mean_test_to_reference_mm])
    assert exact == pytest.approx(theirs["Avg average Hausdorff distance (boundary)"], abs=0.1)
    assert ours.hausdorff_mm == pytest.approx(
        theirs["Hausdorff distance (boundary)"], abs=0.5 * max(geometry.spacing)
    )
