"""Two people at once on one convention, on PostgreSQL (real row locks, real threads)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cyber_continuity import services
from cyber_continuity.models import Convention, ConventionClause, ConventionStatus
from tests.concurrency import run_together
from tests.cyber_continuity.conftest import sign
from tests.requirements import need_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_concurrent_edits_of_one_clause_exactly_one_is_saved(convention_ab, referent_a, referent_b):
    need_postgres()
    clause = convention_ab.clauses.filter(negotiable=True).first()
    outcomes = run_together(
        lambda: services.convention_clause_update(
            clause=clause, body="Texte de A", expected_version=1, user=referent_a
        ),
        lambda: services.convention_clause_update(
            clause=clause, body="Texte de B", expected_version=1, user=referent_b
        ),
    )
    saved = [o for o in outcomes if isinstance(o, ConventionClause)]
    refused = [o for o in outcomes if isinstance(o, services.StaleEditError)]
    assert len(saved) == 1 and len(refused) == 1, outcomes
    clause.refresh_from_db()
    assert clause.version == 2 and clause.body == saved[0].body
    # The refused person is shown the text that won.
    assert refused[0].clause.body == saved[0].body
    assert clause.edits.count() == 1


def test_concurrent_transitions_exactly_one_wins(convention_ab, referent_a, referent_b):
    need_postgres()
    services.convention_transition(
        convention=convention_ab, to_status="negotiation", user=referent_a
    )
    outcomes = run_together(
        *[
            (
                lambda user=user: services.convention_transition(
                    convention=convention_ab, to_status="awaiting_signature", user=user
                )
            )
            for user in (referent_a, referent_b, referent_a)
        ]
    )
    wins = [o for o in outcomes if isinstance(o, Convention)]
    losses = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(wins) == 1 and len(losses) == 2, outcomes
    assert all("ne peut pas passer" in loss.messages[0] for loss in losses)
    convention_ab.refresh_from_db()
    assert convention_ab.status == ConventionStatus.AWAITING_SIGNATURE
    assert convention_ab.transitions.filter(to_status="awaiting_signature").count() == 1


def test_concurrent_last_signatures_bring_into_force_once(
    convention_ab, referent_a, referent_b, centre_a, centre_b
):
    need_postgres()
    for status in ("negotiation", "awaiting_signature"):
        services.convention_transition(convention=convention_ab, to_status=status, user=referent_a)
    outcomes = run_together(
        lambda: sign(convention=convention_ab, centre=centre_a, user=referent_a),
        lambda: sign(convention=convention_ab, centre=centre_b, user=referent_b),
    )
    assert all(isinstance(o, Convention) for o in outcomes), outcomes
    convention_ab.refresh_from_db()
    assert convention_ab.status == ConventionStatus.IN_FORCE
    assert convention_ab.transitions.filter(to_status="in_force").count() == 1
