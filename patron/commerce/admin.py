"""Price list items may be edited here in bulk; quotes and orders are read-only (their writes
go through the services, which audit them and keep totals and numbers right)."""

from django.contrib import admin

from .models import CreditLimit, Order, PriceList, PriceListItem, Product, Quote, TaxRate


class PriceListItemInline(admin.TabularInline):
    model = PriceListItem
    extra = 1
    fields = ["product", "unit_price", "min_quantity"]
    raw_id_fields = ["product"]


@admin.register(PriceList)
class PriceListAdmin(admin.ModelAdmin):
    list_display = ["name", "currency", "is_default", "valid_from", "valid_until", "is_active"]
    list_filter = ["currency", "is_active"]
    inlines = [PriceListItemInline]


@admin.register(TaxRate)
class TaxRateAdmin(admin.ModelAdmin):
    list_display = ["name", "percent", "is_active"]


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["sku", "name", "unit", "unit_cost", "tax_rate", "is_active"]
    list_filter = ["is_active", "tax_rate"]
    search_fields = ["sku", "name"]


@admin.register(CreditLimit)
class CreditLimitAdmin(admin.ModelAdmin):
    list_display = ["account", "amount", "currency", "updated_at"]
    raw_id_fields = ["account"]


class ReadOnlyDocumentAdmin(admin.ModelAdmin):
    list_display = ["number", "account", "status", "gross_total", "currency", "created_at"]
    list_filter = ["status", "currency"]
    search_fields = ["number"]
    list_select_related = ["account"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(Quote, ReadOnlyDocumentAdmin)
admin.site.register(Order, ReadOnlyDocumentAdmin)
