"""Forms of the import screens: they only parse input; services decide and write."""

from __future__ import annotations

from django import forms

from . import readers
from .models import Source

ENCODINGS = [
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8 with BOM"),
    ("utf-16", "UTF-16"),
    ("cp1252", "Windows-1252 (Western)"),
    ("latin-1", "ISO-8859-1 (Latin-1)"),
    ("cp1250", "Windows-1250 (Central European)"),
    ("iso8859-15", "ISO-8859-15"),
    ("mac_roman", "Mac Roman"),
]
DELIMITERS = [(",", "Comma ,"), (";", "Semicolon ;"), ("\t", "Tab"), ("|", "Pipe |")]


class SourceForm(forms.ModelForm):
    class Meta:
        model = Source
        fields = [
            "name",
            "entity",
            "kind",
            "description",
            "default_region",
            "trust_rank",
            "connection_env",
            "query",
            "high_water_column",
            "sync_every_minutes",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 2}),
            "query": forms.Textarea(attrs={"rows": 3, "placeholder": "customers  or  SELECT …"}),
            "default_region": forms.TextInput(attrs={"placeholder": "DE", "maxlength": 2}),
            "connection_env": forms.TextInput(attrs={"placeholder": "BILLING_DB_URL"}),
        }
        labels = {
            "entity": "Rows describe",
            "default_region": "Default phone country",
            "connection_env": "Connection URL environment variable",
            "high_water_column": "High-water mark column",
        }


class UploadForm(forms.Form):
    source = forms.ModelChoiceField(queryset=Source.objects.none(), required=False)
    new_source = forms.CharField(
        max_length=100,
        required=False,
        label="…or a new source named",
        widget=forms.TextInput(attrs={"placeholder": "e.g. Billing system"}),
    )
    entity = forms.ChoiceField(choices=Source.Entity.choices, required=False)
    default_region = forms.CharField(
        max_length=2,
        required=False,
        label="Default phone country",
        widget=forms.TextInput(attrs={"placeholder": "DE"}),
    )
    file = forms.FileField(
        help_text="CSV or text (any delimiter and encoding), Excel .xlsx, JSON, JSON Lines, vCard."
    )

    def __init__(self, *args, sources=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["source"].queryset = sources if sources is not None else Source.objects.none()

    def clean(self):
        data = super().clean()
        if not data.get("source") and not (data.get("new_source") or "").strip():
            self.add_error("source", "Choose a source, or name a new one.")
        return data


class FileOptionsForm(forms.Form):
    format = forms.ChoiceField(choices=list(readers.FORMATS.items()))
    encoding = forms.ChoiceField(choices=ENCODINGS, required=False)
    delimiter = forms.ChoiceField(choices=DELIMITERS, required=False)
    sheet = forms.ChoiceField(choices=[], required=False)
    has_header = forms.BooleanField(required=False, label="First row holds the column names")

    def __init__(self, *args, sheets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sheet"].choices = [(s, s) for s in sheets]
        encoding = (self.initial or {}).get("encoding") or ""
        if encoding and encoding not in dict(ENCODINGS):
            self.fields["encoding"].choices = [*ENCODINGS, (encoding, encoding)]
