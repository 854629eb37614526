"""Helpers for billing tests: drafts and issued invoices made through the services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from patron.billing import services
from patron.billing.models import Invoice

LINE = {
    "description": "Widget",
    "quantity": Decimal("2"),
    "unit_price": Decimal("50.0000"),
    "tax_rate": Decimal("20"),
    "unit_cost": Decimal("30.0000"),
}


def make_draft(actor: Any, account: Any, lines: list[dict] | None = None, **data: Any) -> Invoice:
    return services.invoice_create(
        actor=actor, data={"account": account, **data}, lines=lines or [dict(LINE)]
    )


def make_issued(actor: Any, account: Any, lines: list[dict] | None = None, **data: Any) -> Invoice:
    issue_date = data.pop("issue_date", None)
    draft = make_draft(actor, account, lines, **data)
    return services.invoice_issue(actor=actor, invoice=draft, issue_date=issue_date)
