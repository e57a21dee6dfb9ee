"""Command line: outputs, exit status, languages; and the engine never imports Django."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest

from contouring.engine.cli import main
from tests.requirements import REPO_ROOT, need_shared_data


@pytest.fixture
def breast():
    root = need_shared_data("dicompyler-core-breast")
    return root / "ct-rebuilt", root / "rtss.dcm"


def test_engine_import_does_not_import_django():
    code = (
        "import sys, contouring.engine, contouring.engine.cli, contouring.engine.__main__;"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_compare_table_in_french(breast, capsys):
    ct, rs = breast
    assert main(["compare", "--ct", str(ct), "--reference", str(rs), "--test", str(rs)]) == 0
    out = capsys.readouterr().out
    assert "Vol. réf. (cm³)" in out and "DSC surf. 2 mm" in out
    areola = next(line for line in out.splitlines() if line.startswith("Areola"))
    assert "structure vide des deux côtés" in areola and "—" in areola
    assert "Convention « default » (celle de la plateforme)" in out
    assert "HD95 = 95e centile de l'union des deux ensembles de distances orientées" in out
    assert "== rtss comparé à la référence ==" in out


def test_compare_json_and_csv(capsys):
    root = need_shared_data("matrad-phantom")
    rs = root / "RTstruct.dcm"
    args = ["compare", "--ct", str(root), "--reference", str(rs), "--test", str(rs)]
    assert (
        main(
            [
                *args,
                "--test",
                str(rs),
                "--pairwise",
                "--format",
                "json",
                "--tau",
                "2",
                "--hd95",
                "pooled",
            ]
        )  # fmt: skip
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert document["hd95_method"] == "pooled" and document["taus_mm"] == [2.0]
    assert document["sets"]["reference"]["model_name"] == "matRad DicomExport"
    labels = {(p["reference_set"], p["compared_set"]) for p in document["pairs"]}
    assert labels == {
        ("reference", "RTstruct"),
        ("reference", "RTstruct (2)"),
        ("RTstruct", "RTstruct (2)"),
    }
    volume1 = next(p for p in document["pairs"] if p["structure"] == "Volume1")
    assert volume1["dsc"] == 1.0 and volume1["surface_dsc"] == {"2": 1.0}
    assert volume1["reference_volume_cc"] == pytest.approx(400.452, abs=1e-3)

    assert main([*args, "--format", "csv", "--lang", "en"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0][:3] == ["reference_set", "compared_set", "Structure"]
    assert len(rows) == 1 + 3
    assert rows[1][2] == "Volume1" and rows[1][7] == "1.000"


def test_inspect_lists_geometry_rois_and_problems(capsys):
    root = need_shared_data("ibsi-sts", "STS_001")
    args = ["inspect", "--ct", str(root / "image"), "--rtstruct", str(root / "mask" / "RS.dcm")]
    assert main([*args, "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "198 × 202 × 59 voxels" in out
    assert "GTV_Mass_CT" in out and "365.318" in out and "12–42" in out
    assert "[unreferenced_images]" in out and "MIM Software Inc." in out
    assert main([*args, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["rois"][0]["slices"] == [12, 42]


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    junk = tmp_path / "junk.dcm"
    junk.write_text("hello")
    root = need_shared_data("rtutils-mock")
    args = [
        "compare",
        "--ct",
        str(root / "mock_data"),
        "--reference",
        str(junk),
        "--test",
        str(junk),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("erreur [not_dicom] : ") and f"Le fichier {junk}" in err

    assert (
        main(
            [
                "inspect",
                "--ct",
                str(root / "oriented_data"),
                "--rtstruct",
                str(junk),
                "--lang",
                "en",
            ]
        )
        == 2
    )
    assert capsys.readouterr().err.startswith("error [oblique_series]: The series")


def test_module_entry_point_runs():
    root = need_shared_data("matrad-phantom")
    out = subprocess.run(
        [sys.executable, "-m", "contouring.engine", "inspect", "--ct", str(root),
         "--rtstruct", str(root / "RTstruct.dcm"), "--lang", "en"],
        cwd=REPO_ROOT, capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Volume1" in out.stdout and "400.452" in out.stdout
