"""Contacts (people), accounts (organisations), their contact points, relationships and timeline."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from patron.core.permissions import RestrictedQuerySet


class LifecycleStage(models.TextChoices):
    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    MQL = "mql", "Marketing qualified lead"
    SQL = "sql", "Sales qualified lead"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    EVANGELIST = "evangelist", "Evangelist"
    FORMER = "former", "Former customer"
    OTHER = "other", "Other"


class Tag(models.Model):
    """A free label on contacts and accounts ("VIP", "Newsletter")."""

    name = models.CharField(max_length=50, unique=True)
    color = models.CharField(max_length=7, default="#64748b")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OwnedRecord(models.Model):
    """Fields shared by the top-level customer records: ownership, stage, custom fields, version."""

    # Owner and team are indexed by each record's (owner, name) and (team, name) indexes,
    # which also serve the foreign keys; a second index each would only slow every insert.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    team = models.ForeignKey(
        "core.Team",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    lifecycle_stage = models.CharField(
        max_length=20, choices=LifecycleStage.choices, default=LifecycleStage.LEAD
    )
    custom_fields = models.JSONField(default=dict, blank=True)
    # Lower-cased, accent-folded text of names, emails and phone digits; indexed for search
    # (trigram GIN on PostgreSQL, an FTS5 trigram table on SQLite). Written by services only.
    search_document = models.TextField(blank=True, default="", editable=False)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        abstract = True


class Account(OwnedRecord):
    """An organisation: a company, a public body, a household account."""

    permission_name = "account"

    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=100, blank=True)
    employee_count = models.PositiveIntegerField(null=True, blank=True)
    annual_revenue = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    description = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="subsidiaries"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="accounts")

    class Meta:
        ordering = ["name", "id"]
        indexes = [
            models.Index(fields=["name", "id"], name="account_name_idx"),
            models.Index(fields=["owner", "name"], name="account_owner_idx"),
            models.Index(fields=["team", "name"], name="account_team_idx"),
            models.Index(fields=["updated_at", "id"], name="account_updated_idx"),
            # Imports find an account by name regardless of case, a batch at a time.
            models.Index(Lower("name"), name="account_lower_name_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class Contact(OwnedRecord):
    """A person. Belongs to any number of accounts through `AccountRelationship`."""

    permission_name = "contact"

    prefix = models.CharField(max_length=20, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    middle_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    suffix = models.CharField(max_length=20, blank=True)
    job_title = models.CharField(max_length=150, blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    description = models.TextField(blank=True)
    accounts = models.ManyToManyField(
        Account, through="AccountRelationship", related_name="contacts", blank=True
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="contacts")

    class Meta:
        ordering = ["last_name", "first_name", "id"]
        indexes = [
            models.Index(fields=["last_name", "first_name", "id"], name="contact_name_idx"),
            models.Index(fields=["owner", "last_name"], name="contact_owner_idx"),
            models.Index(fields=["team", "last_name"], name="contact_team_idx"),
            models.Index(fields=["lifecycle_stage", "last_name"], name="contact_stage_idx"),
            models.Index(fields=["updated_at", "id"], name="contact_updated_idx"),
            models.Index(fields=["created_at", "id"], name="contact_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(first_name="", last_name=""), name="contact_has_a_name"
            )
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        parts = [self.first_name, self.middle_name, self.last_name]
        return " ".join(p for p in parts if p) or "(no name)"


class ContactPoint(models.Model):
    """Shared shape of emails, phones and addresses: belongs to a contact or an account."""

    permission_name = None
    restrict_via = ("contact", "account")
    # Reading a contact point needs the parent visible; writing one is editing the parent.
    parent_actions = {
        "view": "view",
        "export": "export",
        "add": "change",
        "change": "change",
        "delete": "change",
    }

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="%(class)ss"
    )
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="%(class)ss"
    )
    is_primary = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def parent(self) -> Contact | Account:
        return self.contact if self.contact_id else self.account  # type: ignore[return-value]


def _one_parent(name: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=(
            Q(contact__isnull=False, account__isnull=True)
            | Q(contact__isnull=True, account__isnull=False)
        ),
        name=f"{name}_one_parent",
    )


class EmailAddress(ContactPoint):
    class Kind(models.TextChoices):
        WORK = "work", "Work"
        PERSONAL = "personal", "Personal"
        OTHER = "other", "Other"

    email = models.EmailField(max_length=254)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.WORK)

    class Meta:
        ordering = ["-is_primary", "id"]
        indexes = [
            models.Index(fields=["email"], name="email_address_idx"),
            # Imports match new rows to existing customers by address regardless of case.
            models.Index(Lower("email"), name="email_address_lower_idx"),
        ]
        constraints = [_one_parent("email")]

    def __str__(self) -> str:
        return self.email


class PhoneNumber(ContactPoint):
    class Kind(models.TextChoices):
        MOBILE = "mobile", "Mobile"
        WORK = "work", "Work"
        HOME = "home", "Home"
        FAX = "fax", "Fax"
        OTHER = "other", "Other"

    number = models.CharField(max_length=50, help_text="As entered.")
    e164 = models.CharField(max_length=20, blank=True, help_text="Normalised, e.g. +442079460018.")
    extension = models.CharField(max_length=10, blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.MOBILE)

    class Meta:
        ordering = ["-is_primary", "id"]
        indexes = [models.Index(fields=["e164"], name="phone_e164_idx")]
        constraints = [_one_parent("phone")]

    def __str__(self) -> str:
        return self.e164 or self.number


class PostalAddress(ContactPoint):
    class Kind(models.TextChoices):
        HOME = "home", "Home"
        WORK = "work", "Work"
        BILLING = "billing", "Billing"
        SHIPPING = "shipping", "Shipping"
        OTHER = "other", "Other"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.HOME)
    street = models.CharField(max_length=200, blank=True)
    street2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code.")

    class Meta:
        ordering = ["-is_primary", "id"]
        constraints = [_one_parent("address")]

    def __str__(self) -> str:
        parts = [self.street, self.street2, self.postal_code, self.city, self.region, self.country]
        return ", ".join(p for p in parts if p)


class AccountRelationship(models.Model):
    """A person's role at an organisation; a person can belong to several accounts."""

    permission_name = None
    restrict_via = ("contact",)
    parent_actions = {
        "view": "view",
        "export": "export",
        "add": "change",
        "change": "change",
        "delete": "change",
    }

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="relationships")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="relationships")
    role = models.CharField(
        max_length=100, blank=True, help_text="e.g. Buyer, CFO, Billing contact"
    )
    is_primary = models.BooleanField(default=False)
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-is_primary", "account__name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["contact", "account", "role"], name="relationship_unique_role"
            )
        ]

    def __str__(self) -> str:
        role = f" ({self.role})" if self.role else ""
        return f"{self.contact} at {self.account}{role}"


