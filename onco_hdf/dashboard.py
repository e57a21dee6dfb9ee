"""Home dashboard tiles and the navigation, gathered from the apps' ``dashboard`` hooks.

An app's ``dashboard.py`` may define ``tile(user) -> Tile | None`` (its project tile with
live counts), ``nav_items(user) -> list[NavItem]`` (its entries in the top menu) and
``centre_panel(request, centre) -> str`` (a rendered section for the centre's page, empty
when the user may not see it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onco_hdf import permissions
from onco_hdf import steering_hooks as steering
from onco_hdf.hooks import app_modules
from onco_hdf.models import Centre, Membership, Role
from onco_hdf.reports import ReportSpec


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    order: int = 50


@dataclass(frozen=True)
class NavGroup:
    """A top-menu entry: a single link, or a drop-down of one app's pages."""

    label: str
    order: int
    items: tuple[NavItem, ...]

    @property
    def url(self) -> str:
        return self.items[0].url


@dataclass(frozen=True)
class Tile:
    key: str
    title: str
    description: str
    url: str = ""
    counts: list[tuple[str, object]] = field(default_factory=list)


# The four regional projects, in the order the COPIL reviews them: key, title, description.
PROJECTS = (
    (
        "surveys",
        gettext_lazy("Auto-contouring survey"),
        gettext_lazy("Questionnaire to radiation oncologists on AI contouring, and its report."),
    ),
    (
        "contouring",
        gettext_lazy("Auto-contouring comparison"),
        gettext_lazy("Contours of each solution on 2 clinical cases, unretouched, compared."),
    ),
    (
        "cyber_continuity",
        gettext_lazy("Cyber-crisis continuity"),
        gettext_lazy("Capacities, transfer plans, conventions and crisis workflow."),
    ),
    (
        "habilitations",
        gettext_lazy("Physician habilitations"),
        gettext_lazy("Regional habilitation sheets and their validation."),
    ),
)


def project_tiles(user) -> list[Tile]:
    provided = {}
    for module in app_modules("dashboard"):
        tile_fn = getattr(module, "tile", None)
        if tile_fn is not None:
            tile = tile_fn(user)
            if tile is not None:
                provided[tile.key] = tile
    return [
        provided.get(key) or Tile(key=key, title=str(title), description=str(description))
        for key, title, description in PROJECTS
    ]


# Short names for the top menu, where the full titles would not fit.
MENU_LABELS = {
    "surveys": gettext_lazy("Surveys"),
    "contouring": gettext_lazy("Contouring"),
    "cyber_continuity": gettext_lazy("Cyber continuity"),
    "habilitations": gettext_lazy("Habilitations"),
}


def centre_panels(request, centre) -> list[str]:
    panels = []
    for module in app_modules("dashboard"):
        panel_fn = getattr(module, "centre_panel", None)
        html = panel_fn(request, centre) if panel_fn is not None else ""
        if html and html.strip():
            panels.append(html)
    return panels


def navigation_for(user) -> list[NavGroup]:
    """The top menu: each project app's pages grouped under the project's short name."""
    titles = {key: str(label) for key, label in MENU_LABELS.items()}
    groups = [NavGroup(_("Home"), 0, (NavItem(_("Home"), reverse("home"), order=0),))]
    for module in app_modules("dashboard"):
        nav_fn = getattr(module, "nav_items", None)
        items = sorted(nav_fn(user), key=lambda item: item.order) if nav_fn else []
        if not items:
            continue
        app = module.__name__.split(".")[0]
        if app in titles and len(items) > 1:
            groups.append(NavGroup(titles[app], items[0].order, tuple(items)))
        else:
            groups.extend(NavGroup(item.label, item.order, (item,)) for item in items)
    return sorted(groups, key=lambda group: group.order)


def nav_items(user) -> list[NavItem]:
    """The foundation's own menu entries."""
    items = []
    if permissions.can_view_centre_directory(user):
        items.append(NavItem(_("Centres"), reverse("onco_hdf:centre-list"), order=80))
    else:
        for centre in permissions.centres_for_user(user)[:2]:
            items.append(
                NavItem(centre.label, reverse("onco_hdf:centre-detail", args=[centre.pk]), order=80)
            )
    if permissions.can_view_copil(user):
        items.append(NavItem(_("COPIL"), reverse("onco_hdf:copil-meeting-list"), order=75))
    if permissions.can_manage_memberships(user):
        items.append(NavItem(_("Users"), reverse("onco_hdf:user-list"), order=85))
    if permissions.has_role(user, Role.ADMIN):
        items.append(NavItem(_("System"), reverse("onco_hdf:system-status"), order=90))
    return items


