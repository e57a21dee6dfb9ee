from django.urls import path

from habilitations import views

app_name = "habilitations"

urlpatterns = [
    path("", views.home, name="home"),
    path("circuit/", views.workflow_help, name="workflow-help"),
    path("catalogue/", views.catalogue_list, name="catalogue-list"),
    path("catalogue/nouvelle-version/", views.catalogue_create, name="catalogue-create"),
    path("catalogue/<int:pk>/", views.catalogue_detail, name="catalogue-detail"),
    path("catalogue/<int:pk>/modifier/", views.catalogue_update, name="catalogue-update"),
    path("catalogue/<int:pk>/publier/", views.catalogue_publish, name="catalogue-publish"),
    path("catalogue/<int:version_pk>/domaines/nouveau/", views.domain_edit, name="domain-create"),
    path(
        "catalogue/<int:version_pk>/domaines/<int:pk>/modifier/",
        views.domain_edit,
        name="domain-update",
    ),
    path(
        "catalogue/<int:version_pk>/activites/nouvelle/",
        views.activity_edit,
        name="activity-create",
    ),
    path(
        "catalogue/<int:version_pk>/activites/<int:pk>/modifier/",
        views.activity_edit,
        name="activity-update",
    ),
    path(
        "catalogue/<int:version_pk>/activites/<int:pk>/supprimer/",
        views.activity_delete,
        name="activity-delete",
    ),
    path("fiches/", views.sheet_list, name="sheet-list"),
    path("fiches/nouvelle/", views.sheet_create, name="sheet-create"),
    path("fiches/<int:pk>/", views.sheet_detail, name="sheet-detail"),
    path("fiches/<int:pk>/modifier/", views.sheet_update, name="sheet-update"),
    path("fiches/<int:pk>/validation/", views.sheet_review, name="sheet-review"),
    path("fiches/<int:pk>/signer/<str:step>/", views.sheet_sign, name="sheet-sign"),
    path("fiches/<int:pk>/action/<str:action>/", views.sheet_transition, name="sheet-transition"),
    path("fiches/<int:pk>/renouveler/", views.sheet_renew, name="sheet-renew"),
    path("fiches/<int:pk>/pdf/", views.sheet_pdf, name="sheet-pdf"),
    path("fiches/<int:sheet_pk>/activites/nouvelle/", views.line_edit, name="line-create"),
    path("fiches/<int:sheet_pk>/activites/<int:pk>/modifier/", views.line_edit, name="line-update"),
    path("activites/<int:pk>/supprimer/", views.line_delete, name="line-delete"),
    path("activites/<int:line_pk>/justificatifs/", views.evidence_upload, name="evidence-upload"),
    path("justificatifs/<int:pk>/", views.evidence_download, name="evidence-download"),
    path("justificatifs/<int:pk>/supprimer/", views.evidence_delete, name="evidence-delete"),
    path("matrice/", views.matrix, name="matrix"),
    path("matrice/export.xlsx", views.matrix_export, name="matrix-export"),
    path("synthese-regionale/", views.overview, name="overview"),
    path("centres/<int:pk>/", views.centre_detail, name="centre-detail"),
    # Public (no login): verification of a PDF's code.
    path("verifier/", views.verify, name="verify"),
    path("verifier/<str:code>/", views.verify, name="verify-code"),
]
