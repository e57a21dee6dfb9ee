"""Permission matrix: every survey URL × persona (pretix style)."""

import pytest
from django.urls import reverse

from surveys import services
from surveys.models import Response, ResponseStatus
from tests.conftest import PERSONAS
from tests.surveys.factories import FULL_S1, post

OK, REDIRECT, FORBIDDEN, NOT_FOUND = 200, 302, 403, 404


@pytest.fixture
def objects(campaign, centre_a, oncologist_a):
    actor = services.Actor.for_user(oncologist_a, centre_a)
    response = services.response_open(campaign=campaign, centre=centre_a, actor=actor)
    services.response_save_section(
        response=response, section_code="S1", data=post(FULL_S1), actor=actor
    )
    version = campaign.version
    section = version.sections.get(code="S1")
    return {
        "campaign": campaign.pk,
        "response": response.pk,
        "version": version.pk,
        "section": section.pk,
        "question": section.questions.first().pk,
    }


#      name, args (keys of objects or literals), expected per persona:
#      anonymous, pm, copil, referent_a, oncologist_a, oncologist_b
PM_ONLY = (REDIRECT, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN)
REGIONAL = (REDIRECT, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN)
CENTRE_A = (REDIRECT, OK, OK, OK, OK, NOT_FOUND)
GET_MATRIX = [
    ("surveys:campaign-list", [], (REDIRECT, OK, OK, OK, OK, OK)),
    ("surveys:questionnaire-list", [], PM_ONLY),
    ("surveys:questionnaire-create", [], PM_ONLY),
    ("surveys:questionnaire-import", [], PM_ONLY),
    ("surveys:version-detail", ["version"], PM_ONLY),
    ("surveys:version-update", ["version"], PM_ONLY),
    ("surveys:version-preview", ["version"], PM_ONLY),
    ("surveys:version-export", ["version"], PM_ONLY),
    ("surveys:section-create", ["version"], PM_ONLY),
    ("surveys:section-update", ["section"], PM_ONLY),
    ("surveys:question-create", ["section"], PM_ONLY),
    ("surveys:question-update", ["question"], PM_ONLY),
    ("surveys:campaign-create", [], PM_ONLY),
    ("surveys:campaign-update", ["campaign"], PM_ONLY),
    ("surveys:campaign-invite", ["campaign"], PM_ONLY),
    ("surveys:campaign-detail", ["campaign"], REGIONAL),
    ("surveys:campaign-results", ["campaign"], REGIONAL),
    ("surveys:campaign-report", ["campaign"], REGIONAL),
    ("surveys:campaign-centre-results", ["campaign"], (REDIRECT, OK, OK, OK, OK, OK)),
    ("surveys:campaign-export", ["campaign", "csv"], PM_ONLY),
    ("surveys:campaign-export", ["campaign", "sav"], PM_ONLY),
    ("surveys:campaign-export", ["campaign", "sps"], PM_ONLY),
    # Without ?format= the project manager is sent back to the campaign with a message.
    ("surveys:campaign-export-form", ["campaign"], PM_ONLY[:1] + (REDIRECT,) + PM_ONLY[2:]),
    ("surveys:response-detail", ["response"], CENTRE_A),
    ("surveys:response-section", ["response", "S1"], CENTRE_A),
    ("surveys:response-review", ["response"], CENTRE_A),
    (
        "surveys:response-start",
        ["campaign"],
        (REDIRECT, FORBIDDEN, FORBIDDEN, REDIRECT, REDIRECT, REDIRECT),
    ),
]

POST_MATRIX = [
    (
        "surveys:version-new",
        ["version"],
        (REDIRECT, REDIRECT, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN),
    ),
    ("surveys:version-close", ["version"], PM_ONLY[:1] + (REDIRECT,) + PM_ONLY[2:]),
    ("surveys:version-publish", ["version"], PM_ONLY[:1] + (REDIRECT,) + PM_ONLY[2:]),
    ("surveys:section-move", ["section"], PM_ONLY[:1] + (REDIRECT,) + PM_ONLY[2:]),
    ("surveys:section-delete", ["section"], PM_ONLY[:1] + (REDIRECT,) + PM_ONLY[2:]),
    ("surveys:section-restore", ["section"], PM_ONLY[:1] + (REDIRECT,) + PM_ONLY[2:]),
    ("surveys:question-move", ["question"], PM_ONLY[:1] + (REDIRECT,) + PM_ONLY[2:]),
    ("surveys:question-delete", ["question"], PM_ONLY[:1] + (REDIRECT,) + PM_ONLY[2:]),
    ("surveys:question-restore", ["question"], PM_ONLY[:1] + (REDIRECT,) + PM_ONLY[2:]),
    ("surveys:campaign-remind", ["campaign"], PM_ONLY[:1] + (REDIRECT,) + PM_ONLY[2:]),
    ("surveys:campaign-close", ["campaign"], PM_ONLY[:1] + (REDIRECT,) + PM_ONLY[2:]),
    ("surveys:response-reopen", ["response"], PM_ONLY[:1] + (REDIRECT,) + PM_ONLY[2:]),
    ("surveys:response-autosave", ["response", "S1"], (REDIRECT, 409, 409, OK, OK, NOT_FOUND)),
    # The Word copy of the report: regional readers start the job; a centre's role has no
    # such report (404, as for the PDF).
    (
        "onco_hdf:report-start",
        ["surveys.report_docx"],
        (REDIRECT, REDIRECT, REDIRECT, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    ),
]


def _url(name, args, objects):
    return reverse(name, args=[objects.get(a, a) for a in args])


def _check(response, persona, expected, url):
    assert response.status_code == expected, f"{persona} on {url}: {response.status_code}"
    if persona == "anonymous":
        assert "/compte/connexion/" in response["Location"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "args", "expected"), GET_MATRIX, ids=[f"{n}-{'-'.join(a)}" for n, a, _e in GET_MATRIX]
)
def test_get(as_persona, objects, name, args, expected):
    url = _url(name, args, objects)
    for persona, status in zip(PERSONAS, expected, strict=True):
        _check(as_persona(persona).get(url), persona, status, url)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "args", "expected"),
    POST_MATRIX,
    ids=[f"{n}-{'-'.join(a)}" for n, a, _e in POST_MATRIX],
)
def test_post(as_persona, objects, name, args, expected):
    """Each persona posts in turn; the project manager last, since the action may succeed."""
    url = _url(name, args, objects)
    data = {"direction": "up", "comment": "Correction", **FULL_S1}
    order = sorted(zip(PERSONAS, expected, strict=True), key=lambda item: item[0] == "pm")
    for persona, status in order:
        _check(as_persona(persona).post(url, data), persona, status, url)


@pytest.mark.django_db
def test_forbidden_post_changes_nothing(as_persona, objects):
    response = Response.objects.get(pk=objects["response"])
    services.response_submit(response=response, actor=services.Actor(label="t"))
    as_persona("copil").post(
        reverse("surveys:response-reopen", args=[response.pk]), {"comment": "x"}
    )
    as_persona("oncologist_a").post(reverse("surveys:campaign-close", args=[objects["campaign"]]))
    response.refresh_from_db()
    assert response.status == ResponseStatus.SUBMITTED
    assert response.campaign.closed_at is None
