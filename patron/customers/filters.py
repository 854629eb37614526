"""One filter definition per model, shared by the UI lists and the API list endpoints."""

from __future__ import annotations

import functools

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from patron.core import custom_fields
from patron.core.permissions import organisation_settings

from . import search
from .models import Account, AccountRelationship, Contact, LifecycleStage

# Public ordering names -> database ordering (always ending with the primary key).
CONTACT_ORDERINGS = {
    "name": ["last_name", "first_name", "id"],
    "-name": ["-last_name", "-first_name", "-id"],
    "first_name": ["first_name", "last_name", "id"],
    "-first_name": ["-first_name", "-last_name", "-id"],
    "stage": ["lifecycle_stage", "last_name", "id"],
    "-stage": ["-lifecycle_stage", "-last_name", "-id"],
    "created": ["created_at", "id"],
    "-created": ["-created_at", "-id"],
    "updated": ["updated_at", "id"],
    "-updated": ["-updated_at", "-id"],
}
ACCOUNT_ORDERINGS = {
    "name": ["name", "id"],
    "-name": ["-name", "-id"],
    "stage": ["lifecycle_stage", "name", "id"],
    "-stage": ["-lifecycle_stage", "-name", "-id"],
    "created": ["created_at", "id"],
    "-created": ["-created_at", "-id"],
    "updated": ["updated_at", "id"],
    "-updated": ["-updated_at", "-id"],
}


class _CustomerFilterSet(django_filters.FilterSet):
    """Shared filters of contacts and accounts, plus one `cf_<name>` per custom field."""

    object_type = ""
    q = django_filters.CharFilter(method="filter_search", label="Search")
    owner = django_filters.CharFilter(method="filter_owner", label="Owner (user id or 'me')")
    team = django_filters.NumberFilter(field_name="team_id", label="Team")
    lifecycle_stage = django_filters.MultipleChoiceFilter(
        choices=LifecycleStage.choices, label="Lifecycle stage"
    )
    tag = django_filters.CharFilter(method="filter_tag", label="Tag")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")

    def __init__(
        self, data=None, queryset=None, *, request=None, user=None, prefix=None, given_only=False
    ):
        if given_only and data is not None:
            # Only the filters the query string names (the API, which draws no form): a
            # filter given no value filters nothing, and copying every filter and building
            # its form field on each request was most of the filterset's cost.
            self.base_filters = {
                name: flt for name, flt in type(self).base_filters.items() if name in data
            }
        super().__init__(data=data, queryset=queryset, request=request, prefix=prefix)
        self.user = user if user is not None else getattr(request, "user", None)
        # The definitions are read (one query) only when a `cf_` parameter is given or a
        # caller asks for them (the UI lists): a plain list request does not pay for them.
        # An unknown `cf_` name still has no filter, so the API still refuses it.
        if data is not None and any(str(key).startswith("cf_") for key in data):
            self._add_custom_filters()

    @functools.cached_property
    def custom_definitions(self) -> list:
        return custom_fields.definitions_for(self.object_type)

    def _add_custom_filters(self) -> None:
        for definition in self.custom_definitions:
            self.filters[f"cf_{definition.name}"] = django_filters.CharFilter(
                field_name=f"cf_{definition.name}",  # errors name the parameter
                method=self._custom_field_method(definition),
                label=definition.label,
            )

    def _custom_field_method(self, definition):
        def method(queryset, name, value):
            try:
                return queryset.filter(**custom_fields.filter_kwargs(definition, value))
            except ValidationError as exc:
                raise ValidationError({name: exc.messages}) from None

        return method

    def filter_search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return search.apply_search(
            queryset, value, region=organisation_settings().default_phone_region
        )

    def filter_owner(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "me":
            return queryset.filter(owner_id=getattr(self.user, "pk", None))
        if value == "none":
            return queryset.filter(owner__isnull=True)
        if not value.isdigit():
            raise ValidationError({"owner": ["Use a user id, 'me' or 'none'."]})
        return queryset.filter(owner_id=int(value))

    def filter_tag(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        tagged = queryset.model.tags.through.objects.filter(tag__name__iexact=value.strip())
        column = f"{queryset.model._meta.model_name}_id"
        return queryset.filter(pk__in=tagged.values(column))

    def filtered(self) -> QuerySet:
        """The filtered queryset, or a ValidationError naming every bad parameter."""
        if not self.is_valid():
            raise ValidationError({k: list(v) for k, v in self.errors.items()})
        return self.qs


class ContactFilterSet(_CustomerFilterSet):
    object_type = "contact"
    account = django_filters.NumberFilter(method="filter_account", label="Account")

    def filter_account(self, queryset: QuerySet, name: str, value) -> QuerySet:
        members = AccountRelationship.objects.filter(account_id=value).values("contact_id")
        return queryset.filter(pk__in=members)

    class Meta:
        model = Contact
        fields = ["q", "owner", "team", "lifecycle_stage", "tag", "account"]


class AccountFilterSet(_CustomerFilterSet):
    object_type = "account"
    industry = django_filters.CharFilter(field_name="industry", lookup_expr="iexact")

    class Meta:
        model = Account
        fields = ["q", "owner", "team", "lifecycle_stage", "tag", "industry"]


def ordering_for(
    orderings: dict[str, list[str]], requested: str | None, default: str
) -> tuple[str, list[str]]:
    key = requested or default
    if key not in orderings:
        raise ValidationError({"ordering": ["Order by one of: " + ", ".join(orderings) + "."]})
    return key, orderings[key]
