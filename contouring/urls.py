from django.urls import path

from contouring import views

app_name = "contouring"

urlpatterns = [
    path("", views.case_list, name="case-list"),
    path("cas/nouveau/", views.case_create, name="case-create"),
    path("cas/<int:pk>/", views.case_detail, name="case-detail"),
    path("cas/<int:pk>/modifier/", views.case_update, name="case-update"),
    path("cas/<int:pk>/structures/", views.case_structures, name="case-structures"),
    path("cas/<int:pk>/dose/", views.dose_create, name="dose-create"),
    path("cas/<int:pk>/deposer/", views.submission_create, name="submission-create"),
    path("cas/<int:pk>/comparer/", views.comparison_start, name="comparison-start"),
    path("cas/<int:pk>/resultats/", views.case_results, name="case-results"),
    path("cas/<int:pk>/resultats/colonnes/", views.results_columns, name="results-columns"),
    path("resultats/export/<str:fmt>/", views.results_export, name="results-export"),
    path(
        "cas/<int:pk>/consensus/<str:method>.dcm",
        views.consensus_rtstruct,
        name="consensus-rtstruct",
    ),
    path(
        "cas/<int:pk>/structures/<int:structure_pk>/",
        views.structure_overlays,
        name="structure-overlays",
    ),
    path(
        "cas/<int:pk>/structures/<int:structure_pk>/visionneuse/",
        views.structure_viewer,
        name="structure-viewer",
    ),
    path(
        "cas/<int:pk>/structures/<int:structure_pk>/coupes/<int:k>.png",
        views.overlay_image,
        name="overlay-image",
    ),
    path("soumissions/<int:pk>/", views.submission_detail, name="submission-detail"),
    path("objectifs/", views.objective_list, name="objective-list"),
    path("objectifs/nouveau/", views.objective_edit, name="objective-create"),
    path("objectifs/<int:pk>/modifier/", views.objective_edit, name="objective-update"),
    path("objectifs/<int:pk>/supprimer/", views.objective_delete, name="objective-delete"),
    path("solutions/", views.solution_list, name="solution-list"),
    path("solutions/nouvelle/", views.solution_create, name="solution-create"),
    path("protocole/", views.protocol_list, name="protocol-list"),
    path("protocole/nouvelle-version/", views.protocol_create, name="protocol-create"),
    path("protocole/<int:pk>/", views.protocol_detail, name="protocol-detail"),
    path(
        "protocole/<int:pk>/rapport-final/",
        views.protocol_report_final,
        name="protocol-report-final",
    ),
    path(
        "protocole/<int:pk>/rapport-final.pdf",
        views.protocol_report_download,
        name="protocol-report-download",
    ),
]
