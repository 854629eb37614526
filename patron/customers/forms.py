"""Forms of the customer UI. They only parse and validate input; services do the writes."""

from __future__ import annotations

from typing import Any, cast

from django import forms

from patron.core.models import CustomFieldDefinition, Team, User

from .models import Account, EmailAddress, LifecycleStage, PhoneNumber, PostalAddress

FieldType = CustomFieldDefinition.FieldType


class AccountPicker(forms.Widget):
    """Search-as-you-type account picker: a hidden input carries the id, a text input asks
    `/accounts/lookup/` for at most ten matches. Never renders an option per account."""

    template_name = "customers/partials/account_picker.html"
    queryset: Any = None  # set by AccountPickerField: the accounts the user may pick

    def __init__(self, attrs=None, *, exclude_pk: int | None = None) -> None:
        super().__init__(attrs)
        self.exclude_pk = exclude_pk
        self.kept: Account | None = None

    def id_for_label(self, id_: str) -> str:
        return f"{id_}_search" if id_ else id_

    def format_value(self, value: Any) -> str:
        return "" if value is None else str(value)

    def chosen_name(self, value: str) -> str:
        """The name shown for the current value: one query, only when there is a value."""
        if not value or not value.isdigit():
            return ""
        if self.kept is not None and str(self.kept.pk) == value:
            return picker_label(self.queryset, self.kept)
        names = list(self.queryset.filter(pk=int(value)).values_list("name", flat=True)[:1])
        return names[0] if names else ""

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        value = context["widget"]["value"]
        shown = self.chosen_name(value)  # an id the user may not pick shows (and keeps) nothing
        input_id = context["widget"]["attrs"].get("id") or f"id_{name}"
        context.update(
            picker_context(
                name=name,
                value=value if shown else "",
                name_shown=shown,
                exclude_pk=self.exclude_pk,
                input_id=input_id,
            )
        )
        return context


def picker_label(queryset, account: Account) -> str:
    """An account's name if the user may see it, else only its id (a kept, hidden parent)."""
    if queryset.filter(pk=account.pk).exists():
        return account.name
    return f"Account #{account.pk}"


def picker_context(
    *, name: str, value: str, name_shown: str, exclude_pk: int | None, input_id: str
) -> dict[str, Any]:
    """What the picker template needs; shared by the widget and the lookup views."""
    return {
        "picker": {
            "name": name,
            "value": value,
            "chosen": name_shown,
            "exclude": exclude_pk or "",
            "id": input_id,
        }
    }


class AccountPickerField(forms.ModelChoiceField):
    """An account chosen through `AccountPicker`. The queryset (the user's visible accounts)
    still validates the submitted id, so a forged id of an invisible account is refused.
    `keep` lets an account form keep its current parent even if the user cannot see it."""

    widget = AccountPicker

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Account.objects.none(), **kwargs)
        self.keep: Account | None = None

    def _set_queryset(self, queryset) -> None:
        # _set_queryset/_get_queryset/_queryset are private Django API, absent from the stubs.
        super()._set_queryset(queryset)  # type: ignore[misc]
        widget = cast(AccountPicker, self.widget)
        widget.queryset = self._queryset  # type: ignore[attr-defined]
        widget.choices = []  # type: ignore[attr-defined]  # the picker renders no options

    queryset = property(forms.ModelChoiceField._get_queryset, _set_queryset)  # type: ignore[attr-defined]

    def set_keep(self, account: Account | None) -> None:
        self.keep = account
        self.widget.kept = account

    def to_python(self, value: Any) -> Any:
        if (
            self.keep is not None
            and value not in self.empty_values
            and str(value) == str(self.keep.pk)
        ):
            return self.keep
        return super().to_python(value)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


def custom_form_field(definition: CustomFieldDefinition) -> forms.Field:
    """A form field for one custom-field definition. Required-ness is checked by the service,
    so its message appears beside this field like any other service error."""
    common: dict[str, Any] = {
        "label": definition.label,
        "required": False,
        "help_text": definition.help_text,
    }
    kind = definition.field_type
    if kind == FieldType.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if kind == FieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == FieldType.CHOICE:
        choices = [("", "—")] + [(str(c), str(c)) for c in definition.choices]
        return forms.ChoiceField(choices=choices, **common)
    if kind == FieldType.BOOLEAN:
        return forms.ChoiceField(choices=[("", "—"), ("true", "Yes"), ("false", "No")], **common)
    return forms.CharField(max_length=1000, **common)


def _initial_custom(definition: CustomFieldDefinition, value: Any) -> Any:
    if definition.field_type == FieldType.BOOLEAN and isinstance(value, bool):
        return "true" if value else "false"
    return value


