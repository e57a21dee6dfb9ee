"""Forms of the builder, campaigns, invitations and the report narrative."""

from __future__ import annotations

import json

from django import forms
from django.conf import settings
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from onco_hdf.models import CENTRE_ROLES, Centre, Role
from surveys.interop import Conversion, ImportFormatError, convert_upload
from surveys.interop.expressions import formula_text
from surveys.models import (
    CHOICE_TYPES,
    MATRIX_TYPES,
    NUMERIC_TYPES,
    OTHER_TYPES,
    TEXT_TYPES,
    Campaign,
    Question,
    QuestionnaireVersion,
    QuestionType,
    VersionStatus,
    choice_code_validator,
    code_validator,
)
from surveys.services import QuestionInput

ENGLISH_HELP = _("Shown on English pages; empty: the French text is shown.")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
IMPORT_MAX_BYTES = 1024 * 1024


class QuestionnaireCreateForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    code = forms.SlugField(
        label=_("Code"),
        max_length=60,
        help_text=_("Short identifier kept across versions (letters, digits, hyphens)."),
    )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("Questionnaire file"),
        help_text=_(
            "A questionnaire exported by the platform (.json), a REDCap data dictionary (.csv) "
            "or a LimeSurvey survey structure (.lss)."
        ),
    )

    def clean_file(self):
        """The questionnaire as a :class:`surveys.interop.Conversion` (JSON: nothing to note)."""
        upload = self.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            raise forms.ValidationError(_("This file is too large (1 MB at most)."))
        content = upload.read()
        if not upload.name.lower().endswith((".csv", ".lss", ".xml")):
            try:
                return Conversion("json", json.loads(content.decode("utf-8")))
            except (UnicodeDecodeError, ValueError) as error:
                if upload.name.lower().endswith(".json"):
                    raise forms.ValidationError(_("This file is not valid JSON.")) from error
        try:
            return convert_upload(upload.name, content)
        except ImportFormatError as error:
            raise forms.ValidationError(str(error)) from error


class VersionForm(forms.ModelForm):
    class Meta:
        model = QuestionnaireVersion
        fields = ["title", "introduction", "introduction_en", "end_message", "end_message_en"]
        widgets = {
            name: forms.Textarea(attrs={"rows": 4})
            for name in ("introduction", "introduction_en", "end_message", "end_message_en")
        }
        help_texts = {
            "introduction_en": ENGLISH_HELP,
            "end_message_en": ENGLISH_HELP,
        }


