from django.urls import path

from . import dashboard_views, merge_views, views

urlpatterns = [
    path("", dashboard_views.dashboard, name="quality_dashboard"),
    path("refresh/", dashboard_views.dashboard_refresh, name="quality_dashboard_refresh"),
    path("score/<str:object_type>/<int:pk>/", dashboard_views.score_panel, name="score_panel"),
    path(
        "duplicates/<str:object_type>/<int:pk>/",
        merge_views.duplicates_panel,
        name="duplicates_panel",
    ),
    path("merge/<str:object_type>/<int:pk>/", merge_views.merge_compare, name="merge_compare"),
    path("check/<str:object_type>/", merge_views.duplicate_check, name="duplicate_check"),
    path("merges/<int:pk>/undo/", merge_views.merge_undo, name="merge_undo"),
    path("assess/", views.assess_upload, name="quality_assess"),
]
