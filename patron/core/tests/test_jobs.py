"""Periodic work run by `patron worker`: each registered function runs when its time comes."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from patron.core import jobs
from patron.core.models import IdempotencyKey


@pytest.mark.django_db
def test_registered_functions_run_when_due(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(jobs, "_registry", {})
    jobs.register_periodic("a", 60, lambda: calls.append("a"))
    jobs.register_periodic("b", 10, lambda: calls.append("b"))
    assert jobs.run_due(now=1000.0) == ["a", "b"]
    assert jobs.run_due(now=1005.0) == []
    assert jobs.run_due(now=1011.0) == ["b"]
    assert jobs.run_due(now=1061.0) == ["a", "b"]
    assert calls == ["a", "b", "b", "a", "b"]


@pytest.mark.django_db
def test_a_failing_function_does_not_stop_the_others(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(jobs, "_registry", {})

    def broken() -> None:
        raise RuntimeError("boom")

    jobs.register_periodic("broken", 60, broken)
    jobs.register_periodic("fine", 60, lambda: calls.append("fine"))
    assert jobs.run_due(now=1.0) == ["fine"]
    assert calls == ["fine"]


def test_apps_register_their_periodic_work():
    assert {"idempotency-keys", "integration", "quality"} <= set(jobs._registry)


@pytest.mark.django_db
def test_expired_idempotency_keys_are_purged(admin_user):
    def key(name: str, age_hours: int) -> IdempotencyKey:
        return IdempotencyKey.objects.create(
            user=admin_user,
            key=name,
            method="POST",
            path="/api/merges",
            fingerprint="0" * 64,
            created_at=timezone.now() - datetime.timedelta(hours=age_hours),
        )

    key("old", 25)
    key("fresh", 1)
    jobs._registry["idempotency-keys"].function()
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["fresh"]
