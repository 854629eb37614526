"""Quality scores with their reasons, the daily rollup, the score panel and the dashboard."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from patron.customers import services as customers
from patron.customers.models import Contact
from patron.integration import services as integration
from patron.integration.models import SourceRecord
from patron.quality import scores
from patron.quality.models import QualityScore, QualitySnapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def jobs_run_at_once(monkeypatch, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda func, using=None, robust=False: func()
    )


def complete_contact(actor, **data):
    acme = customers.account_create(actor=actor, data={"name": "Acme"}, tags=[])
    contact = customers.contact_create(
        actor=actor,
        data={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "job_title": "CTO",
            "date_of_birth": "1815-12-10",
            **data,
        },
        emails=[{"email": "ada@example.com", "is_primary": True}],
        phones=[{"number": "+44 20 7946 0018", "is_primary": True}],
        addresses=[{"city": "London", "country": "GB", "street": "1 Main St"}],
    )
    customers.relationship_add(actor=actor, contact=contact, account=acme)
    return contact


def test_a_complete_fresh_record_scores_100(admin_user):
    contact = complete_contact(admin_user)
    score = scores.score_record(contact)
    assert score.parts == {"completeness": 100, "validity": 100, "agreement": 100, "freshness": 100}
    assert (score.total, score.reasons) == (100, [])


def test_missing_parts_are_named(admin_user):
    contact = customers.contact_create(
        actor=admin_user, data={"first_name": "Ada", "last_name": "Lovelace"}
    )
    score = scores.score_record(contact)
    assert score.parts["completeness"] == 20
    assert score.total == round((20 * 35 + 100 * 65) / 100)
    assert score.reasons == [
        "Missing an email address, a phone number, a postal address with city and country, "
        "an account (employer or household), a job title, a date of birth."
    ]


def test_disagreeing_flagged_and_stale_sources(admin_user):
    billing = integration.source_create(actor=admin_user, data={"name": "Billing"})
    shop = integration.source_create(actor=admin_user, data={"name": "Shop"})
    _, [first] = integration.import_rows(
        actor=admin_user,
        source=billing,
        rows=[
            {
                "source_key": "B1",
                "contact.first_name": "Ada",
                "contact.last_name": "Lovelace",
                "email": "ada@example.com",
                "phone": "12",
            }
        ],
    )
    integration.import_rows(
        actor=admin_user,
        source=shop,
        rows=[
            {
                "source_key": "S1",
                "contact.first_name": "Ada",
                "contact.last_name": "King",
                "email": "ada@example.com",
            }
        ],
    )
    two_years_ago = timezone.now() - datetime.timedelta(days=730)
    SourceRecord.objects.update(last_seen_at=two_years_ago)
    contact = Contact.objects.get(pk=first.record_id)
    score = scores.score_record(contact)
    assert score.parts["validity"] == 75
    assert score.parts["agreement"] == 50
    assert score.parts["freshness"] == round(100 * (1095 - 730) / (1095 - 180))
    assert any(
        r == "The systems disagree on the last name (Billing: Lovelace / Shop: King)."
        for r in score.reasons
    ), score.reasons
    assert any(r.startswith("Billing sent an unusable phone:") for r in score.reasons)
    assert any(r.startswith("Stale: no source has confirmed it since") for r in score.reasons)


def test_refresh_rollup_dashboard_and_panel(client, admin_user, readonly_user):
    contact = complete_contact(admin_user)
    poor = customers.contact_create(
        actor=admin_user, data={"first_name": "No", "last_name": "Details"}
    )
    source = integration.source_create(actor=admin_user, data={"name": "Billing"})
    integration.import_rows(
        actor=admin_user,
        source=source,
        rows=[
            {"source_key": "1", "contact.last_name": "Byron", "email": "not-an-email"},
            {"source_key": "2", "contact.last_name": "Babbage", "email": "cb@example.com"},
        ],
    )
    client.force_login(admin_user)
    assert client.post(reverse("quality_dashboard_refresh")).status_code == 302
    assert QualityScore.objects.get(object_type="contact", object_id=contact.pk).total == 100
    assert QualitySnapshot.objects.get(source=source, field="emails").filled == 1
    assert QualitySnapshot.objects.get(source=source, field="email").flagged == 1
    page = client.get(reverse("quality_dashboard")).content.decode()
    assert "Billing" in page and "Contacts that most need fixing" in page
    worst = page[page.index("Contacts that most need fixing") :]
    assert worst.index("Byron") < worst.index("Ada Lovelace")  # lowest score first
    panel = client.get(reverse("score_panel", args=["contact", poor.pk])).content.decode()
    assert "Data quality" in panel and "Missing an email address" in panel
    detail = client.get(reverse("contact_detail", args=[poor.pk])).content.decode()
    assert reverse("score_panel", args=["contact", poor.pk]) in detail
    client.force_login(readonly_user)
    assert client.get(reverse("quality_dashboard")).status_code == 403
    assert client.post(reverse("quality_dashboard_refresh")).status_code == 403
