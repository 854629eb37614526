import sys

import pytest
from django.core.management import CommandError, call_command

from patron import cli
from patron.core.models import AuditEvent, User

pytestmark = pytest.mark.django_db


def test_patron_createuser_creates_an_audited_user(monkeypatch):
    # run_from_argv closes every connection when a command ends; the test's transaction
    # must survive it.
    monkeypatch.setattr("django.db.connections.close_all", lambda: None)
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "patron",
            "createuser",
            "maria",
            "--role",
            "manager",
            "--team",
            "West",
            "--first-name",
            "Maria",
            "--password",
            "correct-horse-battery-9",
        ],
    )
    cli.main()
    user = User.objects.get(username="maria")
    assert (user.role.slug, user.team.name, user.first_name) == ("manager", "West", "Maria")
    assert user.check_password("correct-horse-battery-9")
    assert not user.is_staff
    event = AuditEvent.objects.get(content_type__model="user", object_id=user.pk)
    assert (event.action, event.origin, event.actor) == ("create", "cli", None)


def test_createuser_refuses_a_weak_password_and_creates_nothing():
    with pytest.raises(CommandError, match="User not created. password: This password is too"):
        call_command("createuser", "weak", "--password", "123")
    assert not User.objects.filter(username="weak").exists()


def test_createuser_without_password_and_without_terminal_fails_clearly(monkeypatch):
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    with pytest.raises(CommandError, match="--password"):
        call_command("createuser", "nopass")
