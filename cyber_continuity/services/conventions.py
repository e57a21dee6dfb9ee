"""Convention templates, conventions, placeholders and the convention workflow."""

from __future__ import annotations

import difflib
import re
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cyber_continuity.models import (
    ACTIVE_STATUSES,
    EDITABLE_STATUSES,
    ClauseKind,
    Convention,
    ConventionClause,
    ConventionClauseEdit,
    ConventionParty,
    ConventionStatus,
    ConventionTemplate,
    ConventionTemplateVersion,
    ConventionTransition,
    TemplateClause,
)
from cyber_continuity.services.common import (
    Move,
    StaleEditError,
    TransitionError,
    _label,
    moves_into,
)
from onco_hdf import governance, signatures, workflow
from onco_hdf.models import Centre, SignatureCapacity

# --- Placeholders ---------------------------------------------------------------------
PLACEHOLDER_RE = re.compile(r"\{\{\s*([a-z_]+)\.([a-z_]+)\s*\}\}")
CENTRE_FIELDS = (
    "name",
    "short_name",
    "finess",
    "city",
    "legal_entity",
    "address",
    "crisis_contact",
)
PARTY_KEYS = ("centre_a", "centre_b", "centre_c", "centre_d")
OTHER_PLACEHOLDERS = {("convention", "title"), ("parties", "names")}


def known_placeholder(obj: str, attr: str) -> bool:
    return (obj in PARTY_KEYS and attr in CENTRE_FIELDS) or (obj, attr) in OTHER_PLACEHOLDERS


def unknown_placeholders(text: str) -> list[str]:
    return [
        m.group(0)
        for m in PLACEHOLDER_RE.finditer(text)
        if not known_placeholder(m.group(1), m.group(2))
    ]


def crisis_contact_placeholder(centre: Centre) -> str:
    """How a convention names a party's crisis contact: the function on call and the
    centre's switchboard, never a person's name or personal mobile. Every reader of a
    convention sees its text and PDF, while the direct numbers stay in the registry for
    those allowed to read them (and the people on call change during the three years)."""
    profile = getattr(centre, "continuity_profile", None)
    contact = centre.crisis_contacts.order_by("order", "name").first()
    switchboard = profile.switchboard_phone if profile else ""
    parts = [contact.function] if contact else []
    if switchboard:
        parts.append(_("reachable through the switchboard %(phone)s") % {"phone": switchboard})
    return ", ".join(parts) or "—"


def centre_placeholder_values(centre: Centre) -> dict[str, str]:
    profile = getattr(centre, "continuity_profile", None)
    return {
        "name": centre.name,
        "short_name": centre.label,
        "finess": centre.finess,
        "city": centre.city,
        "legal_entity": (profile.legal_entity if profile else "") or centre.name,
        "address": (profile.address if profile else "") or centre.city,
        "crisis_contact": crisis_contact_placeholder(centre),
    }


def placeholder_values(*, centres: list[Centre], title: str) -> dict[tuple[str, str], str]:
    values: dict[tuple[str, str], str] = {
        ("convention", "title"): title,
        ("parties", "names"): ", ".join(c.name for c in centres),
    }
    for key, centre in zip(PARTY_KEYS, centres, strict=False):
        for attr, value in centre_placeholder_values(centre).items():
            values[(key, attr)] = value
    return values


def fill_placeholders(text: str, values: dict[tuple[str, str], str]) -> str:
    """Replace known ``{{obj.attr}}`` by plain values; leave anything else untouched.

    A regular-expression substitution, never template rendering: the text is user input and
    must not reach the template engine.
    """

    def replace(match: re.Match) -> str:
        return values.get((match.group(1), match.group(2)), match.group(0))

    return PLACEHOLDER_RE.sub(replace, text)


