"""Demo data: the regional catalogue and sheets in every workflow state.

Sheets are built through the services (so the transitions and their guards are the real
ones), then their dates are moved into the past so that validity and reminders look lived.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction

from habilitations import services
from habilitations.catalogue_data import CATALOGUES
from habilitations.models import HabilitationSheet, Level, Reminder, SheetLine, SheetTransition
from onco_hdf import signatures
from onco_hdf.demo import DEMO_PASSWORD, demo_user_ensure
from onco_hdf.models import Centre, Role, Signature
from onco_hdf.signatures import Credentials

# The demo's people sign with the demo password (no authenticator is enrolled by the seed).
DEMO_CREDENTIALS = Credentials(password=DEMO_PASSWORD)

# Extra demo physicians: username, first name, last name, role, centre short name.
EXTRA_USERS = [
    ("oncologue2.lille", "Camille", "Lemaire", Role.ONCOLOGIST, "CHU Lille"),
    ("oncologue3.lille", "Antoine", "Dubois", Role.ONCOLOGIST, "CHU Lille"),
    ("oncologue2.amiens", "Léa", "Fontaine", Role.ONCOLOGIST, "CHU Amiens"),
    ("oncologue.clcc", "Marie", "Caron", Role.ONCOLOGIST, "CLCC Lille"),
    ("chef.service.clcc", "Paul", "Vasseur", Role.HEAD_OF_DEPARTMENT, "CLCC Lille"),
]

SUPERVISED_LINES = [
    ("CLIN-CONS", Level.SUPERVISED, 12),
    ("CONT-SEIN", Level.SUPERVISED, 14),
    ("CONT-PROSTATE", Level.SUPERVISED, 9),
    ("PLAN-3D", Level.SUPERVISED, 10),
    ("IGRT-CBCT", Level.IN_TRAINING, 0),
    ("TECH-3D", Level.SUPERVISED, 15),
]
SENIOR_LINES = [
    ("CLIN-CONS", Level.AUTONOMOUS, 35),
    ("CONT-SEIN", Level.AUTONOMOUS, 25),
    ("CONT-PROSTATE", Level.AUTONOMOUS, 22),
    ("PLAN-3D", Level.AUTONOMOUS, 24),
    ("IGRT-CBCT", Level.SUPERVISED, 8),
    ("TECH-3D", Level.REFERENT, 40),
]


def _users() -> dict:
    user_model = get_user_model()
    centres = {c.short_name: c for c in Centre.objects.filter(is_demo=True)}
    for username, first, last, role, centre_short in EXTRA_USERS:
        demo_user_ensure(
            username=username,
            first_name=first,
            last_name=last,
            role=role,
            centre=centres[centre_short],
        )
    return {
        u.username: u
        for u in user_model.objects.filter(
            username__in=[
                "cheffe.projet",
                "oncologue.lille",
                "chef.service.lille",
                "oncologue.amiens",
                "chef.service.amiens",
                *[row[0] for row in EXTRA_USERS],
            ]
        )
    }


def _sheet(users, username, centre, *, lines, tutor=None, rpps, previous=None):
    physician = users[username]
    day = services.today()
    if previous is not None:
        sheet = services.sheet_renew(sheet=previous, user=physician)
        sheet.lines.all().delete()
    else:
        sheet = services.sheet_create(
            user=physician,
            sheet=HabilitationSheet(
                physician=physician,
                centre=centre,
                post="Praticien hospitalier — radiothérapie",
                rpps=rpps,
                diploma_date=dt.date(2015, 10, 1),
                ordre_council="Conseil du Nord",
                ordre_registration_date=dt.date(2015, 11, 15),
                start_date=day - dt.timedelta(400),
                rp_training_date=day - dt.timedelta(700),
                rp_training_expiry=day - dt.timedelta(700) + dt.timedelta(days=7 * 365),
                is_demo=True,
            ),
        )
    activities = {a.code: a for a in sheet.catalogue_version.activities.all()}
    for code, level, cases in lines:
        services.line_save(
            line=SheetLine(
                sheet=sheet,
                activity=activities[code],
                level_requested=level,
                tutor=tutor,
                supervised_cases=cases,
                peer_reviewed_contours=cases // 2,
                courses="Atelier régional de contourage 2025" if code.startswith("CONT") else "",
                vendor_training="Formation constructeur Varian Ethos"
                if code == "IGRT-CBCT"
                else "",
            )
        )
    return sheet


def _advance(sheet, steps, users):
    for action, actor, comment in steps:
        user = users[actor]
        if action == "validate_head":
            for tutor in services.tutors_of(sheet):
                services.sheet_sign(
                    sheet=sheet, user=tutor, step=services.TUTOR, credentials=DEMO_CREDENTIALS
                )
            grants = {
                line.pk: services.Grant(level=line.level_requested) for line in sheet.lines.all()
            }
            services.sheet_validate_head(
                sheet=sheet,
                user=user,
                grants=grants,
                comment=comment,
                credentials=DEMO_CREDENTIALS,
            )
        elif action == "validate_regional":
            services.sheet_sign(
                sheet=sheet,
                user=user,
                step=services.REGIONAL,
                comment=comment,
                credentials=DEMO_CREDENTIALS,
            )
        elif action == "return":
            services.sheet_return(sheet=sheet, user=user, comment=comment)
        else:
            services.sheet_transition(sheet=sheet, user=user, action=action, comment=comment)
        sheet.refresh_from_db()
    return sheet


def _age(sheet, days: int) -> None:
    """Move a validated sheet ``days`` into the past (validity, lines, transitions)."""
    delta = dt.timedelta(days=days)
    HabilitationSheet.objects.filter(pk=sheet.pk).update(
        valid_from=sheet.valid_from - delta if sheet.valid_from else None,
        valid_until=sheet.valid_until - delta if sheet.valid_until else None,
    )
    for line in sheet.lines.exclude(validation_date=None):
        SheetLine.objects.filter(pk=line.pk).update(
            validation_date=line.validation_date - delta, expiry_date=line.expiry_date - delta
        )
    for index, transition in enumerate(sheet.transitions.order_by("at", "pk")):
        SheetTransition.objects.filter(pk=transition.pk).update(
            at=transition.at - delta - dt.timedelta(days=20) + dt.timedelta(days=4 * index)
        )
    # The signatures are back-dated with the steps; their hashes follow the back-dated
    # lines, as if everything had been signed then (demo data only).
    sheet.refresh_from_db()
    for index, signature in enumerate(signatures.signatures_of(sheet).order_by("signed_at", "pk")):
        Signature.objects.filter(pk=signature.pk).update(
            signed_at=signature.signed_at
            - delta
            - dt.timedelta(days=19)
            + dt.timedelta(days=4 * index),
            content_hash=signatures.document_hash(sheet, signature.capacity),
        )


TO_ACTIVE = [
    ("submit", None, ""),
    ("validate_head", "head", "Dossier complet, tutorat conforme."),
    ("validate_regional", "cheffe.projet", "Validation régionale — COPIL."),
    ("activate", "head", ""),
]


def _steps(steps, head, subject):
    return [
        (a, subject if who is None else head if who == "head" else who, c) for a, who, c in steps
    ]


@transaction.atomic
def seed(stdout=None) -> None:
    for data in CATALOGUES:
        services.catalogue_load(data=data)
    if HabilitationSheet.objects.filter(is_demo=True).exists():
        if stdout is not None:
            stdout.write("  habilitations: demo sheets already present")
        return
    users = _users()
    centres = {c.short_name: c for c in Centre.objects.filter(is_demo=True)}
    lille, amiens, clcc = centres["CHU Lille"], centres["CHU Amiens"], centres["CLCC Lille"]
    head_lille, head_amiens = users["chef.service.lille"], users["chef.service.amiens"]

    # Léa Fontaine: a first sheet (supervised), renewed by an active one (autonomous).
    first = _sheet(
        users,
        "oncologue2.amiens",
        amiens,
        lines=SUPERVISED_LINES,
        tutor=head_amiens,
        rpps="10101234561",
    )
    _advance(first, _steps(TO_ACTIVE, "chef.service.amiens", "oncologue2.amiens"), users)
    _age(first, 380)
    first.refresh_from_db()
    second = _sheet(
        users, "oncologue2.amiens", amiens, lines=SENIOR_LINES, previous=first, rpps=first.rpps
    )
    _advance(second, _steps(TO_ACTIVE, "chef.service.amiens", "oncologue2.amiens"), users)
    _age(second, 30)

    # Julien Bernard: active sheet now due for renewal, renewal started as a draft.
    julien = _sheet(
        users,
        "oncologue.lille",
        lille,
        lines=SUPERVISED_LINES,
        tutor=head_lille,
        rpps="10101234562",
    )
    _advance(julien, _steps(TO_ACTIVE, "chef.service.lille", "oncologue.lille"), users)
    _age(julien, 320)
    services.habilitations_daily(on_date=services.today() - dt.timedelta(days=40))
    services.habilitations_daily(on_date=services.today())
    julien.refresh_from_db()
    _sheet(
        users, "oncologue.lille", lille, lines=SENIOR_LINES[:4], previous=julien, rpps=julien.rpps
    )

    # Pierre Lambert: submitted once, returned with a comment, submitted again.
    pierre = _sheet(
        users,
        "oncologue.amiens",
        amiens,
        lines=SUPERVISED_LINES[:4],
        tutor=users["oncologue2.amiens"],
        rpps="10101234563",
    )
    _advance(
        pierre,
        [
            ("submit", "oncologue.amiens", ""),
            (
                "return",
                "chef.service.amiens",
                "Merci de joindre le registre des cas supervisés pour le contourage prostate.",
            ),
            ("submit", "oncologue.amiens", "Registre ajouté."),
        ],
        users,
    )

    # Camille Lemaire: an archived sheet (left then came back), a new one validated by the head.
    old = _sheet(users, "oncologue2.lille", lille, lines=SUPERVISED_LINES[:2], rpps="10101234564")
    _advance(old, [("archive", "chef.service.lille", "Départ temporaire du service.")], users)
    camille = _sheet(
        users,
        "oncologue2.lille",
        lille,
        lines=SUPERVISED_LINES,
        tutor=head_lille,
        rpps="10101234564",
    )
    _advance(camille, _steps(TO_ACTIVE[:2], "chef.service.lille", "oncologue2.lille"), users)

    # Antoine Dubois: regionally validated, not yet activated.
    antoine = _sheet(
        users,
        "oncologue3.lille",
        lille,
        lines=SUPERVISED_LINES[:5],
        tutor=users["oncologue.lille"],
        rpps="10101234565",
    )
    _advance(antoine, _steps(TO_ACTIVE[:3], "chef.service.lille", "oncologue3.lille"), users)

    # Marie Caron (CLCC Lille): active then suspended; a draft for Hélène Petit.
    marie = _sheet(
        users,
        "oncologue.clcc",
        clcc,
        lines=SUPERVISED_LINES[:3],
        tutor=users["chef.service.clcc"],
        rpps="10101234566",
    )
    _advance(
        marie,
        _steps(TO_ACTIVE, "chef.service.clcc", "oncologue.clcc")
        + [("suspend", "chef.service.clcc", "Congé de longue durée : reprise à évaluer.")],
        users,
    )
    _sheet(users, "chef.service.lille", lille, lines=SUPERVISED_LINES[:1], rpps="10101234567")
    if stdout is not None:
        stdout.write(
            f"  habilitations: catalogue v{services.catalogue_current().number}, "
            f"{HabilitationSheet.objects.filter(is_demo=True).count()} demo sheets, "
            f"{Reminder.objects.count()} reminders"
        )
