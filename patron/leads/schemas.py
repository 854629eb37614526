"""Leads API schemas: they parse and shape only; writes go through `services`."""

from __future__ import annotations

import datetime
import decimal
from typing import Any, Literal

from django.urls import reverse
from ninja import Field, Schema

from patron.core.schemas import ApiDateTime, InputSchema, TeamRef, UserRef

from . import capture, routing, scoring, services

MAX_ID = 2**63 - 1
Status = Literal["new", "working", "nurturing", "qualified", "disqualified"]
Source = Literal["web_form", "api", "import", "manual"]
ActivityKind = Literal["email_opened", "page_visited", "form_submitted", "meeting_booked"]
RuleKind = Literal["fit", "engagement"]
RuleField = Literal[tuple(name for name, _ in scoring.field_choices())]  # type: ignore[valid-type]
RuleOperator = Literal["equals", "in", "contains", "gt", "exists"]
AssignmentKind = Literal["territory", "size", "round_robin", "fallback"]
FormField = Literal[tuple(services.FORM_FIELDS)]  # type: ignore[valid-type]
SLUG = r"^[a-z0-9][a-z0-9-]*$"
MAX_ORDER = 100_000
MAX_EMPLOYEES = 10_000_000
Country = Field(None, pattern=r"^[A-Za-z]{2}$", description="ISO 3166-1 alpha-2, e.g. FR.")


class ScoreReasonOut(Schema):
    kind: str
    points: int
    reason: str


class PredictionReasonOut(Schema):
    feature: str
    weight: float


class RecordRef(Schema):
    id: int
    name: str


class ContactRef(Schema):
    id: int
    name: str = Field(..., alias="full_name")


class LeadOut(Schema):
    id: int
    version: int
    first_name: str
    last_name: str
    email: str
    phone: str
    phone_e164: str
    company: str
    job_title: str
    country: str
    region: str
    employees: int | None
    annual_revenue: decimal.Decimal | None = Field(..., description="Exact, as a string.")
    source: str
    web_form_id: int | None
    campaign: str
    utm_source: str
    utm_medium: str
    utm_campaign: str
    utm_term: str
    utm_content: str
    status: str
    disqualified_reason: str
    owner: UserRef | None
    team: TeamRef | None
    assignment_reason: str
    score: int
    fit_score: int
    engagement_score: int
    score_breakdown: list[ScoreReasonOut]
    predicted_probability: float | None = Field(
        ..., description="From the learned model; null while there is too little history."
    )
    prediction_reasons: list[PredictionReasonOut]
    converted_contact: ContactRef | None
    converted_account: RecordRef | None
    converted_opportunity: RecordRef | None
    converted_at: datetime.datetime | None
    last_activity_at: datetime.datetime | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


class LeadPage(Schema):
    results: list[LeadOut]
    next_cursor: str | None
    previous_cursor: str | None


class LeadIn(InputSchema):
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    email: str = Field("", max_length=254)
    phone: str = Field("", max_length=50)
    company: str = Field("", max_length=200)
    job_title: str = Field("", max_length=150)
    country: str | None = Country
    region: str = Field("", max_length=100)
    employees: int | None = Field(None, ge=0, le=10_000_000)
    annual_revenue: decimal.Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    source: Source = Field("api", description="Where the lead came from.")
    campaign: str = Field("", max_length=200)
    utm_source: str = Field("", max_length=200)
    utm_medium: str = Field("", max_length=200)
    utm_campaign: str = Field("", max_length=200)
    utm_term: str = Field("", max_length=200)
    utm_content: str = Field("", max_length=200)
    status: Status = "new"
    disqualified_reason: str = Field("", max_length=300)
    owner_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Left out, the assignment rules choose (else you)."
    )
    team_id: int | None = Field(None, ge=1, le=MAX_ID, description="Left out, the owner's team.")


class LeadPatch(InputSchema):
    version: int = Field(..., ge=1, le=2_147_483_647, description="The version you read.")
    first_name: str = Field(None, max_length=100)  # type: ignore[assignment]
    last_name: str = Field(None, max_length=100)  # type: ignore[assignment]
    email: str = Field(None, max_length=254)  # type: ignore[assignment]
    phone: str = Field(None, max_length=50)  # type: ignore[assignment]
    company: str = Field(None, max_length=200)  # type: ignore[assignment]
    job_title: str = Field(None, max_length=150)  # type: ignore[assignment]
    country: str = Field(None, pattern=r"^([A-Za-z]{2})?$")  # type: ignore[assignment]
    region: str = Field(None, max_length=100)  # type: ignore[assignment]
    employees: int | None = Field(None, ge=0, le=10_000_000)
    annual_revenue: decimal.Decimal | None = Field(None, ge=0, max_digits=16, decimal_places=2)
    campaign: str = Field(None, max_length=200)  # type: ignore[assignment]
    utm_source: str = Field(None, max_length=200)  # type: ignore[assignment]
    utm_medium: str = Field(None, max_length=200)  # type: ignore[assignment]
    utm_campaign: str = Field(None, max_length=200)  # type: ignore[assignment]
    utm_term: str = Field(None, max_length=200)  # type: ignore[assignment]
    utm_content: str = Field(None, max_length=200)  # type: ignore[assignment]
    status: Status = Field(None)  # type: ignore[assignment, arg-type]
    disqualified_reason: str = Field(None, max_length=300)  # type: ignore[assignment]
    owner_id: int | None = Field(None, ge=1, le=MAX_ID)
    team_id: int | None = Field(None, ge=1, le=MAX_ID)


