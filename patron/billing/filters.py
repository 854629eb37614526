"""One filter definition for invoices, shared by the API list and the UI list."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from .models import Invoice
from .selectors import overdue_q

INVOICE_ORDERINGS = {
    "-created": ["-created_at", "-id"],
    "created": ["created_at", "id"],
    "-total": ["-gross_total", "-id"],
    "total": ["gross_total", "id"],
}


class InvoiceFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Invoice.Status.choices, label="Status")
    kind = django_filters.ChoiceFilter(choices=Invoice.Kind.choices, label="Kind")
    overdue = django_filters.BooleanFilter(method="filter_overdue", label="Overdue")
    account = django_filters.NumberFilter(field_name="account_id", label="Account")
    contact = django_filters.NumberFilter(field_name="contact_id", label="Contact")
    issued_after = django_filters.DateFilter(
        field_name="issue_date", lookup_expr="gte", label="Issued on or after"
    )
    issued_before = django_filters.DateFilter(
        field_name="issue_date", lookup_expr="lte", label="Issued on or before"
    )
    q = django_filters.CharFilter(method="filter_q", label="Number or account name", max_length=100)

    class Meta:
        model = Invoice
        fields: list[str] = []

    def filter_overdue(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.filter(overdue_q()) if value else queryset.exclude(overdue_q())

    def filter_q(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(number_display__icontains=value) | Q(account__name__icontains=value)
        )

    def filtered(self) -> QuerySet:
        """The filtered queryset; invalid parameters are a ValidationError naming them."""
        if not self.is_valid():
            raise ValidationError(
                {name: [str(m) for m in messages] for name, messages in self.errors.items()}
            )
        return self.qs
