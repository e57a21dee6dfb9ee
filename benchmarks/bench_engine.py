"""Benchmark of the contour engine against plastimatch on the same jobs (``make bench``).

Two kinds of rows:

- ``metrics``: the full metric set of one pair from two masks already on the grid (ours:
  surfaces + KD-trees + every DESIGN.md §6 metric; plastimatch: ``dice --all`` on the same
  masks written as MetaImage files). Targets: <= 0.1 s organ-sized, <= 1.5 s body-sized.
- ``end-to-end``: from DICOM files to numbers (ours: read CT + 2 RTSTRUCTs, rasterise,
  compare; plastimatch: ``convert`` of both RTSTRUCTs on the CT, then ``dice --all`` per
  structure pair). Target: at least 10x faster.
- ``whole case``: the command line on the case of ``bench_contouring.py`` (same generator,
  ``contouring.phantoms.benchmark_spec``: CT 150 x 512 x 512, reference + 6 solutions x 20
  structures), ``compare --test ... x 6 --pairwise --format json`` as one process, start-up
  included; plastimatch: ``convert`` of each of the 7 RTSTRUCTs once, then ``dice --all``
  for every structure of the 6 reference pairs and the 15 pairwise pairs. Wall time, CPU
  time and peak RSS (GNU ``time``) on both sides; the script asserts that both sides
  computed the same number of pairs and that their DSC agree to 1e-3 (every BODY pair and
  every structure of the first pair). Targets: at least 10x faster, at most 2 GB.
  ``--whole-case`` runs this row only.

Synthetic cases use a 150 x 512 x 512 CT at 0.98 x 0.98 x 2.5 mm written to a temporary
folder; shared-data cases compare each RTSTRUCT with a derived copy moved by +2 mm in x and
-1 mm in y (labelled derived; none of the public data has two contour sets of one CT).
Our code runs on one core (NumPy/SciPy single-threaded, KD-tree queries with one worker).
Times are CPU seconds (ours: process time, best of 2-3 runs; plastimatch: user + system
time of its processes, all threads, best of 2 runs of the whole job), so a busy shared
machine does not distort them and neither side gets more tries than the other.
Peak memory: ours is the tracemalloc peak of Python and NumPy allocations in a separate
repetition (whole case: the CLI process's maximum RSS); plastimatch's is the maximum
resident set size of its processes, measured by GNU ``time``.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import itertools  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pydicom  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from contouring.engine.compare import compare_case  # noqa: E402
from contouring.engine.geometry import CTGeometry, load_ct_series  # noqa: E402
from contouring.engine.metrics import compare_masks  # noqa: E402
from contouring.engine.raster import rasterise  # noqa: E402
from contouring.engine.rtstruct import read_rtstruct  # noqa: E402
from tests.contouring.engine_phantoms import (  # noqa: E402
    write_ct_series,
    write_mha,
    write_rtstruct,
)

SHARED = Path(os.environ.get("ONCO_SHARED_DATA", REPO.parent / "shared" / "data"))
# ``--smoke`` (CI): the organ case only, on a coarse 40 x 128 x 128 grid, no shared data;
# it checks that the benchmark runs, its numbers are not the targets.
SMOKE = "--smoke" in sys.argv[1:]
# ``--whole-case``: only the whole-case command-line row (the longest plastimatch job).
WHOLE_CASE_ONLY = "--whole-case" in sys.argv[1:]
SPACING = (2.5, 3.92, 3.92) if SMOKE else (2.5, 0.98, 0.98)
SHAPE = (40, 128, 128) if SMOKE else (150, 512, 512)
ORIGIN = (-50.0, -250.88, -250.88) if SMOKE else (-187.5, -250.88, -250.88)  # voxel [0, 0, 0]
PLASTIMATCH = shutil.which("plastimatch")
GNU_TIME = shutil.which("time")  # /usr/bin/time, for the peak RSS of a command


def best_of(function: Callable[[], object], repeat: int) -> float:
    """Smallest CPU time of ``repeat`` runs: the machine may be shared, CPU time is not."""
    times = []
    for _ in range(repeat):
        start = time.process_time()
        function()
        times.append(time.process_time() - start)
    return min(times)


def peak_mib(function: Callable[[], object]) -> float:
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


class Measured:
    """Runs commands one after another, summing their wall and CPU time (user + system, all
    threads) and keeping the largest resident set size of any of them.

    The RSS comes from GNU ``time`` wrapped around the command: the ``ru_maxrss`` that
    ``wait4`` reports for a direct child counts this benchmark's own resident set, which
    the kernel carries over when the child executes the command (a ``/bin/true`` started
    from a 330 MiB parent reports 330 MiB). Without GNU ``time`` the RSS is not given."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self.wall = 0.0
        self.rss_mib: float | None = 0.0 if GNU_TIME else None

    def run(self, command: list[str], stdout=subprocess.DEVNULL) -> None:
        with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
            wrapped = [GNU_TIME, "-f", "%M", "-o", rss.name, *command] if GNU_TIME else command
            start = time.perf_counter()
            process = subprocess.Popen(wrapped, stdout=stdout, stderr=subprocess.DEVNULL, cwd=REPO)
            _, status, usage = os.wait4(process.pid, 0)
            self.wall += time.perf_counter() - start
            if os.waitstatus_to_exitcode(status):
                name = " ".join([Path(command[0]).name, *command[1:3]])
                raise RuntimeError(f"{name} failed ({os.waitstatus_to_exitcode(status)})")
            self.cpu += usage.ru_utime + usage.ru_stime  # includes the command's own children
            if GNU_TIME:
                self.rss_mib = max(self.rss_mib, int(rss.read().split()[-1]) / 1024)


