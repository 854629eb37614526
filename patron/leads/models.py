"""Leads: captured from web forms, the API and imports; scored, routed and converted into
customers."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patron.core.permissions import RestrictedQuerySet

country_code = RegexValidator(r"^[A-Z]{2}$", "Use a two-letter ISO 3166 code, e.g. FR.")
slug_text = RegexValidator(r"^[a-z0-9][a-z0-9-]*$", "Lowercase letters, digits and dashes.")


class WebForm(models.Model):
    """A public form on a website that posts leads to /leads/capture/<slug>/: which fields it
    takes and who gets its leads when no assignment rule does."""

    permission_name = "leadrule"
    record_ownership = False  # configuration: the role alone decides

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_text])
    allowed_fields = models.JSONField(
        default=list,
        blank=True,
        help_text="Lead fields the form may fill (empty: the usual contact fields).",
    )
    default_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    default_team = models.ForeignKey(
        "core.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    campaign = models.CharField(max_length=200, blank=True)
    redirect_url = models.URLField(
        max_length=500, blank=True, help_text="Where a browser goes after sending the form."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Lead(models.Model):
    """Someone who showed interest but is not a customer yet: worked, scored and either
    disqualified or converted into a contact, an account and maybe an opportunity."""

    class Status(models.TextChoices):
        NEW = "new", "New"
        WORKING = "working", "Working"
        NURTURING = "nurturing", "Nurturing"
        QUALIFIED = "qualified", "Qualified"
        DISQUALIFIED = "disqualified", "Disqualified"
        CONVERTED = "converted", "Converted"

    class Source(models.TextChoices):
        WEB_FORM = "web_form", "Web form"
        API = "api", "API"
        IMPORT = "import", "Import"
        MANUAL = "manual", "Manual"

    permission_name = "lead"

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=50, blank=True, help_text="As entered.")
    phone_e164 = models.CharField(max_length=20, blank=True, editable=False)
    company = models.CharField(max_length=200, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    country = models.CharField(max_length=2, blank=True, validators=[country_code])
    region = models.CharField(max_length=100, blank=True)
    employees = models.PositiveIntegerField(
        null=True, blank=True, validators=[MaxValueValidator(10_000_000)]
    )
    annual_revenue = models.DecimalField(
        max_digits=16, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    web_form = models.ForeignKey(
        WebForm, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads"
    )
    campaign = models.CharField(max_length=200, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.NEW)
    disqualified_reason = models.CharField(max_length=300, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "core.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    assignment_rule = models.ForeignKey(
        "leads.AssignmentRule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    assignment_reason = models.CharField(max_length=300, blank=True, editable=False)
    # Scores: rules (fit + engagement) with the reasons, and the learned model's probability.
    score = models.IntegerField(default=0, editable=False)
    fit_score = models.IntegerField(default=0, editable=False)
    engagement_score = models.IntegerField(default=0, editable=False)
    score_breakdown = models.JSONField(default=list, blank=True, editable=False)
    predicted_probability = models.FloatField(null=True, blank=True, editable=False)
    prediction_reasons = models.JSONField(default=list, blank=True, editable=False)
    converted_contact = models.ForeignKey(
        "customers.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_account = models.ForeignKey(
        "customers.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_opportunity = models.ForeignKey(
        "sales.Opportunity", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    converted_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_activity_at = models.DateTimeField(null=True, blank=True, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "-score", "-id"], name="lead_status_score_idx"),
            models.Index(fields=["owner", "-created_at"], name="lead_owner_idx"),
            models.Index(fields=["team", "-created_at"], name="lead_team_idx"),
            models.Index(fields=["-score", "-id"], name="lead_score_idx"),
            models.Index(fields=["email"], name="lead_email_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="disqualified") | ~Q(disqualified_reason=""),
                name="lead_disqualified_has_reason",
            )
        ]

    def __str__(self) -> str:
        return self.full_name or self.email or self.company or f"Lead {self.pk}"

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def is_converted(self) -> bool:
        return self.status == self.Status.CONVERTED

    @property
    def has_outcome(self) -> bool:
        return self.status in (self.Status.CONVERTED, self.Status.DISQUALIFIED)


class LeadActivity(models.Model):
    """Something the lead did (opened an email, visited a page, booked a meeting): the
    engagement half of the score and a feature of the learned model."""

    class Kind(models.TextChoices):
        EMAIL_OPENED = "email_opened", "Email opened"
        PAGE_VISITED = "page_visited", "Page visited"
        FORM_SUBMITTED = "form_submitted", "Form submitted"
        MEETING_BOOKED = "meeting_booked", "Meeting booked"

    permission_name = None
    restrict_via = ("lead",)
    parent_actions = {"add": "change", "delete": "change"}

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="activities")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    detail = models.CharField(max_length=500, blank=True, help_text="A page, an email subject…")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "lead activities"
        indexes = [models.Index(fields=["lead", "kind"], name="lead_activity_kind_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.occurred_at:%Y-%m-%d})"


class ScoringRule(models.Model):
    """One configurable reason a lead scores points: a fit rule reads the lead's fields, an
    engagement rule its activity counts ("+20 job title contains 'Director'")."""

    class Kind(models.TextChoices):
        FIT = "fit", "Fit"
        ENGAGEMENT = "engagement", "Engagement"

    class Operator(models.TextChoices):
        EQUALS = "equals", "equals"
        IN = "in", "is one of"
        CONTAINS = "contains", "contains"
        GREATER_THAN = "gt", "is greater than"
        EXISTS = "exists", "is filled in"

    permission_name = "leadrule"
    record_ownership = False

    name = models.CharField(max_length=100, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FIT)
    field = models.CharField(max_length=40)
    operator = models.CharField(max_length=8, choices=Operator.choices)
    value = models.CharField(
        max_length=300, blank=True, help_text="For 'is one of', values separated by commas."
    )
    points = models.IntegerField(validators=[MinValueValidator(-1000), MaxValueValidator(1000)])
    is_active = models.BooleanField(default=True)
    order = models.PositiveIntegerField(default=0)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-kind", "order", "id"]  # fit rules first

    def __str__(self) -> str:
        return self.name or f"{self.field} {self.get_operator_display()} {self.value}".strip()


class AssignmentRule(models.Model):
    """Who gets a new lead: rules are tried in priority order; the first that matches assigns
    its owner, or the next member of its team in turn (round robin)."""

    class Kind(models.TextChoices):
        TERRITORY = "territory", "Territory (country / region)"
        SIZE = "size", "Company size"
        ROUND_ROBIN = "round_robin", "Round robin (every lead)"
        FALLBACK = "fallback", "Fallback owner"

    permission_name = "leadrule"
    record_ownership = False

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    priority = models.PositiveIntegerField(default=100, help_text="Lower runs first.")
    countries = models.CharField(
        max_length=300, blank=True, help_text="ISO codes separated by commas (territory)."
    )
    regions = models.CharField(
        max_length=300, blank=True, help_text="Regions separated by commas (territory)."
    )
    min_employees = models.PositiveIntegerField(null=True, blank=True)
    max_employees = models.PositiveIntegerField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Assign to this user; leave empty to rotate within the team.",
    )
    team = models.ForeignKey(
        "core.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The team whose members take turns (and the lead's team).",
    )
    # Round robin: the member who got the last lead; the next one in id order is next.
    last_assigned = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    is_active = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name


class LeadScoringModel(models.Model):
    """A conversion model learned from past leads' outcomes (scikit-learn, stored pickled
    here so every worker reads the same one); the newest row is the one in use."""

    permission_name = "leadrule"
    record_ownership = False

    trained_at = models.DateTimeField(default=timezone.now)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    samples = models.PositiveIntegerField(default=0)
    converted = models.PositiveIntegerField(default=0)
    disqualified = models.PositiveIntegerField(default=0)
    metrics = models.JSONField(default=dict, blank=True)
    top_features = models.JSONField(default=list, blank=True)
    blob = models.BinaryField(editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-trained_at", "-id"]

    def __str__(self) -> str:
        return f"Model of {self.trained_at:%Y-%m-%d %H:%M} ({self.samples} leads)"
