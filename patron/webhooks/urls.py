from django.urls import path

from . import views

urlpatterns = [
    path("", views.endpoint_list, name="webhook_endpoint_list"),
    path("new/", views.endpoint_create, name="webhook_endpoint_create"),
    path("<int:pk>/", views.endpoint_detail, name="webhook_endpoint_detail"),
    path("<int:pk>/edit/", views.endpoint_edit, name="webhook_endpoint_edit"),
    path("<int:pk>/delete/", views.endpoint_delete, name="webhook_endpoint_delete"),
    path(
        "<int:pk>/rotate-secret/",
        views.endpoint_rotate_secret,
        name="webhook_endpoint_rotate_secret",
    ),
    path("<int:pk>/test/", views.endpoint_send_test, name="webhook_endpoint_send_test"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="webhook_delivery_detail"),
    path(
        "deliveries/<int:pk>/redeliver/",
        views.delivery_redeliver,
        name="webhook_delivery_redeliver",
    ),
]
