"""Commerce API: the catalogue (tax rates, products, price lists and their prices), credit
limits, an opportunity's products, quotes (CRUD, send, accept, decline, PDF) and orders
(CRUD, confirm, fulfil, cancel), including electronic ordering: `POST /api/orders` with lines
by SKU, priced by the price list, checked against the credit limit, safe to retry with an
`Idempotency-Key` header.

A request the services refuse (an unknown SKU, a price that disagrees, a credit limit, a
transition its status does not allow) answers 422 with the field of each error
(`lines.2.sku`). Parse, call the selectors and services, shape — nothing else.

No `from __future__ import annotations` in this module: ninja reads the annotations of the
`@idempotent` operations through their wrapper, at definition time.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Status

from patron.core.idempotency import idempotent
from patron.core.models import Team, User
from patron.core.schemas import ERRORS, WRITE_ERRORS, PageParams
from patron.customers import selectors as customer_selectors
from patron.customers.models import Contact
from patron.sales.models import Opportunity
from patron.utils.cursor import paginate

from . import documents, pdf, selectors, services
from .models import OpportunityProduct, Product
from .schemas import (
    CreditLimitIn,
    CreditLimitOut,
    OpportunityProductIn,
    OpportunityProductOut,
    OrderIn,
    OrderOut,
    OrderPage,
    OrderPatch,
    OrderStatus,
    PriceIn,
    PriceListIn,
    PriceListItemOut,
    PriceListOut,
    PriceListPatch,
    PriceOut,
    ProductIn,
    ProductOut,
    ProductPage,
    ProductPatch,
    QuoteIn,
    QuoteOut,
    QuotePage,
    QuotePatch,
    QuoteStatus,
    TaxRateIn,
    TaxRateOut,
    TransitionIn,
)

router = Router()

MAX_ID = 2**63 - 1
REFERENCES = {
    "account_id": "account",
    "contact_id": "contact",
    "opportunity_id": "opportunity",
    "price_list_id": "price_list",
    "tax_rate_id": "tax_rate",
    "product_id": "product",
    "owner_id": "owner",
    "team_id": "team",
}


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,return-value]


def _error_body(exc: ValidationError) -> dict[str, Any]:
    from patron.api import _summary, error_body, validation_errors  # the root imports us

    back = {field: given for given, field in REFERENCES.items()}
    if hasattr(exc, "error_dict"):
        exc = ValidationError({back.get(k, k): v for k, v in exc.error_dict.items()})
    errors = validation_errors(exc)
    return error_body(_summary(errors), errors)


def _answer(call: Any) -> Any:
    """Run `call()`; a refusal becomes a 422 with the errors field by field."""
    try:
        return call()
    except ValidationError as exc:
        return Status(422, _error_body(exc))


def _resolve(user: User, data: dict[str, Any]) -> dict[str, Any]:
    """Ids to records the caller may see; an unknown one is an error on its field."""
    sources: dict[str, QuerySet] = {
        "account_id": customer_selectors.account_visible(user=user),
        "contact_id": Contact.objects.restrict(user, "view"),
        "opportunity_id": Opportunity.objects.restrict(user, "view"),
        "price_list_id": selectors.price_lists_visible(user=user),
        "tax_rate_id": selectors.tax_rates_visible(user=user),
        "product_id": selectors.products_visible(user=user),
        "owner_id": User.objects.all(),
        "team_id": Team.objects.all(),
    }
    result: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in data.items():
        if name not in sources:
            result[name] = value
            continue
        record = None if value is None else sources[name].filter(pk=value).first()
        if value is not None and record is None:
            errors[name] = [f"There is no {REFERENCES[name].replace('_', ' ')} with id {value}."]
        result[REFERENCES[name]] = record
    if errors:
        raise ValidationError(errors)
    return result


def _resolve_lines(user: User, lines: list[Any], *, by_sku: bool = False) -> list[dict]:
    """Line inputs to service rows: products by id or SKU, every unknown or inactive one
    reported on its line (`lines.3.sku`)."""
    products = selectors.products_visible(user=user)
    skus = {line.sku.strip().lower() for line in lines if getattr(line, "sku", None)}
    ids = {line.product_id for line in lines if getattr(line, "product_id", None)}
    found_by_sku: dict[str, Product] = {
        product.sku.lower(): product
        for product in products.annotate(sku_key=Lower("sku")).filter(sku_key__in=skus)
    }
    by_id: dict[int, Product] = {}
    if ids:
        by_id = {product.pk: product for product in products.filter(pk__in=ids)}
    rows = []
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        data = line.model_dump(exclude_unset=not by_sku)
        product = None
        sku = data.pop("sku", None)
        product_id = data.pop("product_id", None)
        if sku is not None and product_id is not None:
            errors[f"lines.{index}.sku"] = ["Give a product_id or a sku, not both."]
            continue
        if sku is not None:
            product = found_by_sku.get(sku.strip().lower())
            if product is None:
                errors[f"lines.{index}.sku"] = [f"There is no product with SKU {sku}."]
                continue
        elif product_id is not None:
            product = by_id.get(product_id)
            if product is None:
                errors[f"lines.{index}.product_id"] = [f"There is no product with id {product_id}."]
                continue
        if product is not None and not product.is_active:
            field = "sku" if sku is not None else "product_id"
            errors[f"lines.{index}.{field}"] = [f"{product.sku} is no longer sold."]
            continue
        if "tax_rate" in data and data["tax_rate"] is None:
            data.pop("tax_rate")
        if "unit_price" in data and data["unit_price"] is None:
            data.pop("unit_price")
        if data.get("expected_unit_price", 0) is None:
            data.pop("expected_unit_price")
        rows.append({"product": product, **data})
    if errors:
        raise ValidationError(errors)
    return rows


def _page(queryset: QuerySet, params: PageParams, ordering: list[str]) -> dict[str, Any]:
    page = paginate(queryset, ordering=ordering, cursor=params.cursor, limit=params.limit)
    return {
        "results": page.items,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }


# --- tax rates -------------------------------------------------------------------------------


@router.get("/tax-rates", response={200: list[TaxRateOut], **ERRORS}, tags=["Products"])
def tax_rate_list(request: HttpRequest):
    return list(selectors.tax_rates_visible(user=_actor(request)))


@router.post("/tax-rates", response={201: TaxRateOut, **ERRORS}, tags=["Products"])
@idempotent
def tax_rate_create(request: HttpRequest, payload: TaxRateIn):
    """Add a tax rate (needs `product.add`)."""

    def call():
        rate = services.tax_rate_create(actor=_actor(request), data=payload.model_dump())
        return Status(201, rate)

    return _answer(call)


# --- products --------------------------------------------------------------------------------


class ProductListParams(PageParams):
    q: str | None = Field(None, max_length=100, description="In the SKU or the name.")
    active: bool | None = Field(None, description="Only active (true) or inactive (false).")


@router.get("/products", response={200: ProductPage, **ERRORS}, tags=["Products"])
def product_list(request: HttpRequest, params: Query[ProductListParams]):
    """The catalogue by name, one page at a time."""
    queryset = selectors.products_visible(user=_actor(request))
    if params.q:
        queryset = queryset.filter(Q(sku__icontains=params.q) | Q(name__icontains=params.q))
    if params.active is not None:
        queryset = queryset.filter(is_active=params.active)
    return _page(queryset, params, ["name", "id"])


@router.post("/products", response={201: ProductOut, **ERRORS}, tags=["Products"])
@idempotent
def product_create(request: HttpRequest, payload: ProductIn):
    """Add a product (needs `product.add`); the SKU is unique whatever its case."""
    user = _actor(request)

    def call():
        data = _resolve(user, payload.model_dump())
        product = services.product_create(actor=user, data=data)
        return Status(201, selectors.product_get(user=user, pk=product.pk))

    return _answer(call)


@router.get("/products/{product_id}", response={200: ProductOut, **ERRORS}, tags=["Products"])
def product_detail(request: HttpRequest, product_id: int):
    return selectors.product_get(user=_actor(request), pk=product_id)


@router.patch(
    "/products/{product_id}", response={200: ProductOut, **WRITE_ERRORS}, tags=["Products"]
)
def product_update(request: HttpRequest, product_id: int, payload: ProductPatch):
    """Change a product; send the `version` you read (a stale one answers 409)."""
    user = _actor(request)
    product = selectors.product_get(user=user, pk=product_id)
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    for name in ("sku", "name", "description", "unit", "unit_cost", "is_active"):
        if name in data and data[name] is None:
            return Status(422, _error_body(ValidationError({name: ["May not be null."]})))

    def call():
        services.product_update(
            actor=user,
            product=product,
            expected_version=payload.version,
            data=_resolve(user, data),
        )
        return selectors.product_get(user=user, pk=product_id)

    return _answer(call)


@router.get(
    "/products/{product_id}/prices", response={200: list[PriceOut], **ERRORS}, tags=["Products"]
)
def product_prices(request: HttpRequest, product_id: int):
    """The product's prices in every price list you may see."""
    user = _actor(request)
    product = selectors.product_get(user=user, pk=product_id)
    return list(selectors.product_prices(user=user, product=product))


