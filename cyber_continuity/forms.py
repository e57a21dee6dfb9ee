from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from cyber_continuity.models import (
    HARM_TOLERANCE_DAYS,
    Authority,
    CentreProfile,
    ConventionTemplate,
    ConventionTemplateVersion,
    CrisisAction,
    CrisisContact,
    DownSystem,
    ExerciseScenario,
    InformationSystem,
    Machine,
    PatientGroup,
    ReportRecipient,
    ScenarioInject,
    Technique,
    TemplateClause,
)
from cyber_continuity.services import machines_suited_for, unknown_placeholders
from onco_hdf.models import Centre

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ProfileForm(forms.ModelForm):
    class Meta:
        model = CentreProfile
        fields = ["legal_entity", "address", "switchboard_phone", "crisis_procedure"]
        widgets = {
            "address": forms.Textarea(attrs={"rows": 3}),
            "crisis_procedure": forms.Textarea(attrs={"rows": 3}),
        }


class ContactForm(forms.ModelForm):
    class Meta:
        model = CrisisContact
        fields = [
            "name",
            "function",
            "mobile_phone",
            "messaging",
            "email",
            "backup_email",
            "available_24_7",
            "order",
        ]


class InformationSystemForm(forms.ModelForm):
    class Meta:
        model = InformationSystem
        fields = [
            "kind",
            "vendor",
            "product",
            "version",
            "hosting",
            "backup_strategy",
            "last_restore_test",
        ]
        widgets = {
            "last_restore_test": DATE_WIDGET,
            "backup_strategy": forms.Textarea(attrs={"rows": 3}),
        }


class MachineForm(forms.ModelForm):
    class Meta:
        model = Machine
        fields = [
            "kind",
            "name",
            "manufacturer",
            "model",
            "mlc",
            "energies",
            "has_fff",
            "igrt",
            "sbrt_capable",
            "srs_capable",
            "beam_matching_group",
            "in_service",
        ]


class CapacityForm(forms.Form):
    """One row per technique: offered or not, free and surge slots per day.

    Where several machines of the centre can deliver a technique, its free slots may be
    split per machine (optional: left blank, the technique-level figure stands).
    """

    def __init__(self, *args, declarations=(), machines=(), **kwargs):
        super().__init__(*args, **kwargs)
        existing = {d.technique: d for d in declarations}
        self.rows = []
        for value, label in Technique.choices:
            current = existing.get(value)
            self.fields[f"{value}-offered"] = forms.BooleanField(
                label=_("%(technique)s offered") % {"technique": label},
                required=False,
                initial=current is not None,
            )
            self.fields[f"{value}-free"] = forms.IntegerField(
                label=_("free slots per day"),
                min_value=0,
                max_value=500,
                initial=current.free_slots_per_day if current else 0,
                required=False,
            )
            self.fields[f"{value}-surge"] = forms.IntegerField(
                label=_("surge slots per day"),
                min_value=0,
                max_value=500,
                initial=current.surge_slots_per_day if current else 0,
                required=False,
            )
            suited = machines_suited_for(value, machines)
            split = (
                {line.machine_id: line.free_slots_per_day for line in current.machine_slots.all()}
                if current
                else {}
            )
            machine_fields = []
            if len(suited) > 1:
                for machine in suited:
                    name = f"{value}-m{machine.pk}"
                    self.fields[name] = forms.IntegerField(
                        label=_("free slots per day on %(machine)s") % {"machine": machine.name},
                        min_value=0,
                        max_value=500,
                        initial=split.get(machine.pk),
                        required=False,
                    )
                    machine_fields.append((machine, name))
            self.rows.append((value, label, current, machine_fields))

    def bound_rows(self):
        return [
            (
                label,
                current,
                self[f"{value}-offered"],
                self[f"{value}-free"],
                self[f"{value}-surge"],
                [(machine, self[name]) for machine, name in machine_fields],
            )
            for value, label, current, machine_fields in self.rows
        ]

    def declared(self) -> dict[str, tuple[int, int]]:
        data = self.cleaned_data
        return {
            value: (data.get(f"{value}-free") or 0, data.get(f"{value}-surge") or 0)
            for value, _label, _c, _m in self.rows
            if data.get(f"{value}-offered")
        }

    def declared_per_machine(self) -> dict[str, dict[int, int]]:
        """Offered techniques split per machine: the machines whose slots were filled in."""
        data = self.cleaned_data
        split = {}
        for value, _label, _c, machine_fields in self.rows:
            if not data.get(f"{value}-offered"):
                continue
            filled = {
                machine.pk: data[name]
                for machine, name in machine_fields
                if data.get(name) is not None
            }
            if filled:
                split[value] = filled
        return split


