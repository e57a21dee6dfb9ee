"""The reference plan's RTDOSE attached to a case: checks, de-identification, the case page."""

from __future__ import annotations

import io

import pydicom
import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contouring import services
from contouring.models import CaseDose
from tests.conftest import login
from tests.contouring.conftest import uploaded
from tests.requirements import need_shared_data


@pytest.fixture
def breast_case(pm):
    folder = need_shared_data("dicompyler-core-breast")
    return services.case_create(
        title="Sein",
        site="breast",
        description="",
        ct_uploads=[uploaded(p) for p in sorted((folder / "ct-rebuilt").glob("*.dcm"))],
        reference_upload=uploaded(folder / "rtss.dcm"),
        user=pm,
    )


def _dose_file(change=None, name="rtdose.dcm") -> SimpleUploadedFile:
    ds = pydicom.dcmread(need_shared_data("dicompyler-core-breast", "rtdose.dcm"))
    if change is not None:
        change(ds)
    buffer = io.BytesIO()
    ds.save_as(buffer)
    return SimpleUploadedFile(name, buffer.getvalue())


def _shift(axis: int, mm: float):
    def change(ds):
        position = [float(v) for v in ds.ImagePositionPatient]
        position[axis] += mm
        ds.ImagePositionPatient = position

    return change


def _set(keyword: str, value):
    def change(ds):
        setattr(ds, keyword, value)

    return change


def test_the_breast_dose_is_attached_de_identified_and_shown(breast_case, pm):
    folder = need_shared_data("dicompyler-core-breast")
    case_dose, warnings = services.case_dose_attach(
        case=breast_case,
        dose_upload=uploaded(folder / "rtdose.dcm"),
        plan_upload=uploaded(folder / "rtplan.dcm"),
        user=pm,
    )
    # The planned dose covers the body, not the whole CT field of view: kept, with a warning.
    assert warnings == ["La grille de dose de rtdose.dcm ne couvre qu'une partie du scanner."]
    assert case_dose.covers_whole_ct is False
    assert case_dose.shape == [98, 129, 194]
    assert case_dose.spacing == [3.0, 2.5, 2.5]
    assert case_dose.summation_type == "PLAN"
    assert case_dose.plan_dvh_count == 9
    assert 10 < case_dose.max_dose_gy < 80
    original = pydicom.dcmread(folder / "rtdose.dcm")
    with default_storage.open(case_dose.file.name, "rb") as handle:
        stored = pydicom.dcmread(handle)
    # De-identified with the case's key: the CT's frame of reference, no patient identity.
    assert stored.PatientName == breast_case.pseudonym
    assert stored.FrameOfReferenceUID == breast_case.ct_frame_of_reference_uid
    assert stored.FrameOfReferenceUID != original.FrameOfReferenceUID
    assert stored.SOPInstanceUID != original.SOPInstanceUID
    assert case_dose.plan_file.name
    client = login(pm)
    page = client.get(reverse("contouring:case-detail", args=[breast_case.pk])).content.decode()
    assert "98 × 129 × 194" in page and "3.0 × 2.5 × 2.5" in page
    assert f"{case_dose.max_dose_gy:.2f}".replace(".", ",") + " Gy" in page
    assert "Remplacer la dose de référence" in page
    assert "ne couvre qu’une partie du scanner" in page


@pytest.mark.parametrize(
    ("change", "code", "text"),
    [
        (_set("DoseUnits", "RELATIVE"), "dose_units", "seule une dose absolue en Gy"),
        (_set("FrameOfReferenceUID", "1.2.3.4"), "dose_frame_of_reference", "repère"),
        (_shift(0, 2000.0), "dose_outside_ct", "ne recouvre pas le volume du scanner"),
        (_set("DoseSummationType", "PLAN_OVERVIEW"), "dose_summation", "sommation"),
        (_set("SOPClassUID", "1.2.840.10008.5.1.4.1.1.2"), "sop_class_modality", "incohérent"),
    ],
)
def test_a_bad_dose_is_refused_with_a_french_message_naming_the_file(
    breast_case, pm, change, code, text
):
    with pytest.raises(ValidationError) as error:
        services.case_dose_attach(
            case=breast_case, dose_upload=_dose_file(change, "dose_plan_3.dcm"), user=pm
        )
    assert error.value.code == code
    message = error.value.messages[0]
    assert "dose_plan_3.dcm" in message and text in message, message
    assert not CaseDose.objects.exists()


def test_a_new_dose_replaces_the_old_one(breast_case, pm, django_capture_on_commit_callbacks):
    first, _warnings = services.case_dose_attach(
        case=breast_case, dose_upload=_dose_file(), user=pm
    )
    old_name = first.file.name
    with django_capture_on_commit_callbacks(execute=True):
        dose, warnings = services.case_dose_attach(
            case=breast_case, dose_upload=_dose_file(_shift(2, 60.0), "decale.dcm"), user=pm
        )
    assert warnings == ["La grille de dose de decale.dcm ne couvre qu'une partie du scanner."]
    assert dose.pk == first.pk and dose.sha256 != first.sha256
    assert CaseDose.objects.count() == 1
    assert not default_storage.exists(old_name)


def test_another_modality_is_refused(breast_case, pm):
    folder = need_shared_data("dicompyler-core-breast")
    with pytest.raises(ValidationError) as error:
        services.case_dose_attach(
            case=breast_case, dose_upload=uploaded(folder / "rtss.dcm"), user=pm
        )
    assert error.value.code == "wrong_modality"
    assert "rtss.dcm" in error.value.messages[0] and "RTDOSE" in error.value.messages[0]


def test_the_upload_page_keeps_the_form_and_shows_the_error(breast_case, pm):
    client = login(pm)
    url = reverse("contouring:dose-create", args=[breast_case.pk])
    response = client.post(url, {"dose": _dose_file(_set("DoseUnits", "RELATIVE"), "rd.dcm")})
    assert response.status_code == 200
    assert "La dose rd.dcm est exprimée en « RELATIVE »" in response.content.decode()
    response = client.post(url, {"dose": _dose_file()})
    assert response.status_code == 302
    assert CaseDose.objects.get().case == breast_case
    assert client.get(reverse("contouring:dose-create", args=[987654])).status_code == 404
