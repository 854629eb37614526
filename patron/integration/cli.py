"""What the integration app's commands share."""

from __future__ import annotations

from django.core.management.base import CommandError

from patron.core.models import User


def command_actor(username: str) -> User:
    """The user a command acts as: the one named, else the first active administrator."""
    if username:
        try:
            return User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(f"No user '{username}'.") from None
    actor = User.objects.filter(is_superuser=True, is_active=True).order_by("id").first()
    if actor is None:
        actor = User.objects.filter(role__slug="admin", is_active=True).order_by("id").first()
    if actor is None:
        raise CommandError("No admin user: create one with `patron createuser`.")
    return actor
