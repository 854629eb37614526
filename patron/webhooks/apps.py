from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed webhooks on customer-record changes, with retries and a delivery log."""

    name = "patron.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
