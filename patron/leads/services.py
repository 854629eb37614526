"""Every write to leads. The lead pages, the public web-form endpoint, the API, imports, the
CLI and jobs all call these functions.

Each service checks the actor's permission (an `actor` of None is the system itself: the
public capture endpoint and jobs), validates with `full_clean()`, writes, rescores the lead,
and records the audit event, all in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from email_validator import EmailNotValidError, validate_email

from patron.core import audit
from patron.core.exceptions import ConflictError
from patron.core.models import User
from patron.core.permissions import may, organisation_settings, require, require_record
from patron.core.versioning import save_versioned
from patron.customers import services as customer_services
from patron.customers.models import Account, AccountRelationship, Contact
from patron.sales import services as sales_services
from patron.utils import phones
from patron.utils.fields import only_known

from . import routing, scoring
from .models import (
    AssignmentRule,
    Lead,
    LeadActivity,
    LeadScoringModel,
    ScoringRule,
    WebForm,
)

LEAD_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "country",
    "region",
    "employees",
    "annual_revenue",
    "source",
    "web_form",
    "campaign",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "status",
    "disqualified_reason",
    "owner",
    "team",
]
# What a person or client may set: the source and the web form are set by the capture path.
CREATE_FIELDS = [f for f in LEAD_FIELDS if f not in ("web_form",)]
UPDATE_FIELDS = [f for f in LEAD_FIELDS if f not in ("source", "web_form")]
AUDITED = [
    *LEAD_FIELDS,
    "assignment_reason",
    "converted_contact",
    "converted_account",
    "converted_opportunity",
    "converted_at",
]
TEXT_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "region",
    "campaign",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "disqualified_reason",
]
RULE_FIELDS = ["name", "kind", "field", "operator", "value", "points", "is_active", "order"]
ASSIGNMENT_FIELDS = [
    "name",
    "kind",
    "priority",
    "countries",
    "regions",
    "min_employees",
    "max_employees",
    "owner",
    "team",
    "is_active",
]
ACTIVITY_FIELDS = ["kind", "occurred_at", "detail"]
WEB_FORM_FIELDS = [
    "name",
    "slug",
    "allowed_fields",
    "default_owner",
    "default_team",
    "campaign",
    "redirect_url",
    "is_active",
]


# --- normalisation and scoring ------------------------------------------------------------------


def normalise_email(raw: str) -> str:
    """The address as the customers app stores it (email-validator's normalised form)."""
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValidationError({"email": [str(exc)]}) from None


def _normalise(lead: Lead) -> None:
    """Trim text, normalise the email and the phone (E.164, read in the lead's country or
    the organisation's default region), upper-case the country."""
    for name in TEXT_FIELDS:
        value = getattr(lead, name)
        if isinstance(value, str):
            setattr(lead, name, value.strip())
    lead.country = (lead.country or "").upper()
    errors: dict[str, list[str]] = {}
    if lead.email:
        try:
            lead.email = normalise_email(lead.email)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if lead.phone:
        region = lead.country or organisation_settings().default_phone_region
        lead.phone_e164 = phones.to_e164(lead.phone, region)
        if not lead.phone_e164:
            errors["phone"] = [
                "Enter a valid phone number, e.g. +44 20 7946 0018 (numbers without a "
                f"country code are read as {region})."
            ]
    else:
        lead.phone_e164 = ""
    if lead.status != Lead.Status.DISQUALIFIED:
        lead.disqualified_reason = ""
    elif not lead.disqualified_reason:
        errors["disqualified_reason"] = ["Say why the lead was disqualified."]
    if not (lead.first_name or lead.last_name or lead.email or lead.company):
        errors["__all__"] = ["Give at least a name, an email or a company."]
    if errors:
        raise ValidationError(errors)


def _validate(lead: Lead) -> None:
    errors: dict[str, list[str]] = {}
    try:
        _normalise(lead)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        lead.full_clean(exclude=[k for k in errors if k != "__all__"])
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key, []).extend(m for m in messages if m not in errors.get(key, []))
    if errors:
        raise ValidationError(errors)


