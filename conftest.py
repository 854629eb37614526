"""Fixtures shared by every test: teams and users of each role, and a way to set visibility."""

import pytest

from patron.core.models import OrganisationSettings
from patron.core.tests.factories import TeamFactory, UserFactory, role


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
