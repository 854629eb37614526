"""Leads API: leads (create, list with filters and cursor pagination, read, update, delete),
their activities, the existing customers a lead may be, conversion and bulk import; and the
configuration behind them (`leadrule.*`): scoring rules, assignment rules and web forms.
Parse, call the selectors and services, shape — nothing else.

No `from __future__ import annotations`: `@idempotent` operations need real annotations."""

from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Status

from patron.core.idempotency import idempotent
from patron.core.models import Team, User
from patron.core.permissions import require
from patron.core.schemas import ERRORS, WRITE_ERRORS, PageParams
from patron.customers import selectors as customer_selectors
from patron.customers.models import Contact
from patron.utils.cursor import paginate

from . import selectors, services
from .filters import LEAD_ORDERINGS, LeadFilterSet
from .models import AssignmentRule, Lead, ScoringRule, WebForm
from .schemas import (
    MAX_ID,
    ActivityIn,
    ActivityOut,
    AssignmentRuleIn,
    AssignmentRuleOut,
    AssignmentRulePatch,
    CandidatesOut,
    ConvertIn,
    ConvertOut,
    ImportIn,
    ImportOut,
    LeadIn,
    LeadOut,
    LeadPage,
    LeadPatch,
    ScoringRuleIn,
    ScoringRuleOut,
    ScoringRulePatch,
    Source,
    WebFormIn,
    WebFormOut,
    WebFormPatch,
    candidate_out,
)
from .schemas import (
    Status as LeadStatus,
)

router = Router()

REFERENCES = {"owner_id": "owner", "team_id": "team"}
LIST_PARAMETERS = ("ordering", "cursor", "limit")


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,return-value]


def _resolve(data: dict[str, Any], references: dict[str, str] = REFERENCES) -> dict[str, Any]:
    """User and team ids (`references`: API name -> model field) to records; an unknown id
    is a 400 on its field."""
    result: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for name, value in data.items():
        if name not in references:
            result[name] = value
            continue
        queryset: QuerySet
        if name.endswith("owner_id"):
            queryset, label = User.objects.filter(is_active=True), "user"
        else:
            queryset, label = Team.objects.all(), "team"
        record = None if value is None else queryset.filter(pk=value).first()
        if value is not None and record is None:
            errors[name] = [f"There is no {label} with id {value}."]
        result[references[name]] = record
    if errors:
        raise ValidationError(errors)
    return result


def _rename_errors(
    exc: ValidationError, references: dict[str, str] = REFERENCES
) -> ValidationError:
    """A service's errors on `owner`, `team`… under the names the client sent."""
    if not hasattr(exc, "error_dict"):
        return exc
    back = {field: given for given, field in references.items()}
    return ValidationError({back.get(k, k): v for k, v in exc.error_dict.items()})


class LeadListParams(PageParams):
    q: str | None = Field(None, max_length=100, description="Name, email or company contains.")
    status: list[LeadStatus | Literal["converted"]] | None = Field(
        None, description="One or more statuses."
    )
    source: Source | None = None
    owner: str | None = Field(None, max_length=20, description="A user id, `me` or `none`.")
    team: int | None = Field(None, ge=1, le=MAX_ID)
    min_score: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    max_score: int | None = Field(None, ge=-1_000_000, le=1_000_000)
    campaign: str | None = Field(None, max_length=200)
    country: str | None = Field(None, max_length=2)
    ordering: Literal[tuple(LEAD_ORDERINGS)] = Field(  # type: ignore[valid-type]
        "-score", description="Sort order (best score first by default)."
    )


