"""Demo data: the auto-contouring questionnaire, one campaign, simulated centre responses.

Everything created here is marked ``is_demo``. Answers are drawn with a fixed seed so the
demo is the same on every machine, and follow the questionnaire's branching.
"""

from __future__ import annotations

import datetime
import random

from django.db import transaction
from django.db.models import F
from django.http import QueryDict
from django.utils import timezone

from onco_hdf.models import Centre, Membership, Role
from surveys import autocontouring, services
from surveys.models import (
    Campaign,
    Invitation,
    Reminder,
    ReminderKind,
    ResponseStatus,
    ResponseUnit,
)
from surveys.selectors import version_structure

CAMPAIGN_TITLE = "Enquête régionale contourage automatique 2026 (démo)"
# The earlier wave on the same questionnaire, so the report's wave comparison can be seen.
PREVIOUS_TITLE = "Enquête régionale contourage automatique 2025 (démo)"
# The 2025 wave: fewer centres used AI contouring in routine.
USAGE_WEIGHTS = {2026: [6, 2, 2, 1, 1], 2025: [3, 2, 3, 3, 1]}
THEMES = [
    ["Temps gagné", ["temps", "chronophage"]],
    ["Coût", ["coût", "licence"]],
    ["Qualité et harmonisation", ["retouche", "harmonis", "comparaison"]],
    ["Informatique et hébergement", ["cloud", "DSI"]],
]
# Centres left for the demo users to fill, or not opened at all.
IN_PROGRESS = ("CHU Lille", "Béthune")
NOT_OPENED = ("Calais", "Compiègne", "Abbeville")

COMMENTS = [
    "Gain de temps net sur les ORL, encore des retouches sur les aires ganglionnaires.",
    "Nous attendons une comparaison régionale avant de choisir une solution.",
    "La validation des contours reste chronophage pour les physiciens.",
    "Très utile pour harmoniser les pratiques entre praticiens.",
    "Hébergement cloud refusé par la DSI, projet en attente.",
    "Le coût de la licence reste le frein principal pour notre établissement.",
]


