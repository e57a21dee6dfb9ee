from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from onco_hdf.models import Centre, Membership

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
        ]


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