@router.get(
    "/leads",
    response={200: LeadPage, **ERRORS},
    tags=["Leads"],
    description="Leads you may see, filtered and ordered, one page at a time.",
)
def lead_list(request: HttpRequest, params: Query[LeadListParams]):
    user = _actor(request)
    filterset = LeadFilterSet(request.GET, queryset=selectors.lead_visible(user=user), user=user)
    unknown = sorted(set(request.GET) - set(filterset.filters) - set(LIST_PARAMETERS))
    if unknown:
        raise ValidationError({name: ["Unknown parameter."] for name in unknown})
    queryset = selectors.leads_for_list(filterset.filtered())
    try:
        page = paginate(
            queryset,
            ordering=LEAD_ORDERINGS[params.ordering],
            cursor=params.cursor,
            limit=params.limit,
        )
    except (ValueError, TypeError) as exc:
        if not params.cursor:
            raise
        raise ValidationError({"cursor": ["This cursor is not valid."]}) from exc
    return {
        "results": page.items,
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }


@router.post("/leads", response={201: LeadOut, **ERRORS}, tags=["Leads"])
@idempotent
def lead_create(request: HttpRequest, payload: LeadIn):
    """Create a lead. Left out, the owner is chosen by the assignment rules (else you); the
    lead is scored at once. Disqualifying needs a `disqualified_reason`."""
    user = _actor(request)
    data = payload.model_dump(exclude_unset=True)
    source = data.pop("source", Lead.Source.API)
    if data.get("country") is None:
        data.pop("country", None)
    try:
        lead = services.lead_create(actor=user, data=_resolve(data), source=source)
    except ValidationError as exc:
        raise _rename_errors(exc) from None
    return Status(201, selectors.lead_get(user=user, pk=lead.pk))


@router.post("/leads/import", response={200: ImportOut, **ERRORS}, tags=["Leads"])
@idempotent
def lead_import(request: HttpRequest, payload: ImportIn):
    """Create many leads at once (at most 1,000 rows). Every row is its own write: refused
    rows are listed with their number (1 for the first) and reason; the others are kept."""
    user = _actor(request)
    rows = [{k: "" if v is None else str(v) for k, v in row.items()} for row in payload.rows]
    result = services.leads_import(actor=user, rows=rows, first_line=1)
    return {
        "created": [lead.pk for lead in result.created],
        "errors": [{"row": line, "reason": reason} for line, reason in result.errors],
    }


# --- configuration: scoring rules, assignment rules, web forms (`leadrule.*`) -----------------
# Declared before /leads/{lead_id}: "/leads/scoring-rules" must not be read as a lead id.

RULE_TAGS = ["Lead rules"]
FORM_REFERENCES = {"default_owner_id": "default_owner", "default_team_id": "default_team"}


def _not_null(data: dict[str, Any], nullable: tuple[str, ...] = ()) -> None:
    for name, value in data.items():
        if value is None and name not in nullable:
            raise ValidationError({name: ["This field may not be null."]})


def _readable(request: HttpRequest) -> User:
    """The caller, who must hold `leadrule.view` (403 otherwise, not an empty list)."""
    user = _actor(request)
    require(user, "leadrule.view")
    return user


def _scoring_rule(user: User, rule_id: int) -> ScoringRule:
    return selectors.scoring_rules_visible(user=user).get(pk=rule_id)


def _assignment_rule(user: User, rule_id: int) -> AssignmentRule:
    return selectors.assignment_rules_visible(user=user).get(pk=rule_id)


def _web_form(user: User, form_id: int) -> WebForm:
    return (
        selectors.web_forms_visible(user=user)
        .select_related("default_owner", "default_team")
        .get(pk=form_id)
    )


@router.get("/leads/scoring-rules", response={200: list[ScoringRuleOut], **ERRORS}, tags=RULE_TAGS)
def scoring_rule_list(request: HttpRequest):
    """The scoring rules, fit rules first, each in its order (needs `leadrule.view`)."""
    return list(selectors.scoring_rules_visible(user=_readable(request)))


