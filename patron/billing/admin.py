from __future__ import annotations

from typing import Any

from django.contrib import admin

from patron.utils.admin import ThroughServices

from . import services
from .models import CostRate, Invoice, InvoiceSeries


@admin.register(InvoiceSeries)
class InvoiceSeriesAdmin(admin.ModelAdmin):
    """Numbering series are configured here; the next number only moves when a document is
    issued (it is not editable, so no gap or duplicate can be made by hand)."""

    list_display = ["code", "name", "kind", "prefix", "padding", "next_number", "is_default"]
    readonly_fields = ["next_number"]


@admin.register(CostRate)
class CostRateAdmin(ThroughServices):
    """The hourly cost of calls and meetings from a day on, the basis of each customer's cost
    to serve; saved through the services (checked, audited)."""

    list_display = ["activity", "hourly_rate", "valid_from", "updated_at"]
    list_filter = ["activity"]
    service_fields = services.COST_RATE_FIELDS

    def service_create(self, actor: Any, data: dict[str, Any], form: Any) -> Any:
        return services.cost_rate_create(actor=actor, data=data)

    def service_update(self, actor: Any, obj: Any, data: dict[str, Any], form: Any) -> Any:
        return services.cost_rate_update(actor=actor, rate=obj, data=data)

    def service_delete(self, actor: Any, obj: Any) -> None:
        services.cost_rate_delete(actor=actor, rate=obj)


@admin.register(Invoice)
class InvoiceAdmin(admin.ModelAdmin):
    list_display = ["number_display", "kind", "account", "status", "gross_total", "currency"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "contact", "credit_of", "created_by"]
    readonly_fields = [f.name for f in Invoice._meta.fields]

    def has_add_permission(self, request):  # writes go through the services (numbering, audit)
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
