"""Request and response shapes of the customers API. Parsing and shaping only: every rule
about what may be written lives in `services`."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from ninja import Field, Schema

from patron.core.schemas import ApiDateTime, InputSchema, PageParams, TeamRef, UserRef

from .models import EmailAddress, LifecycleStage, PhoneNumber, PostalAddress

# --- references --------------------------------------------------------------------------------


class ContactRef(Schema):
    id: int
    name: str = Field(..., alias="full_name")


class AccountRef(Schema):
    id: int
    name: str


# --- contact points ----------------------------------------------------------------------------


class EmailOut(Schema):
    id: int
    version: int
    email: str
    kind: str
    is_primary: bool
    verified_at: datetime.datetime | None


class PhoneOut(Schema):
    id: int
    version: int
    number: str
    e164: str
    extension: str
    kind: str
    is_primary: bool
    verified_at: datetime.datetime | None


class AddressOut(Schema):
    id: int
    version: int
    kind: str
    street: str
    street2: str
    city: str
    region: str
    postal_code: str
    country: str
    is_primary: bool
    verified_at: datetime.datetime | None


class EmailIn(InputSchema):
    email: str = Field(..., max_length=254)
    kind: EmailAddress.Kind = EmailAddress.Kind.WORK
    is_primary: bool = False
    verified_at: ApiDateTime | None = None


class PhoneIn(InputSchema):
    number: str = Field(..., max_length=50)
    extension: str = Field("", max_length=10)
    kind: PhoneNumber.Kind = PhoneNumber.Kind.MOBILE
    is_primary: bool = False
    verified_at: ApiDateTime | None = None


class AddressIn(InputSchema):
    kind: PostalAddress.Kind = PostalAddress.Kind.HOME
    street: str = Field("", max_length=200)
    street2: str = Field("", max_length=200)
    city: str = Field("", max_length=100)
    region: str = Field("", max_length=100)
    postal_code: str = Field("", max_length=20)
    country: str = Field("", max_length=2, description="ISO 3166-1 alpha-2 code.")
    is_primary: bool = False
    verified_at: ApiDateTime | None = None


# In the PATCH schemas below, `Field(None)` on a non-nullable type means "leave out to keep
# the value": an explicit null is refused (422) rather than written.


class EmailPatch(InputSchema):
    version: int
    email: str = Field(None, max_length=254)  # type: ignore[assignment]
    kind: EmailAddress.Kind = Field(None)  # type: ignore[assignment]
    is_primary: bool = Field(None)  # type: ignore[assignment]
    verified_at: ApiDateTime | None = None


class PhonePatch(InputSchema):
    version: int
    number: str = Field(None, max_length=50)  # type: ignore[assignment]
    extension: str = Field(None, max_length=10)  # type: ignore[assignment]
    kind: PhoneNumber.Kind = Field(None)  # type: ignore[assignment]
    is_primary: bool = Field(None)  # type: ignore[assignment]
    verified_at: ApiDateTime | None = None


class AddressPatch(InputSchema):
    version: int
    kind: PostalAddress.Kind = Field(None)  # type: ignore[assignment]
    street: str = Field(None, max_length=200)  # type: ignore[assignment]
    street2: str = Field(None, max_length=200)  # type: ignore[assignment]
    city: str = Field(None, max_length=100)  # type: ignore[assignment]
    region: str = Field(None, max_length=100)  # type: ignore[assignment]
    postal_code: str = Field(None, max_length=20)  # type: ignore[assignment]
    country: str = Field(None, max_length=2)  # type: ignore[assignment]
    is_primary: bool = Field(None)  # type: ignore[assignment]
    verified_at: ApiDateTime | None = None


# --- relationships -----------------------------------------------------------------------------


class ContactAccountOut(Schema):
    """A relationship seen from the contact: the account and the person's role there."""

    id: int
    version: int
    account: AccountRef
    role: str
    is_primary: bool
    started_on: datetime.date | None
    ended_on: datetime.date | None


