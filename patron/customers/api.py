"""Customers API: contacts, accounts, their contact points, relationships, timeline, search
and history.

Each endpoint parses input, reads through `selectors` (so a record the caller may not see
answers 404) and writes through `services` (which refuse, with 403, what the caller may see
but not change). Nothing else happens here.

No `from __future__ import annotations` in this module: the contact-point endpoints are
built in a loop and ninja reads their annotations at definition time.
"""

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import F, Model, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django_filters import MultipleChoiceFilter
from ninja import Field, Query, Router, Schema, Status
from pydantic import create_model

from patron.core.models import Team, User
from patron.core.schemas import ERRORS, WRITE_ERRORS, PageParams
from patron.utils.cursor import Page, paginate

from . import selectors, services, timeline
from .filters import (
    ACCOUNT_ORDERINGS,
    CONTACT_ORDERINGS,
    AccountFilterSet,
    ContactFilterSet,
    ordering_for,
)
from .models import (
    Account,
    AccountRelationship,
    Contact,
    ContactPoint,
    EmailAddress,
    PhoneNumber,
    PostalAddress,
    TimelineEntry,
)
from .schemas import (
    AccountIn,
    AccountOut,
    AccountPage,
    AccountPatch,
    AddressIn,
    AddressOut,
    AddressPatch,
    ContactAccountOut,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
    EmailIn,
    EmailOut,
    EmailPatch,
    HistoryPage,
    MemberPage,
    PhoneIn,
    PhoneOut,
    PhonePatch,
    RelationshipIn,
    RelationshipPatch,
    SearchOut,
    TaskList,
    TimelineEntryIn,
    TimelineEntryOut,
    TimelineEntryPatch,
    TimelineKindOut,
    TimelinePage,
    TimelineParams,
)
from .views.exports import EXPORT_FORMATS, ensure_may_export, list_download

router = Router()

# Input fields that name another record by id, and the model field the service expects.
REFERENCES = {
    "owner_id": "owner",
    "team_id": "team",
    "parent_id": "parent",
    "assignee_id": "assignee",
    "account_id": "account",
}
CHILD_LISTS = ("tags", "emails", "phones", "addresses")


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,return-value]


@contextlib.contextmanager
def _input_names() -> Iterator[None]:
    """Report service errors under the names the client sent (`owner` -> `owner_id`)."""
    try:
        yield
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        back = {model: given for given, model in REFERENCES.items()}
        raise ValidationError(
            {back.get(name, name): errors for name, errors in exc.error_dict.items()}
        ) from None


def _resolve_references(user: User, data: dict[str, Any]) -> dict[str, Any]:
    """Replace `owner_id`, `team_id`, `parent_id`, `assignee_id` by the records they name.

    An unknown id (or an account the caller may not see) is a 400 naming the field."""
    sources: dict[str, tuple[QuerySet, str]] = {
        "owner_id": (User.objects.all(), "user"),
        "assignee_id": (User.objects.all(), "user"),
        "team_id": (Team.objects.all(), "team"),
        "parent_id": (selectors.account_visible(user=user), "account"),
    }
    result: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in data.items():
        if name not in sources:
            result[name] = value
            continue
        queryset, label = sources[name]
        record = None if value is None else queryset.filter(pk=value).first()
        if value is not None and record is None:
            errors[name] = [f"There is no {label} with id {value}."]
        result[REFERENCES[name]] = record
    if errors:
        raise ValidationError(errors)
    return result


def _paginated(queryset: QuerySet, ordering: list[str], params: PageParams) -> Page:
    """One page; a cursor whose values do not fit the ordering's columns (hand-made or from
    another endpoint) is the client's mistake, reported on `cursor`, not a 500."""
    try:
        return paginate(queryset, ordering=ordering, cursor=params.cursor, limit=params.limit)
    except (ValueError, TypeError) as exc:
        if not params.cursor:
            raise
        raise ValidationError(
            {"cursor": ["This cursor is not valid; start from the first page."]}
        ) from exc


def _page(page: Any) -> dict[str, Any]:
    return {
        "results": page.items,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }


# --- list rows as plain data -------------------------------------------------------------------
# The list endpoints answer with `ContactPage`/`AccountPage` built here as plain dicts, keys in
# the schemas' field order, from the `values()` rows of `selectors.contact_rows_for_list` /
# `account_rows_for_list`, and rendered without validating them through pydantic (nothing here
# needs validating: every value comes from the database as the schema types it). The OpenAPI
# document still describes the schemas, and the tests check the JSON equals what the schemas
# produce from the model rows of `contacts_for_list`/`accounts_for_list`.


def _owner_team(row: dict[str, Any]) -> tuple[dict | None, dict | None]:
    """`UserRef` (the name as `User.display_name`) and `TeamRef` of a row."""
    owner = None
    if row["owner_id"] is not None:
        name = f"{row['owner__first_name']} {row['owner__last_name']}".strip()
        owner = {"id": row["owner_id"], "name": name or row["owner__username"]}
    team = None if row["team_id"] is None else {"id": row["team_id"], "name": row["team__name"]}
    return owner, team


def _list_phone(row: dict[str, Any]) -> str | None:
    """As `schemas._list_primary_phone`: E.164, else as typed, None without a phone."""
    if row["primary_phone_number"] is None:
        return None
    return row["primary_phone_e164"] or row["primary_phone_number"]


def _contact_row(c: dict[str, Any]) -> dict[str, Any]:
    """One `ContactListOut`, from a `selectors.contact_rows_for_list` row."""
    owner, team = _owner_team(c)
    names = (c["first_name"], c["middle_name"], c["last_name"])
    return {
        "id": c["id"],
        "version": c["version"],
        "first_name": c["first_name"],
        "last_name": c["last_name"],
        "full_name": " ".join(p for p in names if p) or "(no name)",  # Contact.full_name
        "job_title": c["job_title"],
        "lifecycle_stage": c["lifecycle_stage"],
        "owner": owner,
        "team": team,
        "tags": [t["name"] for t in c["tag_list"]],
        "primary_email": c["primary_email"],
        "primary_phone": _list_phone(c),
        "accounts": [
            {
                "id": r["id"],
                "version": r["version"],
                "account": r["account"],
                "role": r["role"],
                "is_primary": r["is_primary"],
                "started_on": r["started_on"],
                "ended_on": r["ended_on"],
            }
            for r in c["account_links"]
        ],
        "custom_fields": c["custom_fields"],
        "created_at": c["created_at"],
        "updated_at": c["updated_at"],
    }


def _account_row(a: dict[str, Any]) -> dict[str, Any]:
    """One `AccountListOut`, from a `selectors.account_rows_for_list` row."""
    owner, team = _owner_team(a)
    parent_id = a["parent_id"]
    return {
        "id": a["id"],
        "version": a["version"],
        "name": a["name"],
        "domain": a["domain"],
        "industry": a["industry"],
        "lifecycle_stage": a["lifecycle_stage"],
        "parent": None if parent_id is None else {"id": parent_id, "name": a["parent__name"]},
        "owner": owner,
        "team": team,
        "tags": [t["name"] for t in a["tag_list"]],
        "primary_email": a["primary_email"],
        "primary_phone": _list_phone(a),
        "custom_fields": a["custom_fields"],
        "created_at": a["created_at"],
        "updated_at": a["updated_at"],
    }


def _list_response(request: HttpRequest, page: Any, row: Any) -> HttpResponse:
    data = {
        "results": [row(item) for item in page.items],
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }
    from patron.api import api  # the API object imports this module

    return api.create_response(request, data, status=200)


# --- list parameters, generated from the one filter definition -------------------------------


def _list_params(
    name: str,
    filterset: type[django_filters.FilterSet],
    orderings: dict[str, list[str]],
    default: str,
    base: type[Schema] = PageParams,
    **extra: Any,
) -> type[Schema]:
    """A query-parameter schema with one parameter per filter of `filterset` (for the
    OpenAPI document and type checks); the filterset itself still does the filtering."""
    fields: dict[str, Any] = dict(extra)
    for filter_name, flt in filterset.base_filters.items():
        description = str(flt.label or filter_name.replace("_", " "))
        if isinstance(flt, MultipleChoiceFilter):
            fields[filter_name] = (
                list[str],
                Field([], description=description + " (repeat the parameter)"),
            )
        else:
            fields[filter_name] = (str | None, Field(None, description=description))
    fields["ordering"] = (
        Literal[tuple(orderings)],  # type: ignore[misc]
        Field(default, description="Sort order."),
    )
    return create_model(name, __base__=base, **fields)