# --- Convention templates -------------------------------------------------------------
DEFAULT_CLAUSES = [
    (
        ClauseKind.PARTIES,
        False,
        gettext_lazy(
            "This convention is made between {{centre_a.legal_entity}} ({{centre_a.name}}, "
            "FINESS {{centre_a.finess}}), {{centre_a.address}}, and {{centre_b.legal_entity}} "
            "({{centre_b.name}}, FINESS {{centre_b.finess}}), {{centre_b.address}}."
        ),
    ),
    (
        ClauseKind.SCOPE,
        True,
        gettext_lazy(
            "It applies when a party loses its information systems (record-and-verify, "
            "planning system, oncology information system) following a malicious incident and "
            "can no longer treat its patients safely."
        ),
    ),
    (
        ClauseKind.ACTIVATION,
        True,
        gettext_lazy(
            "The convention is activated by a call between crisis contacts, confirmed in "
            "writing through an out-of-band channel. Crisis contacts: {{centre_a.crisis_contact}}; "
            "{{centre_b.crisis_contact}}. Their direct numbers are kept in the regional registry "
            "of crisis contacts."
        ),
    ),
    (
        ClauseKind.RESPONSIBILITY,
        True,
        gettext_lazy(
            "The receiving centre's radiation oncologist validates the treatment continued there; "
            "its medical physicist validates the plan or the re-planning."
        ),
    ),
    (
        ClauseKind.RADIATION_PROTECTION,
        False,
        gettext_lazy(
            "The receiving centre applies its own radiation protection rules to patients and to "
            "staff made available."
        ),
    ),
    (
        ClauseKind.STAFF,
        True,
        gettext_lazy(
            "The affected centre may make radiation therapists and physicists available to the "
            "receiving centre, under its supervision."
        ),
    ),
    (
        ClauseKind.DATA,
        False,
        gettext_lazy(
            "Data are exchanged through a secure channel approved by both data protection officers "
            "and hosted by certified health data hosts (HDS)."
        ),
    ),
    (
        ClauseKind.BILLING,
        True,
        gettext_lazy(
            "Treatment delivered is billed by the receiving centre according to the national "
            "tariffs."
        ),
    ),
    (
        ClauseKind.INSURANCE,
        False,
        gettext_lazy("Each party keeps its own civil liability insurance for its activity."),
    ),
    (
        ClauseKind.QUALITY,
        False,
        gettext_lazy(
            "Significant radiation protection events are declared by the centre where they occur; "
            "both parties share their analysis."
        ),
    ),
    (
        ClauseKind.DURATION,
        True,
        gettext_lazy(
            "The convention is made for three years and can be renewed by written agreement."
        ),
    ),
]


@transaction.atomic
def template_create(
    *, title: str, description: str = "", user=None, is_demo: bool = False
) -> ConventionTemplate:
    if ConventionTemplate.objects.filter(title=title).exists():
        raise ValidationError(_("A template with this title already exists."))
    template = ConventionTemplate.objects.create(
        title=title, description=description, is_demo=is_demo
    )
    version = ConventionTemplateVersion.objects.create(template=template, number=1)
    for order, (kind, negotiable, body) in enumerate(DEFAULT_CLAUSES, start=1):
        TemplateClause.objects.create(
            version=version,
            order=order,
            kind=kind,
            title=str(ClauseKind(kind).label),
            body=str(body),
            negotiable=negotiable,
        )
    return template


def _locked_version(version_id: int) -> ConventionTemplateVersion:
    return ConventionTemplateVersion.objects.select_for_update().get(pk=version_id)


@transaction.atomic
def template_version_publish(
    *, version: ConventionTemplateVersion, user, notes: str = ""
) -> ConventionTemplateVersion:
    version = _locked_version(version.pk)
    if version.is_published:
        raise ValidationError(_("This version is already published."))
    if not version.clauses.exists():
        raise ValidationError(_("A version without clauses cannot be published."))
    for clause in version.clauses.all():
        unknown = unknown_placeholders(clause.body)
        if unknown:
            raise ValidationError(
                _("Clause “%(title)s” has unknown placeholders: %(names)s")
                % {"title": clause.title, "names": ", ".join(unknown)}
            )
    version.published_at = timezone.now()
    version.published_by = user
    if notes:
        version.notes = notes
    version.save()
    return version


@transaction.atomic
def template_version_create_next(*, template: ConventionTemplate) -> ConventionTemplateVersion:
    """A new draft version, copied from the latest version."""
    ConventionTemplate.objects.select_for_update().get(pk=template.pk)
    latest = template.versions.order_by("-number").first()
    if latest is not None and not latest.is_published:
        raise ValidationError(_("Publish or finish the current draft version first."))
    number = (latest.number if latest else 0) + 1
    version = ConventionTemplateVersion.objects.create(template=template, number=number)
    if latest is not None:
        for clause in latest.clauses.all():
            TemplateClause.objects.create(
                version=version,
                order=clause.order,
                kind=clause.kind,
                title=clause.title,
                body=clause.body,
                negotiable=clause.negotiable,
            )
    return version


