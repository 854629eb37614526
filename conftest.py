"""Fixtures shared by every test: teams and users of each role, and a way to set visibility."""

import threading

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from django.test.testcases import LiveServerThread

from patron.core.models import OrganisationSettings
from patron.core.tests.factories import TeamFactory, UserFactory, role


class _OneRequestAtATimeOnSharedSQLite(ThreadedWSGIServer):
    """The browser tests' live server. On the in-memory SQLite test database every request
    thread uses the test's one connection (`connections_override`), and two requests at once
    (a page and its htmx panels) break it ("bad parameter or other API misuse"); so there,
    requests take turns. With PostgreSQL each thread has its own connection and nothing
    changes."""

    def set_app(self, application):
        if self.connections_override:
            lock = threading.Lock()

            def one_at_a_time(environ, start_response):
                with lock:
                    result = application(environ, start_response)
                    try:
                        return list(result)  # the body is read under the lock too
                    finally:
                        if hasattr(result, "close"):
                            result.close()

            super().set_app(one_at_a_time)
        else:
            super().set_app(application)


LiveServerThread.server_class = _OneRequestAtATimeOnSharedSQLite


@pytest.fixture(autouse=True)
def _migration_data_present(request):
    """Put back the rows migrations create (roles, the default pipeline, invoice series…) when
    an earlier test emptied the database. A browser test runs with a real transaction and
    leaves the tables empty behind it (its data is reloaded at the start of the next such
    test); pytest-django runs those tests last, but pytest-xdist's `loadfile` hands out files
    by size, so a small file of ordinary tests may come after one on the same worker. The
    restored rows live in the test's transaction and go with it."""
    marker = request.node.get_closest_marker("django_db")
    if "transactional_db" in request.fixturenames or "live_server" in request.fixturenames:
        return
    if marker is not None:
        if _is_transactional(request.node):
            return
        request.getfixturevalue("_django_db_helper")  # what the marker opens
    elif "db" in request.fixturenames:
        request.getfixturevalue("db")
    else:
        return
    from django.db import connections

    from patron.core.models import Role

    if Role.objects.exists():
        return
    for alias in connections:
        contents = getattr(connections[alias], "_test_serialized_contents", None)
        if contents:
            connections[alias].creation.deserialize_db_from_string(contents)


def _is_transactional(node) -> bool:
    marker = node.get_closest_marker("django_db")
    return bool(marker.kwargs.get("transaction") or marker.kwargs.get("reset_sequences"))


@pytest.fixture
def team_north(db):
    return TeamFactory(name="North")


@pytest.fixture
def team_south(db):
    return TeamFactory(name="South")


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin", role=role("admin"))


@pytest.fixture
def manager_north(team_north):
    return UserFactory(username="manager_north", role=role("manager"), team=team_north)


@pytest.fixture
def rep_north(team_north):
    return UserFactory(username="rep_north", role=role("sales_rep"), team=team_north)


@pytest.fixture
def rep_north_2(team_north):
    return UserFactory(username="rep_north_2", role=role("sales_rep"), team=team_north)


@pytest.fixture
def rep_south(team_south):
    return UserFactory(username="rep_south", role=role("sales_rep"), team=team_south)


@pytest.fixture
def readonly_user(team_north):
    return UserFactory(username="viewer", role=role("read_only"), team=team_north)


@pytest.fixture
def set_visibility(db):
    """Change the organisation's record visibility for one test."""

    def apply(value: str) -> None:
        OrganisationSettings.objects.update_or_create(pk=1, defaults={"record_visibility": value})

    return apply
