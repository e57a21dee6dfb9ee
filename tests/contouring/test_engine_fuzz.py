"""No traceback on any file: mutated real DICOM files through ``compare`` in its three roles.

Every mutant (see :mod:`tests.contouring.fuzz`) is given to the CLI entry point in process
as the CT (one slice of a short real series), the reference or the test RTSTRUCT, the
other inputs being intact. Each run must end with exit 0, or exit 2 and one coded line on
stderr, within a time limit; a few runs as subprocesses prove no traceback reaches stderr.
The fast reader is checked against pydicom on every mutant it accepts.
"""

from __future__ import annotations

import contextlib
import io
import math
import re
import shutil
import signal
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import pydicom
import pytest

from contouring.engine import fastdicom
from contouring.engine.cli import main
from contouring.engine.geometry import load_ct_series
from contouring.engine.rtstruct import read_rtstruct
from tests.contouring.engine_phantoms import square, write_ct_series, write_rtstruct
from tests.contouring.fuzz import mutated_files
from tests.requirements import REPO_ROOT, need_shared_data

SEED = 20261201
CT_MUTANTS = 720
RT_MUTANTS = 1320  # half as the reference, half as the test
TIME_LIMIT_S = 10
ONE_CODED_LINE = re.compile(r"^(erreur|error) \[[a-z_]+\] ?: [^\n]+\n$")


class TimeLimit(BaseException):
    """Raised by the alarm: a BaseException, so no ``except Exception`` can swallow it."""


@dataclass
class Setup:
    ct_roles: dict[str, tuple[Path, Path]]  # source name -> (CT folder, RTSTRUCT)
    rt_roles: dict[str, tuple[Path, Path]]  # source name -> (CT folder, intact RTSTRUCT)
    ct_sources: list[Path]
    rt_sources: list[Path]


def _thinned(rtstruct: Path, out: Path, keep: int = 3) -> Path:
    """The real RTSTRUCT with only ``keep`` consecutive contours per structure: the same
    header and encoding, a fraction of the parsing cost per run."""
    ds = pydicom.dcmread(rtstruct)
    for item in ds.ROIContourSequence:
        contours = item.get("ContourSequence")
        if contours:
            middle = len(contours) // 2
            item.ContourSequence = list(contours)[middle : middle + keep]
    for frame in ds.get("ReferencedFrameOfReferenceSequence") or []:
        for study in frame.get("RTReferencedStudySequence") or []:
            for series in study.get("RTReferencedSeriesSequence") or []:
                if "ContourImageSequence" in series:
                    series.ContourImageSequence = list(series.ContourImageSequence)[:keep]
    ds.save_as(out)
    return out