# --- Conventions ----------------------------------------------------------------------
@transaction.atomic
def convention_create(
    *,
    template_version: ConventionTemplateVersion,
    centres: list[Centre],
    title: str,
    user,
    start_date=None,
    end_date=None,
    is_demo: bool = False,
    confirm_duplicate: bool = False,
    amends: Convention | None = None,
) -> Convention:
    if not template_version.is_published:
        raise ValidationError(_("Only a published template version can be used."))
    latest = template_version.template.latest_published()
    if latest is not None and latest.number > template_version.number:
        raise ValidationError(
            _(
                "Version %(number)d of “%(template)s” is obsolete: a new convention uses "
                "version %(latest)d."
            )
            % {
                "number": template_version.number,
                "template": template_version.template.title,
                "latest": latest.number,
            }
        )
    governance.require_validated(template_version)
    if len({c.pk for c in centres}) < 2:
        raise ValidationError(_("A convention needs at least two different centres."))
    if len(centres) > len(PARTY_KEYS):
        raise ValidationError(_("A convention has at most four parties."))
    duplicates = [] if amends is not None else conventions_between(centres)
    if duplicates and not confirm_duplicate:
        raise DuplicateConventionError(duplicates)
    convention = Convention.objects.create(
        title=title,
        template_version=template_version,
        created_by=user,
        start_date=start_date,
        end_date=end_date,
        is_demo=is_demo,
        amends=amends,
    )
    for centre in centres:
        ConventionParty.objects.create(convention=convention, centre=centre)
    values = placeholder_values(centres=centres, title=title)
    for clause in template_version.clauses.all():
        ConventionClause.objects.create(
            convention=convention,
            order=clause.order,
            kind=clause.kind,
            title=clause.title,
            body=fill_placeholders(clause.body, values),
            negotiable=clause.negotiable,
            updated_by=user,
        )
    if amends is not None:
        comment = _("Amendment of “%(title)s”.") % {"title": amends.title}
    elif duplicates:
        comment = _("Created knowingly although %(others)s already exist(s).") % {
            "others": ", ".join(_("“%(title)s”") % {"title": c.title} for c in duplicates)
        }
    else:
        comment = ""
    workflow.record_creation(
        record_model=ConventionTransition,
        subject_field="convention",
        obj=convention,
        to_status=ConventionStatus.DRAFT,
        actor=user,
        comment=comment,
    )
    return convention


# A convention still binding (or about to): another one between the same centres is a duplicate.
LIVE_STATUSES = frozenset(
    set(ConventionStatus) - {ConventionStatus.EXPIRED, ConventionStatus.TERMINATED}
)


def conventions_between(centres: list[Centre]) -> list[Convention]:
    """Live conventions binding at least two of ``centres`` together."""
    ids = {c.pk for c in centres}
    found = []
    for convention in Convention.objects.filter(
        status__in=LIVE_STATUSES, parties__centre__in=ids
    ).distinct():
        if len({p.centre_id for p in convention.parties.all()} & ids) >= 2:
            found.append(convention)
    return found


class DuplicateConventionError(ValidationError):
    """The centres already have a live convention: amend it, or confirm a second one."""

    def __init__(self, conventions: list[Convention]):
        super().__init__(
            _(
                "These centres already have a convention: %(others)s. To change it, open it "
                "and create an amendment; to create a second convention anyway, tick the "
                "confirmation box."
            )
            % {
                "others": ", ".join(
                    _("“%(title)s” (%(status)s)")
                    % {"title": c.title, "status": c.get_status_display()}
                    for c in conventions
                )
            }
        )
        self.conventions = conventions


@transaction.atomic
def convention_amend(*, convention: Convention, user) -> Convention:
    """A new version of a convention in force, from its template's latest version.

    The signed convention stays in force until every party signed the amendment; then it is
    terminated and the amendment replaces it.
    """
    convention = Convention.objects.select_for_update().get(pk=convention.pk)
    if convention.status not in ACTIVE_STATUSES:
        raise ValidationError(_("Only a convention in force can be amended."))
    pending = convention.amendments.exclude(status__in=[S.TERMINATED, S.EXPIRED]).first()
    if pending is not None:
        raise ValidationError(
            _("An amendment is already under way: “%(title)s”.") % {"title": pending.title}
        )
    version = convention.template_version.template.latest_published()
    number = convention.amendments.count() + 1
    parties = [p.centre for p in convention.parties.select_related("centre").order_by("pk")]
    return convention_create(
        template_version=version,
        centres=parties,
        title=_("%(title)s — amendment %(n)d") % {"title": convention.title, "n": number},
        user=user,
        amends=convention,
    )


