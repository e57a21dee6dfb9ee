"""COPIL validation gates: the artefacts the committee decides on, and the one gate function.

An app calls :func:`require_validated` in the service that publishes or uses an artefact
(a questionnaire version opened for responses, a convention template version used for a new
convention, a catalogue version used for a new sheet...). The call passes when the COPIL
validated that exact version, or when the project manager granted a justified override;
otherwise it raises a French ``ValidationError`` and the service stops.

Artefacts are referenced generically (content type, id, version label): the apps' models
know nothing of the register. The foundation never imports the apps: a kind is named by its
model label and resolved through the app registry.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from onco_hdf.models import VALIDATING_OUTCOMES, CopilDecision, GateOverride


@dataclass(frozen=True)
class ArtefactKind:
    model_label: str  # "app_label.modelname"
    label: object  # lazy translated name of the kind
    project: str  # key of the project in onco_hdf.dashboard.PROJECTS
    detail_url: str = ""  # URL name taking the object's pk
    family_field: str = ""  # the versions of one artefact share it ("" = every object)


# What the COPIL decides on. A kind whose app is not installed is skipped.
ARTEFACT_KINDS = (
    ArtefactKind(
        "surveys.questionnaireversion",
        gettext_lazy("Questionnaire version"),
        "surveys",
        "surveys:version-detail",
        "questionnaire",
    ),
    ArtefactKind(
        "cyber_continuity.conventiontemplateversion",
        gettext_lazy("Convention template version"),
        "cyber_continuity",
        "cyber_continuity:template-version-detail",
        "template",
    ),
    ArtefactKind(
        "habilitations.catalogueversion",
        gettext_lazy("Habilitation catalogue version"),
        "habilitations",
        "habilitations:catalogue-detail",
    ),
    ArtefactKind(
        "contouring.comparisonprotocol",
        gettext_lazy("Contour comparison protocol version"),
        "contouring",
        "contouring:protocol-detail",
    ),
)


def kinds() -> list[ArtefactKind]:
    found = []
    for kind in ARTEFACT_KINDS:
        try:
            apps.get_model(kind.model_label)
        except LookupError:
            continue
        found.append(kind)
    return found


def kind_of(obj) -> ArtefactKind | None:
    label = obj._meta.label_lower
    return next((kind for kind in ARTEFACT_KINDS if kind.model_label == label), None)


def version_label(obj) -> str:
    """The version the COPIL decides on: ``governance_version`` if the model has one, else
    ``v<number>``, else the ``version`` field."""
    explicit = getattr(obj, "governance_version", None)
    if explicit:
        return str(explicit)
    number = getattr(obj, "number", None)
    if number is not None:
        return f"v{number}"
    version = getattr(obj, "version", None)
    return str(version) if version not in (None, "") else ""


def artefact_label(obj) -> str:
    kind = kind_of(obj)
    prefix = f"{kind.label} — " if kind else ""
    return f"{prefix}{obj}"[:300]


def artefact_url(content_type_id: int, object_id: int) -> str:
    content_type = ContentType.objects.get_for_id(content_type_id)
    label = f"{content_type.app_label}.{content_type.model}"
    kind = next((k for k in ARTEFACT_KINDS if k.model_label == label), None)
    if kind is None or not kind.detail_url:
        return ""
    try:
        return reverse(kind.detail_url, args=[object_id])
    except NoReverseMatch:
        return ""


@dataclass(frozen=True)
class ArtefactRef:
    content_type_id: int
    object_id: int
    version_label: str
    label: str

    @property
    def key(self) -> str:
        return f"{self.content_type_id}:{self.object_id}:{self.version_label}"

    def lookup(self) -> dict:
        return {
            "content_type_id": self.content_type_id,
            "object_id": self.object_id,
            "version_label": self.version_label,
        }


def artefact_ref(obj) -> ArtefactRef:
    return ArtefactRef(
        content_type_id=ContentType.objects.get_for_model(obj).pk,
        object_id=obj.pk,
        version_label=version_label(obj),
        label=artefact_label(obj),
    )


def artefact_from_key(key: str):
    """The object behind ``"<content type id>:<id>"`` (the form's choice value), or None."""
    try:
        ct_id, object_id = (int(part) for part in key.split(":")[:2])
        content_type = ContentType.objects.get_for_id(ct_id)
    except (ValueError, ContentType.DoesNotExist):
        return None
    model = content_type.model_class()
    if model is None or kind_of(model) is None:
        return None
    return model._default_manager.filter(pk=object_id).first()


def candidates(limit_per_kind: int = 50) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped choices of the artefacts the COPIL may decide on, newest first."""
    groups = []
    for kind in kinds():
        model = apps.get_model(kind.model_label)
        content_type = ContentType.objects.get_for_model(model)
        objects = model._default_manager.order_by("-pk")[:limit_per_kind]
        groups.append(
            (str(kind.label), [(f"{content_type.pk}:{obj.pk}", str(obj)) for obj in objects])
        )
    return groups


def validation_of(obj) -> CopilDecision | None:
    """The latest decision validating ``obj`` at its current version."""
    ref = artefact_ref(obj)
    return (
        CopilDecision.objects.filter(outcome__in=VALIDATING_OUTCOMES, **ref.lookup())
        .select_related("meeting")
        .order_by("-meeting__held_on", "-pk")
        .first()
    )


def override_of(obj) -> GateOverride | None:
    return GateOverride.objects.filter(**artefact_ref(obj).lookup()).first()


_suspended = contextvars.ContextVar("copil_gates_suspended", default=False)


@contextmanager
def gates_suspended():
    """Let the demo seed publish its artefacts; its COPIL decisions are recorded after."""
    token = _suspended.set(True)
    try:
        yield
    finally:
        _suspended.reset(token)


def gates_enforced() -> bool:
    return getattr(settings, "COPIL_GATES_ENFORCED", True) and not _suspended.get()


def require_validated(
    artefact, *, error: type[ValidationError] = ValidationError
) -> CopilDecision | GateOverride | None:
    """Stop unless the COPIL validated ``artefact`` at its version (or an override exists).

    Returns what lets it through: the validating decision, the override, or None when the
    gates are switched off (``COPIL_GATES_ENFORCED``). ``error`` is the ValidationError
    subclass the calling app's views already show to the user.
    """
    decision = validation_of(artefact)
    if decision is not None:
        return decision
    override = override_of(artefact)
    if override is not None:
        return override
    if not gates_enforced():
        return None
    raise error(
        _(
            "“%(artefact)s” (%(version)s) has not been validated in COPIL: record the COPIL "
            "decision first, or have the project manager grant a justified override."
        )
        % {"artefact": str(artefact), "version": version_label(artefact) or "—"}
    )


def badge_text(decision: CopilDecision) -> str:
    day = formats.date_format(decision.meeting.held_on, "d/m/Y")
    if decision.outcome == VALIDATING_OUTCOMES[1]:
        return _("validated with reservations in COPIL on %(date)s") % {"date": day}
    return _("validated in COPIL on %(date)s") % {"date": day}


# --- Version diffs for the meeting pack ----------------------------------------------
def artefact_lines(artefact) -> list[str]:
    """The artefact as text lines, from its app's ``steering.artefact_lines`` hook."""
    from onco_hdf.hooks import app_modules

    for module in app_modules("steering"):
        hook = getattr(module, "artefact_lines", None)
        lines = hook(artefact) if hook is not None else None
        if lines is not None:
            return lines
    return [str(artefact)]


def previous_validated(artefact):
    """The latest earlier version of the same artefact that the COPIL validated, or None."""
    kind = kind_of(artefact)
    number = getattr(artefact, "number", None)
    if kind is None or number is None:
        return None
    siblings = type(artefact)._default_manager.filter(number__lt=number)
    if kind.family_field:
        siblings = siblings.filter(**{kind.family_field: getattr(artefact, kind.family_field)})
    content_type = ContentType.objects.get_for_model(artefact)
    validated_ids = CopilDecision.objects.filter(
        content_type=content_type, outcome__in=VALIDATING_OUTCOMES
    ).values("object_id")
    return siblings.filter(pk__in=validated_ids).order_by("-number").first()


@dataclass(frozen=True)
class VersionDiff:
    base_label: str  # "" when nothing was validated before
    added: list[str]
    removed: list[str]

    @property
    def unchanged(self) -> bool:
        return bool(self.base_label) and not self.added and not self.removed


def version_diff(artefact, *, limit: int = 60) -> VersionDiff:
    """What changed since the last validated version (lines added and removed)."""
    import difflib

    base = previous_validated(artefact)
    if base is None:
        return VersionDiff("", [], [])
    added, removed = [], []
    for line in difflib.unified_diff(artefact_lines(base), artefact_lines(artefact), n=0):
        if line.startswith(("+++", "---", "@@")):
            continue
        if line.startswith("+"):
            added.append(line[1:])
        elif line.startswith("-"):
            removed.append(line[1:])
    return VersionDiff(version_label(base), added[:limit], removed[:limit])