def rescore(
    lead: Lead,
    *,
    rules: list[ScoringRule] | None = None,
    model_row: LeadScoringModel | None | bool = False,
) -> Lead:
    """Recompute the lead's rule score with its reasons and the learned model's prediction,
    and store them (no version bump: a score is derived, not edited)."""
    counts = scoring.activity_counts(lead)
    result = scoring.score_by_rules(
        lead, scoring.active_rules() if rules is None else rules, counts
    )
    row = scoring.current_model() if model_row is False else model_row
    probability: float | None = None
    reasons: list[dict[str, Any]] = []
    if isinstance(row, LeadScoringModel):
        prediction = scoring.predict(row, lead, counts)
        probability, reasons = prediction.probability, prediction.reasons
    lead.fit_score, lead.engagement_score = result.fit, result.engagement
    lead.score = result.total
    lead.score_breakdown = result.breakdown
    lead.predicted_probability = probability
    lead.prediction_reasons = reasons
    Lead.objects.filter(pk=lead.pk).update(
        score=lead.score,
        fit_score=lead.fit_score,
        engagement_score=lead.engagement_score,
        score_breakdown=lead.score_breakdown,
        predicted_probability=probability,
        prediction_reasons=reasons,
    )
    return lead


def leads_rescore(*, actor: Any = None) -> int:
    """Rescore every lead not yet converted (after a rule or the model changed)."""
    if actor is not None:
        require(actor, "leadrule.change")
    rules = scoring.active_rules()
    row = scoring.current_model()
    count = 0
    for lead in Lead.objects.exclude(status=Lead.Status.CONVERTED).iterator(chunk_size=500):
        rescore(lead, rules=rules, model_row=row)
        count += 1
    return count


# --- leads ------------------------------------------------------------------------------------


def _apply_assignment(lead: Lead, default_owner: Any, default_team: Any) -> None:
    """Owner and team of a new lead given none: the assignment rules, else the defaults."""
    found = routing.assign(lead)
    if found is not None:
        lead.owner, lead.team = found.owner, found.team
        lead.assignment_rule = found.rule
        lead.assignment_reason = found.reason
        return
    lead.owner = default_owner
    lead.team = default_team if default_team is not None else getattr(default_owner, "team", None)
    if default_owner is not None:
        lead.assignment_reason = "No assignment rule matched: the default owner."


@transaction.atomic
def lead_create(
    *,
    actor: Any,
    data: Mapping[str, Any],
    source: str | None = None,
    web_form: WebForm | None = None,
    default_owner: Any = None,
    default_team: Any = None,
) -> Lead:
    """Create a lead. Without an owner in `data` the assignment rules choose one; when none
    matches, `default_owner` (a web form's), else the actor, owns it."""
    require(actor, "lead.add")
    data = only_known(data, CREATE_FIELDS)
    if data.get("status") == Lead.Status.CONVERTED:
        raise ValidationError({"status": ["A lead is converted by converting it."]})
    lead = Lead(**data)
    if source is not None:
        lead.source = source
    lead.web_form = web_form
    _validate(lead)
    if "owner" not in data or data["owner"] is None:
        fallback = default_owner if default_owner is not None else actor
        _apply_assignment(lead, fallback if getattr(fallback, "pk", None) else None, default_team)
    elif "team" not in data:
        lead.team = lead.owner.team if lead.owner else None
    lead.save()
    audit.record_create(actor=actor, obj=lead, fields=AUDITED)
    rescore(lead)
    return lead


def _refuse_converted(lead: Lead) -> None:
    if lead.is_converted:
        raise ValidationError({"__all__": ["A converted lead is read-only."]})


@transaction.atomic
def lead_update(
    *, actor: Any, lead: Lead, expected_version: int | None, data: Mapping[str, Any]
) -> Lead:
    """Change a lead's details or status (disqualifying needs a reason); refused once
    converted, and with ConflictError when `expected_version` is stale."""
    require_record(actor, lead, "change")
    _refuse_converted(lead)
    data = only_known(data, UPDATE_FIELDS)
    if data.get("status") == Lead.Status.CONVERTED:
        raise ValidationError({"status": ["A lead is converted by converting it."]})
    before = audit.snapshot(lead, AUDITED)
    for name, value in data.items():
        setattr(lead, name, value)
    if "owner" in data and "team" not in data:
        lead.team = lead.owner.team if lead.owner else None
    _validate(lead)
    fields = list(dict.fromkeys([*data, *TEXT_FIELDS, "country", "phone_e164", "team"]))
    save_versioned(lead, expected_version=expected_version, fields=fields)
    changes = audit.diff(before, audit.snapshot(lead, AUDITED))
    if changes:
        audit.record(actor=actor, action="update", obj=lead, changes=changes)
    rescore(lead)
    return lead


