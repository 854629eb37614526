from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    """Sources, source records (lineage), imports with mapping and quarantine, database syncs,
    the bulk API and exports: how customer data comes in and goes back out."""

    name = "patron.integration"
    label = "integration"
    verbose_name = "Integration"

    def ready(self) -> None:
        from patron.core import jobs
        from patron.customers import panels

        from .tasks import periodic

        jobs.register_periodic("integration", 60, periodic)
        panels.register(panels.RecordPanel("sources", "Sources", "record_lineage"))
