from django.apps import AppConfig


class CommerceConfig(AppConfig):
    """Products and price lists, quotes and orders: electronic ordering from the catalogue."""

    name = "patron.commerce"
    label = "commerce"
    verbose_name = "Products and orders"
