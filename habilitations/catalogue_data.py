"""The regional activity catalogue (version 1), used by the demo and by
``manage.py habilitations_load_catalogue`` in production.

Content is French (it is data, not interface text). Expected evidence per level follows
one regional pattern, specialised per activity: what is observed in training, how many
cases are done under a tutor, what proves autonomy, what makes a referent / trainer.
"""

from __future__ import annotations


def _activity(
    code: str,
    label: str,
    description: str,
    *,
    prerequisites: str = "DES d'oncologie option radiothérapie (ou inscription en DES).",
    cases: int = 20,
    observe: str = "",
    training: str = "",
    autonomy: str = "",
    referent: str = "",
) -> dict:
    observe = observe or "Observation de 5 cas réalisés par un radiothérapeute habilité."
    return {
        "code": code,
        "label": label,
        "description": description,
        "prerequisites": prerequisites,
        "min_supervised_cases": cases,
        "evidence_in_training": (
            f"{observe} {training or 'Formation théorique validée (cours du DES ou équivalent).'}"
        ),
        "evidence_supervised": (
            f"Réalisation de {cases} cas au moins sous la supervision d'un tuteur habilité "
            "(niveau autonome ou référent), chaque cas relu et tracé dans le registre des cas "
            "supervisés."
        ),
        "evidence_autonomous": (
            autonomy
            or f"{cases} cas supervisés validés par le tuteur, dont au moins 5 revus par un pair "
            "sans modification majeure ; évaluation favorable du tuteur et du chef de service."
        ),
        "evidence_referent": (
            referent
            or "Pratique autonome depuis au moins 2 ans avec une activité régulière ; "
            "participation à la formation des internes et des pairs, aux revues de dossiers "
            "(RMM, CREX) et à la rédaction des procédures du service."
        ),
    }


CONTOURING_SITES = [
    (
        "ORL",
        "tête et cou",
        "volumes ganglionnaires cervicaux selon les consensus (Grégoire "
        "2014), organes à risque (parotides, constricteurs, larynx, moelle)",
        25,
    ),
    (
        "SEIN",
        "sein et aires ganglionnaires",
        "sein, paroi thoracique, aires ganglionnaires "
        "(ESTRO 2015), cœur et artère interventriculaire antérieure",
        20,
    ),
    (
        "PROSTATE",
        "prostate et pelvis masculin",
        "prostate, vésicules séminales, lit "
        "prostatique, aires ganglionnaires pelviennes, rectum, vessie, bulbe pénien",
        20,
    ),
    (
        "THORAX",
        "poumon et médiastin",
        "tumeur primitive sur TDM 4D (ITV), ganglions "
        "médiastinaux, poumons, œsophage, cœur, plexus brachial",
        20,
    ),
    (
        "DIGESTIF",
        "digestif (rectum, canal anal, œsophage, pancréas)",
        "mésorectum, aires inguinales, œsophage, pancréas, intestin grêle, foie, reins",
        20,
    ),
    (
        "GYNECO",
        "gynécologie (col, endomètre, vulve)",
        "CTV utérin et vaginal, aires "
        "ganglionnaires pelviennes et lombo-aortiques (consensus RTOG/EMBRACE)",
        15,
    ),
    (
        "SNC",
        "système nerveux central",
        "gliomes sur IRM fusionnée, méningiomes, cavités "
        "opératoires ; chiasma, nerfs optiques, tronc cérébral, cochlées, hippocampes",
        15,
    ),
    ("HEMATO", "lymphomes et hémopathies", "ISRT/INRT selon l'ILROG à partir du TEP initial", 10),
    (
        "SARCOME",
        "sarcomes et peau",
        "sarcomes des membres et du tronc, carcinomes cutanés, mélanomes",
        10,
    ),
    (
        "PALLIATIF",
        "métastases osseuses et irradiations palliatives",
        "vertèbres, bassin, os longs, encéphale in toto ; compression médullaire",
        10,
    ),
]