class AccountMemberOut(Schema):
    """A relationship seen from the account: the person and their role."""

    id: int
    version: int
    contact: ContactRef
    role: str
    is_primary: bool
    started_on: datetime.date | None
    ended_on: datetime.date | None


class RelationshipIn(InputSchema):
    account_id: int
    role: str = Field("", max_length=100)
    is_primary: bool = False
    started_on: datetime.date | None = None
    ended_on: datetime.date | None = None


class RelationshipPatch(InputSchema):
    version: int
    role: str = Field(None, max_length=100)  # type: ignore[assignment]
    is_primary: bool = Field(None)  # type: ignore[assignment]
    started_on: datetime.date | None = None
    ended_on: datetime.date | None = None


# --- contacts ----------------------------------------------------------------------------------


def _names(tags: Any) -> list[str]:
    return [t.name for t in tags.all()]


def _first(manager: Any) -> Any:
    rows = list(manager.all())  # prefetched, primary first
    return rows[0] if rows else None


def _list_primary_phone(obj: Any) -> str | None:
    """A list row's primary phone from the `contacts_for_list`/`accounts_for_list`
    annotations: E.164, or as typed when it could not be parsed; None without a phone."""
    if obj.primary_phone_number is None:  # `number` is never NULL: no phone at all
        return None
    return obj.primary_phone_e164 or obj.primary_phone_number


# Detail schemas (records from `contact_get`/`account_get` or a service) read the related
# managers; list schemas read what the list selectors annotate and prefetch.
def _detail_primary_email(obj: Any) -> str | None:
    email = _first(obj.emailaddresss)
    return email.email if email else None


def _detail_primary_phone(obj: Any) -> str | None:
    phone = _first(obj.phonenumbers)
    return (phone.e164 or phone.number) if phone else None


class ContactListOut(Schema):
    """A list row: lean, but with the primary email and phone and the accounts. Read from a
    `selectors.contacts_for_list` queryset."""

    id: int
    version: int
    first_name: str
    last_name: str
    full_name: str
    job_title: str
    lifecycle_stage: str
    owner: UserRef | None
    team: TeamRef | None
    tags: list[str]
    primary_email: str | None
    primary_phone: str | None
    accounts: list[ContactAccountOut]
    custom_fields: dict[str, Any]
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return [t["name"] for t in obj.tag_list]

    @staticmethod
    def resolve_primary_email(obj: Any) -> str | None:
        return obj.primary_email

    resolve_primary_phone = staticmethod(_list_primary_phone)

    @staticmethod
    def resolve_accounts(obj: Any) -> list[Any]:
        return obj.account_links


class ContactOut(ContactListOut):
    prefix: str
    middle_name: str
    suffix: str
    date_of_birth: datetime.date | None
    description: str
    emails: list[EmailOut]
    phones: list[PhoneOut]
    addresses: list[AddressOut]

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return _names(obj.tags)

    resolve_primary_email = staticmethod(_detail_primary_email)
    resolve_primary_phone = staticmethod(_detail_primary_phone)

    @staticmethod
    def resolve_accounts(obj: Any) -> list[Any]:
        return list(obj.relationships.all())

    @staticmethod
    def resolve_emails(obj: Any) -> list[Any]:
        return list(obj.emailaddresss.all())

    @staticmethod
    def resolve_phones(obj: Any) -> list[Any]:
        return list(obj.phonenumbers.all())

    @staticmethod
    def resolve_addresses(obj: Any) -> list[Any]:
        return list(obj.postaladdresss.all())


class ContactIn(InputSchema):
    prefix: str = Field("", max_length=20)
    first_name: str = Field("", max_length=100)
    middle_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    suffix: str = Field("", max_length=20)
    job_title: str = Field("", max_length=150)
    date_of_birth: datetime.date | None = None
    description: str = ""
    lifecycle_stage: LifecycleStage = LifecycleStage.LEAD
    owner_id: int | None = Field(None, description="A user id; left out, the owner is you.")
    team_id: int | None = Field(None, description="Left out, the owner's team.")
    custom_fields: dict[str, Any] = {}
    tags: list[str] = Field([], description="Tag names; unknown tags are created.")
    emails: list[EmailIn] = []
    phones: list[PhoneIn] = []
    addresses: list[AddressIn] = []


