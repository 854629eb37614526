"""The reads made on every request with hand-written SQL (session, user with role and team,
organisation settings) build exactly what the ORM builds."""

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from patron.core import context
from patron.core.auth import user_with_role_and_team
from patron.core.models import OrganisationSettings, User
from patron.core.permissions import organisation_settings

pytestmark = pytest.mark.django_db


def fields(instance):
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def assert_same(plain, orm):
    assert type(plain) is type(orm)
    assert fields(plain) == fields(orm)
    # Same Python types too: aware datetimes, booleans, decoded JSON.
    assert {k: type(v) for k, v in fields(plain).items()} == {
        k: type(v) for k, v in fields(orm).items()
    }
    assert plain._state.adding is False
    assert plain._state.db == orm._state.db


@pytest.mark.parametrize("with_team", [True, False])
def test_user_with_role_and_team_is_what_select_related_reads(rep_north, with_team):
    rep_north.last_login = timezone.now() - datetime.timedelta(days=2)
    if not with_team:
        rep_north.team = None
    rep_north.save()
    orm = User.objects.select_related("role", "team").get(pk=rep_north.pk)

    plain = user_with_role_and_team(rep_north.pk)

    assert_same(plain, orm)
    assert_same(plain.role, orm.role)
    assert plain.role.permissions == orm.role.permissions  # JSON decoded
    if with_team:
        assert_same(plain.team, orm.team)
    else:
        assert plain.team is None
    assert plain.last_login.tzinfo is not None


def test_user_without_role_and_unknown_user(db):
    user = User.objects.create(username="norole", role=None)

    plain = user_with_role_and_team(user.pk)

    assert plain.pk == user.pk and plain.role is None and plain.team is None
    assert user_with_role_and_team(user.pk + 1000) is None


def test_organisation_settings_are_read_once_per_context_and_created_if_missing(
    set_visibility, django_assert_num_queries
):
    set_visibility("private")
    with context.bind(origin="api"), django_assert_num_queries(1):
        first = organisation_settings()
        assert organisation_settings() is first
    assert_same(first, OrganisationSettings.objects.get(pk=1))
    assert first.record_visibility == "private"

    OrganisationSettings.objects.all().delete()
    with context.bind(origin="api"):
        created = organisation_settings()
    assert created.pk == 1 and created.record_visibility == "team"
    assert OrganisationSettings.objects.filter(pk=1).exists()


def test_session_is_read_and_an_expired_one_is_not(rep_north):
    client = Client()
    client.force_login(rep_north)
    assert client.get("/api/me").status_code == 200

    Session.objects.update(expire_date=timezone.now() - datetime.timedelta(seconds=1))
    assert client.get("/api/me").status_code == 401