# --- price lists -----------------------------------------------------------------------------


@router.get("/price-lists", response={200: list[PriceListOut], **ERRORS}, tags=["Price lists"])
def price_list_list(request: HttpRequest):
    return list(selectors.price_lists_visible(user=_actor(request)))


@router.post("/price-lists", response={201: PriceListOut, **ERRORS}, tags=["Price lists"])
@idempotent
def price_list_create(request: HttpRequest, payload: PriceListIn):
    """Add a price list (needs `pricelist.add`); one may be the default of its currency."""

    def call():
        return Status(
            201, services.price_list_create(actor=_actor(request), data=payload.model_dump())
        )

    return _answer(call)


@router.get(
    "/price-lists/{price_list_id}", response={200: PriceListOut, **ERRORS}, tags=["Price lists"]
)
def price_list_detail(request: HttpRequest, price_list_id: int):
    return selectors.price_list_get(user=_actor(request), pk=price_list_id)


@router.patch(
    "/price-lists/{price_list_id}",
    response={200: PriceListOut, **WRITE_ERRORS},
    tags=["Price lists"],
)
def price_list_update(request: HttpRequest, price_list_id: int, payload: PriceListPatch):
    user = _actor(request)
    price_list = selectors.price_list_get(user=user, pk=price_list_id)
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    for name in ("name", "currency", "is_default", "is_active"):
        if name in data and data[name] is None:
            return Status(422, _error_body(ValidationError({name: ["May not be null."]})))

    def call():
        return services.price_list_update(
            actor=user, price_list=price_list, expected_version=payload.version, data=data
        )

    return _answer(call)


