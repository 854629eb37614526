"""Demo catalogue, quotes and orders for `patron demo`, all through the services: two tax
rates, a dozen products priced in a default EUR price list, quotes in every status (accepted
ones became orders) and orders confirmed or fulfilled."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from patron.customers.demo import register_extension
from patron.customers.models import Account
from patron.sales.models import Opportunity, Stage

from . import documents, services
from .models import Order, Product, Quote

TAX_RATES = [("Standard VAT 20%", Decimal("20")), ("Reduced VAT 5.5%", Decimal("5.5"))]
# (SKU, name, unit, unit cost, price, reduced tax rate)
PRODUCTS = [
    ("PLT-LIC", "Platform licence (per seat, yearly)", "seat", "60", "240", False),
    ("PLT-ENT", "Enterprise edition (yearly)", "unit", "4000", "18000", False),
    ("SUP-STD", "Standard support (yearly)", "unit", "300", "1200", False),
    ("SUP-PRM", "Premium support (yearly)", "unit", "900", "3600", False),
    ("SRV-ONB", "Onboarding package", "unit", "1500", "4500", False),
    ("SRV-DAY", "Consulting day", "day", "450", "1100", False),
    ("SRV-MIG", "Data migration", "unit", "2000", "6500", False),
    ("TRN-DAY", "Training day (up to 10 people)", "day", "500", "1400", False),
    ("HW-GTW", "Gateway appliance", "unit", "380", "790", False),
    ("HW-SNS", "Sensor kit", "unit", "45", "119", False),
    ("DOC-MAN", "Printed manual", "unit", "8", "25", True),
    ("DOC-BKS", "Best-practice handbook", "unit", "12", "39", True),
]
QUOTES = 20


def load(ctx: Any) -> None:
    if Product.objects.exists() or Quote.objects.exists():
        return
    rng = ctx.rng
    actor = ctx.admin
    standard, reduced = (
        services.tax_rate_create(actor=actor, data={"name": name, "percent": percent})
        for name, percent in TAX_RATES
    )
    price_list = services.price_list_create(
        actor=actor,
        data={"name": "Standard EUR", "currency": "EUR", "is_default": True, "is_active": True},
    )
    products = []
    for sku, name, unit, cost, price, low in PRODUCTS:
        product = services.product_create(
            actor=actor,
            data={
                "sku": sku,
                "name": name,
                "unit": unit,
                "unit_cost": Decimal(cost),
                "tax_rate": reduced if low else standard,
            },
        )
        services.price_set(
            actor=actor, price_list=price_list, product=product, unit_price=Decimal(price)
        )
        products.append(product)
    ctx.say(f"{len(TAX_RATES)} tax rates, {len(products)} products in a default EUR price list.")

    # Quotes for open EUR opportunities late in the pipeline when there are some, else for
    # random accounts.
    opportunities = list(
        Opportunity.objects.filter(stage__kind=Stage.Kind.OPEN, currency="EUR")
        .select_related("account", "owner")
        .order_by("-stage__order", "id")[:QUOTES]
    )
    accounts = list(Account.objects.order_by("id")[:500])
    orders: list[Order] = []
    for i in range(QUOTES):
        opportunity = opportunities[i] if i < len(opportunities) else None
        account = opportunity.account if opportunity else rng.choice(accounts)
        data: dict[str, Any] = {"account": account, "price_list": price_list, "currency": "EUR"}
        if opportunity is not None:
            data["opportunity"] = opportunity
            if opportunity.owner is not None:
                data["owner"] = opportunity.owner
        quote = documents.quote_create(actor=actor, data=data, lines=_lines(rng, products))
        fate = i % 10  # 0-1 draft, 2-3 sent, 4 declined, 5-9 accepted
        if fate < 2:
            continue
        quote = documents.quote_send(actor=actor, quote=quote)
        if fate == 4:
            documents.quote_decline(actor=actor, quote=quote, reason="Went with a cheaper offer")
        elif fate >= 5:
            orders.append(documents.quote_accept(actor=actor, quote=quote))
    # Orders received directly (electronic orders come confirmed).
    for _ in range(6):
        orders.append(
            documents.order_create(
                actor=actor,
                data={"account": rng.choice(accounts), "price_list": price_list},
                lines=_lines(rng, products),
                confirm=True,
            )
        )
    for index, order in enumerate(orders):
        if order.status == Order.Status.DRAFT and index % 7 != 0:  # a few stay drafts
            order = documents.order_confirm(actor=actor, order=order)
        if order.status == Order.Status.CONFIRMED and index % 2 == 0:
            documents.order_fulfil(actor=actor, order=order)
    ctx.say(f"{QUOTES} quotes, {len(orders)} orders.")


def _lines(rng: Any, products: list[Product]) -> list[dict[str, Any]]:
    return [
        {"product": product, "quantity": Decimal(rng.choice([1, 1, 2, 3, 5, 10, 25]))}
        for product in rng.sample(products, rng.randint(1, 4))
    ]


register_extension("commerce", load)