@transaction.atomic
def lead_delete(*, actor: Any, lead: Lead) -> None:
    require_record(actor, lead, "delete")
    audit.record_delete(actor=actor, obj=lead, fields=AUDITED)
    lead.delete()


@transaction.atomic
def lead_activity_add(*, actor: Any, lead: Lead, data: Mapping[str, Any]) -> LeadActivity:
    """Record something the lead did (an email opened, a page visited…) and rescore it."""
    require_record(actor, lead, "change")
    _refuse_converted(lead)
    data = only_known(data, ACTIVITY_FIELDS)
    activity = LeadActivity(lead=lead, **{k: v for k, v in data.items() if v is not None})
    if isinstance(activity.detail, str):
        activity.detail = activity.detail.strip()
    activity.full_clean()
    activity.save()
    if lead.last_activity_at is None or activity.occurred_at > lead.last_activity_at:
        lead.last_activity_at = activity.occurred_at
        Lead.objects.filter(pk=lead.pk).update(last_activity_at=activity.occurred_at)
    audit.record_create(actor=actor, obj=activity, fields=ACTIVITY_FIELDS, parent=lead)
    rescore(lead)
    return activity


# --- capture from a public web form --------------------------------------------------------------

# Fields a web form may fill when its definition names none.
DEFAULT_FORM_FIELDS = ["first_name", "last_name", "email", "phone", "company", "job_title"]
FORM_FIELDS = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "company",
    "job_title",
    "country",
    "region",
    "employees",
    "annual_revenue",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
]
UTM_FIELDS = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"]


def form_fields(web_form: WebForm) -> list[str]:
    """The lead fields this form fills (the email and the UTM fields are always read)."""
    chosen = [f for f in (web_form.allowed_fields or []) if f in FORM_FIELDS]
    fields = chosen or DEFAULT_FORM_FIELDS
    if "email" not in fields:
        fields = ["email", *fields]  # every form asks for an email: leads are reached by it
    return list(dict.fromkeys([*fields, *UTM_FIELDS]))


def _int_or_error(value: str, name: str, errors: dict[str, list[str]]) -> int | None:
    text = value.strip().replace(",", "").replace(" ", "")
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        errors[name] = ["Enter a whole number."]
        return None
    return int(text)


def _decimal_or_error(value: str, name: str, errors: dict[str, list[str]]) -> Decimal | None:
    text = value.strip().replace(",", "").replace(" ", "")
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        errors[name] = ["Enter an amount."]
        return None
    if not number.is_finite() or number < 0 or abs(number.adjusted()) > 13:
        errors[name] = ["Enter an amount."]
        return None
    return number.quantize(Decimal("0.01"))


def parse_text_row(values: Mapping[str, Any], allowed: Iterable[str]) -> dict[str, Any]:
    """Text values of a form or a file row into lead data (numbers parsed, the rest trimmed
    and cut to no more than the field holds: a form cannot be refused for a long name)."""
    errors: dict[str, list[str]] = {}
    data: dict[str, Any] = {}
    for name in allowed:
        raw = values.get(name)
        if raw is None:
            continue
        text = str(raw).replace("\x00", "").strip()
        if name == "employees":
            data[name] = _int_or_error(text, name, errors)
        elif name == "annual_revenue":
            data[name] = _decimal_or_error(text, name, errors)
        elif name == "country":
            data[name] = text.upper()[:2]
        else:
            limit = Lead._meta.get_field(name).max_length or 300  # type: ignore[union-attr]
            data[name] = text[:limit]
    if errors:
        raise ValidationError(errors)
    return data


@transaction.atomic
def lead_capture(*, web_form: WebForm, values: Mapping[str, Any], page: str = "") -> Lead:
    """A lead sent by a public web form (no user: the form's defaults and the assignment
    rules decide its owner), with a "form submitted" activity."""
    data = parse_text_row(values, form_fields(web_form))
    if not data.get("email"):
        raise ValidationError({"email": ["Enter your email address."]})
    if web_form.campaign:
        data["campaign"] = web_form.campaign
    lead = lead_create(
        actor=None,
        data=data,
        source=Lead.Source.WEB_FORM,
        web_form=web_form,
        default_owner=web_form.default_owner,
        default_team=web_form.default_team,
    )
    lead_activity_add(
        actor=None,
        lead=lead,
        data={"kind": LeadActivity.Kind.FORM_SUBMITTED, "detail": (page or web_form.name)[:500]},
    )
    return lead


