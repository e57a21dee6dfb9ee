"""The seeded auto-contouring questionnaire, version 2: what a radiotherapy review asked for."""

import random

import pytest

from surveys import autocontouring, demo, exports, rules, services
from surveys.models import QuestionnaireVersion, QuestionType
from surveys.selectors import version_structure
from surveys.services import Actor
from tests.surveys.factories import CampaignFactory, invite, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def versions():
    second = autocontouring.install()
    assert autocontouring.install() == second  # idempotent
    first = QuestionnaireVersion.objects.get(questionnaire__code=autocontouring.CODE, number=1)
    return first, second


def codes(version) -> set[str]:
    return set(version.questions.values_list("code", flat=True))


def test_version_2_is_a_new_version_keeping_the_codes_of_unchanged_questions(versions):
    first, second = versions
    assert first.questionnaire_id == second.questionnaire_id and second.number == 2
    kept = codes(first) & codes(second)
    assert {"B1_USAGE", "B2_SOLUTIONS", "C1_SITES", "C6_MINUTES", "F3_FREINS"} <= kept
    for code in kept - {"B2_SOLUTIONS"}:
        old, new = first.questions.get(code=code), second.questions.get(code=code)
        assert (old.label, old.type, old.show_if) == (new.label, new.type, new.show_if), code
    assert "A1_FONCTION" not in codes(second)  # no per-person question in a centre response
    assert {c.code for c in first.questions.get(code="B2_SOLUTIONS").options()} <= {
        c.code for c in second.questions.get(code="B2_SOLUTIONS").options()
    }


def test_vendor_list_and_the_per_vendor_block(versions):
    _first, second = versions
    solutions = second.questions.get(code="B2_SOLUTIONS")
    labels = [c.label for c in solutions.options()]
    for vendor in ("Elekta", "Philips", "Varian Ethos", "Varian Contour ProtégéAI", "Radformation"):
        assert any(label.startswith(vendor) for label in labels), vendor
    assert solutions.allow_other
    block = second.sections.get(code="BS")
    assert block.repeat_for == solutions
    assert [q.code for q in block.questions.order_by("order")] == [
        "BS1_HEBERGEMENT", "BS2_COUT", "BS3_CLASSE_CE", "BS4_VERSION", "BS5_MISE_EN_SERVICE",
        "BS6_REVALIDATION",
    ]  # fmt: skip
    structure = version_structure(second)
    assert "BS6_REVALIDATION__radformation" in structure.by_code
    assert "BS1_HEBERGEMENT__other" in structure.by_code


def test_retouching_and_time_per_localisation_used_and_reviewers_multi_choice(versions):
    _first, second = versions
    for site, _label in autocontouring.SITES:
        for prefix in ("C5_RETOUCHES_", "C6_MANUEL_", "C6_IA_"):
            question = second.questions.get(code=prefix + site.upper())
            assert question.show_if == {
                "q": "C1_SITES", "row": site, "op": "in", "value": ["oar", "ctv", "ganglions"]
            }  # fmt: skip
    manual = second.questions.get(code="C6_MANUEL_PROSTATE")
    assert "manuel" in manual.label and manual.unit == "min"
    assert second.questions.get(code="C4_RELECTEURS").type == QuestionType.MULTIPLE
    used = {"C1_SITES": {"prostate": ["oar", "ctv"], "orl": ["na"]}, "B1_USAGE": "routine"}
    visible = rules.visible_codes(version_structure(second).rule_list, used)
    assert "C5_RETOUCHES_PROSTATE" in visible and "C5_RETOUCHES_ORL" not in visible


def test_new_topics_and_qa_items_citing_estro_and_aapm(versions):
    _first, second = versions
    assert {
        "D5_ECHANTILLON", "D6_CRITERES", "D8_CAS_REFERENCE", "D9_VIGILANCE", "G1_RGPD_HDS",
        "G2_INTEGRATION", "C7_ADAPTATIF", "G3_ETP_PHYSIQUE", "G4_ETP_DOSIMETRIE",
    } <= codes(second)  # fmt: skip
    references = second.questions.get(code="D7_RECOMMANDATIONS")
    labels = " ".join(c.label for c in references.options())
    assert "ESTRO" in labels and "AAPM" in labels
    assert "ANSM" in " ".join(c.label for c in second.questions.get(code="D9_VIGILANCE").options())
    assert "HDS" in second.questions.get(code="G1_RGPD_HDS").label
    revalidation = second.questions.get(code="BS6_REVALIDATION")
    assert "mise à jour des modèles" in revalidation.label
    services._check_version_rules(second)