class Plastimatch(Measured):
    """Called with plastimatch's arguments (``("dice", "--all", a, b)``): runs it, measured."""

    def __call__(self, *args: str, stdout=subprocess.DEVNULL) -> None:
        self.run([PLASTIMATCH, *args], stdout=stdout)


# --- synthetic shapes: one polygon per slice ----------------------------------------------


def ellipse(cx: float, cy: float, rx: float, ry: float, n: int = 180) -> list[tuple[float, float]]:
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return [(cx + rx * np.cos(a), cy + ry * np.sin(a)) for a in angles]


def ellipsoid_planes(centre, radii) -> list[tuple[float, list[tuple[float, float]]]]:
    """Axial sections of an ellipsoid (z, y, x radii in mm) on the benchmark slices."""
    planes = []
    for k in range(SHAPE[0]):
        z = ORIGIN[0] + k * SPACING[0]
        t = 1 - ((z - centre[0]) / radii[0]) ** 2
        if t > 0.01:
            s = np.sqrt(t)
            planes.append((z, ellipse(centre[2], centre[1], radii[2] * s, radii[1] * s)))
    return planes


def body_planes(rx: float, ry: float, dx: float = 0.0) -> list[tuple[float, list]]:
    """An elliptic cylinder through every slice, with a slow taper along z."""
    planes = []
    for k in range(SHAPE[0]):
        z = ORIGIN[0] + k * SPACING[0]
        scale = 1 - 0.1 * abs(k - SHAPE[0] / 2) / SHAPE[0]
        planes.append((z, ellipse(dx, 0.0, rx * scale, ry * scale, n=360)))
    return planes


SYNTHETIC = {
    "organ (ellipsoid ~180 cm³)": (
        {"S": ellipsoid_planes((0.0, 10.0, 20.0), (40.0, 35.0, 30.0))},
        {"S": ellipsoid_planes((2.0, 11.5, 19.0), (42.0, 33.0, 31.0))},
    ),
    "body (~25 L, every slice)": (
        {"S": body_planes(180.0, 125.0)},
        {"S": body_planes(182.0, 123.0, dx=1.5)},
    ),
}


def derived_copy(source: Path, target: Path, dx: float = 2.0, dy: float = -1.0) -> Path:
    """The RTSTRUCT with every contour moved in-plane (a derived 'test' contour set)."""
    ds = pydicom.dcmread(source)
    for item in ds.ROIContourSequence:
        for contour in item.get("ContourSequence") or []:
            xyz = np.asarray(contour.ContourData, dtype=float).reshape(-1, 3)
            xyz[:, 0] += dx
            xyz[:, 1] += dy
            contour.ContourData = [f"{v:.3f}" for v in xyz.ravel()]
    ds.SeriesDescription = "DERIVED: moved by (+2, -1) mm for benchmarking"
    ds.save_as(target)
    return target


# --- measurements ------------------------------------------------------------------------


def ours_end_to_end(ct: Path, reference: Path, test: Path) -> Callable[[], object]:
    def job():
        geometry = load_ct_series(ct)
        return compare_case(geometry, read_rtstruct(reference), {"test": read_rtstruct(test)})

    return job


