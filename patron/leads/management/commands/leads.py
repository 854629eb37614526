"""`patron leads train | rescore | import FILE`: the learned model, scores and CSV imports
from the command line, through the same services as the UI."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from patron.core.models import User
from patron.leads import files, services


class Command(BaseCommand):
    help = "Leads: train the conversion model, rescore leads, import a CSV file."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("train", help="Learn the conversion model from past leads.")
        sub.add_parser("rescore", help="Recompute every open lead's score and prediction.")
        importing = sub.add_parser("import", help="Import leads from a CSV file.")
        importing.add_argument("file", type=Path)
        importing.add_argument(
            "--as", dest="username", required=True, help="The user the leads are imported as."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "train":
            try:
                row = services.model_train(actor=None)
            except ValidationError as exc:
                raise CommandError(" ".join(exc.messages)) from None
            self.stdout.write(
                f"Trained on {row.samples} leads ({row.converted} converted, "
                f"{row.disqualified} disqualified)."
            )
        elif action == "rescore":
            self.stdout.write(f"Rescored {services.leads_rescore()} leads.")
        else:
            self._import(options["file"], options["username"])

    def _import(self, path: Path, username: str) -> None:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        try:
            handle = path.open("rb")
        except OSError as exc:
            raise CommandError(str(exc)) from None
        with handle:
            rows, problem = files.read_csv(handle)
        if problem:
            raise CommandError(problem)
        result = services.leads_import_numbered(actor=user, rows=rows)
        for line, reason in result.errors:
            self.stderr.write(f"line {line}: {reason}")
        self.stdout.write(f"{len(result.created)} imported, {len(result.errors)} refused.")