class SectionForm(forms.Form):
    code = forms.CharField(label=_("Code"), max_length=40, validators=[code_validator])
    title = forms.CharField(label=_("Title"), max_length=200)
    title_en = forms.CharField(
        label=_("Title in English (optional)"), max_length=200, required=False
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    description_en = forms.CharField(
        label=_("Description in English (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    repeat_for = forms.ChoiceField(
        label=_("Repeat this section for each choice ticked in"),
        required=False,
        help_text=_(
            "A multiple-choice question of an earlier section (e.g. the vendors used): the "
            "section's questions are then asked once per choice ticked."
        ),
    )

    def __init__(self, *args, version=None, section=None, **kwargs):
        super().__init__(*args, **kwargs)
        sources = Question.objects.filter(
            version=version, type=QuestionType.MULTIPLE, deleted_at__isnull=True
        ).select_related("section")
        if section is not None:
            sources = sources.exclude(section=section)
        self.fields["repeat_for"].choices = [("", _("Not repeated"))] + [
            (q.code, f"{q.code} — {q.plain_label[:80]}")
            for q in sources.order_by("section__order", "order", "pk")
        ]


def parse_pairs(text: str) -> list[tuple[str, ...]]:
    """Lines "code | label" or "code | label | English label" → tuples; raises
    ValidationError naming the faulty line."""
    pairs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if "|" not in line:
            raise forms.ValidationError(_("Line %(n)d: write “code | label”.") % {"n": number})
        code, label, *english = (part.strip() for part in line.split("|", 2))
        try:
            choice_code_validator(code)
        except forms.ValidationError as error:
            raise forms.ValidationError(
                _("Line %(n)d: the code “%(code)s” is not valid.")
                % {"n": number, "code": code[:40]}
            ) from error
        pairs.append((code, label, *(e for e in english if e)))
    return pairs


def pairs_text(choices) -> str:
    return "\n".join(" | ".join(filter(None, (c.code, c.label, c.label_en))) for c in choices)


# The question fields that only some types use: the form shows them for those types only
# (question_type.js switches them as the type changes) and ignores them for the others.
TYPE_FIELDS = {
    "options": CHOICE_TYPES,
    "rows": MATRIX_TYPES,
    "allow_other": OTHER_TYPES,
    "exclusive_options": frozenset({QuestionType.MULTIPLE}),
    "not_applicable_label": MATRIX_TYPES,
    "not_applicable_label_en": MATRIX_TYPES,
    "min_value": NUMERIC_TYPES - {QuestionType.CALCULATED},
    "max_value": NUMERIC_TYPES - {QuestionType.CALCULATED},
    "formula": frozenset({QuestionType.CALCULATED}),
    "unit": NUMERIC_TYPES,
    "pattern": TEXT_TYPES,
    "max_length": TEXT_TYPES,
    "max_choices": frozenset({QuestionType.MULTIPLE, QuestionType.RANKING}),
}


class QuestionForm(forms.Form):
    code = forms.CharField(
        label=_("Code (variable name)"), max_length=40, validators=[code_validator]
    )
    type = forms.ChoiceField(label=_("Type"), choices=QuestionType.choices)
    label = forms.CharField(
        label=_("Label"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("{{CODE}} inserts the answer to an earlier question."),
    )
    label_en = forms.CharField(
        label=_("Label in English (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    help_text = forms.CharField(
        label=_("Help text"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    help_text_en = forms.CharField(
        label=_("Help text in English (optional)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    required = forms.BooleanField(label=_("Required"), required=False)
    options = forms.CharField(
        label=_("Options or columns"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("One per line: “code | label”, or “code | label | English label”."),
    )
    rows = forms.CharField(
        label=_("Matrix rows"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One per line: “code | label”, or “code | label | English label” (matrices only)."
        ),
    )
    allow_other = forms.BooleanField(label=_("Add “Other, please specify”"), required=False)
    exclusive_options = forms.MultipleChoiceField(
        label=_("Exclusive options (e.g. “None of these”)"),
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"data-exclusive-choices": ""}),
        help_text=_(
            "A ticked option unticks every other one when the respondent chooses it, and "
            "ticking another option unticks it."
        ),
    )
    not_applicable_label = forms.CharField(
        label=_("“Not applicable” column (matrices)"),
        max_length=60,
        required=False,
        help_text=_(
            "E.g. “Not used”: each row can be ticked as not applicable, which answers a "
            "required matrix for that row. Leave empty for no such column."
        ),
    )
    not_applicable_label_en = forms.CharField(
        label=_("“Not applicable” column in English (optional)"), max_length=60, required=False
    )
    formula = forms.CharField(
        label=_("Formula"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "From earlier questions, as in REDCap: [B2] * 60 / [B3]; + - * / ^ and "
            "parentheses; [C1] alone counts the options ticked in C1, [C1(atlas)] is 1 when "
            "“atlas” is ticked; sum([A], [B]) adds the answered ones; if([B1] = 'oui', [B2], 0). "
            "A missing answer or a division by zero leaves the field empty."
        ),
    )
    min_value = forms.FloatField(label=_("Minimum"), required=False)
    max_value = forms.FloatField(label=_("Maximum"), required=False)
    unit = forms.CharField(label=_("Unit"), max_length=30, required=False)
    pattern = forms.CharField(
        label=_("Pattern (regular expression)"), max_length=200, required=False
    )
    max_length = forms.IntegerField(
        label=_("Maximum length (characters)"), min_value=1, required=False
    )
    max_choices = forms.IntegerField(
        label=_("Items to rank / maximum choices"), min_value=1, required=False
    )
    show_if = forms.CharField(
        label=_("Show if (JSON rule)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            'E.g. {"q": "B1_USAGE", "op": "in", "value": ["routine", "evaluation"]}; '
            "operators: equals, not_equals, in, not_in, gt, gte, lt, lte, answered; "
            'combine with {"all": [...]}, {"any": [...]}, {"not": ...}.'
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The exclusive options are picked among the options listed above (as posted, else
        # as saved); question_type.js keeps the boxes in step while the list is typed.
        text = self.data.get("options", "") if self.is_bound else self.initial.get("options", "")
        try:
            pairs = parse_pairs(text or "")
        except forms.ValidationError:
            pairs = []
        self.fields["exclusive_options"].choices = [(p[0], p[1]) for p in pairs]

    def current_type(self) -> str:
        """The type the page shows: as posted, else as saved, else the first one."""
        if self.is_bound:
            return self.data.get("type", "")
        return self.initial.get("type") or QuestionType.choices[0][0]

    def layout(self) -> list[tuple]:
        """``(field, types it applies to or "", hidden now)`` in the form's order."""
        qtype = self.current_type()
        rows = []
        for field in self:
            types = TYPE_FIELDS.get(field.name)
            if types is None:
                rows.append((field, "", False))
            else:
                rows.append((field, " ".join(sorted(types)), qtype not in types))
        return rows

    def clean(self):
        data = super().clean()
        qtype = data.get("type", "")
        for name, types in TYPE_FIELDS.items():
            if qtype not in types:
                # Hidden for this type: neither kept nor a reason to refuse the form.
                self.errors.pop(name, None)
                data[name] = (
                    [] if name in ("options", "rows") else self.fields[name].to_python(None)
                )
        return data

    def clean_options(self):
        return parse_pairs(self.cleaned_data["options"])

    def clean_rows(self):
        return parse_pairs(self.cleaned_data["rows"])

    def clean_show_if(self):
        text = self.cleaned_data["show_if"].strip()
        if not text:
            return None
        try:
            rule = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(_("This rule is not valid JSON.")) from error
        if not isinstance(rule, dict):
            raise forms.ValidationError(_("A rule is a JSON object."))
        return rule

    def to_input(self) -> QuestionInput:
        data = self.cleaned_data
        return QuestionInput(**{k: data[k] for k in QuestionInput.__dataclass_fields__})

    @classmethod
    def initial_for(cls, question) -> dict:
        initial = {
            name: getattr(question, name)
            for name in (
                "code",
                "type",
                "label",
                "label_en",
                "help_text",
                "help_text_en",
                "required",
                "allow_other",
                "not_applicable_label",
                "not_applicable_label_en",
                "min_value",
                "max_value",
                "unit",
                "pattern",
                "max_length",
                "max_choices",
            )
        }
        initial["options"] = pairs_text(question.options())
        initial["rows"] = pairs_text(question.rows())
        initial["exclusive_options"] = question.exclusive_codes()
        initial["formula"] = formula_text(question.formula) if question.formula else ""
        initial["show_if"] = (
            json.dumps(question.show_if, ensure_ascii=False) if question.show_if else ""
        )
        return initial


ROLE_CHOICES = [("", _("Any member of the centre"))] + [
    (r.value, r.label) for r in Role if r in CENTRE_ROLES
]


class CampaignForm(forms.ModelForm):
    centres = forms.ModelMultipleChoiceField(
        label=_("Centres surveyed"),
        queryset=Centre.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = Campaign
        fields = [
            "title",
            "title_en",
            "version",
            "opens_on",
            "closes_on",
            "unit",
            "reminder_every_days",
        ]
        widgets = {"opens_on": DATE_WIDGET, "closes_on": DATE_WIDGET}
        help_texts = {"title_en": ENGLISH_HELP}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["version"].queryset = QuestionnaireVersion.objects.filter(
            status=VersionStatus.PUBLISHED
        ).select_related("questionnaire")
        if self.instance.pk:
            self.fields["version"].disabled = True
            if self.instance.responses.exists():
                self.fields["unit"].disabled = True
                self.fields["unit"].help_text = _(
                    "Responses exist already: the unit of response can no longer change."
                )
            self.fields["centres"].initial = list(self.instance.centres.all())
            for section in self.instance.version.sections.order_by("order"):
                name = f"role_{section.code}"
                self.fields[name] = forms.ChoiceField(
                    label=_("Section %(code)s. %(title)s is filled by")
                    % {"code": section.code, "title": section.title},
                    choices=ROLE_CHOICES,
                    required=False,
                    initial=self.instance.role_for_section(section.code),
                )

    def clean(self):
        data = super().clean()
        if data.get("opens_on") and data.get("closes_on") and data["closes_on"] < data["opens_on"]:
            self.add_error("closes_on", _("The closing date is before the opening date."))
        return data

    def section_roles(self) -> dict:
        return {
            name.removeprefix("role_"): value
            for name, value in self.cleaned_data.items()
            if name.startswith("role_") and value
        }


class InviteForm(forms.Form):
    centres = forms.ModelMultipleChoiceField(
        label=_("Centres"),
        queryset=Centre.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
    )
    roles = forms.MultipleChoiceField(
        label=_("Invite the members of these centres with the role"),
        choices=[c for c in ROLE_CHOICES if c[0]],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        initial=[Role.REFERENT],
    )
    emails = forms.CharField(
        label=_("Other addresses (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Only when one centre is selected: the addresses are invited for it."),
    )
    role = forms.ChoiceField(
        label=_("Role of these other addresses"), choices=ROLE_CHOICES, required=False
    )
    days = forms.IntegerField(
        label=_("Link valid for (days)"), min_value=1, max_value=365, initial=60
    )

    def clean_emails(self):
        emails = [line.strip() for line in self.cleaned_data["emails"].splitlines() if line.strip()]
        for email in emails:
            try:
                validate_email(email)
            except forms.ValidationError as error:
                raise forms.ValidationError(
                    _("“%(email)s” is not a valid e-mail address.") % {"email": email[:100]}
                ) from error
        return emails

    def clean(self):
        data = super().clean()
        if data.get("emails") and len(data.get("centres") or []) != 1:
            self.add_error("emails", _("Select exactly one centre to invite other addresses."))
        if not data.get("emails") and not data.get("roles"):
            self.add_error("roles", _("Choose roles to invite, or give addresses."))
        return data


MARKDOWN_HELP = _(
    "Markdown: a blank line between paragraphs, **bold**, *italics*, lists with “- ” or "
    "“1. ”, headings with “# ”, links as [text](https://…). HTML is not kept."
)


class ReportForm(forms.Form):
    introduction = forms.CharField(
        label=_("Introduction"),
        required=False,
        max_length=settings.FORM_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=MARKDOWN_HELP,
    )
    conclusions = forms.CharField(
        label=_("Conclusions"),
        required=False,
        max_length=settings.FORM_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=MARKDOWN_HELP,
    )
    cross_tabs = forms.CharField(
        label=_("Cross-tabulations"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One per line: “ROW_CODE × COLUMN_CODE” (e.g. B1_USAGE × SECTOR). "
            "SECTOR is the sector of the centre."
        ),
    )

    def clean_cross_tabs(self):
        pairs = []
        for number, line in enumerate(self.cleaned_data["cross_tabs"].splitlines(), 1):
            if not line.strip():
                continue
            parts = [t for t in line.replace("×", " ").split() if t.lower() != "x"]
            if len(parts) != 2:
                raise forms.ValidationError(
                    _("Line %(n)d: write “ROW_CODE × COLUMN_CODE”.") % {"n": number}
                )
            pairs.append(parts)
        return pairs

    text_themes = forms.CharField(
        label=_("Themes of the free-text answers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "One theme per line: “Heading: keyword, keyword” (e.g. Cost: price, licence). "
            "An answer goes under the first theme whose keyword it contains."
        ),
    )

    def clean_text_themes(self):
        from surveys.themes import parse_themes

        try:
            return parse_themes(self.cleaned_data["text_themes"])
        except ValueError as error:
            raise forms.ValidationError(str(error)) from error


class ReopenForm(forms.Form):
    comment = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
