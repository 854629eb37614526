from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Cross-cutting machinery: users, teams, roles, permissions, audit, custom fields."""

    name = "patron.core"
    label = "core"
    verbose_name = "Patron core"
