"""Merging customers and undoing it: everything attached moves to the survivor, field picking,
lineage follows, and undo restores every record, value and link exactly."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from patron.core.models import AuditEvent
from patron.customers import services as customers
from patron.customers.models import (
    Account,
    AccountRelationship,
    Contact,
    EmailAddress,
    PhoneNumber,
    PostalAddress,
    Tag,
    TimelineEntry,
)
from patron.integration import services as integration
from patron.integration.models import SourceRecord
from patron.quality.merge import merge_preview, merge_undo, record_merge
from patron.quality.models import Merge

pytestmark = pytest.mark.django_db


def everything() -> dict:
    """Every customer row and link, to compare states exactly."""

    def rows(model, *fields):
        return sorted(model.objects.values_list("pk", *fields))

    return {
        "contacts": rows(
            Contact,
            "first_name",
            "last_name",
            "job_title",
            "date_of_birth",
            "custom_fields",
            "owner_id",
            "version",
            "search_document",
        ),
        "accounts": rows(Account, "name", "domain"),
        "emails": rows(EmailAddress, "contact_id", "account_id", "email", "is_primary"),
        "phones": rows(PhoneNumber, "contact_id", "e164", "is_primary"),
        "addresses": rows(PostalAddress, "contact_id", "city", "is_primary"),
        "links": rows(AccountRelationship, "contact_id", "account_id", "role", "is_primary"),
        "timeline": rows(TimelineEntry, "contact_id", "account_id", "subject"),
        "tags": sorted(Contact.tags.through.objects.values_list("contact_id", "tag_id")),
        "lineage": rows(SourceRecord, "contact_id", "source_key"),
    }


@pytest.fixture
def twins(admin_user, settings, tmp_path):
    """The same person twice: once typed in, once from a billing import."""
    settings.VAR_DIR = tmp_path
    acme = customers.account_create(actor=admin_user, data={"name": "Acme"}, tags=[])
    ada = customers.contact_create(
        actor=admin_user,
        data={"first_name": "Ada", "last_name": "Lovelace", "job_title": ""},
        tags=["VIP"],
        emails=[{"email": "ada@example.com", "kind": "work", "is_primary": True}],
        phones=[{"number": "+44 20 7946 0018", "kind": "work", "is_primary": True}],
        addresses=[],
    )
    customers.relationship_add(actor=admin_user, contact=ada, account=acme, data={"role": "CTO"})
    customers.timeline_entry_create(
        actor=admin_user,
        kind="note",
        contact=ada,
        subject="Met at a conference",
        body="Keen on engines.",
    )
    source = integration.source_create(actor=admin_user, data={"name": "Billing"})
    _, outcomes = integration.import_rows(
        actor=admin_user,
        source=source,
        rows=[
            {
                "source_key": "B-7",
                "contact.first_name": "Augusta Ada",
                "contact.last_name": "King",
                "contact.job_title": "Countess",
                "contact.date_of_birth": "1815-12-10",
                "email": "countess@example.org",
                "phone": "+44 161 496 0000",
                "address.city": "London",
                "account.name": "Acme",
            }
        ],
        match_by="none",
    )
    king = Contact.objects.get(pk=outcomes[0].record_id)
    AccountRelationship.objects.filter(contact=king).update(role="CTO")  # a duplicate link
    king.tags.add(Tag.objects.create(name="Billing"))
    customers.timeline_entry_create(
        actor=admin_user,
        kind="note",
        contact=king,
        subject="Invoice query",
        body="Asked about VAT.",
    )
    return Contact.objects.get(pk=ada.pk), Contact.objects.get(pk=king.pk)


def test_merge_moves_everything_to_the_survivor(admin_user, twins):
    ada, king = twins
    merge = record_merge(
        actor=admin_user,
        object_type="contact",
        survivor_id=ada.pk,
        other_ids=[king.pk],
        choices={"job_title": king.pk},
    )
    assert not Contact.objects.filter(pk=king.pk).exists()
    ada.refresh_from_db()
    # Picked value, the survivor's own values, and values only the other had.
    assert (ada.first_name, ada.last_name, ada.job_title) == ("Ada", "Lovelace", "Countess")
    assert ada.date_of_birth == datetime.date(1815, 12, 10)
    assert sorted(ada.emailaddresss.values_list("email", "is_primary")) == [
        ("ada@example.com", True),
        ("countess@example.org", False),
    ]
    assert sorted(ada.phonenumbers.values_list("e164", "is_primary")) == [
        ("+441614960000", False),
        ("+442079460018", True),
    ]
    assert list(ada.postaladdresss.values_list("city", flat=True)) == ["London"]
    assert list(ada.relationships.values_list("account__name", "role")) == [("Acme", "CTO")]
    assert sorted(ada.timeline_entries.values_list("subject", flat=True)) == [
        "Invoice query",
        "Met at a conference",
    ]
    assert sorted(ada.tags.values_list("name", flat=True)) == ["Billing", "VIP"]
    # Lineage follows: the billing row now feeds the survivor.
    assert SourceRecord.objects.get(source_key="B-7").contact_id == ada.pk
    assert "countess" in ada.search_document
    event = AuditEvent.objects.get(action="merge")
    assert event.object_id == ada.pk
    assert event.changes["merged"] == [None, [{"id": king.pk, "name": "Augusta Ada King"}]]
    assert event.changes["job_title"] == ["", "Countess"]
    assert merge.merged_ids == [king.pk]


def test_undo_restores_every_record_value_and_link(admin_user, twins):
    ada, king = twins
    before = everything()
    merge = record_merge(
        actor=admin_user,
        object_type="contact",
        survivor_id=ada.pk,
        other_ids=[king.pk],
        choices={"job_title": king.pk, "first_name": king.pk},
    )
    assert everything() != before
    merge_undo(actor=admin_user, merge=merge)
    after = everything()
    # The survivor's version moves on (it was changed twice); everything else is back.
    for state in (before, after):
        state["contacts"] = [
            (*row[:7], row[8]) if row[0] == ada.pk else row for row in state["contacts"]
        ]
    assert after == before
    merge.refresh_from_db()
    assert merge.undone_at is not None
    assert AuditEvent.objects.filter(action="unmerge", object_id=ada.pk).count() == 1
    with pytest.raises(ValidationError):
        merge_undo(actor=admin_user, merge=merge)


def test_merge_needs_permission_on_both(admin_user, rep_north, twins):
    ada, king = twins
    with pytest.raises(Contact.DoesNotExist):
        record_merge(
            actor=rep_north, object_type="contact", survivor_id=ada.pk, other_ids=[king.pk]
        )
    ada.owner = rep_north
    ada.save()
    king.owner = rep_north
    king.save()
    with pytest.raises(PermissionDenied):  # a sales rep may not delete, so may not merge away
        record_merge(
            actor=rep_north, object_type="contact", survivor_id=ada.pk, other_ids=[king.pk]
        )
    assert Contact.objects.filter(pk=king.pk).exists()
    assert not Merge.objects.exists()


def test_bad_requests_are_refused(admin_user, twins):
    ada, king = twins
    with pytest.raises(ValidationError):
        record_merge(actor=admin_user, object_type="contact", survivor_id=ada.pk, other_ids=[])
    with pytest.raises(ValidationError):
        record_merge(
            actor=admin_user,
            object_type="contact",
            survivor_id=ada.pk,
            other_ids=[king.pk],
            choices={"version": king.pk},
        )
    assert Contact.objects.count() == 2


def test_preview_lines_up_the_values(twins):
    ada, king = twins
    rows = {r["name"]: r for r in merge_preview([ada, king])}
    assert rows["first_name"]["values"] == ["Ada", "Augusta Ada"]
    assert rows["first_name"]["differ"] is True
    assert rows["job_title"]["values"] == ["", "Countess"]
    assert rows["job_title"]["differ"] is False


def test_accounts_merge_and_undo(admin_user, twins):
    ada, _ = twins
    acme = Account.objects.get(name="Acme")
    acme_inc = customers.account_create(
        actor=admin_user, data={"name": "Acme Inc", "domain": "acme.example"}, tags=[]
    )
    customers.relationship_add(
        actor=admin_user, contact=ada, account=acme_inc, data={"role": "Advisor"}
    )
    before = everything()
    merge = record_merge(
        actor=admin_user, object_type="account", survivor_id=acme.pk, other_ids=[acme_inc.pk]
    )
    acme.refresh_from_db()
    assert acme.domain == "acme.example"
    assert sorted(acme.relationships.values_list("role", flat=True)) == ["Advisor", "CTO", "CTO"]
    merge_undo(actor=admin_user, merge=merge)
    after = everything()
    assert after["links"] == before["links"]
    assert after["accounts"] == before["accounts"]