@router.post("/leads/scoring-rules", response={201: ScoringRuleOut, **ERRORS}, tags=RULE_TAGS)
@idempotent
def scoring_rule_create(request: HttpRequest, payload: ScoringRuleIn):
    """Add a scoring rule (needs `leadrule.add`); the open leads are rescored in the
    background once it is saved. A fit rule reads a lead field, an engagement rule an
    activity count; `gt` compares with a number and `exists` takes no value."""
    user = _actor(request)
    rule = services.scoring_rule_create(actor=user, data=payload.model_dump())
    return Status(201, _scoring_rule(user, rule.pk))


@router.get(
    "/leads/scoring-rules/{rule_id}", response={200: ScoringRuleOut, **ERRORS}, tags=RULE_TAGS
)
def scoring_rule_detail(request: HttpRequest, rule_id: int):
    return _scoring_rule(_readable(request), rule_id)


@router.patch(
    "/leads/scoring-rules/{rule_id}",
    response={200: ScoringRuleOut, **WRITE_ERRORS},
    tags=RULE_TAGS,
)
def scoring_rule_update(request: HttpRequest, rule_id: int, payload: ScoringRulePatch):
    """Change a scoring rule (needs `leadrule.change`); send the `version` you read (a stale
    one answers 409). The open leads are rescored in the background."""
    user = _readable(request)
    rule = _scoring_rule(user, rule_id)
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    _not_null(data)
    services.scoring_rule_update(actor=user, rule=rule, expected_version=payload.version, data=data)
    return _scoring_rule(user, rule_id)


@router.delete("/leads/scoring-rules/{rule_id}", response={204: None, **ERRORS}, tags=RULE_TAGS)
def scoring_rule_delete(request: HttpRequest, rule_id: int):
    """Delete a scoring rule (needs `leadrule.delete`); the open leads are rescored."""
    user = _readable(request)
    services.scoring_rule_delete(actor=user, rule=_scoring_rule(user, rule_id))
    return Status(204, None)


@router.get(
    "/leads/assignment-rules", response={200: list[AssignmentRuleOut], **ERRORS}, tags=RULE_TAGS
)
def assignment_rule_list(request: HttpRequest):
    """The assignment rules in the order they are tried (needs `leadrule.view`)."""
    return list(selectors.assignment_rules_visible(user=_readable(request)))


@router.post("/leads/assignment-rules", response={201: AssignmentRuleOut, **ERRORS}, tags=RULE_TAGS)
@idempotent
def assignment_rule_create(request: HttpRequest, payload: AssignmentRuleIn):
    """Add an assignment rule (needs `leadrule.add`). A territory rule needs `countries` or
    `regions`, a size rule a minimum or a maximum, a round-robin rule a `team_id`; the others
    an `owner_id` or a `team_id` to rotate within."""
    user = _actor(request)
    try:
        rule = services.assignment_rule_create(actor=user, data=_resolve(payload.model_dump()))
    except ValidationError as exc:
        raise _rename_errors(exc) from None
    return Status(201, _assignment_rule(user, rule.pk))


@router.get(
    "/leads/assignment-rules/{rule_id}",
    response={200: AssignmentRuleOut, **ERRORS},
    tags=RULE_TAGS,
)
def assignment_rule_detail(request: HttpRequest, rule_id: int):
    return _assignment_rule(_readable(request), rule_id)


@router.patch(
    "/leads/assignment-rules/{rule_id}",
    response={200: AssignmentRuleOut, **WRITE_ERRORS},
    tags=RULE_TAGS,
)
def assignment_rule_update(request: HttpRequest, rule_id: int, payload: AssignmentRulePatch):
    """Change an assignment rule (needs `leadrule.change`); send the `version` you read (a
    stale one answers 409)."""
    user = _readable(request)
    rule = _assignment_rule(user, rule_id)
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    _not_null(data, ("min_employees", "max_employees", "owner_id", "team_id"))
    try:
        services.assignment_rule_update(
            actor=user, rule=rule, expected_version=payload.version, data=_resolve(data)
        )
    except ValidationError as exc:
        raise _rename_errors(exc) from None
    return _assignment_rule(user, rule_id)


