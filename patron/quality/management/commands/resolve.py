"""`patron resolve`: entity resolution over the staged source records of people.

patron resolve            match records that arrived since the last run (the first run is full)
patron resolve --full     re-estimate the model from all the data and score every pair
               [--entity account]  organisations instead of people
               [--as USER] [--no-progress]

Customers a cluster spans are merged (each merge can be undone on the record page), pairs in
the uncertain band go to the review queue, and golden values are chosen again.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from patron.core import context
from patron.integration.cli import command_actor
from patron.quality import matching
from patron.quality.models import ResolutionRun


class Command(BaseCommand):
    help = "Find the source records that describe the same customer; merge and queue for review."

    def add_arguments(self, parser):
        parser.add_argument("--full", action="store_true", help="Re-estimate the model; all pairs.")
        parser.add_argument(
            "--entity",
            choices=["contact", "account"],
            default="contact",
            help="People (contact, the default) or organisations (account).",
        )
        parser.add_argument("--as", dest="username", default="", help="Act as this user.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = command_actor(options["username"])
        with context.bind(origin="cli"):
            try:
                run = matching.resolution_start(actor=actor, full=options["full"], enqueue=False)
            except (PermissionDenied, ValidationError) as exc:
                raise CommandError(str(exc)) from None
        if run.status == ResolutionRun.Status.RUNNING:
            raise CommandError(f"Resolution run #{run.pk} is already running.")
        # A run queued earlier for the worker is worked here instead (claimed atomically).
        bar = tqdm(
            total=100,
            unit="%",
            disable=options["no_progress"],
            bar_format="{l_bar}{bar}| {n_fmt}% [{elapsed}]",
        )

        def progress(current: ResolutionRun) -> None:
            bar.set_description(current.phase)
            bar.update(current.progress - bar.n)

        run = matching.resolution_process(run.pk, progress=progress)
        bar.close()
        if run.status == ResolutionRun.Status.FAILED:
            raise CommandError(f"Resolution run #{run.pk} failed: {run.error}")
        self.stdout.write(
            f"Resolution run #{run.pk} ({run.get_mode_display().lower()}): {run.records} records,"
            f" {run.new_records} scored, {run.pairs_scored} likely pairs, {run.merges} merged,"
            f" {run.review_pairs} for review"
            + (f" in {run.timings['total']} s" if run.timings.get("total") else "")
            + "."
        )
