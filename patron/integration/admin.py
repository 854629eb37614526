"""Sources are configured in the Patron UI (Imports); the admin shows them and the runs
read-only, for support and auditing."""

from django.contrib import admin

from .models import ImportRun, Mapping, Source


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Source)
class SourceAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "entity", "default_region", "trust_rank", "created_at"]
    search_fields = ["name"]


@admin.register(Mapping)
class MappingAdmin(ReadOnlyAdmin):
    list_display = ["source", "name", "match_by", "updated_at"]


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "source",
        "kind",
        "file_name",
        "status",
        "rows_done",
        "created_count",
        "updated_count",
        "quarantined_count",
        "created_at",
    ]
    list_filter = ["status", "kind", "source"]
