from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    """Sources, source records (lineage), imports with mapping and quarantine, database syncs,
    the bulk API and exports: how customer data comes in and goes back out."""

    name = "patron.integration"
    label = "integration"
    verbose_name = "Integration"
