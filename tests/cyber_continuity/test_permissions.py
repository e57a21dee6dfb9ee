"""Permission matrix: every URL of the app × every persona → expected status."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from cyber_continuity import services
from cyber_continuity.models import Authority, InformationSystem, Technique
from tests.conftest import PERSONAS
from tests.cyber_continuity.factories import (
    CapacityFactory,
    CentreFactory,
    ContactFactory,
    MachineFactory,
)

pytestmark = pytest.mark.django_db

OK, DENIED, HIDDEN = 200, 403, 404


@pytest.fixture
def objects(pm, referent_a, centre_a, centre_b, template_v1, convention_ab, scenario_library):
    centre_c = CentreFactory(short_name="C")
    convention_bc = services.convention_create(
        template_version=template_v1, centres=[centre_b, centre_c], title="Entraide B — C", user=pm
    )
    draft_version = services.template_version_create_next(template=template_v1.template)
    crisis = services.crisis_declare(
        centre=centre_a, systems_down=["ois"], description="", user=referent_a
    )
    group = services.patient_group_add(
        crisis=crisis,
        user=referent_a,
        label="VMAT",
        technique=Technique.IMRT_VMAT,
        category=2,
        patient_count=2,
        fractions_left=5,
        last_fraction_on="2026-01-05",
    )
    return {
        "a": centre_a.pk,
        "contact_a": ContactFactory(centre=centre_a).pk,
        "v1": template_v1.pk,
        "v2": draft_version.pk,
        "ab": convention_ab.pk,
        "ab_clause": convention_ab.clauses.filter(negotiable=True).first().pk,
        "bc": convention_bc.pk,
        "bc_clause": convention_bc.clauses.filter(negotiable=True).first().pk,
        "bc_party": convention_bc.parties.get(centre=centre_b).pk,
        "crisis": crisis.pk,
        "group": group.pk,
        "system_a": InformationSystem.objects.create(
            centre=centre_a, kind="tps", vendor="RaySearch", product="RayStation", hosting="on_site"
        ).pk,
        "machine_a": MachineFactory(centre=centre_a).pk,
        "template": template_v1.template.pk,
        "plan_entry": services.plan_entry_add(
            centre=centre_a, technique=Technique.IMRT_VMAT, receiving_centre=centre_c
        ).pk,
        "transfer": _transfer_to_b(centre_a, centre_b, referent_a),
        "authority": Authority.objects.create(
            kind="ars", name="ARS Hauts-de-France", phone="03 62 72 77 77"
        ).pk,
        "kit_a": _kit_edition(centre_a),
        **_exercise_objects(centre_a, pm),
        "action": services.crisis_action_add(
            crisis=crisis, title="Tester", owner="Cadre", due_date=date(2030, 1, 1), user=referent_a
        ).pk,
    }


def _exercise_objects(centre, pm) -> dict:
    from datetime import timedelta

    from django.utils import timezone

    from cyber_continuity.models import ExerciseScenario

    scenario = ExerciseScenario.objects.order_by("pk").first()
    exercise = services.exercise_schedule(
        scenario=scenario, centres=[centre], planned_for=timezone.now() + timedelta(days=9), user=pm
    )
    action = services.crisis_action_add(
        exercise=exercise, title="RETEX", owner="Cadre", due_date=date(2030, 1, 1), user=pm
    )
    return {
        "exercise": exercise.pk,
        "inject": exercise.injects.first().pk,
        "scenario": scenario.pk,
        "exercise_action": action.pk,
    }


def _kit_edition(centre) -> int:
    from django.core.files.base import ContentFile

    from cyber_continuity.models import CrisisKitEdition

    edition = CrisisKitEdition(centre=centre, reason="monthly")
    edition.pdf.save("kit.pdf", ContentFile(b"%PDF-1.4 kit"), save=False)
    edition.save()
    return edition.pk


def _transfer_to_b(centre_a, centre_b, referent_a) -> int:
    """A transfer to B in a crisis of its own (B then sees that crisis, not the other)."""
    CapacityFactory(centre=centre_b)
    crisis = services.crisis_declare(
        centre=centre_a, systems_down=[], description="", user=referent_a
    )
    group = services.patient_group_add(
        crisis=crisis,
        user=referent_a,
        label="3D",
        technique=Technique.IMRT_VMAT,
        category=3,
        patient_count=1,
        fractions_left=5,
        last_fraction_on=date(2026, 1, 5),
    )
    return services.transfer_propose(
        group=group, receiving_centre=centre_b, patient_count=1, user=referent_a
    ).pk


ALL = (OK, OK, OK, OK, OK)
REFERENT_A_ONLY = (DENIED, DENIED, OK, DENIED, DENIED)
PM_ONLY = (OK, DENIED, DENIED, DENIED, DENIED)
REFERENT_A_POST = (DENIED, DENIED, 302, DENIED, DENIED)
PM_ONLY_POST = (302, DENIED, DENIED, DENIED, DENIED)

# name, args (keys of ``objects``), method, statuses for pm, copil, referent_a,
# oncologist_a, oncologist_b (anonymous is always sent to the login page).
MATRIX = [
    ("registry-list", [], "get", ALL),
    ("overview", [], "get", (OK, OK, DENIED, DENIED, DENIED)),
    ("centre-detail", ["a"], "get", ALL),
    ("profile-edit", ["a"], "get", REFERENT_A_ONLY),
    ("capacity-edit", ["a"], "get", REFERENT_A_ONLY),
    ("capacity-attest", ["a"], "post", (DENIED, DENIED, 302, DENIED, DENIED)),
    ("contact-create", ["a"], "get", REFERENT_A_ONLY),
    ("contact-update", ["contact_a"], "get", REFERENT_A_ONLY),
    ("machine-create", ["a"], "get", REFERENT_A_ONLY),
    ("system-create", ["a"], "get", REFERENT_A_ONLY),
    ("authority-list", [], "get", ALL),
    ("authority-create", [], "get", PM_ONLY),
    ("authority-update", ["authority"], "get", PM_ONLY),
    ("authorities-confirm", [], "post", PM_ONLY_POST),
    ("crisis-report-add", ["crisis"], "get", (OK, DENIED, OK, DENIED, HIDDEN)),
    ("template-list", [], "get", ALL),
    ("template-create", [], "get", PM_ONLY),
    ("template-version-detail", ["v1"], "get", ALL),
    ("template-version-detail", ["v2"], "get", (OK, HIDDEN, HIDDEN, HIDDEN, HIDDEN)),
    ("template-version-edit", ["v2"], "get", PM_ONLY),
    ("convention-list", [], "get", ALL),
    ("convention-create", [], "get", (OK, DENIED, OK, DENIED, DENIED)),
    ("convention-detail", ["ab"], "get", ALL),
    ("convention-detail", ["bc"], "get", (OK, OK, HIDDEN, HIDDEN, OK)),
    ("convention-clause-edit", ["ab", "ab_clause"], "get", REFERENT_A_ONLY),
    (
        "convention-clause-edit",
        ["bc", "bc_clause"],
        "get",
        (DENIED, DENIED, HIDDEN, HIDDEN, DENIED),
    ),
    ("convention-history", ["bc"], "get", (OK, OK, HIDDEN, HIDDEN, OK)),
    ("convention-pdf", ["bc"], "get", (OK, OK, HIDDEN, HIDDEN, OK)),
    ("convention-transition", ["bc"], "post", (DENIED, DENIED, HIDDEN, HIDDEN, DENIED)),
    ("convention-sign", ["bc"], "post", (DENIED, DENIED, HIDDEN, HIDDEN, DENIED)),
    (
        "convention-delegation-download",
        ["bc", "bc_party"],
        "get",
        (HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN),
    ),
    (
        "convention-party-sign",
        ["bc", "bc_party"],
        "get",
        (DENIED, DENIED, HIDDEN, HIDDEN, DENIED),
    ),
    ("convention-amend", ["bc"], "post", (302, DENIED, HIDDEN, HIDDEN, DENIED)),
    ("plan-detail", ["a"], "get", ALL),
    ("plan-entry-add", ["a"], "get", REFERENT_A_ONLY),
    ("crisis-list", [], "get", ALL),
    ("crisis-declare", [], "get", (OK, DENIED, OK, DENIED, DENIED)),
    ("crisis-detail", ["crisis"], "get", (OK, OK, OK, OK, HIDDEN)),
    ("crisis-transition", ["crisis"], "post", (OK, DENIED, OK, DENIED, HIDDEN)),
    ("patient-group-add", ["crisis"], "get", (OK, DENIED, OK, DENIED, HIDDEN)),
    ("crisis-action-add", ["crisis"], "get", (OK, DENIED, OK, DENIED, HIDDEN)),
    ("crisis-event-add", ["crisis"], "get", (OK, DENIED, OK, DENIED, HIDDEN)),
    ("patient-group-match", ["group"], "get", (OK, DENIED, OK, DENIED, HIDDEN)),
    ("crisis-action-done", ["action"], "post", (302, DENIED, 302, DENIED, HIDDEN)),
    ("transfer-update", ["transfer"], "post", (DENIED, DENIED, DENIED, DENIED, DENIED)),
    ("transfer-phone-answer", ["transfer"], "get", PM_ONLY),
    ("crisis-kit-pdf", ["a"], "get", ALL),
    ("kit-edition-list", ["a"], "get", (OK, OK, OK, OK, HIDDEN)),
    # A kept edition prints every contact: not for the COPIL (A is in crisis: its members may).
    ("kit-edition-download", ["kit_a"], "get", (OK, DENIED, OK, OK, HIDDEN)),
    ("contact-delete", ["contact_a"], "post", REFERENT_A_POST),
    ("system-update", ["system_a"], "get", REFERENT_A_ONLY),
    ("system-delete", ["system_a"], "post", REFERENT_A_POST),
    ("machine-update", ["machine_a"], "get", REFERENT_A_ONLY),
    ("machine-delete", ["machine_a"], "post", REFERENT_A_POST),
    ("plan-entry-move", ["plan_entry"], "post", REFERENT_A_POST),
    ("plan-entry-delete", ["plan_entry"], "post", REFERENT_A_POST),
    ("crisis-action-status", ["action"], "post", (302, DENIED, 302, DENIED, HIDDEN)),
    ("crisis-action-status", ["exercise_action"], "post", (302, DENIED, 302, DENIED, HIDDEN)),
    ("crisis-action-done", ["exercise_action"], "post", (302, DENIED, 302, DENIED, HIDDEN)),
    ("exercise-list", [], "get", ALL),
    ("exercise-schedule", [], "get", (OK, DENIED, OK, DENIED, DENIED)),
    ("exercise-detail", ["exercise"], "get", (OK, OK, OK, OK, HIDDEN)),
    ("exercise-pdf", ["exercise"], "get", (OK, OK, OK, OK, HIDDEN)),
    ("exercise-transition", ["exercise"], "post", (302, DENIED, 302, DENIED, HIDDEN)),
    ("exercise-inject-add", ["exercise"], "get", (OK, DENIED, OK, DENIED, HIDDEN)),
    ("exercise-action-add", ["exercise"], "get", (OK, DENIED, OK, DENIED, HIDDEN)),
    ("exercise-inject-play", ["inject"], "post", (302, DENIED, 302, DENIED, HIDDEN)),
    ("scenario-list", [], "get", ALL),
    ("scenario-create", [], "get", PM_ONLY),
    ("scenario-update", ["scenario"], "get", PM_ONLY),
    ("template-version-publish", ["v2"], "post", PM_ONLY_POST),
    ("template-version-create", ["template"], "post", PM_ONLY_POST),
]
CASES = [
    (name, args, method, persona, expected)
    for name, args, method, statuses in MATRIX
    for persona, expected in zip(PERSONAS, (302, *statuses), strict=True)
]


@pytest.mark.parametrize(
    ("name", "args", "method", "persona", "expected"),
    CASES,
    ids=[f"{c[0]}-{'-'.join(c[1])}-{c[3]}" for c in CASES],
)
def test_permission_matrix(objects, as_persona, name, args, method, persona, expected):
    client = as_persona(persona)
    url = reverse(f"cyber_continuity:{name}", args=[objects[key] for key in args])
    response = getattr(client, method)(url)
    assert response.status_code == expected, f"{persona} {method.upper()} {url}"
    if persona == "anonymous":
        assert "/compte/connexion/" in response["Location"]


# The DSR-C crisis cell (regional, no centre) follows every crisis and exercise, reads the
# registry and the crisis contacts and records phone answers; it runs no crisis, edits no
# centre data, sees no unsigned convention and has none of the project manager's rights.
# Rows of MATRIX not listed here: DENIED.
CRISIS_CELL = {
    ("registry-list", ()): OK,
    ("centre-detail", ("a",)): OK,
    ("authority-list", ()): OK,
    ("template-list", ()): OK,
    ("template-version-detail", ("v1",)): OK,
    ("template-version-detail", ("v2",)): HIDDEN,
    ("convention-list", ()): OK,
    ("convention-detail", ("ab",)): HIDDEN,
    ("convention-detail", ("bc",)): HIDDEN,
    ("convention-clause-edit", ("ab", "ab_clause")): HIDDEN,
    ("convention-clause-edit", ("bc", "bc_clause")): HIDDEN,
    ("convention-history", ("bc",)): HIDDEN,
    ("convention-pdf", ("bc",)): HIDDEN,
    ("convention-transition", ("bc",)): HIDDEN,
    ("convention-sign", ("bc",)): HIDDEN,
    ("convention-delegation-download", ("bc", "bc_party")): HIDDEN,
    ("convention-party-sign", ("bc", "bc_party")): HIDDEN,
    ("convention-amend", ("bc",)): HIDDEN,
    ("plan-detail", ("a",)): OK,
    ("crisis-list", ()): OK,
    ("crisis-detail", ("crisis",)): OK,
    ("transfer-phone-answer", ("transfer",)): OK,
    ("crisis-kit-pdf", ("a",)): OK,
    ("kit-edition-list", ("a",)): HIDDEN,
    ("kit-edition-download", ("kit_a",)): HIDDEN,
    ("exercise-list", ()): OK,
    ("exercise-detail", ("exercise",)): OK,
    ("exercise-pdf", ("exercise",)): OK,
    ("scenario-list", ()): OK,
}
CRISIS_CELL_CASES = [
    (name, args, method, CRISIS_CELL.get((name, tuple(args)), DENIED))
    for name, args, method, _statuses in MATRIX
]


@pytest.mark.parametrize(
    ("name", "args", "method", "expected"),
    CRISIS_CELL_CASES,
    ids=[f"{c[0]}-{'-'.join(c[1])}-crisis_cell" for c in CRISIS_CELL_CASES],
)
def test_permission_matrix_of_the_crisis_cell(objects, crisis_cell, name, args, method, expected):
    from tests.conftest import login

    url = reverse(f"cyber_continuity:{name}", args=[objects[key] for key in args])
    response = getattr(login(crisis_cell), method)(url)
    assert response.status_code == expected, f"crisis cell {method.upper()} {url}"


def test_the_crisis_cell_has_none_of_the_other_regional_rights(crisis_cell):
    from tests.conftest import login

    client = login(crisis_cell)
    assert client.get(reverse("home")).status_code == OK
    for name in (
        "onco_hdf:centre-list",
        "onco_hdf:user-list",
        "onco_hdf:copil-meeting-list",
        "cyber_continuity:overview",
    ):
        assert client.get(reverse(name)).status_code == DENIED, name
    home = client.get(reverse("home")).content.decode()
    assert reverse("cyber_continuity:crisis-list") in home


def test_every_url_of_the_app_is_in_the_matrix():
    from cyber_continuity.urls import urlpatterns

    assert {p.name for p in urlpatterns} == {row[0] for row in MATRIX}


# Crisis contacts (personal mobiles, e-mails) of centre B: who reads them, who sees only
# the switchboard. During a crisis of A with a transfer to B, A's members read B's too.
CONTACT_READERS = {
    "pm": True,
    "crisis_cell": True,
    "copil": False,
    "referent_a": True,
    "head_a": True,
    "oncologist_a": False,
    "physicist_a": False,
    "oncologist_b": False,
}


@pytest.fixture
def centre_b_contacts(centre_b):
    from cyber_continuity.models import CentreProfile

    CentreProfile.objects.create(centre=centre_b, switchboard_phone="03 22 00 00 00")
    return ContactFactory(centre=centre_b, mobile_phone="06 12 34 56 78", email="perso@b.example")


@pytest.mark.parametrize(("persona", "reads"), CONTACT_READERS.items())
def test_crisis_contacts_matrix(centre_b_contacts, centre_b, request, persona, reads):
    from tests.conftest import login

    user = request.getfixturevalue(persona)
    html = login(user).get(reverse("cyber_continuity:centre-detail", args=[centre_b.pk]))
    html = html.content.decode()
    assert ("06 12 34 56 78" in html) is reads, persona
    assert ("perso@b.example" in html) is reads, persona
    assert "03 22 00 00 00" in html


@pytest.mark.parametrize("persona", ["oncologist_a", "oncologist_b", "physicist_a"])
def test_crisis_participants_read_each_others_contacts(
    centre_a, centre_b, centre_b_contacts, referent_a, request, persona
):
    from tests.conftest import login

    ContactFactory(centre=centre_a, mobile_phone="06 99 88 77 66")
    _transfer_to_b(centre_a, centre_b, referent_a)
    client = login(request.getfixturevalue(persona))
    b_page = client.get(reverse("cyber_continuity:centre-detail", args=[centre_b.pk]))
    a_page = client.get(reverse("cyber_continuity:centre-detail", args=[centre_a.pk]))
    assert "06 12 34 56 78" in b_page.content.decode()
    assert "06 99 88 77 66" in a_page.content.decode()


def test_crisis_kit_hides_contacts_from_those_who_may_not_read_them(
    centre_a, centre_b, centre_b_contacts, oncologist_a
):
    from cyber_continuity import reports
    from onco_hdf.pdf import render_pdf
    from tests.cyber_continuity.test_reports import pdf_text

    services.plan_entry_add(
        centre=centre_a, technique=Technique.IMRT_VMAT, receiving_centre=centre_b
    )
    spec = reports.build_crisis_kit_context(centre=centre_a, viewer=oncologist_a)
    text = pdf_text(render_pdf(spec.template_name, spec.context))
    assert "06 12 34 56 78" not in text
    assert "03 22 00 00 00" in text
    own = reports.build_crisis_kit_context(centre=centre_a)
    assert "06 12 34 56 78" in pdf_text(render_pdf(own.template_name, own.context))


@pytest.mark.parametrize(
    ("confirmed_device", "sent_to", "heading"),
    [
        (False, "account:otp-setup", "<h1>Activer la double authentification</h1>"),
        (True, "account:otp-verify", "<h1>Second facteur</h1>"),
    ],
    ids=["no-confirmed-device", "device-not-verified"],
)
def test_the_crisis_cell_reaches_no_crisis_page_without_the_second_factor(
    crisis_cell, centre_a, referent_a, confirmed_device, sent_to, heading
):
    """A regional role reading every centre's crisis contacts: signed in with the password
    only, the crisis cell is sent to enrol or enter its second factor from every page."""
    from django.test import Client
    from django_otp.plugins.otp_totp.models import TOTPDevice

    crisis = services.crisis_declare(
        centre=centre_a, systems_down=["ois"], description="", user=referent_a
    )
    TOTPDevice.objects.create(user=crisis_cell, name="enrolment begun", confirmed=False)
    if confirmed_device:
        TOTPDevice.objects.create(user=crisis_cell, name="phone", confirmed=True)
    client = Client()
    client.force_login(crisis_cell)  # password checked, no second factor in this session
    for url in (
        reverse("cyber_continuity:crisis-list"),
        reverse("cyber_continuity:crisis-detail", args=[crisis.pk]),
        reverse("cyber_continuity:exercise-list"),
        reverse("home"),
    ):
        response = client.get(url)
        assert (response.status_code, response["Location"]) == (
            302,
            f"{reverse(sent_to)}?next={url}",
        ), url
    page = client.get(response["Location"])
    assert page.status_code == OK and heading in page.content.decode()
