"""Forms of the performance UI: they parse and validate input only; services do the rest."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError

from patron.sales.models import default_currency

from . import periods


class QuotaForm(forms.Form):
    """A new quota: for a rep or a team (one choice list), a period and an amount."""

    holder = forms.ChoiceField(label="Rep or team")
    period = forms.CharField(
        max_length=7,
        help_text="A year (2026), a quarter (2026-Q4) or a month (2026-11).",
    )
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    currency = forms.CharField(max_length=3, min_length=3, initial=default_currency)

    def __init__(self, *args: Any, users: Any, teams: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._users = {str(u.pk): u for u in users}
        self._teams = {str(t.pk): t for t in teams}
        choices: list[tuple[str, Any]] = [("", "Choose…")]
        if self._teams:
            choices.append(("Teams", [(f"team:{k}", t.name) for k, t in self._teams.items()]))
        choices.append(("Reps", [(f"user:{k}", u.display_name) for k, u in self._users.items()]))
        cast(forms.ChoiceField, self.fields["holder"]).choices = choices

    def clean_period(self) -> periods.Period:
        try:
            return periods.parse(self.cleaned_data["period"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["period"]) from None

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()

    def service_data(self) -> dict[str, Any]:
        kind, _, pk = self.cleaned_data["holder"].partition(":")
        period: periods.Period = self.cleaned_data["period"]
        data: dict[str, Any] = {
            "period_kind": period.kind,
            "period_start": period.start,
            "amount": self.cleaned_data["amount"],
            "currency": self.cleaned_data["currency"],
        }
        if kind == "team":
            data["team"] = self._teams[pk]
        else:
            data["owner"] = self._users[pk]
        return data


class QuotaEditForm(forms.Form):
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0)
    currency = forms.CharField(max_length=3, min_length=3)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    def clean_currency(self) -> str:
        return self.cleaned_data["currency"].strip().upper()


class CategoryForm(forms.Form):
    category = forms.ChoiceField(
        choices=[
            ("", "As its stage"),
            ("pipeline", "Pipeline"),
            ("best_case", "Best case"),
            ("commit", "Commit"),
            ("omitted", "Omitted"),
        ],
        required=False,
    )
