from django.apps import AppConfig


class PerformanceConfig(AppConfig):
    """Forecasts, quotas and commissions: how the sales team stands against its numbers."""

    name = "patron.performance"
    label = "performance"
    verbose_name = "Forecasts, quotas and commissions"

    def ready(self) -> None:
        from patron.core import jobs

        from . import demo  # noqa: F401 - registers the demo quotas with `patron demo`
        from .tasks import refresh_stage_conversions

        jobs.register_periodic("performance-stage-conversions", 3600, refresh_stage_conversions)
