"""Scan-end rule: beyond the CT grid is outside, and results flag structures that reach it.

On the dicompyler-core breast case, BODY fills the first and last CT slices. A test BODY one
slice short at the end must give plastimatch's figures once plastimatch sees the scan's end
as outside, which it does when the grid is padded (on the bare grid plastimatch 1.9.4 crops
both masks to their union box and its boundary figures collapse to 0, so the padding is
part of asking it the question honestly).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace

import numpy as np
import pytest

from contouring.engine.cli import main
from contouring.engine.geometry import load_ct_series
from contouring.engine.metrics import compare_masks
from contouring.engine.raster import rasterise
from contouring.engine.rtstruct import read_rtstruct
from tests.contouring.engine_phantoms import square, write_ct_series, write_mha, write_rtstruct
from tests.contouring.test_engine_plastimatch import plastimatch_dice
from tests.requirements import need_shared_data


@pytest.fixture
def short_case(tmp_path):
    """CT of 10 slices (z 0..27 mm); the reference reaches the last slice, the test not."""
    ct = tmp_path / "ct"
    write_ct_series(ct, [3.0 * k for k in range(10)], rows=20, columns=20)
    polygon = square(4.0, 4.0, 14.0, 14.0)
    reference = write_rtstruct(
        tmp_path / "ref.dcm", {"Box": [(3.0 * k, polygon) for k in range(4, 10)]}
    )
    test = write_rtstruct(tmp_path / "test.dcm", {"Box": [(3.0 * k, polygon) for k in range(4, 9)]})
    return ["compare", "--ct", str(ct), "--reference", str(reference), "--test", str(test)]


def test_cli_flags_and_notes_structures_at_the_scan_end(short_case, capsys):
    assert main([*short_case, "--format", "json", "--hd95", "mean"]) == 0
    pair = json.loads(capsys.readouterr().out)["pairs"][0]
    assert pair["hausdorff_mm"] == pytest.approx(3.0)  # one slice spacing, as every peer
    assert pair["touches_scan_end"] is True
    assert pair["reference_touches_scan_end"] is True
    assert pair["test_touches_scan_end"] is False

    assert main([*short_case, "--format", "csv", "--lang", "en"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][-1] == "touches_scan_end" and rows[1][-1] == "1"
    assert "bounded by the CT extent" in rows[1][-2]

    assert main(short_case) == 0
    assert "les distances près de la fin de l'examen sont bornées" in capsys.readouterr().out


@pytest.mark.plastimatch
def test_breast_body_one_slice_short_matches_plastimatch(tmp_path):
    root = need_shared_data("dicompyler-core-breast")
    geometry = load_ct_series(root / "ct-rebuilt")
    body = read_rtstruct(root / "rtss.dcm").get("BODY")
    last = max(c.z for c in body.contours) - 0.5 * geometry.spacing[0]
    short = replace(body, contours=tuple(c for c in body.contours if c.z < last))
    reference, test = rasterise(body, geometry), rasterise(short, geometry)
    assert reference.slice_range == (0, 97) and test.slice_range == (0, 96)

    ours = compare_masks(reference, test, convention="plastimatch")
    assert ours.touches_scan_end
    # Before the rule, the reference had no end face and the test's end face was measured
    # to the side walls (HD ~ 53 mm); now both ends are surfaces one slice apart.
    assert ours.hd95_mm == pytest.approx(geometry.spacing[0])

    pad = 2
    big = replace(
        geometry,
        shape=tuple(n + 2 * pad for n in geometry.shape),
        origin=tuple(o - pad * s for o, s in zip(geometry.origin, geometry.spacing, strict=True)),
    )
    a = write_mha(tmp_path / "a.mha", np.pad(reference.to_grid(), pad), big)
    b = write_mha(tmp_path / "b.mha", np.pad(test.to_grid(), pad), big)
    theirs = plastimatch_dice(a, b)
    assert ours.dsc == pytest.approx(theirs["DICE"], abs=1e-6)
    assert ours.hausdorff_mm == pytest.approx(theirs["Hausdorff distance (boundary)"], abs=1e-3)
    assert ours.hd95_mm == pytest.approx(
        theirs["Percent (0.95) Hausdorff distance (boundary)"], abs=1e-3
    )
    directed = (ours.mean_reference_to_test_mm, ours.mean_test_to_reference_mm)
    assert ours.mean_surface_distance_mm == pytest.approx(
        theirs["Avg average Hausdorff distance (boundary)"], abs=1e-3
    )
    assert max(directed) == pytest.approx(
        theirs["Max average Hausdorff distance (boundary)"], abs=1e-3
    )
