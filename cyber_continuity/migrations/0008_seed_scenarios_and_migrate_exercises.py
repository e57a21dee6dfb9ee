"""Seed the exercise scenario library; give every existing drill crisis its Exercise."""

from django.db import migrations
from django.utils import timezone

SCENARIOS = [
    {
        "title": "Rançongiciel sur le système d'information oncologique (OIS)",
        "kind": "ransomware_ois",
        "systems_down": ["ois", "email", "network"],
        "description": "Un rançongiciel chiffre le serveur de l'OIS un matin de semaine : plus "
        "de plan de traitement ni de dossier de traitement, messagerie coupée.",
        "objectives": "Déclarer la crise, recenser les patients en cours de traitement par "
        "catégorie d'urgence, faire accepter les premiers transferts et délivrer la première "
        "fraction chez un receveur.",
        "injects": [
            (
                0,
                "6 h 45 : les postes de l'accélérateur 1 affichent une demande de rançon ; "
                "l'OIS ne répond plus.",
            ),
            (
                15,
                "La DSI confirme un chiffrement en cours et isole le réseau du service ; la "
                "messagerie est indisponible.",
            ),
            (
                45,
                "Le directeur de garde demande le nombre de patients en cours de traitement "
                "par catégorie d'urgence.",
            ),
            (
                90,
                "Un centre receveur demande les plans au format DICOM : l'export est "
                "impossible, il faudra re-planifier.",
            ),
            (180, "La presse locale appelle le standard."),
        ],
    },
    {
        "title": "TPS indisponible",
        "kind": "tps_down",
        "systems_down": ["tps"],
        "description": "Le serveur du système de planification ne redémarre plus après une "
        "mise à jour : aucune nouvelle dosimétrie n'est possible, les traitements en cours "
        "continuent.",
        "objectives": "Identifier les patients qui doivent débuter, trouver un centre qui "
        "planifie pour eux, tracer qui valide les plans.",
        "injects": [
            (0, "Le TPS ne démarre plus après la mise à jour de la nuit."),
            (30, "L'éditeur annonce un délai de rétablissement de 72 h."),
            (
                60,
                "Trois patients de catégorie 1 doivent débuter demain : leurs dosimétries "
                "ne sont pas faites.",
            ),
            (
                120,
                "Un centre partenaire propose de faire les dosimétries à distance : qui "
                "valide les plans ?",
            ),
        ],
    },
    {
        "title": "Coupure réseau du site",
        "kind": "network_cut",
        "systems_down": ["network", "pacs", "email", "telephony"],
        "description": "La liaison du site est coupée : plus d'accès au PACS, à l'OIS hébergé, "
        "à la messagerie ni à la téléphonie IP ; seuls les mobiles fonctionnent.",
        "objectives": "Joindre les contacts de crise hors réseau, décider de traiter en mode "
        "dégradé ou de transférer.",
        "injects": [
            (0, "Coupure de la liaison du site : plus de PACS, d'OIS hébergé ni de messagerie."),
            (20, "La téléphonie IP est coupée : seuls les mobiles fonctionnent."),
            (60, "L'opérateur ne donne pas d'heure de rétablissement."),
            (
                120,
                "Les consoles de traitement fonctionnent en local : peut-on traiter sans "
                "l'OIS, avec quel double contrôle ?",
            ),
        ],
    },
    {
        "title": "Un centre receveur à l'arrêt lui aussi",
        "kind": "receiver_down",
        "systems_down": ["ois", "tps"],
        "description": "Deux centres touchés en même temps (HSE Irlande, 2021) : le premier "
        "receveur du plan de transfert est lui-même à l'arrêt. À planifier pour le centre "
        "touché et son premier receveur.",
        "objectives": "Replacer les patients sans le receveur prévu, dans les délais de leur "
        "catégorie d'urgence.",
        "injects": [
            (0, "Rançongiciel sur l'OIS du centre touché."),
            (
                30,
                "Le premier centre receveur du plan annonce à son tour une attaque : il ne "
                "peut plus recevoir.",
            ),
            (
                60,
                "Les patients de catégorie 1 doivent être replacés dans un autre centre "
                "avant 48 h.",
            ),
            (120, "La cellule de crise du DSR-C demande l'état des placements."),
        ],
    },
]

# A drill crisis in one of these states has been played through.
PLAYED_THROUGH = {"lifted", "retex", "closed"}


def seed_scenarios(apps, schema_editor):
    Scenario = apps.get_model("cyber_continuity", "ExerciseScenario")
    Inject = apps.get_model("cyber_continuity", "ScenarioInject")
    for data in SCENARIOS:
        data = dict(data)
        injects = data.pop("injects")
        scenario, created = Scenario.objects.get_or_create(title=data["title"], defaults=data)
        if created:
            Inject.objects.bulk_create(
                Inject(scenario=scenario, minutes_after_start=minutes, text=text)
                for minutes, text in injects
            )


def exercises_from_drills(apps, schema_editor):
    Crisis = apps.get_model("cyber_continuity", "Crisis")
    Exercise = apps.get_model("cyber_continuity", "Exercise")
    now = timezone.now()
    for crisis in Crisis.objects.filter(is_exercise=True, exercise__isnull=True).select_related(
        "centre"
    ):
        future = crisis.started_at > now
        if future:
            status = "planned"
        elif crisis.status in PLAYED_THROUGH:
            status = "done"
        else:
            status = "running"
        exercise = Exercise.objects.create(
            title=f"Exercice — {crisis.centre.short_name or crisis.centre.name}",
            planned_for=crisis.started_at,
            started_at=None if future else crisis.started_at,
            ended_at=crisis.closed_at,
            status=status,
        )
        exercise.centres.add(crisis.centre)
        crisis.exercise = exercise
        crisis.save(update_fields=["exercise"])


def drills_back(apps, schema_editor):
    Crisis = apps.get_model("cyber_continuity", "Crisis")
    Exercise = apps.get_model("cyber_continuity", "Exercise")
    Crisis.objects.filter(exercise__isnull=False).update(exercise=None)
    Exercise.objects.all().delete()


def action_status(apps, schema_editor):
    Action = apps.get_model("cyber_continuity", "CrisisAction")
    Action.objects.filter(done_at__isnull=False).update(status="done")


class Migration(migrations.Migration):
    dependencies = [("cyber_continuity", "0007_exercises")]

    operations = [
        migrations.RunPython(seed_scenarios, migrations.RunPython.noop),
        migrations.RunPython(exercises_from_drills, drills_back),
        migrations.RunPython(action_status, migrations.RunPython.noop),
    ]
