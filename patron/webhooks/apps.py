from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    """Signed webhooks on customer-record changes, with retries and a delivery log."""

    name = "patron.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        from patron.core import events

        from .outbox import on_audit_events

        # Every audited write offers its events to the outbox (decision 0009).
        events.subscribe(on_audit_events)
