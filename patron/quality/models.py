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
