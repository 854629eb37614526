"""Data-quality records: merges of customers (kept so that each can be undone exactly)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Merge(models.Model):
    """Two or more contacts (or accounts) merged into a survivor.

    `snapshot` holds everything needed to undo it exactly: every merged record's own values
    and tags, the survivor's values before, which attached rows (contact points, timeline
    entries, relationships, source records, and whatever later apps attach) moved from which
    record, rows removed as duplicates, and primary flags that changed.
    """

    class ObjectType(models.TextChoices):
        CONTACT = "contact", "Contact"
        ACCOUNT = "account", "Account"

    object_type = models.CharField(max_length=10, choices=ObjectType.choices)
    survivor_id = models.BigIntegerField(db_index=True)
    merged_ids = models.JSONField(default=list)
    merged_names = models.JSONField(default=list)
    field_choices = models.JSONField(default=dict)
    snapshot = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        names = ", ".join(self.merged_names) or ", ".join(str(i) for i in self.merged_ids)
        return f"{names} merged into {self.object_type} #{self.survivor_id}"


class QualityScore(models.Model):
    """A customer record's last computed quality score, for the dashboard's worst-records list
    (a record page computes its own score live)."""

    object_type = models.CharField(max_length=10, choices=Merge.ObjectType.choices)
    object_id = models.BigIntegerField()
    total = models.PositiveSmallIntegerField()
    parts = models.JSONField(default=dict)
    reasons = models.JSONField(default=list)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["object_type", "total", "object_id"]
        constraints = [
            models.UniqueConstraint(fields=["object_type", "object_id"], name="quality_score_one")
        ]
        indexes = [models.Index(fields=["object_type", "total"], name="quality_score_total_idx")]

    def __str__(self) -> str:
        return f"{self.object_type} #{self.object_id}: {self.total}"


class QualitySnapshot(models.Model):
    """One day's counts for one source and field: the trend charts read these rollups, never
    the source records themselves."""

    day = models.DateField(db_index=True)
    source = models.ForeignKey("integration.Source", on_delete=models.CASCADE, related_name="+")
    field = models.CharField(max_length=100)
    records = models.PositiveIntegerField()
    filled = models.PositiveIntegerField()
    flagged = models.PositiveIntegerField()

    class Meta:
        ordering = ["day", "source", "field"]
        constraints = [
            models.UniqueConstraint(fields=["day", "source", "field"], name="quality_snapshot_one")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.source_id} {self.field}"


# --- entity resolution: runs, the review queue, decisions, survivorship and lineage ---------


class ResolutionRun(models.Model):
    """One pass of entity resolution over the staged source records of people (or
    organisations): full (the model re-estimated from all the data) or incremental (records
    that arrived since the last run, scored with the last full run's model)."""

    class Mode(models.TextChoices):
        FULL = "full", "Full re-run"
        INCREMENTAL = "incremental", "New records only"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"

    object_type = models.CharField(max_length=10, choices=Merge.ObjectType.choices)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.INCREMENTAL)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    phase = models.CharField(max_length=60, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent
    # Incremental runs look at source records above the last completed run's high-water id.
    high_water_id = models.BigIntegerField(default=0)
    high_water_customer_id = models.BigIntegerField(default=0)
    records = models.PositiveIntegerField(default=0)
    new_records = models.PositiveIntegerField(default=0)
    pairs_scored = models.PositiveIntegerField(default=0)
    merges = models.PositiveIntegerField(default=0)
    review_pairs = models.PositiveIntegerField(default=0)
    model = models.JSONField(default=dict, blank=True)  # the trained model (full runs)
    timings = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Resolution #{self.pk} ({self.mode}, {self.object_type})"

    @property
    def audit_request_id(self) -> str:
        return f"resolution-{self.pk}"


class MatchReview(models.Model):
    """Two customers whose source records scored in the uncertain band: a person decides.

    The pair is kept by its two source records (the ones that scored highest), so a decision
    outlives merges and unmerges of the customers around them."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for review"
        ACCEPTED = "accepted", "Same customer"
        REJECTED = "rejected", "Different customers"
        SUPERSEDED = "superseded", "Already resolved"

    object_type = models.CharField(max_length=10, choices=Merge.ObjectType.choices)
    record_a = models.ForeignKey(
        "integration.SourceRecord",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    record_b = models.ForeignKey(
        "integration.SourceRecord",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    # A customer entered in Patron itself, with no source record, takes part by its own id.
    customer_a = models.BigIntegerField(db_index=True)
    customer_b = models.BigIntegerField(db_index=True)
    probability = models.FloatField()
    match_weight = models.FloatField(default=0.0)
    explanation = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    run = models.ForeignKey(
        ResolutionRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="reviews"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    merge = models.ForeignKey(
        Merge, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["status", "-probability", "id"]
        indexes = [
            models.Index(fields=["object_type", "status", "probability"], name="review_queue_idx")
        ]

    def __str__(self) -> str:
        return (
            f"{self.object_type} #{self.customer_a} ~ #{self.customer_b} ({self.probability:.2f})"
        )


class MatchDecision(models.Model):
    """A person's word on two records: the same customer (always kept together) or not (never
    merged again by any later run). Keys are resolution ids: a source record's id, or minus a
    customer's id for a customer entered in Patron with no source record."""

    class Verdict(models.TextChoices):
        SAME = "same", "Same customer"
        DIFFERENT = "different", "Different customers"

    object_type = models.CharField(max_length=10, choices=Merge.ObjectType.choices)
    key_a = models.BigIntegerField()
    key_b = models.BigIntegerField()
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    reason = models.CharField(max_length=100, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-decided_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "key_a", "key_b"], name="match_decision_pair"
            ),
            models.CheckConstraint(
                condition=models.Q(key_a__lt=models.F("key_b")), name="match_decision_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key_a} {self.verdict} {self.key_b}"


class SurvivorshipRule(models.Model):
    """How one field of the golden record picks its value among what the sources sent.
    Fields with no rule here use the defaults in `survivorship.DEFAULT_RULES`."""

    class Rule(models.TextChoices):
        TRUST = "trust", "Most trusted source"
        RECENT = "recent", "Most recently received"
        FREQUENT = "frequent", "Most frequent value"
        COMPLETE = "complete", "Most complete value"

    object_type = models.CharField(max_length=10, choices=Merge.ObjectType.choices)
    field = models.CharField(max_length=50)
    rule = models.CharField(max_length=10, choices=Rule.choices)

    class Meta:
        ordering = ["object_type", "field"]
        constraints = [
            models.UniqueConstraint(fields=["object_type", "field"], name="survivorship_rule_one")
        ]

    def __str__(self) -> str:
        return f"{self.object_type}.{self.field}: {self.get_rule_display()}"


class FieldLineage(models.Model):
    """Where one field of a golden record got its value: the source records that sent it and
    the rule that chose it, or the person who typed it (a hand edit wins until a source sends
    something new for that field, or someone lets the sources decide again)."""

    object_type = models.CharField(max_length=10, choices=Merge.ObjectType.choices)
    object_id = models.BigIntegerField()
    field = models.CharField(max_length=50)
    value = models.JSONField(null=True, blank=True)
    source_record_ids = models.JSONField(default=list)
    rule = models.CharField(max_length=10)  # a SurvivorshipRule.Rule, "hand" or "only"
    # Every value the sources sent for the field: [{"value", "source_record_ids"}].
    candidates = models.JSONField(default=list)
    edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    edited_at = models.DateTimeField(null=True, blank=True)
    # For a hand edit: what each source record said for the field at the time of the edit.
    pinned = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["object_type", "object_id", "field"]
        constraints = [
            models.UniqueConstraint(
                fields=["object_type", "object_id", "field"], name="field_lineage_one"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_type} #{self.object_id}.{self.field} ({self.rule})"