def simulated_answers(rng: random.Random, wave: int = 2026) -> dict[str, list[str] | str]:
    """Form data (as posted by the filling page) for one plausible centre."""
    usage = rng.choices(
        ["routine", "evaluation", "projet", "non", "atlas"], weights=USAGE_WEIGHTS[wave]
    )[0]
    equipped = usage in ("routine", "evaluation")
    data: dict[str, list[str] | str] = {
        "q-A1_FONCTION": rng.choice(["onco", "onco", "physicien", "onco"]),
        "q-A2_NB_ONCO": str(rng.randint(3, 14)),
        "q-A3_NB_PATIENTS": str(rng.randrange(600, 3200, 50)),
        "q-A4_NB_ACCEL": str(rng.randint(2, 6)),
        "q-B1_USAGE": usage,
        "q-E2_BESOIN": rng.choice(["yes", "yes", "no"]),
        "q-F4_ATTENTES": rng.sample(
            ["comparaison", "formation", "protocoles", "achats", "cq"], rng.randint(1, 3)
        ),
        "q-F5_AVENIR": rng.choices(
            ["plutot_pas", "neutre", "plutot", "tout_a_fait"], weights=[1, 2, 4, 3]
        )[0],
    }
    freins = rng.sample(
        ["cout", "validation", "confiance", "informatique", "temps", "reglementaire"], 3
    )
    for rank, code in enumerate(freins, 1):
        data[f"q-F3_FREINS-{rank}"] = code
    if not equipped:
        data["q-B7_RAISONS"] = rng.choice(COMMENTS[4:])
    if equipped:
        data["q-B2_SOLUTIONS"] = rng.sample(
            ["limbus", "mirada", "mvision", "therapanacea", "raystation", "siemens"],
            rng.choice([1, 1, 2]),
        )
        data["q-B4_HEBERGEMENT"] = rng.choice(["local", "cloud", "cloud", "hybride"])
        data["q-B5_COUT"] = rng.choice(["lt10", "10_30", "10_30", "30_60", "nsp"])
        data["q-B6_REGLEMENTAIRE"] = rng.choice(["ce_iib", "ce_iia", "ce_iia", "nsp"])
        data["q-D1_METHODE"] = rng.sample(
            ["geometrique", "visuelle", "dosimetrique", "editeur"], rng.randint(1, 3)
        )
        data["q-D2_CQ_ROUTINE"] = rng.choice(["systematique", "periodique", "non"])
        data["q-D3_PROCEDURE"] = rng.choice(["yes", "yes", "no"])
        data["q-D4_TG263"] = rng.choice(["oui", "partiel", "partiel", "non"])
        data["q-E1_FORMATION"] = rng.sample(["editeur", "interne"], rng.randint(1, 2))
        for row in ("temps", "qualite", "harmonisation", "confiance"):
            data[f"q-F2_AFFIRMATIONS-{row}"] = rng.choices(
                ["pas_du_tout", "plutot_pas", "neutre", "plutot", "tout_a_fait"],
                weights=[1, 2, 3, 5, 3],
            )[0]
    if usage == "routine":
        data["q-B3_MISE_EN_SERVICE"] = f"{rng.randint(2020, 2025)}-{rng.randint(1, 12):02d}"
        for site in ("orl", "sein", "prostate", "poumon", "cerveau", "pelvis_f", "digestif"):
            kinds = ["oar"] + rng.sample(["ctv", "ganglions"], rng.randint(0, 2))
            data[f"q-C1_SITES-{site}"] = kinds if rng.random() < 0.8 else ["oar"]
        data["q-C2_IMAGERIE"] = ["ct"] + rng.sample(["irm", "cbct"], rng.randint(0, 2))
        data["q-C3_PART_PATIENTS"] = str(rng.randrange(40, 100, 5))
        data["q-C4_RELECTURE"] = rng.choice(["onco", "onco", "dosi_onco", "physicien"])
        for site in ("orl", "sein", "prostate", "poumon"):
            data[f"q-C5_RETOUCHES-{site}"] = rng.choice(
                ["aucune", "mineures", "mineures", "moderees", "majeures"]
            )
        data["q-C6_MINUTES"] = str(rng.randrange(10, 90, 5))
        data["q-F1_SATISFACTION"] = str(rng.choices(range(4, 11), weights=[1, 1, 2, 3, 4, 3, 1])[0])
    if rng.random() < 0.5:
        data["q-F6_COMMENTAIRES"] = rng.choice(COMMENTS[:4])
    return data