PLASTIMATCH_REPEAT = 1 if SMOKE else 2


def best_plastimatch(job: Callable[[], Plastimatch]) -> tuple[float, float]:
    """Smallest CPU time of :data:`PLASTIMATCH_REPEAT` runs of a whole plastimatch job
    (like ``best_of`` for ours), and the largest RSS seen."""
    runs = [job() for _ in range(PLASTIMATCH_REPEAT)]
    rss = [r.rss_mib for r in runs if r.rss_mib is not None]
    return min(r.cpu for r in runs), max(rss, default=None)


def plastimatch_end_to_end(ct: Path, reference: Path, test: Path, work: Path, names: list[str]):
    """convert both RTSTRUCTs on the CT, then dice --all per structure."""
    run = Plastimatch()
    for label, rs in (("ref", reference), ("test", test)):
        run("convert", "--input", str(rs), "--referenced-ct", str(ct),
            "--output-prefix", str(work / label))  # fmt: skip
    for name in names:
        a, b = work / "ref" / f"{name}.mha", work / "test" / f"{name}.mha"
        if a.exists() and b.exists():
            run("dice", "--all", str(a), str(b))
    return run


def metrics_rows(geometry: CTGeometry, reference, test, work: Path, label: str) -> list[list[str]]:
    """Per structure: full metric set from masks, ours vs plastimatch dice on those masks."""
    rows = []
    for roi in reference.rois:
        other = test.get(roi.name)
        if roi.is_empty or other is None or other.is_empty:
            continue
        a, b = rasterise(roi, geometry), rasterise(other, geometry)
        ours = best_of(lambda a=a, b=b: compare_masks(a, b), 1 if SMOKE else 3)
        memory = peak_mib(lambda a=a, b=b: compare_masks(a, b))
        theirs = rss = None
        if PLASTIMATCH:
            files = [
                write_mha(work / f"m{i}.mha", m.to_grid(), geometry) for i, m in ((0, a), (1, b))
            ]

            def dice(files=files) -> Plastimatch:
                run = Plastimatch()
                run("dice", "--all", str(files[0]), str(files[1]))
                return run

            theirs, rss = best_plastimatch(dice)
        name = f"{label}: {roi.name} ({a.volume_cc:.0f} cm³)"
        rows.append(row(name, "metrics", ours, theirs, memory, rss))
        rows += deepmind_row(name, a, b)
    return rows


def deepmind_row(name: str, a, b) -> list[list[str]]:
    """The deepmind convention against surface-distance itself, same masks, same figures."""
    try:
        import surface_distance
    except ImportError:
        return []
    grid_a, grid_b = a.to_grid(), b.to_grid()
    spacing = a.spacing

    def theirs_job():
        distances = surface_distance.compute_surface_distances(grid_a, grid_b, spacing)
        surface_distance.compute_robust_hausdorff(distances, 95)
        surface_distance.compute_average_surface_distance(distances)
        for tau in (1.0, 2.0, 3.0):
            surface_distance.compute_surface_dice_at_tolerance(distances, tau)

    repeat = 1 if SMOKE else 2
    ours = best_of(lambda: compare_masks(a, b, convention="deepmind"), repeat)
    theirs = best_of(theirs_job, repeat)
    memory = peak_mib(lambda: compare_masks(a, b, convention="deepmind"))
    return [row(name, "deepmind vs surface-distance", ours, theirs, memory, None)]


def mib(value: float | None) -> str:
    return f"{value:.0f}" if value is not None else "—"


def row(case, kind, ours, theirs, memory, rss) -> list[str]:
    # One decimal below 100x, so a ratio of 9.6 does not show as "10x".
    ratio = (
        (f"{theirs / ours:.1f}×" if theirs / ours < 100 else f"{theirs / ours:.0f}×")
        if theirs
        else "—"
    )
    return [
        case,
        kind,
        f"{ours:.3f}",
        f"{theirs:.2f}" if theirs else "—",
        ratio,
        mib(memory),
        mib(rss),
    ]


