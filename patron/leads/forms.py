"""Forms of the leads UI: they parse and validate input only; services do the rest."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from patron.core.models import Team, User
from patron.customers.forms import UserChoiceField

from . import scoring
from .models import AssignmentRule, Lead, LeadActivity, ScoringRule

DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


def _users() -> Any:
    return User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")


class LeadForm(forms.Form):
    """New and edit lead."""

    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.CharField(max_length=254, required=False)
    phone = forms.CharField(max_length=50, required=False)
    company = forms.CharField(max_length=200, required=False)
    job_title = forms.CharField(max_length=150, required=False)
    country = forms.CharField(
        max_length=2, required=False, help_text="Two-letter ISO code, e.g. FR."
    )
    region = forms.CharField(max_length=100, required=False)
    employees = forms.IntegerField(min_value=0, max_value=10_000_000, required=False)
    annual_revenue = forms.DecimalField(
        max_digits=16, decimal_places=2, min_value=0, required=False
    )
    source = forms.ChoiceField(choices=Lead.Source.choices, initial=Lead.Source.MANUAL)
    campaign = forms.CharField(max_length=200, required=False)
    utm_source = forms.CharField(max_length=200, required=False, label="UTM source")
    utm_medium = forms.CharField(max_length=200, required=False, label="UTM medium")
    utm_campaign = forms.CharField(max_length=200, required=False, label="UTM campaign")
    status = forms.ChoiceField(
        choices=[c for c in Lead.Status.choices if c[0] != Lead.Status.CONVERTED],
        initial=Lead.Status.NEW,
    )
    disqualified_reason = forms.CharField(
        max_length=300, required=False, help_text="Required when disqualified."
    )
    owner = UserChoiceField(
        queryset=User.objects.none(),
        required=False,
        help_text="Left empty on a new lead, the assignment rules choose.",
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, lead: Lead | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = _users()
        if lead is not None:
            del self.fields["source"]

    def clean_country(self) -> str:
        return str(self.cleaned_data["country"]).strip().upper()

    def service_data(self, *, creating: bool) -> dict[str, Any]:
        data = {k: v for k, v in self.cleaned_data.items() if k != "version"}
        if creating:
            data.pop("source", None)
            if data.get("owner") is None:
                data.pop("owner", None)
        return data


class ActivityForm(forms.Form):
    kind = forms.ChoiceField(choices=LeadActivity.Kind.choices)
    occurred_at = forms.DateTimeField(required=False, widget=DATETIME, label="When")
    detail = forms.CharField(max_length=500, required=False)


class ConvertForm(forms.Form):
    """Use an existing contact/account (by id, among the proposed ones) or create new ones;
    optionally open an opportunity."""

    contact = forms.CharField(required=False)  # "new" or the id of an existing contact
    account = forms.CharField(required=False)  # "new", "none" or an existing account id
    create_opportunity = forms.BooleanField(required=False)
    opportunity_name = forms.CharField(max_length=200, required=False)
    amount = forms.DecimalField(max_digits=14, decimal_places=2, min_value=0, required=False)
    expected_close_date = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    version = forms.IntegerField(widget=forms.HiddenInput)

    def _choice(self, name: str, words: tuple[str, ...]) -> str | int:
        value = str(self.cleaned_data.get(name) or "new").strip()
        if value in words:
            return value
        if value.isdigit() and len(value) < 18:
            return int(value)
        raise forms.ValidationError("Choose one of the proposed records or a new one.")

    def clean_contact(self) -> str | int:
        return self._choice("contact", ("new",))

    def clean_account(self) -> str | int:
        return self._choice("account", ("new", "none"))


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A CSV file with a header line (UTF-8).")

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > 10 * 1024 * 1024:
            raise forms.ValidationError("The file is larger than 10 MB.")
        return upload


class ScoringRuleForm(forms.Form):
    name = forms.CharField(max_length=100, required=False)
    kind = forms.ChoiceField(choices=ScoringRule.Kind.choices)
    field = forms.ChoiceField(choices=scoring.field_choices())
    operator = forms.ChoiceField(choices=ScoringRule.Operator.choices)
    value = forms.CharField(
        max_length=300, required=False, help_text="For 'is one of', separate values by commas."
    )
    points = forms.IntegerField(min_value=-1000, max_value=1000)
    order = forms.IntegerField(min_value=0, max_value=100_000, initial=0)
    is_active = forms.BooleanField(required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class AssignmentRuleForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=AssignmentRule.Kind.choices)
    priority = forms.IntegerField(min_value=0, max_value=100_000, initial=100)
    countries = forms.CharField(max_length=300, required=False, help_text="e.g. FR, BE, LU")
    regions = forms.CharField(max_length=300, required=False)
    min_employees = forms.IntegerField(min_value=0, max_value=10_000_000, required=False)
    max_employees = forms.IntegerField(min_value=0, max_value=10_000_000, required=False)
    owner = UserChoiceField(queryset=User.objects.none(), required=False)
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    is_active = forms.BooleanField(required=False, initial=True)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ModelChoiceField, self.fields["owner"]).queryset = _users()
        cast(forms.ModelChoiceField, self.fields["team"]).queryset = Team.objects.order_by("name")
