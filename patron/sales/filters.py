"""One filter definition for opportunities, shared by the API list and the UI."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from .models import Opportunity, Stage

OPPORTUNITY_ORDERINGS = {
    "updated": ["updated_at", "id"],
    "-updated": ["-updated_at", "-id"],
    "close_date": ["expected_close_date", "id"],
    "-close_date": ["-expected_close_date", "-id"],
    "amount": ["amount", "id"],
    "-amount": ["-amount", "-id"],
    "name": ["name", "id"],
    "-name": ["-name", "-id"],
}

STATUS_CHOICES = [("open", "Open"), ("won", "Won"), ("lost", "Lost")]


class OpportunityFilterSet(django_filters.FilterSet):
    owner = django_filters.CharFilter(method="filter_owner", label="Owner (user id or 'me')")
    team = django_filters.NumberFilter(field_name="team_id", label="Team")
    pipeline = django_filters.NumberFilter(field_name="pipeline_id", label="Pipeline")
    stage = django_filters.NumberFilter(field_name="stage_id", label="Stage")
    status = django_filters.ChoiceFilter(
        choices=STATUS_CHOICES, field_name="stage__kind", label="Status (open, won, lost)"
    )
    account = django_filters.NumberFilter(field_name="account_id", label="Account")
    contact = django_filters.NumberFilter(field_name="primary_contact_id", label="Primary contact")
    close_after = django_filters.DateFilter(
        field_name="expected_close_date", lookup_expr="gte", label="Expected close on or after"
    )
    close_before = django_filters.DateFilter(
        field_name="expected_close_date", lookup_expr="lte", label="Expected close on or before"
    )

    class Meta:
        model = Opportunity
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, user=None, prefix=None):
        super().__init__(data, queryset, prefix=prefix)
        self.user = user

    def filter_owner(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "me":
            return queryset.filter(owner_id=getattr(self.user, "pk", None))
        if not value.isdigit() or len(value) > 18:
            raise ValidationError({"owner": ["Give a user id or 'me'."]})
        return queryset.filter(owner_id=int(value))

    def filtered(self) -> QuerySet:
        """The filtered queryset; invalid parameters are a ValidationError naming them."""
        if not self.is_valid():
            raise ValidationError(
                {name: [str(m) for m in messages] for name, messages in self.errors.items()}
            )
        return self.qs


__all__ = ["OPPORTUNITY_ORDERINGS", "OpportunityFilterSet", "Stage"]
