from django.urls import path

from . import merge_views

urlpatterns = [
    path(
        "duplicates/<str:object_type>/<int:pk>/",
        merge_views.duplicates_panel,
        name="duplicates_panel",
    ),
    path("merge/<str:object_type>/<int:pk>/", merge_views.merge_compare, name="merge_compare"),
    path("check/<str:object_type>/", merge_views.duplicate_check, name="duplicate_check"),
    path("merges/<int:pk>/undo/", merge_views.merge_undo, name="merge_undo"),
]