CUSTOM_FIELD_PARAMS = " Custom fields filter with `cf_<name>=<value>`."
ContactListParams = _list_params("ContactListParams", ContactFilterSet, CONTACT_ORDERINGS, "name")
AccountListParams = _list_params("AccountListParams", AccountFilterSet, ACCOUNT_ORDERINGS, "name")


def _export_params(name: str, object_type: str, filterset: type, orderings: dict) -> type:
    """The list's parameters, without paging, and the `format` of the file."""
    formats = tuple(EXPORT_FORMATS[object_type])
    file_format = (
        Literal[formats],  # type: ignore[valid-type]
        Field("csv", description="The file: " + ", ".join(formats) + "."),
    )
    return _list_params(name, filterset, orderings, "name", Schema, format=file_format)


ContactExportParams = _export_params(
    "ContactExportParams", "contact", ContactFilterSet, CONTACT_ORDERINGS
)
AccountExportParams = _export_params(
    "AccountExportParams", "account", AccountFilterSet, ACCOUNT_ORDERINGS
)
LIST_PARAMETERS = ("ordering", "cursor", "limit")
EXPORT_PARAMETERS = ("ordering", "format")


def _filtered_set(
    request: HttpRequest,
    filterset_class: type,
    queryset: QuerySet,
    accepted: tuple[str, ...] = LIST_PARAMETERS,
) -> Any:
    """The shared filterset bound to the query string; unknown parameters are a 400."""
    filterset = filterset_class(
        request.GET, queryset=queryset, user=_actor(request), given_only=True
    )
    known = set(filterset.filters) | set(accepted)
    unknown = sorted(set(request.GET) - known)
    if unknown:
        raise ValidationError({name: ["Unknown parameter."] for name in unknown})
    return filterset


def _filtered(request: HttpRequest, filterset_class: type, queryset: QuerySet) -> QuerySet:
    """Apply the shared filterset to the query string; unknown parameters are a 400."""
    return _filtered_set(request, filterset_class, queryset).filtered()


def _export(
    request: HttpRequest, object_type: str, filterset_class: type, orderings: dict, params: Any
) -> StreamingHttpResponse:
    """The list a list endpoint would page through, as one file (see `views/exports.py`)."""
    user = _actor(request)
    ensure_may_export(user, object_type)
    visible = (
        selectors.contact_visible(user=user, action="export")
        if object_type == "contact"
        else selectors.account_visible(user=user, action="export")
    )
    filterset = _filtered_set(request, filterset_class, visible, EXPORT_PARAMETERS)
    queryset = filterset.filtered()
    _, ordering = ordering_for(orderings, params.ordering, "name")
    return list_download(
        object_type=object_type,
        fmt=params.format,
        queryset=queryset,
        ordering=ordering,
        definitions=filterset.custom_definitions,
    )


def _export_responses(object_type: str) -> dict[str, Any]:
    """The 200 of an export in the OpenAPI document: a file in one of several types."""
    content = {
        f.content_type.split(";")[0]: {"schema": {"type": "string", "format": "binary"}}
        for f in EXPORT_FORMATS[object_type].values()
    }
    return {
        "responses": {200: {"description": "The file, sent as it is written.", "content": content}}
    }


EXPORT_DESCRIPTION = (
    "Every {0} the list endpoint would page through — same filters, search and ordering —"
    " as one file: CSV or XLSX (cells a spreadsheet would run as formulas start with an"
    " apostrophe), a JSON array{1}. Needs the `{0}.export` permission (403 without it)."
)


# --- contacts ----------------------------------------------------------------------------------


