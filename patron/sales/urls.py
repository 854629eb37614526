from django.urls import path

from . import views

urlpatterns = [
    path("", views.board, name="sales_board"),
    path("opportunities/new/", views.opportunity_create, name="opportunity_create"),
    path("opportunities/validate/", views.opportunity_validate, name="opportunity_validate"),
    path("opportunities/<int:pk>/", views.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", views.opportunity_edit, name="opportunity_edit"),
    path("opportunities/<int:pk>/delete/", views.opportunity_delete, name="opportunity_delete"),
    path("opportunities/<int:pk>/move/", views.board_move, name="opportunity_move"),
    path("panel/<str:object_type>/<int:pk>/", views.opportunity_panel, name="opportunity_panel"),
]
