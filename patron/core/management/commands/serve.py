"""`patron serve`: serve Patron on http://127.0.0.1:8000 (static files included)."""

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Patron over HTTP (Django's server; put a WSGI server in front in production)."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport, **options):
        self.stdout.write(f"Patron is at http://{addrport}/  (Ctrl+C stops it)")
        call_command("runserver", addrport, use_reloader=False, use_threading=True)