class _RecordForm(forms.Form):
    """Fields shared by contacts and accounts, plus one `cf_<name>` per custom field."""

    object_type = ""

    lifecycle_stage = forms.ChoiceField(choices=LifecycleStage.choices, label="Lifecycle stage")
    owner = UserChoiceField(
        queryset=User.objects.filter(is_active=True), required=False, empty_label="— Nobody —"
    )
    team = forms.ModelChoiceField(
        queryset=Team.objects.all(), required=False, empty_label="— No team —"
    )
    tags = forms.CharField(required=False, help_text="Separate tags with commas.")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    record_fields: list[str]  # set by each subclass

    def __init__(
        self, *args: Any, definitions: list[CustomFieldDefinition], record=None, **kwargs: Any
    ) -> None:
        if record is not None and "initial" not in kwargs and not args:
            kwargs["initial"] = self.initial_from(record, definitions)
        super().__init__(*args, **kwargs)
        self.definitions = definitions
        for definition in definitions:
            self.fields[f"cf_{definition.name}"] = custom_form_field(definition)
        if record is None:
            del self.fields["version"]

    def initial_from(self, record, definitions) -> dict[str, Any]:
        initial = {name: getattr(record, name) for name in self.record_fields}
        initial.update(
            owner=record.owner_id,
            team=record.team_id,
            version=record.version,
            tags=", ".join(t.name for t in record.tags.all()),
        )
        for definition in definitions:
            initial[f"cf_{definition.name}"] = _initial_custom(
                definition, (record.custom_fields or {}).get(definition.name)
            )
        return initial

    @property
    def custom_field_names(self) -> list[str]:
        return [f"cf_{d.name}" for d in self.definitions]

    def service_data(self, *, creating: bool) -> dict[str, Any]:
        """The `data` mapping the service expects, from cleaned input."""
        data = {name: self.cleaned_data[name] for name in self.record_fields}
        data["custom_fields"] = {
            d.name: self.cleaned_data.get(f"cf_{d.name}") or None for d in self.definitions
        }
        if creating:
            # Unset owner/team on create: the service makes the creator the owner.
            for name in ("owner", "team"):
                if self.cleaned_data.get(name) is not None:
                    data[name] = self.cleaned_data[name]
        else:
            data["owner"] = self.cleaned_data.get("owner")
            data["team"] = self.cleaned_data.get("team")
        return data

    def tag_names(self) -> list[str]:
        return [t.strip() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()]