@transaction.atomic
def convention_clause_update(
    *, clause: ConventionClause, body: str, expected_version: int, user
) -> ConventionClause:
    """Save a negotiable clause if nobody saved it since ``expected_version`` was read."""
    clause = (
        ConventionClause.objects.select_for_update().select_related("convention").get(pk=clause.pk)
    )
    if not clause.negotiable:
        raise ValidationError(_("This clause comes from the template and cannot be negotiated."))
    if clause.convention.status not in EDITABLE_STATUSES:
        raise ValidationError(
            _("The convention is “%(status)s”: its clauses can no longer be edited.")
            % {"status": clause.convention.get_status_display()}
        )
    if clause.version != expected_version:
        base = clause.edits.filter(version=expected_version + 1).first()
        who = clause.updated_by.get_full_name() if clause.updated_by else _("someone")
        raise StaleEditError(
            _(
                "%(who)s saved this clause while you were editing it. Your text was not saved: "
                "it is kept below. Compare it with the current text, then save again."
            )
            % {"who": who or clause.updated_by.username},
            clause=clause,
            base_body=base.old_body if base else clause.body,
        )
    body = body.replace("\r\n", "\n").strip()
    if body == clause.body:
        return clause
    ConventionClauseEdit.objects.create(
        clause=clause,
        user=user,
        version=clause.version + 1,
        old_body=clause.body,
        new_body=body,
    )
    clause.body = body
    clause.version += 1
    clause.updated_by = user
    clause.save()
    return clause


