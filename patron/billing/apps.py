from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Billing: invoices with gap-free numbering per series, payments, overdue tracking, and
    each customer's economics (revenue, cost of goods, cost to serve, margin)."""

    name = "patron.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from patron.core import jobs
        from patron.customers import panels, timeline

        from . import demo  # noqa: F401 - registers the demo invoices with `patron demo`
        from .tasks import periodic
        from .timeline import INVOICE_KIND

        timeline.register(INVOICE_KIND)
        panels.register(
            panels.RecordPanel("economics", "Customer economics", "economics_panel", "invoice.view")
        )
        panels.register(
            panels.RecordPanel(
                "order_invoices",
                "Invoices",
                "order_invoices_panel",
                "invoice.view",
                object_types=("order",),
            )
        )
        jobs.register_periodic("billing-overdue", 24 * 3600, periodic)

        from patron.commerce import selectors as commerce_selectors

        from .services import unpaid_total

        commerce_selectors.register_exposure_source(unpaid_total)