class ContactForm(_RecordForm):
    object_type = "contact"
    record_fields = [
        "prefix",
        "first_name",
        "middle_name",
        "last_name",
        "suffix",
        "job_title",
        "date_of_birth",
        "description",
        "lifecycle_stage",
    ]

    # A form field, not BaseForm.prefix: the form metaclass takes it out of the class.
    prefix = forms.CharField(max_length=20, required=False)  # type: ignore[assignment]
    first_name = forms.CharField(max_length=100, required=False)
    middle_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    suffix = forms.CharField(max_length=20, required=False)
    job_title = forms.CharField(max_length=150, required=False)
    date_of_birth = forms.DateField(
        required=False, label="Date of birth", widget=forms.DateInput(attrs={"type": "date"})
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    field_order = [
        "prefix",
        "first_name",
        "middle_name",
        "last_name",
        "suffix",
        "job_title",
        "lifecycle_stage",
        "owner",
        "team",
        "tags",
        "date_of_birth",
        "description",
    ]


class AccountForm(_RecordForm):
    object_type = "account"
    record_fields = [
        "name",
        "domain",
        "industry",
        "employee_count",
        "annual_revenue",
        "description",
        "lifecycle_stage",
        "parent",
    ]

    name = forms.CharField(max_length=200)
    domain = forms.CharField(max_length=200, required=False)
    industry = forms.CharField(max_length=100, required=False)
    employee_count = forms.IntegerField(min_value=0, required=False, label="Employees")
    annual_revenue = forms.DecimalField(max_digits=16, decimal_places=2, required=False)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    parent = AccountPickerField(required=False, label="Parent account")

    field_order = [
        "name",
        "domain",
        "industry",
        "lifecycle_stage",
        "owner",
        "team",
        "tags",
        "employee_count",
        "annual_revenue",
        "parent",
        "description",
    ]

    def __init__(self, *args: Any, parent_choices=None, **kwargs: Any) -> None:
        record = kwargs.get("record")
        super().__init__(*args, **kwargs)
        parent = cast(AccountPickerField, self.fields["parent"])
        if parent_choices is not None:
            parent.queryset = parent_choices
        if record is not None:
            parent.widget.exclude_pk = record.pk
            # Saving the form unchanged must not drop a parent the user cannot see.
            parent.set_keep(record.parent if record.parent_id else None)


class ContactPointRows:
    """The repeated email/phone rows of the create form ("add another phone")."""

    def __init__(self, data=None) -> None:
        self.data = data
        self.errors: dict[str, list[str]] = {"emails": [], "phones": []}

    def emails(self) -> list[dict[str, Any]]:
        if self.data is None:
            return [{"email": "", "kind": "work"}]
        pairs = zip(self.data.getlist("email"), self.data.getlist("email_kind"), strict=False)
        return [{"email": e.strip(), "kind": k or "work"} for e, k in pairs] or [
            {"email": "", "kind": "work"}
        ]

    def phones(self) -> list[dict[str, Any]]:
        if self.data is None:
            return [{"number": "", "kind": "mobile"}]
        pairs = zip(self.data.getlist("phone"), self.data.getlist("phone_kind"), strict=False)
        return [{"number": n.strip(), "kind": k or "mobile"} for n, k in pairs] or [
            {"number": "", "kind": "mobile"}
        ]

    def for_service(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        emails = [e for e in self.emails() if e["email"]]
        phones = [p for p in self.phones() if p["number"]]
        for i, item in enumerate(emails):
            item["is_primary"] = i == 0
        for i, item in enumerate(phones):
            item["is_primary"] = i == 0
        return emails, phones


EMAIL_KINDS = EmailAddress.Kind.choices
PHONE_KINDS = PhoneNumber.Kind.choices


class EmailForm(forms.Form):
    email = forms.CharField(max_length=254, label="Email")
    kind = forms.ChoiceField(choices=EmailAddress.Kind.choices)
    is_primary = forms.BooleanField(required=False, label="Primary")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class PhoneForm(forms.Form):
    number = forms.CharField(max_length=50, label="Number")
    extension = forms.CharField(max_length=10, required=False, label="Ext.")
    kind = forms.ChoiceField(choices=PhoneNumber.Kind.choices)
    is_primary = forms.BooleanField(required=False, label="Primary")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class AddressForm(forms.Form):
    kind = forms.ChoiceField(choices=PostalAddress.Kind.choices)
    street = forms.CharField(max_length=200, required=False)
    street2 = forms.CharField(max_length=200, required=False, label="Street (line 2)")
    city = forms.CharField(max_length=100, required=False)
    region = forms.CharField(max_length=100, required=False)
    postal_code = forms.CharField(max_length=20, required=False, label="Postcode")
    country = forms.CharField(max_length=2, required=False, help_text="Two-letter code")
    is_primary = forms.BooleanField(required=False, label="Primary")
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class CallForm(forms.Form):
    subject = forms.CharField(
        max_length=300,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "What was it about?"}),
    )
    direction = forms.ChoiceField(choices=[("outbound", "Outbound"), ("inbound", "Inbound")])
    outcome = forms.ChoiceField(choices=[])
    duration_minutes = forms.IntegerField(
        min_value=0, max_value=24 * 60, required=False, label="Duration (minutes)"
    )
    body = forms.CharField(required=False, label="Notes", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .timeline import CALL_OUTCOMES

        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["outcome"]).choices = list(CALL_OUTCOMES.items())

    def service_kwargs(self) -> dict[str, Any]:
        minutes = self.cleaned_data.get("duration_minutes") or 0
        return {
            "subject": self.cleaned_data["subject"],
            "body": self.cleaned_data["body"],
            "data": {
                "direction": self.cleaned_data["direction"],
                "outcome": self.cleaned_data["outcome"],
                "duration_seconds": minutes * 60,
            },
        }


class NoteForm(forms.Form):
    body = forms.CharField(
        required=False,
        label="Note",
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "Write a note…"}),
    )

    def service_kwargs(self) -> dict[str, Any]:
        return {"body": self.cleaned_data["body"]}


class TaskForm(forms.Form):
    subject = forms.CharField(
        max_length=300,
        required=False,
        label="Task",
        widget=forms.TextInput(attrs={"placeholder": "Follow up…"}),
    )
    due_at = forms.DateTimeField(
        required=False, label="Due", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    body = forms.CharField(
        required=False, label="Details", widget=forms.Textarea(attrs={"rows": 2})
    )

    def service_kwargs(self) -> dict[str, Any]:
        return {
            "subject": self.cleaned_data["subject"],
            "body": self.cleaned_data["body"],
            "due_at": self.cleaned_data.get("due_at"),
        }


ACTIVITY_FORMS = {"call": CallForm, "note": NoteForm, "task": TaskForm}


class RelationshipForm(forms.Form):
    account = AccountPickerField()
    role = forms.CharField(max_length=100, required=False)
    is_primary = forms.BooleanField(required=False, label="Primary account")

    def __init__(self, *args: Any, accounts=None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if accounts is not None:
            cast(AccountPickerField, self.fields["account"]).queryset = accounts
