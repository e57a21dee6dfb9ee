"""CT and RTSTRUCT reading: good series in any order, and each bad input's specific error."""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import DeflatedExplicitVRLittleEndian

from contouring.engine.compare import compare_case
from contouring.engine.dicomfile import read_dicom
from contouring.engine.errors import MESSAGES, EngineError
from contouring.engine.geometry import load_ct_series
from contouring.engine.rtstruct import read_rtstruct
from tests.contouring.engine_phantoms import square, write_ct_series, write_rtstruct
from tests.requirements import need_shared_data

SAGITTAL = (0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
FOR = "1.2.826.0.1.3680043.8.498.1"


def _error(call, *args, **kwargs) -> EngineError:
    with pytest.raises(EngineError) as info:
        call(*args, **kwargs)
    return info.value


def test_series_is_sorted_by_position_whatever_the_file_names(tmp_path):
    z = [10.0, 12.5, 15.0, 17.5, 20.0]
    names = ["e.dcm", "a.dcm", "zz", "b.dcm", "001"]
    paths = write_ct_series(tmp_path / "ct", z[::-1], names=names, pixel_spacing=(0.8, 0.9))
    geometry = load_ct_series(tmp_path / "ct")
    assert geometry.slice_positions == tuple(z)
    assert geometry.shape == (5, 16, 16)
    assert geometry.spacing == pytest.approx((2.5, 0.8, 0.9))
    assert geometry.origin == (10.0, 0.0, 0.0)
    assert geometry.files[0] == str(paths[-1])
    assert geometry.frame_of_reference_uid == FOR
    # The same series given as a list of files in any order.
    assert load_ct_series(paths).slice_positions == tuple(z)


def test_non_ct_files_in_the_folder_are_skipped_with_a_warning(tmp_path):
    write_ct_series(tmp_path, [0.0, 2.0, 4.0])
    write_rtstruct(tmp_path / "rs.dcm", {"A": [(0.0, square(1, 1, 5, 5))]})
    (tmp_path / "README.txt").write_text("not an image")
    geometry = load_ct_series(tmp_path)
    assert geometry.shape[0] == 3
    assert [w.code for w in geometry.warnings] == ["skipped_files"]
    assert "rs.dcm" in geometry.warnings[0].message("fr")


@pytest.mark.parametrize(
    ("build", "code"),
    [
        (lambda d: write_ct_series(d, [0.0, 2.0, 6.0, 8.0]), "missing_slice"),
        (lambda d: write_ct_series(d, [0.0, 2.0, 3.0, 6.0]), "nonuniform_spacing"),
        (lambda d: write_ct_series(d, [0.0, 2.0, 2.0, 4.0]), "duplicate_slice"),
        (
            lambda d: write_ct_series(d, [0.0, 2.0, 4.0], orientations={1: SAGITTAL}),
            "mixed_orientation",
        ),
        (lambda d: write_ct_series(d, [0.0, 2.0], orientation=SAGITTAL), "unsupported_orientation"),
        (lambda d: d.mkdir(), "no_ct_images"),
    ],
)
def test_bad_series_give_specific_errors(tmp_path, build, code):
    folder = tmp_path / "ct"
    build(folder)
    error = _error(load_ct_series, folder)
    assert error.code == code
    assert error.message("fr") and error.message("en") != error.message("fr")


def test_missing_slice_names_the_gap(tmp_path):
    write_ct_series(tmp_path, [0.0, 2.5, 5.0, 12.5, 15.0])
    error = _error(load_ct_series, tmp_path)
    assert error.params["count"] == 2
    assert (error.params["z_from"], error.params["z_to"]) == (5.0, 12.5)
    assert "Il manque 2 coupe(s)" in error.message("fr")


def test_files_from_two_series_are_refused(tmp_path):
    write_ct_series(tmp_path / "a", [0.0, 2.0])
    extra = write_ct_series(tmp_path / "b", [4.0], frame_of_reference="9.9.9")
    paths = sorted((tmp_path / "a").iterdir()) + extra
    assert _error(load_ct_series, paths).code == "multiple_series"


def test_truncated_and_non_dicom_files(tmp_path):
    paths = write_ct_series(tmp_path / "ct", [0.0, 2.0, 4.0])
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: len(data) // 2])
    error = _error(load_ct_series, tmp_path / "ct")
    assert (error.code, error.file) == ("truncated", str(paths[1]))
    assert "tronqué" in error.message("fr")

    rs = write_rtstruct(tmp_path / "rs.dcm", {"A": [(0.0, square(1, 1, 5, 5))] * 50})
    data = rs.read_bytes()
    rs.write_bytes(data[: len(data) - 200])
    assert _error(read_rtstruct, rs).code == "truncated"

    junk = tmp_path / "junk.dcm"
    junk.write_text("hello")
    error = _error(read_rtstruct, junk)
    assert error.code == "not_dicom"
    assert error.message("fr") == f"Le fichier {junk} n'est pas un fichier DICOM."
    assert _error(load_ct_series, [junk]).code == "not_dicom"
    assert _error(read_rtstruct, tmp_path / "absent.dcm").code == "file_not_found"
    assert _error(read_rtstruct, paths[0]).code == "not_rtstruct"


def test_rtstruct_reading_and_provenance(tmp_path):
    path = write_rtstruct(
        tmp_path / "rs.dcm",
        {
            "PTV": [(0.0, square(1, 1, 5, 5)), (2.0, square(1, 1, 5, 5))],
            "Empty": [],
            "Marker": [(0.0, square(2, 2, 3, 3))],
        },
        manufacturer="Vendor AI",
        software="2.4.1",
        extra_contour_types={"Marker": ["POINT", "OPEN_PLANAR"]},
    )
    rs = read_rtstruct(path)
    assert rs.names == ["PTV", "Empty", "Marker"]
    assert rs.provenance.manufacturer == "Vendor AI"
    assert rs.provenance.software_versions == "2.4.1"
    assert rs.provenance.structure_set_date == "20260101"
    assert rs.frame_of_reference_uid == FOR
    ptv = rs.get("ptv")
    assert ptv is not None and ptv.number == 1 and ptv.colour == (20, 100, 200)
    assert ptv.algorithm == "AUTOMATIC"
    assert sorted(ptv.contours_by_z()) == [0.0, 2.0]
    assert rs.get("Empty").is_empty
    assert len(rs.get("Marker").contours) == 1
    codes = sorted(w.code for w in rs.warnings)
    assert codes == ["contour_ignored", "contour_ignored", "empty_roi"]


def test_rtstruct_without_roi_and_frame_of_reference_mismatch(tmp_path):
    assert _error(read_rtstruct, write_rtstruct(tmp_path / "none.dcm", {})).code == "no_roi"
    write_ct_series(tmp_path / "ct", [0.0, 2.0])
    geometry = load_ct_series(tmp_path / "ct")
    other = read_rtstruct(
        write_rtstruct(
            tmp_path / "other.dcm", {"A": [(0.0, square(1, 1, 5, 5))]}, frame_of_reference="7.7"
        )
    )
    good = read_rtstruct(write_rtstruct(tmp_path / "good.dcm", {"A": [(0.0, square(1, 1, 5, 5))]}))
    error = _error(compare_case, geometry, good, {"x": other})
    assert (error.code, error.file) == ("for_mismatch", str(tmp_path / "other.dcm"))
    assert "repère" in error.message("fr")


# --- rt-utils' bad inputs ----------------------------------------------------------------


def test_rtutils_mock_bad_inputs():
    root = need_shared_data("rtutils-mock")
    assert _error(load_ct_series, root / "oriented_data").code == "oblique_series"
    assert _error(load_ct_series, root / "one_slice_data").code == "oblique_series"
    assert _error(load_ct_series, root / "empty").code == "no_ct_images"
    assert _error(read_rtstruct, root / "mock_data" / "ct_1.dcm").code == "not_rtstruct"

    geometry = load_ct_series(root / "mock_data")
    assert geometry.shape == (2, 512, 512)
    rt = read_rtstruct(root / "mock_data" / "rt.dcm")
    # rt.dcm was written by rt-utils in its own frame of reference.
    assert _error(compare_case, geometry, rt, {}).code == "for_mismatch"
    for name in ("invalid_reference_rt.dcm", "non_existent_reference_rt.dcm"):
        rs = read_rtstruct(root / "mock_data" / name)
        # Same frame of reference, but contours at z = 70 mm on a 60-65 mm series.
        error = _error(compare_case, geometry, rs, {})
        assert error.code == "contour_outside_ct"
        assert error.params["z"] == 70.0 and error.file == str(root / "mock_data" / name)


# --- the message catalogue ---------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(MESSAGES))
def test_every_code_has_a_french_and_an_english_sentence(code):
    french, english = MESSAGES[code]
    fields = {f for _, f, _, _ in string.Formatter().parse(french) if f}
    assert fields == {f for _, f, _, _ in string.Formatter().parse(english) if f}
    params = {f: "X" for f in fields if f != "file"}
    error = EngineError(code, Path("/data/f.dcm"), **params)
    assert error.message("fr") != error.message("en")
    assert error.message("fr").endswith(".") and error.message("en").endswith(".")
    assert str(error) == error.message("en")


def test_unknown_code_is_a_programming_error():
    with pytest.raises(KeyError):
        EngineError("no_such_code")


def _deflate(path: Path, undefined_last_sequence: bool = False) -> None:
    ds = pydicom.dcmread(path)
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    if undefined_last_sequence:
        last = ds[list(ds.keys())[-1]]
        assert last.VR == "SQ"
        last.is_undefined_length = True
    ds.save_as(path, enforce_file_format=True)


def test_deflated_explicit_vr_files_are_read(tmp_path):
    """Deflated files are complete although the data set is longer than the file."""
    planes = {
        "A": [(z, square(1, 1, 9, 9)) for z in (0.0, 2.0, 4.0)],
        "B": [(2.0, square(3, 3, 6, 6))],
    }
    write_ct_series(tmp_path / "plain", [0.0, 2.0, 4.0])
    plain_rs = write_rtstruct(tmp_path / "plain_rs.dcm", planes)
    ct = write_ct_series(tmp_path / "deflated", [0.0, 2.0, 4.0])
    rs = write_rtstruct(tmp_path / "rs.dcm", planes)
    for path in ct:
        _deflate(path)
    _deflate(rs, undefined_last_sequence=True)
    for path in [*ct, rs]:
        ds = pydicom.dcmread(path)
        assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1.99"
    # The CT slices compress well: the pixel data ends past the compressed file size.
    pixels = pydicom.dcmread(ct[0]).get_item(0x7FE00010)
    assert pixels.value_tell + pixels.length > ct[0].stat().st_size

    # The RTSTRUCT ends with an undefined-length sequence: its delimiter is in the inflated data.
    header = pydicom.dcmread(rs)
    assert header[list(header.keys())[-1]].is_undefined_length

    deflated_ct = load_ct_series(tmp_path / "deflated")
    plain_ct = load_ct_series(tmp_path / "plain")
    fields = ("shape", "spacing", "origin", "signs", "slice_positions", "orientation")
    assert [getattr(deflated_ct, f) for f in fields] == [getattr(plain_ct, f) for f in fields]
    assert deflated_ct.shape == (3, 16, 16) and deflated_ct.slice_positions == (0.0, 2.0, 4.0)
    assert len(deflated_ct.sop_instance_uids) == 3 and not deflated_ct.warnings
    deflated, plain = read_rtstruct(rs), read_rtstruct(plain_rs)
    assert [(r.name, [c.z for c in r.contours]) for r in deflated.rois] == [
        ("A", [0.0, 2.0, 4.0]),
        ("B", [2.0]),
    ]
    for got, expected in zip(deflated.rois, plain.rois, strict=True):
        for a, b in zip(got.contours, expected.contours, strict=True):
            assert np.array_equal(a.points, b.points)

    # A deflated file really cut short is still refused, with the French message.
    data = ct[1].read_bytes()
    ct[1].write_bytes(data[: len(data) - 40])
    error = _error(read_dicom, ct[1])
    assert error.code == "truncated" and "tronqué" in error.message("fr")