class TemplateForm(forms.ModelForm):
    class Meta:
        model = ConventionTemplate
        fields = ["title", "description"]


class TemplateClauseForm(forms.ModelForm):
    class Meta:
        model = TemplateClause
        fields = ["order", "kind", "title", "body", "negotiable"]
        widgets = {"body": forms.Textarea(attrs={"rows": 4})}

    def clean_body(self):
        body = self.cleaned_data["body"]
        unknown = unknown_placeholders(body)
        if unknown:
            raise forms.ValidationError(
                _("Unknown placeholders: %(names)s") % {"names": ", ".join(unknown)}
            )
        return body


TemplateClauseFormSet = forms.inlineformset_factory(
    ConventionTemplateVersion,
    TemplateClause,
    form=TemplateClauseForm,
    extra=1,
    can_delete=True,
)


class PublishForm(forms.Form):
    notes = forms.CharField(
        label=_("What changed"), widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class ConventionCreateForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    template_version = forms.ModelChoiceField(
        label=_("Template version"),
        queryset=ConventionTemplateVersion.objects.filter(
            published_at__isnull=False
        ).select_related("template"),
    )
    centres = forms.ModelMultipleChoiceField(
        label=_("Parties"),
        queryset=Centre.objects.filter(is_active=True),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("At least two centres, yours included."),
    )

    confirm_duplicate = forms.BooleanField(
        label=_("I know these centres already have a convention and want a second one"),
        required=False,
    )

    def __init__(self, *args, own_centre_ids=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.own_centre_ids = set(own_centre_ids or ())
        # Only each template's latest published version serves new conventions.
        latest = [
            template.latest_published()
            for template in ConventionTemplate.objects.prefetch_related("versions")
        ]
        self.fields["template_version"].queryset = ConventionTemplateVersion.objects.filter(
            pk__in=[v.pk for v in latest if v is not None]
        ).select_related("template")

    def clean_centres(self):
        centres = list(self.cleaned_data["centres"])
        if len(centres) < 2:
            raise forms.ValidationError(_("Choose at least two centres."))
        if len(centres) > 4:
            raise forms.ValidationError(_("A convention has at most four parties."))
        if self.own_centre_ids and not self.own_centre_ids & {c.pk for c in centres}:
            raise forms.ValidationError(_("Your centre must be one of the parties."))
        # Own centre first, so it is {{centre_a}} in the text.
        centres.sort(key=lambda c: (c.pk not in self.own_centre_ids, c.name))
        return centres


class ClauseEditForm(forms.Form):
    body = forms.CharField(label=_("Text of the clause"), widget=forms.Textarea(attrs={"rows": 10}))
    version = forms.IntegerField(widget=forms.HiddenInput)


class CommentForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class PlanEntryForm(forms.Form):
    technique = forms.ChoiceField(label=_("Technique"), choices=Technique.choices)
    receiving_centre = forms.ModelChoiceField(
        label=_("Receiving centre"), queryset=Centre.objects.none()
    )
    notes = forms.CharField(label=_("Notes"), max_length=200, required=False)

    def __init__(self, *args, centre, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["receiving_centre"].queryset = Centre.objects.filter(is_active=True).exclude(
            pk=centre.pk
        )


class CrisisDeclareForm(forms.Form):
    centre = forms.ModelChoiceField(label=_("Affected centre"), queryset=Centre.objects.none())
    systems_down = forms.MultipleChoiceField(
        label=_("Systems down"), choices=DownSystem.choices, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(
        label=_("What happened"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    is_exercise = forms.BooleanField(label=_("This is an exercise (drill)"), required=False)
    declare_now = forms.BooleanField(
        label=_("Declare the crisis now (otherwise: alert only)"), required=False, initial=True
    )

    def __init__(self, *args, centres, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = centres


class PatientGroupForm(forms.ModelForm):
    class Meta:
        model = PatientGroup
        fields = [
            "label",
            "technique",
            "category",
            "patient_count",
            "fractions_left",
            "last_fraction_on",
        ]
        widgets = {"last_fraction_on": DATE_WIDGET}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].help_text = _(
            "Days an interruption may last before it harms the patient: %(table)s."
        ) % {
            "table": ", ".join(
                _("category %(c)d: %(d)d days") % {"c": c, "d": d}
                for c, d in HARM_TOLERANCE_DAYS.items()
            )
        }

    def clean_patient_count(self):
        value = self.cleaned_data["patient_count"]
        if value < 1:
            raise forms.ValidationError(_("At least one patient."))
        return value


class TransferProposeForm(forms.Form):
    receiving_centre = forms.IntegerField(widget=forms.HiddenInput)
    # Blank: the technique's total slots at the receiver, no machine chosen.
    receiving_machine = forms.IntegerField(required=False)
    patient_count = forms.IntegerField(label=_("Number of patients"), min_value=1)


class TransferUpdateForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, max_length=300)
    on = forms.DateField(label=_("Date"), required=False, widget=DATE_WIDGET)


class PhoneAnswerForm(forms.Form):
    """An answer the receiving centre gave by phone, typed in by the project manager."""

    to = forms.ChoiceField(
        label=_("Answer"),
        choices=[("accepted", _("Accepted")), ("refused", _("Refused"))],
        widget=forms.RadioSelect,
    )
    answered_by_name = forms.CharField(
        label=_("Answer given by"),
        max_length=120,
        help_text=_("Name and function of the person of the receiving centre who answered."),
    )
    answered_at = forms.DateTimeField(
        label=_("Time of the call"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"],
    )
    comment = forms.CharField(label=_("Note"), required=False, max_length=300)


class CrisisTransitionForm(CommentForm):
    override_reason = forms.CharField(
        label=_("Reason to go on anyway"), required=False, max_length=1000
    )


class CrisisActionForm(forms.ModelForm):
    class Meta:
        model = CrisisAction
        fields = ["title", "owner", "due_date"]
        widgets = {"due_date": DATE_WIDGET}


class EventForm(forms.Form):
    text = forms.CharField(
        label=_("New event"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class AuthorityForm(forms.ModelForm):
    portal_url = forms.URLField(label=_("reporting portal"), required=False, assume_scheme="https")

    class Meta:
        model = Authority
        fields = ["kind", "name", "centre", "phone", "email", "portal_url", "notes"]


class CrisisReportForm(forms.Form):
    recipient = forms.ChoiceField(label=_("Declared to"), choices=ReportRecipient.choices)
    declared_at = forms.DateTimeField(
        label=_("Declared at"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"],
    )
    reference = forms.CharField(label=_("Reference number"), max_length=80)
    declared_by = forms.CharField(
        label=_("Declared by"), max_length=120, help_text=_("Name and function.")
    )


DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%d/%m/%Y %H:%M"]


class ScenarioForm(forms.ModelForm):
    systems_down = forms.MultipleChoiceField(
        label=_("Systems down"),
        choices=DownSystem.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = ExerciseScenario
        fields = ["title", "kind", "description", "objectives", "systems_down", "is_active"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "objectives": forms.Textarea(attrs={"rows": 2}),
        }


class ScenarioInjectForm(forms.ModelForm):
    class Meta:
        model = ScenarioInject
        fields = ["minutes_after_start", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 2})}


ScenarioInjectFormSet = forms.inlineformset_factory(
    ExerciseScenario,
    ScenarioInject,
    form=ScenarioInjectForm,
    extra=2,
    can_delete=True,
)


class ExerciseScheduleForm(forms.Form):
    scenario = forms.ModelChoiceField(label=_("Scenario"), queryset=ExerciseScenario.objects.none())
    centres = forms.ModelMultipleChoiceField(
        label=_("Centres taking part"),
        queryset=Centre.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("One centre, or several (e.g. the centre hit and its first receiver)."),
    )
    planned_for = forms.DateTimeField(
        label=_("Date and time"), widget=DATETIME_WIDGET, input_formats=DATETIME_FORMATS
    )
    title = forms.CharField(
        label=_("Title"),
        max_length=200,
        required=False,
        help_text=_("Empty: the title of the scenario."),
    )

    def __init__(self, *args, scenarios, centres, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scenario"].queryset = scenarios
        self.fields["centres"].queryset = centres


class InjectForm(forms.Form):
    text = forms.CharField(
        label=_("Free inject"), max_length=500, widget=forms.Textarea(attrs={"rows": 2})
    )
