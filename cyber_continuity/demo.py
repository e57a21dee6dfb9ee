"""Demo region: profiles, contacts, systems, machines, capacities, a convention template in two
versions, conventions in several states, transfer plans and one past exercise.

Idempotent: every object is found by a natural key before being created. All content is
made up (demo centres are flagged ``is_demo`` by the foundation).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cyber_continuity import services
from cyber_continuity.models import (
    CapacityDeclaration,
    CentreProfile,
    ClauseKind,
    Convention,
    ConventionTemplate,
    ConventionTransition,
    Crisis,
    CrisisAction,
    CrisisContact,
    CrisisEvent,
    CrisisTransition,
    Exercise,
    ExerciseScenario,
    InformationSystem,
    Machine,
    MachineCapacity,
    MachineKind,
    Technique,
    Transfer,
    TransferPlanEntry,
    TransferStatus,
)
from onco_hdf.demo import DEMO_PASSWORD
from onco_hdf.models import Centre
from onco_hdf.signatures import Credentials

# short name → (OIS vendor/product, TPS, linac family)
VARIAN = ("Varian", "TrueBeam", "Millennium 120", "6 MV, 10 MV, 6 FFF, 10 FFF", "TB-HDF-A")
ELEKTA = ("Elekta", "Versa HD", "Agility 160", "6 MV, 10 MV, 6 FFF", "VHD-HDF-B")
HALCYON = ("Varian", "Halcyon", "SX2 double couche", "6 FFF", "")
FLEET = {
    "CHU Lille": [VARIAN, VARIAN, ELEKTA],
    "CLCC Lille": [VARIAN, VARIAN, VARIAN],
    "Valenciennes": [ELEKTA, ELEKTA],
    "Maubeuge": [HALCYON],
    "Dunkerque": [ELEKTA, ELEKTA],
    "Roubaix": [VARIAN, HALCYON],
    "Lens": [VARIAN, VARIAN],
    "Arras": [ELEKTA],
    "Boulogne": [VARIAN],
    "Béthune": [HALCYON, HALCYON],
    "Calais": [ELEKTA],
    "CHU Amiens": [VARIAN, VARIAN, ELEKTA],
    "Abbeville": [VARIAN],
    "Saint-Quentin": [ELEKTA, ELEKTA],
    "Beauvais": [VARIAN],
    "Compiègne": [ELEKTA],
}
BIG = {"CHU Lille", "CLCC Lille", "CHU Amiens"}
# Free slots split per machine (Accélérateur 1, 2…) where a technique runs on several: the
# Elekta of CHU Amiens gives fewer VMAT slots; Roubaix's Halcyon does VMAT but not SBRT.
MACHINE_SPLITS = {
    "CHU Amiens": {Technique.IMRT_VMAT: [3, 3, 2]},
    "Roubaix": {Technique.IMRT_VMAT: [2, 1]},
}
STALE = {"Maubeuge", "Calais", "Béthune"}  # attestations left to age, to show the flags


def _centres() -> dict[str, Centre]:
    return {c.label: c for c in Centre.objects.filter(is_demo=True)}


def _seed_registry(centres: dict[str, Centre], referent) -> None:
    now = timezone.now()
    for index, (short, centre) in enumerate(sorted(centres.items())):
        CentreProfile.objects.update_or_create(
            centre=centre,
            defaults={
                "legal_entity": centre.name.replace(" (démo)", "").split(" — ")[0],
                "address": f"{10 + index} rue de l'Hôpital\n{centre.city}",
                "crisis_procedure": "Procédure dégradée papier : classeur rouge au secrétariat "
                "de radiothérapie ; activée par le cadre de santé d'astreinte.",
            },
        )
        slug = short.lower().replace(" ", "").replace("é", "e").replace("è", "e")
        for order, (name, function) in enumerate(
            [
                (f"Dr Garde {short}", "Radiothérapeute d'astreinte"),
                (f"Cadre {short}", "Cadre de santé"),
            ],
            start=1,
        ):
            CrisisContact.objects.update_or_create(
                centre=centre,
                name=name,
                defaults={
                    "function": function,
                    "mobile_phone": f"06 12 34 {index:02d} {order:02d}",
                    "messaging": f"Signal : +33 6 12 34 {index:02d} {order:02d}",
                    "email": f"crise.{slug}@demo.onco-hdf.fr",
                    "backup_email": f"crise.{slug}@secours.demo.fr",
                    "available_24_7": True,
                    "order": order,
                },
            )
        varian = FLEET[short][0][0] == "Varian"
        for kind, vendor, product, version in [
            (
                "ois",
                "Varian" if varian else "Elekta",
                "ARIA" if varian else "MOSAIQ",
                "16.1" if varian else "3.2",
            ),
            (
                "tps",
                "RaySearch" if index % 2 else ("Varian" if varian else "Elekta"),
                "RayStation" if index % 2 else ("Eclipse" if varian else "Monaco"),
                "2024A" if index % 2 else "16.1",
            ),
            ("pacs", "Philips", "Vue PACS", "12.2"),
        ]:
            InformationSystem.objects.update_or_create(
                centre=centre,
                kind=kind,
                defaults={
                    "vendor": vendor,
                    "product": product,
                    "version": version,
                    "hosting": "cloud" if (kind == "pacs" and index % 3 == 0) else "on_site",
                    "backup_strategy": "Sauvegarde quotidienne externalisée, copie hors ligne "
                    "hebdomadaire (3-2-1).",
                    "last_restore_test": (now - timedelta(days=30 + 20 * index)).date(),
                },
            )
        for number, (maker, model, mlc, energies, group) in enumerate(FLEET[short], start=1):
            Machine.objects.update_or_create(
                centre=centre,
                name=f"Accélérateur {number}",
                defaults={
                    "kind": MachineKind.LINAC,
                    "manufacturer": maker,
                    "model": model,
                    "mlc": mlc,
                    "energies": energies,
                    "has_fff": "FFF" in energies,
                    "igrt": "CBCT kV",
                    "sbrt_capable": model != "Halcyon",
                    "srs_capable": short in BIG,
                    "beam_matching_group": group,
                    "in_service": True,
                },
            )
        Machine.objects.update_or_create(
            centre=centre,
            name="Scanner de simulation",
            defaults={
                "kind": MachineKind.CT_SIMULATOR,
                "manufacturer": "Siemens",
                "model": "SOMATOM go.Open Pro",
                "in_service": True,
            },
        )
        techniques = [Technique.CONFORMAL_3D, Technique.IMRT_VMAT]
        if short in BIG:
            techniques += [Technique.SBRT, Technique.SRS, Technique.BRACHY_GYN, Technique.TBI]
        elif FLEET[short][0][1] != "Halcyon":
            techniques.append(Technique.SBRT)
        if short in ("CLCC Lille", "CHU Amiens"):
            techniques.append(Technique.PAEDIATRIC)
        attested = now - timedelta(days=75 if short in STALE else 3 + index % 10)
        for technique in techniques:
            CapacityDeclaration.objects.update_or_create(
                centre=centre,
                technique=technique,
                defaults={
                    "free_slots_per_day": (8 if short in BIG else 3)
                    if technique in (Technique.CONFORMAL_3D, Technique.IMRT_VMAT)
                    else 1,
                    "surge_slots_per_day": 6 if short in BIG else 2,
                    "attested_at": attested,
                    "attested_by": referent,
                },
            )
        for technique, slots in MACHINE_SPLITS.get(short, {}).items():
            declaration = CapacityDeclaration.objects.get(centre=centre, technique=technique)
            for number, free in enumerate(slots, start=1):
                MachineCapacity.objects.update_or_create(
                    capacity=declaration,
                    machine=Machine.objects.get(centre=centre, name=f"Accélérateur {number}"),
                    defaults={"free_slots_per_day": free},
                )
            declaration.free_slots_per_day = sum(slots)
            declaration.save()


TEMPLATE_TITLE = "Convention type d'entraide en cas de cyberattaque"

# (title, parties, status, template version number)
CONVENTIONS = [
    ("Entraide CHU de Lille — CLCC de Lille", ["CHU Lille", "CLCC Lille"], "in_force", 2),
    ("Entraide CHU de Lille — Roubaix", ["CHU Lille", "Roubaix"], "in_force", 2),
    ("Entraide CHU de Lille — Valenciennes", ["CHU Lille", "Valenciennes"], "negotiation", 2),
    ("Entraide CHU d'Amiens — Abbeville", ["CHU Amiens", "Abbeville"], "in_force", 1),
    (
        "Entraide CHU d'Amiens — Saint-Quentin",
        ["CHU Amiens", "Saint-Quentin"],
        "awaiting_signature",
        2,
    ),
    ("Entraide CHU d'Amiens — CHU de Lille", ["CHU Amiens", "CHU Lille"], "in_force", 2),
    ("Entraide Lens — Arras — Béthune", ["Lens", "Arras", "Béthune"], "draft", 2),
    ("Entraide Dunkerque — Calais", ["Dunkerque", "Calais"], "renewal_due", 1),
    ("Entraide Beauvais — Compiègne", ["Beauvais", "Compiègne"], "in_force", 2),
    ("Entraide Boulogne — CLCC de Lille", ["Boulogne", "CLCC Lille"], "in_force", 2),
]

# Path through the workflow to each demo state (signatures handled separately).
PATHS = {
    "draft": [],
    "negotiation": ["negotiation"],
    "awaiting_signature": ["negotiation", "awaiting_signature"],
    "in_force": ["negotiation", "awaiting_signature", "sign"],
    "renewal_due": ["negotiation", "awaiting_signature", "sign", "renewal_due"],
}


def _seed_conventions(centres, users) -> None:
    pm = users.get("cheffe.projet")
    template = ConventionTemplate.objects.filter(title=TEMPLATE_TITLE).first()
    if template is None:
        template = services.template_create(
            title=TEMPLATE_TITLE,
            is_demo=True,
            description="Modèle régional validé par le COPIL radiothérapie (démo).",
        )
        v1 = template.versions.get(number=1)
        services.template_version_publish(version=v1, user=pm, notes="Première version.")
    # The version-1 conventions were signed before version 2 existed: a new convention
    # can only use the latest version.
    for number in (1, 2):
        if number == 2 and not template.versions.filter(number=2).exists():
            _publish_demo_v2(template, pm)
        _seed_conventions_on(template, number, centres, users, pm)


def _publish_demo_v2(template, pm) -> None:
    v2 = services.template_version_create_next(template=template)
    clause = v2.clauses.get(kind=ClauseKind.DATA)
    clause.body += (
        " Les plans DICOM-RT sont transmis par la messagerie sécurisée de "
        "santé ou par un support chiffré remis en main propre."
    )
    clause.save()
    services.template_version_publish(
        version=v2, user=pm, notes="Précision sur l'échange des plans DICOM-RT."
    )


def _seed_conventions_on(template, version_number: int, centres, users, pm) -> None:
    versions = {v.number: v for v in template.versions.all()}
    for title, parties, status, number in CONVENTIONS:
        if number != version_number or Convention.objects.filter(title=title).exists():
            continue
        # The referent of the first party drives the negotiation when the demo has one.
        referents = {
            "CHU Lille": users.get("referent.lille"),
            "CHU Amiens": users.get("referent.amiens"),
        }
        user = referents.get(parties[0]) or pm
        convention = services.convention_create(
            template_version=versions[number],
            centres=[centres[p] for p in parties],
            title=title,
            user=user,
            is_demo=True,
        )
        for step in PATHS[status]:
            if step == "sign":
                for party in convention.parties.all():
                    services.convention_sign(
                        convention=convention,
                        centre=party.centre,
                        user=referents.get(party.centre.label) or pm,
                        credentials=Credentials(password=DEMO_PASSWORD),
                        signer_title="Directeur général",
                    )
            elif step == "renewal_due":
                convention.refresh_from_db()
                convention.end_date = timezone.localdate() + timedelta(days=40)
                convention.save()
                services.convention_transition(convention=convention, to_status=step, user=pm)
            else:
                services.convention_transition(convention=convention, to_status=step, user=user)
            convention.refresh_from_db()
        if status == "negotiation":
            clause = convention.clauses.filter(kind=ClauseKind.STAFF).first()
            services.convention_clause_update(
                clause=clause,
                expected_version=clause.version,
                user=user,
                body=clause.body + " Au plus deux manipulateurs et un physicien médical, "
                "pour une durée de quinze jours renouvelable.",
            )
        ConventionTransition.objects.filter(convention=convention).update(
            at=timezone.now() - timedelta(days=30)
        )


PLANS = {
    "CHU Lille": {
        Technique.IMRT_VMAT: ["CLCC Lille", "Roubaix", "Valenciennes"],
        Technique.CONFORMAL_3D: ["CLCC Lille", "Roubaix"],
        Technique.SBRT: ["CLCC Lille"],
        Technique.SRS: ["CLCC Lille"],
        Technique.BRACHY_GYN: ["CHU Amiens"],
    },
    "CHU Amiens": {
        Technique.IMRT_VMAT: ["Abbeville", "Saint-Quentin", "CHU Lille"],
        Technique.CONFORMAL_3D: ["Abbeville"],
        Technique.BRACHY_GYN: ["CHU Lille"],
    },
    "Dunkerque": {Technique.IMRT_VMAT: ["Calais"]},
    "Beauvais": {Technique.IMRT_VMAT: ["Compiègne"], Technique.CONFORMAL_3D: ["Compiègne"]},
}


def _seed_plans(centres) -> None:
    for short, per_technique in PLANS.items():
        for technique, receivers in per_technique.items():
            for rank, receiver in enumerate(receivers, start=1):
                TransferPlanEntry.objects.update_or_create(
                    centre=centres[short],
                    technique=technique,
                    receiving_centre=centres[receiver],
                    defaults={"rank": rank},
                )


# When each timeline event of the demo exercise happened, in minutes after the alert, in
# the order the services write them.
EXERCISE_EVENT_MINUTES = [
    0,  # alert raised
    25,  # declared
    26,  # receiving centres notified
    40,  # group "VMAT prostate"
    45,  # group "VMAT ORL"
    70,  # status: transfers in progress
    70,  # transfer proposed to Abbeville
    95,  # accepted
    1440,  # first fraction in Abbeville
    6 * 1440,  # back home
    300,  # stabilised
    5 * 1440,  # return in progress
    6 * 1440 + 60,  # lifted
    14 * 1440,  # RETEX
]


def _seed_exercise(centres, users) -> None:
    if Crisis.objects.filter(is_demo=True, is_exercise=True).exists():
        return
    referent = users.get("referent.amiens") or users.get("cheffe.projet")
    receiver_user = users.get("referent.lille") or referent
    start = timezone.now() - timedelta(days=45)
    crisis = services.crisis_declare(
        centre=centres["CHU Amiens"],
        systems_down=["ois", "tps", "email"],
        description="Exercice régional : rançongiciel simulé sur le système d'information "
        "oncologique et le TPS.",
        user=referent,
        is_exercise=True,
        declare_now=False,
        started_at=start,
    )
    Crisis.objects.filter(pk=crisis.pk).update(is_demo=True)
    services.crisis_transition(crisis=crisis, to_status="declared", user=referent)
    group = services.patient_group_add(
        crisis=crisis,
        user=referent,
        label="VMAT prostate",
        technique=Technique.IMRT_VMAT,
        category=2,
        patient_count=6,
        fractions_left=12,
        last_fraction_on=start.date(),
    )
    services.patient_group_add(
        crisis=crisis,
        user=referent,
        label="VMAT ORL",
        technique=Technique.IMRT_VMAT,
        category=1,
        patient_count=3,
        fractions_left=20,
        last_fraction_on=start.date(),
    )
    transfer = services.transfer_propose(
        group=group, receiving_centre=centres["Abbeville"], patient_count=4, user=referent
    )
    services.transfer_update(
        transfer=transfer,
        to_status=TransferStatus.ACCEPTED,
        user=receiver_user,
        comment="4 créneaux dès demain matin.",
    )
    services.transfer_update(
        transfer=transfer,
        to_status=TransferStatus.TREATING,
        user=receiver_user,
        on=(start + timedelta(days=1)).date(),
    )
    services.transfer_update(
        transfer=transfer,
        to_status=TransferStatus.RETURNED,
        user=referent,
        on=(start + timedelta(days=6)).date(),
    )
    for status in ("stabilised", "return", "lifted", "retex"):
        services.crisis_transition(
            crisis=crisis,
            to_status=status,
            user=referent,
            override_reason="Hypothèse du scénario : les 3 patients ORL restent traités sur "
            "place en mode dégradé, avec un double contrôle manuel.",
        )
    # Spread the drill over its real timing, for the metrics and the timeline.
    offsets = {
        "alert": 0,
        "declared": 25,
        "transfers": 70,
        "stabilised": 300,
        "return": 5 * 1440,
        "lifted": 6 * 1440 + 60,
        "retex": 14 * 1440,
    }
    for row in CrisisTransition.objects.filter(crisis=crisis):
        row.at = start + timedelta(minutes=offsets.get(row.to_status, 0))
        row.save()
    Crisis.objects.filter(pk=crisis.pk).update(declared_at=start + timedelta(minutes=25))
    Transfer.objects.filter(pk=transfer.pk).update(
        proposed_at=start + timedelta(minutes=70), responded_at=start + timedelta(minutes=95)
    )
    events = CrisisEvent.objects.filter(crisis=crisis).order_by("pk")
    for event, minutes in zip(events, EXERCISE_EVENT_MINUTES, strict=False):
        event.at = start + timedelta(minutes=minutes)
        event.save()
    Exercise.objects.filter(pk=crisis.exercise_id).update(
        title="Exercice régional — rançongiciel au CHU Amiens",
        scenario=ExerciseScenario.objects.filter(kind="ransomware_ois").first(),
        status="done",
        ended_at=start + timedelta(days=14),
    )
    CrisisAction.objects.create(
        crisis=crisis,
        title="Ajouter un second contact de crise joignable par Signal",
        owner="Cadre de santé, CHU Amiens",
        due_date=(start + timedelta(days=30)).date(),
    )
    CrisisAction.objects.create(
        crisis=crisis,
        title="Tester la restauration du TPS depuis la sauvegarde hors ligne",
        owner="Physicien médical, CHU Amiens",
        due_date=(start + timedelta(days=90)).date(),
    )


# Fictitious numbers (demo): the real directory is entered by the project manager.
AUTHORITIES = [
    ("ars", "ARS Hauts-de-France — point focal régional", "03 00 00 01 01", ""),
    ("cert_sante", "CERT Santé (ANS)", "09 00 00 01 02", ""),
    ("asn", "ASN — division de Lille", "03 00 00 01 03", ""),
    ("dsrc", "DSR-C ONCO HDF — cellule de crise", "03 00 00 01 04", ""),
    ("centre_it", "Astreinte informatique", "03 00 00 01 05", "CHU Lille"),
    ("centre_management", "Administrateur de garde", "03 00 00 01 06", "CHU Lille"),
]


def _seed_authorities(centres, pm) -> None:
    from cyber_continuity.models import Authority

    for kind, name, phone, centre in AUTHORITIES:
        if not Authority.objects.filter(name=name).exists():
            services.authority_save(
                authority=Authority(
                    kind=kind, name=name, phone=phone, centre=centres.get(centre), notes="Démo"
                ),
                user=pm,
            )


@transaction.atomic
def seed(stdout=None) -> None:
    centres = _centres()
    if not centres:
        return
    users = {
        u.username: u
        for u in get_user_model().objects.filter(
            username__in=["cheffe.projet", "referent.lille", "referent.amiens"]
        )
    }
    _seed_registry(centres, users.get("referent.lille"))
    _seed_conventions(centres, users)
    _seed_plans(centres)
    _seed_exercise(centres, users)
    _seed_authorities(centres, users.get("cheffe.projet"))
    if stdout is not None:
        stdout.write(
            f"  continuity: {len(centres)} centre profiles, "
            f"{Convention.objects.filter(is_demo=True).count()} conventions, "
            f"{TransferPlanEntry.objects.count()} plan entries, 1 past exercise"
        )