# --- imports ------------------------------------------------------------------------------------

IMPORT_FIELDS = [*FORM_FIELDS, "campaign", "status", "disqualified_reason", "owner"]
HEADER_ALIASES = {
    "first name": "first_name",
    "firstname": "first_name",
    "given name": "first_name",
    "last name": "last_name",
    "lastname": "last_name",
    "surname": "last_name",
    "family name": "last_name",
    "e-mail": "email",
    "email address": "email",
    "phone number": "phone",
    "telephone": "phone",
    "organisation": "company",
    "organization": "company",
    "company name": "company",
    "title": "job_title",
    "job title": "job_title",
    "state": "region",
    "employee count": "employees",
    "company size": "employees",
    "revenue": "annual_revenue",
    "annual revenue": "annual_revenue",
    "owner username": "owner",
    "disqualified reason": "disqualified_reason",
}


def import_field(header: str) -> str | None:
    """The lead field a file column feeds, from its header ("First name" -> first_name)."""
    key = " ".join(str(header).replace("_", " ").split()).casefold()
    name = HEADER_ALIASES.get(key, key.replace(" ", "_"))
    return name if name in IMPORT_FIELDS else None


@dataclass
class ImportResult:
    created: list[Lead] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)

    @property
    def total(self) -> int:
        return len(self.created) + len(self.errors)


def _row_error(exc: ValidationError) -> str:
    if not hasattr(exc, "error_dict"):
        return " ".join(exc.messages)
    parts = []
    for key, messages in exc.message_dict.items():
        label = "" if key == "__all__" else f"{key.replace('_', ' ')}: "
        parts.append(label + " ".join(messages))
    return "; ".join(parts)


def leads_import(
    *, actor: Any, rows: Iterable[Mapping[str, Any]], first_line: int = 2
) -> ImportResult:
    """Create one lead per row (header names as in `import_field`); `first_line` is the line
    number of the first row (2 under a header line). See `leads_import_numbered`."""
    return leads_import_numbered(
        actor=actor, rows=((first_line + offset, row) for offset, row in enumerate(rows))
    )


def leads_import_numbered(
    *, actor: Any, rows: Iterable[tuple[int, Mapping[str, Any]]]
) -> ImportResult:
    """Create one lead per (line, row), each in its own transaction: a bad row is reported
    with its line and reason and the others are kept; blank rows are skipped."""
    require(actor, "lead.add")
    result = ImportResult()
    users: dict[str, User | None] = {}
    for line, row in rows:
        values = {}
        for header, value in row.items():
            name = import_field(str(header)) if header is not None else None
            if name is not None and value not in (None, ""):
                values[name] = value
        if not values:
            continue  # a blank line
        try:
            lead = _import_row(actor, values, users)
        except ValidationError as exc:
            result.errors.append((line, _row_error(exc)))
        else:
            result.created.append(lead)
    return result


def _import_row(actor: Any, values: dict[str, Any], users: dict[str, User | None]) -> Lead:
    owner_name = str(values.pop("owner", "")).strip()
    status = str(values.pop("status", "") or "").strip().lower()
    reason = str(values.pop("disqualified_reason", "") or "")
    campaign = str(values.pop("campaign", "") or "")
    data = parse_text_row(values, FORM_FIELDS)
    data["campaign"] = campaign.strip()[:200]
    if status:
        if status not in Lead.Status.values or status == Lead.Status.CONVERTED:
            raise ValidationError({"status": [f"Unknown status “{status[:30]}”."]})
        data["status"] = status
        data["disqualified_reason"] = reason.strip()[:300]
    if owner_name:
        if owner_name not in users:
            users[owner_name] = User.objects.filter(
                username=owner_name[:150], is_active=True
            ).first()
        if users[owner_name] is None:
            raise ValidationError({"owner": [f"No user “{owner_name[:150]}”."]})
        data["owner"] = users[owner_name]
    with transaction.atomic():
        return lead_create(actor=actor, data=data, source=Lead.Source.IMPORT)


# --- conversion ---------------------------------------------------------------------------------


@dataclass
class Conversion:
    lead: Lead
    contact: Contact
    account: Account | None
    opportunity: Any


