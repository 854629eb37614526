"""Forms of the import screens: they only parse input; services decide and write."""

from __future__ import annotations

from django import forms

from . import readers
from .models import Source

ENCODINGS = [
    ("utf-8", "UTF-8"),
    ("utf-8-sig", "UTF-8 with BOM"),
    ("utf-16", "UTF-16"),
    ("utf-16-le", "UTF-16 LE (no BOM)"),
    ("utf-16-be", "UTF-16 BE (no BOM)"),
    ("cp1252", "Windows-1252 (Western)"),
    ("latin-1", "ISO-8859-1 (Latin-1)"),
    ("cp1250", "Windows-1250 (Central European)"),
    ("iso8859-15", "ISO-8859-15"),
    ("mac_roman", "Mac Roman"),
]
DELIMITERS = [(",", "Comma ,"), (";", "Semicolon ;"), ("\t", "Tab"), ("|", "Pipe |")]
OTHER_DELIMITER = "other"
QUOTECHARS = [('"', 'Double quote "'), ("'", "Single quote '")]


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


class DelimiterWidget(forms.MultiWidget):
    """The usual delimiters to pick, and a box for any other character."""

    def __init__(self) -> None:
        choices = [*DELIMITERS, (OTHER_DELIMITER, "Other:")]
        other = forms.TextInput(attrs={"size": 2, "maxlength": 1, "aria-label": "Other delimiter"})
        # The select keeps the field's own name ("delimiter"); the box is "delimiter_other".
        super().__init__({"": forms.Select(choices=choices), "other": other})

    def decompress(self, value):
        if not value:
            return [None, ""]
        if value in dict(DELIMITERS):
            return [value, ""]
        return [OTHER_DELIMITER, value]


class DelimiterField(forms.MultiValueField):
    """One delimiter character: one of DELIMITERS, or the one typed beside "Other"."""

    widget = DelimiterWidget

    def __init__(self, **kwargs) -> None:
        fields = (
            forms.ChoiceField(choices=[*DELIMITERS, (OTHER_DELIMITER, "Other")], required=False),
            forms.CharField(strip=False, required=False),  # a space is a delimiter too
        )
        super().__init__(fields, require_all_fields=False, **kwargs)

    def compress(self, data_list):
        if not data_list or not data_list[0]:
            return ""
        choice, other = data_list[0], data_list[1] if len(data_list) > 1 else ""
        if choice != OTHER_DELIMITER:
            return choice
        if len(other or "") != 1:
            raise forms.ValidationError("Type the one character that separates the fields.")
        if other in "\r\n":
            raise forms.ValidationError("A line break cannot separate the fields.")
        return other


class FileOptionsForm(forms.Form):
    format = forms.ChoiceField(choices=list(readers.FORMATS.items()))
    encoding = forms.ChoiceField(choices=ENCODINGS, required=False)
    delimiter = DelimiterField(required=False)
    quotechar = forms.ChoiceField(
        choices=QUOTECHARS,
        required=False,
        label="Quote",
        help_text="The character around fields that hold the delimiter or a line break.",
    )
    sheet = forms.ChoiceField(choices=[], required=False)
    has_header = forms.BooleanField(required=False, label="First row holds the column names")

    def __init__(self, *args, sheets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sheet"].choices = [(s, s) for s in sheets]
        encoding = (self.initial or {}).get("encoding") or ""
        if encoding and encoding not in dict(ENCODINGS):
            self.fields["encoding"].choices = [*ENCODINGS, (encoding, encoding)]

    def clean(self):
        data = super().clean()
        if data.get("delimiter") and data.get("delimiter") == data.get("quotechar"):
            self.add_error("quotechar", "The quote character cannot be the delimiter.")
        return data
