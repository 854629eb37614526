from django.urls import path, register_converter

from .views import activity, exports, lists, lookup, points, records


class RecordTypeConverter:
    """Only "contact" or "account": the shared record routes must not swallow other apps'
    URLs of the same shape (/imports/1/map/)."""

    regex = "contact|account"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(RecordTypeConverter, "recordtype")
TYPES = "<recordtype:object_type>"

urlpatterns = [
    path("", activity.home, name="home"),
    path("search/", activity.global_search, name="global_search"),
    # lists and exports
    path("contacts/", lists.contact_list, name="contact_list"),
    path("contacts/export.<str:fmt>", exports.contact_export, name="contact_export"),
    path("accounts/", lists.account_list, name="account_list"),
    path("accounts/export.<str:fmt>", exports.account_export, name="account_export"),
    # the account picker (htmx partials)
    path("accounts/lookup/", lookup.account_lookup, name="account_lookup"),
    path("accounts/lookup/pick/", lookup.account_pick, name="account_pick"),
    # create / detail / edit / delete
    path("contacts/new/", records.record_create, {"object_type": "contact"}, name="contact_create"),
    path("accounts/new/", records.record_create, {"object_type": "account"}, name="account_create"),
    path("contacts/new/row/<str:kind>/", records.point_row, name="point_row"),
    path("contacts/<int:pk>/", records.contact_detail, name="contact_detail"),
    path("contacts/<int:pk>/vcard/", exports.contact_vcard, name="contact_vcard"),
    path("accounts/<int:pk>/", records.account_detail, name="account_detail"),
    path(
        "contacts/<int:pk>/edit/",
        records.record_edit,
        {"object_type": "contact"},
        name="contact_edit",
    ),
    path(
        "accounts/<int:pk>/edit/",
        records.record_edit,
        {"object_type": "account"},
        name="account_edit",
    ),
    path(
        "contacts/<int:pk>/delete/",
        records.record_delete,
        {"object_type": "contact"},
        name="contact_delete",
    ),
    path(
        "accounts/<int:pk>/delete/",
        records.record_delete,
        {"object_type": "account"},
        name="account_delete",
    ),
    # relationships
    path("contacts/<int:pk>/accounts/add/", records.relationship_add, name="relationship_add"),
    path(
        "contacts/<int:pk>/accounts/<int:rel_pk>/remove/",
        records.relationship_remove,
        name="relationship_remove",
    ),
    # timeline, activities, history (htmx partials)
    path(f"{TYPES}s/<int:pk>/timeline/", activity.timeline_partial, name="timeline"),
    path(f"{TYPES}s/<int:pk>/log/<str:kind>/", activity.activity_create, name="activity_create"),
    path(f"{TYPES}s/<int:pk>/history/", activity.history_partial, name="history"),
    path("tasks/<int:pk>/done/", activity.task_toggle, name="task_toggle"),
    # contact points (htmx partials)
    path(f"{TYPES}s/<int:pk>/<str:kind>/", points.point_card, name="point_card"),
    path(f"{TYPES}s/<int:pk>/<str:kind>/add/", points.point_add, name="point_add"),
    path(
        f"{TYPES}s/<int:pk>/<str:kind>/<int:point_pk>/edit/", points.point_edit, name="point_edit"
    ),
    path(
        f"{TYPES}s/<int:pk>/<str:kind>/<int:point_pk>/delete/",
        points.point_delete,
        name="point_delete",
    ),
]
