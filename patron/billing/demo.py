"""Demo invoices for `patron demo`, through the services: about ten of the demo's confirmed
and fulfilled orders invoiced and issued over the past weeks, most paid (a few in part), two
left unpaid past their due date and marked overdue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from patron.customers.demo import register_extension

from . import services
from .models import Invoice, Payment

INVOICES = 10
OVERDUE = 2


def load(ctx: Any) -> None:
    from patron.commerce.models import Order

    if Invoice.objects.exists():
        return
    rng = ctx.rng
    actor = ctx.admin
    orders = list(
        Order.objects.filter(status__in=services.ORDER_INVOICEABLE).order_by("id")[:INVOICES]
    )
    # Oldest first, so that numbers follow issue dates; the first ones are the overdue ones.
    ages = sorted((rng.randint(3, 28) for _ in orders), reverse=True)
    issued = []
    for index, order in enumerate(orders):
        age = rng.randint(45, 75) if index < OVERDUE else ages[index]
        invoice = services.invoice_from_order(actor=actor, order=order)
        invoice = services.invoice_issue(
            actor=actor, invoice=invoice, issue_date=ctx.today - dt.timedelta(days=age)
        )
        issued.append(invoice)
    methods = [m for m, _ in Payment.Method.choices if m != Payment.Method.OTHER]
    paid = 0
    for index, invoice in enumerate(issued):
        if index < OVERDUE or index % 5 == 4:  # overdue ones and a few just issued stay unpaid
            continue
        amount = invoice.balance
        if index % 3 == 0:
            amount = (amount / 2).quantize(Decimal("0.01"))
        issued_on = invoice.issue_date or ctx.today
        paid_on = min(ctx.today, issued_on + dt.timedelta(days=rng.randint(1, 20)))
        services.payment_record(
            actor=actor,
            invoice=invoice,
            data={
                "amount": amount,
                "paid_on": paid_on,
                "method": rng.choice(methods),
                "reference": f"DEMO-{invoice.number_display}",
            },
        )
        paid += 1
    overdue = services.invoices_mark_overdue(today=ctx.today)
    ctx.say(f"{len(issued)} invoices issued, {paid} paid, {len(overdue)} overdue.")


register_extension("billing", load)
