from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Cross-cutting machinery: users, teams, roles, permissions, audit, custom fields."""

    name = "patron.core"
    label = "core"
    verbose_name = "Patron core"

    def ready(self) -> None:
        from . import idempotency, jobs

        jobs.register_periodic("idempotency-keys", 3600, idempotency.purge_expired)
