from django.apps import AppConfig


class CustomersConfig(AppConfig):
    """Contacts, accounts, contact points, relationships, tags and the timeline."""

    name = "patron.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from . import timeline

        timeline.register_builtin_kinds()