def _coarse_ct(real: Path, rtstruct: Path, folder: Path, factor: int = 10) -> Path:
    """The real series' slices and frame of reference on a coarse in-plane grid, limited
    to the slices the structures use: the full pipeline at a fraction of the cost."""
    geometry = load_ct_series(real)
    zs = [z for roi in read_rtstruct(rtstruct).rois if roi.z_range for z in roi.z_range]
    k0 = max(0, round(geometry.slice_index(min(zs))) - 1)
    k1 = min(geometry.shape[0], round(geometry.slice_index(max(zs))) + 2)
    _, ny, nx = geometry.shape
    write_ct_series(
        folder,
        list(geometry.slice_positions[k0:k1]),
        rows=-(-ny // factor),
        columns=-(-nx // factor),
        pixel_spacing=(geometry.spacing[1] * factor, geometry.spacing[2] * factor),
        origin_xy=(geometry.origin[2], geometry.origin[1]),
        frame_of_reference=geometry.frame_of_reference_uid,
    )
    return folder


def _ct_role(real: Path, folder: Path) -> tuple[Path, Path, Path]:
    """A mid-series slice (to mutate), its neighbours copied to ``folder``, and an
    RTSTRUCT with a square on that slice."""
    geometry = load_ct_series(real)
    k = geometry.shape[0] // 2
    folder.mkdir(parents=True)
    for neighbour in (n for n in (k - 1, k + 1) if n < geometry.shape[0]):
        shutil.copy(geometry.files[neighbour], folder / f"n{neighbour}.dcm")
    _, ny, nx = geometry.shape
    dz, dy, dx = geometry.spacing
    x0 = geometry.origin[2] + geometry.signs[2] * dx * nx / 4
    y0 = geometry.origin[1] + geometry.signs[1] * dy * ny / 4
    x1 = geometry.origin[2] + geometry.signs[2] * dx * nx / 2
    y1 = geometry.origin[1] + geometry.signs[1] * dy * ny / 2
    rt = write_rtstruct(
        folder.parent / f"{folder.name}_rt.dcm",
        {"Square": [(geometry.slice_positions[k], square(x0, y0, x1, y1))]},
        frame_of_reference=geometry.frame_of_reference_uid,
    )
    return Path(geometry.files[k]), folder, rt


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> Setup:
    root = tmp_path_factory.mktemp("fuzz")
    ct_roles, ct_sources = {}, []
    for name, real in (
        ("matrad", need_shared_data("matrad-phantom")),
        ("sts1", need_shared_data("ibsi-sts", "STS_001", "image")),
        ("rtutils", need_shared_data("rtutils-mock", "mock_data_ct")),
    ):
        slice_file, folder, rt = _ct_role(real, root / f"ct_{name}")
        ct_roles[slice_file.name] = (folder, rt)
        ct_sources.append(slice_file)
    rt_roles, rt_sources = {}, []
    matrad, sts1 = need_shared_data("matrad-phantom"), need_shared_data("ibsi-sts", "STS_001")
    for name, real, rtstruct in (
        ("matrad", matrad, matrad / "RTstruct.dcm"),
        ("sts1", sts1 / "image", sts1 / "mask" / "RS.dcm"),
    ):
        rtstruct = _thinned(rtstruct, root / f"{name}_{rtstruct.name}")
        folder = _coarse_ct(real, rtstruct, root / f"coarse_{name}")
        rt_roles[rtstruct.name] = (folder, rtstruct)
        rt_sources.append(rtstruct)
    return Setup(ct_roles, rt_roles, ct_sources, rt_sources)


def _alarm(signum, frame):
    raise TimeLimit


def run_cli(args: list[str]) -> tuple[int | None, str, str]:
    """(exit status, stdout, stderr) of the CLI in process; status None with the traceback
    as stderr when an exception escaped, or 'time limit' when it ran too long."""
    out, err = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(args)
    except TimeLimit:
        return None, "", "time limit"
    except Exception:  # the defect this test looks for: report it with the file's label
        return None, "", traceback.format_exc(limit=-3)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return status, out.getvalue(), err.getvalue()


def _problem(status: int | None, err: str) -> str | None:
    if status == 0 and err == "":
        return None
    if status == 2 and ONE_CODED_LINE.match(err):
        return None
    return f"exit {status}: {err.strip()[-400:]}"


def _runs(setup: Setup, tmp_path: Path):
    """(label, CLI arguments) of every mutant in its role; the mutant file is rewritten."""
    for mutant in mutated_files(SEED, CT_MUTANTS, setup.ct_sources):
        folder, rt = setup.ct_roles[mutant.source]
        (folder / "mutant.dcm").write_bytes(mutant.data)
        yield mutant, ["compare", "--ct", str(folder), "--reference", str(rt), "--test", str(rt)]
    for n, mutant in enumerate(mutated_files(SEED + 1, RT_MUTANTS, setup.rt_sources)):
        folder, intact = setup.rt_roles[mutant.source]
        path = tmp_path / "mutant_rt.dcm"
        path.write_bytes(mutant.data)
        reference, test = (path, intact) if n % 2 else (intact, path)
        output = ("table", "json", "csv")[n % 3]
        yield mutant, ["compare", "--ct", str(folder), "--reference", str(reference),
                       "--test", str(test), "--format", output]  # fmt: skip


def test_no_traceback_on_any_mutated_file(setup, tmp_path):
    problems, outcomes = [], {0: 0, 2: 0}
    for mutant, args in _runs(setup, tmp_path):
        status, _out, err = run_cli(args)
        if (problem := _problem(status, err)) is not None:
            problems.append(f"{mutant.label}: {problem}")
        else:
            outcomes[status] += 1
    assert problems == []
    assert sum(outcomes.values()) >= 2000
    # Both outcomes occur: the mutations neither all break nor all miss the files.
    assert outcomes[0] > 100 and outcomes[2] > 500


def test_subprocess_runs_leave_no_traceback_on_stderr(setup, tmp_path):
    """The real entry point, on a mutant of a few kinds: stderr is one coded line or empty."""
    kinds = {"truncate", "bad_vr", "huge_coordinates", "broken_sequence"}
    seen: set[str] = set()
    for mutant, args in _runs(setup, tmp_path):
        if mutant.kind not in kinds or mutant.kind in seen:
            continue
        seen.add(mutant.kind)
        run = subprocess.run(
            [sys.executable, "-m", "contouring.engine", *args],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert run.returncode in (0, 2), (mutant.label, run.stderr)
        assert "Traceback" not in run.stderr, mutant.label
        assert _problem(run.returncode, run.stderr) is None, (mutant.label, run.stderr)
        if seen == kinds:
            break
    assert seen == kinds


def _same(fast, slow, path: str) -> list[str]:
    """Differences between a fastdicom value and pydicom's, recursively."""
    if isinstance(fast, list) and fast and isinstance(fast[0], fastdicom.Node):
        if len(fast) != len(slow):
            return [f"{path}: {len(fast)} items != {len(slow)}"]
        return [d for i, (a, b) in enumerate(zip(fast, slow, strict=True)) for d in
                _same_node(a, b, f"{path}[{i}]")]  # fmt: skip
    if isinstance(slow, pydicom.multival.MultiValue | list | tuple):
        slow = list(slow)
        fast = fast if isinstance(fast, list) else [fast]
        if len(fast) != len(slow):
            return [f"{path}: {fast!r} != {slow!r}"]
        return [d for i, (a, b) in enumerate(zip(fast, slow, strict=True)) for d in
                _same(a, b, f"{path}[{i}]")]  # fmt: skip
    if isinstance(slow, float | int) and not isinstance(slow, bool):
        if isinstance(fast, float | int) and (
            fast == slow or (math.isnan(fast) and math.isnan(float(slow)))
        ):
            return []
        return [f"{path}: {fast!r} != {slow!r}"]
    if slow is None and fast in (None, "", []):
        return []
    return [] if fast == slow else [f"{path}: {fast!r} != {slow!r}"]


def _same_node(fast: fastdicom.Node, slow, path: str) -> list[str]:
    differences = []
    for keyword in fastdicom.KEYWORDS:
        if keyword not in fast:
            continue
        if keyword not in slow:
            differences.append(f"{path}.{keyword}: only in fastdicom")
            continue
        if keyword == "ContourData":  # both keep it raw; the engine parses the bytes
            raw = slow.get_item(keyword).value
            if isinstance(raw, bytes) and raw.strip(b" \x00") != fast.get_item(keyword).value.strip(
                b" \x00"
            ):
                differences.append(f"{path}.ContourData: raw bytes differ")
            continue
        differences += _same(fast.get(keyword), slow[keyword].value, f"{path}.{keyword}")
    return differences


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_fast_reader_agrees_with_pydicom_whenever_it_accepts_a_file(setup, tmp_path):
    sources = setup.ct_sources + setup.rt_sources
    accepted, differences = 0, []
    path = tmp_path / "mutant.dcm"
    for mutant in mutated_files(SEED + 2, 600, sources):
        path.write_bytes(mutant.data)
        try:
            fast = fastdicom.read(path)
        except fastdicom.Fallback:
            continue
        accepted += 1
        try:
            slow = pydicom.dcmread(path)
            found = _same_node(fast, slow, "")
        except Exception as exc:  # pydicom refuses what the fast reader accepted
            found = [f"pydicom: {type(exc).__name__}: {exc}"[:300]]
        differences += [f"{mutant.label}: {d}" for d in found]
    assert differences == []
    assert accepted > 50


# --- The crashes the fuzzer found, each as a plain regression test ---------------------------


@pytest.fixture
def small_case(tmp_path):
    ct = tmp_path / "ct"
    write_ct_series(ct, [0.0, 2.0, 4.0], rows=20, columns=20)
    rt = write_rtstruct(tmp_path / "rt.dcm", {"Box": [(2.0, square(4.0, 4.0, 12.0, 12.0))]})
    return ct, rt


def _compare(ct: Path, rt: Path) -> tuple[int | None, str]:
    status, _out, err = run_cli(
        ["compare", "--ct", str(ct), "--reference", str(rt), "--test", str(rt)]
    )
    return status, err


def _edited(path: Path, old: bytes, new: bytes) -> Path:
    data = path.read_bytes()
    assert data.count(old) >= 1
    path.write_bytes(data.replace(old, new, 1))
    return path


def test_non_integer_roi_number_is_a_coded_error(small_case):
    ct, rt = small_case
    ds = pydicom.dcmread(rt)
    ds.StructureSetROISequence[0].ROINumber = "1"
    ds.save_as(rt)
    # "x1" is not an IS: pydicom and int() both refuse it (it was a ValueError traceback).
    _edited(rt, b"\x06\x30\x22\x00IS\x02\x001 ", b"\x06\x30\x22\x00IS\x02\x00x1")
    status, err = _compare(ct, rt)
    assert status == 2 and "[invalid_attribute]" in err and "ROINumber" in err


def test_unknown_vr_is_a_damaged_file(small_case):
    ct, rt = small_case
    _edited(rt, b"\x08\x00\x70\x00LO", b"\x08\x00\x70\x00XX")  # Manufacturer's VR
    status, err = _compare(ct, rt)
    assert status == 2 and ("[damaged]" in err or "[truncated]" in err), err


@pytest.mark.parametrize("value", ["1e19", "-1e25", "1e308"])
def test_huge_contour_coordinates_are_refused_not_overflowed(small_case, value):
    ct, rt = small_case
    ds = pydicom.dcmread(rt)
    data = list(ds.ROIContourSequence[0].ContourSequence[0].ContourData)
    data[0] = value
    ds.ROIContourSequence[0].ContourSequence[0].ContourData = data
    ds.save_as(rt)
    status, err = _compare(ct, rt)
    assert status == 2 and "[invalid_contour]" in err and "10000 mm" in err


def test_rasterising_a_far_vertex_clips_without_overflow():
    from contouring.engine.raster import rasterise
    from tests.contouring.engine_phantoms import make_geometry, roi_from_polygons

    geometry = make_geometry((3, 20, 20))
    far = [(4.0, 4.0), (1e19, 4.0), (12.0, 12.0), (4.0, 12.0)]
    mask = rasterise(roi_from_polygons({1.0: [far]}), geometry)
    assert [w.code for w in mask.warnings] == ["contour_outside_grid"]
    assert mask.voxel_count > 0


@pytest.mark.parametrize(
    ("keyword", "value"),
    [
        ("PixelSpacing", ["nan", "1"]),
        ("PixelSpacing", ["0", "1"]),
        ("ImagePositionPatient", ["0", "1e19", "0"]),
    ],
)
def test_invalid_ct_geometry_is_a_coded_error(small_case, keyword, value):
    ct, rt = small_case
    first = sorted(ct.iterdir())[0]
    ds = pydicom.dcmread(first)
    if keyword == "ImagePositionPatient":
        value[2] = str(ds.ImagePositionPatient[2])
    setattr(ds, keyword, value)
    ds.save_as(first)
    status, err = _compare(ct, rt)
    assert status == 2 and "[invalid_attribute]" in err and keyword in err
