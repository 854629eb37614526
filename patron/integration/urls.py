from django.urls import path

from . import views

urlpatterns = [
    path("", views.imports_home, name="imports_home"),
    path("new/", views.import_upload, name="import_upload"),
    path("sources/new/", views.source_edit, name="source_create"),
    path("sources/<int:pk>/", views.source_detail, name="source_detail"),
    path("sources/<int:pk>/edit/", views.source_edit, name="source_edit"),
    path("sources/<int:pk>/sync/", views.source_sync, name="source_sync"),
    path("sources/<int:pk>/map/", views.source_map, name="source_map"),
    path("lineage/<str:object_type>/<int:pk>/", views.record_lineage, name="record_lineage"),
    path("<int:pk>/", views.import_detail, name="import_detail"),
    path("<int:pk>/map/", views.import_map, name="import_map"),
    path("<int:pk>/errors.csv", views.import_errors, name="import_errors"),
    path(
        "<int:pk>/<str:action>/",
        views.import_action,
        name="import_action",
    ),
]

urlpatterns += [
    path(
        "sources/<int:pk>/test-connection/",
        views.source_test_connection,
        name="source_test_connection",
    ),
]
