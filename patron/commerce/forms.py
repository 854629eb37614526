"""Commerce forms: they parse and validate input only; the views hand the result to services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet

from .models import PriceList, Product, TaxRate

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _decimal(max_digits: int, places: int, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(max_digits=max_digits, decimal_places=places, **kwargs)


class ProductForm(forms.Form):
    sku = forms.CharField(label="SKU", max_length=64)
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    unit = forms.CharField(
        label="Unit of measure", max_length=20, initial="unit", help_text="unit, hour, kg…"
    )
    unit_cost = _decimal(14, 4, min_value=Decimal(0), initial=Decimal(0))
    tax_rate = forms.ModelChoiceField(
        queryset=TaxRate.objects.none(), required=False, empty_label="No tax"
    )
    is_active = forms.BooleanField(label="Active (can be sold)", required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, tax_rates: QuerySet[TaxRate], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tax_rate"].queryset = tax_rates  # type: ignore[attr-defined]

    def service_data(self) -> dict[str, Any]:
        return {k: v for k, v in self.cleaned_data.items() if k != "version"}


class PriceListForm(forms.Form):
    name = forms.CharField(max_length=100)
    currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$", max_length=3, help_text="ISO 4217 code, e.g. EUR."
    )
    is_default = forms.BooleanField(label="Default for its currency", required=False)
    valid_from = forms.DateField(required=False, widget=DATE)
    valid_until = forms.DateField(required=False, widget=DATE)
    is_active = forms.BooleanField(required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def service_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        data["currency"] = data["currency"].upper()
        return data


class PriceForm(forms.Form):
    """One price: a product in a price list from a minimum quantity."""

    price_list = forms.ModelChoiceField(queryset=PriceList.objects.none())
    product = forms.ModelChoiceField(queryset=Product.objects.none())
    unit_price = _decimal(14, 4, min_value=Decimal(0))
    min_quantity = _decimal(12, 3, min_value=Decimal(0), initial=Decimal(0), required=False)

    def __init__(
        self,
        *args: Any,
        price_lists: QuerySet[PriceList],
        products: QuerySet[Product],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["price_list"].queryset = price_lists  # type: ignore[attr-defined]
        self.fields["product"].queryset = products  # type: ignore[attr-defined]


class CreditLimitForm(forms.Form):
    amount = _decimal(
        14, 2, min_value=Decimal(0), required=False, help_text="Leave empty for no limit."
    )
    currency = forms.RegexField(regex=r"^[A-Za-z]{3}$", max_length=3)


class QuoteForm(forms.Form):
    account: forms.ModelChoiceField = forms.ModelChoiceField(queryset=PriceList.objects.none())
    contact: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=PriceList.objects.none(), required=False
    )
    price_list: forms.ModelChoiceField = forms.ModelChoiceField(
        queryset=PriceList.objects.none(),
        required=False,
        empty_label="The currency's default",
    )
    currency = forms.RegexField(
        regex=r"^[A-Za-z]{3}$", max_length=3, required=False, help_text="Empty: the price list's."
    )
    discount_percent = _decimal(
        5,
        2,
        label="Document discount (%)",
        min_value=Decimal(0),
        max_value=Decimal(100),
        initial=Decimal(0),
    )
    valid_until = forms.DateField(required=False, widget=DATE, help_text="Empty: in 30 days.")
    terms = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    notes = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        accounts: QuerySet,
        contacts: QuerySet,
        price_lists: QuerySet[PriceList],
        editing: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts  # type: ignore[attr-defined]
        self.fields["contact"].queryset = contacts  # type: ignore[attr-defined]
        self.fields["price_list"].queryset = price_lists  # type: ignore[attr-defined]
        if editing:
            self.fields["account"].disabled = True

    def service_data(self, *, creating: bool) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        if not data.get("currency"):
            data.pop("currency", None)
        else:
            data["currency"] = data["currency"].upper()
        if data.get("valid_until") is None:
            data.pop("valid_until", None)
        if not creating:
            data.pop("account", None)
        return data


class OrderForm(QuoteForm):
    """A draft order's header: a quote's without validity and terms, with the customer's
    purchase order number."""

    valid_until = None  # type: ignore[assignment]
    terms = None  # type: ignore[assignment]
    external_reference = forms.CharField(
        label="Customer reference", max_length=100, required=False, help_text="Their PO number."
    )
    field_order = [
        "account",
        "contact",
        "price_list",
        "currency",
        "discount_percent",
        "external_reference",
        "notes",
    ]


class LineForm(forms.Form):
    """One line of the quote builder: a product, or free text with a price."""

    product = forms.ModelChoiceField(
        queryset=Product.objects.none(), required=False, empty_label="Free text"
    )
    description = forms.CharField(max_length=500, required=False)
    quantity = _decimal(12, 3, min_value=Decimal("0.001"), initial=Decimal(1))
    unit_price = _decimal(
        14, 4, min_value=Decimal(0), required=False, help_text="Empty: the price list's."
    )
    discount_percent = _decimal(
        5, 2, min_value=Decimal(0), max_value=Decimal(100), initial=Decimal(0), required=False
    )
    tax_rate = _decimal(
        6, 3, min_value=Decimal(0), max_value=Decimal(100), required=False, label="Tax %"
    )

    def __init__(self, *args: Any, products: QuerySet[Product] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if products is not None:
            self.fields["product"].queryset = products  # type: ignore[attr-defined]

    def row(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("DELETE", None)
        for name in ("unit_price", "tax_rate"):
            if data.get(name) is None:
                data.pop(name, None)
        if data.get("discount_percent") is None:
            data["discount_percent"] = Decimal(0)
        return data


LineFormSet = forms.formset_factory(LineForm, extra=0, can_delete=True, max_num=500)


class OpportunityProductForm(forms.Form):
    product = forms.ModelChoiceField(queryset=Product.objects.none())
    quantity = _decimal(12, 3, min_value=Decimal("0.001"), initial=Decimal(1))
    unit_price = _decimal(
        14, 4, min_value=Decimal(0), required=False, help_text="Empty: the default price list's."
    )
    discount_percent = _decimal(
        5, 2, min_value=Decimal(0), max_value=Decimal(100), initial=Decimal(0), required=False
    )

    def __init__(self, *args: Any, products: QuerySet[Product], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = products  # type: ignore[attr-defined]

    def service_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        if data.get("unit_price") is None:
            data.pop("unit_price", None)
        if data.get("discount_percent") is None:
            data["discount_percent"] = Decimal(0)
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300, required=False)
    version = forms.IntegerField(required=False)
