"""Forecasts, quotas and commissions: how the sales team stands against its numbers."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patron.core.permissions import RestrictedQuerySet

currency_code = RegexValidator(r"^[A-Z]{3}$", "Use a three-letter ISO 4217 code, e.g. EUR.")


class Category(models.TextChoices):
    """Salesforce's forecast categories for open deals (closed won is the stage's kind)."""

    PIPELINE = "pipeline", "Pipeline"
    BEST_CASE = "best_case", "Best case"
    COMMIT = "commit", "Commit"
    OMITTED = "omitted", "Omitted"


class PeriodKind(models.TextChoices):
    MONTH = "month", "Month"
    QUARTER = "quarter", "Quarter"
    YEAR = "year", "Year"


class StageForecastCategory(models.Model):
    """The forecast category an open stage puts its deals in, overriding the default rule
    (probability ≥ 75 % commit, ≥ 40 % best case, else pipeline)."""

    permission_name = "forecast"
    record_ownership = False  # configuration: the role alone decides

    stage = models.OneToOneField(
        "sales.Stage", on_delete=models.CASCADE, related_name="forecast_setting"
    )
    category = models.CharField(max_length=10, choices=Category.choices)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        verbose_name = "stage forecast category"
        verbose_name_plural = "stage forecast categories"

    def __str__(self) -> str:
        return f"{self.stage}: {self.get_category_display()}"


class ForecastCategory(models.Model):
    """One opportunity's forecast category chosen by its owner or manager (Salesforce's
    "forecast category" field), instead of the one its stage implies."""

    permission_name = None
    restrict_via = ("opportunity",)

    opportunity = models.OneToOneField(
        "sales.Opportunity", on_delete=models.CASCADE, related_name="forecast_category"
    )
    category = models.CharField(max_length=10, choices=Category.choices)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    set_at = models.DateTimeField(default=timezone.now)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "forecast categories"

    def __str__(self) -> str:
        return f"{self.opportunity_id}: {self.category}"


class ExchangeRate(models.Model):
    """How many units of the organisation's currency one unit of `currency` is worth, from a
    date on (the latest rate valid on a date applies)."""

    permission_name = "forecast"
    record_ownership = False

    currency = models.CharField(max_length=3, validators=[currency_code])
    rate = models.DecimalField(
        max_digits=18, decimal_places=8, validators=[MinValueValidator(Decimal("0.00000001"))]
    )
    valid_from = models.DateField()

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["currency", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["currency", "valid_from"], name="exchange_rate_unique"),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} from {self.valid_from}"


class Quota(models.Model):
    """What a rep (owner) or a whole team is expected to close in a period."""

    permission_name = "quota"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The rep; leave empty for a team quota.",
    )
    team = models.ForeignKey(
        "core.Team",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="The team, for a team quota.",
    )
    period_kind = models.CharField(max_length=7, choices=PeriodKind.choices)
    period_start = models.DateField()
    period_end = models.DateField(editable=False, blank=True)
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(max_length=3, validators=[currency_code])
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "team__name", "owner__username", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(owner__isnull=False) & Q(team__isnull=True))
                | (Q(owner__isnull=True) & Q(team__isnull=False)),
                name="quota_rep_or_team",
            ),
            models.UniqueConstraint(
                fields=["owner", "period_kind", "period_start"],
                condition=Q(owner__isnull=False),
                name="quota_one_per_rep_period",
            ),
            models.UniqueConstraint(
                fields=["team", "period_kind", "period_start"],
                condition=Q(team__isnull=False),
                name="quota_one_per_team_period",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="quota_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.owner or self.team} · {self.period_label}: {self.amount} {self.currency}"

    def clean(self) -> None:
        """The period is named by its kind and first day; its last day follows from them."""
        from .periods import of_record

        if self.period_kind and self.period_start:
            self.period_end = of_record(self.period_kind, self.period_start).end

    @property
    def period_label(self) -> str:
        from .periods import Period

        return Period(self.period_kind, self.period_start).label


class CommissionPlan(models.Model):
    """How reps are paid on what they bring in: rates by attainment band (tiers)."""

    class Method(models.TextChoices):
        MARGINAL = "marginal", "Marginal: each band's rate on the revenue in that band"
        FLAT = "flat", "Flat: the rate of the band reached, on all revenue"

    class Basis(models.TextChoices):
        WON_DEALS = "won_deals", "Won deals (amount at close)"
        PAID_INVOICES = "paid_invoices", "Paid invoices"

    permission_name = "commission"
    record_ownership = False

    name = models.CharField(max_length=100, unique=True)
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.MARGINAL)
    basis = models.CharField(max_length=13, choices=Basis.choices, default=Basis.WON_DEALS)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CommissionTier(models.Model):
    """A band of attainment, from `from_attainment` % of quota up to the next tier's start,
    paid at `rate` % (a tier above 100 % is an accelerator)."""

    permission_name = "commission"
    record_ownership = False

    plan = models.ForeignKey(CommissionPlan, on_delete=models.CASCADE, related_name="tiers")
    from_attainment = models.DecimalField(
        max_digits=7,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Start of the band, in % of quota (the first tier starts at 0).",
    )
    rate = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Commission rate in % of the revenue in the band.",
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "from_attainment"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "from_attainment"], name="tier_unique_start")
        ]

    def __str__(self) -> str:
        return f"from {self.from_attainment} %: {self.rate} %"


class CommissionAssignment(models.Model):
    """A plan applied to a rep (owner) for a period."""

    permission_name = "commission"

    plan = models.ForeignKey(CommissionPlan, on_delete=models.PROTECT, related_name="assignments")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Kept empty: the permission chokepoint needs the column; managers see their team's
    # assignments through the owner's team.
    team = models.ForeignKey(
        "core.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    period_kind = models.CharField(max_length=7, choices=PeriodKind.choices)
    period_start = models.DateField()
    period_end = models.DateField(editable=False, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-period_start", "owner__username", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "period_kind", "period_start"], name="commission_one_plan"
            )
        ]

    def __str__(self) -> str:
        return f"{self.owner} · {self.plan}"

    def clean(self) -> None:
        """The period is named by its kind and first day; its last day follows from them."""
        from .periods import of_record

        if self.period_kind and self.period_start:
            self.period_end = of_record(self.period_kind, self.period_start).end


class StageConversion(models.Model):
    """Rollup of what closed opportunities did after each open stage (win rate and cycle
    times), so the forecast page never scans the stage history; refreshed by a job."""

    permission_name = "forecast"
    record_ownership = False

    stage = models.OneToOneField("sales.Stage", on_delete=models.CASCADE, related_name="+")
    closed_deals = models.PositiveIntegerField(default=0)
    won_deals = models.PositiveIntegerField(default=0)
    cycle_days = models.JSONField(default=list, blank=True, help_text="Won deals, sorted.")
    refreshed_at = models.DateTimeField(default=timezone.now)

    objects = RestrictedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.stage_id}: {self.won_deals}/{self.closed_deals}"
