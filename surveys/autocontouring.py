"""The regional questionnaire on auto-contouring, in French (installed in production too)."""

from __future__ import annotations

from django.db import transaction

from surveys.models import Questionnaire, QuestionnaireVersion, VersionStatus

CODE = "contourage-automatique"

EQUIPPED = {"q": "B1_USAGE", "op": "in", "value": ["routine", "evaluation"]}
ROUTINE = {"q": "B1_USAGE", "op": "equals", "value": "routine"}

SITES = [
    ["orl", "ORL"],
    ["sein", "Sein"],
    ["prostate", "Prostate"],
    ["poumon", "Poumon"],
    ["cerveau", "Cerveau / SNC"],
    ["pelvis_f", "Pelvis féminin"],
    ["digestif", "Digestif"],
]
AGREEMENT = [
    ["pas_du_tout", "Pas du tout d'accord"],
    ["plutot_pas", "Plutôt pas d'accord"],
    ["neutre", "Ni d'accord ni pas d'accord"],
    ["plutot", "Plutôt d'accord"],
    ["tout_a_fait", "Tout à fait d'accord"],
]

QUESTIONNAIRE = {
    "format": "onco-hdf-questionnaire",
    "format_version": 1,
    "code": CODE,
    "title": "Enquête régionale sur le contourage automatique en radiothérapie",
    "introduction": (
        "Cette enquête du réseau ONCO-HDF et de CRONOR fait le point sur l'installation et "
        "l'usage des solutions de contourage automatique (intelligence artificielle) dans les "
        "centres de radiothérapie des Hauts-de-France. Vos réponses sont enregistrées à chaque "
        "page ; vous pouvez reprendre plus tard avec le même lien. Durée : 15 minutes environ."
    ),
    "sections": [
        {
            "code": "A",
            "title": "Centre et répondant",
            "questions": [
                {
                    "code": "A1_FONCTION",
                    "type": "single",
                    "required": True,
                    "label": "Quelle est votre fonction ?",
                    "options": [
                        ["onco", "Radiothérapeute oncologue"],
                        ["physicien", "Physicien médical"],
                        ["dosimetriste", "Dosimétriste"],
                        ["cadre", "Cadre de santé"],
                    ],
                    "allow_other": True,
                },
                {
                    "code": "A2_NB_ONCO",
                    "type": "integer",
                    "required": True,
                    "label": "Combien de radiothérapeutes exercent dans votre centre ?",
                    "min_value": 1,
                    "max_value": 60,
                },
                {
                    "code": "A3_NB_PATIENTS",
                    "type": "integer",
                    "label": "Nombre de patients traités par an (environ)",
                    "min_value": 0,
                    "max_value": 10000,
                    "unit": "patients/an",
                },
                {
                    "code": "A4_NB_ACCEL",
                    "type": "integer",
                    "required": True,
                    "label": "Nombre d'accélérateurs en service",
                    "min_value": 1,
                    "max_value": 20,
                },
            ],
        },
        {
            "code": "B",
            "title": "Équipement",
            "questions": [
                {
                    "code": "B1_USAGE",
                    "type": "single",
                    "required": True,
                    "label": "Votre centre utilise-t-il une solution de contourage automatique "
                    "par intelligence artificielle ?",
                    "options": [
                        ["routine", "Oui, en routine clinique"],
                        ["evaluation", "Oui, en cours d'évaluation"],
                        ["projet", "Non, mais un projet est engagé"],
                        ["non", "Non"],
                        ["atlas", "Uniquement des outils à base d'atlas"],
                    ],
                },
                {
                    "code": "B2_SOLUTIONS",
                    "type": "multiple",
                    "required": True,
                    "label": "Quelle(s) solution(s) utilisez-vous ?",
                    "show_if": EQUIPPED,
                    "allow_other": True,
                    "options": [
                        ["limbus", "Limbus Contour"],
                        ["mirada", "Mirada DLCExpert"],
                        ["mvision", "MVision AI Contour+"],
                        ["therapanacea", "TheraPanacea ART-Plan Annotate"],
                        ["raystation", "RaySearch RayStation DLS"],
                        ["siemens", "Siemens AI-Rad Companion Organs RT"],
                        ["varian", "Varian Contour ProtégéAI"],
                    ],
                },
                {
                    "code": "B3_MISE_EN_SERVICE",
                    "type": "month",
                    "label": "Depuis quand la solution est-elle utilisée en clinique "
                    "(mois/année) ?",
                    "show_if": ROUTINE,
                },
                {
                    "code": "B4_HEBERGEMENT",
                    "type": "single",
                    "show_if": EQUIPPED,
                    "label": "Où la solution est-elle hébergée ?",
                    "options": [
                        ["local", "Serveur local (sur site)"],
                        ["cloud", "Cloud de l'éditeur (hébergeur HDS)"],
                        ["hybride", "Hybride"],
                    ],
                },
                {
                    "code": "B5_COUT",
                    "type": "single",
                    "show_if": EQUIPPED,
                    "label": "Coût annuel de la licence (tranche)",
                    "options": [
                        ["lt10", "Moins de 10 k€ par an"],
                        ["10_30", "10 à 30 k€ par an"],
                        ["30_60", "30 à 60 k€ par an"],
                        ["gt60", "Plus de 60 k€ par an"],
                        ["nsp", "Ne sait pas"],
                    ],
                },
                {
                    "code": "B6_REGLEMENTAIRE",
                    "type": "single",
                    "show_if": EQUIPPED,
                    "label": "Statut réglementaire de la solution",
                    "options": [
                        ["ce_iib", "Dispositif médical marqué CE, classe IIb"],
                        ["ce_iia", "Dispositif médical marqué CE, classe IIa"],
                        ["ce_i", "Dispositif médical marqué CE, classe I"],
                        ["recherche", "Usage recherche uniquement"],
                        ["nsp", "Ne sait pas"],
                    ],
                },
                {
                    "code": "B7_RAISONS",
                    "type": "long_text",
                    "max_length": 2000,
                    "show_if": {"q": "B1_USAGE", "op": "in", "value": ["non", "atlas", "projet"]},
                    "label": "Pour quelles raisons votre centre n'utilise-t-il pas (encore) de "
                    "contourage automatique par IA ?",
                },
            ],
        },
        {
            "code": "C",
            "title": "Usage clinique",
            "description": "Cette section concerne les centres qui utilisent l'IA en routine.",
            "questions": [
                {
                    "code": "C1_SITES",
                    "type": "matrix_multi",
                    "show_if": ROUTINE,
                    "required": True,
                    "label": "Pour quelles localisations et quels types de structures "
                    "utilisez-vous {{B2_SOLUTIONS}} ?",
                    "rows": SITES,
                    "not_applicable_label": "Non utilisé",
                    "options": [
                        ["oar", "Organes à risque"],
                        ["ctv", "CTV"],
                        ["ganglions", "Aires ganglionnaires"],
                    ],
                },
                {
                    "code": "C2_IMAGERIE",
                    "type": "multiple",
                    "show_if": ROUTINE,
                    "label": "Sur quelles imageries ?",
                    "options": [
                        ["ct", "Scanner de simulation"],
                        ["irm", "IRM"],
                        ["cbct", "CBCT (radiothérapie adaptative)"],
                        ["tep", "TEP"],
                    ],
                },
                {
                    "code": "C3_PART_PATIENTS",
                    "type": "number",
                    "show_if": ROUTINE,
                    "label": "Part des patients dont les contours sont initiés par l'IA",
                    "min_value": 0,
                    "max_value": 100,
                    "unit": "%",
                },
                {
                    "code": "C4_RELECTURE",
                    "type": "single",
                    "show_if": ROUTINE,
                    "required": True,
                    "label": "Qui relit et valide les contours proposés ?",
                    "options": [
                        ["onco", "Le radiothérapeute"],
                        ["dosi_onco", "Le dosimétriste puis le radiothérapeute"],
                        ["physicien", "Le physicien"],
                        ["aucun", "Pas de relecture systématique"],
                    ],
                },
                {
                    "code": "C5_RETOUCHES",
                    "type": "matrix",
                    "show_if": ROUTINE,
                    "label": "Importance des retouches manuelles par localisation",
                    "rows": SITES[:4],
                    "not_applicable_label": "Non utilisé",
                    "options": [
                        ["aucune", "Aucune"],
                        ["mineures", "Mineures"],
                        ["moderees", "Modérées"],
                        ["majeures", "Majeures"],
                    ],
                },
                {
                    "code": "C6_MINUTES",
                    "type": "number",
                    "show_if": ROUTINE,
                    "label": "Temps gagné par patient grâce au contourage automatique",
                    "min_value": 0,
                    "max_value": 240,
                    "unit": "min",
                },
            ],
        },
        {
            "code": "D",
            "title": "Mise en service et assurance qualité",
            "description": "Section remplie de préférence par le physicien médical.",
            "questions": [
                {
                    "code": "D1_METHODE",
                    "type": "multiple",
                    "show_if": EQUIPPED,
                    "label": "Comment la solution a-t-elle été mise en service ?",
                    "options": [
                        [
                            "geometrique",
                            "Comparaison géométrique (DSC, HD) à des contours de référence",
                        ],
                        ["visuelle", "Évaluation visuelle par les radiothérapeutes"],
                        ["dosimetrique", "Impact dosimétrique"],
                        ["editeur", "Rapport de validation de l'éditeur"],
                        ["aucune", "Pas d'évaluation formelle"],
                    ],
                },
                {
                    "code": "D2_CQ_ROUTINE",
                    "type": "single",
                    "show_if": EQUIPPED,
                    "label": "Un contrôle qualité de routine est-il réalisé ?",
                    "options": [
                        ["systematique", "Oui, systématique"],
                        ["periodique", "Oui, périodique"],
                        ["non", "Non"],
                    ],
                },
                {
                    "code": "D3_PROCEDURE",
                    "type": "yes_no",
                    "show_if": EQUIPPED,
                    "label": "Existe-t-il une procédure écrite d'utilisation ?",
                },
                {
                    "code": "D4_TG263",
                    "type": "single",
                    "show_if": EQUIPPED,
                    "label": "La nomenclature des structures suit-elle le rapport AAPM TG-263 ?",
                    "options": [["oui", "Oui"], ["partiel", "Partiellement"], ["non", "Non"]],
                },
            ],
        },
        {
            "code": "E",
            "title": "Formation",
            "questions": [
                {
                    "code": "E1_FORMATION",
                    "type": "multiple",
                    "show_if": EQUIPPED,
                    "label": "Quelle formation les utilisateurs ont-ils reçue ?",
                    "options": [
                        ["editeur", "Formation par l'éditeur"],
                        ["interne", "Formation interne"],
                        ["aucune", "Aucune"],
                    ],
                },
                {
                    "code": "E2_BESOIN",
                    "type": "yes_no",
                    "required": True,
                    "label": "Souhaitez-vous une formation régionale sur le contourage "
                    "automatique ?",
                },
            ],
        },
        {
            "code": "F",
            "title": "Satisfaction, freins, perspectives",
            "questions": [
                {
                    "code": "F1_SATISFACTION",
                    "type": "rating",
                    "show_if": ROUTINE,
                    "label": "Satisfaction globale (0 = pas du tout satisfait, 10 = très "
                    "satisfait)",
                    "min_value": 0,
                    "max_value": 10,
                },
                {
                    "code": "F2_AFFIRMATIONS",
                    "type": "matrix",
                    "show_if": EQUIPPED,
                    "label": "Dans quelle mesure êtes-vous d'accord avec ces affirmations ?",
                    "rows": [
                        ["temps", "L'outil fait gagner du temps"],
                        ["qualite", "La qualité des contours est suffisante"],
                        ["harmonisation", "L'outil harmonise les pratiques"],
                        ["confiance", "Je fais confiance aux contours proposés"],
                    ],
                    "options": AGREEMENT,
                },
                {
                    "code": "F3_FREINS",
                    "type": "ranking",
                    "max_choices": 3,
                    "required": True,
                    "label": "Classez les trois principaux freins au déploiement",
                    "options": [
                        ["cout", "Coût"],
                        ["validation", "Charge de mise en service"],
                        ["confiance", "Manque de confiance dans les contours"],
                        ["informatique", "Contraintes informatiques et de sécurité"],
                        ["temps", "Manque de temps ou de personnel"],
                        ["reglementaire", "Incertitudes réglementaires"],
                    ],
                },
                {
                    "code": "F4_ATTENTES",
                    "type": "multiple",
                    "label": "Qu'attendez-vous du réseau régional ?",
                    "options": [
                        ["comparaison", "Comparaison régionale des solutions"],
                        ["formation", "Formations communes"],
                        ["protocoles", "Protocoles de contourage partagés"],
                        ["achats", "Groupement d'achats"],
                        ["cq", "Outils d'assurance qualité partagés"],
                    ],
                },
                {
                    "code": "F5_AVENIR",
                    "type": "likert",
                    "label": "Le contourage automatique sera incontournable d'ici cinq ans.",
                    "options": AGREEMENT,
                },
                {
                    "code": "F6_COMMENTAIRES",
                    "type": "long_text",
                    "max_length": 3000,
                    "label": "Commentaires libres",
                },
            ],
        },
    ],
}


@transaction.atomic
def install(*, is_demo: bool = False) -> QuestionnaireVersion:
    """Install and publish the questionnaire once; later calls return the published version."""
    from surveys.services import questionnaire_import, version_publish

    existing = (
        QuestionnaireVersion.objects.filter(questionnaire__code=CODE)
        .exclude(status=VersionStatus.DRAFT)
        .order_by("number")
        .first()
    )
    if existing is not None:
        return existing
    Questionnaire.objects.filter(code=CODE, versions__isnull=True).delete()
    version = questionnaire_import(data=QUESTIONNAIRE, is_demo=is_demo)
    return version_publish(version=version, user=None)


# The questions the report's key findings quote: share of centres using AI contouring
# (the answer codes that mean "yes"), the solutions, the time saved, the obstacles.
KEY_FINDINGS = {
    "usage": ("B1_USAGE", ("routine", "evaluation")),
    "solutions": "B2_SOLUTIONS",
    "time": "C6_MINUTES",
    "obstacles": "F3_FREINS",
}