def synthetic_rows(work: Path) -> list[list[str]]:
    ct = work / "ct"
    z = [ORIGIN[0] + k * SPACING[0] for k in range(SHAPE[0])]
    write_ct_series(
        ct, z, rows=SHAPE[1], columns=SHAPE[2], pixel_spacing=SPACING[1:],
        origin_xy=(ORIGIN[2], ORIGIN[1]),
    )  # fmt: skip
    geometry = load_ct_series(ct)
    rows = []
    for label, (reference_rois, test_rois) in SYNTHETIC.items():
        folder = work / label.split()[0]
        folder.mkdir()
        ref = write_rtstruct(
            folder / "ref.dcm", reference_rois, frame_of_reference=geometry.frame_of_reference_uid
        )
        test = write_rtstruct(
            folder / "test.dcm", test_rois, frame_of_reference=geometry.frame_of_reference_uid
        )
        rows += metrics_rows(
            geometry, read_rtstruct(ref), read_rtstruct(test), folder, label.split()[0]
        )
        rows.append(
            end_to_end_row(f"{label.split()[0]}: CT + 2 RTSTRUCTs", ct, ref, test, folder, ["S"])
        )
    return rows


def end_to_end_row(label: str, ct: Path, ref: Path, test: Path, work: Path, names: list[str]):
    job = ours_end_to_end(ct, ref, test)
    ours = best_of(job, 1 if SMOKE else 2)
    memory = peak_mib(job)
    theirs = rss = None
    if PLASTIMATCH:
        theirs, rss = best_plastimatch(lambda: plastimatch_end_to_end(ct, ref, test, work, names))
    return row(label, "end-to-end", ours, theirs, memory, rss)


def shared_rows(work: Path) -> list[list[str]]:
    cases = {
        "breast": ("dicompyler-core-breast/ct-rebuilt", "dicompyler-core-breast/rtss.dcm"),
        "STS_001": ("ibsi-sts/STS_001/image", "ibsi-sts/STS_001/mask/RS.dcm"),
        "matRad": ("matrad-phantom", "matrad-phantom/RTstruct.dcm"),
    }
    rows = []
    for label, (ct, rs) in cases.items():
        ct, rs = SHARED / ct, SHARED / rs
        if not rs.exists():
            print(f"(skipped {label}: no shared data at {rs})")
            continue
        folder = work / label
        folder.mkdir()
        test = derived_copy(rs, folder / "derived.dcm")
        geometry = load_ct_series(ct)
        reference, derived = read_rtstruct(rs), read_rtstruct(test)
        if label == "breast":
            rows += metrics_rows(geometry, reference, derived, folder, label)
        rows.append(
            end_to_end_row(f"{label}: all structures", ct, rs, test, folder, reference.names)
        )
    return rows


# --- a whole case from the command line -------------------------------------------------


def whole_case_spec():
    """The case of ``bench_contouring.py`` (same generator): a 150 x 512 x 512 CT, a
    reference and 6 simulated solutions x 20 structures; ``--smoke``: a tiny one."""
    from contouring import phantoms

    if SMOKE:
        return phantoms.benchmark_spec(size=64, slices=16, structures=4, solutions=3)
    return phantoms.benchmark_spec()


def plastimatch_dsc(text: str) -> float:
    """The DSC printed by ``plastimatch dice --all`` (its line ``DICE: 0.9123``)."""
    return float(re.search(r"^\s*DICE\s*[:=]\s*([-\d.eE+]+)\s*$", text, re.M).group(1))


