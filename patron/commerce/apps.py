from django.apps import AppConfig


class CommerceConfig(AppConfig):
    """Products and price lists, quotes and orders: electronic ordering from the catalogue."""

    name = "patron.commerce"
    label = "commerce"
    verbose_name = "Products and orders"

    def ready(self) -> None:
        from patron.customers import panels, timeline

        from . import demo  # noqa: F401 - registers the demo orders with `patron demo`
        from .timeline import ORDER_KIND, QUOTE_KIND

        timeline.register(QUOTE_KIND)
        timeline.register(ORDER_KIND)
        panels.register(
            panels.RecordPanel(
                "commerce", "Quotes and orders", "commerce_account_panel", "quote.view"
            )
        )
        panels.register(
            panels.RecordPanel(
                "opportunity_products",
                "Products",
                "opportunity_products_panel",
                "product.view",
                object_types=("opportunity",),
            )
        )
