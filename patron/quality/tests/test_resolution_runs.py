"""Entity resolution runs end to end: imported source records from three systems resolved into
customers, households kept apart, the review queue, decisions that hold in later runs, and
incremental matching of records that arrive later."""

from __future__ import annotations

import itertools
from collections import defaultdict

import pandas as pd
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command

from patron.core.models import AuditEvent
from patron.customers.models import Contact
from patron.integration import services as integration
from patron.integration.models import SourceRecord
from patron.quality import matching, review
from patron.quality.merge import merge_undo
from patron.quality.models import FieldLineage, MatchDecision, MatchReview, Merge, ResolutionRun
from patron.quality.resolution.synthetic import generate

pytestmark = pytest.mark.django_db

COLUMNS = {
    "first_name": "contact.first_name",
    "middle_name": "contact.middle_name",
    "last_name": "contact.last_name",
    "email": "email",
    "phone": "phone",
    "street": "address.street",
    "postal_code": "address.postal_code",
    "city": "address.city",
    "country": "address.country",
    "date_of_birth": "contact.date_of_birth",
}


def load(actor, frame: pd.DataFrame, sources=("billing", "webshop", "callcentre")) -> dict:
    """Import the synthetic records of these systems, one source each, with no matching at
    import time; returns (source name, key) -> person id, the ground truth."""
    truth = {}
    for name in sources:
        source = integration.source_create(actor=actor, data={"name": name})
        rows = []
        for rec in frame[frame["source"] == name].to_dict("records"):
            row = {"source_key": str(rec["unique_id"])}
            row.update({target: rec[col] for col, target in COLUMNS.items() if rec[col]})
            rows.append(row)
            truth[(name, str(rec["unique_id"]))] = (rec["person_id"], rec["household_id"])
        integration.import_rows(actor=actor, source=source, rows=rows, match_by="none")
    return truth


def run(actor, *, full=False) -> ResolutionRun:
    started = matching.resolution_start(actor=actor, full=full, enqueue=False)
    done = matching.resolution_process(started.pk)
    assert done.status == ResolutionRun.Status.COMPLETED, done.error
    return done


def customers_of(truth: dict) -> tuple[dict, dict]:
    """person id -> set of contact ids holding that person's records, and the reverse."""
    by_person, by_contact = defaultdict(set), defaultdict(set)
    for source, key, contact_id in SourceRecord.objects.values_list(
        "source__name", "source_key", "contact_id"
    ):
        person, household = truth[(source, key)]
        by_person[person].add(contact_id)
        by_contact[contact_id].add((person, household))
    return by_person, by_contact


