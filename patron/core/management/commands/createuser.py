"""`patron createuser`: create (or update) a user with a role and a team, from the CLI."""

import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from patron.core import services
from patron.core.models import Role, Team
from patron.core.roles import DEFAULT_ROLES


class Command(BaseCommand):
    help = (
        "Create a Patron user with a role (admin, manager, sales_rep, marketer, "
        "service_agent, read_only) and an optional team."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument(
            "--role", default="sales_rep", choices=[r["slug"] for r in DEFAULT_ROLES]
        )
        parser.add_argument("--team", default="", help="Team name (created if missing).")
        parser.add_argument(
            "--password",
            default=None,
            help="Password (asked for when omitted and a terminal is attached).",
        )

    def handle(self, *args, **opts):
        password = opts["password"]
        if password is None:
            if not sys.stdin.isatty():
                raise CommandError("Give --password when no terminal is attached.")
            password = getpass.getpass("Password: ")
        try:
            role = Role.objects.get(slug=opts["role"])
        except Role.DoesNotExist:
            raise CommandError(f"No role {opts['role']!r}; run `patron migrate` first.") from None
        team = None
        if opts["team"]:
            team, _ = Team.objects.get_or_create(name=opts["team"])
        try:
            user = services.user_create(
                actor=None,
                username=opts["username"],
                password=password,
                email=opts["email"],
                first_name=opts["first_name"],
                last_name=opts["last_name"],
                role=role,
                team=team,
            )
        except ValidationError as exc:
            problems = "; ".join(
                f"{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()
            )
            raise CommandError(f"User not created. {problems}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"User {user.username} created with role {role.name}"
                + (f" in team {team.name}" if team else "")
                + "."
            )
        )
