"""Every read of commerce data, through the permission chokepoint (`restrict`)."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.db.models.functions import Lower
from django.utils import timezone

from patron.customers.models import Account
from patron.utils.money import quantize

from .models import (
    CreditLimit,
    OpportunityProduct,
    Order,
    OrderLine,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
    TaxRate,
)

# --- catalogue -------------------------------------------------------------------------------


def tax_rates_visible(*, user: Any) -> QuerySet[TaxRate]:
    return TaxRate.objects.restrict(user, "view")


def products_visible(*, user: Any, action: str = "view") -> QuerySet[Product]:
    return Product.objects.restrict(user, action).select_related("tax_rate")


def product_get(*, user: Any, pk: int, action: str = "view") -> Product:
    return products_visible(user=user, action=action).get(pk=pk)


def product_by_sku(sku: str) -> Product | None:
    """The product whose SKU is `sku` whatever its case (no permission: callers check)."""
    # Compared as the unique index on lower(sku) is built, so the index answers.
    return (
        Product.objects.select_related("tax_rate")
        .alias(sku_lower=Lower("sku"))
        .filter(sku_lower=sku.strip().lower())
        .first()
    )


def price_lists_visible(*, user: Any, action: str = "view") -> QuerySet[PriceList]:
    return PriceList.objects.restrict(user, action)


def price_list_get(*, user: Any, pk: int, action: str = "view") -> PriceList:
    return price_lists_visible(user=user, action=action).get(pk=pk)


def price_list_items(*, price_list: PriceList) -> QuerySet[PriceListItem]:
    return price_list.items.select_related("product").order_by(
        "product__name", "product_id", "min_quantity", "id"
    )


def product_prices(*, user: Any, product: Product) -> QuerySet[PriceListItem]:
    """The product's prices in the price lists the user may see."""
    return (
        PriceListItem.objects.filter(
            product=product, price_list__in=price_lists_visible(user=user).values("pk")
        )
        .select_related("price_list")
        .order_by("price_list__currency", "price_list__name", "min_quantity", "id")
    )


def default_price_list(currency: str, today: datetime.date | None = None) -> PriceList | None:
    """The default price list of `currency` if it is valid today."""
    today = today or timezone.localdate()
    found = PriceList.objects.filter(currency=currency.upper(), is_default=True).first()
    return found if found is not None and found.is_valid_on(today) else None


def unit_price(price_list: PriceList, product: Product, quantity: Decimal) -> Decimal | None:
    """The product's unit price in `price_list` for `quantity`: the item with the highest
    minimum quantity not above it (volume prices); None when the list has no price for it."""
    item = (
        PriceListItem.objects.filter(
            price_list=price_list, product=product, min_quantity__lte=quantity
        )
        .order_by("-min_quantity", "-id")
        .first()
    )
    return item.unit_price if item is not None else None


class PriceTable:
    """A price list's prices for a set of products, read in one query: `price(product, qty)`
    answers as `unit_price` does, without a query per line."""

    def __init__(self, price_list: PriceList | None, product_ids: set[int]) -> None:
        self.steps: dict[int, list[tuple[Decimal, Decimal]]] = {}
        if price_list is None or not product_ids:
            return
        items = PriceListItem.objects.filter(
            price_list=price_list, product_id__in=product_ids
        ).order_by("-min_quantity", "-id")
        for item in items:
            self.steps.setdefault(item.product_id, []).append((item.min_quantity, item.unit_price))

    def price(self, product: Product, quantity: Decimal) -> Decimal | None:
        for minimum, price in self.steps.get(product.pk, []):
            if minimum <= quantity:
                return price
        return None


# --- credit ----------------------------------------------------------------------------------

# Functions adding to an account's exposure in a currency: billing registers unpaid invoices.
ExposureSource = Callable[[Account, str], Decimal]
_exposure_sources: list[ExposureSource] = []


