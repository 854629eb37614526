"""Users, teams, roles, organisation settings, audit, API tokens and custom-field definitions."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.models import ContentType
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone


class Team(models.Model):
    """A group of users; records are shared within a team depending on the visibility setting."""

    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """A named set of permissions such as "contact.view" or "account.*" ("*" grants all).

    `sees_all_records` bypasses record visibility (administrators); `manages_team` lets a
    user see and edit the records owned by their team even when records are private.
    """

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    permissions = models.JSONField(default=list, blank=True)
    sees_all_records = models.BooleanField(default=False)
    manages_team = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def grants(self, permission: str) -> bool:
        """Whether this role grants `permission` ("<object>.<action>")."""
        subject = permission.split(".", 1)[0]
        granted = set(self.permissions or [])
        return "*" in granted or permission in granted or f"{subject}.*" in granted


class User(AbstractUser):
    """A Patron user: a role decides what they may do, a team what they may see."""

    role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.PROTECT)
    team = models.ForeignKey(
        Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def sees_all_records(self) -> bool:
        return self.is_superuser or bool(self.role and self.role.sees_all_records)

    @property
    def manages_team(self) -> bool:
        return bool(self.role and self.role.manages_team)

    def has_patron_perm(self, permission: str) -> bool:
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        return bool(self.role and self.role.grants(permission))


class RecordVisibility(models.TextChoices):
    PRIVATE = "private", "Private to the owner (managers see their team's)"
    TEAM = "team", "Shared within the owner's team"
    PUBLIC_READ = "public_read", "Everyone can see, owners edit"
    PUBLIC_READ_WRITE = "public_read_write", "Everyone can see and edit"


class OrganisationSettings(models.Model):
    """The one row of organisation-wide settings (singleton, id=1)."""

    name = models.CharField(max_length=200, default="My organisation")
    record_visibility = models.CharField(
        max_length=20, choices=RecordVisibility.choices, default=RecordVisibility.TEAM
    )
    default_phone_region = models.CharField(
        max_length=2,
        default="GB",
        validators=[RegexValidator(r"^[A-Z]{2}$", "Use a two-letter ISO country code.")],
        help_text="Country used to read phone numbers typed without a country code.",
    )

    class Meta:
        verbose_name = "organisation settings"
        verbose_name_plural = "organisation settings"

    def __str__(self) -> str:
        return self.name


class AuditEvent(models.Model):
    """One create, update or delete, written in the same transaction as the change itself.

    `changes` maps a field name to `[before, after]`. Changes to a record's children (an
    email of a contact) also name the parent so that the parent's history shows them.
    """

    class Action(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"
        MERGE = "merge", "Merged"
        UNMERGE = "unmerge", "Unmerged"
        REVIEW = "review", "Reviewed"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True)
    request_id = models.CharField(max_length=64)
    origin = models.CharField(max_length=10)
    action = models.CharField(max_length=10, choices=Action.choices)
    # Indexed by `audit_object_idx` (and `parent_type` by `audit_parent_idx`), not on its own:
    # every index is paid for by each of the millions of events a large import writes.
    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    object_id = models.BigIntegerField()
    object_repr = models.CharField(max_length=200)
    parent_type = models.ForeignKey(
        ContentType,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    parent_id = models.BigIntegerField(null=True, blank=True)
    changes = models.JSONField(default=dict)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["parent_type", "parent_id"], name="audit_parent_idx"),
            # Equality only (a revert reads its request's events): no pattern-ops twin.
            models.Index(fields=["request_id"], name="audit_request_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 hash of the key is stored; the key is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        now = timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class CustomFieldDefinition(models.Model):
    """An admin-defined field on contacts or accounts, stored in their `custom_fields` JSON."""

    class ObjectType(models.TextChoices):
        CONTACT = "contact", "Contact"
        ACCOUNT = "account", "Account"

    class FieldType(models.TextChoices):
        TEXT = "text", "Text"
        NUMBER = "number", "Number"
        DATE = "date", "Date"
        CHOICE = "choice", "Choice"
        BOOLEAN = "boolean", "Yes / no"

    object_type = models.CharField(max_length=20, choices=ObjectType.choices)
    name = models.CharField(
        max_length=50,
        validators=[
            RegexValidator(
                r"^[a-z][a-z0-9_]*$",
                "Use lower-case letters, digits and underscores, starting with a letter.",
            )
        ],
        help_text="Key used in the API and in filters (cf_<name>).",
    )
    label = models.CharField(max_length=100)
    field_type = models.CharField(max_length=10, choices=FieldType.choices)
    choices = models.JSONField(
        default=list, blank=True, help_text="For choice fields: the allowed values."
    )
    required = models.BooleanField(default=False)
    help_text = models.CharField(max_length=200, blank=True)
    show_in_list = models.BooleanField(default=False)
    order = models.PositiveIntegerField(default=100)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["object_type", "order", "label"]
        constraints = [
            models.UniqueConstraint(fields=["object_type", "name"], name="customfield_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.get_object_type_display()}: {self.label}"


class IdempotencyKey(models.Model):
    """A write sent with an `Idempotency-Key` header and the answer it got, so that a client
    retrying after a timeout gets that answer again instead of a second write (decision 0011).

    `response_status` is null while the first request is still being answered."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=2000)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request body.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    response_content_type = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} ({self.key})"
