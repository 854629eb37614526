"""The demo generator writes around the services, so these tests hold it to their invariants."""

import io
from collections import Counter

import phonenumbers
import pytest
from django.core.management import call_command
from django.db.models import Count, Q
from django.utils import timezone
from email_validator import validate_email

from patron.core.custom_fields import clean_custom_fields
from patron.core.models import CustomFieldDefinition, OrganisationSettings, Role, Team, User
from patron.customers import demo, search, selectors, services
from patron.customers.models import (
    Account,
    AccountRelationship,
    Contact,
    EmailAddress,
    PhoneNumber,
    PostalAddress,
    TimelineEntry,
)
from patron.utils import phones

pytestmark = pytest.mark.django_db

CONTACTS = 300


@pytest.fixture
def generated():
    out = io.StringIO()
    call_command(
        "demo",
        "--contacts",
        str(CONTACTS),
        "--seed",
        "7",
        "--no-progress",
        "--batch-size",
        "120",
        stdout=out,
    )
    return out.getvalue()


def test_counts_and_organisation(generated):
    assert Contact.objects.count() == CONTACTS
    assert Account.objects.count() == CONTACTS // 5
    assert Team.objects.count() == 6
    assert User.objects.count() == len(demo._staff_plan()) == 31
    assert {r.slug for r in Role.objects.all()} == set(
        User.objects.values_list("role__slug", flat=True)
    )
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.check_password("patron-demo")
    rep = User.objects.get(username="rep1")
    assert rep.role.slug == "sales_rep" and rep.team is not None
    assert rep.check_password("patron-demo")
    assert set(CustomFieldDefinition.objects.values_list("object_type", "name")) == {
        ("contact", "preferred_language"),
        ("account", "customer_since"),
    }
    # The summary reports what is in the database.
    for model in (
        Contact,
        Account,
        EmailAddress,
        PhoneNumber,
        PostalAddress,
        AccountRelationship,
        TimelineEntry,
    ):
        assert f"{model._meta.db_table}" in generated
        assert f"{model.objects.count():,}" in generated
    assert "Log in at http://127.0.0.1:8000 as admin / patron-demo" in generated
    assert "rep1 / patron-demo" in generated


def test_contact_points_keep_the_services_invariants(generated):
    contacts = Contact.objects.annotate(
        emails=Count("emailaddresss", distinct=True),
        primary_emails=Count(
            "emailaddresss", filter=Q(emailaddresss__is_primary=True), distinct=True
        ),
        phones=Count("phonenumbers", distinct=True),
        primary_phones=Count(
            "phonenumbers", filter=Q(phonenumbers__is_primary=True), distinct=True
        ),
    )
    for c in contacts:
        assert 1 <= c.emails <= 2 and c.primary_emails == 1
        assert 1 <= c.phones <= 2 and c.primary_phones == 1
    for model in (EmailAddress, PhoneNumber, PostalAddress):
        per_parent = Counter(
            model.objects.filter(is_primary=True).values_list("contact_id", "account_id")
        )
        assert set(per_parent.values()) == {1}
    region = OrganisationSettings.objects.get(pk=1).default_phone_region
    for phone in PhoneNumber.objects.all():
        assert phonenumbers.is_valid_number(phonenumbers.parse(phone.e164, None)), phone.e164
        assert phones.to_e164(phone.number, region) == phone.e164
    for email in EmailAddress.objects.all()[:200]:
        assert validate_email(email.email, check_deliverability=False).normalized == email.email
        assert email.email.endswith(".example")
    assert {c.country for c in PostalAddress.objects.all()} <= {m.country for m in demo.MARKETS}


def test_records_keep_the_services_invariants(generated):
    for contact in Contact.objects.select_related("owner"):
        assert contact.version == 1
        assert contact.owner is not None and contact.team_id == contact.owner.team_id
        emails = list(contact.emailaddresss.values_list("email", flat=True))
        phone_pairs = list(contact.phonenumbers.values_list("number", "e164"))
        assert contact.search_document == search.contact_document(contact, emails, phone_pairs)
        assert clean_custom_fields("contact", contact.custom_fields) == contact.custom_fields
    for account in Account.objects.select_related("owner"):
        assert account.team_id == account.owner.team_id
        emails = list(account.emailaddresss.values_list("email", flat=True))
        phone_pairs = list(account.phonenumbers.values_list("number", "e164"))
        assert account.search_document == search.account_document(account, emails, phone_pairs)
        assert clean_custom_fields("account", account.custom_fields) == account.custom_fields
    primaries = Counter(
        AccountRelationship.objects.filter(is_primary=True).values_list("contact_id", flat=True)
    )
    assert set(primaries.values()) == {1}
    assert AccountRelationship.objects.values("contact_id").distinct().count() == len(primaries)


