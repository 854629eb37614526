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
    emails = list(EmailAddress.objects.filter(**{parent: record}).values_list("email", flat=True))
    phones = list(
        PhoneNumber.objects.filter(**{parent: record})
        .exclude(e164="")
        .values_list("e164", flat=True)
    )
    if isinstance(record, Contact):
        names = {"first_name": record.first_name, "last_name": record.last_name}
    else:
        names = {"name": record.name, "domain": record.domain}
    return candidates(
        user=user,
        model=model,
        emails=emails,
        phones=phones,
        names=names,
        exclude=record.pk,
        limit=limit,
    )


def candidates(
    *,
    user: Any,
    model: type[Contact] | type[Account],
    emails: list[str],
    phones: list[str],
    names: dict[str, str],
    exclude: int | None = None,
    limit: int = 8,
) -> list[dict]:
    """Visible records with one of these emails (any case) or E.164 phones, or this name;
    every lookup uses an index, so it stays fast on a million customers (the duplicate check
    runs while someone types)."""
    parent = "contact" if model is Contact else "account"
    emails = [e.strip().lower() for e in emails if e and e.strip()]
    phones = [p for p in phones if p]
    reasons: dict[int, list[str]] = {}
    if emails:
        for other_id, email in (
            EmailAddress.objects.annotate(lowered=Lower("email"))
            .filter(lowered__in=emails, **{f"{parent}__isnull": False})
            .values_list(f"{parent}_id", "lowered")[:200]
        ):
            reasons.setdefault(other_id, []).append(f"same email {email}")
    if phones:
        for other_id, phone in PhoneNumber.objects.filter(
            e164__in=phones, **{f"{parent}__isnull": False}
        ).values_list(f"{parent}_id", "e164")[:200]:
            reasons.setdefault(other_id, []).append(f"same phone {phone}")
    if model is Contact:
        first, last = names.get("first_name", "").strip(), names.get("last_name", "").strip()
        if first and last:
            # The name index is on (last_name, first_name): look the surname up as typed and
            # capitalised, compare the first name in any case.
            same_name = Contact.objects.filter(
                last_name__in={last, last.title()}, first_name__iexact=first
            )
            for other_id in same_name.values_list("pk", flat=True)[:50]:
                reasons.setdefault(other_id, []).append("same name")
    else:
        name, domain = names.get("name", "").strip(), names.get("domain", "").strip()
        same = Q(name__in={name, name.title()}) if name else Q()
        if domain:
            same |= Q(domain__iexact=domain)
        if same:
            for other_id in Account.objects.filter(same).values_list("pk", flat=True)[:50]:
                reasons.setdefault(other_id, []).append("same name or domain")
    reasons.pop(exclude or -1, None)
    visible = {r.pk: r for r in model.objects.restrict(user, "view").filter(pk__in=list(reasons))}
    ranked = sorted((pk for pk in reasons if pk in visible), key=lambda pk: (-len(reasons[pk]), pk))
    return [{"record": visible[pk], "reasons": reasons[pk]} for pk in ranked[:limit]]