@router.get(
    "/price-lists/{price_list_id}/items",
    response={200: list[PriceListItemOut], **ERRORS},
    tags=["Price lists"],
)
def price_list_items(request: HttpRequest, price_list_id: int):
    price_list = selectors.price_list_get(user=_actor(request), pk=price_list_id)
    return list(selectors.price_list_items(price_list=price_list))


@router.post(
    "/price-lists/{price_list_id}/items",
    response={200: PriceListItemOut, **ERRORS},
    tags=["Price lists"],
)
@idempotent
def price_set(request: HttpRequest, price_list_id: int, payload: PriceIn):
    """Set a product's unit price in the list from a minimum quantity (creates or replaces)."""
    user = _actor(request)
    price_list = selectors.price_list_get(user=user, pk=price_list_id)

    def call():
        product = _resolve(user, {"product_id": payload.product_id})["product"]
        return services.price_set(
            actor=user,
            price_list=price_list,
            product=product,
            unit_price=payload.unit_price,
            min_quantity=payload.min_quantity,
        )

    return _answer(call)


@router.delete(
    "/price-lists/{price_list_id}/items/{item_id}",
    response={204: None, **ERRORS},
    tags=["Price lists"],
)
def price_remove(request: HttpRequest, price_list_id: int, item_id: int):
    user = _actor(request)
    price_list = selectors.price_list_get(user=user, pk=price_list_id)
    services.price_remove(actor=user, item=price_list.items.get(pk=item_id))
    return Status(204, None)


# --- credit limits ---------------------------------------------------------------------------


def _credit_out(account: Any) -> dict[str, Any]:
    limit = selectors.credit_limit_for(account)
    return {
        "account_id": account.pk,
        "amount": limit.amount if limit else None,
        "currency": limit.currency if limit else None,
        "exposure": selectors.credit_exposure(account),
    }


@router.get(
    "/accounts/{account_id}/credit-limit",
    response={200: CreditLimitOut, **ERRORS},
    tags=["Orders"],
)
def credit_limit_detail(request: HttpRequest, account_id: int):
    """The account's credit limit and what counts against it now."""
    user = _actor(request)
    account = customer_selectors.account_visible(user=user).get(pk=account_id)
    return _credit_out(account)


@router.put(
    "/accounts/{account_id}/credit-limit",
    response={200: CreditLimitOut, **ERRORS},
    tags=["Orders"],
)
def credit_limit_set(request: HttpRequest, account_id: int, payload: CreditLimitIn):
    """Set the account's credit limit (needs `pricelist.change`); `amount: null` removes it."""
    user = _actor(request)
    account = customer_selectors.account_visible(user=user).get(pk=account_id)

    def call():
        services.credit_limit_set(
            actor=user, account=account, amount=payload.amount, currency=payload.currency
        )
        return _credit_out(account)

    return _answer(call)


