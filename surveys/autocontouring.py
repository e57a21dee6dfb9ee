"""The regional questionnaire on auto-contouring, in French (installed in production too)."""

from __future__ import annotations

from copy import deepcopy

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


def _v1(code: str) -> dict:
    """A question of version 1, copied unchanged into version 2 (same code, so the report
    compares the two waves on it)."""
    found = next(q for s in QUESTIONNAIRE["sections"] for q in s["questions"] if q["code"] == code)
    return deepcopy(found)


def _v1_section(code: str) -> dict:
    return deepcopy(next(s for s in QUESTIONNAIRE["sections"] if s["code"] == code))


# Version 2 (2026 wave): no per-person question in a co-filled centre response, one block
# per solution ticked, retouching and time per localisation used, the validation,
# vigilance, compliance, integration and staffing questions of a radiotherapy review.
SOLUTIONS_V2 = [
    ["elekta", "Elekta"],
    ["philips", "Philips"],
    ["varian_ethos", "Varian Ethos (contourage intégré à l'adaptatif)"],
    ["varian", "Varian Contour ProtégéAI"],
    ["radformation", "Radformation AutoContour"],
    ["limbus", "Limbus Contour"],
    ["mirada", "Mirada DLCExpert"],
    ["mvision", "MVision AI Contour+"],
    ["therapanacea", "TheraPanacea ART-Plan Annotate"],
    ["raystation", "RaySearch RayStation DLS"],
    ["siemens", "Siemens AI-Rad Companion Organs RT"],
]
USED_SITE = ["oar", "ctv", "ganglions"]
RETOUCHES = [
    ["aucune", "Aucune"],
    ["mineures", "Mineures"],
    ["moderees", "Modérées"],
    ["majeures", "Majeures"],
]


def _per_site_questions() -> list[dict]:
    """C5/C6 for each localisation ticked in C1: retouching, manual time, time with the tool."""
    questions = []
    for site, label in SITES:
        used = {"q": "C1_SITES", "row": site, "op": "in", "value": USED_SITE}
        key = site.upper()
        questions += [
            {
                "code": f"C5_RETOUCHES_{key}",
                "type": "single",
                "show_if": used,
                "label": f"{label} : importance des retouches manuelles des contours proposés",
                "options": RETOUCHES,
            },
            {
                "code": f"C6_MANUEL_{key}",
                "type": "number",
                "show_if": used,
                "label": f"{label} : temps de contourage entièrement manuel, avant l'outil "
                "(par patient)",
                "min_value": 0,
                "max_value": 600,
                "unit": "min",
            },
            {
                "code": f"C6_IA_{key}",
                "type": "number",
                "show_if": used,
                "label": f"{label} : temps de contourage avec l'outil, relecture et retouches "
                "comprises (par patient)",
                "min_value": 0,
                "max_value": 600,
                "unit": "min",
            },
        ]
    return questions