def pair_scores(truth: dict) -> tuple[float, float]:
    records = defaultdict(list)
    for source, key, contact_id in SourceRecord.objects.values_list(
        "source__name", "source_key", "contact_id"
    ):
        records[contact_id].append(truth[(source, key)][0])
    persons: dict[str, int] = defaultdict(int)
    for people in records.values():
        for p in people:
            persons[p] += 1
    predicted = sum(len(v) * (len(v) - 1) // 2 for v in records.values())
    correct = sum(
        sum(1 for a, b in itertools.combinations(v, 2) if a == b) for v in records.values()
    )
    true_pairs = sum(n * (n - 1) // 2 for n in persons.values())
    return correct / max(predicted, 1), correct / max(true_pairs, 1)


@pytest.fixture
def population(admin_user, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    frame = generate(220, seed=11)
    return frame, load(admin_user, frame)


def test_full_run_merges_one_customer_per_person_and_keeps_households_apart(admin_user, population):
    frame, truth = population
    before = Contact.objects.count()
    done = run(admin_user, full=True)

    assert done.mode == ResolutionRun.Mode.FULL
    assert done.records == len(frame) and done.model  # the model estimated from this data
    assert done.merges > 0 and Contact.objects.count() == before - done.merges
    precision, recall = pair_scores(truth)
    assert precision >= 0.99
    assert recall >= 0.85
    _, by_contact = customers_of(truth)
    for members in by_contact.values():
        households = defaultdict(set)
        for person, household in members:
            households[household].add(person)
        # Two different people of one household never end up as one customer.
        assert all(len(people) == 1 for people in households.values())
    # Every merge the run made is an ordinary merge: listed, attributed to no one, undoable.
    by_run = Merge.objects.filter(created_by=None)
    assert sum(len(m.merged_ids) for m in by_run) == done.merges
    assert AuditEvent.objects.filter(action="merge", request_id=done.audit_request_id).exists()
    # Golden values were chosen, and each names the source records it came from.
    lineage = FieldLineage.objects.filter(object_type="contact", field="last_name")
    assert lineage.exists()
    row = lineage.first()
    assert row.source_record_ids
    assert SourceRecord.objects.filter(pk__in=row.source_record_ids, contact_id=row.object_id)


def test_uncertain_pairs_are_queued_with_an_explanation(admin_user, population):
    run(admin_user, full=True)
    items, total = review.review_queue(actor=admin_user)
    if not total:
        pytest.skip("this population produced no uncertain pair")
    item = items[0]
    assert 0.5 <= item.probability < 1
    assert item.explanation and {"field", "label", "weight"} <= set(item.explanation[0])
    a, b = review.current_customers(item)
    assert a != b and Contact.objects.filter(pk__in=[a, b]).count() == 2


def test_a_rejected_pair_is_never_merged_again(admin_user, population):
    run(admin_user, full=True)
    merge = Merge.objects.filter(undone_at=None).order_by("id").first()
    assert merge is not None
    restored = merge_undo(actor=admin_user, merge=merge)
    # Undoing the merge is a person's word that these are different customers.
    assert MatchDecision.objects.filter(verdict="different").count() == len(restored)
    survivor, other = merge.survivor_id, restored[0].pk

    # A pending review item rejected by a person also holds.
    items, _ = review.review_queue(actor=admin_user)
    rejected = None
    if items:
        rejected = review.current_customers(items[0])
        review.review_reject(actor=admin_user, review=items[0])
        assert AuditEvent.objects.filter(action="review", object_id=rejected[0]).exists()

    again = run(admin_user, full=True)
    assert again.status == ResolutionRun.Status.COMPLETED
    assert Contact.objects.filter(pk__in=[survivor, other]).count() == 2
    if rejected:
        assert Contact.objects.filter(pk__in=rejected).count() == 2
        assert not MatchReview.objects.filter(
            status="pending", customer_a=min(rejected), customer_b=max(rejected)
        ).exists()


def test_accepting_a_pair_merges_it_and_later_runs_keep_it(admin_user, population):
    run(admin_user, full=True)
    items, _ = review.review_queue(actor=admin_user)
    if not items:
        pytest.skip("this population produced no uncertain pair")
    a, b = review.current_customers(items[0])
    merge = review.review_accept(actor=admin_user, review=items[0])
    assert {merge.survivor_id, *merge.merged_ids} == {a, b}
    assert Contact.objects.filter(pk__in=[a, b]).count() == 1
    assert MatchDecision.objects.filter(verdict="same").exists()
    items[0].refresh_from_db()
    assert items[0].status == MatchReview.Status.ACCEPTED and items[0].decided_by == admin_user
    run(admin_user, full=True)
    assert SourceRecord.objects.filter(contact_id=merge.survivor_id).count() >= 2


def test_review_needs_a_role_that_may_merge(rep_north, admin_user, population):
    run(admin_user, full=True)
    assert review.review_queue(actor=rep_north) == ([], 0)
    item = MatchReview.objects.filter(status="pending").first()
    if item is not None:
        with pytest.raises(PermissionDenied):
            review.review_reject(actor=rep_north, review=item)
    with pytest.raises(PermissionDenied):
        matching.resolution_start(actor=rep_north)


def test_incremental_run_matches_new_records_against_existing_customers(
    admin_user, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    frame = generate(220, seed=5)
    truth = load(admin_user, frame, sources=("billing", "webshop"))
    first = run(admin_user)  # no model yet: the first run is a full one
    assert first.mode == ResolutionRun.Mode.FULL
    assert matching.pending_new_records() == 0

    truth |= load(admin_user, frame, sources=("callcentre",))
    calls = int((frame["source"] == "callcentre").sum())
    assert matching.pending_new_records() == calls
    second = run(admin_user)
    assert second.mode == ResolutionRun.Mode.INCREMENTAL
    assert second.new_records == calls and second.merges > 0
    assert not second.model  # scored with the first run's model
    precision, recall = pair_scores(truth)
    assert precision >= 0.99 and recall >= 0.8
    # The callcentre records joined customers that already had records from other systems.
    joined = SourceRecord.objects.filter(source__name="callcentre").values_list(
        "contact_id", flat=True
    )
    assert (
        SourceRecord.objects.filter(contact_id__in=joined)
        .exclude(source__name="callcentre")
        .exists()
    )


def test_patron_resolve_command(admin_user, population, capsys):
    call_command("resolve", "--full", "--no-progress")
    out = capsys.readouterr().out
    done = ResolutionRun.objects.get()
    assert f"Resolution run #{done.pk} (full re-run)" in out
    assert f"{done.merges} merged" in out
    call_command("resolve", "--no-progress")
    assert ResolutionRun.objects.latest("id").new_records == 0


def test_the_worker_matches_new_records_after_imports(admin_user, settings, tmp_path):
    from patron.quality import tasks

    settings.VAR_DIR = tmp_path
    frame = generate(120, seed=2)
    load(admin_user, frame, sources=("billing",))
    # Before any full run there is no model to reuse: the worker waits for a person to start one.
    tasks.resolve_new_records()
    assert not ResolutionRun.objects.exists()
    run(admin_user, full=True)
    tasks.resolve_new_records()  # nothing new
    assert ResolutionRun.objects.count() == 1
    load(admin_user, frame, sources=("webshop",))
    tasks.resolve_new_records()
    queued = ResolutionRun.objects.latest("id")
    assert queued.mode == "incremental" and queued.status == "queued" and queued.created_by is None


def test_organisations_resolve_across_systems(admin_user, settings, tmp_path):
    """Accounts from a CRM export and from billing: one organisation, written differently
    (legal form, case), becomes one account; different organisations stay apart."""
    import random

    from faker import Faker

    from patron.customers.models import Account

    settings.VAR_DIR = tmp_path
    fake, rng = Faker("de_DE"), random.Random(4)
    Faker.seed(4)
    companies = []
    for n in range(160):
        trade = rng.choice(["Logistik", "Bau", "Software", "Handel", "Pharma"])
        base = f"{fake.last_name()} {trade} {n}"
        companies.append(
            {
                "name": base,
                "domain": f"{base.split()[0].lower()}{n}.example",
                "phone": f"+4930{rng.randint(1000000, 9999999)}",
                "city": fake.city(),
            }
        )
    truth = {}
    for system, share in (("crm", 1.0), ("billing", 0.5)):
        source = integration.source_create(
            actor=admin_user, data={"name": system, "entity": "account"}
        )
        rows = []
        for n, c in enumerate(companies):
            if rng.random() > share:
                continue
            name = (
                c["name"]
                if system == "crm"
                else rng.choice([f"{c['name']} GmbH", c["name"].upper(), f"{c['name']} AG"])
            )
            rows.append(
                {
                    "source_key": f"{system}-{n}",
                    "account.name": name,
                    "account.domain": c["domain"] if rng.random() < 0.8 else "",
                    "phone": c["phone"] if rng.random() < 0.7 else "",
                    "address.city": c["city"],
                }
            )
            truth[(system, f"{system}-{n}")] = n
        integration.import_rows(actor=admin_user, source=source, rows=rows, match_by="none")
    before = Account.objects.count()
    started = matching.resolution_start(
        actor=admin_user, object_type="account", full=True, enqueue=False
    )
    done = matching.resolution_process(started.pk)
    assert done.status == ResolutionRun.Status.COMPLETED, done.error
    assert done.merges > 0 and Account.objects.count() == before - done.merges
    companies_of: dict[int, set[int]] = defaultdict(set)
    for source, key, account_id in SourceRecord.objects.filter(account__isnull=False).values_list(
        "source__name", "source_key", "account_id"
    ):
        companies_of[account_id].add(truth[(source, key)])
    # Never two companies in one account.
    assert all(len(found) == 1 for found in companies_of.values())
    billing = sum(1 for s, _ in truth if s == "billing")
    # Most billing records joined their CRM account; the few left are waiting for a person.
    assert done.merges >= 0.7 * billing
    assert done.merges + done.review_pairs >= 0.95 * billing
