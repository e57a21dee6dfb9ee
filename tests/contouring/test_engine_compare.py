"""Many-to-many comparison: pairs, name mapping, missing/empty structures, reuse, progress."""

from __future__ import annotations

import threading

import pytest

from contouring.engine import compare as compare_module
from contouring.engine.compare import compare_case
from contouring.engine.errors import EngineError
from contouring.engine.rtstruct import StructureSet, read_rtstruct
from tests.contouring.engine_phantoms import make_geometry, square, write_rtstruct

FOR = "1.2.3"  # make_geometry's frame of reference


def _set(tmp_path, name: str, rois: dict) -> StructureSet:
    planes = {
        roi: [(float(z), square(*box)) for z in range(2, 8)] if box else []
        for roi, box in rois.items()
    }
    return read_rtstruct(write_rtstruct(tmp_path / f"{name}.dcm", planes, frame_of_reference=FOR))


@pytest.fixture
def case(tmp_path):
    geometry = make_geometry((10, 30, 30))
    reference = _set(
        tmp_path, "ref", {"PTV": (5, 5, 15, 15), "Heart": (18, 18, 25, 25), "Cord": None}
    )
    vendor_a = _set(tmp_path, "a", {"ptv": (6, 5, 16, 15), "HEART": (18, 18, 25, 25)})
    vendor_b = _set(
        tmp_path, "b", {"PTV_auto": (5, 5, 15, 15), "Heart": None, "Cord": (1, 1, 3, 3)}
    )
    return geometry, reference, {"A": vendor_a, "B": vendor_b}


def test_every_pair_and_every_structure(case):
    geometry, reference, tests = case
    result = compare_case(geometry, reference, tests, structure_map={"B": {"PTV": "PTV_auto"}})
    assert result.structures == ("PTV", "Heart", "Cord")
    assert result.set_labels == ("reference", "A", "B")
    assert len(result.pairs) == 3 * 3  # (ref, A), (ref, B), (A, B) per structure
    assert len(result.against_reference()) == 6 and len(result.between_tests()) == 3

    assert result.get("PTV", "reference", "A").dsc == pytest.approx(9 / 10)
    assert result.get("PTV", "reference", "B").dsc == 1.0  # found through structure_map
    assert result.get("PTV", "A", "B").dsc == pytest.approx(9 / 10)
    assert result.get("Heart", "reference", "A").hausdorff_mm == 0.0  # case-insensitive match
    assert result.get("Heart", "reference", "B").status == "test_empty"
    assert result.get("Cord", "reference", "A").status == "test_missing"
    assert result.get("Cord", "reference", "B").status == "reference_empty"
    assert result.get("Cord", "A", "B").status == "reference_missing"
    assert result.volumes_cc[("A", "Cord")] is None
    assert result.volumes_cc[("reference", "PTV")] == pytest.approx(10 * 10 * 6 / 1000)


def test_masks_and_surfaces_are_built_once(case, monkeypatch):
    geometry, reference, tests = case
    calls = []
    real = compare_module.prepare_mask

    def counting(mask, polygons=None):
        calls.append(mask.name)
        return real(mask, polygons)

    monkeypatch.setattr(compare_module, "prepare_mask", counting)
    compare_case(geometry, reference, tests, structure_map={"B": {"PTV": "PTV_auto"}})
    # 3 + 2 + 3 ROIs exist; each is prepared once although it appears in 2 pairs.
    assert len(calls) == 8


def test_test_sets_search_arrays_are_freed_before_on_structure(case):
    """A consensus built in ``on_structure`` is compared with the reference only: the test
    sets' corner surfaces are already freed (memory), the reference's are still there."""
    geometry, reference, tests = case
    seen = {}

    def inspect(name, prepared):
        seen[name] = {label: "corners" in p.__dict__ for label, p in prepared.items() if p}

    result = compare_case(
        geometry, reference, tests, structure_map={"B": {"PTV": "PTV_auto"}}, on_structure=inspect
    )
    assert seen["PTV"] == {"reference": True, "A": False, "B": False}
    assert result.get("PTV", "A", "B").dsc == pytest.approx(9 / 10)


def test_progress_reports_every_step(case):
    geometry, reference, tests = case
    seen = []
    compare_case(
        geometry, reference, tests, progress=lambda done, total: seen.append((done, total))
    )
    total = seen[0][1]
    assert [done for done, _ in seen] == list(range(1, total + 1))
    assert total == 7 + 9  # 7 masks found by name (PTV_auto is unmapped) + 9 pairs


def test_unknown_mapped_structure_and_reserved_label(case):
    geometry, reference, tests = case
    with pytest.raises(EngineError) as info:
        compare_case(geometry, reference, tests, structure_map={"A": {"PTV": "GTV"}})
    assert info.value.code == "unknown_structure"
    with pytest.raises(EngineError):
        compare_case(geometry, reference, {"reference": tests["A"]})


def test_threads_compute_pairs_at_once_with_the_same_figures(case, monkeypatch):
    """``threads=2``: two pairs of a structure are computed at the same time (both first
    calls meet at a barrier, which a one-at-a-time loop never reaches), and every pair's
    figures, the progress and the order are those of the one-thread comparison."""
    geometry, reference, tests = case
    mapping = {"B": {"PTV": "PTV_auto"}}
    alone = compare_case(geometry, reference, tests, structure_map=mapping)

    barrier = threading.Barrier(2, timeout=20)
    lock, calls = threading.Lock(), []
    real = compare_module.compare_prepared

    def meeting(first, second, **kwargs):
        with lock:
            calls.append(threading.get_ident())
            first_two = len(calls) <= 2
        if first_two:
            barrier.wait()  # BrokenBarrierError if the other pair is not running meanwhile
        return real(first, second, **kwargs)

    monkeypatch.setattr(compare_module, "compare_prepared", meeting)
    seen = []
    together = compare_case(
        geometry,
        reference,
        tests,
        structure_map=mapping,
        threads=2,
        progress=lambda done, total: seen.append(done),
    )
    assert len(set(calls[:2])) == 2  # two threads
    assert together.pairs == alone.pairs
    assert together.volumes_cc == alone.volumes_cc
    assert seen == list(range(1, len(seen) + 1))


@pytest.mark.parametrize(("convention", "built"), [("default", False), ("plastimatch", True)])
def test_voxel_surfaces_are_built_only_for_the_convention_that_uses_them(
    case, convention, built, monkeypatch
):
    """The platform's convention measures on corner surfaces and polygons: the voxel
    surfaces (tens of MB for a body outline, per set) are never built; plastimatch's
    measures on them."""
    from contouring.engine import metrics

    geometry, reference, tests = case
    calls = []
    real = metrics._surfaces

    def counting(mask):
        calls.append(mask.name)
        return real(mask)

    monkeypatch.setattr(metrics, "_surfaces", counting)
    result = compare_case(
        geometry, reference, tests, structure_map={"B": {"PTV": "PTV_auto"}}, convention=convention
    )
    assert bool(calls) is built
    assert result.get("PTV", "reference", "A").dsc == pytest.approx(9 / 10)
    assert result.get("PTV", "reference", "A").status == "ok"
