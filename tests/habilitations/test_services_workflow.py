"""Every step of the transitions table, its guards, and what each step records."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.utils import translation

from habilitations import services, workflow
from habilitations.models import HabilitationSheet, Level, SheetStatus, SheetTransition
from habilitations.services import Grant, TransitionError
from tests.habilitations.conftest import reauth
from tests.habilitations.factories import make_sheet

ACTORS = ("subject", "head", "pm", "head_b", "copil", "system")


@pytest.fixture
def people(oncologist_a, head_a, pm, head_b, copil):
    return {
        "subject": oncologist_a,
        "head": head_a,
        "pm": pm,
        "head_b": head_b,
        "copil": copil,
        "system": None,
    }


def run(action, sheet, user, comment="Commentaire"):
    """Perform ``action`` through the service a user (or the beat task) would use."""
    if action == "validate_head":
        grants = {line.pk: Grant(level=line.level_requested) for line in sheet.lines.all()}
        return services.sheet_validate_head(
            sheet=sheet, user=user, grants=grants, comment=comment, credentials=reauth(user)
        )
    if action == "validate_regional":
        return services.sheet_sign(
            sheet=sheet, user=user, step="regional", comment=comment, credentials=reauth(user)
        )
    if action == "return":
        return services.sheet_return(sheet=sheet, user=user, comment=comment)
    if action == "mark_renewed":  # only ever done by the successor's activation
        with transaction.atomic():
            return services._transition(
                sheet_id=sheet.pk, user=user, action=action, comment=comment
            )
    return services.sheet_transition(sheet=sheet, user=user, action=action, comment=comment)


CASES = [
    (t.action, source, actor)
    for t in workflow.TRANSITIONS
    for source in sorted(t.sources)
    for actor in ACTORS
]


@pytest.mark.parametrize(
    ("action", "source", "actor"), CASES, ids=[f"{a}-{s}-{p}" for a, s, p in CASES]
)
def test_transition_table_decides_who_may(
    action, source, actor, people, oncologist_a, centre_a, version
):
    sheet = make_sheet(oncologist_a, centre_a, status=source)
    transition = workflow.BY_ACTION[action]
    allowed = actor in transition.actors
    user = people[actor]
    if user is not None:
        assert workflow.may(user, sheet, action) is allowed
    if allowed:
        run(action, sheet, user)
        sheet.refresh_from_db()
        assert sheet.status == transition.target
        step = sheet.transitions.get()
        assert (step.action, step.from_status, step.to_status) == (
            action,
            source,
            transition.target,
        )
        assert step.actor == user
        assert sheet.revision == 2
    else:
        with pytest.raises(TransitionError):
            run(action, sheet, user)
        sheet.refresh_from_db()
        assert sheet.status == source
        assert not sheet.transitions.exists()


@pytest.mark.parametrize("action", [t.action for t in workflow.TRANSITIONS])
def test_transition_from_a_wrong_state_is_refused_in_french(
    action, people, oncologist_a, centre_a, version
):
    transition = workflow.BY_ACTION[action]
    wrong = next(s for s in SheetStatus.values if s not in transition.sources)
    sheet = make_sheet(oncologist_a, centre_a, status=wrong)
    actor = next(a for a in ACTORS if a in transition.actors)
    with translation.override("fr"), pytest.raises(TransitionError) as error:
        run(action, sheet, people[actor])
    assert "est impossible" in error.value.messages[0]


def test_head_cannot_validate_own_sheet(head_a, centre_a, version):
    sheet = make_sheet(head_a, centre_a, status=SheetStatus.SUBMITTED)
    assert not workflow.may(head_a, sheet, "validate_head")
    with translation.override("fr"), pytest.raises(TransitionError) as error:
        run("validate_head", sheet, head_a)
    assert "sa propre fiche" in error.value.messages[0]


def test_project_manager_cannot_validate_own_sheet(pm, centre_a, version):
    sheet = make_sheet(pm, centre_a, status=SheetStatus.HEAD_VALIDATED)
    with pytest.raises(TransitionError):
        run("validate_regional", sheet, pm)


def test_comment_required_to_return(oncologist_a, head_a, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.SUBMITTED)
    with translation.override("fr"), pytest.raises(TransitionError) as error:
        services.sheet_return(sheet=sheet, user=head_a, comment="  ")
    assert "commentaire est obligatoire" in error.value.messages[0]
    services.sheet_return(sheet=sheet, user=head_a, comment="Ajoutez le registre.")
    step = SheetTransition.objects.get(sheet=sheet)
    assert (step.comment, step.to_status) == ("Ajoutez le registre.", SheetStatus.DRAFT)


def test_submit_needs_a_line_and_a_valid_training(oncologist_a, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a, levels={})
    with translation.override("fr"), pytest.raises(TransitionError) as error:
        services.sheet_transition(sheet=sheet, user=oncologist_a, action="submit")
    assert "au moins une activité" in error.value.messages[0]
    expired = make_sheet(
        oncologist_a,
        centre_a,
        rp_training_date=dt.date(2015, 1, 1),
        rp_training_expiry=services.today() - dt.timedelta(days=1),
    )
    with pytest.raises(TransitionError):
        services.sheet_transition(sheet=expired, user=oncologist_a, action="submit")


def test_head_validation_grants_levels_and_dates(oncologist_a, head_a, centre_a, version):
    sheet = make_sheet(
        oncologist_a,
        centre_a,
        status=SheetStatus.SUBMITTED,
        levels={"CONT-SEIN": Level.SUPERVISED, "PLAN-3D": Level.SUPERVISED},
    )
    lines = {line.activity.code: line for line in sheet.lines.all()}
    grants = {
        lines["CONT-SEIN"].pk: Grant(level=Level.SUPERVISED, restrictions="Sein gauche"),
        lines["PLAN-3D"].pk: Grant(
            level=Level.IN_TRAINING, expiry_date=services.today() + dt.timedelta(days=180)
        ),
    }
    services.sheet_validate_head(
        sheet=sheet, user=head_a, grants=grants, comment="OK", credentials=reauth(head_a)
    )
    cont, plan = (sheet.lines.get(activity__code=c) for c in ("CONT-SEIN", "PLAN-3D"))
    assert (cont.level_granted, cont.restrictions) == (Level.SUPERVISED, "Sein gauche")
    assert cont.validation_date == services.today()
    assert cont.expiry_date == services.one_year_after(services.today())
    assert plan.level_granted == Level.IN_TRAINING
    assert plan.expiry_date == services.today() + dt.timedelta(days=180)


def test_head_cannot_grant_above_request_nor_past_twelve_months(
    oncologist_a, head_a, centre_a, version
):
    sheet = make_sheet(
        oncologist_a,
        centre_a,
        status=SheetStatus.SUBMITTED,
        levels={"CONT-SEIN": Level.IN_TRAINING},
    )
    line = sheet.lines.get()
    with translation.override("fr"), pytest.raises(TransitionError) as error:
        services.sheet_validate_head(
            sheet=sheet,
            user=head_a,
            grants={line.pk: Grant(level=Level.SUPERVISED)},
            credentials=reauth(head_a),
        )
    assert "ne peut pas dépasser le niveau demandé" in error.value.messages[0]
    late = services.today() + dt.timedelta(days=400)
    with pytest.raises(TransitionError):
        services.sheet_validate_head(
            sheet=sheet,
            user=head_a,
            grants={line.pk: Grant(level=Level.IN_TRAINING, expiry_date=late)},
            credentials=reauth(head_a),
        )
    sheet.refresh_from_db()
    assert sheet.status == SheetStatus.SUBMITTED
    assert not sheet.transitions.exists()


def test_new_activity_starts_supervised(oncologist_a, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a, levels={})
    line = sheet.lines.model(
        sheet=sheet,
        activity=version.activities.get(code="TECH-SBRT"),
        level_requested=Level.AUTONOMOUS,
        supervised_cases=50,
    )
    with translation.override("fr"), pytest.raises(Exception) as error:
        services.line_save(line=line)
    assert "nouvelle activité" in str(error.value)
    line.level_requested = Level.SUPERVISED
    services.line_save(line=line)
    assert sheet.lines.count() == 1


def test_autonomy_after_a_supervised_period_needs_the_cases(
    oncologist_a, head_a, pm, centre_a, version
):
    first = make_sheet(oncologist_a, centre_a, status=SheetStatus.SUBMITTED)
    for action, user in (
        ("validate_head", head_a),
        ("validate_regional", pm),
        ("activate", head_a),
    ):
        run(action, first, user)
    renewal = services.sheet_renew(sheet=first, user=oncologist_a)
    line = renewal.lines.get()
    assert line.level_requested == Level.SUPERVISED
    line.level_requested = Level.AUTONOMOUS
    line.supervised_cases = 2  # the catalogue asks for 5
    with translation.override("fr"), pytest.raises(Exception) as error:
        services.line_save(line=line)
    assert "au moins 5 cas supervisés" in str(error.value)
    line.supervised_cases = 6
    services.line_save(line=line)
    assert renewal.lines.get().level_requested == Level.AUTONOMOUS


def test_full_path_to_renewal(oncologist_a, head_a, pm, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a)
    run("submit", sheet, oncologist_a)
    run("return", sheet, head_a, comment="Incomplet")
    run("submit", sheet, oncologist_a)
    run("validate_head", sheet, head_a)
    run("validate_regional", sheet, pm)
    run("activate", sheet, head_a)
    sheet.refresh_from_db()
    assert sheet.status == SheetStatus.ACTIVE
    assert sheet.valid_from == services.today()
    assert sheet.valid_until == services.one_year_after(services.today())
    assert [t.to_status for t in sheet.transitions.all()] == [
        "submitted",
        "draft",
        "submitted",
        "head_validated",
        "regional_validated",
        "active",
    ]
    assert sheet.revision == 7

    renewal = services.sheet_renew(sheet=sheet, user=head_a)
    assert renewal.previous == sheet and renewal.status == SheetStatus.DRAFT
    with pytest.raises(TransitionError):
        services.sheet_renew(sheet=sheet, user=head_a)
    run("submit", renewal, oncologist_a)
    run("validate_head", renewal, head_a)
    run("validate_regional", renewal, pm)
    run("activate", renewal, pm)
    sheet.refresh_from_db()
    assert sheet.status == SheetStatus.RENEWED
    last = sheet.transitions.last()
    assert last.actor == pm
    assert last.action == "mark_renewed"
    assert str(renewal.pk) in last.comment


def test_one_open_sheet_per_physician_and_centre(oncologist_a, centre_a, version):
    make_sheet(oncologist_a, centre_a)
    with pytest.raises(Exception, match="already in progress|déjà en cours"):
        services.sheet_create(
            user=oncologist_a,
            sheet=HabilitationSheet(
                physician=oncologist_a,
                centre=centre_a,
                post="PH",
                rpps="12345678901",
                start_date=services.today(),
                rp_training_date=services.today(),
                rp_training_expiry=services.today() + dt.timedelta(days=10),
            ),
        )


def test_sheet_dates_in_wrong_order_refused(oncologist_a, centre_a, version):
    with translation.override("fr"), pytest.raises(Exception) as error:
        services.sheet_create(
            user=oncologist_a,
            sheet=HabilitationSheet(
                physician=oncologist_a,
                centre=centre_a,
                post="PH",
                rpps="12345678901",
                start_date=services.today(),
                rp_training_date=services.today(),
                rp_training_expiry=services.today() - dt.timedelta(days=10),
            ),
        )
    assert "doit être postérieure" in str(error.value)
    assert not HabilitationSheet.objects.exists()


def test_sheet_outside_draft_cannot_be_edited(oncologist_a, centre_a, version):
    sheet = make_sheet(oncologist_a, centre_a, status=SheetStatus.SUBMITTED)
    sheet.post = "Autre"
    with pytest.raises(Exception, match="draft|brouillon"):
        services.sheet_update(sheet=sheet)
    line = sheet.lines.get()
    with pytest.raises(Exception, match="draft|brouillon"):
        services.line_save(line=line)
