from django.contrib import admin

from .models import CostRate, Invoice, InvoiceSeries


@admin.register(InvoiceSeries)
class InvoiceSeriesAdmin(admin.ModelAdmin):
    """Numbering series are configured here; the next number only moves when a document is
    issued (it is not editable, so no gap or duplicate can be made by hand)."""

    list_display = ["code", "name", "kind", "prefix", "padding", "next_number", "is_default"]
    readonly_fields = ["next_number"]


@admin.register(CostRate)
class CostRateAdmin(admin.ModelAdmin):
    """The hourly cost of calls and meetings, the basis of each customer's cost to serve."""

    list_display = ["activity", "hourly_rate", "updated_at"]

    def save_model(self, request, obj, form, change):
        from django.utils import timezone

        obj.updated_at = timezone.now()
        super().save_model(request, obj, form, change)


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