class ActivityIn(InputSchema):
    kind: ActivityKind
    occurred_at: ApiDateTime | None = Field(None, description="Left out, now.")
    detail: str = Field("", max_length=500, description="A page, an email subject…")


class ActivityOut(Schema):
    id: int
    kind: str
    occurred_at: datetime.datetime
    detail: str


class CandidateOut(Schema):
    id: int
    name: str
    reasons: list[str]


class CandidatesOut(Schema):
    contacts: list[CandidateOut]
    accounts: list[CandidateOut]


class ConvertOpportunityIn(InputSchema):
    name: str = Field("", max_length=200, description="Left out, '<company>: new business'.")
    amount: decimal.Decimal = Field(decimal.Decimal("0"), ge=0, max_digits=14, decimal_places=2)
    currency: str | None = Field(None, pattern=r"^[A-Za-z]{3}$")
    expected_close_date: datetime.date | None = None


class ConvertIn(InputSchema):
    version: int = Field(..., ge=1, le=2_147_483_647, description="The version you read.")
    contact_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="An existing contact to use; left out, a new one."
    )
    account_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="An existing account to use; left out, a new one."
    )
    create_account: bool = Field(
        True, description="Without account_id: create an account from the company (or none)."
    )
    opportunity: ConvertOpportunityIn | None = Field(
        None, description="Given, an opportunity is opened on the account."
    )


class ConvertOut(Schema):
    lead: LeadOut
    contact_id: int
    account_id: int | None
    opportunity_id: int | None


class ImportIn(InputSchema):
    rows: list[dict[str, str | int | float | None]] = Field(
        ..., max_length=1000, description="Rows keyed by lead field (first_name, email, …)."
    )


class ImportErrorOut(Schema):
    row: int = Field(..., description="1 for the first row sent.")
    reason: str


class ImportOut(Schema):
    created: list[int]
    errors: list[ImportErrorOut]


# --- configuration: scoring rules, assignment rules, web forms ---------------------------------


class ScoringRuleOut(Schema):
    id: int
    version: int
    name: str
    kind: str
    field: str
    operator: str
    value: str
    points: int
    is_active: bool
    order: int
    reason: str = Field(..., description="How the rule reads on a lead page.")
    created_at: datetime.datetime

    @staticmethod
    def resolve_reason(obj: Any) -> str:
        return scoring.rule_reason(obj)


class ScoringRuleIn(InputSchema):
    name: str = Field("", max_length=100)
    kind: RuleKind = Field(
        "fit", description="Fit reads the lead's fields; engagement its activities."
    )
    field: RuleField = Field(  # type: ignore[valid-type]
        ..., description="A lead field (fit) or an activity kind / `activities` (engagement)."
    )
    operator: RuleOperator
    value: str = Field(
        "", max_length=300, description="For `in`, values separated by commas; not for `exists`."
    )
    points: int = Field(..., ge=-1000, le=1000)
    is_active: bool = True
    order: int = Field(0, ge=0, le=MAX_ORDER)


class ScoringRulePatch(InputSchema):
    version: int = Field(..., ge=1, le=2_147_483_647, description="The version you read.")
    name: str = Field(None, max_length=100)  # type: ignore[assignment]
    kind: RuleKind = Field(None)  # type: ignore[assignment, arg-type]
    field: RuleField = Field(None)  # type: ignore[valid-type]
    operator: RuleOperator = Field(None)  # type: ignore[assignment, arg-type]
    value: str = Field(None, max_length=300)  # type: ignore[assignment]
    points: int = Field(None, ge=-1000, le=1000)  # type: ignore[assignment]
    is_active: bool = Field(None)  # type: ignore[assignment]
    order: int = Field(None, ge=0, le=MAX_ORDER)  # type: ignore[assignment]