class ContactPatch(InputSchema):
    """Change a contact. `version` is the one you read; a stale one answers 409.
    Fields left out stay as they are; `tags`, when given, replaces the contact's tags."""

    version: int
    prefix: str = Field(None, max_length=20)  # type: ignore[assignment]
    first_name: str = Field(None, max_length=100)  # type: ignore[assignment]
    middle_name: str = Field(None, max_length=100)  # type: ignore[assignment]
    last_name: str = Field(None, max_length=100)  # type: ignore[assignment]
    suffix: str = Field(None, max_length=20)  # type: ignore[assignment]
    job_title: str = Field(None, max_length=150)  # type: ignore[assignment]
    date_of_birth: datetime.date | None = None
    description: str = Field(None)  # type: ignore[assignment]
    lifecycle_stage: LifecycleStage = Field(None)  # type: ignore[assignment]
    owner_id: int | None = None
    team_id: int | None = None
    custom_fields: dict[str, Any] = Field(None)  # type: ignore[assignment, arg-type]
    tags: list[str] = Field(None)  # type: ignore[assignment, arg-type]


# --- accounts ----------------------------------------------------------------------------------


class AccountListOut(Schema):
    """A list row, read from a `selectors.accounts_for_list` queryset."""

    id: int
    version: int
    name: str
    domain: str
    industry: str
    lifecycle_stage: str
    parent: AccountRef | None
    owner: UserRef | None
    team: TeamRef | None
    tags: list[str]
    primary_email: str | None
    primary_phone: str | None
    custom_fields: dict[str, Any]
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return [t["name"] for t in obj.tag_list]

    @staticmethod
    def resolve_primary_email(obj: Any) -> str | None:
        return obj.primary_email

    resolve_primary_phone = staticmethod(_list_primary_phone)


class AccountOut(AccountListOut):
    employee_count: int | None
    annual_revenue: decimal.Decimal | None
    description: str
    emails: list[EmailOut]
    phones: list[PhoneOut]
    addresses: list[AddressOut]

    @staticmethod
    def resolve_tags(obj: Any) -> list[str]:
        return _names(obj.tags)

    resolve_primary_email = staticmethod(_detail_primary_email)
    resolve_primary_phone = staticmethod(_detail_primary_phone)

    @staticmethod
    def resolve_emails(obj: Any) -> list[Any]:
        return list(obj.emailaddresss.all())

    @staticmethod
    def resolve_phones(obj: Any) -> list[Any]:
        return list(obj.phonenumbers.all())

    @staticmethod
    def resolve_addresses(obj: Any) -> list[Any]:
        return list(obj.postaladdresss.all())


class AccountIn(InputSchema):
    name: str = Field(..., max_length=200)
    domain: str = Field("", max_length=200)
    industry: str = Field("", max_length=100)
    employee_count: int | None = Field(None, ge=0, le=2_147_483_647)
    annual_revenue: decimal.Decimal | None = Field(None, max_digits=16, decimal_places=2)
    description: str = ""
    parent_id: int | None = None
    lifecycle_stage: LifecycleStage = LifecycleStage.LEAD
    owner_id: int | None = Field(None, description="A user id; left out, the owner is you.")
    team_id: int | None = Field(None, description="Left out, the owner's team.")
    custom_fields: dict[str, Any] = {}
    tags: list[str] = []
    emails: list[EmailIn] = []
    phones: list[PhoneIn] = []
    addresses: list[AddressIn] = []


