"""Fixtures of the continuity tests: a small region, a template, conventions."""

from __future__ import annotations

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from cyber_continuity import services
from onco_hdf.models import Role
from onco_hdf.signatures import Credentials
from tests.conftest import PASSWORD, make_user, otp_code
from tests.cyber_continuity.factories import CapacityFactory, ContactFactory, MachineFactory


def sign(*, convention, centre, user, **extra):
    """Sign for ``centre`` as its legal representative, re-authenticated with the password
    (and the current code of the user's authenticator when they have one)."""
    has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    token = otp_code(user) if has_device else ""
    return services.convention_sign(
        convention=convention,
        centre=centre,
        user=user,
        credentials=extra.pop("credentials", Credentials(password=PASSWORD, otp_token=token)),
        signer_title=extra.pop("signer_title", "Directeur général"),
        **extra,
    )


@pytest.fixture
def template_v1(pm):
    template = services.template_create(title="Convention type (test)", user=pm)
    version = template.versions.get()
    return services.template_version_publish(version=version, user=pm)


@pytest.fixture
def referent_b(centre_b):
    return make_user("referent_b", Role.REFERENT, centre_b)


@pytest.fixture
def crisis_cell(db):
    """A member of the DSR-C crisis cell: regional, no centre."""
    return make_user("cellule_crise", Role.CRISIS_CELL)


@pytest.fixture
def convention_ab(template_v1, centre_a, centre_b, referent_a):
    return services.convention_create(
        template_version=template_v1,
        centres=[centre_a, centre_b],
        title="Entraide A — B",
        user=referent_a,
    )


@pytest.fixture
def in_force_ab(convention_ab, referent_a, referent_b, centre_a, centre_b):
    services.convention_transition(
        convention=convention_ab, to_status="negotiation", user=referent_a
    )
    services.convention_transition(
        convention=convention_ab, to_status="awaiting_signature", user=referent_a
    )
    sign(convention=convention_ab, centre=centre_a, user=referent_a)
    sign(convention=convention_ab, centre=centre_b, user=referent_b)
    convention_ab.refresh_from_db()
    return convention_ab


@pytest.fixture
def region(centre_a, centre_b):
    """centre_a is attacked; B and three other centres could receive its VMAT patients."""
    from tests.cyber_continuity.factories import CentreFactory

    centre_a.latitude, centre_a.longitude = 50.61, 3.03  # Lille
    centre_a.save()
    centre_b.latitude, centre_b.longitude = 49.87, 2.27  # Amiens, ~115 km
    centre_b.save()
    near = CentreFactory(short_name="Near", latitude=50.69, longitude=3.18)  # Roubaix ~14 km
    far = CentreFactory(short_name="Far", latitude=50.95, longitude=1.86)  # Calais ~90 km
    full = CentreFactory(short_name="Full", latitude=50.62, longitude=3.05)
    MachineFactory(centre=centre_a, beam_matching_group="TB-1")
    MachineFactory(centre=centre_b, beam_matching_group="TB-1")  # matched
    MachineFactory(
        centre=near, manufacturer="Elekta", model="Versa HD", beam_matching_group="VHD"
    )  # not matched
    MachineFactory(centre=far, beam_matching_group="")  # same model: transferable
    MachineFactory(centre=full, beam_matching_group="TB-1")
    for centre in (centre_a, centre_b, near, far):
        CapacityFactory(centre=centre, free_slots_per_day=3, surge_slots_per_day=1)
    CapacityFactory(centre=full, free_slots_per_day=0, surge_slots_per_day=0)
    for centre in (centre_a, centre_b, near, far, full):
        ContactFactory(centre=centre)
    return {"a": centre_a, "b": centre_b, "near": near, "far": far, "full": full}


@pytest.fixture
def scenario_library(db):
    """The scenario library seeded by the migration (transactional tests flush it)."""
    from importlib import import_module

    from django.apps import apps

    from cyber_continuity.models import ExerciseScenario

    seed = import_module("cyber_continuity.migrations.0008_seed_scenarios_and_migrate_exercises")
    seed.seed_scenarios(apps, None)
    return ExerciseScenario.objects.all()