def whole_case_rows(work: Path) -> tuple[list[list[str]], list[str]]:
    """Our CLI on the whole case (reference + every solution, ``--pairwise``), start-up
    included, as one process; against plastimatch ``convert`` of each RTSTRUCT once and
    ``dice --all`` for every structure of every pair of sets. Returns the table row and
    the lines of detail (wall time, check of the pairs and DSC)."""
    from contouring import phantoms

    case = phantoms.write_case(whole_case_spec(), work / "case")
    ct = case.folder / "ct"
    files = {"reference": case.reference, **{s.path.stem: s.path for s in case.solutions}}
    tests = list(files)[1:]
    set_pairs = [("reference", t) for t in tests] + list(itertools.combinations(tests, 2))

    ours, output = Measured(), work / "whole_case.json"
    ours.run(
        [sys.executable, "-m", "contouring.engine", "compare", "--ct", str(ct),
         "--reference", str(case.reference),
         *itertools.chain.from_iterable(("--test", str(files[t])) for t in tests),
         "--pairwise", "--format", "json", "--output", str(output)]
    )  # fmt: skip
    print(
        f"  ours: {ours.wall:.1f} s wall, {ours.cpu:.1f} s CPU, {mib(ours.rss_mib)} MiB peak RSS",
        file=sys.stderr,
        flush=True,
    )
    computed = {
        (p["structure"], p["reference_set"], p["compared_set"]): p["dsc"]
        for p in json.loads(output.read_text(encoding="utf-8"))["pairs"]
        if p["status"] == "ok"
    }
    label = (
        f"whole case: CT {' × '.join(map(str, case.spec.shape))}, reference + "
        f"{len(tests)} × {len(case.spec.organs)} structures, vs reference and pairwise"
    )
    if not PLASTIMATCH:
        return [row(label, "CLI, start-up included", ours.cpu, None, ours.rss_mib, None)], [
            f"whole case, ours: {ours.wall:.1f} s wall, {ours.cpu:.1f} s CPU, "
            f"{mib(ours.rss_mib)} MiB peak RSS, {len(computed)} pairs"
        ]

    theirs = Plastimatch()
    for name, path in files.items():
        theirs("convert", "--input", str(path), "--referenced-ct", str(ct),
               "--output-prefix", str(work / "pm" / name))  # fmt: skip
    structures = [o.name for o in case.spec.organs]
    checked, done = {}, 0
    for index, (first, second) in enumerate(set_pairs):
        for structure in structures:
            a = work / "pm" / first / f"{structure}.mha"
            b = work / "pm" / second / f"{structure}.mha"
            if not (a.exists() and b.exists()):
                continue
            done += 1
            if structure == structures[0] or index == 0:  # DSC kept for the check below
                printed = work / "pm" / "dice.txt"
                with printed.open("w") as handle:
                    theirs("dice", "--all", str(a), str(b), stdout=handle)
                checked[structure, first, second] = plastimatch_dsc(printed.read_text())
            else:
                theirs("dice", "--all", str(a), str(b))
        print(
            f"  plastimatch: {index + 1}/{len(set_pairs)} pairs of sets, {done} dice, "
            f"{theirs.cpu:.0f} CPU s, {theirs.wall:.0f} s wall",
            file=sys.stderr,
            flush=True,
        )
    # Both sides computed the same pairs, and the DSC they share agree.
    assert done == len(computed), f"plastimatch {done} pairs, ours {len(computed)}"
    worst = max(abs(computed[key] - dsc) for key, dsc in checked.items())
    assert worst <= 1e-3, f"DSC differ by {worst:.2e}"
    details = [
        f"whole case, ours: {ours.wall:.1f} s wall, {ours.cpu:.1f} s CPU, "
        f"{mib(ours.rss_mib)} MiB peak RSS; plastimatch ({len(files)} convert + {done} dice): "
        f"{theirs.wall:.1f} s wall, {theirs.cpu:.1f} s CPU, {mib(theirs.rss_mib)} MiB max RSS; "
        f"ratio {theirs.cpu / ours.cpu:.1f}× CPU, {theirs.wall / ours.wall:.1f}× wall",
        f"checked: {len(computed)} pairs on both sides; DSC of {len(checked)} pairs agree "
        f"within {worst:.1e}",
    ]
    row_ = row(label, "CLI, start-up included", ours.cpu, theirs.cpu, ours.rss_mib, theirs.rss_mib)
    return [row_], details


def main() -> None:
    header = [
        "case",
        "job",
        "ours (CPU s)",
        "peer (CPU s)",
        "ratio",
        "ours peak (MiB)",
        "plastimatch max RSS (MiB)",
    ]
    with tempfile.TemporaryDirectory(prefix="bench_engine_") as tmp:
        if SMOKE:
            SYNTHETIC.pop("body (~25 L, every slice)")
        work = Path(tmp)
        rows = [] if WHOLE_CASE_ONLY else synthetic_rows(work)
        if not (SMOKE or WHOLE_CASE_ONLY):
            rows += shared_rows(work)
        (work / "whole").mkdir()
        whole, details = whole_case_rows(work / "whole")
        rows += whole
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    machine = platform.processor() or platform.machine()
    print(f"python {platform.python_version()}, numpy {np.__version__}, {machine}, ", end="")
    print(f"plastimatch: {PLASTIMATCH or 'not installed'}")
    print("peer: plastimatch, or surface-distance on the deepmind rows")
    print("\n".join(lines))
    print("\n".join(details))
    print(
        f"(machine load {os.getloadavg()[0]:.1f} at the end; the whole-case row's "
        "'ours peak' is the CLI process's maximum RSS, start-up included)"
    )
    if SMOKE:
        print("(--smoke: checks that the benchmark runs; targets not evaluated)")


if __name__ == "__main__":
    main()