@router.get(
    "/contacts",
    response={200: ContactPage, **ERRORS},
    tags=["Contacts"],
    description="Contacts you may see, filtered and ordered, one page at a time."
    + CUSTOM_FIELD_PARAMS,
)
def contact_list(request: HttpRequest, params: Query[ContactListParams]):  # type: ignore[valid-type]
    user = _actor(request)
    qs = _filtered(request, ContactFilterSet, selectors.contact_visible(user=user))
    # `ordering` is a field _list_params adds; mypy cannot see into the generated schema.
    _, ordering = ordering_for(CONTACT_ORDERINGS, params.ordering, "name")  # type: ignore[attr-defined]
    page = _paginated(selectors.contact_rows_for_list(qs), ordering, params)
    return _list_response(request, page, _contact_row)


@router.post("/contacts", response={201: ContactOut, **ERRORS}, tags=["Contacts"])
def contact_create(request: HttpRequest, payload: ContactIn):
    """Create a contact, optionally with its emails, phones, addresses and tags."""
    user = _actor(request)
    data = _resolve_references(
        user, payload.model_dump(exclude_unset=True, exclude=set(CHILD_LISTS))
    )
    with _input_names():
        contact = services.contact_create(
            actor=user,
            data=data,
            tags=payload.tags,
            emails=[e.model_dump(exclude_unset=True) for e in payload.emails],
            phones=[p.model_dump(exclude_unset=True) for p in payload.phones],
            addresses=[a.model_dump(exclude_unset=True) for a in payload.addresses],
        )
    return Status(201, contact)


# Declared before /contacts/{contact_id}, which would otherwise take "export" for an id.
@router.get(
    "/contacts/export",
    response=ERRORS,
    tags=["Contacts"],
    description=EXPORT_DESCRIPTION.format("contact", " or vCards (`vcf`)") + CUSTOM_FIELD_PARAMS,
    openapi_extra=_export_responses("contact"),
)
def contact_export(request: HttpRequest, params: Query[ContactExportParams]):  # type: ignore[valid-type]
    return _export(request, "contact", ContactFilterSet, CONTACT_ORDERINGS, params)


@router.get("/contacts/{contact_id}", response={200: ContactOut, **ERRORS}, tags=["Contacts"])
def contact_detail(request: HttpRequest, contact_id: int):
    return selectors.contact_get(user=_actor(request), pk=contact_id)


@router.patch(
    "/contacts/{contact_id}", response={200: ContactOut, **WRITE_ERRORS}, tags=["Contacts"]
)
def contact_update(request: HttpRequest, contact_id: int, payload: ContactPatch):
    """Change a contact; send the `version` you read (a stale one answers 409)."""
    user = _actor(request)
    contact = selectors.contact_get(user=user, pk=contact_id)
    data = _resolve_references(
        user, payload.model_dump(exclude_unset=True, exclude={"version", "tags"})
    )
    with _input_names():
        return services.contact_update(
            actor=user,
            contact=contact,
            expected_version=payload.version,
            data=data,
            tags=payload.tags,
        )


@router.delete("/contacts/{contact_id}", response={204: None, **ERRORS}, tags=["Contacts"])
def contact_delete(request: HttpRequest, contact_id: int):
    user = _actor(request)
    services.contact_delete(
        actor=user, contact=selectors.contact_visible(user=user).get(pk=contact_id)
    )
    return Status(204, None)


# --- accounts ----------------------------------------------------------------------------------


@router.get(
    "/accounts",
    response={200: AccountPage, **ERRORS},
    tags=["Accounts"],
    description="Accounts you may see, filtered and ordered, one page at a time."
    + CUSTOM_FIELD_PARAMS,
)
def account_list(request: HttpRequest, params: Query[AccountListParams]):  # type: ignore[valid-type]
    user = _actor(request)
    qs = _filtered(request, AccountFilterSet, selectors.account_visible(user=user))
    # `ordering` is a field _list_params adds; mypy cannot see into the generated schema.
    _, ordering = ordering_for(ACCOUNT_ORDERINGS, params.ordering, "name")  # type: ignore[attr-defined]
    page = _paginated(selectors.account_rows_for_list(qs), ordering, params)
    return _list_response(request, page, _account_row)