def text_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Word-level diff as (op, text) pieces: op is "equal", "delete" or "insert"."""
    old_words = re.split(r"(\s+)", old)
    new_words = re.split(r"(\s+)", new)
    pieces: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    for op, a0, a1, b0, b1 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(("equal", "".join(old_words[a0:a1])))
        else:
            if a1 > a0:
                pieces.append(("delete", "".join(old_words[a0:a1])))
            if b1 > b0:
                pieces.append(("insert", "".join(new_words[b0:b1])))
    return pieces


S = ConventionStatus
# The one table of allowed convention moves. "In force" is reached only by the last signature.
CONVENTION_TRANSITIONS: dict[tuple[str, str], Move] = {
    (S.DRAFT, S.NEGOTIATION): Move(gettext_lazy("Open the negotiation")),
    (S.NEGOTIATION, S.AWAITING_SIGNATURE): Move(gettext_lazy("Send for signature")),
    (S.AWAITING_SIGNATURE, S.NEGOTIATION): Move(gettext_lazy("Reopen the negotiation")),
    (S.AWAITING_SIGNATURE, S.IN_FORCE): Move(gettext_lazy("All parties signed"), manual=False),
    (S.IN_FORCE, S.RENEWAL_DUE): Move(gettext_lazy("Mark renewal due")),
    (S.RENEWAL_DUE, S.IN_FORCE): Move(gettext_lazy("Renew for three years")),
    (S.RENEWAL_DUE, S.EXPIRED): Move(gettext_lazy("Mark expired")),
    (S.DRAFT, S.TERMINATED): Move(gettext_lazy("Abandon")),
    (S.NEGOTIATION, S.TERMINATED): Move(gettext_lazy("Abandon")),
    (S.IN_FORCE, S.TERMINATED): Move(gettext_lazy("Terminate")),
    (S.RENEWAL_DUE, S.TERMINATED): Move(gettext_lazy("Terminate")),
}


def convention_moves_from(status: str) -> list[tuple[str, Move]]:
    return [
        (to, move)
        for (frm, to), move in CONVENTION_TRANSITIONS.items()
        if frm == status and move.manual
    ]


def _convention_move(
    convention_id: int, to_status: str, user, comment: str = "", *, manual: bool = True
) -> Convention:
    """Apply one move of the table (shared workflow: locked, checked, recorded)."""

    def check(convention: Convention) -> None:
        from_status = convention.status
        if to_status == S.NEGOTIATION and from_status == S.AWAITING_SIGNATURE:
            convention.parties.update(signed_at=None, signed_by=None, signature=None)
        if to_status == S.IN_FORCE:
            today = timezone.localdate()
            if from_status == S.RENEWAL_DUE:
                convention.start_date = convention.end_date or today
            else:
                convention.start_date = convention.start_date or today
            convention.end_date = convention.start_date + timedelta(days=3 * 365)

    def forbidden(convention: Convention) -> str:
        return _("A convention cannot go from “%(from)s” to “%(to)s”.") % {
            "from": convention.get_status_display(),
            "to": _label(ConventionStatus, to_status),
        }

    convention, _record = workflow.transition(
        queryset=Convention.objects.all(),
        pk=convention_id,
        to_status=to_status,
        allowed_from=moves_into(CONVENTION_TRANSITIONS, to_status, manual=manual),
        actor=user,
        record_model=ConventionTransition,
        subject_field="convention",
        comment=comment,
        check=check,
        forbidden=forbidden,
        update_fields=["start_date", "end_date"],
        error=TransitionError,
    )
    return convention


def convention_transition(
    *, convention: Convention, to_status: str, user, comment: str = ""
) -> Convention:
    return _convention_move(convention.pk, to_status, user, comment)


def convention_party_step(party: ConventionParty) -> str:
    return f"party:{party.pk}"


@transaction.atomic
def convention_sign(
    *,
    convention: Convention,
    centre: Centre,
    user,
    credentials: signatures.Credentials,
    signer_title: str,
    expected_hash: str | None = None,
    delegation_from: str = "",
    delegation_document=None,
) -> Convention:
    """The legal representative of one party (or their delegate) signs, re-authenticated;
    the last signature brings the convention into force."""
    convention = Convention.objects.select_for_update().get(pk=convention.pk)
    if convention.status != S.AWAITING_SIGNATURE:
        raise TransitionError(_("Only a convention awaiting signature can be signed."))
    party = convention.parties.filter(centre=centre).first()
    if party is None:
        raise ValidationError(_("This centre is not a party to the convention."))
    if party.signed_at is not None:
        raise ValidationError(_("This party has already signed."))
    if not signer_title.strip():
        raise ValidationError(_("Give the title of the person who signs."))
    signature = signatures.signature_record(
        document=convention,
        step=convention_party_step(party),
        capacity=SignatureCapacity.LEGAL_REPRESENTATIVE,
        user=user,
        credentials=credentials,
        expected_hash=expected_hash,
        signer_title=signer_title,
        on_behalf_of=centre,
        delegation_from=delegation_from,
        delegation_document=delegation_document,
    )
    party.signed_at = signature.signed_at
    party.signed_by = user
    party.signature = signature
    party.save()
    if not convention.parties.filter(signed_at__isnull=True).exists():
        convention = _convention_move(convention.pk, S.IN_FORCE, user, manual=False)
        if convention.amends_id:
            amended = Convention.objects.select_for_update().get(pk=convention.amends_id)
            if amended.status in ACTIVE_STATUSES:
                _convention_move(
                    amended.pk,
                    S.TERMINATED,
                    user,
                    _("Replaced by its amendment “%(title)s”.") % {"title": convention.title},
                    manual=False,
                )
    return convention


RENEWAL_NOTICE = timedelta(days=90)


def convention_expiry_check(*, today: date | None = None) -> int:
    """Beat task body: in force → renewal due 90 days before the end; renewal due → expired."""
    today = today or timezone.localdate()
    moved = 0
    due = Convention.objects.filter(status=S.IN_FORCE, end_date__lte=today + RENEWAL_NOTICE)
    for convention in due.values_list("pk", flat=True):
        moved += _move_if(convention, S.RENEWAL_DUE)
    for convention in Convention.objects.filter(status=S.RENEWAL_DUE, end_date__lt=today):
        moved += _move_if(convention.pk, S.EXPIRED)
    return moved


def _move_if(convention_id: int, to_status: str) -> int:
    """The automatic move, unless the convention was moved elsewhere since it was listed."""
    try:
        _convention_move(convention_id, to_status, None, _("Automatic"), manual=False)
    except TransitionError:
        return 0
    return 1


@transaction.atomic
def template_clauses_save(*, formset) -> None:
    """Save the clauses of a draft template version (the formset is already valid)."""
    version = _locked_version(formset.instance.pk)
    if version.is_published:
        raise ValidationError(_("A published version is frozen: create a new version."))
    formset.save()


def convention_edits(convention: Convention):
    return (
        ConventionClauseEdit.objects.filter(clause__convention=convention)
        .select_related("clause", "user")
        .order_by("-at", "-pk")
    )
