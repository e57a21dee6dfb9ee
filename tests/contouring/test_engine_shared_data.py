"""Every public CT and RTSTRUCT in ../shared/data loads, with the expected grids and volumes."""

from __future__ import annotations

import pytest

from contouring.engine.compare import compare_case, consistency_warnings
from contouring.engine.geometry import load_ct_series
from contouring.engine.raster import rasterise
from contouring.engine.rtstruct import read_rtstruct
from tests.requirements import need_shared_data

# (CT folder, RTSTRUCT, grid shape, slice spacing mm)
CASES = {
    "sts1": ("ibsi-sts/STS_001/image", "ibsi-sts/STS_001/mask/RS.dcm", (59, 202, 198), 3.27),
    "sts4": ("ibsi-sts/STS_004/image", "ibsi-sts/STS_004/mask/RS.dcm", (85, 183, 173), 3.27),
    "breast": (
        "dicompyler-core-breast/ct-rebuilt",
        "dicompyler-core-breast/rtss.dcm",
        (98, 512, 512),
        3.0,
    ),
    "matrad": ("matrad-phantom", "matrad-phantom/RTstruct.dcm", (100, 200, 200), 3.0),
}

# Voxel counts with the even-odd rule (union where it differs), frozen from this engine
# after the voxel-exact agreement with plastimatch checked in test_engine_plastimatch.py.
VOXELS = {
    "sts1": {"GTV_Mass_CT": 117145},
    "sts4": {"GTV_Mass_CT": 94963},
    "matrad": {"Volume1": 33371, "Volume2": 115351, "Volume3": 115351},
    "breast": {
        "BODY": (4298701, 4298733),
        "Borders": 378,
        "Breast": 115775,
        "Heart": 127003,
        "Lt Lung": (578732, 581525),
        "Nodes": 192,
        "Scar": 152,
        "Tumor Bed": 3793,
        "Tumor Bed Block": 18479,
    },
}


def load(case: str):
    ct, rs, _, _ = CASES[case]
    return load_ct_series(need_shared_data(ct)), read_rtstruct(need_shared_data(rs))


@pytest.mark.parametrize("case", sorted(CASES))
def test_series_and_structures_load(case):
    geometry, structures = load(case)
    assert geometry.shape == CASES[case][2]
    assert geometry.spacing[0] == pytest.approx(CASES[case][3], abs=1e-6)
    assert structures.frame_of_reference_uid == geometry.frame_of_reference_uid
    for name, expected in VOXELS[case].items():
        even_odd, union = expected if isinstance(expected, tuple) else (expected, expected)
        roi = structures.get(name)
        assert rasterise(roi, geometry).voxel_count == even_odd, name
        assert rasterise(roi, geometry, rule="union").voxel_count == union, name


def test_breast_case_details():
    geometry, structures = load("breast")
    assert len(structures.rois) == 10
    assert structures.get("Areola").is_empty
    nodes = rasterise(structures.get("Nodes"), geometry)
    # rt-utils gives +38 % here by rounding vertices; the pixel-centre rule gives 0.665 cm³.
    assert nodes.volume_cc == pytest.approx(0.665, abs=0.001)
    lung = structures.get("Lt Lung")
    assert max(len(c) for c in lung.contours_by_z().values()) > 1  # inner contours


def test_ibsi_contours_are_placed_by_z_not_by_uid():
    geometry, structures = load("sts1")
    assert structures.provenance.manufacturer == "MIM Software Inc."
    assert structures.provenance.software_versions == "6.3.9"
    # None of the referenced images is in the series, yet the GTV rasterises fully.
    assert not structures.referenced_sop_uids & geometry.sop_instance_uids
    codes = [w.code for w in consistency_warnings(structures, geometry)]
    assert codes == ["unreferenced_images"]
    gtv = rasterise(structures.get("GTV_Mass_CT"), geometry)
    assert gtv.volume_cc == pytest.approx(365.318, abs=0.001)
    assert gtv.slice_range == (12, 42)


def test_matrad_case_compares_with_itself_perfectly():
    geometry, structures = load("matrad")
    result = compare_case(geometry, structures, {"copy": structures})
    for pair in result.against_reference():
        assert pair.metrics.dsc == 1.0 and pair.metrics.hausdorff_mm == 0.0
    # Volume3 is Volume2 moved by 30 rows of 2 mm in the matRad export.
    moved = result.get("Volume3", "reference", "copy")
    volume2 = rasterise(structures.get("Volume2"), geometry)
    volume3 = rasterise(structures.get("Volume3"), geometry)
    assert (volume3.data == volume2.data).all()
    assert volume3.offset[1] - volume2.offset[1] == 30
    assert moved.dsc == 1.0
