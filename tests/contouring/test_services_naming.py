"""Structure-name suggestions: normalisation, French/English synonyms, TG-263 names."""

from __future__ import annotations

import pytest

from contouring.models import MappingMethod, MappingStatus
from contouring.naming import normalise, standard_name, suggest_mapping
from tests.contouring.conftest import submit


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Parotid_L", "Parotid_L"),
        ("Parotide G", "Parotid_L"),
        ("L Parotid", "Parotid_L"),
        ("parotide_droite", "Parotid_R"),
        ("Moelle épinière", "SpinalCord"),
        ("Canal médullaire", "SpinalCord"),
        ("Tronc cérébral", "Brainstem"),
        ("Brain Stem", "Brainstem"),
        ("Mandibule", "Bone_Mandible"),
        ("Tête fémorale D", "Femur_Head_R"),
        ("FemoralHead Lt", "Femur_Head_L"),
        ("Vessie", "Bladder"),
        ("External", "Body"),
        ("Contour externe", "Body"),
        ("GTV_70", None),
    ],
)
def test_standard_name(name, expected):
    assert standard_name(name) == expected


def test_normalise_strips_accents_case_and_separators():
    assert normalise("  Tête__Fémorale-G ") == "tete femorale g"
    assert normalise("SpinalCord") == "spinal cord"


def test_suggestions_prefer_exact_then_synonym_and_never_cross_sides():
    suggestions = suggest_mapping(
        ["Parotid_L", "Parotid_R", "SpinalCord", "Brainstem", "Body", "Larynx"],
        ["Parotide D", "Parotide G", "SpinalCord", "Tronc cerebral", "External", "Extra_ROI"],
    )
    got = {s.structure: (s.roi, s.method) for s in suggestions}
    assert got["Parotid_L"] == ("Parotide G", "synonym")
    assert got["Parotid_R"] == ("Parotide D", "synonym")
    assert got["SpinalCord"] == ("SpinalCord", "exact")
    assert got["Brainstem"] == ("Tronc cerebral", "synonym")
    assert got["Body"] == ("External", "synonym")
    assert got["Larynx"] == (None, "none")


def test_a_roi_serves_only_one_structure():
    suggestions = suggest_mapping(["Parotid_L", "Parotide G"], ["Parotide G"])
    assert [s.roi for s in suggestions] == [None, "Parotide G"]


def test_submission_gets_suggestions_and_user_corrects_them(head_neck_files, pm, centre_a):
    from contouring.services import mapping_confirm
    from tests.contouring.conftest import create_case

    case = create_case(head_neck_files, pm)
    # Solution B writes French names: every structure is suggested through the synonyms.
    submission, _warnings = submit(case, head_neck_files, 1, centre_a, pm, confirm=False)
    mappings = {m.structure.name: m for m in submission.mappings.select_related("roi")}
    assert mappings["Parotid_L"].roi.name == "Parotide G"
    assert mappings["SpinalCord"].roi.name == "Moelle"
    assert mappings["Bone_Mandible"].roi.name == "Mandibule"
    assert all(m.status == MappingStatus.SUGGESTED for m in mappings.values())
    assert submission.mapping_confirmed_at is None

    # The user swaps the parotids by hand and says the brainstem is absent.
    left, right = mappings["Parotid_L"], mappings["Parotid_R"]
    choices = {m.structure_id: m.roi_id for m in mappings.values()}
    choices[left.structure_id], choices[right.structure_id] = right.roi_id, left.roi_id
    choices[mappings["Brainstem"].structure_id] = None
    mapping_confirm(submission=submission, user=pm, choices=choices)
    confirmed = {m.structure.name: m for m in submission.mappings.select_related("roi")}
    assert confirmed["Parotid_L"].roi.name == "Parotide D"
    assert confirmed["Parotid_L"].method == MappingMethod.MANUAL
    assert confirmed["Brainstem"].roi is None
    assert confirmed["SpinalCord"].method == MappingMethod.SYNONYM
    assert all(m.status == MappingStatus.CONFIRMED for m in confirmed.values())
    submission.refresh_from_db()
    assert submission.mapping_confirmed_by == pm


def test_one_roi_for_two_structures_is_refused(head_neck_files, pm, centre_a):
    from django.core.exceptions import ValidationError

    from contouring.services import mapping_confirm
    from tests.contouring.conftest import create_case

    case = create_case(head_neck_files, pm)
    submission, _warnings = submit(case, head_neck_files, 0, centre_a, pm, confirm=False)
    mappings = list(submission.mappings.all())
    choices = {m.structure_id: mappings[0].roi_id for m in mappings}
    with pytest.raises(ValidationError) as error:
        mapping_confirm(submission=submission, user=pm, choices=choices)
    assert error.value.code == "roi_twice"
    submission.refresh_from_db()
    assert submission.mapping_confirmed_at is None
