"""`patron invoices_overdue`: mark the invoices that fell overdue and list every overdue one.

`patron worker` runs the marking once a day; this command does the same at once (from cron, or
to see where things stand), through the same service."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from patron.billing import services
from patron.billing.models import Invoice
from patron.billing.selectors import overdue_q
from patron.utils.money import format_amount


class Command(BaseCommand):
    help = "Mark invoices that became overdue (audited, on the account's timeline) and list them."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--today",
            type=datetime.date.fromisoformat,
            default=None,
            help="The day to judge by (YYYY-MM-DD); today by default.",
        )

    def handle(self, *args: Any, today: datetime.date | None = None, **options: Any) -> None:
        today = today or timezone.localdate()
        marked = services.invoices_mark_overdue(today=today)
        self.stdout.write(f"Marked {len(marked)} invoice(s) newly overdue.")
        overdue = (
            Invoice.objects.filter(overdue_q(today))
            .select_related("account")
            .order_by("due_date", "id")
        )
        for invoice in overdue:
            owed = format_amount(invoice.balance, invoice.currency)
            self.stdout.write(
                f"{invoice.number_display}\t{invoice.account.name}\tdue {invoice.due_date}"
                f"\t{owed} {invoice.currency}"
            )
