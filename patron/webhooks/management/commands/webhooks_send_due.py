"""`patron webhooks_send_due`: send every webhook delivery whose time has come.

Retries are queued as delayed jobs for `patron db_worker`; run this every few minutes (cron,
a systemd timer) as a safety net for a job lost between a commit and its queueing, and with
`--prune-days` to keep the delivery log from growing for ever."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from patron.webhooks import services


class Command(BaseCommand):
    help = "Send webhook deliveries that are due; optionally prune old finished ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--prune-days",
            type=int,
            default=None,
            help="Also delete finished deliveries older than this many days.",
        )

    def handle(self, *args: Any, prune_days: int | None = None, **options: Any) -> None:
        attempted = services.deliveries_send_due()
        self.stdout.write(f"Attempted {attempted} due deliveries.")
        if prune_days is not None:
            pruned = services.deliveries_prune(older_than=datetime.timedelta(days=prune_days))
            self.stdout.write(f"Deleted {pruned} finished deliveries older than {prune_days} days.")
