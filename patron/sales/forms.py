"""Forms of the sales UI: they parse and validate input only; services do the rest."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from patron.core.models import User
from patron.customers.forms import AccountPickerField, UserChoiceField
from patron.customers.models import Account, Contact

from .models import Opportunity, Stage, default_currency

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OpportunityForm(forms.Form):
    """New and edit opportunity. The stage is chosen on create only; afterwards it moves."""

    name = forms.CharField(max_length=200)
    account = AccountPickerField()
    primary_contact = forms.ModelChoiceField(
        queryset=Contact.objects.none(), required=False, label="Primary contact"
    )
    stage = forms.ModelChoiceField(queryset=Stage.objects.none(), required=False)
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0, initial=0)
    currency = forms.CharField(max_length=3, min_length=3, initial=default_currency)
    expected_close_date = forms.DateField(required=False, widget=DATE)
    owner = UserChoiceField(queryset=User.objects.none(), required=False)
    next_step = forms.CharField(max_length=300, required=False)
    next_step_date = forms.DateField(required=False, widget=DATE, label="Next step date")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        *args: Any,
        user: Any,
        accounts: Any,
        contacts: Any,
        stages: Any,
        opportunity: Opportunity | None = None,
        validate_url: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        cast(AccountPickerField, self.fields["account"]).queryset = accounts
        cast(forms.ModelChoiceField, self.fields["primary_contact"]).queryset = contacts
        cast(forms.ModelChoiceField, self.fields["stage"]).queryset = stages
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = User.objects.filter(
            is_active=True
        ).order_by("first_name", "last_name", "username")
        self.fields["stage"].label_from_instance = (  # type: ignore[attr-defined]
            lambda s: f"{s.pipeline.name} · {s.name} ({s.probability} %)"
        )
        if validate_url:
            # Inline validation: a changed input asks the server, which answers its errors.
            for name, field in self.fields.items():
                if name not in ("account", "version"):
                    field.widget.attrs.update(
                        {
                            "hx-post": validate_url,
                            "hx-trigger": "change",
                            "hx-swap": "none",
                            "hx-include": "closest form",
                        }
                    )
        if opportunity is not None:
            del self.fields["stage"]
            account_field = cast(AccountPickerField, self.fields["account"])
            account_field.set_keep(opportunity.account)

    def clean_currency(self) -> str:
        return str(self.cleaned_data["currency"]).strip().upper()

    def service_data(self, *, creating: bool) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        if not creating or data.get("stage") is None:
            data.pop("stage", None)
        if data.get("owner") is None:
            data.pop("owner")
        return data


def contacts_for_account(contacts: Any, account: Account | None) -> Any:
    """The people at the account (if one is chosen) that the user may see."""
    if account is None:
        return contacts.none()
    return contacts.filter(relationships__account=account).distinct()


class MoveForm(forms.Form):
    stage = forms.IntegerField()
    version = forms.IntegerField()
    reason = forms.CharField(max_length=300, required=False)
