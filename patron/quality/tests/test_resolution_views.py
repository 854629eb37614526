"""The review queue, resolution runs and lineage through the web UI and the API."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patron.core import context
from patron.customers import services as customers
from patron.customers.models import Contact
from patron.integration import services as integration
from patron.integration.models import SourceRecord
from patron.quality.models import MatchDecision, MatchReview, ResolutionRun
from patron.quality.survivorship import golden_refresh

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(admin_user, settings, tmp_path):
    """Two customers from two systems that may be one person, queued for review."""
    settings.VAR_DIR = tmp_path
    ids = []
    for name, row in (
        ("Billing", {"contact.first_name": "Katharina", "email": "k.meyer@example.de"}),
        ("Webshop", {"contact.first_name": "Kathrin", "email": "kathrin@example.com"}),
    ):
        source = integration.source_create(actor=admin_user, data={"name": name})
        _, out = integration.import_rows(
            actor=admin_user,
            source=source,
            rows=[
                {
                    "source_key": f"{name[0]}-1",
                    "contact.last_name": "Meyer",
                    "address.city": "Köln",
                    **row,
                }
            ],
            match_by="none",
        )
        ids.append(out[0].record_id)
    records = [SourceRecord.objects.get(contact_id=i) for i in ids]
    item = MatchReview.objects.create(
        object_type="contact",
        record_a=records[0],
        record_b=records[1],
        customer_a=ids[0],
        customer_b=ids[1],
        probability=0.81,
        match_weight=2.1,
        explanation=[
            {"field": "last_name", "label": "exact match", "weight": 5.2},
            {"field": "first_name", "label": "similar", "weight": 1.4},
            {"field": "email", "label": "different", "weight": -4.5},
        ],
    )
    return item, ids


def test_review_queue_compare_and_accept(client, admin_user, pair):
    item, (a, b) = pair
    client.force_login(admin_user)
    queue = client.get(reverse("review_list")).content.decode()
    assert reverse("review_detail", args=[item.pk]) in queue and "81%" in queue
    page = client.get(reverse("review_detail", args=[item.pk])).content.decode()
    for text in ("Katharina", "Kathrin", "k.meyer@example.de", "Billing", "Why this score"):
        assert text in page
    assert "Email" in page and "-4.5" in page and "Last name" in page
    done = client.post(reverse("review_decide", args=[item.pk]), {"decision": "accept"})
    assert done.status_code == 302
    assert Contact.objects.filter(pk__in=[a, b]).count() == 1
    item.refresh_from_db()
    assert item.status == "accepted" and item.merge is not None


def test_review_reject_keeps_them_apart(client, admin_user, pair):
    item, (a, b) = pair
    client.force_login(admin_user)
    client.post(reverse("review_decide", args=[item.pk]), {"decision": "reject"})
    assert Contact.objects.filter(pk__in=[a, b]).count() == 2
    decision = MatchDecision.objects.get()
    assert decision.verdict == "different" and decision.decided_by == admin_user
    # Deciding twice is refused with a message, not an error page.
    again = client.post(
        reverse("review_decide", args=[item.pk]), {"decision": "accept"}, follow=True
    )
    assert "already been decided" in again.content.decode()
    assert Contact.objects.filter(pk__in=[a, b]).count() == 2


def test_reps_cannot_review(client, rep_north, pair):
    item, _ = pair
    client.force_login(rep_north)
    assert client.get(reverse("review_list")).status_code == 403
    assert client.get(reverse("review_detail", args=[item.pk])).status_code == 403
    assert (
        client.post(reverse("review_decide", args=[item.pk]), {"decision": "accept"}).status_code
        == 403
    )
    assert client.post(reverse("resolution_run_start")).status_code == 403


def test_start_a_run_from_the_queue_page(client, admin_user, pair):
    client.force_login(admin_user)
    client.post(reverse("resolution_run_start"), {"mode": "full"})
    run = ResolutionRun.objects.get()
    assert run.mode == "full" and run.status == "queued"
    page = client.get(reverse("review_list")).content.decode()
    assert f"Resolution run #{run.pk}" in page and "hx-trigger" in page
    progress = client.get(reverse("resolution_run_progress", args=[run.pk]))
    assert progress.status_code == 200 and 'role="progressbar"' in progress.content.decode()


def test_lineage_panel_names_sources_and_hand_edits(client, admin_user, pair):
    _, (a, _) = pair
    golden_refresh(object_type="contact", ids=[a])
    client.force_login(admin_user)
    url = reverse("lineage_panel", args=["contact", a])
    assert url in client.get(reverse("contact_detail", args=[a])).content.decode()
    panel = client.get(url).content.decode()
    assert "Billing · B-1" in panel and "Katharina" in panel
    contact = Contact.objects.get(pk=a)
    with context.bind(origin="ui"):
        customers.contact_update(
            actor=admin_user,
            contact=contact,
            expected_version=contact.version,
            data={"first_name": "Kathi <b>"},
        )
    panel = client.get(url).content.decode()
    assert "Typed in Patron" in panel and "Kathi &lt;b&gt;" in panel
    release = reverse("lineage_release", args=["contact", a, "first_name"])
    assert release in panel
    client.post(release)
    contact.refresh_from_db()
    assert contact.first_name == "Katharina"


def test_lineage_panel_is_404_for_records_one_may_not_see(client, rep_south, pair):
    _, (a, _) = pair
    client.force_login(rep_south)
    assert client.get(reverse("lineage_panel", args=["contact", a])).status_code == 404


def test_api_review_pairs_runs_and_lineage(api_as, admin_user, rep_north, pair):
    item, (a, b) = pair
    api = api_as(admin_user)
    listed = api.get("/review-pairs")
    assert listed.status_code == 200
    body = listed.json()
    assert [p["id"] for p in body] == [item.pk]
    assert body[0]["customers"] == [a, b] and body[0]["explanation"][0]["field"] == "last_name"
    assert api.get(f"/review-pairs/{item.pk}").json()["probability"] == pytest.approx(0.81)
    rejected = api.post(f"/review-pairs/{item.pk}/reject")
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert api.post(f"/review-pairs/{item.pk}/accept").status_code == 400
    assert api.get("/review-pairs/999999").status_code == 404

    started = api.post("/resolution-runs", {"full": True})
    assert started.status_code == 202 and started.json()["mode"] == "full"
    assert api.get(f"/resolution-runs/{started.json()['id']}").json()["status"] == "queued"

    golden_refresh(object_type="contact", ids=[a])
    lineage = {row["field"]: row for row in api.get(f"/contacts/{a}/lineage").json()}
    assert lineage["first_name"]["value"] == "Katharina"
    assert lineage["first_name"]["sources"][0]["source"] == "Billing"

    rep = api_as(rep_north)
    assert rep.get("/review-pairs").json() == []
    assert rep.get(f"/review-pairs/{item.pk}").status_code == 404
    assert rep.post("/resolution-runs", {}).status_code == 403


def test_the_duplicates_panel_points_to_a_pending_review(client, admin_user, pair):
    item, (a, _) = pair
    client.force_login(admin_user)
    panel = client.get(reverse("duplicates_panel", args=["contact", a])).content.decode()
    assert reverse("review_detail", args=[item.pk]) in panel and "81%" in panel


def test_lineage_is_shown_before_any_resolution_run(client, api_as, admin_user, pair):
    _, (a, _) = pair
    client.force_login(admin_user)
    panel = client.get(reverse("lineage_panel", args=["contact", a])).content.decode()
    assert "Billing · B-1" in panel and "every source agrees" in panel
    lineage = {row["field"]: row for row in api_as(admin_user).get(f"/contacts/{a}/lineage").json()}
    assert lineage["last_name"]["value"] == "Meyer" and lineage["last_name"]["rule"] == "only"


def test_the_queue_has_a_tab_for_organisations(client, api_as, admin_user, pair):
    client.force_login(admin_user)
    page = client.get(reverse("review_list") + "?type=account").content.decode()
    assert "Organisations" in page and "Nothing to review" in page
    client.post(reverse("resolution_run_start"), {"mode": "full", "type": "account"})
    assert ResolutionRun.objects.get().object_type == "account"
    api = api_as(admin_user)
    assert api.get("/review-pairs?object_type=account").json() == []
    assert len(api.get("/review-pairs?object_type=contact").json()) == 1
