"""Sources of customer data, every row they ever sent (lineage), and the imports that bring
rows in: mapping, quarantine, checkpoints for resuming, and the history that makes revert exact."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from patron.core.permissions import RestrictedQuerySet


class Source(models.Model):
    """An external system that sends customer data (billing, web shop, call centre, …)."""

    permission_name = "source"
    record_ownership = False

    class Kind(models.TextChoices):
        FILE = "file", "Files (CSV, Excel, JSON)"
        DATABASE = "database", "SQL database"
        API = "api", "API (bulk upsert)"
        PATRON = "patron", "Entered in Patron"

    class Entity(models.TextChoices):
        CONTACT = "contact", "People (contacts)"
        ACCOUNT = "account", "Organisations (accounts)"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FILE)
    entity = models.CharField(max_length=10, choices=Entity.choices, default=Entity.CONTACT)
    description = models.TextField(blank=True)
    default_region = models.CharField(
        max_length=2, blank=True, help_text="Country for phone numbers without a country code."
    )
    trust_rank = models.PositiveSmallIntegerField(
        default=50, help_text="0–100; a higher rank wins when sources disagree."
    )
    # Database sources: the connection URL is read from this environment variable, so no
    # password is stored in Patron's database.
    connection_env = models.CharField(max_length=100, blank=True)
    query = models.TextField(blank=True, help_text="A table name or a SELECT statement.")
    high_water_column = models.CharField(max_length=100, blank=True)
    high_water_mark = models.CharField(max_length=100, blank=True)
    sync_every_minutes = models.PositiveIntegerField(null=True, blank=True)
    next_sync_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Mapping(models.Model):
    """How one source's columns become Patron fields; saved per source and reused.

    `columns` is a list of `{"column", "target", "transform", "options"}`; `options` holds the
    file settings (format, encoding, delimiter, sheet) so the same file parses the same way.
    """

    permission_name = None
    restrict_via = ("source",)
    parent_actions = {"view": "view", "add": "change", "change": "change", "delete": "change"}

    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="mappings")
    name = models.CharField(max_length=100, default="Default")
    columns = models.JSONField(default=list)
    options = models.JSONField(default=dict)
    match_by = models.CharField(
        max_length=10,
        default="email",
        choices=[("email", "Same email address"), ("none", "Always create new records")],
        help_text="How a row whose key is new finds an existing customer.",
    )
    updated_at = models.DateTimeField(default=timezone.now)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["source", "name"]
        constraints = [
            models.UniqueConstraint(fields=["source", "name"], name="mapping_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.source} · {self.name}"


class ImportRun(models.Model):
    """One import of a file, a database pull or a re-run of quarantined rows.

    `rows_done` is the checkpoint: it is written in the same transaction as the rows it
    counts, so a run killed at any point resumes after the last committed batch.
    """

    permission_name = None
    restrict_via = ("source",)
    parent_actions = {"view": "view", "add": "change", "change": "change", "delete": "change"}

    class Status(models.TextChoices):
        DRAFT = "draft", "Mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        CANCELLING = "cancelling", "Cancelling"
        CANCELLED = "cancelled", "Cancelled"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        REVERTED = "reverted", "Reverted"

    class Kind(models.TextChoices):
        FILE = "file", "File"
        DATABASE = "database", "Database pull"
        RERUN = "rerun", "Re-run of quarantined rows"
        API = "api", "API batch"

    source = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="runs")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.FILE)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns"
    )
    mapping = models.ForeignKey(Mapping, null=True, blank=True, on_delete=models.SET_NULL)
    # The mapping as it was when the run started: a later edit does not change a run's meaning.
    columns = models.JSONField(default=list)
    options = models.JSONField(default=dict)
    match_by = models.CharField(max_length=10, default="email")
    file_path = models.CharField(max_length=500, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_size = models.BigIntegerField(default=0)
    file_hash = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    rows_done = models.PositiveIntegerField(default=0)
    bytes_done = models.BigIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    quarantined_count = models.PositiveIntegerField(default=0)
    flagged_count = models.PositiveIntegerField(default=0)
    problem_counts = models.JSONField(default=dict)
    high_water_mark = models.CharField(max_length=100, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Which process works the run; a run whose heartbeat is stale may be taken over.
    worker_token = models.CharField(max_length=32, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    resumed_at = models.DateTimeField(null=True, blank=True)
    rows_at_resume = models.PositiveIntegerField(default=0)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import #{self.pk} · {self.source}"

    @property
    def audit_request_id(self) -> str:
        """Every change the run makes is audited under this id; revert reads it back."""
        return f"import-{self.pk}"

    @property
    def is_active(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING, self.Status.CANCELLING}


class SourceRecord(models.Model):
    """One row as a source sent it, kept for good: the raw payload, what Patron made of it,
    and the customer record it contributes to. Keyed by the source's own key (else a hash)."""

    # Lineage is customer data: a source record is as visible as the customer it describes.
    permission_name = None
    restrict_via = ("contact", "account")
    parent_actions = {"view": "view", "export": "export"}

    # Both foreign keys are covered by the unique (source, source_key) constraint and
    # `source_record_run_idx`: no index of their own (every index slows a large import).
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="records", db_index=False
    )
    source_key = models.CharField(max_length=255)
    payload = models.JSONField(default=dict)
    normalised = models.JSONField(default=dict)
    problems = models.JSONField(default=list)
    content_hash = models.CharField(max_length=64)
    line = models.PositiveIntegerField(null=True, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    last_run = models.ForeignKey(
        ImportRun,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    contact = models.ForeignKey(
        "customers.Contact",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="source_records",
    )
    account = models.ForeignKey(
        "customers.Account",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="source_records",
    )

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["source", "source_key"]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_key"], name="source_record_key")
        ]
        indexes = [models.Index(fields=["last_run"], name="source_record_run_idx")]

    def __str__(self) -> str:
        return f"{self.source} · {self.source_key}"


class SourceRecordVersion(models.Model):
    """A source record as it was before an import changed it: nothing a source sent is lost,
    and reverting that import puts this version back."""

    record = models.ForeignKey(SourceRecord, on_delete=models.CASCADE, related_name="versions")
    replaced_by_run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="+")
    payload = models.JSONField(default=dict)
    normalised = models.JSONField(default=dict)
    problems = models.JSONField(default=list)
    content_hash = models.CharField(max_length=64)
    line = models.PositiveIntegerField(null=True, blank=True)
    last_seen_at = models.DateTimeField()
    last_run_id_before = models.BigIntegerField(null=True, blank=True)
    contact_id_before = models.BigIntegerField(null=True, blank=True)
    account_id_before = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["replaced_by_run"], name="source_version_run_idx")]

    def __str__(self) -> str:
        return f"{self.record} before import #{self.replaced_by_run_id}"


class QuarantinedRow(models.Model):
    """A row that could not be used at all, with its line and the reason; re-runnable."""

    run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="quarantined")
    line = models.PositiveIntegerField()
    reason = models.CharField(max_length=30)
    message = models.TextField()
    raw = models.JSONField(default=dict)
    resolved_by = models.ForeignKey(
        ImportRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="resolved"
    )

    class Meta:
        ordering = ["run", "line", "id"]
        indexes = [models.Index(fields=["run", "line"], name="quarantine_run_line_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="quarantine_has_reason")
        ]

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"
