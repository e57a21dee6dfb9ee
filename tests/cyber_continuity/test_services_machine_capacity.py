"""Free slots per machine × technique: where several machines of a centre deliver it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from cyber_continuity import reports, services
from cyber_continuity.models import (
    CapacityDeclaration,
    MachineCapacity,
    Technique,
    Transfer,
    TransferStatus,
)
from tests.conftest import login
from tests.cyber_continuity.factories import MachineFactory
from tests.cyber_continuity.test_reports_kit import _kit_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def linacs_b(region):
    """Centre B: its TrueBeam (from the region) plus a Halcyon that cannot do SBRT."""
    truebeam = region["b"].machines.get()
    truebeam.name = "TrueBeam 1"
    truebeam.save()
    halcyon = MachineFactory(
        centre=region["b"], name="Halcyon 2", model="Halcyon", sbrt_capable=False
    )
    return truebeam, halcyon


def _split_vmat(region, referent_b, truebeam, halcyon, *, on_truebeam=3, on_halcyon=2):
    services.capacities_save(
        centre=region["b"],
        rows={Technique.IMRT_VMAT: (0, 1), Technique.SBRT: (2, 0)},
        machine_rows={Technique.IMRT_VMAT: {truebeam.pk: on_truebeam, halcyon.pk: on_halcyon}},
        user=referent_b,
    )


def _group(crisis, user, technique=Technique.IMRT_VMAT, count=6):
    return services.patient_group_add(
        crisis=crisis,
        user=user,
        label="VMAT prostate" if technique == Technique.IMRT_VMAT else "SBRT poumon",
        technique=technique,
        category=2,
        patient_count=count,
        fractions_left=12,
        last_fraction_on=timezone.localdate(),
    )


def _candidate(group, centre):
    return next(c for c in services.match_receivers(group) if c.centre.pk == centre.pk)


def test_split_sums_into_the_technique_and_checks_the_machines(region, referent_b, linacs_b):
    truebeam, halcyon = linacs_b
    _split_vmat(region, referent_b, truebeam, halcyon)
    vmat = CapacityDeclaration.objects.get(centre=region["b"], technique=Technique.IMRT_VMAT)
    assert vmat.free_slots_per_day == 5
    assert dict(vmat.machine_slots.values_list("machine__name", "free_slots_per_day")) == {
        "TrueBeam 1": 3,
        "Halcyon 2": 2,
    }
    # The Halcyon cannot deliver SBRT; a machine of another centre is not B's.
    other = region["a"].machines.get()
    for machine in (halcyon, other):
        with pytest.raises(ValidationError, match="pas une machine de ce centre"):
            services.capacities_save(
                centre=region["b"],
                rows={Technique.SBRT: (2, 0)},
                machine_rows={Technique.SBRT: {machine.pk: 2}},
                user=referent_b,
            )
    # Saving without a split returns the technique to technique-level slots.
    services.capacities_save(
        centre=region["b"], rows={Technique.IMRT_VMAT: (4, 1)}, user=referent_b
    )
    vmat.refresh_from_db()
    assert vmat.free_slots_per_day == 4 and not vmat.machine_slots.exists()


def test_accepted_transfer_decrements_the_chosen_machine_only(
    region, referent_a, referent_b, linacs_b
):
    truebeam, halcyon = linacs_b
    _split_vmat(region, referent_b, truebeam, halcyon)
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=["ois"], description="", user=referent_a
    )
    vmat = _group(crisis, referent_a)
    sbrt = _group(crisis, referent_a, technique=Technique.SBRT, count=1)
    transfer = services.transfer_propose(
        group=vmat,
        receiving_centre=region["b"],
        patient_count=2,
        receiving_machine=halcyon,
        user=referent_a,
    )
    assert transfer.receiving_machine == halcyon
    services.transfer_update(transfer=transfer, to_status=TransferStatus.ACCEPTED, user=referent_b)

    candidate = _candidate(vmat, region["b"])
    by_machine = {m.machine.name: m.free_slots for m in candidate.machine_slots}
    assert by_machine == {"TrueBeam 1": 3, "Halcyon 2": 0}
    assert candidate.free_slots == 3 + 2 + 1 - 2
    # Another technique's slots at B are untouched by the VMAT patients.
    assert _candidate(sbrt, region["b"]).free_slots == 2

    # A transfer with no machine named uses the technique's total, not a machine's.
    other = services.transfer_propose(
        group=vmat, receiving_centre=region["b"], patient_count=1, user=referent_a
    )
    services.transfer_update(transfer=other, to_status=TransferStatus.ACCEPTED, user=referent_b)
    candidate = _candidate(vmat, region["b"])
    assert {m.machine.name: m.free_slots for m in candidate.machine_slots} == by_machine
    assert candidate.free_slots == 3


def test_stopped_machine_gives_no_slots_and_cannot_be_chosen(
    region, referent_a, referent_b, linacs_b
):
    truebeam, halcyon = linacs_b
    _split_vmat(region, referent_b, truebeam, halcyon)
    truebeam.in_service = False
    truebeam.save()
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=["ois"], description="", user=referent_a
    )
    group = _group(crisis, referent_a)
    candidate = _candidate(group, region["b"])
    assert not candidate.unavailable  # the Halcyon still works
    stopped = next(m for m in candidate.machine_slots if m.machine == truebeam)
    assert stopped.stopped and stopped.declared == 0
    assert candidate.free_slots == 2 + 1
    with pytest.raises(ValidationError, match="TrueBeam 1 est à l'arrêt"):
        services.transfer_propose(
            group=group,
            receiving_centre=region["b"],
            patient_count=1,
            receiving_machine=truebeam,
            user=referent_a,
        )
    assert not Transfer.objects.exists()


def test_capacity_form_saves_the_split_and_shows_only_suited_machines(region, referent_b, linacs_b):
    truebeam, halcyon = linacs_b
    client = login(referent_b)
    url = reverse("cyber_continuity:capacity-edit", args=[region["b"].pk])
    page = client.get(url).content.decode()
    assert f'name="imrt_vmat-m{halcyon.pk}"' in page and f'name="imrt_vmat-m{truebeam.pk}"' in page
    # One SBRT-capable machine: nothing to split for SBRT.
    assert f'name="sbrt-m{truebeam.pk}"' not in page
    response = client.post(
        url,
        {
            "imrt_vmat-offered": "on",
            "imrt_vmat-free": "9",
            "imrt_vmat-surge": "1",
            f"imrt_vmat-m{truebeam.pk}": "4",
            f"imrt_vmat-m{halcyon.pk}": "",
        },
    )
    assert response.status_code == 302
    vmat = CapacityDeclaration.objects.get(centre=region["b"], technique=Technique.IMRT_VMAT)
    assert vmat.free_slots_per_day == 4
    assert list(vmat.machine_slots.values_list("machine", "free_slots_per_day")) == [
        (truebeam.pk, 4)
    ]
    detail = client.get(reverse("cyber_continuity:centre-detail", args=[region["b"].pk]))
    assert "dont sur TrueBeam 1" in detail.content.decode()


def test_match_page_shows_machine_slots_and_refuses_another_centres_machine(
    region, referent_a, referent_b, linacs_b
):
    truebeam, halcyon = linacs_b
    _split_vmat(region, referent_b, truebeam, halcyon)
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=["ois"], description="", user=referent_a
    )
    group = _group(crisis, referent_a)
    client = login(referent_a)
    url = reverse("cyber_continuity:patient-group-match", args=[group.pk])
    page = client.get(url).content.decode()
    assert "TrueBeam 1: 3" in page and "Halcyon 2: 2" in page
    assert f'<option value="{halcyon.pk}">Halcyon 2 (2 libre(s))</option>' in page
    foreign = region["far"].machines.get()
    response = client.post(
        url,
        {"receiving_centre": region["b"].pk, "patient_count": 2, "receiving_machine": foreign.pk},
        follow=True,
    )
    assert "Machine inconnue." in response.content.decode()
    assert not Transfer.objects.exists()
    client.post(
        url,
        {"receiving_centre": region["b"].pk, "patient_count": 2, "receiving_machine": halcyon.pk},
    )
    assert Transfer.objects.get().receiving_machine == halcyon
    detail = client.get(reverse("cyber_continuity:crisis-detail", args=[crisis.pk]))
    assert f"{region['b'].label}</strong> · Halcyon 2 (2)" in detail.content.decode()


def test_crisis_kit_prints_the_slots_per_machine(region, referent_a, referent_b, linacs_b):
    truebeam, halcyon = linacs_b
    _split_vmat(region, referent_b, truebeam, halcyon, on_truebeam=4, on_halcyon=3)
    halcyon.in_service = False
    halcyon.save()
    services.plan_entry_add(
        centre=region["a"], technique=Technique.IMRT_VMAT, receiving_centre=region["b"]
    )
    spec = reports.build_crisis_kit_context(centre=region["a"])
    receiver = next(r for r in spec.context["receivers"] if r.pk == region["b"].pk)
    (declaration, slots), *_ = [
        row for row in receiver.kit_capacities if row[0].technique == Technique.IMRT_VMAT
    ]
    assert slots.free == 4
    assert [(m.machine.name, m.declared) for m in slots.machines] == [
        ("Halcyon 2", 0),
        ("TrueBeam 1", 4),
    ]
    text = _kit_text(region["a"])
    assert "dont sur TrueBeam 1 4" in text
    assert "dont sur Halcyon 2 (à l'arrêt) 0" in text


BEFORE = [("cyber_continuity", "0009_convention_party_signature")]
AFTER = [("cyber_continuity", "0010_machine_capacity")]


@pytest.mark.django_db(transaction=True)
def test_migration_keeps_the_technique_level_capacities():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Centre = old.get_model("onco_hdf", "Centre")
    Declaration = old.get_model("cyber_continuity", "CapacityDeclaration")
    centre = Centre.objects.create(
        name="CHU test", finess="590000019", city="Amiens", departement="80", sector="public"
    )
    Declaration.objects.create(
        centre=centre, technique="sbrt", free_slots_per_day=7, surge_slots_per_day=2
    )
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    declaration = CapacityDeclaration.objects.get(centre_id=centre.pk)
    assert (declaration.free_slots_per_day, declaration.surge_slots_per_day) == (7, 2)
    assert not MachineCapacity.objects.exists()
    assert services.capacity_slots(declaration).free == 7
