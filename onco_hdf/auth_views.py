from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _


class LoginForm(AuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Username")
        self.fields["password"].label = _("Password")


class LoginView(auth_views.LoginView):
    """Password login; shows the OpenID Connect button when a provider is configured."""

    authentication_form = LoginForm
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["oidc_login_url"] = _oidc_login_url()
        context["oidc_login_label"] = settings.OIDC_LOGIN_LABEL
        return context


def _oidc_login_url() -> str:
    if not settings.OIDC_URLCONF:
        return ""
    try:
        return reverse(settings.OIDC_LOGIN_URL_NAME)
    except NoReverseMatch:
        return ""
