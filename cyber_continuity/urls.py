from django.urls import path

from cyber_continuity import views

app_name = "cyber_continuity"


def _item_urls(kind: str, segment: str) -> list:
    return [
        path(
            f"registre/<int:centre_pk>/{segment}/nouveau/",
            views.item_edit,
            {"kind": kind},
            name=f"{kind}-create",
        ),
        path(
            f"registre/{segment}/<int:pk>/modifier/",
            views.item_edit,
            {"kind": kind},
            name=f"{kind}-update",
        ),
        path(
            f"registre/{segment}/<int:pk>/supprimer/",
            views.item_delete,
            {"kind": kind},
            name=f"{kind}-delete",
        ),
    ]


urlpatterns = [
    path("", views.registry_list, name="registry-list"),
    path("synthese/", views.overview, name="overview"),
    path("registre/<int:pk>/", views.centre_detail, name="centre-detail"),
    path("registre/<int:pk>/profil/", views.profile_edit, name="profile-edit"),
    path("registre/<int:pk>/capacites/", views.capacity_edit, name="capacity-edit"),
    path("registre/<int:pk>/capacites/attester/", views.capacity_attest, name="capacity-attest"),
    path("registre/<int:pk>/kit-de-crise.pdf", views.crisis_kit_pdf, name="crisis-kit-pdf"),
    path("registre/<int:pk>/kits/", views.kit_edition_list, name="kit-edition-list"),
    path("registre/kits/<int:pk>/", views.kit_edition_download, name="kit-edition-download"),
    *_item_urls("contact", "contacts"),
    *_item_urls("system", "systemes"),
    *_item_urls("machine", "machines"),
    path("autorites/", views.authority_list, name="authority-list"),
    path("autorites/nouvelle/", views.authority_edit, name="authority-create"),
    path("autorites/<int:pk>/modifier/", views.authority_edit, name="authority-update"),
    path("autorites/confirmer/", views.authorities_confirm, name="authorities-confirm"),
    path("modeles/", views.template_list, name="template-list"),
    path("modeles/nouveau/", views.template_create, name="template-create"),
    path(
        "modeles/<int:pk>/nouvelle-version/",
        views.template_version_create,
        name="template-version-create",
    ),
    path(
        "modeles/versions/<int:pk>/", views.template_version_detail, name="template-version-detail"
    ),
    path(
        "modeles/versions/<int:pk>/modifier/",
        views.template_version_edit,
        name="template-version-edit",
    ),
    path(
        "modeles/versions/<int:pk>/publier/",
        views.template_version_publish,
        name="template-version-publish",
    ),
    path("conventions/", views.convention_list, name="convention-list"),
    path("conventions/nouvelle/", views.convention_create, name="convention-create"),
    path("conventions/<int:pk>/", views.convention_detail, name="convention-detail"),
    path(
        "conventions/<int:pk>/clauses/<int:clause_pk>/",
        views.convention_clause_edit,
        name="convention-clause-edit",
    ),
    path("conventions/<int:pk>/statut/", views.convention_transition, name="convention-transition"),
    path("conventions/<int:pk>/signer/", views.convention_sign, name="convention-sign"),
    path(
        "conventions/<int:pk>/signer/<int:party_pk>/",
        views.convention_party_sign,
        name="convention-party-sign",
    ),
    path(
        "conventions/<int:pk>/signer/<int:party_pk>/delegation/",
        views.convention_delegation_download,
        name="convention-delegation-download",
    ),
    path("conventions/<int:pk>/avenant/", views.convention_amend, name="convention-amend"),
    path("conventions/<int:pk>/historique/", views.convention_history, name="convention-history"),
    path("conventions/<int:pk>/convention.pdf", views.convention_pdf, name="convention-pdf"),
    path("plans/<int:pk>/", views.plan_detail, name="plan-detail"),
    path("plans/<int:pk>/ajouter/", views.plan_entry_add, name="plan-entry-add"),
    path("plans/lignes/<int:pk>/deplacer/", views.plan_entry_move, name="plan-entry-move"),
    path("plans/lignes/<int:pk>/supprimer/", views.plan_entry_delete, name="plan-entry-delete"),
    path("crises/", views.crisis_list, name="crisis-list"),
    path("crises/declarer/", views.crisis_declare, name="crisis-declare"),
    path("crises/<int:pk>/", views.crisis_detail, name="crisis-detail"),
    path("crises/<int:pk>/statut/", views.crisis_transition, name="crisis-transition"),
    path("crises/<int:pk>/groupes/nouveau/", views.patient_group_add, name="patient-group-add"),
    path("crises/<int:pk>/actions/nouvelle/", views.crisis_action_add, name="crisis-action-add"),
    path(
        "crises/<int:pk>/signalements/nouveau/", views.crisis_report_add, name="crisis-report-add"
    ),
    path("crises/<int:pk>/evenements/nouveau/", views.crisis_event_add, name="crisis-event-add"),
    path("crises/groupes/<int:pk>/", views.patient_group_match, name="patient-group-match"),
    path("crises/transferts/<int:pk>/", views.transfer_update, name="transfer-update"),
    path(
        "crises/transferts/<int:pk>/reponse-telephonique/",
        views.transfer_phone_answer,
        name="transfer-phone-answer",
    ),
    path("crises/actions/<int:pk>/terminer/", views.crisis_action_done, name="crisis-action-done"),
    path(
        "crises/actions/<int:pk>/statut/", views.crisis_action_status, name="crisis-action-status"
    ),
    path("exercices/", views.exercise_list, name="exercise-list"),
    path("exercices/planifier/", views.exercise_schedule, name="exercise-schedule"),
    path("exercices/<int:pk>/", views.exercise_detail, name="exercise-detail"),
    path("exercices/<int:pk>/rapport.pdf", views.exercise_pdf, name="exercise-pdf"),
    path("exercices/<int:pk>/statut/", views.exercise_transition, name="exercise-transition"),
    path(
        "exercices/<int:pk>/injects/nouveau/", views.exercise_inject_add, name="exercise-inject-add"
    ),
    path(
        "exercices/<int:pk>/actions/nouvelle/",
        views.exercise_action_add,
        name="exercise-action-add",
    ),
    path(
        "exercices/injects/<int:pk>/jouer/", views.exercise_inject_play, name="exercise-inject-play"
    ),
    path("exercices/scenarios/", views.scenario_list, name="scenario-list"),
    path("exercices/scenarios/nouveau/", views.scenario_edit, name="scenario-create"),
    path("exercices/scenarios/<int:pk>/modifier/", views.scenario_edit, name="scenario-update"),
]