def _questionnaire_v2() -> dict:
    solutions = _v1("B2_SOLUTIONS")
    solutions["options"] = SOLUTIONS_V2
    usage = _v1_section("C")
    by_code = {q["code"]: q for q in usage["questions"]}
    section_e, section_f = _v1_section("E"), _v1_section("F")
    quality = _v1_section("D")
    quality["questions"] += [
        {
            "code": "D5_ECHANTILLON",
            "type": "integer",
            "show_if": EQUIPPED,
            "label": "Nombre de patients utilisés pour valider la solution avant son usage "
            "clinique (par localisation, en moyenne)",
            "min_value": 0,
            "max_value": 500,
            "unit": "patients",
        },
        {
            "code": "D6_CRITERES",
            "type": "multiple",
            "show_if": EQUIPPED,
            "label": "Quels critères de validation avez-vous utilisés ?",
            "options": [
                ["dsc", "Indice de recouvrement (DSC) avec des contours de référence"],
                ["distances", "Distances de surface (HD95, distance moyenne, DSC de surface)"],
                ["clinique", "Score d'acceptabilité clinique par les radiothérapeutes"],
                ["retouches", "Ampleur ou temps des retouches"],
                ["dosimetrique", "Impact dosimétrique sur les plans de traitement"],
                ["inter_obs", "Comparaison à la variabilité inter-observateurs"],
            ],
        },
        {
            "code": "D7_RECOMMANDATIONS",
            "type": "multiple",
            "show_if": EQUIPPED,
            "label": "Sur quelles recommandations la mise en service et l'assurance qualité "
            "de la solution s'appuient-elles ?",
            "options": [
                [
                    "estro",
                    "Recommandations ESTRO sur la mise en œuvre et l'assurance qualité des "
                    "applications d'IA en radiothérapie (Vandewinckele et al., Radiother "
                    "Oncol 2020)",
                ],
                ["aapm", "Rapports de l'AAPM (dont TG-263 pour la nomenclature)"],
                ["sfpm", "Recommandations de la SFPM"],
                ["editeur", "Documentation de l'éditeur uniquement"],
                ["aucune", "Aucune référence formalisée"],
            ],
        },
        {
            "code": "D8_CAS_REFERENCE",
            "type": "yes_no",
            "show_if": EQUIPPED,
            "label": "Un jeu de cas de référence est-il repassé périodiquement et après "
            "chaque mise à jour, pour détecter une dérive des contours (contrôle de "
            "constance, dans l'esprit des recommandations ESTRO et AAPM sur la mise en "
            "service des outils d'IA) ?",
        },
        {
            "code": "D9_VIGILANCE",
            "type": "multiple",
            "show_if": EQUIPPED,
            "label": "Comment une erreur ou une défaillance de la solution est-elle signalée ?",
            "options": [
                ["interne", "Déclaration interne d'événement indésirable (CREX)"],
                ["ansm", "Signalement de matériovigilance à l'ANSM par le correspondant local"],
                ["editeur", "Signalement à l'éditeur"],
                ["aucune", "Pas de procédure définie"],
            ],
        },
    ]
    return {
        "format": "onco-hdf-questionnaire",
        "format_version": 1,
        "code": CODE,
        "title": QUESTIONNAIRE["title"],
        "introduction": QUESTIONNAIRE["introduction"]
        + " Une seule réponse par centre : le radiothérapeute référent et le physicien "
        "médical la complètent ensemble, chacun pour ses sections.",
        "sections": [
            {
                "code": "A",
                "title": "Centre",
                "questions": [_v1("A2_NB_ONCO"), _v1("A3_NB_PATIENTS"), _v1("A4_NB_ACCEL")],
            },
            {
                "code": "B",
                "title": "Équipement",
                "questions": [_v1("B1_USAGE"), solutions, _v1("B7_RAISONS")],
            },
            {
                "code": "BS",
                "title": "Solution utilisée",
                "description": "Ces questions sont posées pour chaque solution cochée à la "
                "question précédente.",
                "repeat_for": "B2_SOLUTIONS",
                "questions": [
                    {
                        "code": "BS1_HEBERGEMENT",
                        "type": "single",
                        "required": True,
                        "label": "Où la solution est-elle hébergée ?",
                        "options": _v1("B4_HEBERGEMENT")["options"],
                    },
                    {
                        "code": "BS2_COUT",
                        "type": "single",
                        "label": "Coût annuel de la licence (tranche)",
                        "options": _v1("B5_COUT")["options"],
                    },
                    {
                        "code": "BS3_CLASSE_CE",
                        "type": "single",
                        "label": "Statut réglementaire de la solution",
                        "options": _v1("B6_REGLEMENTAIRE")["options"],
                    },
                    {
                        "code": "BS4_VERSION",
                        "type": "text",
                        "max_length": 100,
                        "label": "Version du logiciel et des modèles utilisés",
                        "help_text": "Par exemple : 2.3, modèles de juin 2025.",
                    },
                    {
                        "code": "BS5_MISE_EN_SERVICE",
                        "type": "month",
                        "show_if": ROUTINE,
                        "label": "Date de mise en service clinique (mois/année)",
                    },
                    {
                        "code": "BS6_REVALIDATION",
                        "type": "single",
                        "label": "Lors d'une mise à jour des modèles par l'éditeur, que "
                        "faites-vous avant l'usage clinique ?",
                        "options": [
                            ["complete", "Une nouvelle validation complète"],
                            ["partielle", "Une validation sur un jeu de cas de référence"],
                            ["notes", "Une lecture des notes de version seulement"],
                            ["rien", "Aucune action spécifique"],
                            ["sans_maj", "Aucune mise à jour reçue à ce jour"],
                        ],
                    },
                ],
            },
            {
                **usage,
                "questions": [
                    by_code["C1_SITES"],
                    by_code["C2_IMAGERIE"],
                    by_code["C3_PART_PATIENTS"],
                    {
                        "code": "C4_RELECTEURS",
                        "type": "multiple",
                        "show_if": ROUTINE,
                        "required": True,
                        "label": "Qui relit et valide les contours proposés ?",
                        "options": [
                            ["onco", "Le radiothérapeute"],
                            ["dosimetriste", "Le dosimétriste"],
                            ["physicien", "Le physicien médical"],
                            ["merm", "Le manipulateur (MERM)"],
                            ["aucun", "Pas de relecture systématique"],
                        ],
                    },
                    *_per_site_questions(),
                    by_code["C6_MINUTES"],
                    {
                        "code": "C7_ADAPTATIF",
                        "type": "single",
                        "show_if": EQUIPPED,
                        "label": "Utilisez-vous le contourage automatique en radiothérapie "
                        "adaptative ?",
                        "options": [
                            ["online", "Oui, en adaptatif en ligne (sur CBCT ou IRM)"],
                            ["offline", "Oui, pour des replanifications hors ligne"],
                            ["projet", "En projet"],
                            ["non", "Non"],
                        ],
                    },
                ],
            },
            quality,
            {
                "code": "G",
                "title": "Conformité, intégration et organisation",
                "questions": [
                    {
                        "code": "G1_RGPD_HDS",
                        "type": "single",
                        "show_if": EQUIPPED,
                        "label": "La solution a-t-elle fait l'objet d'une revue RGPD avec le "
                        "délégué à la protection des données (analyse d'impact) et, si les "
                        "données sortent du centre, d'une vérification de la certification "
                        "HDS de l'hébergeur ?",
                        "options": [
                            ["oui", "Oui"],
                            ["en_cours", "En cours"],
                            ["non", "Non"],
                            ["nsp", "Ne sait pas"],
                        ],
                    },
                    {
                        "code": "G2_INTEGRATION",
                        "type": "multiple",
                        "show_if": EQUIPPED,
                        "label": "Comment la solution est-elle intégrée à vos systèmes ?",
                        "options": [
                            ["pacs", "Réception automatique des images (scanner ou PACS)"],
                            ["tps", "Envoi automatique des contours (RTSTRUCT) vers le TPS"],
                            ["natif", "Module intégré au TPS"],
                            ["manuel", "Import et export manuels"],
                            ["dsi", "Flux et sécurité validés par la DSI"],
                        ],
                    },
                    {
                        "code": "G3_ETP_PHYSIQUE",
                        "type": "number",
                        "show_if": EQUIPPED,
                        "label": "Temps de physique médicale consacré à la solution (mise en "
                        "service, contrôles, mises à jour)",
                        "min_value": 0,
                        "max_value": 5,
                        "unit": "ETP",
                    },
                    {
                        "code": "G4_ETP_DOSIMETRIE",
                        "type": "number",
                        "label": "Effectif de dosimétrie du centre",
                        "min_value": 0,
                        "max_value": 40,
                        "unit": "ETP",
                    },
                    {
                        "code": "G5_TEMPS_REAFFECTE",
                        "type": "single",
                        "show_if": ROUTINE,
                        "label": "Le temps gagné a-t-il été réaffecté ?",
                        "options": [
                            ["patients", "Oui, à la prise en charge de davantage de patients"],
                            [
                                "techniques",
                                "Oui, à des techniques plus complexes (adaptatif, stéréotaxie)",
                            ],
                            ["autres", "Oui, à d'autres tâches"],
                            ["non", "Non"],
                            ["nsp", "Ne sait pas"],
                        ],
                    },
                ],
            },
            section_e,
            section_f,
        ],
    }


