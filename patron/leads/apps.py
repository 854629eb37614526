from django.apps import AppConfig


class LeadsConfig(AppConfig):
    """Leads: captured from web forms, the API and imports; scored, routed and converted into
    customers."""

    name = "patron.leads"
    label = "leads"
    verbose_name = "Leads"
