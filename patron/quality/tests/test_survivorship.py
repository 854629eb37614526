"""Golden records: per-field survivorship rules, lineage to the source records, lineage after
merges, and hand edits that win until a source sends something new."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from patron.core import context
from patron.customers import services as customers
from patron.customers.models import Contact, EmailAddress
from patron.integration import services as integration
from patron.integration.models import Source, SourceRecord
from patron.quality import survivorship
from patron.quality.merge import record_merge
from patron.quality.models import FieldLineage, SurvivorshipRule
from patron.quality.survivorship import Offer, choose, golden_refresh

pytestmark = pytest.mark.django_db
T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def offer(value, record, trust=50, days=0):
    return Offer(value, record, trust, T0 + datetime.timedelta(days=days))


class TestRules:
    def test_trust_takes_the_most_trusted_source(self):
        offers = [offer("Bob", 1, trust=40), offer("Robert", 2, trust=90), offer("Bob", 3, 40)]
        assert choose("trust", offers) == ("Robert", [2], "trust")

    def test_recent_takes_the_latest_received(self):
        offers = [offer("Old Street 1", 1, days=1), offer("New Road 9", 2, days=30)]
        assert choose("recent", offers) == ("New Road 9", [2], "recent")

    def test_frequent_counts_records_case_and_space_insensitively(self):
        offers = [offer("Smith", 1, 10), offer("SMITH ", 2, 10), offer("Smyth", 3, 99)]
        value, records, rule = choose("frequent", offers)
        assert value.strip().casefold() == "smith" and records == [1, 2] and rule == "frequent"

    def test_complete_takes_the_fullest_value(self):
        offers = [offer("J.", 1, trust=99), offer("Johanna", 2, trust=10)]
        assert choose("complete", offers)[0] == "Johanna"

    def test_agreement_needs_no_rule_and_ties_go_to_trust(self):
        assert choose("recent", [offer("Ada", 1), offer("ada", 2, trust=60)]) == (
            "ada",
            [1, 2],
            "only",
        )
        tie = [offer("Ann", 1, trust=30, days=5), offer("Anne", 2, trust=70, days=5)]
        assert choose("recent", tie)[0] == "Anne"


@pytest.fixture
def two_sources(admin_user, settings, tmp_path):
    """One person sent by billing (trusted) and the web shop (more recent, less trusted)."""
    settings.VAR_DIR = tmp_path
    billing = integration.source_create(actor=admin_user, data={"name": "Billing"})
    Source.objects.filter(pk=billing.pk).update(trust_rank=90)
    webshop = integration.source_create(actor=admin_user, data={"name": "Webshop"})
    Source.objects.filter(pk=webshop.pk).update(trust_rank=20)
    _, out = integration.import_rows(
        actor=admin_user,
        source=billing,
        rows=[
            {
                "source_key": "B1",
                "contact.first_name": "Robert",
                "contact.last_name": "Smith",
                "contact.job_title": "Buyer",
                "contact.date_of_birth": "1980-02-01",
                "email": "robert.smith@example.com",
            }
        ],
        match_by="none",
    )
    contact = Contact.objects.get(pk=out[0].record_id)
    _, out2 = integration.import_rows(
        actor=admin_user,
        source=webshop,
        rows=[
            {
                "source_key": "W1",
                "contact.first_name": "Bob",
                "contact.last_name": "Smith",
                "contact.job_title": "Head of purchasing",
                "contact.date_of_birth": "1980-01-02",
                "email": "bob@example.net",
            }
        ],
        match_by="none",
    )
    other = Contact.objects.get(pk=out2[0].record_id)
    SourceRecord.objects.filter(source=webshop).update(
        last_seen_at=timezone.now() + datetime.timedelta(minutes=5)
    )
    record_merge(actor=None, object_type="contact", survivor_id=contact.pk, other_ids=[other.pk])
    return Contact.objects.get(pk=contact.pk), billing, webshop


def lineage(contact, field):
    return FieldLineage.objects.get(object_type="contact", object_id=contact.pk, field=field)


def test_golden_values_follow_each_fields_rule_and_name_their_sources(two_sources):
    contact, billing, webshop = two_sources
    golden_refresh(object_type="contact", ids=[contact.pk])
    contact.refresh_from_db()
    b1 = SourceRecord.objects.get(source=billing)
    w1 = SourceRecord.objects.get(source=webshop)
    # Defaults: date of birth from the most trusted source, job title the most recent.
    assert contact.date_of_birth == datetime.date(1980, 2, 1)
    assert lineage(contact, "date_of_birth").source_record_ids == [b1.pk]
    assert contact.job_title == "Head of purchasing"
    assert lineage(contact, "job_title").source_record_ids == [w1.pk]
    assert lineage(contact, "job_title").rule == "recent"
    # Both sources agree on the surname: both are its lineage.
    assert lineage(contact, "last_name").source_record_ids == sorted([b1.pk, w1.pk])
    assert lineage(contact, "last_name").rule == "only"
    # Every value sent is kept as a candidate, with where it came from.
    assert {c["value"] for c in lineage(contact, "first_name").candidates} == {"Robert", "Bob"}
    # The primary email is the most recent source's; both stay on the record.
    primary = EmailAddress.objects.get(contact=contact, is_primary=True)
    assert primary.email == "bob@example.net"
    assert EmailAddress.objects.filter(contact=contact).count() == 2


def test_an_admin_rule_changes_the_winner(two_sources):
    contact, billing, _ = two_sources
    SurvivorshipRule.objects.create(object_type="contact", field="job_title", rule="trust")
    golden_refresh(object_type="contact", ids=[contact.pk])
    contact.refresh_from_db()
    assert contact.job_title == "Buyer"
    assert lineage(contact, "job_title").source_record_ids == [
        SourceRecord.objects.get(source=billing).pk
    ]


def test_a_hand_edit_wins_until_a_source_sends_something_new(admin_user, two_sources):
    contact, billing, _ = two_sources
    golden_refresh(object_type="contact", ids=[contact.pk])
    contact.refresh_from_db()
    with context.bind(origin="ui"):
        customers.contact_update(
            actor=admin_user,
            contact=contact,
            expected_version=contact.version,
            data={"job_title": "Chief buyer"},
        )
    row = lineage(contact, "job_title")
    assert row.rule == "hand" and row.edited_by == admin_user
    # Later resolution keeps the typed value.
    golden_refresh(object_type="contact", ids=[contact.pk])
    contact.refresh_from_db()
    assert contact.job_title == "Chief buyer"

    # Billing sends a new job title: newer information than the edit, so the rule decides.
    integration.import_rows(
        actor=admin_user,
        source=billing,
        rows=[
            {
                "source_key": "B1",
                "contact.first_name": "Robert",
                "contact.last_name": "Smith",
                "contact.job_title": "Procurement director",
            }
        ],
        match_by="none",
    )
    SourceRecord.objects.filter(source=billing).update(
        last_seen_at=timezone.now() + datetime.timedelta(hours=1)
    )
    golden_refresh(object_type="contact", ids=[contact.pk])
    contact.refresh_from_db()
    assert contact.job_title == "Procurement director"
    assert lineage(contact, "job_title").rule == "recent"


def test_letting_the_sources_decide_again(admin_user, two_sources):
    contact, _, _ = two_sources
    with context.bind(origin="api"):
        customers.contact_update(
            actor=admin_user,
            contact=contact,
            expected_version=contact.version,
            data={"date_of_birth": datetime.date(1979, 12, 31)},
        )
    assert lineage(contact, "date_of_birth").rule == "hand"
    survivorship.lineage_release(
        actor=admin_user, object_type="contact", object_id=contact.pk, field="date_of_birth"
    )
    contact.refresh_from_db()
    assert contact.date_of_birth == datetime.date(1980, 2, 1)
    assert lineage(contact, "date_of_birth").rule == "trust"


def test_edits_by_imports_and_jobs_are_not_hand_edits(admin_user, two_sources):
    contact, _, _ = two_sources
    with context.bind(origin="job"):
        customers.contact_update(
            actor=admin_user,
            contact=contact,
            expected_version=contact.version,
            data={"job_title": "Set by a job"},
        )
    assert not FieldLineage.objects.filter(rule="hand").exists()


def test_lineage_follows_a_merge(admin_user, two_sources, settings):
    contact, billing, _ = two_sources
    callcentre = integration.source_create(actor=admin_user, data={"name": "Callcentre"})
    _, out = integration.import_rows(
        actor=admin_user,
        source=callcentre,
        rows=[{"source_key": "C9", "contact.first_name": "Rob", "contact.last_name": "Smith"}],
        match_by="none",
    )
    third = out[0].record_id
    record_merge(actor=admin_user, object_type="contact", survivor_id=contact.pk, other_ids=[third])
    golden_refresh(object_type="contact", ids=[contact.pk])
    c9 = SourceRecord.objects.get(source=callcentre)
    assert c9.contact_id == contact.pk
    assert c9.pk in lineage(contact, "last_name").source_record_ids
    first_names = {c["value"] for c in lineage(contact, "first_name").candidates}
    assert first_names == {"Robert", "Bob", "Rob"}


def test_admin_edits_survivorship_rules(client):
    from patron.core import services
    from patron.core.tests.factories import role

    root = services.user_create(
        actor=None, username="root", password="a-long-pass-phrase-1", role=role("admin")
    )
    client.force_login(root)
    url = "/admin/quality/survivorshiprule/add/"
    assert client.get(url).status_code == 200
    bad = client.post(url, {"object_type": "account", "field": "first_name", "rule": "trust"})
    assert "Accounts have no field" in bad.content.decode()
    client.post(url, {"object_type": "contact", "field": "job_title", "rule": "trust"})
    assert survivorship.rules_for("contact")["job_title"] == "trust"
