"""Demo leads for `patron demo`, through the services: two scoring rules, a round-robin
assignment rule for a team, a "Contact us" web form, leads from the form, imports and
manual entry with their activities, a few qualified ones converted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from patron.customers.demo import register_extension

from . import services
from .models import Lead, LeadActivity, ScoringRule

LEADS = 80
CONVERTED = 5
FIRST = ["Anna", "Luca", "Marie", "Jonas", "Sofia", "Pierre", "Emma", "Noah", "Elena", "Tom"]
LAST = ["Keller", "Rossi", "Dubois", "Schmidt", "Garcia", "Martin", "Novak", "Berg", "Silva"]
COMPANIES = [
    "Northwind Logistics",
    "Bluefin Analytics",
    "Harbour Foods",
    "Alpine Robotics",
    "Cobalt Energy",
    "Meridian Health",
    "Lumen Retail",
    "Orchid Travel",
    "Granite Build",
    "Vela Software",
]
TITLES = ["Operations manager", "CTO", "Head of sales", "Procurement lead", "CEO", "IT manager"]
COUNTRIES = ["FR", "DE", "GB", "ES", "IT", "NL", "BE", "US"]
CAMPAIGNS = ["Spring webinar", "Trade fair 2026", "Newsletter", ""]
STATUSES = [
    Lead.Status.NEW,
    Lead.Status.NEW,
    Lead.Status.WORKING,
    Lead.Status.NURTURING,
    Lead.Status.QUALIFIED,
    Lead.Status.DISQUALIFIED,
]


def load(ctx: Any) -> None:
    if Lead.objects.exists():
        return
    rng = ctx.rng
    actor = ctx.admin
    services.scoring_rule_create(
        actor=actor,
        data={
            "name": "Mid-size and larger companies",
            "kind": ScoringRule.Kind.FIT,
            "field": "employees",
            "operator": ScoringRule.Operator.GREATER_THAN,
            "value": "200",
            "points": 20,
        },
    )
    services.scoring_rule_create(
        actor=actor,
        data={
            "name": "Booked a meeting",
            "kind": ScoringRule.Kind.ENGAGEMENT,
            "field": LeadActivity.Kind.MEETING_BOOKED,
            "operator": ScoringRule.Operator.EXISTS,
            "value": "",
            "points": 30,
        },
    )
    team = next(iter(ctx.staff.owners_by_team))
    team_obj = ctx.staff.owners_by_team[team][0].team
    services.assignment_rule_create(
        actor=actor,
        data={
            "name": f"Round robin in {team}",
            "kind": "round_robin",
            "priority": 100,
            "team": team_obj,
        },
    )
    web_form = services.web_form_create(
        actor=actor,
        data={
            "name": "Contact us",
            "slug": "contact-us",
            "allowed_fields": [*services.DEFAULT_FORM_FIELDS],
            "default_team": team_obj,
            "campaign": "Website",
        },
    )
    n_leads = max(12, int(LEADS * min(1.0, ctx.contacts / 1000)))
    now = timezone.now()
    qualified: list[Lead] = []
    for i in range(n_leads):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = rng.choice(COMPANIES)
        email = f"{first}.{last}.{i}@{company.split()[0]}.example".lower()
        if i % 3 == 0:
            lead = services.lead_capture(
                web_form=web_form,
                values={
                    "first_name": first,
                    "last_name": last,
                    "email": email,
                    "company": company,
                    "job_title": rng.choice(TITLES),
                },
                page="/contact",
            )
        else:
            status = rng.choice(STATUSES)
            data: dict[str, Any] = {
                "first_name": first,
                "last_name": last,
                "email": email,
                "company": company,
                "job_title": rng.choice(TITLES),
                "country": rng.choice(COUNTRIES),
                "employees": rng.choice([8, 25, 60, 150, 400, 1200, 5000]),
                "campaign": rng.choice(CAMPAIGNS),
                "status": status,
            }
            if status == Lead.Status.DISQUALIFIED:
                data["disqualified_reason"] = rng.choice(["No budget", "Student", "Competitor"])
            lead = services.lead_create(
                actor=actor, data=data, source=rng.choice(["manual", "import", "api"])
            )
        for _ in range(rng.randint(0, 4)):
            services.lead_activity_add(
                actor=actor,
                lead=lead,
                data={
                    "kind": rng.choice(LeadActivity.Kind.values),
                    "occurred_at": now - dt.timedelta(hours=rng.randint(1, 24 * 60)),
                    "detail": rng.choice(["Pricing page", "Product tour", "Case study", ""]),
                },
            )
        if lead.status == Lead.Status.QUALIFIED and lead.company:
            qualified.append(lead)
    converted = 0
    for lead in qualified[:CONVERTED]:
        lead.refresh_from_db()
        services.lead_convert(
            actor=actor,
            lead=lead,
            opportunity={
                "name": f"{lead.company} – first order",
                "amount": Decimal(rng.randrange(10, 200) * 500),
                "currency": "EUR",
                "expected_close_date": ctx.today + dt.timedelta(days=rng.randint(14, 120)),
            },
        )
        converted += 1
    ctx.say(f"{n_leads} leads ({converted} converted), 2 scoring rules, a round-robin rule.")


register_extension("leads", load)
