from django.apps import AppConfig


class PerformanceConfig(AppConfig):
    """Forecasts, quotas and commissions: how the sales team stands against its numbers."""

    name = "patron.performance"
    label = "performance"
    verbose_name = "Forecasts, quotas and commissions"
