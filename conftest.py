"""Fixtures shared by every test: teams and users of each role, and a way to set visibility."""

import pytest

from patron.core.models import OrganisationSettings
from patron.core.tests.factories import TeamFactory, UserFactory, role


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
