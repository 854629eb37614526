"""Reads of core objects the UI offers as choices (users, teams) and a user's API tokens."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from .models import ApiToken, Team, User


def users_for_choice() -> list[User]:
    """Active users, for owner pickers and filters."""
    return list(User.objects.filter(is_active=True).order_by("first_name", "last_name", "username"))


def teams_for_choice() -> list[Team]:
    return list(Team.objects.order_by("name"))


def api_tokens_for(*, user: Any) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first (revoked ones included, marked as such)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