def _contact_data(lead: Lead, owner: Any) -> dict[str, Any]:
    return {
        "first_name": lead.first_name,
        "last_name": lead.last_name,
        "job_title": lead.job_title,
        "owner": owner,
        "team": lead.team if lead.team_id else getattr(owner, "team", None),
    }


@transaction.atomic
def lead_convert(
    *,
    actor: Any,
    lead: Lead,
    contact: Contact | None = None,
    account: Account | None = None,
    create_account: bool = True,
    opportunity: Mapping[str, Any] | None = None,
    expected_version: int | None = None,
) -> Conversion:
    """Turn a lead into a contact (an existing one, or a new one with its email and phone),
    an account (an existing one, a new one named after the company, or none) and, given
    `opportunity` data (name, amount…), an opportunity; the lead keeps links to all three and
    becomes read-only. A timeline entry on the contact says where it came from."""
    require_record(actor, lead, "change")
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    _refuse_converted(locked)
    if expected_version is not None and expected_version != locked.version:
        raise ConflictError(current_version=locked.version)
    errors: dict[str, list[str]] = {}
    if contact is not None and actor is not None and not may(actor, contact, "change"):
        errors["contact"] = ["There is no such contact, or you may not change it."]
    if account is not None and actor is not None and not may(actor, account, "view"):
        errors["account"] = ["There is no such account."]
    if opportunity is not None and account is None and not (create_account and lead.company):
        errors["opportunity"] = ["An opportunity needs an account: give the lead a company."]
    if errors:
        raise ValidationError(errors)
    owner = lead.owner if lead.owner_id else (actor if getattr(actor, "pk", None) else None)
    before = audit.snapshot(lead, AUDITED)
    if contact is None:
        contact = customer_services.contact_create(
            actor=actor,
            data=_contact_data(lead, owner),
            emails=[{"email": lead.email, "kind": "work"}] if lead.email else [],
            phones=[{"number": lead.phone, "kind": "work"}] if lead.phone else [],
            addresses=(
                [{"kind": "work", "country": lead.country, "region": lead.region}]
                if lead.country
                else []
            ),
        )
    if account is None and create_account and lead.company:
        account = customer_services.account_create(
            actor=actor,
            data={
                "name": lead.company,
                "employee_count": lead.employees,
                "annual_revenue": lead.annual_revenue,
                "owner": owner,
                "team": lead.team if lead.team_id else getattr(owner, "team", None),
            },
        )
    if (
        account is not None
        and not AccountRelationship.objects.filter(contact=contact, account=account).exists()
    ):
        customer_services.relationship_add(actor=actor, contact=contact, account=account)
    deal = None
    if opportunity is not None and account is not None:
        deal_data = {"owner": owner, **opportunity, "account": account, "primary_contact": contact}
        if not deal_data.get("name"):
            deal_data["name"] = f"{lead.company or lead.full_name}: new business"[:200]
        deal = sales_services.opportunity_create(actor=actor, data=deal_data)
    lead.status = Lead.Status.CONVERTED
    lead.disqualified_reason = ""
    lead.converted_contact = contact
    lead.converted_account = account
    lead.converted_opportunity = deal
    lead.converted_at = timezone.now()
    save_versioned(
        lead,
        expected_version=locked.version,
        fields=[
            "status",
            "disqualified_reason",
            "converted_contact",
            "converted_account",
            "converted_opportunity",
            "converted_at",
        ],
    )
    audit.record(
        actor=actor,
        action="update",
        obj=lead,
        changes=audit.diff(before, audit.snapshot(lead, AUDITED)),
    )
    by = str(getattr(actor, "display_name", "") or "")[:200]
    customer_services.timeline_entry_create(
        actor=None,
        kind="lead",
        contact=contact,
        account=account,
        subject=f"Converted from lead: {lead}"[:300],
        body=lead.assignment_reason,
        data={
            "lead_id": lead.pk,
            "source": lead.get_source_display(),
            "campaign": lead.campaign[:200],
            "score": lead.score,
            "by": by,
        },
        related=lead,
        user_facing=False,
    )
    return Conversion(lead=lead, contact=contact, account=account, opportunity=deal)


# --- rules and the model (configuration, `leadrule.*`) -----------------------------------------