def answers_v2(rng: random.Random, data: dict) -> dict:
    """A centre's simulated version 1 answers moved to version 2: per solution, per
    localisation used, reviewers as a list, the new topics."""
    data.pop("q-A1_FONCTION")
    usage = data["q-B1_USAGE"]
    hosting, cost = data.pop("q-B4_HEBERGEMENT", ""), data.pop("q-B5_COUT", "")
    status, since = data.pop("q-B6_REGLEMENTAIRE", ""), data.pop("q-B3_MISE_EN_SERVICE", "")
    if "q-B2_SOLUTIONS" in data:
        codes = [code for code, _label in autocontouring.SOLUTIONS_V2]
        chosen = rng.sample(codes, len(data["q-B2_SOLUTIONS"]))
        data["q-B2_SOLUTIONS"] = chosen
        for code in chosen:
            data[f"q-BS1_HEBERGEMENT__{code}"] = hosting
            data[f"q-BS2_COUT__{code}"] = cost
            data[f"q-BS3_CLASSE_CE__{code}"] = status
            data[f"q-BS4_VERSION__{code}"] = f"{rng.randint(1, 4)}.{rng.randint(0, 9)}"
            data[f"q-BS6_REVALIDATION__{code}"] = rng.choice(
                ["complete", "partielle", "partielle", "notes", "sans_maj"]
            )
            if since:
                data[f"q-BS5_MISE_EN_SERVICE__{code}"] = since
        data["q-C7_ADAPTATIF"] = rng.choice(["online", "offline", "projet", "non", "non"])
        data["q-D5_ECHANTILLON"] = str(rng.choice([10, 15, 20, 30, 50]))
        data["q-D6_CRITERES"] = rng.sample(
            ["dsc", "distances", "clinique", "retouches", "dosimetrique"], rng.randint(1, 3)
        )
        data["q-D7_RECOMMANDATIONS"] = rng.sample(["estro", "aapm", "sfpm", "editeur"], 2)
        data["q-D8_CAS_REFERENCE"] = rng.choice(["yes", "no", "no"])
        data["q-D9_VIGILANCE"] = rng.sample(["interne", "ansm", "editeur"], rng.randint(1, 2))
        data["q-G1_RGPD_HDS"] = rng.choice(["oui", "oui", "en_cours", "nsp"])
        data["q-G2_INTEGRATION"] = rng.sample(["pacs", "tps", "natif", "dsi"], rng.randint(1, 3))
        data["q-G3_ETP_PHYSIQUE"] = rng.choice(["0,1", "0,2", "0,3", "0,5"])
    data["q-G4_ETP_DOSIMETRIE"] = str(rng.randint(2, 9))
    reviewers = data.pop("q-C4_RELECTURE", "")
    if usage == "routine":
        data["q-C4_RELECTEURS"] = {
            "onco": ["onco"],
            "dosi_onco": ["dosimetriste", "onco"],
            "physicien": ["physicien", "onco"],
        }[reviewers]
        data["q-G5_TEMPS_REAFFECTE"] = rng.choice(["patients", "techniques", "autres", "non"])
        for site, _label in autocontouring.SITES:
            data.pop(f"q-C5_RETOUCHES-{site}", None)
            if site != "orl" and rng.random() < 0.3:
                data[f"q-C1_SITES-{site}"] = ["na"]  # a localisation not contoured by AI
                continue
            key = site.upper()
            manual = rng.randrange(20, 120, 5)
            data[f"q-C5_RETOUCHES_{key}"] = rng.choice(["aucune", "mineures", "moderees"])
            data[f"q-C6_MANUEL_{key}"] = str(manual)
            data[f"q-C6_IA_{key}"] = str(manual - rng.randrange(5, manual // 2 + 6, 5))
    return data


def test_a_routine_centre_with_two_solutions_fills_version_2_and_submits(versions, centre_a):
    _first, second = versions
    data = next(
        d
        for d in (
            answers_v2(random.Random(s), demo.simulated_answers(random.Random(s)))
            for s in range(100)
        )
        if d["q-B1_USAGE"] == "routine" and len(d["q-B2_SOLUTIONS"]) == 2
    )
    campaign = CampaignFactory(version=second)
    campaign.centres.set([centre_a])
    invitation, _token = invite(campaign, centre_a)
    actor = Actor.for_invitation(invitation)
    response = services.response_open(campaign=campaign, centre=centre_a, actor=actor)
    for section in version_structure(second).sections:
        result = services.response_save_section(
            response=response, section_code=section.code, data=post(data), actor=actor
        )
        assert result.errors == {}, result.errors
    services.response_submit(response=response, actor=actor)
    response.refresh_from_db()
    answers = response.snapshot["answers"]
    vendors = data["q-B2_SOLUTIONS"]
    assert all(f"BS1_HEBERGEMENT__{v}" in answers for v in vendors)
    assert "A1_FONCTION" not in answers
    assert answers["C4_RELECTEURS"]["value"]
    for fmt in ("csv", "dta", "sav"):
        content = exports.export(campaign, fmt)[0]
        assert content, fmt
    header = exports.export(campaign, "csv")[0].decode("utf-8").lstrip("\ufeff").split("\n")[0]
    assert f"BS1_HEBERGEMENT__{vendors[0]}" in header.split(";")
