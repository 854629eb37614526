"""Customer records in the admin are read-only: every write goes through the services (and so
through permissions, validation, search indexing and audit) from the app and the API."""

from django.contrib import admin

from .models import Account, Contact, Tag


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Contact)
class ContactAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "lifecycle_stage", "owner", "team", "updated_at"]
    list_filter = ["lifecycle_stage", "team"]
    search_fields = ["last_name", "first_name"]
    list_select_related = ["owner", "team"]
    show_full_result_count = False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["name", "domain", "lifecycle_stage", "owner", "team", "updated_at"]
    list_filter = ["lifecycle_stage", "team"]
    search_fields = ["name"]
    list_select_related = ["owner", "team"]
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ["name", "color"]
    search_fields = ["name"]
