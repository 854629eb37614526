from django.contrib import admin

from .models import Opportunity, Pipeline, Stage


class StageInline(admin.TabularInline):
    model = Stage
    extra = 0
    fields = ["name", "order", "probability", "kind"]


@admin.register(Pipeline)
class PipelineAdmin(admin.ModelAdmin):
    """Pipelines and their stages are configured here; opportunities change through the app."""

    list_display = ["name", "is_default", "ordering"]
    inlines = [StageInline]


@admin.register(Opportunity)
class OpportunityAdmin(admin.ModelAdmin):
    list_display = ["name", "account", "stage", "amount", "currency", "owner"]
    list_select_related = ["account", "stage", "owner"]
    raw_id_fields = ["account", "primary_contact", "owner"]
    readonly_fields = [f.name for f in Opportunity._meta.fields]

    def has_add_permission(self, request):  # writes go through the services (audit, history)
        return False
