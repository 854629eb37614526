from django.urls import path

from . import dashboard_views, merge_views, resolution_views, views

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
    path("review/", resolution_views.review_list, name="review_list"),
    path("review/<int:pk>/", resolution_views.review_detail, name="review_detail"),
    path("review/<int:pk>/decide/", resolution_views.review_decide, name="review_decide"),
    path("resolution/run/", resolution_views.resolution_run_start, name="resolution_run_start"),
    path(
        "resolution/runs/<int:pk>/",
        resolution_views.resolution_run_progress,
        name="resolution_run_progress",
    ),
    path(
        "lineage/<str:object_type>/<int:pk>/",
        resolution_views.lineage_panel,
        name="lineage_panel",
    ),
    path(
        "lineage/<str:object_type>/<int:pk>/<str:field>/release/",
        resolution_views.lineage_release,
        name="lineage_release",
    ),
]
