from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from onco_hdf import governance_views, views
from onco_hdf.auth_views import LoginView

core_patterns = [
    path("centres/", views.centre_list, name="centre-list"),
    path("centres/nouveau/", views.centre_edit, name="centre-create"),
    path("centres/<int:pk>/", views.centre_detail, name="centre-detail"),
    path("centres/<int:pk>/modifier/", views.centre_edit, name="centre-update"),
    path("utilisateurs/", views.user_list, name="user-list"),
    path("utilisateurs/inviter/", views.user_invite, name="user-invite"),
    path("rattachements/nouveau/", views.membership_create, name="membership-create"),
    path("rattachements/<int:pk>/supprimer/", views.membership_delete, name="membership-delete"),
    path(
        "historique/<str:app_label>/<str:model_name>/<int:pk>/",
        views.object_history,
        name="object-history",
    ),
    path("taches/<int:pk>/", views.job_detail, name="job-detail"),
    path("taches/<int:pk>/etat/", views.job_status, name="job-status"),
    path("taches/<int:pk>/resultat/", views.job_result, name="job-result"),
    path("rapports/<str:key>/generer/", views.report_start, name="report-start"),
    path("systeme/", views.system_status, name="system-status"),
    # Public (no login): is this PDF an unchanged copy of an official document?
    path("verifier/", views.document_verify, name="document-verify"),
    path("verifier/<str:code>/", views.document_verify, name="document-verify-code"),
]

copil_patterns = [
    path("copil/", governance_views.meeting_list, name="copil-meeting-list"),
    path("copil/reunions/nouvelle/", governance_views.meeting_edit, name="copil-meeting-create"),
    path("copil/reunions/<int:pk>/", governance_views.meeting_detail, name="copil-meeting-detail"),
    path(
        "copil/reunions/<int:pk>/modifier/",
        governance_views.meeting_edit,
        name="copil-meeting-update",
    ),
    path(
        "copil/reunions/<int:pk>/cloturer/",
        governance_views.meeting_close,
        name="copil-meeting-close",
    ),
    path(
        "copil/reunions/<int:pk>/points/ajouter/",
        governance_views.decision_add,
        name="copil-decision-add",
    ),
    path(
        "copil/reunions/<int:pk>/compte-rendu/deposer/",
        governance_views.minutes_upload,
        name="copil-minutes-upload",
    ),
    path(
        "copil/reunions/<int:pk>/compte-rendu/",
        governance_views.minutes_download,
        name="copil-minutes-download",
    ),
    path(
        "copil/reunions/<int:pk>/compte-rendu/v<int:number>/",
        governance_views.minutes_download,
        name="copil-minutes-version",
    ),
    path(
        "copil/decisions/<int:pk>/", governance_views.decision_detail, name="copil-decision-detail"
    ),
    path(
        "copil/decisions/<int:pk>/decider/",
        governance_views.decision_record,
        name="copil-decision-record",
    ),
    path(
        "copil/decisions/<int:pk>/commenter/",
        governance_views.decision_comment,
        name="copil-decision-comment",
    ),
    path(
        "copil/reunions/<int:pk>/actions/ajouter/",
        governance_views.action_add,
        name="copil-action-add",
    ),
    path(
        "copil/actions/<int:pk>/terminer/", governance_views.action_done, name="copil-action-done"
    ),
    path("copil/derogations/", governance_views.override_list, name="copil-override-list"),
    path("copil/jalons/", governance_views.milestone_list, name="milestone-list"),
    path(
        "copil/jalons/<int:pk>/modifier/",
        governance_views.milestone_list,
        name="milestone-update",
    ),
]
core_patterns += copil_patterns

account_patterns = [
    path("connexion/", LoginView.as_view(), name="login"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("double-authentification/activer/", views.otp_setup, name="otp-setup"),
    path("double-authentification/", views.otp_verify, name="otp-verify"),
]

password_patterns = [
    path("mot-de-passe/oubli/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "mot-de-passe/oubli/envoye/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "mot-de-passe/nouveau/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "mot-de-passe/nouveau/termine/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "mot-de-passe/changer/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "mot-de-passe/changer/termine/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("sante/", views.health, name="health"),
    path("compte/", include((account_patterns, "account"))),
    path("compte/", include(password_patterns)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include((core_patterns, "onco_hdf"))),
    path("enquetes/", include("surveys.urls")),
    path("contourage/", include("contouring.urls")),
    path("continuite-cyber/", include("cyber_continuity.urls")),
    path("habilitations/", include("habilitations.urls")),
    # One login page for everyone, so lockout and the second factor apply to the admin too.
    path("admin/login/", views.admin_login_redirect),
    path("admin/logout/", auth_views.LogoutView.as_view()),
    path("admin/", admin.site.urls),
]

if settings.OIDC_URLCONF:
    urlpatterns.append(path("oidc/", include(settings.OIDC_URLCONF)))
