from django.urls import path

from . import capture, views

urlpatterns = [
    path("", views.lead_list, name="lead_list"),
    path("new/", views.lead_create, name="lead_create"),
    path("import/", views.lead_import, name="lead_upload"),
    path("<int:pk>/", views.lead_detail, name="lead_detail"),
    path("<int:pk>/edit/", views.lead_edit, name="lead_edit"),
    path("<int:pk>/delete/", views.lead_delete, name="lead_delete"),
    path("<int:pk>/activities/", views.lead_activity_add, name="lead_activity_add"),
    path("<int:pk>/convert/", views.lead_convert, name="lead_convert"),
    path("rules/", views.rules, name="lead_rules"),
    path("rules/scoring/new/", views.scoring_rule_edit, name="lead_scoring_rule_create"),
    path("rules/scoring/<int:pk>/", views.scoring_rule_edit, name="lead_scoring_rule_edit"),
    path("rules/assignment/new/", views.assignment_rule_edit, name="lead_assignment_rule_create"),
    path(
        "rules/assignment/<int:pk>/", views.assignment_rule_edit, name="lead_assignment_rule_edit"
    ),
    path("rules/<str:kind>/<int:pk>/delete/", views.rule_delete, name="lead_rule_delete"),
    path("rules/model/train/", views.model_train, name="lead_model_train"),
    path("capture/<slug:slug>/", capture.capture, name="lead_capture"),
    path("capture/<slug:slug>/token/", capture.token, name="lead_capture_token"),
]
