"""Ingestion of the public DICOM-RT data of ../shared/data (real files, real quirks)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from contouring import services
from contouring.models import ClinicalCase, Solution
from tests.contouring.conftest import uploaded
from tests.requirements import need_shared_data


def _case(folder, pattern, reference, pm, site="other"):
    return services.case_create(
        title="Données publiques",
        site=site,
        description="",
        ct_uploads=[uploaded(p) for p in sorted(folder.glob(pattern))],
        reference_upload=uploaded(reference),
        user=pm,
    )


def test_matrad_phantom_case_and_derived_submission(pm, centre_a):
    folder = need_shared_data("matrad-phantom")
    case = _case(folder, "ct_slice_*.dcm", folder / "RTstruct.dcm", pm)
    assert case.ct_slice_count == 100
    assert case.ct_shape == [100, 200, 200]
    names = [s.name for s in case.structures.all()]
    assert {"Volume1", "Volume2", "Volume3"} <= set(names)
    # The same file as a "solution" is refused: it is the reference.
    solution = Solution.objects.create(vendor="V", product="P", model_version="1")
    with pytest.raises(ValidationError) as error:
        services.submission_create(
            case=case,
            solution=solution,
            centre=centre_a,
            upload=uploaded(folder / "RTstruct.dcm"),
            user=pm,
            attested=True,
        )
    assert error.value.code == "reference"


def test_ibsi_rtstruct_placed_by_geometry_although_its_uids_differ(pm):
    folder = need_shared_data("ibsi-sts", "STS_001")
    case = _case(folder / "image", "*.dcm", folder / "mask" / "RS.dcm", pm, site="other")
    (gtv,) = [s for s in case.structures.all() if s.is_compared]
    assert gtv.volume_cc > 1


@pytest.mark.parametrize(
    ("reference", "code"),
    [("rt.dcm", "for_mismatch"), ("invalid_reference_rt.dcm", "contour_outside_ct")],
)
def test_rtutils_bad_references_are_refused(reference, code, pm):
    # rt.dcm is drawn in another frame of reference than mock_data's two CT slices;
    # invalid_reference_rt.dcm shares it but has contours outside the slices.
    folder = need_shared_data("rtutils-mock", "mock_data")
    with pytest.raises(ValidationError) as error:
        _case(folder, "ct_*.dcm", folder / reference, pm)
    assert error.value.code == code
    assert ClinicalCase.objects.count() == 0


def test_rtutils_oblique_series_is_refused(pm):
    folder = need_shared_data("rtutils-mock", "oriented_data")
    reference = need_shared_data("rtutils-mock", "mock_data", "rt.dcm")
    with pytest.raises(ValidationError) as error:
        _case(folder, "[0-9].dcm", reference, pm)
    assert error.value.code in ("oblique_series", "unsupported_orientation")
