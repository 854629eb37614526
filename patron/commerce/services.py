"""Every write to the catalogue (tax rates, products, price lists), credit limits and an
opportunity's product lines. Quotes and orders are in `documents.py`.

Each service checks the actor's permission (an `actor` of None is Patron itself), validates
with `full_clean()`, writes and records the audit event, in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from patron.core import audit
from patron.core.permissions import may, require, require_record
from patron.core.versioning import save_versioned
from patron.utils.fields import only_known
from patron.utils.money import ZERO, quantize

from .models import CreditLimit, OpportunityProduct, PriceList, PriceListItem, Product, TaxRate

TAX_RATE_FIELDS = ["name", "percent", "is_active"]
PRODUCT_FIELDS = ["sku", "name", "description", "unit", "unit_cost", "tax_rate", "is_active"]
PRICE_LIST_FIELDS = ["name", "currency", "is_default", "valid_from", "valid_until", "is_active"]
PRICE_ITEM_FIELDS = ["price_list", "product", "unit_price", "min_quantity"]
CREDIT_LIMIT_FIELDS = ["account", "amount", "currency"]
LINE_FIELDS = [
    "product",
    "description",
    "quantity",
    "unit",
    "unit_price",
    "discount_percent",
    "tax_rate",
    "unit_cost",
    "net_amount",
    "tax_amount",
]


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


# --- tax rates -------------------------------------------------------------------------------


@transaction.atomic
def tax_rate_create(*, actor: Any, data: Mapping[str, Any]) -> TaxRate:
    require(actor, "product.add")
    rate = TaxRate(**only_known(data, TAX_RATE_FIELDS))
    rate.full_clean()
    rate.save()
    audit.record_create(actor=actor, obj=rate, fields=TAX_RATE_FIELDS)
    return rate


@transaction.atomic
def tax_rate_update(*, actor: Any, tax_rate: TaxRate, data: Mapping[str, Any]) -> TaxRate:
    """Change a rate; lines already written keep the percent they were written with."""
    require(actor, "product.change")
    data = only_known(data, TAX_RATE_FIELDS)
    before = audit.snapshot(tax_rate, TAX_RATE_FIELDS)
    for name, value in data.items():
        setattr(tax_rate, name, value)
    tax_rate.full_clean()
    tax_rate.save()
    changes = audit.diff(before, audit.snapshot(tax_rate, TAX_RATE_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=tax_rate, changes=changes)
    return tax_rate


# --- products --------------------------------------------------------------------------------


def _clean_product(product: Product) -> None:
    product.sku = (product.sku or "").strip()
    product.name = (product.name or "").strip()
    product.unit = (product.unit or "").strip() or "unit"
    clash = (
        Product.objects.alias(sku_lower=Lower("sku"))
        .filter(sku_lower=product.sku.lower())
        .exclude(pk=product.pk)
    )
    if product.sku and clash.exists():
        raise ValidationError({"sku": ["Another product has this SKU."]})
    product.full_clean()
    retired = product.tax_rate is not None and not product.tax_rate.is_active
    if retired and (product.pk is None or product.tax_rate_id != _stored_tax_rate_id(product)):
        raise ValidationError({"tax_rate": ["This tax rate is no longer in use."]})


def _stored_tax_rate_id(product: Product) -> int | None:
    return Product.objects.filter(pk=product.pk).values_list("tax_rate_id", flat=True).first()


@transaction.atomic
def product_create(*, actor: Any, data: Mapping[str, Any]) -> Product:
    """Add a product to the catalogue; its SKU is unique whatever its case."""
    require(actor, "product.add")
    product = Product(**only_known(data, PRODUCT_FIELDS))
    _clean_product(product)
    product.save()
    audit.record_create(actor=actor, obj=product, fields=PRODUCT_FIELDS)
    return product


@transaction.atomic
def product_update(
    *, actor: Any, product: Product, expected_version: int | None, data: Mapping[str, Any]
) -> Product:
    """Change a product; quotes and orders keep the cost and prices they were written with."""
    require(actor, "product.change")
    data = only_known(data, PRODUCT_FIELDS)
    before = audit.snapshot(product, PRODUCT_FIELDS)
    for name, value in data.items():
        setattr(product, name, value)
    _clean_product(product)
    save_versioned(product, expected_version=expected_version, fields=list(data))
    changes = audit.diff(before, audit.snapshot(product, PRODUCT_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=product, changes=changes)
    return product


# --- price lists -----------------------------------------------------------------------------


@transaction.atomic
def price_list_create(*, actor: Any, data: Mapping[str, Any]) -> PriceList:
    require(actor, "pricelist.add")
    data = only_known(data, PRICE_LIST_FIELDS)
    price_list = PriceList(**{k: _upper(v) if k == "currency" else v for k, v in data.items()})
    price_list.full_clean()
    price_list.save()
    audit.record_create(actor=actor, obj=price_list, fields=PRICE_LIST_FIELDS)
    return price_list


@transaction.atomic
def price_list_update(
    *, actor: Any, price_list: PriceList, expected_version: int | None, data: Mapping[str, Any]
) -> PriceList:
    require(actor, "pricelist.change")
    data = only_known(data, PRICE_LIST_FIELDS)
    before = audit.snapshot(price_list, PRICE_LIST_FIELDS)
    for name, value in data.items():
        setattr(price_list, name, _upper(value) if name == "currency" else value)
    if before["currency"] != price_list.currency and price_list.items.exists():
        raise ValidationError(
            {"currency": ["A price list with prices keeps its currency; create another."]}
        )
    price_list.full_clean()
    save_versioned(price_list, expected_version=expected_version, fields=list(data))
    changes = audit.diff(before, audit.snapshot(price_list, PRICE_LIST_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=price_list, changes=changes)
    return price_list


@transaction.atomic
def price_set(
    *,
    actor: Any,
    price_list: PriceList,
    product: Product,
    unit_price: Decimal,
    min_quantity: Decimal = ZERO,
) -> PriceListItem:
    """Set the product's unit price in the price list from `min_quantity` on (create or
    replace that one price)."""
    require(actor, "pricelist.change")
    item = PriceListItem.objects.filter(
        price_list=price_list, product=product, min_quantity=min_quantity
    ).first()
    if item is None:
        item = PriceListItem(price_list=price_list, product=product, min_quantity=min_quantity)
        before = None
    else:
        before = audit.snapshot(item, PRICE_ITEM_FIELDS)
    item.unit_price = unit_price
    item.full_clean()
    item.save()
    if before is None:
        audit.record_create(actor=actor, obj=item, fields=PRICE_ITEM_FIELDS, parent=price_list)
    else:
        changes = audit.diff(before, audit.snapshot(item, PRICE_ITEM_FIELDS))
        if changes:
            audit.record(actor=actor, action="update", obj=item, changes=changes, parent=price_list)
    return item


@transaction.atomic
def price_remove(*, actor: Any, item: PriceListItem) -> None:
    require(actor, "pricelist.change")
    audit.record_delete(actor=actor, obj=item, fields=PRICE_ITEM_FIELDS, parent=item.price_list)
    item.delete()


# --- credit limits ---------------------------------------------------------------------------


@transaction.atomic
def credit_limit_set(
    *, actor: Any, account: Any, amount: Decimal | None, currency: str = ""
) -> CreditLimit | None:
    """Set (or, with `amount` None, remove) the account's credit limit. Whoever manages
    prices and terms (`pricelist.change`) sets it, on an account they may see."""
    require(actor, "pricelist.change")
    require_record(actor, account, "view")
    limit = CreditLimit.objects.filter(account=account).first()
    if amount is None:
        if limit is not None:
            audit.record_delete(actor=actor, obj=limit, fields=CREDIT_LIMIT_FIELDS, parent=account)
            limit.delete()
        return None
    before = audit.snapshot(limit, CREDIT_LIMIT_FIELDS) if limit is not None else None
    if limit is None:
        limit = CreditLimit(account=account)
    limit.amount = amount
    if currency:
        limit.currency = _upper(currency)
    limit.updated_at = timezone.now()
    limit.full_clean()
    limit.save()
    if before is None:
        audit.record_create(actor=actor, obj=limit, fields=CREDIT_LIMIT_FIELDS, parent=account)
    else:
        changes = audit.diff(before, audit.snapshot(limit, CREDIT_LIMIT_FIELDS))
        if changes:
            audit.record(actor=actor, action="update", obj=limit, changes=changes, parent=account)
    return limit


# --- opportunity products --------------------------------------------------------------------


def _sync_opportunity_amount(actor: Any, opportunity: Any) -> None:
    """An open opportunity's amount follows its product lines (their net total)."""
    from patron.sales import services as sales_services

    if opportunity.closed_at is not None:
        return
    lines = OpportunityProduct.objects.filter(opportunity=opportunity)
    total = quantize(sum((line.net_amount for line in lines), ZERO), opportunity.currency)
    if total != opportunity.amount:
        sales_services.opportunity_update(
            actor=actor, opportunity=opportunity, expected_version=None, data={"amount": total}
        )


