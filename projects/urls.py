from django.urls import path

from projects import views

urlpatterns = [
    path("projects/<int:pk>/history/", views.project_history, name="project-history"),
    path("projects/<int:pk>/overview/", views.project_overview, name="project-overview"),
    path(
        "projects/<int:pk>/overview/edit/",
        views.project_overview_edit,
        name="project-overview-edit",
    ),
    path(
        "projects/<int:pk>/variance/",
        views.project_plan_block,
        {"block": "variance"},
        name="project-variance",
    ),
    path(
        "projects/<int:pk>/timeline/",
        views.project_plan_block,
        {"block": "timeline"},
        name="project-timeline",
    ),
    path("projects/<int:pk>/phases/new/", views.phase_create, name="phase-create"),
    path("projects/<int:pk>/items/bulk/", views.checklist_items_bulk, name="items-bulk"),
    path("phases/<int:pk>/", views.phase_row, name="phase-row"),
    path("phases/<int:pk>/view/", views.phase_view, name="phase-view"),
    path("phases/<int:pk>/edit/", views.phase_edit, name="phase-edit"),
    path("phases/<int:pk>/move/", views.phase_move, name="phase-move"),
    path("phases/<int:pk>/delete/", views.phase_delete, name="phase-delete"),
    path("phases/<int:pk>/restore/", views.phase_restore, name="phase-restore"),
    path("phases/<int:pk>/items/new/", views.checklist_item_create, name="item-create"),
    path("items/<int:pk>/", views.checklist_item_row, name="item-row"),
    path("items/<int:pk>/edit/", views.checklist_item_edit, name="item-edit"),
    path("items/<int:pk>/toggle/", views.checklist_item_toggle, name="item-toggle"),
    path("items/<int:pk>/move/", views.checklist_item_move, name="item-move"),
    path("items/<int:pk>/delete/", views.checklist_item_delete, name="item-delete"),
    path("items/<int:pk>/restore/", views.checklist_item_restore, name="item-restore"),
]
