"""Steering hooks of the survey project: response status per centre, to-dos, trends."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from onco_hdf import permissions as core
from onco_hdf.steering_hooks import LATE, NONE, OK, WARN, Cell, Column, TodoItem, Trend
from surveys import filling
from surveys.models import EDITABLE_STATUSES, ResponseStatus
from surveys.selectors import (
    campaign_list_for_user,
    response_list_for_user,
    response_values,
    version_structure,
)


def _current_campaign(user):
    return campaign_list_for_user(user).order_by("-opens_on", "-pk").first()


def participation(user, centres) -> list[Column]:
    campaign = _current_campaign(user)
    if campaign is None:
        return []
    invited = set(campaign.centres.values_list("pk", flat=True))
    statuses = {}
    for centre_id, status in (
        response_list_for_user(user).filter(campaign=campaign).values_list("centre_id", "status")
    ):
        if statuses.get(centre_id) != ResponseStatus.SUBMITTED:
            statuses[centre_id] = status
    url = reverse("surveys:campaign-results", args=[campaign.pk])
    cells = {}
    for centre in centres:
        status = statuses.get(centre.pk)
        if status == ResponseStatus.SUBMITTED:
            cells[centre.pk] = Cell(_("submitted"), url, OK)
        elif status is not None:
            cells[centre.pk] = Cell(_("in progress"), url, WARN)
        elif centre.pk in invited:
            level = LATE if campaign.closes_on < timezone.localdate() else WARN
            cells[centre.pk] = Cell(_("not started"), url, level)
        else:
            cells[centre.pk] = Cell("—", "", NONE)
    return [Column("survey_response", "surveys", _("Survey response"), cells)]


def sections_left(response) -> int:
    """Sections with a visible required question still unanswered."""
    structure = version_structure(response.campaign.version)
    values, others = response_values(response, structure)
    left = 0
    for _section, items in filling.summary(structure, values, others):
        if any(item.question.required and not item.text for item in items):
            left += 1
    return left


def todo(user) -> list:
    if core.is_regional_reader(user) or not core.centre_ids_for(user):
        return []
    items = []
    today = timezone.localdate()
    responses = {
        (r.campaign_id, r.centre_id): r
        for r in response_list_for_user(user).filter(centre_id__in=core.centre_ids_for(user))
    }
    for campaign in campaign_list_for_user(user):
        if not campaign.is_open(today):
            continue
        for centre_id in campaign.centres.filter(pk__in=core.centre_ids_for(user)).values_list(
            "pk", flat=True
        ):
            response = responses.get((campaign.pk, centre_id))
            if response is None:
                items.append(
                    TodoItem(
                        _("Your centre's response to “%(title)s”: not started yet")
                        % {"title": campaign.title},
                        reverse("surveys:response-start", args=[campaign.pk]),
                        _("start"),
                        WARN,
                    )
                )
            elif response.status in EDITABLE_STATUSES:
                left = sections_left(response)
                text = ngettext(
                    "Your centre's survey response: %(n)s section left",
                    "Your centre's survey response: %(n)s sections left",
                    left,
                ) % {"n": left}
                items.append(
                    TodoItem(
                        text,
                        reverse("surveys:response-detail", args=[response.pk]),
                        _("continue"),
                        WARN,
                    )
                )
    return items


def trends(user) -> list[Trend]:
    if not core.is_regional_reader(user):
        return []
    today = timezone.localdate()
    monday = today - dt.timedelta(days=today.weekday())
    weeks = [monday - dt.timedelta(weeks=n) for n in range(11, -1, -1)]
    counts = dict.fromkeys(weeks, 0)
    since = timezone.make_aware(dt.datetime.combine(weeks[0], dt.time.min))
    for submitted in (
        response_list_for_user(user)
        .filter(submitted_at__gte=since)
        .values_list("submitted_at", flat=True)
    ):
        day = timezone.localtime(submitted).date()
        week = day - dt.timedelta(days=day.weekday())
        if week in counts:
            counts[week] += 1
    return [
        Trend(
            "responses_per_week",
            _("Survey responses submitted per week"),
            [week.strftime("%d/%m") for week in weeks],
            [counts[week] for week in weeks],
        )
    ]


def artefact_lines(artefact) -> list[str] | None:
    """The questionnaire version as text lines, for the COPIL pack's version diff."""
    from surveys.models import QuestionnaireVersion
    from surveys.services import version_to_dict

    if not isinstance(artefact, QuestionnaireVersion):
        return None
    data = version_to_dict(artefact)
    lines = [data["title"]]
    for section in data["sections"]:
        lines.append(f"[{section['code']}] {section['title']}")
        for q in section["questions"]:
            required = " *" if q.get("required") else ""
            options = ", ".join(label for _code, label in q.get("options", []))
            lines.append(f"  {q['code']} ({q['type']}){required} {q['label']}")
            if options:
                lines.append(f"    {options}")
    return lines
