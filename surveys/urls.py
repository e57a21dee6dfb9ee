from django.urls import path

from surveys import views

app_name = "surveys"

urlpatterns = [
    # Public: the invitation link (no account); the token is the only credential.
    path("r/<str:token>/", views.token_start, name="token-start"),
    path("r/<str:token>/page/<str:section>/", views.token_section, name="token-section"),
    path(
        "r/<str:token>/page/<str:section>/sauvegarde/", views.token_autosave, name="token-autosave"
    ),
    path("r/<str:token>/envoi/", views.token_review, name="token-review"),
    # Centre members, logged in.
    path("", views.campaign_list, name="campaign-list"),
    path("campagnes/<int:pk>/repondre/", views.response_start, name="response-start"),
    path("reponses/<int:pk>/", views.response_detail, name="response-detail"),
    path("reponses/<int:pk>/page/<str:section>/", views.response_section, name="response-section"),
    path(
        "reponses/<int:pk>/page/<str:section>/sauvegarde/",
        views.response_autosave,
        name="response-autosave",
    ),
    path("reponses/<int:pk>/envoi/", views.response_review, name="response-review"),
    path("reponses/<int:pk>/rouvrir/", views.response_reopen, name="response-reopen"),
    # Builder.
    path("questionnaires/", views.questionnaire_list, name="questionnaire-list"),
    path("questionnaires/nouveau/", views.questionnaire_create, name="questionnaire-create"),
    path("questionnaires/importer/", views.questionnaire_import, name="questionnaire-import"),
    path("versions/<int:pk>/", views.version_detail, name="version-detail"),
    path("versions/<int:pk>/modifier/", views.version_update, name="version-update"),
    path("versions/<int:pk>/apercu/", views.version_preview, name="version-preview"),
    path("versions/<int:pk>/publier/", views.version_publish, name="version-publish"),
    path("versions/<int:pk>/nouvelle-version/", views.version_new, name="version-new"),
    path("versions/<int:pk>/cloturer/", views.version_close, name="version-close"),
    path("versions/<int:pk>/exporter/", views.version_export, name="version-export"),
    path("versions/<int:version_pk>/sections/nouvelle/", views.section_edit, name="section-create"),
    path("sections/<int:pk>/modifier/", views.section_edit, name="section-update"),
    path("sections/<int:pk>/supprimer/", views.section_delete, name="section-delete"),
    path("sections/<int:pk>/deplacer/", views.section_move, name="section-move"),
    path("sections/<int:pk>/restaurer/", views.section_restore, name="section-restore"),
    path(
        "sections/<int:section_pk>/questions/nouvelle/", views.question_edit, name="question-create"
    ),
    path("questions/<int:pk>/modifier/", views.question_edit, name="question-update"),
    path("questions/<int:pk>/supprimer/", views.question_delete, name="question-delete"),
    path("questions/<int:pk>/deplacer/", views.question_move, name="question-move"),
    path("questions/<int:pk>/restaurer/", views.question_restore, name="question-restore"),
    # Campaigns, results, exports, report.
    path("campagnes/nouvelle/", views.campaign_edit, name="campaign-create"),
    path("campagnes/<int:pk>/", views.campaign_detail, name="campaign-detail"),
    path("campagnes/<int:pk>/modifier/", views.campaign_edit, name="campaign-update"),
    path("campagnes/<int:pk>/invitations/", views.campaign_invite, name="campaign-invite"),
    path("invitations/<int:pk>/revoquer/", views.invitation_revoke, name="invitation-revoke"),
    path("invitations/<int:pk>/renouveler/", views.invitation_reissue, name="invitation-reissue"),
    path("campagnes/<int:pk>/relancer/", views.campaign_remind, name="campaign-remind"),
    path("campagnes/<int:pk>/cloturer/", views.campaign_close, name="campaign-close"),
    path("campagnes/<int:pk>/resultats/", views.campaign_results, name="campaign-results"),
    path(
        "campagnes/<int:pk>/mon-centre/",
        views.campaign_centre_results,
        name="campaign-centre-results",
    ),
    path(
        "campagnes/<int:pk>/centres/<int:centre_pk>/",
        views.campaign_centre_results,
        name="campaign-centre-detail",
    ),
    path(
        "campagnes/<int:pk>/centres/<int:centre_pk>/pdf/",
        views.campaign_centre_pdf,
        name="campaign-centre-pdf",
    ),
    path("campagnes/<int:pk>/export/", views.campaign_export, name="campaign-export-form"),
    path("campagnes/<int:pk>/export/<str:fmt>/", views.campaign_export, name="campaign-export"),
    path("campagnes/<int:pk>/rapport/", views.campaign_report, name="campaign-report"),
]
