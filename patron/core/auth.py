"""The authentication backend: Django's ModelBackend, loading the user with its role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied


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

    def authenticate(self, request: Any, username: str | None = None,
                     password: str | None = None, **kwargs: Any) -> Any:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            # The plain ModelBackend listed after this one (only for sessions signed in
            # before it existed) would give the same answer: stop here rather than hash
            # the password a second time.
            raise PermissionDenied
        return user
