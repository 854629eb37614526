from django.urls import path

from . import views

urlpatterns = [
    path("assess/", views.assess_upload, name="quality_assess"),
]