# --- opportunity products --------------------------------------------------------------------


@router.get(
    "/opportunities/{opportunity_id}/products",
    response={200: list[OpportunityProductOut], **ERRORS},
    tags=["Opportunities"],
)
def opportunity_product_list(request: HttpRequest, opportunity_id: int):
    opportunity = Opportunity.objects.restrict(_actor(request), "view").get(pk=opportunity_id)
    return list(selectors.opportunity_products(opportunity=opportunity))


@router.post(
    "/opportunities/{opportunity_id}/products",
    response={201: OpportunityProductOut, **ERRORS},
    tags=["Opportunities"],
)
@idempotent
def opportunity_product_add(
    request: HttpRequest, opportunity_id: int, payload: OpportunityProductIn
):
    """Add a product line; the opportunity's amount becomes its lines' net total."""
    user = _actor(request)
    opportunity = Opportunity.objects.restrict(user, "view").get(pk=opportunity_id)

    def call():
        data = _resolve(user, payload.model_dump(exclude_unset=True))
        for name in ("unit_price", "tax_rate"):
            if name in data and data[name] is None:
                data.pop(name)
        line = services.opportunity_product_add(actor=user, opportunity=opportunity, data=data)
        return Status(201, line)

    return _answer(call)


@router.delete(
    "/opportunities/{opportunity_id}/products/{line_id}",
    response={204: None, **ERRORS},
    tags=["Opportunities"],
)
def opportunity_product_remove(request: HttpRequest, opportunity_id: int, line_id: int):
    user = _actor(request)
    opportunity = Opportunity.objects.restrict(user, "view").get(pk=opportunity_id)
    line = OpportunityProduct.objects.get(opportunity=opportunity, pk=line_id)
    services.opportunity_product_remove(actor=user, line=line)
    return Status(204, None)


# --- quotes ----------------------------------------------------------------------------------


class QuoteListParams(PageParams):
    status: QuoteStatus | None = None
    account: int | None = Field(None, ge=1, le=MAX_ID)
    opportunity: int | None = Field(None, ge=1, le=MAX_ID)
    owner: str | None = Field(None, max_length=20, description="A user id, or `me`.")


def _owner_filter(user: User, value: str | None) -> Q:
    if not value:
        return Q()
    if value == "me":
        return Q(owner=user)
    if not value.isdigit() or len(value) > 18:
        raise ValidationError({"owner": ["Give a user id or `me`."]})
    return Q(owner_id=int(value))


@router.get("/quotes", response={200: QuotePage, **ERRORS}, tags=["Quotes"])
def quote_list(request: HttpRequest, params: Query[QuoteListParams]):
    """Quotes you may see, newest first; `status=expired` finds sent quotes past validity."""
    user = _actor(request)
    queryset = selectors.quote_filter(selectors.quotes_visible(user=user), params.status)
    if params.account:
        queryset = queryset.filter(account_id=params.account)
    if params.opportunity:
        queryset = queryset.filter(opportunity_id=params.opportunity)
    queryset = queryset.filter(_owner_filter(user, params.owner))
    return _page(selectors.quotes_for_list(queryset), params, ["-created_at", "-id"])


@router.post("/quotes", response={201: QuoteOut, **ERRORS}, tags=["Quotes"])
@idempotent
def quote_create(request: HttpRequest, payload: QuoteIn):
    """Create a draft quote. Without `lines`, a quote for an opportunity copies its
    products; a line's price defaults from the price list, its tax rate from the product."""
    user = _actor(request)

    def call():
        data = payload.model_dump(exclude={"lines"})
        for name in ("currency", "valid_until"):
            if data.get(name) is None:
                data.pop(name)
        lines = _resolve_lines(user, payload.lines) if payload.lines is not None else None
        quote = documents.quote_create(actor=user, data=_resolve(user, data), lines=lines)
        return Status(201, selectors.quote_get(user=user, pk=quote.pk))

    return _answer(call)


@router.get("/quotes/{quote_id}", response={200: QuoteOut, **ERRORS}, tags=["Quotes"])
def quote_detail(request: HttpRequest, quote_id: int):
    return selectors.quote_get(user=_actor(request), pk=quote_id)