def _fill_line(
    line: Any, currency: str, *, prices: Callable[[Product, Decimal], Decimal | None] | None = None
) -> None:
    """Defaults from the product (description, unit, tax rate, cost snapshot, price from the
    price list when none is given), then the computed amounts."""
    product = line.product
    if product is not None:
        line.description = (line.description or "").strip() or product.name
        line.unit = line.unit or product.unit
        if line.tax_rate is None:
            line.tax_rate = product.tax_rate.percent if product.tax_rate else ZERO
        line.unit_cost = product.unit_cost
        if line.unit_price is None and prices is not None:
            line.unit_price = prices(product, line.quantity or ZERO)
    if line.tax_rate is None:
        line.tax_rate = ZERO
    if line.discount_percent is None:
        line.discount_percent = ZERO
    if line.unit_price is None:
        raise ValidationError({"unit_price": ["Give a unit price: the price list has none."]})
    errors: dict[str, list[str]] = {}
    for name in ("discount_percent", "tax_rate"):
        value = getattr(line, name)
        if not isinstance(value, Decimal | int) or not 0 <= value <= 100:
            errors[name] = ["Give a percent between 0 and 100."]
    if not isinstance(line.unit_price, Decimal | int) or line.unit_price < 0:
        errors["unit_price"] = ["The unit price cannot be negative."]
    if errors:
        raise ValidationError(errors)
    try:
        amounts = line.amounts(currency)
    except (ValueError, TypeError) as exc:
        raise ValidationError(str(exc)) from None
    line.net_amount = amounts.net
    line.tax_amount = amounts.tax


