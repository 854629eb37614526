"""Every read of leads, through the permission chokepoint (`restrict`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from patron.customers.models import Account, Contact
from patron.quality import duplicates

from .models import AssignmentRule, Lead, LeadActivity, LeadScoringModel, ScoringRule, WebForm

# Free-mail domains say nothing about the company a lead works for.
FREE_MAIL = {
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "live.com",
    "icloud.com",
    "aol.com",
    "gmx.de",
    "web.de",
    "orange.fr",
    "free.fr",
    "proton.me",
    "protonmail.com",
}


def lead_visible(*, user: Any, action: str = "view") -> QuerySet[Lead]:
    return Lead.objects.restrict(user, action)


def leads_for_list(queryset: QuerySet[Lead]) -> QuerySet[Lead]:
    """What a list row shows, in a fixed number of queries."""
    return queryset.select_related("owner", "team")


def lead_get(*, user: Any, pk: int, action: str = "view") -> Lead:
    """One lead the user may act on, with what its page shows; DoesNotExist otherwise."""
    return (
        lead_visible(user=user, action=action)
        .select_related(
            "owner",
            "team",
            "web_form",
            "assignment_rule",
            "converted_contact",
            "converted_account",
            "converted_opportunity",
        )
        .get(pk=pk)
    )


def lead_activities(*, lead: Lead, limit: int = 100) -> list[LeadActivity]:
    """The lead's activities, newest first (the caller has read the lead through restrict)."""
    return list(lead.activities.order_by("-occurred_at", "-id")[:limit])


@dataclass
class ConversionCandidates:
    contacts: list[dict]
    accounts: list[dict]


def conversion_candidates(*, user: Any, lead: Lead) -> ConversionCandidates:
    """Existing customers the lead may already be, as the contact form's duplicate check
    finds them: contacts with its email, phone or name; accounts with its company's name or
    its email's (non free-mail) domain."""
    contacts = duplicates.candidates(
        user=user,
        model=Contact,
        emails=[lead.email] if lead.email else [],
        phones=[lead.phone_e164] if lead.phone_e164 else [],
        names={"first_name": lead.first_name, "last_name": lead.last_name},
    )
    domain = lead.email.rsplit("@", 1)[1].lower() if "@" in lead.email else ""
    accounts = duplicates.candidates(
        user=user,
        model=Account,
        emails=[],
        phones=[],
        names={"name": lead.company, "domain": "" if domain in FREE_MAIL else domain},
    )
    return ConversionCandidates(contacts=contacts, accounts=accounts)


def scoring_rules_visible(*, user: Any) -> QuerySet[ScoringRule]:
    return ScoringRule.objects.restrict(user, "view")


def assignment_rules_visible(*, user: Any) -> QuerySet[AssignmentRule]:
    return AssignmentRule.objects.restrict(user, "view").select_related(
        "owner", "team", "last_assigned"
    )


def web_forms_visible(*, user: Any) -> QuerySet[WebForm]:
    return WebForm.objects.restrict(user, "view")


def active_web_form(slug: str) -> WebForm:
    """The form behind a public capture URL (no user: the endpoint is public)."""
    return WebForm.objects.select_related("default_owner", "default_team").get(
        slug=slug, is_active=True
    )


def scoring_model_current(*, user: Any) -> LeadScoringModel | None:
    return LeadScoringModel.objects.restrict(user, "view").defer("blob").first()
