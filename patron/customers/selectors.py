"""Every read of customer data, always through the permission chokepoint."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from patron.core import audit
from patron.core.models import AuditEvent
from patron.core.permissions import organisation_settings

from . import search
from .models import (
    Account,
    AccountRelationship,
    Contact,
    EmailAddress,
    PhoneNumber,
    PostalAddress,
    TimelineEntry,
)


def contacts_for_list(qs: QuerySet[Contact]) -> QuerySet[Contact]:
    """What a list row shows (owner, primary email/phone, accounts, tags) in a fixed number of
    queries, whatever the page size."""
    return qs.select_related("owner", "team").prefetch_related(
        Prefetch("emailaddresss", queryset=EmailAddress.objects.order_by("-is_primary", "id")),
        Prefetch("phonenumbers", queryset=PhoneNumber.objects.order_by("-is_primary", "id")),
        Prefetch("relationships",
                 queryset=AccountRelationship.objects.select_related("account")
                 .order_by("-is_primary", "id")),
        "tags",
    )


def accounts_for_list(qs: QuerySet[Account]) -> QuerySet[Account]:
    return qs.select_related("owner", "team", "parent").prefetch_related(
        Prefetch("emailaddresss", queryset=EmailAddress.objects.order_by("-is_primary", "id")),
        Prefetch("phonenumbers", queryset=PhoneNumber.objects.order_by("-is_primary", "id")),
        "tags",
    )


def contact_visible(*, user: Any, action: str = "view") -> QuerySet[Contact]:
    return Contact.objects.restrict(user, action)


def account_visible(*, user: Any, action: str = "view") -> QuerySet[Account]:
    return Account.objects.restrict(user, action)


def contact_get(*, user: Any, pk: int, action: str = "view") -> Contact:
    """The contact if `user` may `action` it; Contact.DoesNotExist otherwise (a 404)."""
    return contacts_for_list(contact_visible(user=user, action=action)).prefetch_related(
        Prefetch("postaladdresss", queryset=PostalAddress.objects.order_by("-is_primary", "id"))
    ).get(pk=pk)


def account_get(*, user: Any, pk: int, action: str = "view") -> Account:
    return accounts_for_list(account_visible(user=user, action=action)).prefetch_related(
        Prefetch("postaladdresss", queryset=PostalAddress.objects.order_by("-is_primary", "id"))
    ).get(pk=pk)


def account_members(*, user: Any, account: Account) -> QuerySet[AccountRelationship]:
    """The people at an account that `user` may see, with their role."""
    return (AccountRelationship.objects.restrict(user, "view")
            .filter(account=account).select_related("contact").order_by("contact__last_name"))


def timeline_for(*, user: Any, contact: Contact | None = None, account: Account | None = None,
                 kinds: Iterable[str] | None = None, include_contacts: bool = True
                 ) -> QuerySet[TimelineEntry]:
    """A contact's or account's timeline, newest first. An account's timeline also shows
    the entries of the people at it (as in most CRMs) unless `include_contacts` is False."""
    qs = TimelineEntry.objects.restrict(user, "view")
    if contact is not None:
        qs = qs.filter(contact=contact)
    elif account is not None:
        condition = Q(account=account)
        if include_contacts:
            condition |= Q(contact__in=AccountRelationship.objects.filter(account=account)
                           .values("contact_id"))
        qs = qs.filter(condition)
    else:
        raise ValueError("timeline_for needs a contact or an account")
    if kinds:
        qs = qs.filter(kind__in=list(kinds))
    return qs.select_related("author", "assignee", "contact", "account").order_by(
        "-occurred_at", "-id"
    )


def open_tasks_for(*, user: Any) -> QuerySet[TimelineEntry]:
    """"My open tasks": assigned to the user, not done, soonest due first."""
    return (TimelineEntry.objects.restrict(user, "view")
            .filter(kind="task", assignee=user, completed_at__isnull=True)
            .select_related("contact", "account")
            .order_by("due_at", "id"))


def global_search(*, user: Any, query: str, limit: int = 8) -> dict[str, list[Any]]:
    """Contacts and accounts matching `query` (name, email, phone in any format)."""
    region = organisation_settings().default_phone_region
    contacts = search.apply_search(contact_visible(user=user), query, region=region)
    accounts = search.apply_search(account_visible(user=user), query, region=region)
    return {
        "contacts": list(contacts_for_list(contacts).order_by("last_name", "first_name", "id")
                         [:limit]),
        "accounts": list(accounts.order_by("name", "id")[:limit]),
    }


def history_for(*, user: Any, record: Contact | Account) -> QuerySet[AuditEvent]:
    """Field history of a record the caller has already fetched through `restrict`."""
    return audit.history_for(record)


def tag_names() -> list[str]:
    """Every tag's name, for filter pickers (tags are labels, not customer records)."""
    from .models import Tag

    return list(Tag.objects.order_by("name").values_list("name", flat=True))