class TimelineEntry(models.Model):
    """One interaction with a customer: a note, call, meeting, email, task, or any kind that
    another app registers (orders, cases, campaign sends) through `customers.timeline`.

    Common columns hold what every kind needs and what must be queried (who, when, due,
    done); kind-specific details go to `data`, validated by the kind's schema.
    """

    permission_name = "timeline"
    restrict_via = ("contact", "account")
    parent_actions = {
        "view": "view",
        "export": "export",
        "add": "view",
        "change": "view",
        "delete": "change",
    }

    kind = models.CharField(max_length=30, db_index=True)
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="timeline_entries"
    )
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="timeline_entries"
    )
    occurred_at = models.DateTimeField(default=timezone.now)
    subject = models.CharField(max_length=300, blank=True)
    body = models.TextField(blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    # Tasks (and any kind with a deadline): queried for "my open tasks".
    due_at = models.DateTimeField(null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_entries",
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    # The object an extension's entry stands for (an order, a case), if any.
    related_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    related_id = models.BigIntegerField(null=True, blank=True)
    related_object = GenericForeignKey("related_type", "related_id")
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name_plural = "timeline entries"
        indexes = [
            models.Index(fields=["contact", "-occurred_at", "-id"], name="timeline_contact_idx"),
            models.Index(fields=["account", "-occurred_at", "-id"], name="timeline_account_idx"),
            models.Index(fields=["assignee", "completed_at", "due_at"], name="timeline_task_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(contact__isnull=False) | Q(account__isnull=False),
                name="timeline_has_parent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject or self.body[:50]}"

    @property
    def is_done(self) -> bool:
        return self.completed_at is not None
