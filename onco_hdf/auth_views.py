from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import NoReverseMatch, reverse


class LoginView(auth_views.LoginView):
    """Password login; shows the OpenID Connect button when a provider is configured."""

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
