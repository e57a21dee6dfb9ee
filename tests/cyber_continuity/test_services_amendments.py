"""New conventions: latest template version only, a second one per pair warned, amendments."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from cyber_continuity import services
from cyber_continuity.models import Convention, ConventionStatus
from tests.conftest import login
from tests.cyber_continuity.conftest import sign

pytestmark = pytest.mark.django_db


def _publish_v2(template_v1, pm):
    v2 = services.template_version_create_next(template=template_v1.template)
    clause = v2.clauses.get(kind="staff")
    clause.body = "Version 2 : deux manipulateurs et un physicien mis à disposition."
    clause.save()
    return services.template_version_publish(version=v2, user=pm)


def test_obsolete_template_version_is_refused_for_a_new_convention(
    template_v1, centre_a, centre_b, pm
):
    _publish_v2(template_v1, pm)
    with pytest.raises(ValidationError, match="version 1 .* est obsolète"):
        services.convention_create(
            template_version=template_v1, centres=[centre_a, centre_b], title="x", user=pm
        )
    assert not Convention.objects.exists()


def test_form_offers_only_the_latest_version(template_v1, centre_a, centre_b, referent_a, pm):
    v2 = _publish_v2(template_v1, pm)
    client = login(referent_a)
    page = client.post(
        reverse("cyber_continuity:convention-create"),
        {
            "title": "Entraide",
            "template_version": template_v1.pk,
            "centres": [centre_a.pk, centre_b.pk],
        },
    )
    assert page.status_code == 200
    assert "Sélectionnez un choix valide" in page.content.decode()
    assert not Convention.objects.exists()
    page = client.post(
        reverse("cyber_continuity:convention-create"),
        {"title": "Entraide", "template_version": v2.pk, "centres": [centre_a.pk, centre_b.pk]},
    )
    assert page.status_code == 302


def test_second_convention_for_a_pair_is_warned(
    in_force_ab, template_v1, centre_a, centre_b, referent_a
):
    url = reverse("cyber_continuity:convention-create")
    data = {
        "title": "Entraide bis",
        "template_version": template_v1.pk,
        "centres": [centre_a.pk, centre_b.pk],
    }
    page = login(referent_a).post(url, data)
    html = page.content.decode()
    assert page.status_code == 200
    assert "Ces centres ont déjà une convention : « Entraide A — B » (En vigueur)" in html
    assert "créez un avenant" in html
    assert 'value="Entraide bis"' in html
    assert Convention.objects.count() == 1
    page = login(referent_a).post(url, {**data, "confirm_duplicate": "on"})
    assert page.status_code == 302
    second = Convention.objects.get(title="Entraide bis")
    assert "Créée en connaissance de cause" in second.transitions.get().comment


def test_amendment_keeps_the_signed_convention_in_force_until_signed(
    in_force_ab, template_v1, centre_a, centre_b, referent_a, referent_b, pm
):
    _publish_v2(template_v1, pm)
    page = login(referent_a).post(
        reverse("cyber_continuity:convention-amend", args=[in_force_ab.pk])
    )
    amendment = Convention.objects.get(amends=in_force_ab)
    assert page.status_code == 302 and page["Location"].endswith(f"/{amendment.pk}/")
    assert amendment.title == "Entraide A — B — avenant 1"
    assert amendment.template_version.number == 2
    assert "Version 2 : deux manipulateurs" in amendment.clauses.get(kind="staff").body
    assert {p.centre for p in amendment.parties.all()} == {centre_a, centre_b}
    with pytest.raises(ValidationError, match="déjà en cours"):
        services.convention_amend(convention=in_force_ab, user=referent_a)
    services.convention_transition(convention=amendment, to_status="negotiation", user=referent_a)
    services.convention_transition(
        convention=amendment, to_status="awaiting_signature", user=referent_a
    )
    sign(convention=amendment, centre=centre_a, user=referent_a)
    in_force_ab.refresh_from_db()
    assert in_force_ab.status == ConventionStatus.IN_FORCE
    assert services.active_convention_between(centre_a.pk, centre_b.pk) == in_force_ab
    sign(convention=amendment, centre=centre_b, user=referent_b)
    in_force_ab.refresh_from_db()
    amendment.refresh_from_db()
    assert amendment.status == ConventionStatus.IN_FORCE
    assert in_force_ab.status == ConventionStatus.TERMINATED
    assert "Remplacée par son avenant" in in_force_ab.transitions.order_by("-pk").first().comment
    assert services.active_convention_between(centre_a.pk, centre_b.pk) == amendment


def test_draft_cannot_be_amended(convention_ab, referent_a):
    with pytest.raises(ValidationError, match="en vigueur"):
        services.convention_amend(convention=convention_ab, user=referent_a)
