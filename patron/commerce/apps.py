from django.apps import AppConfig


class CommerceConfig(AppConfig):
    """Products and price lists, quotes, orders, invoices and payments: electronic ordering
    from catalogue to invoice."""

    name = "patron.commerce"
    label = "commerce"
    verbose_name = "Products and orders"
