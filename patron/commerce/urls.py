"""Products and price lists, quotes and orders: electronic ordering from the catalogue."""

from django.urls import path

from . import views

urlpatterns = [
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_edit, name="product_create"),
    path("products/<int:pk>/", views.product_detail, name="product_detail"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("price-lists/", views.price_list_list, name="price_list_list"),
    path("price-lists/new/", views.price_list_edit, name="price_list_create"),
    path("price-lists/<int:pk>/", views.price_list_detail, name="price_list_detail"),
    path("price-lists/<int:pk>/edit/", views.price_list_edit, name="price_list_edit"),
    path(
        "price-lists/<int:pk>/prices/<int:item_pk>/remove/",
        views.price_remove,
        name="price_remove",
    ),
    path("quotes/", views.quote_list, name="quote_list"),
    path("quotes/new/", views.quote_edit, name="quote_create"),
    path("quotes/line-row/", views.quote_line_row, name="quote_line_row"),
    path("quotes/preview/", views.quote_preview, name="quote_preview"),
    path("quotes/<int:pk>/", views.quote_detail, name="quote_detail"),
    path("quotes/<int:pk>/edit/", views.quote_edit, name="quote_edit"),
    path("quotes/<int:pk>/pdf/", views.quote_pdf, name="quote_pdf"),
    path(
        "quotes/<int:pk>/<str:action>/",
        views.quote_action,
        name="quote_action",
    ),
    path("orders/", views.order_list, name="order_list"),
    path("orders/new/", views.order_edit, name="order_create"),
    path("orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("orders/<int:pk>/edit/", views.order_edit, name="order_edit"),
    path("orders/<int:pk>/pdf/", views.order_pdf, name="order_pdf"),
    path("orders/<int:pk>/<str:action>/", views.order_action, name="order_action"),
    path("accounts/<int:pk>/credit-limit/", views.credit_limit_edit, name="credit_limit_edit"),
    path(
        "opportunities/<int:pk>/products/",
        views.opportunity_products,
        name="opportunity_products",
    ),
    path(
        "panel/<str:object_type>/<int:pk>/products/",
        views.opportunity_products_panel,
        name="opportunity_products_panel",
    ),
    path(
        "opportunities/<int:pk>/products/<int:line_pk>/remove/",
        views.opportunity_product_remove,
        name="opportunity_product_remove",
    ),
    path(
        "opportunities/<int:pk>/quote/",
        views.quote_from_opportunity,
        name="quote_from_opportunity",
    ),
    path("panel/<str:object_type>/<int:pk>/", views.record_panel, name="commerce_account_panel"),
]