@router.delete("/leads/assignment-rules/{rule_id}", response={204: None, **ERRORS}, tags=RULE_TAGS)
def assignment_rule_delete(request: HttpRequest, rule_id: int):
    """Delete an assignment rule (needs `leadrule.delete`); leads it assigned keep owners."""
    user = _readable(request)
    services.assignment_rule_delete(actor=user, rule=_assignment_rule(user, rule_id))
    return Status(204, None)


@router.get("/leads/web-forms", response={200: list[WebFormOut], **ERRORS}, tags=RULE_TAGS)
def web_form_list(request: HttpRequest):
    """The web forms, with the HTML snippet to paste into a site (needs `leadrule.view`)."""
    forms = selectors.web_forms_visible(user=_readable(request))
    return list(forms.select_related("default_owner", "default_team"))


@router.post("/leads/web-forms", response={201: WebFormOut, **ERRORS}, tags=RULE_TAGS)
@idempotent
def web_form_create(request: HttpRequest, payload: WebFormIn):
    """Add a web form (needs `leadrule.add`): it takes leads at /leads/capture/<slug>/."""
    user = _actor(request)
    data = _resolve(payload.model_dump(), FORM_REFERENCES)
    try:
        web_form = services.web_form_create(actor=user, data=data)
    except ValidationError as exc:
        raise _rename_errors(exc, FORM_REFERENCES) from None
    return Status(201, _web_form(user, web_form.pk))


@router.get("/leads/web-forms/{form_id}", response={200: WebFormOut, **ERRORS}, tags=RULE_TAGS)
def web_form_detail(request: HttpRequest, form_id: int):
    return _web_form(_readable(request), form_id)


@router.patch("/leads/web-forms/{form_id}", response={200: WebFormOut, **ERRORS}, tags=RULE_TAGS)
def web_form_update(request: HttpRequest, form_id: int, payload: WebFormPatch):
    """Change a web form (needs `leadrule.change`). A new slug changes its address: update
    the pages that embed it."""
    user = _readable(request)
    web_form = _web_form(user, form_id)
    data = payload.model_dump(exclude_unset=True)
    _not_null(data, ("default_owner_id", "default_team_id"))
    try:
        services.web_form_update(
            actor=user, web_form=web_form, data=_resolve(data, FORM_REFERENCES)
        )
    except ValidationError as exc:
        raise _rename_errors(exc, FORM_REFERENCES) from None
    return _web_form(user, form_id)


@router.delete("/leads/web-forms/{form_id}", response={204: None, **ERRORS}, tags=RULE_TAGS)
def web_form_delete(request: HttpRequest, form_id: int):
    """Delete a web form (needs `leadrule.delete`); its leads stay."""
    user = _readable(request)
    services.web_form_delete(actor=user, web_form=_web_form(user, form_id))
    return Status(204, None)


@router.get("/leads/{lead_id}", response={200: LeadOut, **ERRORS}, tags=["Leads"])
def lead_detail(request: HttpRequest, lead_id: int):
    return selectors.lead_get(user=_actor(request), pk=lead_id)


@router.patch("/leads/{lead_id}", response={200: LeadOut, **WRITE_ERRORS}, tags=["Leads"])
def lead_update(request: HttpRequest, lead_id: int, payload: LeadPatch):
    """Change a lead's details or status; send the `version` you read (a stale one answers
    409). A converted lead is read-only (400)."""
    user = _actor(request)
    lead = selectors.lead_get(user=user, pk=lead_id)
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    nullable = ("employees", "annual_revenue", "owner_id", "team_id")
    for name, value in data.items():
        if value is None and name not in nullable:
            raise ValidationError({name: ["This field may not be null."]})
    try:
        services.lead_update(
            actor=user, lead=lead, expected_version=payload.version, data=_resolve(data)
        )
    except ValidationError as exc:
        raise _rename_errors(exc) from None
    return selectors.lead_get(user=user, pk=lead_id)


