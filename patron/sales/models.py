"""Sales pipelines, their stages, opportunities and each opportunity's stage history."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patron.core.permissions import RestrictedQuerySet


def default_currency() -> str:
    """The organisation's currency (`PATRON_DEFAULT_CURRENCY`), EUR when not configured."""
    return str(getattr(settings, "PATRON_DEFAULT_CURRENCY", "EUR") or "EUR").upper()


currency_code = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. EUR.")


class Pipeline(models.Model):
    """A sales process (new business, renewals): an ordered set of stages."""

    permission_name = "pipeline"
    record_ownership = False  # configuration: the role alone decides

    name = models.CharField(max_length=100, unique=True)
    is_default = models.BooleanField(default=False)
    ordering = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["ordering", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="pipeline_one_default"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Stage(models.Model):
    """One column of a pipeline; won and lost stages close the opportunities moved there."""

    class Kind(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Won"
        LOST = "lost", "Lost"

    permission_name = "pipeline"
    record_ownership = False

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(max_length=100)
    order = models.PositiveIntegerField(default=0)
    probability = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.OPEN)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["pipeline", "order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pipeline", "name"], name="stage_unique_name"),
            models.CheckConstraint(condition=Q(probability__lte=100), name="stage_probability"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.kind != self.Kind.OPEN


class Opportunity(models.Model):
    """A deal being worked with an account: what it is worth, where it stands, who owns it."""

    permission_name = "opportunity"

    name = models.CharField(max_length=200)
    account = models.ForeignKey(
        "customers.Account", on_delete=models.CASCADE, related_name="opportunities"
    )
    primary_contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="opportunities",
    )
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="opportunities")
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="opportunities")
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(max_length=3, default=default_currency, validators=[currency_code])
    expected_close_date = models.DateField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    team = models.ForeignKey(
        "core.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    next_step = models.CharField(max_length=300, blank=True)
    next_step_date = models.DateField(null=True, blank=True)
    close_reason = models.CharField(max_length=300, blank=True, help_text="Why it was won or lost.")
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When it entered its current stage: the board's "days in stage" without reading history.
    stage_entered_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]
        verbose_name_plural = "opportunities"
        indexes = [
            models.Index(fields=["stage", "-updated_at", "-id"], name="opportunity_stage_idx"),
            models.Index(fields=["owner", "expected_close_date"], name="opportunity_owner_idx"),
            models.Index(fields=["team", "expected_close_date"], name="opportunity_team_idx"),
            models.Index(fields=["expected_close_date", "id"], name="opportunity_close_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="opportunity_amount_positive")
        ]

    def __str__(self) -> str:
        return self.name

    def is_overdue(self, today=None) -> bool:
        """Open and past its expected close date or its next-step date."""
        if self.closed_at is not None:
            return False
        today = today or timezone.localdate()
        dates = (self.expected_close_date, self.next_step_date)
        return any(d is not None and d < today for d in dates)


class StageChange(models.Model):
    """One move of an opportunity into a stage (the first is its creation): stage history and
    time spent in each stage."""

    permission_name = None
    restrict_via = ("opportunity",)

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_changes"
    )
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.CASCADE, related_name="+")
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["opportunity", "changed_at", "id"]

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.from_stage_id} → {self.to_stage_id}"
