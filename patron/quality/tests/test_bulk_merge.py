"""Merging many groups at once (entity resolution) ends exactly where merging them one by one
ends, and every one of those merges undoes exactly."""

from __future__ import annotations

import pytest

from patron.customers import services as customers
from patron.customers.models import AccountRelationship, Contact, Tag
from patron.integration import services as integration
from patron.quality.bulk_merge import merge_many
from patron.quality.merge import merge_undo, record_merge
from patron.quality.models import Merge
from patron.quality.tests.test_merge import everything

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups(admin_user, settings, tmp_path):
    """Three people, each twice or three times: typed in, and from a billing import, with
    contact points, primaries, tags, a timeline, links to one account (some duplicate)."""
    settings.VAR_DIR = tmp_path
    acme = customers.account_create(actor=admin_user, data={"name": "Acme"}, tags=[])
    globex = customers.account_create(actor=admin_user, data={"name": "Globex"}, tags=[])
    source = integration.source_create(actor=admin_user, data={"name": "Billing"})
    plan = []
    for n, name in enumerate(["Ada", "Grace", "Edsger"]):
        typed = customers.contact_create(
            actor=admin_user,
            data={"first_name": name, "last_name": f"Person{n}", "job_title": ""},
            tags=["VIP"] if n != 1 else [],
            emails=[{"email": f"{name.lower()}@example.com", "kind": "work", "is_primary": True}],
            phones=[{"number": f"+44 20 7946 00{n}8", "kind": "work", "is_primary": True}],
            addresses=[],
        )
        customers.relationship_add(
            actor=admin_user, contact=typed, account=acme, data={"role": "CTO"}
        )
        customers.timeline_entry_create(
            actor=admin_user, kind="note", contact=typed, subject=f"Met {name}", body="Hello."
        )
        _, out = integration.import_rows(
            actor=admin_user,
            source=source,
            rows=[
                {
                    "source_key": f"B-{n}-{k}",
                    "contact.first_name": name,
                    "contact.last_name": f"Person{n}",
                    "contact.job_title": f"Title {k}",
                    "contact.date_of_birth": "1980-01-0" + str(k + 1),
                    "email": f"{name.lower()}.{k}@billing.example",
                    "phone": f"+44 161 496 0{n}{k}0",
                    "address.city": "London",
                    "account.name": "Acme" if k == 0 else "Globex",
                }
                for k in range(1 + (n % 2) + 1)
            ],
            match_by="none",
        )
        imported = [Contact.objects.get(pk=o.record_id) for o in out]
        AccountRelationship.objects.filter(contact=imported[0], account=acme).update(role="CTO")
        imported[-1].tags.add(Tag.objects.get_or_create(name="Billing")[0])
        plan.append((typed.pk, [c.pk for c in imported]))
    assert globex  # one of the imported links points elsewhere
    return plan


def test_merge_many_equals_merging_one_by_one_and_undoes_exactly(admin_user, groups):
    start = everything()
    merges = merge_many(object_type="contact", groups=groups)
    assert len(merges) == 3 and Merge.objects.count() == 3
    # The cases that need care happened: a duplicate link removed, moved primaries demoted.
    assert all(m.snapshot["removed"] and m.snapshot["primary"] for m in merges)
    bulk = everything()
    for merge in Merge.objects.order_by("-id"):
        merge_undo(actor=admin_user, merge=merge)
    after = everything()
    # A survivor's version moves on (it was changed twice); everything else is back.
    survivors = {s for s, _ in groups}
    for state in (start, after):
        state["contacts"] = [
            (*row[:7], row[8]) if row[0] in survivors else row for row in state["contacts"]
        ]
    assert after == start

    for survivor, others in groups:
        record_merge(actor=None, object_type="contact", survivor_id=survivor, other_ids=others)
    one_by_one = everything()
    # Same values, links, tags and lineage; each survivor one version on from where it was.
    for state in (bulk, one_by_one):
        state["contacts"] = [(*row[:7], row[8]) for row in state["contacts"]]
    assert bulk == one_by_one


def test_merge_many_skips_records_that_went_away(groups):
    survivor, others = groups[0]
    Contact.objects.filter(pk__in=others).delete()
    merges = merge_many(object_type="contact", groups=groups)
    assert [m.survivor_id for m in merges] == [groups[1][0], groups[2][0]]
    assert Contact.objects.filter(pk=survivor).exists()