@router.post("/accounts", response={201: AccountOut, **ERRORS}, tags=["Accounts"])
def account_create(request: HttpRequest, payload: AccountIn):
    """Create an account, optionally with its emails, phones, addresses and tags."""
    user = _actor(request)
    data = _resolve_references(
        user, payload.model_dump(exclude_unset=True, exclude=set(CHILD_LISTS))
    )
    with _input_names():
        account = services.account_create(
            actor=user,
            data=data,
            tags=payload.tags,
            emails=[e.model_dump(exclude_unset=True) for e in payload.emails],
            phones=[p.model_dump(exclude_unset=True) for p in payload.phones],
            addresses=[a.model_dump(exclude_unset=True) for a in payload.addresses],
        )
    return Status(201, account)


@router.get(
    "/accounts/export",
    response=ERRORS,
    tags=["Accounts"],
    description=EXPORT_DESCRIPTION.format("account", "") + CUSTOM_FIELD_PARAMS,
    openapi_extra=_export_responses("account"),
)
def account_export(request: HttpRequest, params: Query[AccountExportParams]):  # type: ignore[valid-type]
    return _export(request, "account", AccountFilterSet, ACCOUNT_ORDERINGS, params)


@router.get("/accounts/{account_id}", response={200: AccountOut, **ERRORS}, tags=["Accounts"])
def account_detail(request: HttpRequest, account_id: int):
    return selectors.account_get(user=_actor(request), pk=account_id)


@router.patch(
    "/accounts/{account_id}", response={200: AccountOut, **WRITE_ERRORS}, tags=["Accounts"]
)
def account_update(request: HttpRequest, account_id: int, payload: AccountPatch):
    """Change an account; send the `version` you read (a stale one answers 409)."""
    user = _actor(request)
    account = selectors.account_get(user=user, pk=account_id)
    data = _resolve_references(
        user, payload.model_dump(exclude_unset=True, exclude={"version", "tags"})
    )
    with _input_names():
        return services.account_update(
            actor=user,
            account=account,
            expected_version=payload.version,
            data=data,
            tags=payload.tags,
        )


@router.delete("/accounts/{account_id}", response={204: None, **ERRORS}, tags=["Accounts"])
def account_delete(request: HttpRequest, account_id: int):
    user = _actor(request)
    services.account_delete(
        actor=user, account=selectors.account_visible(user=user).get(pk=account_id)
    )
    return Status(204, None)


@router.get(
    "/accounts/{account_id}/contacts", response={200: MemberPage, **ERRORS}, tags=["Relationships"]
)
def account_member_list(request: HttpRequest, account_id: int, params: Query[PageParams]):
    """The people at an account that you may see, with their role, by name."""
    user = _actor(request)
    account = selectors.account_visible(user=user).get(pk=account_id)
    members = selectors.account_members(user=user, account=account).annotate(
        member_last_name=F("contact__last_name"), member_first_name=F("contact__first_name")
    )
    page = _paginated(members, ["member_last_name", "member_first_name", "id"], params)
    return _page(page)


# --- contact points: /{contacts|accounts}/{id}/{emails|phones|addresses}, /{kind}/{id} --------

PARENTS: dict[str, tuple[type[Model], str]] = {
    "contacts": (Contact, "contact"),
    "accounts": (Account, "account"),
}


def _visible_parent(user: User, model: type[Model], pk: int) -> Any:
    if model is Contact:
        return selectors.contact_visible(user=user).get(pk=pk)
    return selectors.account_visible(user=user).get(pk=pk)


def _an(label: str) -> str:
    return f"an {label}" if label[0] in "aeiou" else f"a {label}"


