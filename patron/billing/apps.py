from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Billing: invoices with gap-free numbering per series, payments, overdue tracking, and
    each customer's economics (revenue, cost of goods, cost to serve, margin)."""

    name = "patron.billing"
    label = "billing"
    verbose_name = "Billing"
