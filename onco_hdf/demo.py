"""Demo data of the foundation: the region's centres (marked as demo), one user per role.

Every demo centre is flagged ``is_demo`` and named "(démo)"; FINESS numbers are made up.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from onco_hdf.models import Centre, Membership, Role

DEMO_PASSWORD = "demo-onco-hdf"  # noqa: S105  (printed in the README; demo only)

# name, short name, FINESS, city, département, sector, latitude, longitude
CENTRES = [
    (
        "CHU de Lille — radiothérapie (démo)",
        "CHU Lille",
        "590000101",
        "Lille",
        "59",
        "public",
        50.6106,
        3.0335,
    ),
    (
        "Centre de lutte contre le cancer de Lille (démo)",
        "CLCC Lille",
        "590000102",
        "Lille",
        "59",
        "espic",
        50.6120,
        3.0370,
    ),
    (
        "Centre de radiothérapie de Valenciennes (démo)",
        "Valenciennes",
        "590000103",
        "Valenciennes",
        "59",
        "public",
        50.3580,
        3.5230,
    ),
    (
        "Centre de radiothérapie de Maubeuge (démo)",
        "Maubeuge",
        "590000104",
        "Maubeuge",
        "59",
        "private",
        50.2780,
        3.9720,
    ),
    (
        "Centre de radiothérapie de Dunkerque (démo)",
        "Dunkerque",
        "590000105",
        "Dunkerque",
        "59",
        "private",
        51.0340,
        2.3770,
    ),
    (
        "Centre de radiothérapie de Roubaix-Tourcoing (démo)",
        "Roubaix",
        "590000106",
        "Roubaix",
        "59",
        "public",
        50.6900,
        3.1800,
    ),
    (
        "Centre de radiothérapie de Lens (démo)",
        "Lens",
        "620000107",
        "Lens",
        "62",
        "public",
        50.4320,
        2.8310,
    ),
    (
        "Centre de radiothérapie d'Arras (démo)",
        "Arras",
        "620000108",
        "Arras",
        "62",
        "private",
        50.2910,
        2.7770,
    ),
    (
        "Centre de radiothérapie de Boulogne-sur-Mer (démo)",
        "Boulogne",
        "620000109",
        "Boulogne-sur-Mer",
        "62",
        "public",
        50.7260,
        1.6140,
    ),
    (
        "Centre de radiothérapie de Béthune (démo)",
        "Béthune",
        "620000110",
        "Béthune",
        "62",
        "private",
        50.5300,
        2.6400,
    ),
    (
        "Centre de radiothérapie de Calais (démo)",
        "Calais",
        "620000111",
        "Calais",
        "62",
        "public",
        50.9510,
        1.8580,
    ),
    (
        "CHU d'Amiens-Picardie — radiothérapie (démo)",
        "CHU Amiens",
        "800000112",
        "Amiens",
        "80",
        "public",
        49.8720,
        2.2650,
    ),
    (
        "Centre de radiothérapie d'Abbeville (démo)",
        "Abbeville",
        "800000113",
        "Abbeville",
        "80",
        "private",
        50.1050,
        1.8350,
    ),
    (
        "Centre de radiothérapie de Saint-Quentin (démo)",
        "Saint-Quentin",
        "020000114",
        "Saint-Quentin",
        "02",
        "public",
        49.8470,
        3.2870,
    ),
    (
        "Centre de radiothérapie de Beauvais (démo)",
        "Beauvais",
        "600000115",
        "Beauvais",
        "60",
        "private",
        49.4300,
        2.0810,
    ),
    (
        "Centre de radiothérapie de Compiègne (démo)",
        "Compiègne",
        "600000116",
        "Compiègne",
        "60",
        "espic",
        49.4180,
        2.8260,
    ),
]

# username, first name, last name, role, centre short name (None: regional role)
USERS = [
    ("cheffe.projet", "Claire", "Dumont", Role.PROJECT_MANAGER, None),
    ("copil", "Marc", "Lefebvre", Role.COPIL, None),
    ("admin", "Alex", "Admin", Role.ADMIN, None),
    ("cellule.crise", "Amandine", "Caron", Role.CRISIS_CELL, None),
    ("referent.lille", "Sophie", "Martin", Role.REFERENT, "CHU Lille"),
    ("oncologue.lille", "Julien", "Bernard", Role.ONCOLOGIST, "CHU Lille"),
    ("chef.service.lille", "Hélène", "Petit", Role.HEAD_OF_DEPARTMENT, "CHU Lille"),
    ("physicien.lille", "Thomas", "Roux", Role.PHYSICIST, "CHU Lille"),
    ("referent.amiens", "Nadia", "Moreau", Role.REFERENT, "CHU Amiens"),
    ("oncologue.amiens", "Pierre", "Lambert", Role.ONCOLOGIST, "CHU Amiens"),
    ("chef.service.amiens", "Isabelle", "Girard", Role.HEAD_OF_DEPARTMENT, "CHU Amiens"),
    ("physicien.amiens", "Karim", "Benali", Role.PHYSICIST, "CHU Amiens"),
]


def demo_user_ensure(*, username: str, first_name: str, last_name: str, role: str, centre):
    """A demo account with the demo password (set once) and its membership; idempotent."""
    user, created = get_user_model().objects.get_or_create(
        username=username,
        defaults={
            "first_name": first_name,
            "last_name": last_name,
            "email": f"{username}@demo.onco-hdf.fr",
        },
    )
    if created:
        user.set_password(DEMO_PASSWORD)
    if role == Role.ADMIN:
        user.is_staff = user.is_superuser = True
    user.save()
    Membership.objects.get_or_create(user=user, role=role, centre=centre)
    return user


@transaction.atomic
def seed(stdout=None) -> None:
    centres = {}
    for name, short, finess, city, dep, sector, lat, lon in CENTRES:
        centre, _ = Centre.objects.update_or_create(
            finess=finess,
            defaults={
                "name": name,
                "short_name": short,
                "city": city,
                "departement": dep,
                "sector": sector,
                "latitude": lat,
                "longitude": lon,
                "is_demo": True,
            },
        )
        centres[short] = centre
    for username, first, last, role, centre_short in USERS:
        demo_user_ensure(
            username=username,
            first_name=first,
            last_name=last,
            role=role,
            centre=centres[centre_short] if centre_short else None,
        )
    if stdout is not None:
        stdout.write(f"  {len(centres)} centres, {len(USERS)} demo users")


# --- COPIL governance: milestones and meetings about the other apps' demo artefacts ---
MILESTONES = [
    ("surveys", "Questionnaire validé en COPIL", -75, "done"),
    ("surveys", "Clôture de la campagne d'enquête", 20, "in_progress"),
    ("surveys", "Rapport d'enquête présenté au COPIL", 75, "planned"),
    ("contouring", "Sélection des 2 cas cliniques", -60, "done"),
    ("contouring", "Dépôt des RTSTRUCT par les centres", -5, "in_progress"),
    ("contouring", "Rapport de comparaison final", 90, "planned"),
    ("cyber_continuity", "Convention type validée", -45, "done"),
    ("cyber_continuity", "Exercice régional de cybercrise", 40, "planned"),
    ("habilitations", "Catalogue d'activités validé", -30, "done"),
    ("habilitations", "Fiches de tous les centres validées", -10, "in_progress"),
]


def seed_after(stdout=None) -> None:
    """Milestones, a held COPIL validating the demo artefacts, and the next COPIL."""
    import datetime as dt

    from django.apps import apps
    from django.utils import timezone

    from onco_hdf import governance, services
    from onco_hdf.models import CopilMeeting, MeetingStatus, Milestone, Outcome

    today = timezone.localdate()
    for project, title, days, status in MILESTONES:
        Milestone.objects.update_or_create(
            project=project,
            title=title,
            is_demo=True,
            defaults={
                "due_on": today + dt.timedelta(days=days),
                "status": status,
                "done_on": today + dt.timedelta(days=days) if status == "done" else None,
            },
        )
    if CopilMeeting.objects.filter(is_demo=True).exists():
        return
    pm = get_user_model().objects.get(username="cheffe.projet")
    copil = get_user_model().objects.get(username="copil")
    held = CopilMeeting.objects.create(
        held_on=today - dt.timedelta(days=21),
        title="COPIL radiothérapie",
        location="Lille — DSR-C ONCO HDF",
        agenda="Validation du questionnaire d'enquête\nConvention type de continuité\n"
        "Catalogue d'habilitation\nPoint d'avancement des projets",
        quorum=2,
        is_demo=True,
        created_by=pm,
    )
    held.attendees.set([pm, copil])
    for kind in governance.kinds():
        for artefact in apps.get_model(kind.model_label)._default_manager.all():
            decision = services.copil_decision_add(
                meeting=held, artefact=artefact, summary="", user=pm
            )
            services.copil_decision_record(decision=decision, outcome=Outcome.VALIDATED, user=pm)
    held.status = MeetingStatus.HELD
    held.save()
    upcoming = CopilMeeting.objects.create(
        held_on=today + dt.timedelta(days=30),
        title="COPIL radiothérapie",
        location="Amiens",
        agenda="Résultats de l'enquête\nAvancement de la comparaison des contours\n"
        "Exercice de cybercrise",
        quorum=3,
        is_demo=True,
        created_by=pm,
    )
    upcoming.attendees.set([pm, copil])
    if stdout is not None:
        stdout.write(f"  {len(MILESTONES)} milestones, 2 COPIL meetings")