class AccountPatch(InputSchema):
    version: int
    name: str = Field(None, max_length=200)  # type: ignore[assignment]
    domain: str = Field(None, max_length=200)  # type: ignore[assignment]
    industry: str = Field(None, max_length=100)  # type: ignore[assignment]
    employee_count: int | None = Field(None, ge=0, le=2_147_483_647)
    annual_revenue: decimal.Decimal | None = Field(None, max_digits=16, decimal_places=2)
    description: str = Field(None)  # type: ignore[assignment]
    parent_id: int | None = None
    lifecycle_stage: LifecycleStage = Field(None)  # type: ignore[assignment]
    owner_id: int | None = None
    team_id: int | None = None
    custom_fields: dict[str, Any] = Field(None)  # type: ignore[assignment, arg-type]
    tags: list[str] = Field(None)  # type: ignore[assignment, arg-type]


# --- timeline ----------------------------------------------------------------------------------


class TimelineEntryOut(Schema):
    id: int
    version: int
    kind: str
    contact: ContactRef | None
    account: AccountRef | None
    occurred_at: datetime.datetime
    subject: str
    body: str
    data: dict[str, Any]
    author: UserRef | None
    due_at: datetime.datetime | None
    assignee: UserRef | None
    completed_at: datetime.datetime | None
    is_done: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime


class TimelineEntryIn(InputSchema):
    kind: str = Field(..., max_length=30, description="See GET /timeline-kinds.")
    subject: str = Field("", max_length=300)
    body: str = ""
    occurred_at: ApiDateTime | None = None
    data: dict[str, Any] = {}
    due_at: ApiDateTime | None = None
    assignee_id: int | None = Field(None, description="Tasks default to you.")


class TimelineEntryPatch(InputSchema):
    version: int
    subject: str = Field(None, max_length=300)  # type: ignore[assignment]
    body: str = Field(None)  # type: ignore[assignment]
    occurred_at: ApiDateTime = Field(None)  # type: ignore[assignment]
    data: dict[str, Any] = Field(None)  # type: ignore[assignment, arg-type]
    due_at: ApiDateTime | None = None
    assignee_id: int | None = None


class TimelineKindOut(Schema):
    key: str
    label: str
    icon: str
    user_creatable: bool
    has_due_date: bool
    data_schema: dict[str, Any]

    @staticmethod
    def resolve_data_schema(obj: Any) -> dict[str, Any]:
        return obj.data_schema.model_json_schema()


class TimelineParams(PageParams):
    kind: list[str] = Field([], description="Only these kinds (repeat the parameter).")


# --- pages, search, history --------------------------------------------------------------------


class ContactPage(Schema):
    results: list[ContactListOut]
    next_cursor: str | None
    previous_cursor: str | None


class AccountPage(Schema):
    results: list[AccountListOut]
    next_cursor: str | None
    previous_cursor: str | None


class TimelinePage(Schema):
    results: list[TimelineEntryOut]
    next_cursor: str | None
    previous_cursor: str | None


class MemberPage(Schema):
    results: list[AccountMemberOut]
    next_cursor: str | None
    previous_cursor: str | None


class TaskList(Schema):
    results: list[TimelineEntryOut]


class ContactHit(Schema):
    id: int
    full_name: str
    job_title: str
    lifecycle_stage: str
    primary_email: str | None
    primary_phone: str | None

    resolve_primary_email = staticmethod(ContactListOut.resolve_primary_email)  # list rows
    resolve_primary_phone = staticmethod(_list_primary_phone)


class AccountHit(Schema):
    id: int
    name: str
    domain: str
    lifecycle_stage: str


class SearchOut(Schema):
    contacts: list[ContactHit]
    accounts: list[AccountHit]


class HistoryEventOut(Schema):
    id: int
    action: str
    actor: UserRef | None
    actor_label: str
    time: datetime.datetime = Field(..., alias="created_at")
    request_id: str
    origin: str
    object_type: str
    object_id: int
    object_repr: str
    changes: dict[str, Any]

    @staticmethod
    def resolve_object_type(obj: Any) -> str:
        return obj.content_type.model


class HistoryPage(Schema):
    results: list[HistoryEventOut]
    next_cursor: str | None
    previous_cursor: str | None