QUESTIONNAIRE_V2 = _questionnaire_v2()


# A question only version 2 has: how an installed version 2 is recognised.
V2_MARKER = "BS1_HEBERGEMENT"


def _installed(**lookup) -> QuestionnaireVersion | None:
    return (
        QuestionnaireVersion.objects.filter(questionnaire__code=CODE, **lookup)
        .exclude(status=VersionStatus.DRAFT)
        .order_by("number")
        .first()
    )


@transaction.atomic
def install(*, is_demo: bool = False) -> QuestionnaireVersion:
    """Install and publish version 1 (the 2025 and 2026 waves) and version 2 (the next
    wave) once; version 1 stays published while its campaigns run. Later calls return the
    published version 2."""
    from surveys.services import questionnaire_import, version_publish

    current = _installed(questions__code=V2_MARKER)
    if current is not None:
        return current
    first = _installed(number=1)
    if first is None:
        Questionnaire.objects.filter(code=CODE, versions__isnull=True).delete()
        first = version_publish(
            version=questionnaire_import(data=QUESTIONNAIRE, is_demo=is_demo), user=None
        )
    version = questionnaire_import(data=QUESTIONNAIRE_V2, is_demo=is_demo)
    return version_publish(version=version, user=None)


def first_version() -> QuestionnaireVersion:
    """Version 1, on which the demo's 2025 and 2026 waves are run."""
    return QuestionnaireVersion.objects.get(questionnaire__code=CODE, number=1)


# The questions the report's key findings quote: share of centres using AI contouring
# (the answer codes that mean "yes"), the solutions, the time saved, the obstacles.
KEY_FINDINGS = {
    "usage": ("B1_USAGE", ("routine", "evaluation")),
    "solutions": "B2_SOLUTIONS",
    "time": "C6_MINUTES",
    "obstacles": "F3_FREINS",
}
