"""Forms of the habilitations app: fields and widgets only; rules live in services."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from habilitations.models import (
    Activity,
    CatalogueVersion,
    Domain,
    EvidenceKind,
    HabilitationSheet,
    Level,
    SheetLine,
)
from onco_hdf.models import Centre, Membership, Role
from onco_hdf.signatures import SignatureConfirmForm

User = get_user_model()


def date_widget():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_full_name() or obj.username


class CatalogueDraftForm(forms.Form):
    label = forms.CharField(label=_("Label of the new version"), max_length=200)


class CatalogueVersionForm(forms.ModelForm):
    class Meta:
        model = CatalogueVersion
        fields = ["label", "notes"]


class DomainForm(forms.ModelForm):
    class Meta:
        model = Domain
        fields = ["code", "name", "order"]


class ActivityForm(forms.ModelForm):
    class Meta:
        model = Activity
        fields = [
            "domain",
            "code",
            "label",
            "description",
            "prerequisites",
            "min_supervised_cases",
            "evidence_in_training",
            "evidence_supervised",
            "evidence_autonomous",
            "evidence_referent",
            "order",
        ]
        widgets = {
            name: forms.Textarea(attrs={"rows": 3})
            for name in (
                "description",
                "prerequisites",
                "evidence_in_training",
                "evidence_supervised",
                "evidence_autonomous",
                "evidence_referent",
            )
        }

    def __init__(self, *args, version: CatalogueVersion, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = version.domains.all()


SHEET_FIELDS = [
    "post",
    "rpps",
    "diploma",
    "diploma_date",
    "ordre_council",
    "ordre_registration_date",
    "start_date",
    "rp_training_date",
    "rp_training_expiry",
]
SHEET_DATE_WIDGETS = {
    name: date_widget()
    for name in (
        "diploma_date",
        "ordre_registration_date",
        "start_date",
        "rp_training_date",
        "rp_training_expiry",
    )
}


class SheetForm(forms.ModelForm):
    """Identity and post. On creation, who and where come from the user's memberships."""

    physician = UserChoiceField(label=_("Physician"), queryset=User.objects.none())
    centre = forms.ModelChoiceField(label=_("Centre"), queryset=Centre.objects.none())

    class Meta:
        model = HabilitationSheet
        fields = ["physician", "centre", *SHEET_FIELDS]
        widgets = {
            **SHEET_DATE_WIDGETS,
            "rpps": forms.TextInput(
                attrs={"inputmode": "numeric", "pattern": r"\d{11}", "maxlength": 11}
            ),
        }
        help_texts = {"rpps": _("11 digits."), "post": _("e.g. Praticien hospitalier.")}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            del self.fields["physician"]
            del self.fields["centre"]
            return
        head_centres = Membership.objects.filter(user=user, role=Role.HEAD_OF_DEPARTMENT).values(
            "centre"
        )
        own_centres = Membership.objects.filter(
            user=user, role__in=[Role.ONCOLOGIST, Role.HEAD_OF_DEPARTMENT]
        ).values("centre")
        self.fields["centre"].queryset = Centre.objects.filter(pk__in=own_centres)
        physicians = User.objects.filter(pk=user.pk) | User.objects.filter(
            memberships__centre__in=head_centres,
            memberships__role__in=[Role.ONCOLOGIST, Role.HEAD_OF_DEPARTMENT],
        )
        self.fields["physician"].queryset = physicians.distinct().order_by("last_name")
        self.fields["physician"].initial = user.pk
        self._user = user
        self._head_centres = set(head_centres.values_list("centre", flat=True))
        if self.fields["centre"].queryset.count() == 1:
            self.fields["centre"].initial = self.fields["centre"].queryset.first().pk

    def clean(self):
        cleaned = super().clean()
        physician, centre = cleaned.get("physician"), cleaned.get("centre")
        if (
            physician is not None
            and centre is not None
            and physician != self._user
            and centre.pk not in self._head_centres
        ):
            self.add_error(
                "physician",
                _("Only the head of department of this centre may create a sheet for a colleague."),
            )
        return cleaned


class SheetLineForm(forms.ModelForm):
    activity = forms.ModelChoiceField(label=_("Activity"), queryset=Activity.objects.none())
    tutor = UserChoiceField(label=_("Tutor"), queryset=User.objects.none(), required=False)

    class Meta:
        model = SheetLine
        fields = [
            "activity",
            "level_requested",
            "tutor",
            "supervised_cases",
            "peer_reviewed_contours",
            "courses",
            "vendor_training",
        ]
        widgets = {
            "courses": forms.Textarea(attrs={"rows": 2}),
            "vendor_training": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args, sheet: HabilitationSheet, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["activity"].queryset = sheet.catalogue_version.activities.select_related(
            "domain"
        )
        self.fields["activity"].label_from_instance = lambda a: (
            f"{a.domain.name} — {a.code} — {a.label}"
        )
        self.fields["tutor"].queryset = (
            User.objects.filter(
                memberships__centre=sheet.centre,
                memberships__role__in=[Role.ONCOLOGIST, Role.HEAD_OF_DEPARTMENT],
            )
            .exclude(pk=sheet.physician_id)
            .distinct()
            .order_by("last_name")
        )


class EvidenceForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of evidence"), choices=EvidenceKind.choices)
    description = forms.CharField(label=_("Description"), max_length=200, required=False)
    file = forms.FileField(
        label=_("File (PDF, PNG or JPEG)"),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.png,.jpg,.jpeg"}),
    )


class TransitionForm(forms.Form):
    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class GrantForm(forms.Form):
    """One line of the head of department's review."""

    level = forms.ChoiceField(label=_("Level granted"), choices=Level.choices)
    expiry_date = forms.DateField(
        label=_("Expiry date"),
        required=False,
        widget=forms.DateInput(
            attrs={"type": "date", "class": "form-control form-control-sm"}, format="%Y-%m-%d"
        ),
    )
    restrictions = forms.CharField(
        label=_("Restrictions"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 1, "class": "form-control form-control-sm"}),
    )


class VerifyForm(forms.Form):
    code = forms.CharField(label=_("Verification code"), max_length=40)


class SheetSignatureForm(SignatureConfirmForm):
    """Re-authentication of a signature step, with the step's comment where it has one."""

    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    field_order = ["comment", "password", "otp_token", "expected_hash"]

    def __init__(self, *args, with_comment: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_comment:
            del self.fields["comment"]
