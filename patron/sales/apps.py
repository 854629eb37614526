from django.apps import AppConfig


class SalesConfig(AppConfig):
    """Sales: pipelines and their stages, opportunities, the kanban board."""

    name = "patron.sales"
    label = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        from patron.customers import panels, timeline

        from . import demo  # noqa: F401 - registers the demo opportunities with `patron demo`
        from .timeline import OPPORTUNITY_KIND

        timeline.register(OPPORTUNITY_KIND)
        panels.register(
            panels.RecordPanel(
                "opportunities", "Opportunities", "opportunity_panel", "opportunity.view"
            )
        )