@transaction.atomic
def opportunity_product_add(
    *, actor: Any, opportunity: Any, data: Mapping[str, Any]
) -> OpportunityProduct:
    """Add a product line to an opportunity; the opportunity's amount becomes the lines' net
    total (through the sales service, so it is audited there)."""
    require_record(actor, opportunity, "change")
    data = only_known(
        data, ["product", "description", "quantity", "unit_price", "discount_percent", "tax_rate"]
    )
    product = data.get("product")
    if product is not None and actor is not None and not may(actor, product, "view"):
        raise ValidationError({"product": ["There is no such product."]})
    if product is not None and not product.is_active:
        raise ValidationError({"product": ["This product is no longer sold."]})
    if product is None and not (data.get("description") or "").strip():
        raise ValidationError({"description": ["Choose a product or describe the line."]})
    values: dict[str, Any] = {
        "opportunity": opportunity,
        "product": product,
        "description": (data.get("description") or "").strip(),
        "quantity": data.get("quantity", Decimal(1)),
        "unit_price": data.get("unit_price"),
        "discount_percent": data.get("discount_percent", ZERO),
        "tax_rate": data.get("tax_rate"),
    }
    line = OpportunityProduct(**values)
    last = OpportunityProduct.objects.filter(opportunity=opportunity).order_by("-position").first()
    line.position = (last.position + 1) if last is not None else 0
    from . import selectors

    price_list = selectors.default_price_list(opportunity.currency)
    table = selectors.PriceTable(price_list, {product.pk} if product is not None else set())
    _fill_line(line, opportunity.currency, prices=table.price)
    line.full_clean()
    line.save()
    audit.record_create(actor=actor, obj=line, fields=LINE_FIELDS, parent=opportunity)
    _sync_opportunity_amount(actor, opportunity)
    return line


@transaction.atomic
def opportunity_product_remove(*, actor: Any, line: OpportunityProduct) -> None:
    opportunity = line.opportunity
    require_record(actor, opportunity, "change")
    audit.record_delete(actor=actor, obj=line, fields=LINE_FIELDS, parent=opportunity)
    line.delete()
    _sync_opportunity_amount(actor, opportunity)
