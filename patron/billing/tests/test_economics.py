"""Customer economics on a fixture with known answers (rates: calls 120/h, meetings 90/h)."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from patron.billing import selectors, services
from patron.billing.models import CostRate
from patron.customers import services as customer_services

from .factories import make_draft, make_issued

pytestmark = pytest.mark.django_db

D = Decimal


def months_ago(n: int) -> datetime.date:
    day = timezone.localdate().replace(day=1)
    for _ in range(n):
        day = (day - datetime.timedelta(days=1)).replace(day=1)
    return day


def line(price: str, quantity: str, cost: str) -> dict:
    return {
        "description": "Item",
        "quantity": D(quantity),
        "unit_price": D(price),
        "tax_rate": D(20),
        "unit_cost": D(cost),
    }


@pytest.fixture
def book(admin_user, manager_north, account_north, contact_north, account_south):
    """Two invoices and a credit note on Northwind, plus what must not count."""
    CostRate.objects.filter(activity="call").update(hourly_rate=D("120.00"))
    two_months_ago = months_ago(2)
    make_issued(
        manager_north,
        account_north,
        lines=[line("150", "2", "30")],  # net 300, cost of goods 60
        issue_date=two_months_ago + datetime.timedelta(days=9),
    )
    recent = make_issued(
        manager_north,
        account_north,
        lines=[line("100", "2", "40")],  # net 200, cost of goods 80
        contact=contact_north,
        issue_date=timezone.localdate(),
    )
    services.credit_note_create(
        actor=manager_north,
        invoice=recent,
        reason="One returned",
        lines=[{"line": recent.lines.get(), "quantity": D(1)}],  # net -100, cost -40
    )
    make_draft(manager_north, account_north, lines=[line("999", "1", "1")])  # a draft
    make_issued(manager_north, account_north, lines=[line("500", "1", "1")], currency="USD")
    make_issued(admin_user, account_south, lines=[line("777", "1", "1")])  # another account

    other_person = customer_services.contact_create(
        actor=admin_user, data={"first_name": "Otto", "owner": manager_north}
    )
    log = customer_services.timeline_entry_create
    now = timezone.now()
    earlier = timezone.make_aware(
        datetime.datetime.combine(two_months_ago + datetime.timedelta(days=3), datetime.time(12))
    )
    log(
        actor=admin_user,
        kind="call",
        account=account_north,
        occurred_at=now,
        data={"duration_seconds": 1800},
    )  # 0.5 h × 120 = 60.00
    log(
        actor=admin_user,
        kind="call",
        account=account_north,
        contact=contact_north,
        occurred_at=now,
        data={"duration_seconds": 900},
    )  # counted once: 30.00
    log(
        actor=admin_user,
        kind="meeting",
        contact=contact_north,
        occurred_at=earlier,
        data={"duration_minutes": 60},
    )  # 1 h × 90 = 90.00
    log(
        actor=admin_user,
        kind="call",
        contact=other_person,
        occurred_at=now,
        data={"duration_seconds": 3600},
    )  # someone else
    log(actor=admin_user, kind="note", account=account_north, body="No cost", occurred_at=now)
    return two_months_ago


def figures(f):
    return (f.revenue, f.cogs, f.cost_to_serve, f.margin)


def test_account_economics(book, manager_north, account_north):
    economics = selectors.economics_for_account(user=manager_north, account=account_north)
    assert economics.currency == "EUR"
    assert figures(economics.lifetime) == (D("400.00"), D("100.00"), D("180.00"), D("120.00"))
    assert economics.lifetime.margin_percent == D("30.0")
    assert (economics.call_seconds, economics.meeting_minutes) == (2700, 60)
    assert (economics.documents, economics.other_currency_documents) == (3, 1)
    # Owed: the older invoice's 360.00 (past due) and the recent one's 240.00 - 120.00 credited.
    assert (economics.open_balance, economics.overdue_balance, economics.overdue_count) == (
        D("480.00"),
        D("360.00"),
        1,
    )
    assert len(economics.months) == 12
    assert economics.months[-1].month == months_ago(0)
    assert figures(economics.months[-1]) == (D("100.00"), D("40.00"), D("90.00"), D("-30.00"))
    assert economics.months[-3].month == book
    assert figures(economics.months[-3]) == (D("300.00"), D("60.00"), D("90.00"), D("150.00"))
    others = [m for i, m in enumerate(economics.months) if i not in (9, 11)]
    assert all(figures(m) == (0, 0, 0, 0) for m in others)


def test_contact_economics(book, manager_north, contact_north):
    economics = selectors.economics_for_contact(user=manager_north, contact=contact_north)
    # The invoice addressed to Nora and its credit note; the meeting and the call with her.
    assert figures(economics.lifetime) == (D("100.00"), D("40.00"), D("120.00"), D("-60.00"))


def test_economics_api(book, api_as, manager_north, account_north, contact_north, rep_south):
    body = api_as(manager_north).get(f"/accounts/{account_north.pk}/economics").json()
    assert body["lifetime"] == {
        "revenue": "400.00",
        "cogs": "100.00",
        "cost_to_serve": "180.00",
        "margin": "120.00",
    }
    assert body["rates"] == {"call": "120.00", "meeting": "90.00"}
    assert body["months"][-1]["month"] == months_ago(0).isoformat()
    contact = api_as(manager_north).get(f"/contacts/{contact_north.pk}/economics").json()
    assert contact["lifetime"]["margin"] == "-60.00"
    assert api_as(rep_south).get(f"/contacts/{contact_north.pk}/economics").status_code == 404


def test_rates_fall_back_to_defaults(db):
    CostRate.objects.all().delete()
    assert selectors.cost_rates() == {"call": D("60.00"), "meeting": D("90.00")}


def test_a_new_rate_prices_time_from_its_day_on_and_leaves_earlier_months(
    book, admin_user, manager_north, account_north
):
    """The meeting two months ago stays at 90/h; a meeting rate of 150/h from the start of
    last month prices nothing yet (this month's time is calls), and a call rate of 240/h from
    today doubles this month's calls: 60.00 + 30.00 → 120.00 + 60.00."""
    services.cost_rate_create(
        actor=admin_user,
        data={"activity": "meeting", "hourly_rate": D("150"), "valid_from": months_ago(1)},
    )
    services.cost_rate_create(
        actor=admin_user,
        data={"activity": "call", "hourly_rate": D("240"), "valid_from": timezone.localdate()},
    )
    economics = selectors.economics_for_account(user=manager_north, account=account_north)
    assert economics.months[-3].cost_to_serve == D("90.00")
    assert economics.months[-1].cost_to_serve == D("180.00")
    assert economics.rates == {"call": D("240.00"), "meeting": D("150.00")}
    before = selectors.cost_rates(months_ago(2))
    assert before == {"call": D("120.00"), "meeting": D("90.00")}


def test_cost_rates_are_saved_through_the_services_in_the_admin(admin_user, client):
    from django.contrib.contenttypes.models import ContentType

    from patron.core import services as core_services
    from patron.core.models import AuditEvent
    from patron.core.tests.factories import role

    root = core_services.user_create(
        actor=None, username="root", password="a-long-pass-phrase-1", role=role("admin")
    )
    client.force_login(root)
    form = {"activity": "call", "hourly_rate": "75.00", "valid_from": "2026-07-01"}
    response = client.post("/admin/billing/costrate/add/", form)
    assert response.status_code == 302, response.content.decode()[:3000]
    rate = CostRate.objects.get(valid_from=datetime.date(2026, 7, 1))
    response = client.post("/admin/billing/costrate/add/", form)  # the same day again
    assert response.status_code == 200
    assert "already has a rate from this day" in response.content.decode()
    events = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(CostRate), object_id=rate.pk
    )
    assert list(events.values_list("action", flat=True)) == ["create"]
