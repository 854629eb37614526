"""Forms of the billing UI: they parse and validate input only; services do the rest."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms

from patron.customers.forms import AccountPickerField
from patron.customers.models import Contact

from .models import Payment, default_currency

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class InvoiceForm(forms.Form):
    """A draft's header: who is invoiced, in which currency, on which terms."""

    account = AccountPickerField()
    contact = forms.ModelChoiceField(
        queryset=Contact.objects.none(), required=False, label="Attention of"
    )
    currency = forms.CharField(max_length=3, min_length=3, initial=default_currency)
    issue_date = forms.DateField(
        required=False, widget=DATE, help_text="Left empty, the day it is issued."
    )
    payment_terms_days = forms.IntegerField(
        min_value=0, max_value=365, initial=30, label="Payment terms (days)"
    )
    discount_percent = forms.DecimalField(
        label="Document discount %",
        required=False,
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
    )
    notes = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=4000
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, accounts: Any, contacts: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(AccountPickerField, self.fields["account"]).queryset = accounts
        cast(forms.ModelChoiceField, self.fields["contact"]).queryset = contacts

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()

    def service_data(self) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        if data.get("discount_percent") is None:
            data["discount_percent"] = Decimal("0")
        return data


class LineForm(forms.Form):
    description = forms.CharField(max_length=500)
    sku = forms.CharField(max_length=64, required=False, label="SKU")
    quantity = forms.DecimalField(max_digits=12, decimal_places=3, min_value=Decimal("0.001"))
    unit_price = forms.DecimalField(max_digits=14, decimal_places=4, min_value=0)
    discount_percent = forms.DecimalField(
        required=False,
        label="Discount %",
        max_digits=5,
        decimal_places=2,
        min_value=0,
        max_value=100,
    )
    tax_rate = forms.DecimalField(
        required=False, label="Tax %", max_digits=6, decimal_places=3, min_value=0, max_value=100
    )
    unit_cost = forms.DecimalField(max_digits=14, decimal_places=4, min_value=0, required=False)

    def line_data(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        for name in ("discount_percent", "tax_rate", "unit_cost"):
            if data.get(name) is None:
                data[name] = Decimal("0")
        data["sku"] = data.get("sku") or ""
        return data


LineFormSet = forms.formset_factory(LineForm, extra=1, max_num=500, validate_max=True)


def line_rows(formset: Any) -> list[dict[str, Any]]:
    """The filled lines of a valid formset, in order (blank extra rows are skipped)."""
    return [form.line_data() for form in formset.forms if form.cleaned_data]


class PaymentForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    paid_on = forms.DateField(widget=DATE, label="Received on")
    method = forms.ChoiceField(choices=Payment.Method.choices)
    reference = forms.CharField(max_length=200, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=300)


class IssueForm(forms.Form):
    version = forms.IntegerField()