def _register_point_parent(
    path: str,
    model: type[ContactPoint],
    schema_in: Any,
    schema_out: Any,
    label: str,
    parent_path: str,
    parent_model: type[Model],
    parent_field: str,
) -> None:
    """GET and POST /{contacts|accounts}/{id}/{path}."""

    def point_list(request: HttpRequest, parent_id: int) -> Any:
        user = _actor(request)
        parent = _visible_parent(user, parent_model, parent_id)
        return list(
            model.objects.restrict(user, "view")  # type: ignore[attr-defined]
            .filter(**{parent_field: parent})
            .order_by("-is_primary", "id")
        )

    def point_add(request: HttpRequest, parent_id: int, payload: schema_in) -> Any:  # type: ignore[valid-type]
        user = _actor(request)
        parent = _visible_parent(user, parent_model, parent_id)
        point = services.contact_point_add(
            actor=user, model=model, parent=parent, data=payload.model_dump(exclude_unset=True)
        )
        return Status(201, point)

    route = f"/{parent_path}/{{parent_id}}/{path}"
    router.add_api_operation(
        route,
        ["GET"],
        point_list,
        tags=["Contact points"],
        response={200: list[schema_out], **ERRORS},
        operation_id=f"{parent_field}_{path}_list",
        summary=f"List the {label}es of a {parent_field}"
        if label.endswith("ss")
        else f"List the {label}s of a {parent_field}",
    )
    router.add_api_operation(
        route,
        ["POST"],
        point_add,
        tags=["Contact points"],
        response={201: schema_out, **ERRORS},
        operation_id=f"{parent_field}_{path}_add",
        summary=f"Add {_an(label)} to a {parent_field}",
    )


def _register_contact_points(
    path: str,
    model: type[ContactPoint],
    schema_in: Any,
    schema_patch: Any,
    schema_out: Any,
    label: str,
) -> None:
    """The endpoints of one kind of contact point, under contacts, accounts and on its own."""
    for parent_path, (parent_model, parent_field) in PARENTS.items():
        _register_point_parent(
            path, model, schema_in, schema_out, label, parent_path, parent_model, parent_field
        )

    def visible_point(user: User, pk: int) -> Any:
        return (
            model.objects.restrict(user, "view")  # type: ignore[attr-defined]
            .select_related("contact", "account")
            .get(pk=pk)
        )

    def point_update(request: HttpRequest, point_id: int, payload: schema_patch) -> Any:  # type: ignore[valid-type]
        user = _actor(request)
        point = visible_point(user, point_id)
        data = payload.model_dump(exclude_unset=True, exclude={"version"})
        return services.contact_point_update(
            actor=user, point=point, expected_version=payload.version, data=data
        )

    def point_delete(request: HttpRequest, point_id: int) -> Any:
        user = _actor(request)
        services.contact_point_delete(actor=user, point=visible_point(user, point_id))
        return Status(204, None)

    router.add_api_operation(
        f"/{path}/{{point_id}}",
        ["PATCH"],
        point_update,
        response={200: schema_out, **WRITE_ERRORS},
        tags=["Contact points"],
        operation_id=f"{path}_update",
        summary=f"Change {_an(label)} (send its version)",
    )
    router.add_api_operation(
        f"/{path}/{{point_id}}",
        ["DELETE"],
        point_delete,
        response={204: None, **ERRORS},
        tags=["Contact points"],
        operation_id=f"{path}_delete",
        summary=f"Delete {_an(label)}",
    )


_register_contact_points("emails", EmailAddress, EmailIn, EmailPatch, EmailOut, "email address")
_register_contact_points("phones", PhoneNumber, PhoneIn, PhonePatch, PhoneOut, "phone number")
_register_contact_points("addresses", PostalAddress, AddressIn, AddressPatch, AddressOut, "address")


# --- relationships -----------------------------------------------------------------------------


@router.get(
    "/contacts/{contact_id}/relationships",
    response={200: list[ContactAccountOut], **ERRORS},
    tags=["Relationships"],
)
def relationship_list(request: HttpRequest, contact_id: int):
    """The accounts a contact belongs to, with their role (primary first)."""
    user = _actor(request)
    contact = selectors.contact_visible(user=user).get(pk=contact_id)
    return list(
        AccountRelationship.objects.restrict(user, "view")
        .filter(contact=contact)
        .select_related("account")
        .order_by("-is_primary", "account__name", "id")
    )