@router.patch("/quotes/{quote_id}", response={200: QuoteOut, **WRITE_ERRORS}, tags=["Quotes"])
def quote_update(request: HttpRequest, quote_id: int, payload: QuotePatch):
    """Change a draft quote; `lines`, when sent, replace all its lines."""
    user = _actor(request)
    quote = selectors.quote_get(user=user, pk=quote_id)
    data = payload.model_dump(exclude_unset=True, exclude={"version", "lines"})
    for name in ("currency", "discount_percent", "valid_until", "terms", "notes"):
        if name in data and data[name] is None:
            return Status(422, _error_body(ValidationError({name: ["May not be null."]})))
    if "lines" in payload.model_fields_set and payload.lines is None:
        return Status(422, _error_body(ValidationError({"lines": ["May not be null."]})))

    def call():
        lines = _resolve_lines(user, payload.lines) if payload.lines is not None else None
        documents.quote_update(
            actor=user,
            quote=quote,
            expected_version=payload.version,
            data=_resolve(user, data),
            lines=lines,
        )
        return selectors.quote_get(user=user, pk=quote_id)

    return _answer(call)


@router.delete("/quotes/{quote_id}", response={204: None, **ERRORS}, tags=["Quotes"])
def quote_delete(request: HttpRequest, quote_id: int):
    """Delete a draft quote."""
    user = _actor(request)
    quote = selectors.quote_get(user=user, pk=quote_id)

    def call():
        documents.quote_delete(actor=user, quote=quote)
        return Status(204, None)

    return _answer(call)


@router.post("/quotes/{quote_id}/send", response={200: QuoteOut, **WRITE_ERRORS}, tags=["Quotes"])
@idempotent
def quote_send(request: HttpRequest, quote_id: int, payload: TransitionIn | None = None):
    """Mark a draft quote as sent: it can no longer be changed."""
    user = _actor(request)
    quote = selectors.quote_get(user=user, pk=quote_id)
    version = payload.version if payload else None

    def call():
        documents.quote_send(actor=user, quote=quote, expected_version=version)
        return selectors.quote_get(user=user, pk=quote_id)

    return _answer(call)


@router.post("/quotes/{quote_id}/accept", response={200: OrderOut, **WRITE_ERRORS}, tags=["Quotes"])
@idempotent
def quote_accept(request: HttpRequest, quote_id: int, payload: TransitionIn | None = None):
    """The customer accepted: answers the order created from the quote (a draft), and the
    quote's open opportunity is won."""
    user = _actor(request)
    quote = selectors.quote_get(user=user, pk=quote_id)
    version = payload.version if payload else None

    def call():
        order = documents.quote_accept(actor=user, quote=quote, expected_version=version)
        return selectors.order_get(user=user, pk=order.pk)

    return _answer(call)


@router.post(
    "/quotes/{quote_id}/decline", response={200: QuoteOut, **WRITE_ERRORS}, tags=["Quotes"]
)
@idempotent
def quote_decline(request: HttpRequest, quote_id: int, payload: TransitionIn | None = None):
    """The customer declined a sent quote; `reason` says why."""
    user = _actor(request)
    quote = selectors.quote_get(user=user, pk=quote_id)

    def call():
        documents.quote_decline(
            actor=user,
            quote=quote,
            reason=payload.reason if payload else "",
            expected_version=payload.version if payload else None,
        )
        return selectors.quote_get(user=user, pk=quote_id)

    return _answer(call)


@router.get(
    "/quotes/{quote_id}/pdf",
    response={200: None, **ERRORS},
    tags=["Quotes"],
    openapi_extra={
        "responses": {"200": {"content": {"application/pdf": {"schema": {"type": "string"}}}}}
    },
)
def quote_pdf(request: HttpRequest, quote_id: int):
    """The quote as a PDF the customer can receive."""
    quote = selectors.quote_get(user=_actor(request), pk=quote_id)
    return _pdf_response(pdf.quote_pdf(quote), f"{quote.number}.pdf")


def _pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# --- orders ----------------------------------------------------------------------------------


class OrderListParams(PageParams):
    status: OrderStatus | None = None
    account: int | None = Field(None, ge=1, le=MAX_ID)
    owner: str | None = Field(None, max_length=20, description="A user id, or `me`.")
    external_reference: str | None = Field(None, max_length=100)