def _validate_rule(rule: ScoringRule) -> None:
    valid = dict(scoring.field_choices(rule.kind)) if rule.kind in ScoringRule.Kind else {}
    errors: dict[str, list[str]] = {}
    rule.name = (rule.name or "").strip()
    if rule.field not in valid:
        errors["field"] = [f"A {rule.kind} rule reads one of: {', '.join(valid)}."]
    rule.value = (rule.value or "").strip()
    if rule.operator != ScoringRule.Operator.EXISTS and not rule.value:
        errors["value"] = ["Give the value to compare with."]
    if rule.operator == ScoringRule.Operator.GREATER_THAN and rule.value:
        try:
            number = Decimal(rule.value)
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite():
            errors["value"] = ["'is greater than' compares with a number."]
    elif rule.value and rule.field in scoring.NUMERIC_FIELDS:
        # "NaN" or "sNaN" would make every comparison with the lead's number fail loudly.
        try:
            special = not Decimal(rule.value).is_finite()
        except InvalidOperation:
            special = False
        if special:
            errors["value"] = ["Compare with a number."]
    try:
        rule.full_clean(exclude=list(errors))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


def _rescore_after_commit() -> None:
    """Rescore the open leads in the background once the change is committed."""
    from .tasks import leads_rescore_task

    transaction.on_commit(lambda: leads_rescore_task.enqueue())


@transaction.atomic
def scoring_rule_create(*, actor: Any, data: Mapping[str, Any]) -> ScoringRule:
    require(actor, "leadrule.add")
    rule = ScoringRule(**only_known(data, RULE_FIELDS))
    _validate_rule(rule)
    rule.save()
    audit.record_create(actor=actor, obj=rule, fields=RULE_FIELDS)
    _rescore_after_commit()
    return rule


