from django.urls import path

from . import views

urlpatterns = [
    path("", views.invoice_list, name="invoice_list"),
    path("invoices/new/", views.invoice_create, name="invoice_create"),
    path("invoices/contacts/", views.invoice_contact_options, name="invoice_contact_options"),
    path("orders/<int:order_id>/invoice/", views.invoice_from_order, name="invoice_from_order"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/edit/", views.invoice_edit, name="invoice_edit"),
    path("invoices/<int:pk>/issue/", views.invoice_issue, name="invoice_issue"),
    path("invoices/<int:pk>/void/", views.invoice_void, name="invoice_void"),
    path("invoices/<int:pk>/credit/", views.invoice_credit, name="invoice_credit"),
    path("invoices/<int:pk>/delete/", views.invoice_delete, name="invoice_delete"),
    path("invoices/<int:pk>/payments/", views.payment_create, name="payment_create"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("payments/<int:pk>/reverse/", views.payment_reverse, name="payment_reverse"),
    path("panel/<str:object_type>/<int:pk>/", views.economics_panel, name="economics_panel"),
    path(
        "panel/<str:object_type>/<int:pk>/invoices/",
        views.order_invoices_panel,
        name="order_invoices_panel",
    ),
]