BRACHY_TYPES = [
    (
        "GYN-HDR",
        "Curiethérapie gynécologique de haut débit (utéro-vaginale)",
        "Curiethérapie utéro-vaginale HDR guidée par l'image (IRM/TDM) pour cancer du col ou de "
        "l'endomètre : pose de l'applicateur, contourage du HR-CTV, validation de la dosimétrie "
        "(D90, D2cc).",
        15,
    ),
    (
        "GYN-VAG",
        "Curiethérapie vaginale post-opératoire",
        "Curiethérapie du fond vaginal par cylindre après hystérectomie.",
        10,
    ),
    (
        "PROST-LDR",
        "Curiethérapie prostatique à bas débit (implants d'iode 125)",
        "Implantation permanente de grains d'iode 125 sous échographie endorectale, dosimétrie "
        "per-opératoire et post-implantation à J30.",
        15,
    ),
    (
        "PROST-HDR",
        "Curiethérapie prostatique de haut débit",
        "Implantation temporaire de vecteurs, en monothérapie ou en complément d'une "
        "radiothérapie externe.",
        10,
    ),
    (
        "SEIN",
        "Curiethérapie interstitielle du sein",
        "Surimpression ou irradiation partielle accélérée du sein par implant interstitiel.",
        10,
    ),
    (
        "ENDOLUM",
        "Curiethérapie endoluminale (œsophage, bronches)",
        "Curiethérapie endoluminale HDR à visée curative ou palliative.",
        5,
    ),
    (
        "PEAU",
        "Curiethérapie cutanée et de contact",
        "Curiethérapie de contact par moules ou applicateurs de surface (carcinomes cutanés, "
        "lèvre).",
        5,
    ),
]