def regional_summary() -> dict:
    """Counts the regional dashboard shows about the network itself."""
    centres = Centre.objects.filter(is_active=True)
    by_sector = dict(centres.values_list("sector").annotate(n=Count("id")).order_by())
    by_departement = dict(centres.values_list("departement").annotate(n=Count("id")).order_by())
    return {
        "centre_count": centres.count(),
        "user_count": Membership.objects.values("user").distinct().count(),
        "by_sector": by_sector,
        "by_departement": by_departement,
        "centres_without_referent": centres.exclude(Q(memberships__role=Role.REFERENT)).count(),
    }


def sector_chart(summary: dict):
    from onco_hdf import charts
    from onco_hdf.models import Sector

    labels = [str(label) for _value, label in Sector.choices]
    values = [summary["by_sector"].get(value, 0) for value, _label in Sector.choices]
    return charts.bar_chart(labels, values, title=_("Radiotherapy centres by sector"))


# --- Steering dashboard (COPIL and project manager) -----------------------------------
@dataclass(frozen=True)
class MilestoneRow:
    pk: int
    project: str
    project_title: str
    title: str
    due_on: object
    done_on: object
    status_label: str
    late: bool


def project_title(key: str) -> str:
    return next((str(title) for k, title, _d in PROJECTS if k == key), key)


def milestone_rows(user) -> list[MilestoneRow]:
    from onco_hdf.selectors import milestone_list_for_user

    today = timezone.localdate()
    order = {key: i for i, (key, _t, _d) in enumerate(PROJECTS)}
    rows = [
        MilestoneRow(
            pk=m.pk,
            project=m.project,
            project_title=project_title(m.project),
            title=m.title,
            due_on=m.due_on,
            done_on=m.done_on,
            status_label=m.get_status_display(),
            late=m.is_late(today),
        )
        for m in milestone_list_for_user(user)
    ]
    return sorted(rows, key=lambda r: (order.get(r.project, 99), r.due_on, r.pk))


@dataclass(frozen=True)
class MatrixFilters:
    departement: str = ""
    sector: str = ""
    project: str = ""

    @classmethod
    def from_query(cls, query) -> MatrixFilters:
        from onco_hdf.models import Departement, Sector

        departement = query.get("departement", "")
        sector = query.get("secteur", "")
        project = query.get("projet", "")
        return cls(
            departement=departement if departement in Departement.values else "",
            sector=sector if sector in Sector.values else "",
            project=project if project in {key for key, _t, _d in PROJECTS} else "",
        )


def participation_matrix(user, filters: MatrixFilters) -> dict:
    """Centres × the projects' columns; each cell says the state and links to the detail."""
    from onco_hdf.models import Departement, Sector

    centres = permissions.centres_for_user(user).filter(is_active=True)
    if filters.departement:
        centres = centres.filter(departement=filters.departement)
    if filters.sector:
        centres = centres.filter(sector=filters.sector)
    centres = list(centres)
    columns = steering.participation_columns(user, centres)
    if filters.project:
        columns = [c for c in columns if c.project == filters.project]
    empty = steering.Cell("—", "", steering.NONE)
    rows = [(centre, [col.cells.get(centre.pk, empty) for col in columns]) for centre in centres]
    return {
        "columns": columns,
        "rows": rows,
        "filters": filters,
        "departements": Departement.choices,
        "sectors": Sector.choices,
        "projects": [(key, str(title)) for key, title, _d in PROJECTS],
    }


def trend_charts(user) -> list:
    from onco_hdf import charts

    return [
        charts.bar_chart(trend.labels, trend.values, title=trend.title)
        for trend in steering.trends(user)
    ]


def steering_context(user, filters: MatrixFilters | None = None) -> dict:
    from onco_hdf import selectors

    rows = milestone_rows(user)
    return {
        "milestones": rows,
        "late_count": sum(1 for r in rows if r.late),
        "next_meeting": selectors.copil_next_meeting(user),
        "awaiting": list(selectors.copil_decisions_awaiting(user)[:20]),
        "overrides": list(selectors.gate_override_list_for_user(user)[:20]),
        "matrix": participation_matrix(user, filters or MatrixFilters()),
        "trend_charts": trend_charts(user),
    }


def build_dashboard_report(*, job, report) -> ReportSpec:
    user = job.created_by
    summary = regional_summary()
    return ReportSpec(
        template_name="reports/onco_hdf/dashboard.html",
        context={
            "report_title": _("Regional dashboard"),
            "toc": [
                {"anchor": "network", "title": _("The network")},
                {"anchor": "steering", "title": _("Milestones and COPIL")},
                {"anchor": "participation", "title": _("Participation of the centres")},
                {"anchor": "trends", "title": _("Trends")},
                {"anchor": "projects", "title": _("Regional projects")},
                {"anchor": "centres", "title": _("Centres")},
            ],
            "tiles": project_tiles(user),
            "summary": summary,
            "sector_chart": sector_chart(summary),
            "centres": permissions.centres_for_user(user),
            **steering_context(user),
        },
        filename="tableau-de-bord-regional.pdf",
    )
