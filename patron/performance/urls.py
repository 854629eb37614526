from django.urls import path

from . import views

urlpatterns = [
    path("", views.forecast, name="forecast"),
    path("opportunities/<int:pk>/category/", views.forecast_category, name="forecast_category"),
    path("quotas/", views.quota_list, name="quota_list"),
    path("quotas/<int:pk>/edit/", views.quota_edit, name="quota_edit"),
    path("quotas/<int:pk>/delete/", views.quota_delete, name="quota_delete"),
    path("commissions/", views.commission_list, name="commission_list"),
    path("commissions/<int:pk>/", views.commission_statement, name="commission_statement"),
]
