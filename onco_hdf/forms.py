from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from onco_hdf import governance
from onco_hdf.models import (
    Centre,
    CopilMeeting,
    CouncilOpinion,
    Membership,
    Milestone,
    Outcome,
    Role,
)

User = get_user_model()


class CentreForm(forms.ModelForm):
    class Meta:
        model = Centre
        fields = [
            "name",
            "short_name",
            "finess",
            "city",
            "departement",
            "sector",
            "latitude",
            "longitude",
            "is_active",
            "habilitation_director",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The director / RAN is someone of the centre (an account with a membership there).
        members = User.objects.filter(is_active=True)
        if self.instance.pk:
            members = members.filter(memberships__centre=self.instance)
        else:
            members = members.none()
        self.fields["habilitation_director"].queryset = members.distinct().order_by(
            "last_name", "first_name"
        )


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "centre", "role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(is_active=True).order_by(
            "last_name", "first_name"
        )
        self.fields["user"].label_from_instance = lambda u: (
            f"{u.get_full_name() or u.username} <{u.email}>"
        )
        self.fields["centre"].queryset = Centre.objects.filter(is_active=True)
        self.fields["centre"].required = False


class UserInviteForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150)
    last_name = forms.CharField(label=_("Last name"), max_length=150)
    email = forms.EmailField(label=_("E-mail address"))


class OtpTokenForm(forms.Form):
    token = forms.CharField(
        label=_("6-digit code from your authenticator app"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9]*"}
        ),
    )


# --- COPIL governance -----------------------------------------------------------------
def _date_widget():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def regional_members():
    """Accounts that sit in the COPIL: its members and the project manager."""
    return (
        User.objects.filter(
            is_active=True, memberships__role__in=[Role.COPIL, Role.PROJECT_MANAGER]
        )
        .distinct()
        .order_by("last_name", "first_name")
    )


class CopilMeetingForm(forms.ModelForm):
    class Meta:
        model = CopilMeeting
        fields = [
            "held_on",
            "title",
            "location",
            "agenda",
            "quorum",
            "attendees",
            "other_attendees",
        ]
        widgets = {
            "held_on": _date_widget(),
            "agenda": forms.Textarea(attrs={"rows": 5}),
            "other_attendees": forms.Textarea(attrs={"rows": 2}),
            "attendees": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["attendees"].queryset = regional_members()
        self.fields["attendees"].label_from_instance = lambda u: u.get_full_name() or u.username
        self.fields["attendees"].help_text = _("Members present (count towards the quorum).")


class ArtefactChoiceField(forms.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=(), **kwargs)

    def refresh(self):
        self.choices = [("", "---------"), *governance.candidates()]


class CopilDecisionAddForm(forms.Form):
    artefact = ArtefactChoiceField(label=_("Artefact and version"))
    summary = forms.CharField(
        label=_("Summary for the members"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["artefact"].refresh()

    def clean_artefact(self):
        obj = governance.artefact_from_key(self.cleaned_data["artefact"])
        if obj is None:
            raise forms.ValidationError(_("This artefact no longer exists."))
        return obj


class CopilDecisionRecordForm(forms.Form):
    outcome = forms.ChoiceField(
        label=_("Outcome"), choices=[c for c in Outcome.choices if c[0] != Outcome.PENDING]
    )
    reservations = forms.CharField(
        label=_("Reservations"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    council_opinion = forms.ChoiceField(
        label=_("Scientific council opinion"), choices=CouncilOpinion.choices, required=False
    )
    council_opinion_on = forms.DateField(
        label=_("Date of the opinion"), required=False, widget=_date_widget()
    )
    council_text = forms.CharField(
        label=_("Text of the opinion"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class CopilCommentForm(forms.Form):
    text = forms.CharField(label=_("Your comment"), widget=forms.Textarea(attrs={"rows": 3}))


class CopilMinutesForm(forms.Form):
    minutes = forms.FileField(label=_("Minutes (PDF)"))


class GateOverrideForm(forms.Form):
    artefact = ArtefactChoiceField(label=_("Artefact and version"))
    reason = forms.CharField(
        label=_("Justification"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Why this version must be used before the COPIL validates it."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["artefact"].refresh()

    clean_artefact = CopilDecisionAddForm.clean_artefact


class MilestoneForm(forms.ModelForm):
    class Meta:
        model = Milestone
        fields = ["project", "title", "due_on", "status"]
        widgets = {"due_on": _date_widget()}

    def __init__(self, *args, **kwargs):
        from onco_hdf.dashboard import PROJECTS

        super().__init__(*args, **kwargs)
        self.fields["project"] = forms.ChoiceField(
            label=_("Project"), choices=[(key, title) for key, title, _d in PROJECTS]
        )


class CopilActionForm(forms.Form):
    title = forms.CharField(label=_("Action"), max_length=300)
    owner = forms.CharField(label=_("Owner"), max_length=200, required=False)
    due_on = forms.DateField(label=_("Due date"), required=False, widget=_date_widget())


class DocumentVerifyForm(forms.Form):
    """A PDF dropped on the public verification page; read only, never stored."""

    pdf = forms.FileField(label=_("PDF file issued by the platform"))

    def clean_pdf(self) -> bytes:
        from django.conf import settings

        upload = self.cleaned_data["pdf"]
        limit = settings.VERIFY_UPLOAD_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("This file is too large (%(size)d MB at most): it is not an official PDF.")
                % {"size": limit // (1024 * 1024)}
            )
        return upload.read()
