"""One filter definition for leads, shared by the API list and the UI list."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from .models import Lead

LEAD_ORDERINGS = {
    "-score": ["-score", "-id"],
    "score": ["score", "id"],
    "-created": ["-created_at", "-id"],
    "created": ["created_at", "id"],
    "-updated": ["-updated_at", "-id"],
    "name": ["last_name", "first_name", "id"],
    "company": ["company", "id"],
}


SCORE_BOUNDS = {"min_value": -1_000_000, "max_value": 1_000_000}


class LeadFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label="Name, email or company contains")
    status = django_filters.MultipleChoiceFilter(choices=Lead.Status.choices, label="Status")
    source = django_filters.ChoiceFilter(choices=Lead.Source.choices, label="Source")
    owner = django_filters.CharFilter(method="filter_owner", label="Owner (user id, 'me', 'none')")
    team = django_filters.NumberFilter(
        field_name="team_id", label="Team", min_value=1, max_value=2**63 - 1
    )
    min_score = django_filters.NumberFilter(
        field_name="score", lookup_expr="gte", label="Score ≥", **SCORE_BOUNDS
    )
    max_score = django_filters.NumberFilter(
        field_name="score", lookup_expr="lte", label="Score ≤", **SCORE_BOUNDS
    )
    campaign = django_filters.CharFilter(field_name="campaign", lookup_expr="iexact")
    country = django_filters.CharFilter(field_name="country", lookup_expr="iexact")

    class Meta:
        model = Lead
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, user=None, prefix=None):
        super().__init__(data, queryset, prefix=prefix)
        self.user = user

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()[:100]
        if not value:
            return queryset
        return queryset.filter(
            Q(first_name__icontains=value)
            | Q(last_name__icontains=value)
            | Q(email__icontains=value)
            | Q(company__icontains=value)
        )

    def filter_owner(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "me":
            return queryset.filter(owner_id=getattr(self.user, "pk", None))
        if value == "none":
            return queryset.filter(owner__isnull=True)
        if not value.isdigit() or len(value) > 18:
            raise ValidationError({"owner": ["Give a user id, 'me' or 'none'."]})
        return queryset.filter(owner_id=int(value))

    def filtered(self) -> QuerySet:
        """The filtered queryset; invalid parameters are a ValidationError naming them."""
        if not self.is_valid():
            raise ValidationError(
                {name: [str(m) for m in messages] for name, messages in self.errors.items()}
            )
        return self.qs
