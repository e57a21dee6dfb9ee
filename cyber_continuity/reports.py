"""PDF context builders: a convention, a centre's crisis kit."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cyber_continuity import permissions as perms
from cyber_continuity import selectors, services
from cyber_continuity.models import (
    ACTIVE_STATUSES,
    HARM_TOLERANCE_DAYS,
    UNSIGNED_STATUSES,
    Authority,
    CapacityDeclaration,
    CentreProfile,
    ClauseKind,
    Convention,
    SystemKind,
    UrgencyCategory,
    is_attestation_stale,
)
from onco_hdf import signatures, signing
from onco_hdf.jobs import JobInputError
from onco_hdf.models import Centre, SignatureCapacity
from onco_hdf.reports import ReportSpec


def parties_with_signatories(convention: Convention) -> list:
    """Each party with its signature act (``signatory``), None before it signed."""
    by_step = {s.step: s for s in signatures.signatories(convention)}
    parties = list(convention.parties.select_related("centre", "signed_by", "signature"))
    for party in parties:
        step = services.convention_party_step(party)
        party.signatory = by_step.get(step) if party.signed_at else None
    return parties


def build_convention_context(*, convention: Convention) -> ReportSpec:
    version = convention.template_version
    return ReportSpec(
        template_name="reports/cyber_continuity/convention.html",
        context={
            "report_title": convention.title,
            "report_subtitle": _("Convention template “%(template)s”, version %(number)d")
            % {"template": version.template.title, "number": version.number},
            "data_version": convention.get_status_display(),
            "convention": convention,
            "parties": parties_with_signatories(convention),
            "clauses": convention.clauses.all(),
            "content_hash": signatures.document_hash(
                convention, SignatureCapacity.LEGAL_REPRESENTATIVE
            ),
        },
        filename=f"convention-{convention.pk}-{slugify(convention.title)[:40]}.pdf",
        # Signed by every party: the official convention; before that, an unsigned draft.
        official=None
        if convention.status in UNSIGNED_STATUSES
        else signing.Official.of(
            convention,
            title=convention.title,
            reference=_("template “%(template)s”, version %(number)d")
            % {"template": version.template.title, "number": version.number},
        ),
    )


def issued_convention_holder(issued) -> dict | None:
    """What the public verification page shows for a convention: parties, version, signatures.

    Only what its signed PDF prints; a convention that no longer exists shows nothing more.
    """
    convention = (
        Convention.objects.select_related("template_version__template")
        .filter(pk=int(issued.object_id))
        .first()
    )
    if convention is None:
        return None
    return {
        "template": "cyber_continuity/includes/verify_convention.html",
        "convention": convention,
        "parties": [p.centre.name for p in convention.parties.select_related("centre")],
        "signatories": convention.signatories(),
    }


# What the receiving centre needs for each transferred patient.
MINIMAL_DATA = [
    gettext_lazy(
        "Identity (name, birth date, national health identifier) and the referring physician"
    ),
    gettext_lazy("Prescription: target volumes, total dose, dose per fraction, technique"),
    gettext_lazy("Fractions delivered and dose delivered so far, date of the last fraction"),
    gettext_lazy("DICOM-RT: planning CT, RT Plan, RT Structure Set, RT Dose"),
    gettext_lazy("Setup images and positioning notes (immobilisation, bolus, tattoos)"),
    gettext_lazy("Concurrent treatments (chemotherapy) and relevant medical history"),
]
FIRST_HOUR_CHECKLIST = [
    gettext_lazy("Stop treatments that depend on the lost systems; keep patients informed"),
    gettext_lazy(
        "Call the crisis contacts of the first receiving centres through out-of-band channels"
    ),
    gettext_lazy("Declare the crisis on the platform (from a device outside the attacked network)"),
    gettext_lazy("Inform the regional health agency (ARS), the CERT Santé and the ASN"),
    gettext_lazy("List the patients under treatment by technique and urgency category"),
    gettext_lazy("Check which data can still be exported (plans, images) and from which backup"),
    gettext_lazy("Appoint a transfer coordinator and a physicist for the plan exchanges"),
]


# Clauses a night-time reader of the kit needs from each convention.
KEY_CLAUSES = [ClauseKind.ACTIVATION, ClauseKind.RESPONSIBILITY, ClauseKind.STAFF, ClauseKind.DATA]


def build_crisis_kit_context(*, centre: Centre, viewer=None) -> ReportSpec:
    """The kit; ``viewer`` limits the crisis contacts shown (None: the centre's own copy)."""
    visible = None if viewer is None else perms.crisis_contact_centre_ids(viewer)

    def contacts_shown(c: Centre) -> bool:
        return visible is None or c.pk in visible

    sections = services.transfer_plan(centre)
    receiver_ids = {row.entry.receiving_centre_id for s in sections for row in s.rows}
    receivers = list(
        Centre.objects.filter(pk__in=receiver_ids).prefetch_related("crisis_contacts", "machines")
    )
    capacities = list(
        CapacityDeclaration.objects.filter(centre__in=[centre.pk, *receiver_ids])
        .prefetch_related("machine_slots__machine")
        .order_by("technique")
    )
    for receiver in receivers:
        receiver.contacts_shown = contacts_shown(receiver)
        receiver.kit_profile = CentreProfile.objects.filter(centre=receiver).first()
        receiver.kit_machines = [m for m in receiver.machines.all() if m.in_service]
        receiver.kit_systems = list(
            receiver.information_systems.filter(kind__in=[SystemKind.TPS, SystemKind.OIS])
        )
        receiver.kit_capacities = [
            (c, services.capacity_slots(c)) for c in capacities if c.centre_id == receiver.pk
        ]
        receiver.kit_convention = services.active_convention_between(centre.pk, receiver.pk)
        receiver.kit_clauses = (
            list(receiver.kit_convention.clauses.filter(kind__in=KEY_CLAUSES))
            if receiver.kit_convention
            else []
        )
    attested = [c.attested_at for c in capacities if c.attested_at]
    data_date = min(attested) if attested and len(attested) == len(capacities) else None
    conventions = (
        Convention.objects.filter(status__in=ACTIVE_STATUSES, parties__centre=centre)
        .prefetch_related("parties__centre")
        .distinct()
    )
    return ReportSpec(
        template_name="reports/cyber_continuity/crisis_kit.html",
        context={
            "report_title": _("Crisis kit — %(centre)s") % {"centre": centre.label},
            "report_subtitle": centre.name,
            "data_version": timezone.localdate().strftime("%d/%m/%Y"),
            "data_date": data_date,
            "data_stale": is_attestation_stale(data_date),
            "authorities": Authority.objects.select_related("centre").filter(
                Q(centre__isnull=True) | Q(centre=centre)
            ),
            "harm_rows": [
                (label, HARM_TOLERANCE_DAYS[value]) for value, label in UrgencyCategory.choices
            ],
            "census_rows": range(12),
            "toc": [
                {"anchor": "authorities", "title": _("Authorities and on-call numbers")},
                {"anchor": "contacts", "title": _("Crisis contacts")},
                {"anchor": "checklist", "title": _("First-hour checklist")},
                {"anchor": "harm", "title": _("Urgency categories and days before harm")},
                {"anchor": "census", "title": _("Census of patients under treatment")},
                {"anchor": "plan", "title": _("Transfer plan")},
                {"anchor": "receivers", "title": _("Receiving centres")},
                {"anchor": "conventions", "title": _("Conventions in force")},
                {"anchor": "data", "title": _("Minimal data for a transferred patient")},
            ],
            "centre": centre,
            "profile": CentreProfile.objects.filter(centre=centre).first(),
            "contacts": centre.crisis_contacts.all(),
            "show_contacts": contacts_shown(centre),
            "systems": centre.information_systems.all(),
            "sections": sections,
            "receivers": receivers,
            "conventions": conventions,
            "minimal_data": MINIMAL_DATA,
            "checklist": FIRST_HOUR_CHECKLIST,
        },
        filename=f"kit-crise-{slugify(centre.label)}.pdf",
    )


def build_crisis_kit_report(*, job, report) -> ReportSpec:
    """Registered report: ``job.params["p_centre"]`` is the centre's id."""
    try:
        centre_id = int(job.params.get("p_centre", ""))
    except ValueError as error:
        raise JobInputError(_("No centre was chosen.")) from error
    centre = selectors.centre_list_for_user(job.created_by).filter(pk=centre_id).first()
    if centre is None:
        raise JobInputError(_("This centre does not exist."))
    return build_crisis_kit_context(centre=centre, viewer=job.created_by)


def duration(value) -> str:
    if value is None:
        return "—"
    minutes = int(value.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


def metrics_rows(metrics) -> list[tuple[str, str]]:
    return [
        (_("Time to declaration"), duration(metrics.to_declaration)),
        (_("Time to first proposed transfer"), duration(metrics.to_first_proposal)),
        (_("Time to first acceptance"), duration(metrics.to_first_acceptance)),
        (_("Time to first fraction at the receiver"), duration(metrics.to_first_fraction)),
    ]


def build_exercise_report_context(*, exercise) -> ReportSpec:
    """The exercise for its action plan: scenario, metrics per centre, injects, RETEX."""
    rows = [(r.crisis, metrics_rows(r.metrics)) for r in services.exercise_metrics(exercise)]
    return ReportSpec(
        template_name="reports/cyber_continuity/exercise_report.html",
        context={
            "report_title": _("Exercise report — %(title)s") % {"title": exercise.title},
            "report_subtitle": ", ".join(c.name for c in exercise.centres.order_by("name")),
            "data_version": timezone.localdate().strftime("%d/%m/%Y"),
            "toc": [
                {"anchor": "summary", "title": _("The exercise")},
                {"anchor": "metrics", "title": _("Metrics for the action plan")},
                {"anchor": "injects", "title": _("Injects")},
                {"anchor": "retex", "title": _("RETEX actions")},
            ],
            "exercise": exercise,
            "centres": exercise.centres.order_by("name"),
            "metrics": rows,
            "metric_labels": [label for label, _value in rows[0][1]] if rows else [],
            "injects": exercise.injects.select_related("played_by"),
            "actions": exercise.actions.all(),
        },
        filename=f"exercice-{slugify(exercise.title)[:60]}.pdf",
    )