@transaction.atomic
def scoring_rule_update(
    *, actor: Any, rule: ScoringRule, expected_version: int | None, data: Mapping[str, Any]
) -> ScoringRule:
    require_record(actor, rule, "change")
    data = only_known(data, RULE_FIELDS)
    before = audit.snapshot(rule, RULE_FIELDS)
    for name, value in data.items():
        setattr(rule, name, value)
    _validate_rule(rule)
    save_versioned(rule, expected_version=expected_version, fields=RULE_FIELDS)
    changes = audit.diff(before, audit.snapshot(rule, RULE_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=rule, changes=changes)
    _rescore_after_commit()
    return rule


@transaction.atomic
def scoring_rule_delete(*, actor: Any, rule: ScoringRule) -> None:
    require_record(actor, rule, "delete")
    audit.record_delete(actor=actor, obj=rule, fields=RULE_FIELDS)
    rule.delete()
    _rescore_after_commit()


def _validate_assignment(rule: AssignmentRule) -> None:
    errors: dict[str, list[str]] = {}
    rule.name = (rule.name or "").strip()
    rule.countries = ",".join(c.strip().upper() for c in rule.countries.split(",") if c.strip())
    rule.regions = ",".join(r.strip() for r in rule.regions.split(",") if r.strip())
    if rule.kind == AssignmentRule.Kind.TERRITORY and not (rule.countries or rule.regions):
        errors["countries"] = ["A territory rule needs countries or regions."]
    if any(len(c) != 2 or not c.isalpha() for c in rule.countries.split(",") if c):
        errors["countries"] = ["Use two-letter ISO codes separated by commas, e.g. FR, BE."]
    if rule.kind == AssignmentRule.Kind.SIZE:
        if rule.min_employees is None and rule.max_employees is None:
            errors["min_employees"] = ["A size rule needs a minimum or a maximum."]
        elif (
            rule.min_employees is not None
            and rule.max_employees is not None
            and rule.min_employees > rule.max_employees
        ):
            errors["max_employees"] = ["The maximum is below the minimum."]
    if rule.kind == AssignmentRule.Kind.ROUND_ROBIN and rule.team_id is None:
        errors["team"] = ["A round-robin rule rotates within a team: choose one."]
    elif rule.owner_id is None and rule.team_id is None:
        errors["owner"] = ["Choose the owner, or a team to rotate within."]
    try:
        rule.full_clean(exclude=list(errors))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def assignment_rule_create(*, actor: Any, data: Mapping[str, Any]) -> AssignmentRule:
    require(actor, "leadrule.add")
    rule = AssignmentRule(**only_known(data, ASSIGNMENT_FIELDS))
    _validate_assignment(rule)
    rule.save()
    audit.record_create(actor=actor, obj=rule, fields=ASSIGNMENT_FIELDS)
    return rule


@transaction.atomic
def assignment_rule_update(
    *, actor: Any, rule: AssignmentRule, expected_version: int | None, data: Mapping[str, Any]
) -> AssignmentRule:
    require_record(actor, rule, "change")
    data = only_known(data, ASSIGNMENT_FIELDS)
    before = audit.snapshot(rule, ASSIGNMENT_FIELDS)
    for name, value in data.items():
        setattr(rule, name, value)
    _validate_assignment(rule)
    save_versioned(rule, expected_version=expected_version, fields=ASSIGNMENT_FIELDS)
    changes = audit.diff(before, audit.snapshot(rule, ASSIGNMENT_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=rule, changes=changes)
    return rule


@transaction.atomic
def assignment_rule_delete(*, actor: Any, rule: AssignmentRule) -> None:
    require_record(actor, rule, "delete")
    audit.record_delete(actor=actor, obj=rule, fields=ASSIGNMENT_FIELDS)
    rule.delete()


def _validate_web_form(web_form: WebForm) -> None:
    errors: dict[str, list[str]] = {}
    for name in ("name", "slug", "campaign", "redirect_url"):
        value = getattr(web_form, name)
        if isinstance(value, str):
            setattr(web_form, name, value.strip())
    fields = web_form.allowed_fields
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        errors["allowed_fields"] = ["Give a list of lead field names."]
    else:
        unknown = [f for f in fields if f not in FORM_FIELDS]
        if unknown:
            errors["allowed_fields"] = [
                f"A form may fill only: {', '.join(FORM_FIELDS)} (not {', '.join(unknown)})."
            ]
        web_form.allowed_fields = list(dict.fromkeys(fields))
    try:
        web_form.full_clean(exclude=list(errors))
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


def _save_web_form(web_form: WebForm) -> None:
    """Save; a slug taken by a form saved meanwhile is a ValidationError, not a crash."""
    try:
        with transaction.atomic():
            web_form.save()
    except IntegrityError:
        raise ValidationError({"slug": ["A web form with this slug already exists."]}) from None


@transaction.atomic
def web_form_create(*, actor: Any, data: Mapping[str, Any]) -> WebForm:
    """A public form posting leads to /leads/capture/<slug>/ (configuration, `leadrule.add`)."""
    require(actor, "leadrule.add")
    web_form = WebForm(**only_known(data, WEB_FORM_FIELDS))
    _validate_web_form(web_form)
    _save_web_form(web_form)
    audit.record_create(actor=actor, obj=web_form, fields=WEB_FORM_FIELDS)
    return web_form


@transaction.atomic
def web_form_update(*, actor: Any, web_form: WebForm, data: Mapping[str, Any]) -> WebForm:
    require_record(actor, web_form, "change")
    data = only_known(data, WEB_FORM_FIELDS)
    before = audit.snapshot(web_form, WEB_FORM_FIELDS)
    for name, value in data.items():
        setattr(web_form, name, value)
    _validate_web_form(web_form)
    _save_web_form(web_form)
    changes = audit.diff(before, audit.snapshot(web_form, WEB_FORM_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=web_form, changes=changes)
    return web_form


@transaction.atomic
def web_form_delete(*, actor: Any, web_form: WebForm) -> None:
    """Delete a form; its leads stay (without the form) and its address stops answering."""
    require_record(actor, web_form, "delete")
    audit.record_delete(actor=actor, obj=web_form, fields=WEB_FORM_FIELDS)
    web_form.delete()


@transaction.atomic
def model_train(*, actor: Any) -> LeadScoringModel:
    """Learn the conversion model from every lead with an outcome, store it, and have the
    open leads rescored with it. Too little history is a ValidationError saying so."""
    require(actor, "leadrule.change")
    try:
        pipeline, info = scoring.fit_model()
    except scoring.NotEnoughHistory as exc:
        raise ValidationError({"__all__": [str(exc)]}) from None
    row = LeadScoringModel.objects.create(
        trained_by=actor if getattr(actor, "pk", None) else None,
        blob=scoring.dump(pipeline),
        **info,
    )
    audit.record_create(
        actor=actor, obj=row, fields=["samples", "converted", "disqualified", "metrics"]
    )
    _rescore_after_commit()
    return row
