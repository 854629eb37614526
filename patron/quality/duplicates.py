"""Records that may describe the same customer as a given one, for the duplicates panel and
the merge screen: same email, same phone, or the same name. Reads only, through `restrict`."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower

from patron.customers.models import Account, Contact, EmailAddress, PhoneNumber


def likely_duplicates(*, user: Any, record: Contact | Account, limit: int = 8) -> list[dict]:
    """Other visible records sharing an email, a phone or the name with `record`, each with
    the reasons, strongest first."""
    model = type(record)
    parent = "contact" if model is Contact else "account"
    emails = [
        e.lower()
        for e in EmailAddress.objects.filter(**{parent: record}).values_list("email", flat=True)
    ]
    phones = list(
        PhoneNumber.objects.filter(**{parent: record})
        .exclude(e164="")
        .values_list("e164", flat=True)
    )
    reasons: dict[int, list[str]] = {}
    if emails:
        for other_id, email in (
            EmailAddress.objects.annotate(lowered=Lower("email"))
            .filter(lowered__in=emails, **{f"{parent}__isnull": False})
            .exclude(**{parent: record})
            .values_list(f"{parent}_id", "lowered")[:200]
        ):
            reasons.setdefault(other_id, []).append(f"same email {email}")
    if phones:
        for other_id, phone in (
            PhoneNumber.objects.filter(e164__in=phones, **{f"{parent}__isnull": False})
            .exclude(**{parent: record})
            .values_list(f"{parent}_id", "e164")[:200]
        ):
            reasons.setdefault(other_id, []).append(f"same phone {phone}")
    if model is Contact:
        assert isinstance(record, Contact)
        same_name = Q(first_name__iexact=record.first_name, last_name__iexact=record.last_name)
        if record.first_name and record.last_name:
            for other_id in (
                Contact.objects.filter(same_name)
                .exclude(pk=record.pk)
                .values_list("pk", flat=True)[:50]
            ):
                reasons.setdefault(other_id, []).append("same name")
    else:
        assert isinstance(record, Account)
        same = Q(name__iexact=record.name)
        if record.domain:
            same |= Q(domain__iexact=record.domain)
        for other_id in (
            Account.objects.filter(same).exclude(pk=record.pk).values_list("pk", flat=True)[:50]
        ):
            reasons.setdefault(other_id, []).append("same name or domain")
    visible = {r.pk: r for r in model.objects.restrict(user, "view").filter(pk__in=list(reasons))}
    ranked = sorted((pk for pk in reasons if pk in visible), key=lambda pk: (-len(reasons[pk]), pk))
    return [{"record": visible[pk], "reasons": reasons[pk]} for pk in ranked[:limit]]
