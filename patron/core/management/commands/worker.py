"""`patron worker`: run background jobs (imports, syncs, webhooks) and periodic work."""

import threading

from django.core.management import call_command
from django.core.management.base import BaseCommand

from patron.core import jobs


class Command(BaseCommand):
    help = "Run Patron's background jobs and the periodic scheduler until stopped."

    def add_arguments(self, parser):
        parser.add_argument("--interval", type=float, default=1.0, help="Poll interval (s).")

    def handle(self, *args, interval, **options):
        stop = threading.Event()
        jobs.start_scheduler(stop)
        try:
            call_command("db_worker", interval=interval, no_startup_delay=True)
        finally:
            stop.set()
