"""A small questionnaire with every question type, a campaign and invitations, for tests."""

from __future__ import annotations

import datetime
from copy import deepcopy

import factory
from django.http import QueryDict
from django.utils import timezone

from surveys import services
from surveys.models import Campaign, ResponseUnit

SMALL = {
    "format": "onco-hdf-questionnaire",
    "format_version": 1,
    "code": "test-survey",
    "title": "Questionnaire de test",
    "sections": [
        {
            "code": "S1",
            "title": "Première page",
            "questions": [
                {
                    "code": "Q1",
                    "type": "single",
                    "label": "Équipé ?",
                    "required": True,
                    "options": [["a", "Oui"], ["b", "Non"], ["c", "En projet"]],
                },
                {
                    "code": "Q2",
                    "type": "number",
                    "label": "Part des patients",
                    "required": True,
                    "min_value": 0,
                    "max_value": 100,
                    "unit": "%",
                    "show_if": {"q": "Q1", "op": "equals", "value": "a"},
                },
                {
                    "code": "Q3",
                    "type": "multiple",
                    "label": "Solutions de {{Q1}}",
                    "allow_other": True,
                    "options": [["x", "Xa"], ["y", "Ya"], ["z", "Za"]],
                },
                {"code": "Q4", "type": "text", "label": "Nom court", "max_length": 20},
            ],
        },
        {
            "code": "S2",
            "title": "Deuxième page",
            "questions": [
                {
                    "code": "M1",
                    "type": "matrix",
                    "label": "Accord",
                    "rows": [["r1", "Ligne 1"], ["r2", "Ligne 2"]],
                    "options": [
                        ["c1", "Pas d'accord"],
                        ["c2", "Plutôt pas"],
                        ["c3", "Plutôt"],
                        ["c4", "D'accord"],
                    ],
                },
                {
                    "code": "MM",
                    "type": "matrix_multi",
                    "label": "Sites",
                    "rows": [["orl", "ORL"], ["sein", "Sein"]],
                    "options": [["oar", "OAR"], ["ctv", "CTV"]],
                },
                {
                    "code": "R1",
                    "type": "ranking",
                    "label": "Freins",
                    "max_choices": 2,
                    "options": [["p", "Prix"], ["t", "Temps"], ["c", "Confiance"]],
                },
                {
                    "code": "L1",
                    "type": "likert",
                    "label": "Avenir",
                    "options": [
                        ["1", "Non"],
                        ["2", "Plutôt non"],
                        ["3", "Plutôt oui"],
                        ["4", "Oui"],
                    ],
                },
                {"code": "Y1", "type": "yes_no", "label": "Procédure écrite ?"},
                {"code": "D1", "type": "date", "label": "Date de mise en service"},
                {"code": "MO1", "type": "month", "label": "Mois de l'achat"},
                {
                    "code": "I1",
                    "type": "integer",
                    "label": "Accélérateurs",
                    "min_value": 1,
                    "max_value": 20,
                },
                {
                    "code": "RT",
                    "type": "rating",
                    "label": "Satisfaction",
                    "min_value": 0,
                    "max_value": 10,
                    "show_if": {"not": {"q": "Q1", "op": "in", "value": ["b", "c"]}},
                },
                {"code": "T1", "type": "long_text", "label": "Commentaires", "max_length": 300},
            ],
        },
    ],
}


def questionnaire_data() -> dict:
    return deepcopy(SMALL)


def published_version(data: dict | None = None):
    version = services.questionnaire_import(data=data or questionnaire_data())
    return services.version_publish(version=version, user=None)


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign

    version = factory.LazyFunction(published_version)
    title = factory.Sequence(lambda n: f"Campagne {n}")
    opens_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=5))
    closes_on = factory.LazyFunction(lambda: timezone.localdate() + datetime.timedelta(days=20))
    unit = ResponseUnit.CENTRE


def post(data: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in data.items():
        if isinstance(value, list):
            query.setlist(key, value)
        else:
            query[key] = value
    return query


def invite(campaign, centre, email="repondant@example.org", **kwargs):
    """An invitation and its raw token (as the e-mail would carry it)."""
    invitation = services.invitation_create(
        campaign=campaign, centre=centre, email=email, send=False, **kwargs
    )
    return invitation, services.invitation_token(invitation)


FULL_S1 = {
    "q-Q1": "a",
    "q-Q2": "42",
    "q-Q3": ["x", "other"],
    "q-Q3-other": "Maison",
    "q-Q4": "Court",
}
FULL_S2 = {
    "q-M1-r1": "c3",
    "q-M1-r2": "c4",
    "q-MM-orl": ["oar", "ctv"],
    "q-MM-sein": ["oar"],
    "q-R1-1": "t",
    "q-R1-2": "p",
    "q-L1": "3",
    "q-Y1": "yes",
    "q-D1": "2024-03-15",
    "q-MO1": "05/2023",
    "q-I1": "3",
    "q-RT": "8",
    "q-T1": "Très utile",
}


DATASET = {
    "A": {"S1": FULL_S1, "S2": FULL_S2},
    "B": {
        "S1": {"q-Q1": "b", "q-Q3": ["y"], "q-Q4": '=HYPERLINK("x")'},
        "S2": {
            "q-M1-r1": "c1",
            "q-M1-r2": "c2",
            "q-MM-orl": ["oar"],
            "q-R1-1": "p",
            "q-R1-2": "c",
            "q-L1": "4",
            "q-Y1": "no",
            "q-I1": "5",
            "q-T1": "-rm tout",
        },
    },
    "C": {
        "S1": {"q-Q1": "a", "q-Q2": "58", "q-Q3": ["x", "y"]},
        "S2": {
            "q-M1-r1": "c3",
            "q-M1-r2": "c3",
            "q-R1-1": "t",
            "q-R1-2": "c",
            "q-L1": "3",
            "q-Y1": "yes",
            "q-I1": "1",
            "q-RT": "6",
        },
    },
}
