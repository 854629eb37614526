from django.contrib import admin

from .models import (
    CommissionAssignment,
    CommissionPlan,
    CommissionTier,
    ExchangeRate,
    Quota,
    StageConversion,
    StageForecastCategory,
)


class CommissionTierInline(admin.TabularInline):
    model = CommissionTier
    extra = 1
    fields = ["from_attainment", "rate"]


@admin.register(CommissionPlan)
class CommissionPlanAdmin(admin.ModelAdmin):
    """Commission plans and their tiers (attainment bands) are configured here."""

    list_display = ["name", "method", "basis"]
    inlines = [CommissionTierInline]


@admin.register(CommissionAssignment)
class CommissionAssignmentAdmin(admin.ModelAdmin):
    list_display = ["owner", "plan", "period_kind", "period_start", "period_end"]
    list_select_related = ["owner", "plan"]
    list_filter = ["plan", "period_kind"]
    raw_id_fields = ["owner"]
    exclude = ["team"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """Rates to the organisation's currency (PATRON_DEFAULT_CURRENCY), valid from a date."""

    list_display = ["currency", "rate", "valid_from"]
    list_filter = ["currency"]


@admin.register(StageForecastCategory)
class StageForecastCategoryAdmin(admin.ModelAdmin):
    """The forecast category of an open stage, instead of the default by probability."""

    list_display = ["stage", "category"]
    list_select_related = ["stage", "stage__pipeline"]


@admin.register(Quota)
class QuotaAdmin(admin.ModelAdmin):
    list_display = ["owner", "team", "period_kind", "period_start", "amount", "currency"]
    list_select_related = ["owner", "team"]
    readonly_fields = [f.name for f in Quota._meta.fields]

    def has_add_permission(self, request):  # quotas change through the app (audit)
        return False


@admin.register(StageConversion)
class StageConversionAdmin(admin.ModelAdmin):
    """The rollup behind the forecast from history (read-only; refreshed hourly)."""

    list_display = ["stage", "closed_deals", "won_deals", "refreshed_at"]
    readonly_fields = ["stage", "closed_deals", "won_deals", "cycle_days", "refreshed_at"]

    def has_add_permission(self, request):
        return False