def test_timeline_is_valid_and_varied(generated):
    entries = list(TimelineEntry.objects.all())
    assert {e.kind for e in entries} == {"note", "call", "meeting", "email", "task"}
    for entry in entries:
        assert services._clean_entry_data(entry.kind, entry.data) == entry.data
        assert entry.author_id is not None
    now = timezone.now()
    tasks = [e for e in entries if e.kind == "task"]
    assert all(t.due_at and t.assignee_id for t in tasks)
    assert any(t.completed_at for t in tasks)
    assert any(t.completed_at is None and t.due_at < now for t in tasks)  # overdue
    assert all(e.occurred_at > now - timezone.timedelta(days=731) for e in entries)


def test_search_finds_generated_contacts(generated):
    admin = User.objects.get(username="admin")
    contact = Contact.objects.filter(phonenumbers__isnull=False).order_by("id")[17]
    email = contact.emailaddresss.get(is_primary=True).email
    phone = contact.phonenumbers.get(is_primary=True)
    for query in (f"{contact.first_name} {contact.last_name}", email, phone.number, phone.e164):
        found = selectors.global_search(user=admin, query=query, limit=1000)["contacts"]
        assert contact in found, query


def _snapshot():
    return [
        (
            c.first_name,
            c.last_name,
            c.owner.username,
            c.lifecycle_stage,
            [e.email for e in c.emailaddresss.all()],
            [p.e164 for p in c.phonenumbers.all()],
        )
        for c in Contact.objects.order_by("id")
        .select_related("owner")
        .prefetch_related("emailaddresss", "phonenumbers")
    ]


def test_same_seed_gives_the_same_data():
    demo.generate(contacts=120, seed=3, progress=False, stdout=lambda s: None)
    first = _snapshot()
    Contact.objects.all().delete()
    Account.objects.all().delete()
    demo.generate(contacts=120, seed=3, progress=False, stdout=lambda s: None)
    assert _snapshot() == first
    assert User.objects.count() == 31  # users are reused, not duplicated


def test_if_empty_does_nothing_the_second_time():
    call_command("demo", "--contacts", "150", "--if-empty", "--no-progress", stdout=io.StringIO())
    counts = (Contact.objects.count(), Account.objects.count(), TimelineEntry.objects.count())
    out = io.StringIO()
    call_command("demo", "--contacts", "150", "--if-empty", "--no-progress", stdout=out)
    assert (
        (Contact.objects.count(), Account.objects.count(), TimelineEntry.objects.count())
        == counts
        == (150, 30, counts[2])
    )
    assert "already has contacts" in out.getvalue()


def test_large_postgresql_loads_restore_the_indexes_and_keys_they_drop(monkeypatch):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("indexes are only dropped during large PostgreSQL loads")

    def indexes():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes "
                "WHERE tablename LIKE 'customers_%%' ORDER BY indexname"
            )
            found = cursor.fetchall()
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid), convalidated "
                "FROM pg_constraint WHERE conrelid::regclass::text "
                "LIKE 'customers_%%' ORDER BY conname"
            )
            return found + cursor.fetchall()

    before = indexes()
    monkeypatch.setattr(demo, "REBUILD_INDEXES_FROM", 100)
    demo.generate(contacts=100, seed=1, progress=False, stdout=lambda s: None)
    assert indexes() == before
    assert any("gin_trgm_ops" in row[1] for row in before)
    assert any("FOREIGN KEY" in row[1] for row in before)
    admin = User.objects.get(username="admin")
    contact = Contact.objects.order_by("id").first()
    found = selectors.global_search(user=admin, query=contact.last_name, limit=1000)["contacts"]
    assert contact in found


def test_long_search_terms_must_match_whole(generated):
    """On PostgreSQL the index looks for a long term's prefix; the whole term must still match."""
    admin = User.objects.get(username="admin")
    email = (
        EmailAddress.objects.filter(contact__isnull=False, email__contains="@")
        .order_by("id")
        .first()
    )
    assert len(email.email) > search.INDEXED_PREFIX
    found = selectors.global_search(user=admin, query=email.email, limit=1000)["contacts"]
    assert email.contact in found
    altered = email.email[:-3] + "zzz"
    found = selectors.global_search(user=admin, query=altered, limit=1000)["contacts"]
    assert email.contact not in found


def test_contact_timeline_shortcut_returns_what_restrict_returns(generated):
    """`timeline_for(contact=...)` skips the "every visible contact" filter for a visible
    contact; on real data it must return exactly the entries `restrict` lets through."""
    for username in ("rep1", "viewer", "agent2", "admin"):
        user = User.objects.get(username=username)
        for contact in Contact.objects.filter(timeline_entries__isnull=False).distinct()[:40]:
            expected = list(
                TimelineEntry.objects.restrict(user, "view")
                .filter(contact=contact)
                .order_by("-occurred_at", "-id")
            )
            assert list(selectors.timeline_for(user=user, contact=contact)) == expected
            if selectors.contact_visible(user=user).filter(pk=contact.pk).exists():
                # As the contact page asks, having read the contact through restrict(view).
                shortcut = selectors.timeline_for(user=user, contact=contact, known_visible=True)
                assert list(shortcut) == expected