def register_exposure_source(source: ExposureSource) -> None:
    """Count more than open orders in `credit_exposure` (billing: unpaid invoices)."""
    if source not in _exposure_sources:
        _exposure_sources.append(source)


OPEN_ORDER_STATUSES = (Order.Status.CONFIRMED, Order.Status.FULFILLED)


def open_orders_total(account: Account, currency: str) -> Decimal:
    """Gross total of the account's confirmed orders not yet invoiced, in `currency`."""
    total = (
        Order.objects.filter(account=account, currency=currency, status__in=OPEN_ORDER_STATUSES)
        .order_by()
        .aggregate(total=Sum("gross_total"))["total"]
    )
    return quantize(Decimal(total or 0), currency)


def credit_exposure(account: Account, currency: str | None = None) -> Decimal:
    """What the account owes or has committed to, in the credit limit's currency (or
    `currency`): open orders, plus whatever registered sources add (unpaid invoices)."""
    if currency is None:
        limit = CreditLimit.objects.filter(account=account).first()
        currency = limit.currency if limit is not None else None
    if currency is None:
        return Decimal(0)
    total = open_orders_total(account, currency)
    for source in _exposure_sources:
        total += source(account, currency)
    return quantize(total, currency)


def credit_limit_for(account: Account) -> CreditLimit | None:
    return CreditLimit.objects.filter(account=account).first()


# --- quotes and orders -----------------------------------------------------------------------


def quotes_visible(*, user: Any, action: str = "view") -> QuerySet[Quote]:
    return Quote.objects.restrict(user, action)


def quotes_for_list(queryset: QuerySet[Quote]) -> QuerySet[Quote]:
    return queryset.select_related("account", "contact", "owner", "opportunity")


def quote_get(*, user: Any, pk: int, action: str = "view") -> Quote:
    """One quote the user may act on, with its lines; DoesNotExist otherwise."""
    return (
        quotes_visible(user=user, action=action)
        .select_related("account", "contact", "opportunity", "price_list", "owner", "team")
        .prefetch_related(Prefetch("lines", queryset=QuoteLine.objects.select_related("product")))
        .get(pk=pk)
    )


def quote_filter(queryset: QuerySet[Quote], status: str | None) -> QuerySet[Quote]:
    """Filter by the status people see: "expired" is a sent quote past its validity."""
    today = timezone.localdate()
    if status == "expired":
        return queryset.filter(status=Quote.Status.SENT, valid_until__lt=today)
    if status == Quote.Status.SENT:
        return queryset.filter(status=Quote.Status.SENT, valid_until__gte=today)
    if status:
        return queryset.filter(status=status)
    return queryset


def orders_visible(*, user: Any, action: str = "view") -> QuerySet[Order]:
    return Order.objects.restrict(user, action)


def orders_for_list(queryset: QuerySet[Order]) -> QuerySet[Order]:
    return queryset.select_related("account", "contact", "owner", "quote")


def order_get(*, user: Any, pk: int, action: str = "view") -> Order:
    return (
        orders_visible(user=user, action=action)
        .select_related("account", "contact", "quote", "price_list", "owner", "team")
        .prefetch_related(Prefetch("lines", queryset=OrderLine.objects.select_related("product")))
        .get(pk=pk)
    )


def documents_for_record(
    *, user: Any, object_type: str, pk: int, limit: int = 10
) -> tuple[list[Quote], list[Order]]:
    """The latest quotes and orders of an account (or with a contact) the user may see."""
    key = Q(account_id=pk) if object_type == "account" else Q(contact_id=pk)
    quotes = list(quotes_for_list(quotes_visible(user=user).filter(key))[:limit])
    orders = list(orders_for_list(orders_visible(user=user).filter(key))[:limit])
    return quotes, orders


def opportunity_products(*, opportunity: Any) -> QuerySet[OpportunityProduct]:
    """The product lines of an opportunity the caller has already read through `restrict`."""
    return OpportunityProduct.objects.filter(opportunity=opportunity).select_related("product")
