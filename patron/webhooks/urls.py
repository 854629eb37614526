from django.urls import path

from . import views

# Mounted at /webhooks/. Nothing here has the shape /webhooks/<id>/…: the customers app
# routes every "<plural>/<id>/<word>/" path (contacts/1/emails/) to its own views.
urlpatterns = [
    path("", views.endpoint_list, name="webhook_endpoint_list"),
    path("endpoints/new/", views.endpoint_create, name="webhook_endpoint_create"),
    path("endpoints/<int:pk>/", views.endpoint_detail, name="webhook_endpoint_detail"),
    path("endpoints/<int:pk>/edit/", views.endpoint_edit, name="webhook_endpoint_edit"),
    path("endpoints/<int:pk>/delete/", views.endpoint_delete, name="webhook_endpoint_delete"),
    path(
        "endpoints/<int:pk>/rotate-secret/",
        views.endpoint_rotate_secret,
        name="webhook_endpoint_rotate_secret",
    ),
    path("endpoints/<int:pk>/test/", views.endpoint_send_test, name="webhook_endpoint_send_test"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="webhook_delivery_detail"),
    path(
        "deliveries/<int:pk>/redeliver/",
        views.delivery_redeliver,
        name="webhook_delivery_redeliver",
    ),
]