class AssignmentRuleOut(Schema):
    id: int
    version: int
    name: str
    kind: str
    priority: int
    countries: str
    regions: str
    min_employees: int | None
    max_employees: int | None
    owner: UserRef | None
    team: TeamRef | None
    is_active: bool
    condition: str = Field(..., description="What the rule matches, in words.")
    created_at: datetime.datetime

    @staticmethod
    def resolve_condition(obj: Any) -> str:
        return routing.describe(obj)


class AssignmentRuleIn(InputSchema):
    name: str = Field(..., max_length=100)
    kind: AssignmentKind
    priority: int = Field(100, ge=0, le=MAX_ORDER, description="Lower runs first.")
    countries: str = Field("", max_length=300, description="ISO codes separated by commas.")
    regions: str = Field("", max_length=300, description="Regions separated by commas.")
    min_employees: int | None = Field(None, ge=0, le=MAX_EMPLOYEES)
    max_employees: int | None = Field(None, ge=0, le=MAX_EMPLOYEES)
    owner_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Assign to this user; left out, rotate in the team."
    )
    team_id: int | None = Field(None, ge=1, le=MAX_ID, description="The team taking turns.")
    is_active: bool = True


class AssignmentRulePatch(InputSchema):
    version: int = Field(..., ge=1, le=2_147_483_647, description="The version you read.")
    name: str = Field(None, max_length=100)  # type: ignore[assignment]
    kind: AssignmentKind = Field(None)  # type: ignore[assignment, arg-type]
    priority: int = Field(None, ge=0, le=MAX_ORDER)  # type: ignore[assignment]
    countries: str = Field(None, max_length=300)  # type: ignore[assignment]
    regions: str = Field(None, max_length=300)  # type: ignore[assignment]
    min_employees: int | None = Field(None, ge=0, le=MAX_EMPLOYEES)
    max_employees: int | None = Field(None, ge=0, le=MAX_EMPLOYEES)
    owner_id: int | None = Field(None, ge=1, le=MAX_ID)
    team_id: int | None = Field(None, ge=1, le=MAX_ID)
    is_active: bool = Field(None)  # type: ignore[assignment]


class WebFormOut(Schema):
    id: int
    name: str
    slug: str
    allowed_fields: list[str]
    form_fields: list[str] = Field(..., description="The lead fields the form fills, in order.")
    default_owner: UserRef | None
    default_team: TeamRef | None
    campaign: str
    redirect_url: str
    is_active: bool
    capture_url: str = Field(..., description="Where the form posts its leads.")
    embed_snippet: str = Field(..., description="The HTML to paste into a web page.")
    created_at: datetime.datetime

    @staticmethod
    def resolve_form_fields(obj: Any) -> list[str]:
        return services.form_fields(obj)

    @staticmethod
    def _base_url(context: Any) -> str:
        request = (context or {}).get("request")
        return request.build_absolute_uri("/") if request is not None else "/"

    @staticmethod
    def resolve_capture_url(obj: Any, context: Any = None) -> str:
        base = WebFormOut._base_url(context).rstrip("/")
        return base + reverse("lead_capture", args=[obj.slug])

    @staticmethod
    def resolve_embed_snippet(obj: Any, context: Any = None) -> str:
        return capture.embed_snippet(obj, WebFormOut._base_url(context))


class WebFormIn(InputSchema):
    name: str = Field(..., max_length=100)
    slug: str = Field(..., max_length=50, pattern=SLUG, description="Used in the form's address.")
    allowed_fields: list[FormField] = Field(  # type: ignore[valid-type]
        [], max_length=20, description="Left empty: name, email, phone, company, job title."
    )
    default_owner_id: int | None = Field(
        None, ge=1, le=MAX_ID, description="Owner when no assignment rule matches."
    )
    default_team_id: int | None = Field(None, ge=1, le=MAX_ID)
    campaign: str = Field("", max_length=200, description="Tag given to the form's leads.")
    redirect_url: str = Field("", max_length=500, description="Where a browser goes after.")
    is_active: bool = True


class WebFormPatch(InputSchema):
    name: str = Field(None, max_length=100)  # type: ignore[assignment]
    slug: str = Field(None, max_length=50, pattern=SLUG)  # type: ignore[assignment]
    allowed_fields: list[FormField] = Field(None, max_length=20)  # type: ignore[valid-type, arg-type]
    default_owner_id: int | None = Field(None, ge=1, le=MAX_ID)
    default_team_id: int | None = Field(None, ge=1, le=MAX_ID)
    campaign: str = Field(None, max_length=200)  # type: ignore[assignment]
    redirect_url: str = Field(None, max_length=500)  # type: ignore[assignment]
    is_active: bool = Field(None)  # type: ignore[assignment]


def candidate_out(found: dict[str, Any], name_attr: str) -> dict[str, Any]:
    record = found["record"]
    return {"id": record.pk, "name": getattr(record, name_attr), "reasons": found["reasons"]}