@router.post(
    "/contacts/{contact_id}/relationships",
    response={201: ContactAccountOut, **ERRORS},
    tags=["Relationships"],
)
def relationship_add(request: HttpRequest, contact_id: int, payload: RelationshipIn):
    """Link the contact to an account with a role."""
    user = _actor(request)
    contact = selectors.contact_visible(user=user).get(pk=contact_id)
    account = selectors.account_visible(user=user).filter(pk=payload.account_id).first()
    if account is None:
        raise ValidationError(
            {"account_id": [f"There is no account with id {payload.account_id}."]}
        )
    with _input_names():
        relationship = services.relationship_add(
            actor=user,
            contact=contact,
            account=account,
            data=payload.model_dump(exclude_unset=True, exclude={"account_id"}),
        )
    return Status(201, relationship)


def _visible_relationship(user: User, pk: int) -> AccountRelationship:
    return (
        AccountRelationship.objects.restrict(user, "view")
        .select_related("contact", "account")
        .get(pk=pk)
    )


@router.patch(
    "/relationships/{relationship_id}",
    response={200: ContactAccountOut, **WRITE_ERRORS},
    tags=["Relationships"],
)
def relationship_update(request: HttpRequest, relationship_id: int, payload: RelationshipPatch):
    user = _actor(request)
    relationship = _visible_relationship(user, relationship_id)
    return services.relationship_update(
        actor=user,
        relationship=relationship,
        expected_version=payload.version,
        data=payload.model_dump(exclude_unset=True, exclude={"version"}),
    )


@router.delete(
    "/relationships/{relationship_id}", response={204: None, **ERRORS}, tags=["Relationships"]
)
def relationship_delete(request: HttpRequest, relationship_id: int):
    user = _actor(request)
    services.relationship_delete(
        actor=user, relationship=_visible_relationship(user, relationship_id)
    )
    return Status(204, None)


# --- timeline ----------------------------------------------------------------------------------

TIMELINE_ORDERING = ["-occurred_at", "-id"]


def _timeline_page(request: HttpRequest, params: TimelineParams, **parent: Any) -> dict:
    entries = selectors.timeline_for(user=_actor(request), kinds=params.kind or None, **parent)
    return _page(_paginated(entries, TIMELINE_ORDERING, params))


def _timeline_create(
    request: HttpRequest, payload: TimelineEntryIn, **parent: Any
) -> TimelineEntry:
    user = _actor(request)
    data = _resolve_references(user, payload.model_dump(exclude_unset=True))
    with _input_names():
        return services.timeline_entry_create(actor=user, **parent, **data)


@router.get(
    "/contacts/{contact_id}/timeline", response={200: TimelinePage, **ERRORS}, tags=["Timeline"]
)
def contact_timeline(request: HttpRequest, contact_id: int, params: Query[TimelineParams]):
    """A contact's timeline, newest first."""
    contact = selectors.contact_visible(user=_actor(request)).get(pk=contact_id)
    return _timeline_page(request, params, contact=contact)


@router.post(
    "/contacts/{contact_id}/timeline", response={201: TimelineEntryOut, **ERRORS}, tags=["Timeline"]
)
def contact_timeline_add(request: HttpRequest, contact_id: int, payload: TimelineEntryIn):
    """Log a note, call, meeting, email or task on a contact."""
    contact = selectors.contact_visible(user=_actor(request)).get(pk=contact_id)
    return Status(201, _timeline_create(request, payload, contact=contact))


@router.get(
    "/accounts/{account_id}/timeline", response={200: TimelinePage, **ERRORS}, tags=["Timeline"]
)
def account_timeline(request: HttpRequest, account_id: int, params: Query[TimelineParams]):
    """An account's timeline, with the entries of the people at it, newest first."""
    account = selectors.account_visible(user=_actor(request)).get(pk=account_id)
    return _timeline_page(request, params, account=account)


@router.post(
    "/accounts/{account_id}/timeline", response={201: TimelineEntryOut, **ERRORS}, tags=["Timeline"]
)
def account_timeline_add(request: HttpRequest, account_id: int, payload: TimelineEntryIn):
    """Log a note, call, meeting, email or task on an account."""
    account = selectors.account_visible(user=_actor(request)).get(pk=account_id)
    return Status(201, _timeline_create(request, payload, account=account))


