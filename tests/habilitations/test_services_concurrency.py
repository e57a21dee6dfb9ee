"""Two heads of department validate the same sheet at the same moment: exactly one wins."""

from __future__ import annotations

import pytest

from habilitations import services
from habilitations.models import SheetStatus, SheetTransition
from habilitations.services import TransitionError
from tests.concurrency import run_together
from tests.habilitations.conftest import reauth
from tests.habilitations.factories import make_sheet
from tests.requirements import need_postgres

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(workers):
    """Run ``workers`` together: "won" for each that passed, "refused" for each refused."""
    outcomes = run_together(*workers)
    for outcome in outcomes:
        if isinstance(outcome, Exception) and not isinstance(outcome, TransitionError):
            raise outcome
    return sorted("refused" if isinstance(o, TransitionError) else "won" for o in outcomes)


def test_concurrent_head_validations_exactly_one_wins(
    oncologist_a, head_a, second_head_a, centre_a, version
):
    need_postgres()
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.SUBMITTED)
    line_id = sheet.lines.get().pk

    def validate(user):
        def work():
            services.sheet_validate_head(
                sheet=sheet,
                user=user,
                grants={line_id: services.Grant(level=sheet.lines.get().level_requested)},
                comment=f"par {user.username}",
                credentials=reauth(user),
            )

        return work

    assert race([validate(head_a), validate(second_head_a)]) == ["refused", "won"]
    sheet.refresh_from_db()
    assert sheet.status == SheetStatus.HEAD_VALIDATED
    assert SheetTransition.objects.filter(sheet=sheet, action="validate_head").count() == 1
    assert sheet.revision == 2


def test_concurrent_regional_validation_and_return_exactly_one_wins(
    oncologist_a, pm, centre_a, version
):
    need_postgres()
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.HEAD_VALIDATED)

    def act(action):
        if action == "validate_regional":
            return lambda: services.sheet_sign(
                sheet=sheet, user=pm, step="regional", comment="Décision", credentials=reauth(pm)
            )
        return lambda: services.sheet_transition(
            sheet=sheet, user=pm, action=action, comment="Décision"
        )

    assert race([act("validate_regional"), act("return_regional")]) == ["refused", "won"]
    sheet.refresh_from_db()
    assert sheet.status in (SheetStatus.REGIONAL_VALIDATED, SheetStatus.DRAFT)
    assert SheetTransition.objects.filter(sheet=sheet).count() == 1


def test_concurrent_reminder_runs_send_each_reminder_once(oncologist_a, centre_a, version):
    import datetime as dt

    from django.core import mail

    from habilitations.models import Reminder

    need_postgres()
    day = services.today()
    make_sheet(
        oncologist_a, centre_a, status=SheetStatus.ACTIVE, valid_until=day + dt.timedelta(days=7)
    )
    counts = []

    def send():
        counts.append(services.reminders_send(on_date=day))

    race([send, send])
    assert sorted(counts) == [0, 1]
    assert Reminder.objects.count() == 1
    assert len(mail.outbox) == 1
