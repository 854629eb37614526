"""`patron demo`: fill the database with a realistic demo organisation (see customers.demo)."""

from django.core.management.base import BaseCommand, CommandError

from patron.core import context
from patron.customers import demo


class Command(BaseCommand):
    help = (
        "Generate demo data: teams, users of every role (password 'patron-demo'), accounts, "
        "contacts with emails, phones, addresses, relationships, tags, custom fields and "
        "timelines. Writes in bulk, straight to the tables."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--contacts",
            type=int,
            default=5000,
            help="Number of contacts (1,000 to 1,000,000; accounts are a fifth).",
        )
        parser.add_argument(
            "--seed", type=int, default=42, help="Random seed: the same seed gives the same data."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already has contacts.",
        )
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="Contacts written per transaction."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, contacts, seed, if_empty, batch_size, no_progress, **options):
        if contacts < 1:
            raise CommandError("--contacts must be at least 1.")
        if if_empty and demo.has_data():
            self.stdout.write("The database already has contacts; no demo data added.")
            return
        with context.bind(origin="cli"):
            result = demo.generate(
                contacts=contacts,
                seed=seed,
                batch_size=batch_size,
                progress=not no_progress and options["verbosity"] > 0,
                stdout=self.stdout.write,
                extensions=contacts >= demo.EXTENSIONS_FROM,
            )
        rate = result.total_rows / result.seconds if result.seconds else 0
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data written in {result.seconds:.1f} s "
                f"({result.total_rows:,} rows, {rate:,.0f} rows/s, "
                f"{result.contacts / result.seconds:,.0f} contacts/s)."
            )
        )
        for table, count in sorted(result.rows.items()):
            self.stdout.write(f"  {table:<32} {count:>12,}")
        self.stdout.write(f"  {'users':<32} {result.users:>12,}")
        self.stdout.write("")
        self.stdout.write(
            f"Log in at http://127.0.0.1:8000 as admin / {demo.DEMO_PASSWORD} "
            f"(or rep1 / {demo.DEMO_PASSWORD} to see a sales rep's view; also manager1, "
            f"marketer1, agent1, viewer)."
        )
