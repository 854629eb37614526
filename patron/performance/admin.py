"""Django admin: commission plans, assignments, exchange rates and forecast categories are
written through `performance.services`, as the API writes them (checked and audited); quotas
and the stage conversion rollup are read-only here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin

from patron.utils.admin import ThroughServices, unsaved

from . import services
from .models import (
    CommissionAssignment,
    CommissionPlan,
    CommissionTier,
    ExchangeRate,
    Quota,
    StageConversion,
    StageForecastCategory,
)


class CommissionTierFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        """The plan's tier rules (from 0 %, ascending, rates 0–100 %), shown on the page."""
        super().clean()
        if any(self.errors):
            return
        try:
            services.commission_tiers_check(tiers_of(self))
        except forms.ValidationError as exc:
            raise forms.ValidationError(
                [f"{_tier_label(name)}: {' '.join(m)}" for name, m in exc.message_dict.items()]
            ) from None


def tiers_of(formset: Any) -> list[dict[str, Any]]:
    """The tiers a formset describes, in the order of their starts."""
    rows = [
        {"from_attainment": f.cleaned_data["from_attainment"], "rate": f.cleaned_data["rate"]}
        for f in formset.forms
        if f.cleaned_data and not f.cleaned_data.get("DELETE")
    ]
    return sorted(rows, key=lambda row: row["from_attainment"])


def _tier_label(name: str) -> str:
    parts = name.split(".")
    if len(parts) == 3:
        return f"Tier {int(parts[1]) + 1}, {parts[2].replace('_', ' ')}"
    return name.replace("tiers", "Tiers").replace(".", " ")


class CommissionTierInline(admin.TabularInline):
    model = CommissionTier
    formset = CommissionTierFormSet
    extra = 1
    fields = ["from_attainment", "rate"]


@admin.register(CommissionPlan)
class CommissionPlanAdmin(ThroughServices):
    """Commission plans and their tiers (attainment bands) are configured here."""

    list_display = ["name", "method", "basis"]
    inlines = [CommissionTierInline]
    service_fields = services.PLAN_FIELDS

    def service_create(self, actor: Any, data: dict[str, Any], form: Any) -> Any:
        # Checking the plan's own fields, before the tiers are read, takes a tier from 0 %.
        tiers = getattr(form, "tiers", None) or [{"from_attainment": 0, "rate": 0}]
        return services.commission_plan_create(actor=actor, data=data, tiers=tiers)

    def service_update(self, actor: Any, obj: Any, data: dict[str, Any], form: Any) -> Any:
        tiers = getattr(form, "tiers", None)
        return services.commission_plan_update(actor=actor, plan=obj, data=data, tiers=tiers)

    def service_delete(self, actor: Any, obj: Any) -> None:
        services.commission_plan_delete(actor=actor, plan=obj)

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        """Written with its tiers, once the page has read them (`save_related`)."""

    def save_related(self, request: Any, form: Any, formsets: Any, change: bool) -> None:
        form.tiers = next((tiers_of(f) for f in formsets if f.model is CommissionTier), None)
        form.instance.pk = self._write(request, form, form.instance).pk
        unsaved(formsets)


@admin.register(CommissionAssignment)
class CommissionAssignmentAdmin(ThroughServices):
    list_display = ["owner", "plan", "period_kind", "period_start", "period_end"]
    list_select_related = ["owner", "plan"]
    list_filter = ["plan", "period_kind"]
    raw_id_fields = ["owner"]
    exclude = ["team"]
    service_fields = services.ASSIGNMENT_FIELDS

    def service_create(self, actor: Any, data: dict[str, Any], form: Any) -> Any:
        return services.commission_assignment_create(actor=actor, data=data)

    def service_update(self, actor: Any, obj: Any, data: dict[str, Any], form: Any) -> Any:
        data = {k: v for k, v in data.items() if k != "owner"}  # the rep stays
        return services.commission_assignment_update(actor=actor, assignment=obj, data=data)

    def service_delete(self, actor: Any, obj: Any) -> None:
        services.commission_assignment_delete(actor=actor, assignment=obj)

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        return ["owner"] if obj is not None else []


@admin.register(ExchangeRate)
class ExchangeRateAdmin(ThroughServices):
    """Rates to the organisation's currency (PATRON_DEFAULT_CURRENCY), valid from a date."""

    list_display = ["currency", "rate", "valid_from"]
    list_filter = ["currency"]
    service_fields = services.EXCHANGE_RATE_FIELDS

    def service_create(self, actor: Any, data: dict[str, Any], form: Any) -> Any:
        return services.exchange_rate_create(actor=actor, data=data)

    def service_update(self, actor: Any, obj: Any, data: dict[str, Any], form: Any) -> Any:
        return services.exchange_rate_update(actor=actor, rate=obj, data=data)

    def service_delete(self, actor: Any, obj: Any) -> None:
        services.exchange_rate_delete(actor=actor, rate=obj)


@admin.register(StageForecastCategory)
class StageForecastCategoryAdmin(ThroughServices):
    """The forecast category of an open stage, instead of the default by probability."""

    list_display = ["stage", "category"]
    list_select_related = ["stage", "stage__pipeline"]
    service_fields = services.STAGE_CATEGORY_FIELDS

    def service_create(self, actor: Any, data: dict[str, Any], form: Any) -> Any:
        return services.stage_forecast_category_create(actor=actor, data=data)

    def service_update(self, actor: Any, obj: Any, data: dict[str, Any], form: Any) -> Any:
        data = {k: v for k, v in data.items() if k != "stage"}  # the stage stays
        return services.stage_forecast_category_update(actor=actor, setting=obj, data=data)

    def service_delete(self, actor: Any, obj: Any) -> None:
        services.stage_forecast_category_delete(actor=actor, setting=obj)

    def get_readonly_fields(self, request: Any, obj: Any = None) -> Any:
        return ["stage"] if obj is not None else []


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