@router.get("/orders", response={200: OrderPage, **ERRORS}, tags=["Orders"])
def order_list(request: HttpRequest, params: Query[OrderListParams]):
    """Orders you may see, newest first."""
    user = _actor(request)
    queryset = selectors.orders_visible(user=user)
    if params.status:
        queryset = queryset.filter(status=params.status)
    if params.account:
        queryset = queryset.filter(account_id=params.account)
    if params.external_reference:
        queryset = queryset.filter(external_reference=params.external_reference)
    queryset = queryset.filter(_owner_filter(user, params.owner))
    return _page(selectors.orders_for_list(queryset), params, ["-created_at", "-id"])


@router.post("/orders", response={201: OrderOut, **ERRORS}, tags=["Orders"])
@idempotent
def order_create(request: HttpRequest, payload: OrderIn):
    """Place an order: lines by SKU and quantity, priced by the price list (`price_list_id`,
    else the default list of `currency`). Refused with 422, naming the line, when a SKU is
    unknown or no longer sold, a line's `expected_unit_price` disagrees with the list, the
    price list is in another currency, or the order takes the account past its credit
    limit. Send an `Idempotency-Key` header to retry safely: a replay answers the same
    order and creates nothing."""
    user = _actor(request)

    def call():
        data = payload.model_dump(exclude={"lines", "confirm"})
        if data.get("currency") is None:
            data.pop("currency")
        lines = _resolve_lines(user, payload.lines, by_sku=True)
        order = documents.order_create(
            actor=user,
            data=_resolve(user, data),
            lines=lines,
            confirm=payload.confirm,
            prices_from_list=True,
        )
        return Status(201, selectors.order_get(user=user, pk=order.pk))

    return _answer(call)


@router.get("/orders/{order_id}", response={200: OrderOut, **ERRORS}, tags=["Orders"])
def order_detail(request: HttpRequest, order_id: int):
    return selectors.order_get(user=_actor(request), pk=order_id)


@router.patch("/orders/{order_id}", response={200: OrderOut, **WRITE_ERRORS}, tags=["Orders"])
def order_update(request: HttpRequest, order_id: int, payload: OrderPatch):
    """Change a draft order's contact, reference, notes or document discount."""
    user = _actor(request)
    order = selectors.order_get(user=user, pk=order_id)
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    for name in ("external_reference", "notes", "discount_percent"):
        if name in data and data[name] is None:
            return Status(422, _error_body(ValidationError({name: ["May not be null."]})))

    def call():
        documents.order_update(
            actor=user, order=order, expected_version=payload.version, data=_resolve(user, data)
        )
        return selectors.order_get(user=user, pk=order_id)

    return _answer(call)


def _order_transition(request: HttpRequest, order_id: int, payload: Any, service: Any) -> Any:
    user = _actor(request)
    order = selectors.order_get(user=user, pk=order_id)
    kwargs: dict[str, Any] = {"expected_version": payload.version if payload else None}
    if service is documents.order_cancel:
        kwargs["reason"] = payload.reason if payload else ""

    def call():
        service(actor=user, order=order, **kwargs)
        return selectors.order_get(user=user, pk=order_id)

    return _answer(call)


@router.post(
    "/orders/{order_id}/confirm", response={200: OrderOut, **WRITE_ERRORS}, tags=["Orders"]
)
@idempotent
def order_confirm(request: HttpRequest, order_id: int, payload: TransitionIn | None = None):
    """Confirm a draft order (refused past the account's credit limit)."""
    return _order_transition(request, order_id, payload, documents.order_confirm)


@router.post("/orders/{order_id}/fulfil", response={200: OrderOut, **WRITE_ERRORS}, tags=["Orders"])
@idempotent
def order_fulfil(request: HttpRequest, order_id: int, payload: TransitionIn | None = None):
    """Mark a confirmed order as fulfilled (delivered)."""
    return _order_transition(request, order_id, payload, documents.order_fulfil)


@router.post("/orders/{order_id}/cancel", response={200: OrderOut, **WRITE_ERRORS}, tags=["Orders"])
@idempotent
def order_cancel(request: HttpRequest, order_id: int, payload: TransitionIn | None = None):
    """Cancel a draft or confirmed order; `reason` says why."""
    return _order_transition(request, order_id, payload, documents.order_cancel)


@router.get(
    "/orders/{order_id}/pdf",
    response={200: None, **ERRORS},
    tags=["Orders"],
    openapi_extra={
        "responses": {"200": {"content": {"application/pdf": {"schema": {"type": "string"}}}}}
    },
)
def order_pdf(request: HttpRequest, order_id: int):
    """The order confirmation as a PDF."""
    order = selectors.order_get(user=_actor(request), pk=order_id)
    return _pdf_response(pdf.order_pdf(order), f"{order.number}.pdf")
