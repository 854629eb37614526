"""`patron serve`: serve Patron on http://127.0.0.1:8000 with a background worker beside it."""

import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Serve Patron over HTTP (Django's server; put a WSGI server in front in production) "
        "and run a background worker for imports, syncs and webhooks."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-worker", action="store_true", help="Do not start the background worker."
        )

    def handle(self, *args, addrport, no_worker, **options):
        worker = None
        if not no_worker:
            worker = subprocess.Popen([sys.executable, "-m", "patron.cli", "worker"])
        self.stdout.write(f"Patron is at http://{addrport}/  (Ctrl+C stops it)")
        try:
            call_command("runserver", addrport, use_reloader=False, use_threading=True)
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(timeout=10)
