"""Fixtures for the JSON API tests: a client signed in as a given user."""

import json
from typing import Any

import pytest
from django.test import Client


class ApiClient:
    """Calls /api/... as one user (a session, or a bearer token when `token` is given)."""

    def __init__(self, user: Any = None, *, token: str | None = None):
        self.client = Client()
        self.headers: dict[str, str] = {}
        if token is not None:
            self.headers["Authorization"] = f"Bearer {token}"
        elif user is not None:
            self.client.force_login(user)

    def _send(self, method: str, path: str, body: Any = None, **kwargs: Any):
        data = json.dumps(body) if body is not None else None
        return getattr(self.client, method)(
            "/api" + path,
            data=data,
            content_type="application/json",
            headers=self.headers,
            **kwargs,
        )

    def get(self, path: str, params: Any = None):
        return self.client.get("/api" + path, params or {}, headers=self.headers)

    def post(self, path: str, body: Any = None):
        return self._send("post", path, body)

    def patch(self, path: str, body: Any = None):
        return self._send("patch", path, body)

    def delete(self, path: str):
        return self._send("delete", path)


@pytest.fixture
def api_as(db):
    """`api_as(user)` -> an ApiClient signed in as `user`."""
    return ApiClient
