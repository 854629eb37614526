"""The readiness report's upload form: it only parses input."""

from __future__ import annotations

from django import forms

from patron.integration.forms import DELIMITERS, ENCODINGS
from patron.integration.readers import FORMATS

from .assess import AssessOptions


class AssessForm(forms.Form):
    file = forms.FileField(
        label="File", help_text="CSV or text, Excel (.xlsx), JSON, JSON Lines or vCard."
    )
    entity = forms.ChoiceField(
        choices=[("contact", "People"), ("account", "Organisations")],
        initial="contact",
        required=False,
        label="Rows describe",
    )
    region = forms.CharField(
        max_length=2,
        required=False,
        label="Default phone country",
        help_text="For numbers without a country code; empty: the organisation's.",
        widget=forms.TextInput(attrs={"placeholder": "DE", "maxlength": 2}),
    )
    encoding = forms.ChoiceField(
        choices=[("", "Detect"), *ENCODINGS], required=False, label="Encoding"
    )
    delimiter = forms.ChoiceField(
        choices=[("", "Detect"), *DELIMITERS], required=False, label="Delimiter"
    )
    format = forms.ChoiceField(
        choices=[("", "Detect"), *FORMATS.items()], required=False, label="Format"
    )
    sheet = forms.CharField(
        max_length=100, required=False, label="Sheet", help_text="Workbooks: the largest."
    )

    def clean_region(self) -> str:
        region = (self.cleaned_data.get("region") or "").strip().upper()
        if region and not (len(region) == 2 and region.isalpha()):
            raise forms.ValidationError("A two-letter country code, such as DE.")
        return region

    def options(self) -> AssessOptions:
        data = self.cleaned_data
        return AssessOptions(
            entity=data["entity"] or "contact",
            region=data["region"],
            encoding=data["encoding"] or None,
            delimiter=data["delimiter"] or None,
            format=data["format"] or None,
            sheet=data["sheet"] or None,
        )
