"""The authentication backend: Django's ModelBackend, loading the user with its role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class PatronBackend(ModelBackend):
    """Every permission check reads `user.role`, so the session's user is loaded with its
    role and team in one query instead of two on every request."""

    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        try:
            user = model._default_manager.select_related("role", "team").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
