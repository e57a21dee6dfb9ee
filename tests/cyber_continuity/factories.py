from __future__ import annotations

import factory
from django.utils import timezone

from cyber_continuity.models import (
    CapacityDeclaration,
    CrisisContact,
    Machine,
    MachineKind,
    Technique,
)
from onco_hdf.models import Centre


class CentreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Centre

    name = factory.Sequence(lambda n: f"Centre {n} (test)")
    short_name = factory.Sequence(lambda n: f"C{n}")
    finess = factory.Sequence(lambda n: f"{700000000 + n}")
    city = "Lille"
    departement = "59"
    sector = "public"
    latitude = 50.6
    longitude = 3.0


class MachineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Machine

    centre = factory.SubFactory(CentreFactory)
    kind = MachineKind.LINAC
    name = factory.Sequence(lambda n: f"Linac {n}")
    manufacturer = "Varian"
    model = "TrueBeam"
    beam_matching_group = "TB-1"
    sbrt_capable = True
    in_service = True


class CapacityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CapacityDeclaration

    centre = factory.SubFactory(CentreFactory)
    technique = Technique.IMRT_VMAT
    free_slots_per_day = 4
    surge_slots_per_day = 2
    attested_at = factory.LazyFunction(timezone.now)


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CrisisContact

    centre = factory.SubFactory(CentreFactory)
    name = factory.Sequence(lambda n: f"Contact {n}")
    function = "Radiothérapeute d'astreinte"
    mobile_phone = "06 00 00 00 00"
    email = factory.Sequence(lambda n: f"crise{n}@example.org")