def _visible_entry(user: User, pk: int) -> TimelineEntry:
    return (
        TimelineEntry.objects.restrict(user, "view")
        .select_related("contact", "account", "author", "assignee")
        .get(pk=pk)
    )


@router.patch(
    "/timeline/{entry_id}", response={200: TimelineEntryOut, **WRITE_ERRORS}, tags=["Timeline"]
)
def timeline_entry_update(request: HttpRequest, entry_id: int, payload: TimelineEntryPatch):
    user = _actor(request)
    entry = _visible_entry(user, entry_id)
    data = _resolve_references(user, payload.model_dump(exclude_unset=True, exclude={"version"}))
    with _input_names():
        return services.timeline_entry_update(
            actor=user, entry=entry, expected_version=payload.version, data=data
        )


@router.delete("/timeline/{entry_id}", response={204: None, **ERRORS}, tags=["Timeline"])
def timeline_entry_delete(request: HttpRequest, entry_id: int):
    user = _actor(request)
    services.timeline_entry_delete(actor=user, entry=_visible_entry(user, entry_id))
    return Status(204, None)


@router.post(
    "/timeline/{entry_id}/done", response={200: TimelineEntryOut, **ERRORS}, tags=["Timeline"]
)
def task_done(request: HttpRequest, entry_id: int):
    """Mark a task done (doing it twice changes nothing)."""
    user = _actor(request)
    return services.task_set_done(actor=user, entry=_visible_entry(user, entry_id), done=True)


@router.post(
    "/timeline/{entry_id}/reopen", response={200: TimelineEntryOut, **ERRORS}, tags=["Timeline"]
)
def task_reopen(request: HttpRequest, entry_id: int):
    """Open a done task again."""
    user = _actor(request)
    return services.task_set_done(actor=user, entry=_visible_entry(user, entry_id), done=False)


@router.get("/tasks", response={200: TaskList, **ERRORS}, tags=["Timeline"])
def my_open_tasks(request: HttpRequest, limit: int = Query(50, ge=1, le=200)):
    """Your open tasks, soonest due first (those without a due date last)."""
    tasks = selectors.open_tasks_for(user=_actor(request)).select_related("author", "assignee")
    return {"results": list(tasks[:limit])}


@router.get("/timeline-kinds", response={200: list[TimelineKindOut], **ERRORS}, tags=["Timeline"])
def timeline_kinds(request: HttpRequest):
    """Every kind of timeline entry, with the JSON schema of its `data`."""
    return timeline.all_kinds()


HISTORY_ORDERING = ["-created_at", "-id"]


# --- search and history ------------------------------------------------------------------------


@router.get("/search", response={200: SearchOut, **ERRORS}, tags=["Search"])
def search(
    request: HttpRequest,
    q: str = Query(..., min_length=1, max_length=200),
    limit: int = Query(8, ge=1, le=50),
):
    """Contacts and accounts matching a name, email or phone number (in any format)."""
    return selectors.global_search(user=_actor(request), query=q, limit=limit)


@router.get(
    "/contacts/{contact_id}/history", response={200: HistoryPage, **ERRORS}, tags=["History"]
)
def contact_history(request: HttpRequest, contact_id: int, params: Query[PageParams]):
    """Who changed what on a contact and its emails, phones, relationships and timeline."""
    user = _actor(request)
    contact = selectors.contact_visible(user=user).get(pk=contact_id)
    return _page(
        _paginated(selectors.history_for(user=user, record=contact), HISTORY_ORDERING, params)
    )


@router.get(
    "/accounts/{account_id}/history", response={200: HistoryPage, **ERRORS}, tags=["History"]
)
def account_history(request: HttpRequest, account_id: int, params: Query[PageParams]):
    """Who changed what on an account and its emails, phones and timeline."""
    user = _actor(request)
    account = selectors.account_visible(user=user).get(pk=account_id)
    return _page(
        _paginated(selectors.history_for(user=user, record=account), HISTORY_ORDERING, params)
    )
