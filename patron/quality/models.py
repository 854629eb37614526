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
