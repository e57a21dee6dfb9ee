from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from cyber_continuity import services
from cyber_continuity.models import Convention, ConventionStatus, ConventionTransition
from tests.cyber_continuity.conftest import sign

pytestmark = pytest.mark.django_db


def test_placeholders_filled_from_registry_and_nothing_else():
    values = {("centre_a", "name"): "CHU <Lille>", ("parties", "names"): "A, B"}
    text = (
        "Entre {{centre_a.name}} et {{ parties.names }}. {{ request.user }} "
        "{% load static %} {{centre_a.__class__}}"
    )
    filled = services.fill_placeholders(text, values)
    assert filled.startswith("Entre CHU <Lille> et A, B.")
    # Unknown names, template tags and dunder lookups are left as plain text.
    assert "{{ request.user }}" in filled
    assert "{% load static %}" in filled
    assert "{{centre_a.__class__}}" in filled
    assert services.unknown_placeholders(text) == ["{{ request.user }}", "{{centre_a.__class__}}"]


def test_convention_text_uses_the_parties_registry_data(convention_ab, centre_a, centre_b):
    parties_clause = convention_ab.clauses.get(kind="parties")
    assert centre_a.name in parties_clause.body
    assert centre_b.finess in parties_clause.body
    assert "{{" not in parties_clause.body
    assert convention_ab.status == ConventionStatus.DRAFT
    assert convention_ab.transitions.get().to_status == ConventionStatus.DRAFT


def test_template_versioning_and_outdated_flag(pm, template_v1, convention_ab):
    assert not convention_ab.is_outdated
    template = template_v1.template
    v2 = services.template_version_create_next(template=template)
    assert v2.number == 2 and not v2.is_published
    assert v2.clauses.count() == template_v1.clauses.count()
    # A draft version does not make conventions outdated; publishing it does.
    assert not Convention.objects.get(pk=convention_ab.pk).is_outdated
    with pytest.raises(ValidationError, match="brouillon|draft"):
        services.template_version_create_next(template=template)
    services.template_version_publish(version=v2, user=pm)
    assert Convention.objects.get(pk=convention_ab.pk).is_outdated


def test_publish_refuses_unknown_placeholders(pm, template_v1):
    v2 = services.template_version_create_next(template=template_v1.template)
    clause = v2.clauses.first()
    clause.body = "Voir {{centre_z.name}}"
    clause.save()
    with pytest.raises(ValidationError):
        services.template_version_publish(version=v2, user=pm)
    v2.refresh_from_db()
    assert not v2.is_published


def test_convention_needs_a_published_version_and_two_centres(pm, template_v1, centre_a):
    draft = services.template_version_create_next(template=template_v1.template)
    with pytest.raises(ValidationError):
        services.convention_create(
            template_version=template_v1, centres=[centre_a, centre_a], title="x", user=pm
        )
    with pytest.raises(ValidationError):
        services.convention_create(template_version=draft, centres=[centre_a], title="x", user=pm)
    assert not Convention.objects.exists()


def test_forbidden_transition_is_refused_in_french(convention_ab, referent_a):
    with pytest.raises(services.TransitionError, match="ne peut pas passer"):
        services.convention_transition(
            convention=convention_ab, to_status="in_force", user=referent_a
        )
    convention_ab.refresh_from_db()
    assert convention_ab.status == ConventionStatus.DRAFT


def test_signatures_bring_the_convention_into_force(in_force_ab, referent_a, referent_b):
    assert in_force_ab.status == ConventionStatus.IN_FORCE
    parties = {p.centre.short_name: p for p in in_force_ab.parties.all()}
    assert parties["A"].signed_by == referent_a and parties["A"].signed_at
    assert parties["B"].signed_by == referent_b
    moves = list(in_force_ab.transitions.values_list("from_status", "to_status"))
    assert moves == [
        ("", "draft"),
        ("draft", "negotiation"),
        ("negotiation", "awaiting_signature"),
        ("awaiting_signature", "in_force"),
    ]
    assert in_force_ab.end_date == in_force_ab.start_date + timedelta(days=3 * 365)


def test_reopening_clears_signatures(convention_ab, referent_a, centre_a):
    services.convention_transition(
        convention=convention_ab, to_status="negotiation", user=referent_a
    )
    services.convention_transition(
        convention=convention_ab, to_status="awaiting_signature", user=referent_a
    )
    sign(convention=convention_ab, centre=centre_a, user=referent_a)
    with pytest.raises(ValidationError):
        sign(convention=convention_ab, centre=centre_a, user=referent_a)
    services.convention_transition(
        convention=convention_ab, to_status="negotiation", user=referent_a
    )
    assert not convention_ab.parties.filter(signed_at__isnull=False).exists()


def test_clause_edit_keeps_history_and_refuses_a_stale_version(
    convention_ab, referent_a, referent_b
):
    clause = convention_ab.clauses.filter(negotiable=True).first()
    services.convention_clause_update(
        clause=clause, body="Texte de A", expected_version=1, user=referent_a
    )
    with pytest.raises(services.StaleEditError) as caught:
        services.convention_clause_update(
            clause=clause, body="Texte de B", expected_version=1, user=referent_b
        )
    assert caught.value.clause.body == "Texte de A"
    assert "pendant que vous" in caught.value.messages[0]
    clause.refresh_from_db()
    assert (clause.body, clause.version) == ("Texte de A", 2)
    edit = clause.edits.get()
    assert edit.user == referent_a and edit.new_body == "Texte de A"


def test_non_negotiable_clause_and_signed_convention_cannot_be_edited(in_force_ab, referent_a):
    fixed = in_force_ab.clauses.filter(negotiable=False).first()
    with pytest.raises(ValidationError):
        services.convention_clause_update(
            clause=fixed, body="x", expected_version=1, user=referent_a
        )
    negotiable = in_force_ab.clauses.filter(negotiable=True).first()
    with pytest.raises(ValidationError, match="En vigueur"):
        services.convention_clause_update(
            clause=negotiable, body="x", expected_version=1, user=referent_a
        )


def test_text_diff_marks_words():
    diff = services.text_diff("deux manipulateurs", "trois manipulateurs")
    assert ("delete", "deux") in diff and ("insert", "trois") in diff
    assert ("equal", " manipulateurs") in diff


def test_expiry_check_moves_to_renewal_due_then_expired(in_force_ab):
    today = timezone.localdate()
    Convention.objects.filter(pk=in_force_ab.pk).update(end_date=today + timedelta(days=10))
    assert services.convention_expiry_check(today=today) == 1
    in_force_ab.refresh_from_db()
    assert in_force_ab.status == ConventionStatus.RENEWAL_DUE
    assert services.convention_expiry_check(today=today + timedelta(days=11)) == 1
    in_force_ab.refresh_from_db()
    assert in_force_ab.status == ConventionStatus.EXPIRED
    assert services.convention_expiry_check(today=today + timedelta(days=12)) == 0
    assert (
        ConventionTransition.objects.filter(convention=in_force_ab, actor__isnull=True).count() == 2
    )
