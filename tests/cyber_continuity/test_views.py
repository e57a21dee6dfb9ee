from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from cyber_continuity import services
from cyber_continuity.models import (
    CapacityDeclaration,
    Convention,
    ConventionStatus,
    Crisis,
    CrisisStatus,
    Technique,
    Transfer,
    TransferStatus,
)
from tests.conftest import PASSWORD, login, otp_code

pytestmark = pytest.mark.django_db


def _clause_url(convention, clause):
    return reverse("cyber_continuity:convention-clause-edit", args=[convention.pk, clause.pk])


def test_stale_save_is_refused_and_keeps_the_typed_text(convention_ab, referent_a, referent_b):
    clause = convention_ab.clauses.filter(negotiable=True).first()
    alice, bob = login(referent_a), login(referent_b)
    page = alice.get(_clause_url(convention_ab, clause))
    assert 'name="version" value="1"' in page.content.decode()
    # Bob saves first, from the same version.
    response = bob.post(
        _clause_url(convention_ab, clause),
        {"body": "Texte de Bob : deux manipulateurs.", "version": 1},
    )
    assert response.status_code == 302
    response = alice.post(
        _clause_url(convention_ab, clause),
        {"body": "Texte d'Alice : trois physiciens.", "version": 1},
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "a enregistré cette clause pendant que vous la modifiiez" in html
    assert "Texte de Bob : deux manipulateurs." in html  # the other's text is shown
    assert "Texte d&#x27;Alice : trois physiciens.</textarea>" in html  # hers is kept
    assert 'name="version" value="2"' in html
    clause.refresh_from_db()
    assert clause.body == "Texte de Bob : deux manipulateurs."
    # Having seen Bob's text, Alice saves again on top of it.
    response = alice.post(
        _clause_url(convention_ab, clause),
        {"body": "Texte d'Alice : trois physiciens.", "version": 2},
    )
    assert response.status_code == 302
    clause.refresh_from_db()
    assert (clause.body, clause.version) == ("Texte d'Alice : trois physiciens.", 3)
    history = alice.get(
        reverse("cyber_continuity:convention-history", args=[convention_ab.pk])
    ).content.decode()
    assert "<del" in history and "<ins" in history and "Bob" in history


def test_empty_clause_is_refused_without_losing_anything(convention_ab, referent_a):
    clause = convention_ab.clauses.filter(negotiable=True).first()
    response = login(referent_a).post(
        _clause_url(convention_ab, clause), {"body": "", "version": 1}
    )
    assert response.status_code == 200
    assert "Ce champ est obligatoire" in response.content.decode()


def test_convention_workflow_through_the_pages(convention_ab, referent_a, referent_b):
    client = login(referent_a)
    detail = reverse("cyber_continuity:convention-detail", args=[convention_ab.pk])
    transition = reverse("cyber_continuity:convention-transition", args=[convention_ab.pk])
    response = client.post(transition, {"to": "in_force", "comment": "Mon commentaire"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "ne peut pas passer de « Brouillon » à « En vigueur »" in html
    assert ">Mon commentaire</textarea>" in html  # nothing typed is lost
    client.post(transition, {"to": "negotiation"})
    client.post(transition, {"to": "awaiting_signature", "comment": "Relu par les DPO"})
    sign = reverse("cyber_continuity:convention-sign", args=[convention_ab.pk])
    party_a = convention_ab.parties.get(centre__short_name="A")
    party_b = convention_ab.parties.get(centre__short_name="B")
    # A referent signs only for their own centre, through the confirmation page.
    assert client.post(sign, {"party": party_b.pk}).status_code == 403
    confirm_a = client.post(sign, {"party": party_a.pk})["Location"]
    assert confirm_a == reverse(
        "cyber_continuity:convention-party-sign", args=[convention_ab.pk, party_a.pk]
    )
    for user, party, browser in ((referent_a, party_a, client), (referent_b, party_b, None)):
        browser = browser or login(user)
        url = reverse("cyber_continuity:convention-party-sign", args=[convention_ab.pk, party.pk])
        shown = browser.get(url).context["content_hash"]
        response = browser.post(
            url,
            {
                "expected_hash": shown,
                "password": PASSWORD,
                "otp_token": otp_code(user),
                "signer_title": "Directeur général",
            },
        )
        assert response.status_code == 302
    convention_ab.refresh_from_db()
    assert convention_ab.status == ConventionStatus.IN_FORCE
    html = client.get(detail).content.decode()
    assert "En vigueur" in html and "Relu par les DPO" in html and "signée par" in html


def test_referent_creates_a_convention_only_with_their_centre(
    template_v1, referent_a, centre_a, centre_b
):
    from tests.cyber_continuity.factories import CentreFactory

    other = CentreFactory()
    client = login(referent_a)
    url = reverse("cyber_continuity:convention-create")
    response = client.post(
        url,
        {"title": "B et C", "template_version": template_v1.pk, "centres": [centre_b.pk, other.pk]},
    )
    assert "Votre centre doit être l&#x27;une des parties" in response.content.decode()
    assert not Convention.objects.exists()
    response = client.post(
        url,
        {
            "title": "Entraide",
            "template_version": template_v1.pk,
            "centres": [centre_b.pk, centre_a.pk],
        },
    )
    convention = Convention.objects.get()
    assert response["Location"].endswith(f"/conventions/{convention.pk}/")
    # Own centre comes first: it is {{centre_a}} in the text.
    assert convention.clauses.get(kind="parties").body.index(centre_a.name) < (
        convention.clauses.get(kind="parties").body.index(centre_b.name)
    )


def test_capacities_page_saves_and_attests(referent_a, centre_a):
    client = login(referent_a)
    url = reverse("cyber_continuity:capacity-edit", args=[centre_a.pk])
    response = client.post(
        url,
        {
            "imrt_vmat-offered": "on",
            "imrt_vmat-free": "6",
            "imrt_vmat-surge": "2",
            "sbrt-free": "-1",
        },
    )
    assert response.status_code == 200  # negative number refused, form kept
    assert 'value="6"' in response.content.decode()
    assert not CapacityDeclaration.objects.exists()
    response = client.post(
        url, {"imrt_vmat-offered": "on", "imrt_vmat-free": "6", "imrt_vmat-surge": "2"}, follow=True
    )
    assert "1 technique(s) déclarée(s) et attestée(s) ce jour" in response.content.decode()
    declaration = CapacityDeclaration.objects.get()
    assert (declaration.free_slots_per_day, declaration.attested_by) == (6, referent_a)


def test_registry_item_crud(referent_a, centre_a):
    client = login(referent_a)
    response = client.post(
        reverse("cyber_continuity:machine-create", args=[centre_a.pk]),
        {
            "kind": "linac",
            "name": "Halcyon 1",
            "manufacturer": "Varian",
            "model": "Halcyon",
            "mlc": "SX2",
            "energies": "6 FFF",
            "has_fff": "on",
            "beam_matching_group": "HAL",
            "in_service": "on",
        },
    )
    assert response.status_code == 302
    machine = centre_a.machines.get()
    client.post(
        reverse("cyber_continuity:machine-update", args=[machine.pk]),
        {
            "kind": "linac",
            "name": "Halcyon 1",
            "manufacturer": "Varian",
            "model": "Halcyon",
            "in_service": "",
        },
    )
    machine.refresh_from_db()
    assert not machine.in_service and machine.history.count() == 2
    page = client.get(reverse("cyber_continuity:centre-detail", args=[centre_a.pk]))
    assert "Halcyon 1" in page.content.decode()
    client.post(reverse("cyber_continuity:machine-delete", args=[machine.pk]))
    assert not centre_a.machines.exists()


def test_crisis_declared_transfer_proposed_and_accepted(
    region, referent_a, referent_b, django_capture_on_commit_callbacks
):
    client = login(referent_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("cyber_continuity:crisis-declare"),
            {
                "centre": region["a"].pk,
                "systems_down": ["ois", "tps"],
                "description": "Rançongiciel",
                "declare_now": "on",
            },
        )
    crisis = Crisis.objects.get()
    assert response["Location"].endswith(f"/crises/{crisis.pk}/")
    assert crisis.status == CrisisStatus.DECLARED and not crisis.is_exercise
    client.post(
        reverse("cyber_continuity:patient-group-add", args=[crisis.pk]),
        {
            "label": "VMAT prostate",
            "technique": Technique.IMRT_VMAT,
            "category": 2,
            "patient_count": 6,
            "fractions_left": 12,
            "last_fraction_on": "2026-01-05",
        },
    )
    group = crisis.patient_groups.get()
    match_url = reverse("cyber_continuity:patient-group-match", args=[group.pk])
    page = client.get(match_url).content.decode()
    assert "plan transférable" in page and "re-planification nécessaire" in page
    client.post(match_url, {"receiving_centre": region["b"].pk, "patient_count": 6})
    transfer = Transfer.objects.get()
    update = reverse("cyber_continuity:transfer-update", args=[transfer.pk])
    # The attacked centre cannot accept on behalf of the receiving centre.
    assert client.post(update, {"to": "accepted"}).status_code == 403
    receiver = login(referent_b)
    page = receiver.get(reverse("cyber_continuity:crisis-detail", args=[crisis.pk]))
    assert "Accepter" in page.content.decode()
    receiver.post(update, {"to": "accepted", "comment": "Dès demain"})
    transfer.refresh_from_db()
    assert transfer.status == TransferStatus.ACCEPTED and transfer.responded_by == referent_b
    page = client.get(reverse("cyber_continuity:crisis-detail", args=[crisis.pk])).content
    assert "Accepté" in page.decode() and "Dès demain" in page.decode()


def test_bad_patient_group_is_refused_with_the_form_kept(region, referent_a):
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=[], description="", user=referent_a
    )
    response = login(referent_a).post(
        reverse("cyber_continuity:patient-group-add", args=[crisis.pk]),
        {
            "label": "ORL",
            "technique": Technique.IMRT_VMAT,
            "category": 1,
            "patient_count": 0,
            "fractions_left": 3,
            "last_fraction_on": "pas une date",
        },
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Au moins un patient" in html and 'value="ORL"' in html
    assert not crisis.patient_groups.exists()


def test_overview_shows_status_coverage_and_overdue_actions(pm, region, referent_a, in_force_ab):
    crisis = services.crisis_declare(
        centre=region["a"], systems_down=[], description="", user=referent_a
    )
    services.crisis_action_add(
        crisis=crisis,
        title="Tester la restauration du TPS",
        owner="Physicien",
        due_date=date(2020, 1, 1),
        user=referent_a,
    )
    html = login(pm).get(reverse("cyber_continuity:overview")).content.decode()
    assert "à l'arrêt" in html  # centre A is down
    assert "✔" in html  # A × B in force
    assert "Tester la restauration du TPS" in html


def test_home_tile_and_menu(referent_a, in_force_ab):
    from cyber_continuity import dashboard

    tile = dashboard.tile(referent_a)
    counts = dict(tile.counts)
    assert counts["Conventions en vigueur"] == 1
    labels = [item.label for item in dashboard.nav_items(referent_a)]
    assert "Registre de continuité" in labels and "Synthèse continuité" not in labels
    html = login(referent_a).get(reverse("home")).content.decode()
    assert "Registre de continuité" in html


def test_template_versioning_pages(pm, template_v1, convention_ab):
    client = login(pm)
    response = client.post(
        reverse("cyber_continuity:template-version-create", args=[template_v1.template.pk])
    )
    v2 = template_v1.template.versions.get(number=2)
    assert response["Location"].endswith(f"/versions/{v2.pk}/modifier/")
    formset_page = client.get(response["Location"])
    assert formset_page.status_code == 200
    publish = reverse("cyber_continuity:template-version-publish", args=[v2.pk])
    client.post(publish, {"notes": "Clause données précisée"})
    v2.refresh_from_db()
    assert v2.is_published
    html = (
        login(pm)
        .get(reverse("cyber_continuity:convention-detail", args=[convention_ab.pk]))
        .content.decode()
    )
    assert "version obsolète du modèle" in html


def test_project_manager_sees_the_history_of_registry_edits(pm, referent_a, centre_a):
    client = login(referent_a)
    url = reverse("cyber_continuity:contact-create", args=[centre_a.pk])
    client.post(
        url,
        {
            "name": "Dr Garde",
            "function": "Astreinte",
            "mobile_phone": "0600",
            "order": 1,
            "available_24_7": "on",
        },
    )
    contact = centre_a.crisis_contacts.get()
    client.post(
        reverse("cyber_continuity:contact-update", args=[contact.pk]),
        {"name": "Dr Garde", "function": "Astreinte", "mobile_phone": "0611", "order": 1},
    )
    page = login(pm).get(reverse("cyber_continuity:centre-detail", args=[centre_a.pk]))
    history_url = reverse(
        "onco_hdf:object-history", args=["cyber_continuity", "crisiscontact", contact.pk]
    )
    assert history_url in page.content.decode()
    html = login(pm).get(history_url).content.decode()
    assert "0600" in html and "0611" in html


def _formset_data(version, **changes):
    clauses = list(version.clauses.order_by("order"))
    data = {
        "clauses-TOTAL_FORMS": len(clauses) + 1,
        "clauses-INITIAL_FORMS": len(clauses),
        "clauses-MIN_NUM_FORMS": 0,
        "clauses-MAX_NUM_FORMS": 1000,
    }
    for index, clause in enumerate(clauses):
        prefix = f"clauses-{index}-"
        data.update(
            {
                prefix + "id": clause.pk,
                prefix + "version": version.pk,
                prefix + "order": clause.order,
                prefix + "kind": clause.kind,
                prefix + "title": clause.title,
                prefix + "body": clause.body,
                prefix + "negotiable": "on" if clause.negotiable else "",
            }
        )
    data.update(changes)
    return data


def test_project_manager_edits_a_draft_version(pm, template_v1):
    v2 = services.template_version_create_next(template=template_v1.template)
    client = login(pm)
    url = reverse("cyber_continuity:template-version-edit", args=[v2.pk])
    bad = _formset_data(v2, **{"clauses-0-body": "Entre {{centre_a.nom}} et les autres"})
    response = client.post(url, bad)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Champs de fusion inconnus : {{centre_a.nom}}" in html
    assert "Entre {{centre_a.nom}} et les autres" in html  # typed text kept
    good = _formset_data(
        v2,
        **{
            "clauses-0-body": "Entre {{centre_a.name}} et {{centre_b.name}}",
            "clauses-11-order": 12,
            "clauses-11-kind": "other",
            "clauses-11-title": "Exercices annuels",
            "clauses-11-body": "Un exercice commun par an.",
            "clauses-11-negotiable": "on",
        },
    )
    assert client.post(url, good).status_code == 302
    assert v2.clauses.count() == template_v1.clauses.count() + 1
    assert v2.clauses.get(order=1).body == "Entre {{centre_a.name}} et {{centre_b.name}}"
    # The published version is frozen.
    frozen = client.get(reverse("cyber_continuity:template-version-edit", args=[template_v1.pk]))
    assert frozen.status_code == 302


def test_clause_of_a_convention_sent_for_signature_is_no_longer_editable(convention_ab, referent_a):
    clause = convention_ab.clauses.filter(negotiable=True).first()
    client = login(referent_a)
    for status in ("negotiation", "awaiting_signature"):
        services.convention_transition(convention=convention_ab, to_status=status, user=referent_a)
    response = client.get(_clause_url(convention_ab, clause), follow=True)
    assert "Cette convention ne peut plus être modifiée." in response.content.decode()
    # A form opened before the status changed is refused, its text kept.
    response = client.post(
        _clause_url(convention_ab, clause), {"body": "Mon texte tardif", "version": 1}
    )
    html = response.content.decode()
    assert "ses clauses ne peuvent plus être modifiées" in html
    assert "Mon texte tardif</textarea>" in html
    clause.refresh_from_db()
    assert clause.body != "Mon texte tardif"
