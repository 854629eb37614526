"""Background jobs of billing; safe to run twice (an invoice is marked overdue once)."""

from __future__ import annotations

from django.tasks import task

from . import services


@task()
def overdue_task() -> int:
    """Mark the invoices that fell overdue since the last run; how many were marked."""
    return len(services.invoices_mark_overdue())


def periodic() -> None:
    """Once a day from `patron worker`: find the invoices that became overdue."""
    overdue_task.enqueue()