CATALOGUE_V1 = {
    "number": 1,
    "label": "Catalogue régional des activités de radiothérapie — 2026",
    "notes": (
        "Première version régionale, validée par le COPIL radiothérapie Hauts-de-France. "
        "Référence : décision ASN n° 2021-DC-0708 (modalités d'habilitation au poste de "
        "travail)."
    ),
    "domains": [
        {
            "code": "CLIN",
            "name": "Consultation et indication",
            "activities": [
                _activity(
                    "CLIN-CONS",
                    "Consultation initiale et indication de radiothérapie",
                    "Consultation médicale initiale, vérification de l'indication validée en "
                    "RCP, choix de la technique, de la dose et du fractionnement, information "
                    "du patient et recueil de son consentement.",
                    cases=30,
                ),
                _activity(
                    "CLIN-RCP",
                    "Présentation et décision en RCP",
                    "Présentation des dossiers et participation à la décision en réunion de "
                    "concertation pluridisciplinaire d'organe.",
                    cases=20,
                    observe="Participation à 10 RCP en observateur.",
                ),
                _activity(
                    "CLIN-REIRR",
                    "Indication de ré-irradiation",
                    "Analyse des traitements antérieurs, cumul de dose aux organes à risque, "
                    "indication de ré-irradiation et information du patient sur le risque "
                    "spécifique.",
                    cases=10,
                    prerequisites="Habilitation autonome CLIN-CONS et PLAN-3D.",
                ),
                _activity(
                    "CLIN-SURV",
                    "Consultation de fin de traitement et de surveillance",
                    "Bilan de fin de traitement, cotation des toxicités (CTCAE), organisation "
                    "de la surveillance et de la déclaration des événements indésirables.",
                    cases=20,
                ),
            ],
        },
        {
            "code": "CONT",
            "name": "Contourage par localisation anatomique",
            "activities": [
                _activity(
                    f"CONT-{code}",
                    f"Contourage — {name}",
                    f"Délinéation des volumes cibles et des organes à risque : {detail}.",
                    cases=cases,
                    training="Atelier de contourage (ESTRO, SFRO ou régional) sur la localisation.",
                    autonomy=f"{cases} contourages supervisés, dont au moins 10 revus par un "
                    "pair (revue par les pairs tracée) sans modification majeure du CTV ; "
                    "comparaison aux atlas de consensus.",
                )
                for code, name, detail, cases in CONTOURING_SITES
            ],
        },
        {
            "code": "PLAN",
            "name": "Validation de la planification dosimétrique",
            "activities": [
                _activity(
                    "PLAN-3D",
                    "Validation d'un plan de radiothérapie conformationnelle 3D",
                    "Analyse de l'histogramme dose-volume, de la couverture des volumes "
                    "cibles et des contraintes aux organes à risque ; validation médicale du "
                    "plan avec le physicien médical.",
                    cases=20,
                ),
                _activity(
                    "PLAN-IMRT",
                    "Validation d'un plan en modulation d'intensité (IMRT/VMAT)",
                    "Validation médicale des plans modulés : objectifs et priorités, "
                    "hétérogénéités de dose, résultats du contrôle qualité pré-traitement.",
                    cases=20,
                    prerequisites="Habilitation autonome PLAN-3D.",
                ),
                _activity(
                    "PLAN-STX",
                    "Validation d'un plan stéréotaxique",
                    "Validation des plans de stéréotaxie (gradient de dose, indices de "
                    "conformité, contraintes hypofractionnées).",
                    cases=15,
                    prerequisites="Habilitation autonome PLAN-IMRT.",
                ),
            ],
        },
        {
            "code": "IGRT",
            "name": "Radiothérapie guidée par l'image",
            "activities": [
                _activity(
                    "IGRT-2D",
                    "Validation des images de positionnement 2D (kV/MV)",
                    "Revue et validation médicale des images portales et kV de "
                    "positionnement, seuils d'action et traçabilité.",
                    cases=20,
                ),
                _activity(
                    "IGRT-CBCT",
                    "Revue des imageries volumiques (CBCT, MVCT)",
                    "Analyse des recalages volumiques, variations anatomiques, décision de "
                    "replanification.",
                    cases=20,
                ),
                _activity(
                    "IGRT-ADAPT",
                    "Radiothérapie adaptative en ligne",
                    "Validation en ligne des contours et du plan adapté (IRM-linac ou CBCT "
                    "adaptatif) en présence du patient.",
                    cases=15,
                    prerequisites="Habilitation autonome IGRT-CBCT et PLAN-IMRT.",
                    training="Formation constructeur à la plateforme adaptative.",
                ),
            ],
        },
        {
            "code": "SUIVI",
            "name": "Suivi en cours de traitement",
            "activities": [
                _activity(
                    "SUIVI-HEBDO",
                    "Consultation hebdomadaire en cours de traitement",
                    "Consultation de suivi au moins hebdomadaire, cotation et prise en charge "
                    "des toxicités aiguës, vérification de la conformité du traitement "
                    "délivré.",
                    cases=20,
                ),
                _activity(
                    "SUIVI-EI",
                    "Gestion des interruptions et des événements indésirables",
                    "Décision de compensation d'une interruption, analyse et déclaration "
                    "des événements significatifs de radioprotection (ESR) à l'ASN.",
                    cases=5,
                    training="Formation à la déclaration des ESR et à l'analyse des causes (CREX).",
                ),
            ],
        },
        {
            "code": "GARDE",
            "name": "Astreinte et urgences",
            "activities": [
                _activity(
                    "GARDE-ASTR",
                    "Astreinte médicale de radiothérapie",
                    "Astreinte opérationnelle : réponse aux appels des manipulateurs et des "
                    "services, décisions en dehors des heures ouvrables.",
                    cases=10,
                    observe="Doublure de 5 astreintes avec un senior habilité.",
                    prerequisites="Habilitation autonome CLIN-CONS et SUIVI-HEBDO.",
                ),
                _activity(
                    "GARDE-URG",
                    "Radiothérapie en urgence",
                    "Mise en traitement en urgence (compression médullaire, syndrome cave "
                    "supérieur, hémostase) de la décision à la première séance.",
                    cases=5,
                ),
            ],
        },
        {
            "code": "TECH",
            "name": "Techniques de traitement",
            "activities": [
                _activity(
                    "TECH-3D",
                    "Radiothérapie conformationnelle 3D",
                    "Prise en charge complète d'un traitement conformationnel 3D.",
                    cases=20,
                ),
                _activity(
                    "TECH-IMRT",
                    "Radiothérapie en modulation d'intensité (IMRT, VMAT, tomothérapie)",
                    "Prise en charge complète d'un traitement en modulation d'intensité.",
                    cases=20,
                    prerequisites="Habilitation autonome TECH-3D.",
                ),
                _activity(
                    "TECH-SBRT",
                    "Radiothérapie stéréotaxique extra-crânienne (SBRT)",
                    "Stéréotaxie pulmonaire, hépatique, osseuse, prostatique et "
                    "oligométastatique : indication, contourage sur imagerie 4D, validation, "
                    "présence à la première séance.",
                    cases=15,
                    prerequisites="Habilitation autonome TECH-IMRT et IGRT-CBCT.",
                    training="Formation spécifique à la stéréotaxie (DIU ou cours ESTRO) et "
                    "formation constructeur.",
                ),
                _activity(
                    "TECH-SRS",
                    "Radiochirurgie et stéréotaxie intracrânienne (SRS/SRT)",
                    "Radiochirurgie des métastases cérébrales, méningiomes, neurinomes et "
                    "malformations artério-veineuses, en lien avec le neurochirurgien.",
                    cases=15,
                    prerequisites="Habilitation autonome TECH-IMRT et CONT-SNC.",
                    training="Formation spécifique à la radiochirurgie et formation "
                    "constructeur du système de contention et d'imagerie.",
                ),
            ],
        },
        {
            "code": "CURIE",
            "name": "Curiethérapie",
            "activities": [
                _activity(
                    f"CURIE-{code}",
                    label,
                    description,
                    cases=cases,
                    prerequisites="Formation à la radioprotection des travailleurs et des "
                    "patients en curiethérapie ; habilitation du service pour la technique.",
                    training="Formation théorique en curiethérapie (GEC-ESTRO ou DIU) et "
                    "formation au projecteur de sources.",
                )
                for code, label, description, cases in BRACHY_TYPES
            ],
        },
        {
            "code": "PED",
            "name": "Radiothérapie pédiatrique",
            "activities": [
                _activity(
                    "PED-RT",
                    "Radiothérapie des enfants et adolescents",
                    "Prise en charge des tumeurs pédiatriques selon les protocoles SFCE, "
                    "organisation de l'anesthésie ou de la sédation, information des parents.",
                    cases=10,
                    prerequisites="Exercice dans un centre de référence pédiatrique ou "
                    "convention avec celui-ci ; habilitation autonome TECH-IMRT.",
                    training="Stage dans un centre de référence en radiothérapie pédiatrique.",
                ),
                _activity(
                    "PED-SNC",
                    "Irradiation crânio-spinale et tumeurs cérébrales de l'enfant",
                    "Irradiation crânio-spinale (médulloblastome) et tumeurs cérébrales "
                    "pédiatriques.",
                    cases=5,
                    prerequisites="Habilitation PED-RT au niveau autonome.",
                ),
            ],
        },
        {
            "code": "ICT",
            "name": "Irradiation corporelle totale",
            "activities": [
                _activity(
                    "ICT-TBI",
                    "Irradiation corporelle totale (ICT) avant greffe",
                    "Irradiation corporelle totale myéloablative ou à intensité réduite avant "
                    "allogreffe, protection pulmonaire, dosimétrie in vivo, coordination avec "
                    "l'équipe d'hématologie.",
                    cases=5,
                    prerequisites="Habilitation autonome TECH-3D.",
                ),
                _activity(
                    "ICT-TMI",
                    "Irradiation médullaire et lymphoïde totale (TMI/TMLI)",
                    "Irradiation totale modulée de la moelle et des aires lymphoïdes.",
                    cases=5,
                    prerequisites="Habilitation autonome ICT-TBI et TECH-IMRT.",
                ),
            ],
        },
    ],
}

CATALOGUES = (CATALOGUE_V1,)