@router.delete("/leads/{lead_id}", response={204: None, **ERRORS}, tags=["Leads"])
def lead_delete(request: HttpRequest, lead_id: int):
    user = _actor(request)
    services.lead_delete(actor=user, lead=selectors.lead_get(user=user, pk=lead_id))
    return Status(204, None)


@router.get(
    "/leads/{lead_id}/activities", response={200: list[ActivityOut], **ERRORS}, tags=["Leads"]
)
def lead_activity_list(request: HttpRequest, lead_id: int):
    """The lead's activities, newest first (at most 100)."""
    lead = selectors.lead_get(user=_actor(request), pk=lead_id)
    return selectors.lead_activities(lead=lead)


@router.post("/leads/{lead_id}/activities", response={201: ActivityOut, **ERRORS}, tags=["Leads"])
@idempotent
def lead_activity_add(request: HttpRequest, lead_id: int, payload: ActivityIn):
    """Record an engagement event (email opened, page visited, form submitted, meeting
    booked); the lead is rescored."""
    user = _actor(request)
    lead = selectors.lead_get(user=user, pk=lead_id)
    data = payload.model_dump(exclude_unset=True)
    if data.get("occurred_at") is None:
        data.pop("occurred_at", None)
    activity = services.lead_activity_add(actor=user, lead=lead, data=data)
    return Status(201, activity)


@router.get("/leads/{lead_id}/duplicates", response={200: CandidatesOut, **ERRORS}, tags=["Leads"])
def lead_duplicates(request: HttpRequest, lead_id: int):
    """Existing contacts and accounts this lead may be (same email, phone, name, company or
    email domain), to use when converting it."""
    user = _actor(request)
    lead = selectors.lead_get(user=user, pk=lead_id)
    found = selectors.conversion_candidates(user=user, lead=lead)
    return {
        "contacts": [candidate_out(c, "full_name") for c in found.contacts],
        "accounts": [candidate_out(a, "name") for a in found.accounts],
    }


@router.post("/leads/{lead_id}/convert", response={200: ConvertOut, **WRITE_ERRORS}, tags=["Leads"])
def lead_convert(request: HttpRequest, lead_id: int, payload: ConvertIn):
    """Convert the lead into a contact (existing `contact_id` or new), an account (existing
    `account_id`, new from the company, or none with `create_account: false`) and, given
    `opportunity`, an opportunity. The lead becomes read-only."""
    user = _actor(request)
    lead = selectors.lead_get(user=user, pk=lead_id)
    errors: dict[str, list[str]] = {}
    contact = account = None
    if payload.contact_id is not None:
        contact = Contact.objects.restrict(user, "view").filter(pk=payload.contact_id).first()
        if contact is None:
            errors["contact_id"] = [f"There is no contact with id {payload.contact_id}."]
    if payload.account_id is not None:
        account = (
            customer_selectors.account_visible(user=user).filter(pk=payload.account_id).first()
        )
        if account is None:
            errors["account_id"] = [f"There is no account with id {payload.account_id}."]
    if errors:
        raise ValidationError(errors)
    opportunity = None
    if payload.opportunity is not None:
        opportunity = payload.opportunity.model_dump(exclude_none=True)
        if opportunity.get("currency"):
            opportunity["currency"] = opportunity["currency"].upper()
    done = services.lead_convert(
        actor=user,
        lead=lead,
        contact=contact,
        account=account,
        create_account=payload.create_account,
        opportunity=opportunity,
        expected_version=payload.version,
    )
    return {
        "lead": selectors.lead_get(user=user, pk=lead_id),
        "contact_id": done.contact.pk,
        "account_id": done.account.pk if done.account else None,
        "opportunity_id": done.opportunity.pk if done.opportunity else None,
    }
