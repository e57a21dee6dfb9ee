"""Warnings reach compare's output and the result object the app reads: the CT series'
findings (skipped files, jitter, thickness) and overlapping contours XORed by even-odd."""

from __future__ import annotations

import json

import pytest

from contouring.engine.cli import main
from contouring.engine.compare import compare_case
from contouring.engine.geometry import load_ct_series
from contouring.engine.rtstruct import read_rtstruct
from tests.contouring.engine_phantoms import square, write_ct_series, write_rtstruct


def test_thin_slices_with_positions_rounded_to_a_hundredth_are_accepted(tmp_path):
    zs = [round(0.625 * k, 2) for k in range(40)]  # steps of 0.62 and 0.63 mm
    write_ct_series(tmp_path, zs)
    geometry = load_ct_series(tmp_path)
    assert geometry.spacing[0] == pytest.approx(0.625, abs=1e-3)
    assert "spacing_jitter" in [w.code for w in geometry.warnings]


@pytest.fixture
def case(tmp_path):
    ct = tmp_path / "ct"
    write_ct_series(ct, [0.0, 2.0, 4.0, 6.0], rows=30, columns=30)
    (ct / "README.txt").write_text("not an image")
    overlapping = [square(4.0, 4.0, 14.0, 14.0), square(10.0, 10.0, 20.0, 20.0)]
    nested = [square(4.0, 4.0, 20.0, 20.0), square(8.0, 8.0, 12.0, 12.0)]
    rois = {
        "Overlap": [(2.0, p) for p in overlapping] + [(4.0, p) for p in overlapping],
        "Ring": [(2.0, p) for p in nested],
    }
    reference = write_rtstruct(tmp_path / "ref.dcm", rois)
    return ct, reference


def test_series_and_overlap_warnings_in_the_case_result(case):
    ct, reference = case
    geometry = load_ct_series(ct)
    structures = read_rtstruct(reference)
    result = compare_case(geometry, structures, {"copy": structures})
    codes = [w.code for w in result.warnings]
    assert "skipped_files" in codes
    overlap = [w for w in result.warnings if w.code == "overlapping_contours"]
    assert len(overlap) == 1  # the ring's inner contour is a hole, not an overlap
    assert overlap[0].params == {"roi": "Overlap", "count": 2, "z": 2.0}
    assert "se chevauchent sans être imbriqués" in overlap[0].message("fr")


def test_compare_prints_the_warnings(case, capsys):
    ct, reference = case
    args = ["compare", "--ct", str(ct), "--reference", str(reference), "--test", str(reference)]
    assert main([*args, "--format", "json"]) == 0
    codes = [w["code"] for w in json.loads(capsys.readouterr().out)["warnings"]]
    assert "skipped_files" in codes and "overlapping_contours" in codes
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Avertissements :" in out and "README.txt" in out and "se chevauchent" in out
