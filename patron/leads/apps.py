from django.apps import AppConfig


class LeadsConfig(AppConfig):
    """Leads: captured from web forms, the API and imports; scored, routed and converted into
    customers."""

    name = "patron.leads"
    label = "leads"
    verbose_name = "Leads"

    def ready(self) -> None:
        from patron.core import jobs
        from patron.customers import timeline

        from . import demo  # noqa: F401 - registers the demo leads with `patron demo`
        from .tasks import train_when_possible
        from .timeline import LEAD_KIND

        timeline.register(LEAD_KIND)
        # The conversion model relearns once a day from the outcomes since.
        jobs.register_periodic("leads.train", 24 * 3600, train_when_possible)