def as_querydict(data: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in data.items():
        if isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    return query


def fill_response(response, data: dict, actor, *, submit: bool) -> None:
    structure = version_structure(response.campaign.version)
    posted = as_querydict(data)
    for section in structure.sections:
        services.response_save_section(
            response=response,
            section_code=section.code,
            data=posted,
            actor=actor,
            structure=structure,
        )
    if submit:
        services.response_submit(response=response, actor=actor, notify=False)  # no mail


@transaction.atomic
def seed(stdout=None) -> None:
    autocontouring.install(is_demo=True)
    # The demo's two waves were run on version 1; version 2 is ready for the next one.
    version = autocontouring.first_version()
    today = timezone.localdate()
    campaign, created = Campaign.objects.get_or_create(
        title=CAMPAIGN_TITLE,
        defaults={
            "version": version,
            "opens_on": today - datetime.timedelta(days=30),
            "closes_on": today + datetime.timedelta(days=45),
            "unit": ResponseUnit.CENTRE,
            "section_roles": {"D": Role.PHYSICIST},
            "is_demo": True,
            "cross_tabs": [["B1_USAGE", "SECTOR"], ["B4_HEBERGEMENT", "B5_COUT"]],
            "introduction": "Cette enquête régionale dresse l'état des lieux du **contourage "
            "automatique** dans les centres de radiothérapie des Hauts-de-France.",
        },
    )
    centres = list(Centre.objects.filter(is_demo=True).order_by("name"))
    campaign.centres.set(centres)
    rng = random.Random(2026)  # noqa: S311  (demo data, not security)
    for centre in centres:
        referent = (
            Membership.objects.filter(centre=centre, role=Role.REFERENT)
            .select_related("user")
            .first()
        )
        email = referent.user.email if referent else f"referent@{centre.finess}.demo.onco-hdf.fr"
        invitation = services.invitation_create(
            campaign=campaign, centre=centre, email=email, role="", send=False, is_demo=True
        )
        data = simulated_answers(rng)
        if centre.short_name in NOT_OPENED or campaign.responses.filter(centre=centre).exists():
            continue
        actor = services.Actor.for_invitation(invitation)
        response = services.response_open(
            campaign=campaign, centre=centre, actor=actor, is_demo=True
        )
        if centre.short_name in IN_PROGRESS:
            partial = {k: v for k, v in data.items() if k.startswith(("q-A", "q-B1"))}
            fill_response(response, partial, actor, submit=False)
        else:
            fill_response(response, data, actor, submit=True)
    if created:
        campaign.text_themes = THEMES
        campaign.save(update_fields=["text_themes"])
        # A reminder went out a week before the report, to those who had not answered.
        pending = services.invitations_to_remind(campaign)
        Reminder.objects.create(
            campaign=campaign,
            kind=ReminderKind.SCHEDULED,
            sent_count=len(pending),
            sent_at=timezone.now() - datetime.timedelta(days=7),
        )
        Invitation.objects.filter(pk__in=[i.pk for i in pending]).update(reminder_count=1)
    previous = seed_previous_wave(version, centres, today)
    if stdout is not None:
        submitted = campaign.responses.filter(status=ResponseStatus.SUBMITTED).count()
        stdout.write(
            f"  questionnaire « {version.title} » v{version.number}, campaign with "
            f"{submitted} simulated responses submitted (demo), and the 2025 wave with "
            f"{previous.responses.filter(status=ResponseStatus.SUBMITTED).count()}"
        )


def seed_previous_wave(version, centres, today) -> Campaign:
    """The 2025 wave: the same questionnaire a year earlier, closed, most centres answered.

    Responses are filled while the campaign is open, then the campaign and its submission
    dates are moved back a year (the services only accept answers to an open campaign).
    """
    campaign, created = Campaign.objects.get_or_create(
        title=PREVIOUS_TITLE,
        defaults={
            "version": version,
            "opens_on": today - datetime.timedelta(days=30),
            "closes_on": today + datetime.timedelta(days=45),
            "unit": ResponseUnit.CENTRE,
            "is_demo": True,
            "reminder_every_days": 0,
        },
    )
    if not created:
        return campaign
    campaign.centres.set(centres)
    rng = random.Random(2025)  # noqa: S311  (demo data, not security)
    for centre in centres[:-2]:  # two centres did not answer in 2025
        invitation = services.invitation_create(
            campaign=campaign,
            centre=centre,
            email=f"referent@{centre.finess}.demo.onco-hdf.fr",
            role="",
            send=False,
            is_demo=True,
        )
        actor = services.Actor.for_invitation(invitation)
        response = services.response_open(
            campaign=campaign, centre=centre, actor=actor, is_demo=True
        )
        fill_response(response, simulated_answers(rng, wave=2025), actor, submit=True)
    year = datetime.timedelta(days=365)
    Campaign.objects.filter(pk=campaign.pk).update(
        opens_on=today - year - datetime.timedelta(days=30),
        closes_on=today - year + datetime.timedelta(days=15),
    )
    campaign.responses.update(submitted_at=F("submitted_at") - year)
    campaign.refresh_from_db()
    return campaign
