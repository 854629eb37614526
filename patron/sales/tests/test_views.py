import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from patron.sales.models import Opportunity, StageChange

from .factories import make_opportunity, pipeline, stage

pytestmark = pytest.mark.django_db


def client_for(user):
    client = Client()
    client.force_login(user)
    return client


def test_board_renders_columns_cards_totals_and_overdue(rep_north, account_north):
    make_opportunity(
        rep_north,
        account_north,
        name="Late deal",
        amount=Decimal("1500.00"),
        expected_close_date=datetime.date(2020, 1, 1),
    )
    make_opportunity(rep_north, account_north, name="Fine deal", amount=Decimal("500.00"))
    response = client_for(rep_north).get(reverse("sales_board"))
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("Qualification", "Needs analysis", "Proposal", "Negotiation", "Won", "Lost"):
        assert f'data-stage-name="{name}"' in html
    assert "2,000.00 EUR" in html
    assert html.count("overdue-flag") == 1
    assert 'draggable="true"' in html
    assert "sales/board.js" in html


def test_board_query_count_is_fixed(rep_north, account_north, django_assert_max_num_queries):
    client = client_for(rep_north)
    make_opportunity(rep_north, account_north, name="First")
    client.get(reverse("sales_board"))
    for i in range(15):
        make_opportunity(rep_north, account_north, name=f"D{i}", stage=stage("Proposal"))
    with django_assert_max_num_queries(14):
        assert client.get(reverse("sales_board")).status_code == 200


def test_drop_moves_and_answers_columns(rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    response = client_for(rep_north).post(
        reverse("opportunity_move", args=[opportunity.pk]),
        {"stage": stage("Proposal").pk, "version": 1},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "board-columns" in response.content.decode()
    assert "<html" not in response.content.decode()
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.version) == (stage("Proposal"), 2)


def test_stale_drop_shows_a_clear_message(rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    client = client_for(rep_north)
    url = reverse("opportunity_move", args=[opportunity.pk])
    client.post(url, {"stage": stage("Proposal").pk, "version": 1}, headers={"HX-Request": "true"})
    response = client.post(
        url, {"stage": stage("Negotiation").pk, "version": 1}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "changed by someone else" in html
    opportunity.refresh_from_db()
    assert opportunity.stage == stage("Proposal")


def test_drop_on_lost_without_reason_is_refused(rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    response = client_for(rep_north).post(
        reverse("opportunity_move", args=[opportunity.pk]),
        {"stage": stage("Lost").pk, "version": 1},
        headers={"HX-Request": "true"},
    )
    assert "Say why the opportunity was lost." in response.content.decode()
    assert Opportunity.objects.get(pk=opportunity.pk).stage == stage("Qualification")
    client_for(rep_north).post(
        reverse("opportunity_move", args=[opportunity.pk]),
        {"stage": stage("Lost").pk, "version": 1, "reason": "Budget cut"},
        headers={"HX-Request": "true"},
    )
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.close_reason) == (stage("Lost"), "Budget cut")


def test_other_teams_private_opportunity_is_404_in_the_ui(
    rep_north, rep_south, account_north, set_visibility
):
    set_visibility("private")
    opportunity = make_opportunity(rep_north, account_north, name="Secret deal")
    client = client_for(rep_south)
    for name in ("opportunity_detail", "opportunity_edit"):
        assert client.get(reverse(name, args=[opportunity.pk])).status_code == 404
    move = client.post(
        reverse("opportunity_move", args=[opportunity.pk]),
        {"stage": stage("Won").pk, "version": 1},
    )
    assert move.status_code == 404
    assert client.post(reverse("opportunity_delete", args=[opportunity.pk])).status_code == 404
    board = client.get(reverse("sales_board")).content.decode()
    assert "Secret deal" not in board
    opportunity.refresh_from_db()
    assert (opportunity.stage, opportunity.version) == (stage("Qualification"), 1)


def test_detail_shows_stage_history(rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    client = client_for(rep_north)
    response = client.post(
        reverse("opportunity_detail", args=[opportunity.pk]),
        {"stage": stage("Won").pk, "version": 1, "reason": "Great fit"},
    )
    assert response.status_code == 302
    html = client.get(reverse("opportunity_detail", args=[opportunity.pk])).content.decode()
    assert "Stage history" in html
    assert html.count("<tr>") == 3  # header + two stages
    assert "Great fit" in html
    assert StageChange.objects.filter(opportunity=opportunity).count() == 2


def test_create_form_with_inline_errors_then_success(rep_north, account_north):
    client = client_for(rep_north)
    url = reverse("opportunity_create")
    assert client.get(url + f"?account={account_north.pk}").status_code == 200
    bad = client.post(
        url, {"name": "", "account": account_north.pk, "amount": "-5", "currency": "EUR"}
    )
    assert bad.status_code == 400
    html = bad.content.decode()
    assert 'id="field-name"' in html and "field-error" in html
    assert Opportunity.objects.count() == 0
    good = client.post(
        url,
        {"name": "New fleet", "account": account_north.pk, "amount": "2500.00", "currency": "eur"},
    )
    assert good.status_code == 302
    created = Opportunity.objects.get()
    assert (created.name, created.amount, created.currency, created.owner) == (
        "New fleet",
        Decimal("2500.00"),
        "EUR",
        rep_north,
    )


def test_edit_with_stale_version_shows_conflict(rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    client = client_for(rep_north)
    url = reverse("opportunity_edit", args=[opportunity.pk])
    form = {
        "name": "Renamed",
        "account": account_north.pk,
        "amount": "1000.00",
        "currency": "EUR",
        "version": 1,
    }
    assert client.post(url, form).status_code == 302
    response = client.post(url, {**form, "name": "Again"})
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()
    assert Opportunity.objects.get(pk=opportunity.pk).name == "Renamed"


def test_account_page_has_opportunities_panel(rep_north, account_north, contact_north):
    make_opportunity(rep_north, account_north, name="Panel deal", primary_contact=contact_north)
    client = client_for(rep_north)
    page = client.get(reverse("account_detail", args=[account_north.pk])).content.decode()
    assert reverse("opportunity_panel", args=["account", account_north.pk]) in page
    panel = client.get(reverse("opportunity_panel", args=["account", account_north.pk]))
    assert "Panel deal" in panel.content.decode()
    contact_panel = client.get(reverse("opportunity_panel", args=["contact", contact_north.pk]))
    assert "Panel deal" in contact_panel.content.decode()


def test_panel_leaks_nothing(rep_north, rep_south, account_north, set_visibility):
    set_visibility("public_read")
    opportunity = make_opportunity(rep_north, account_north, name="Hidden deal")
    set_visibility("private")
    panel = client_for(rep_south).get(
        reverse("opportunity_panel", args=["account", account_north.pk])
    )
    assert panel.status_code == 404
    set_visibility("public_read")
    # The account is readable by everyone, the opportunity too under public read.
    panel = client_for(rep_south).get(
        reverse("opportunity_panel", args=["account", account_north.pk])
    )
    assert opportunity.name in panel.content.decode()


def test_account_timeline_shows_opportunity_events(rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north, name="Timeline deal")
    client = client_for(rep_north)
    client.post(
        reverse("opportunity_move", args=[opportunity.pk]),
        {"stage": stage("Won").pk, "version": 1},
    )
    html = client.get(reverse("account_detail", args=[account_north.pk])).content.decode()
    assert "Opportunity created: Timeline deal" in html
    assert "Opportunity won: Timeline deal" in html


def test_pipeline_switcher(rep_north):
    from patron.sales.models import Pipeline, Stage

    other = Pipeline.objects.create(name="Renewals", ordering=1)
    Stage.objects.create(pipeline=other, name="Renewal due", order=0)
    client = client_for(rep_north)
    html = client.get(reverse("sales_board")).content.decode()
    assert 'data-stage-name="Qualification"' in html and "Renewals" in html
    html = client.get(reverse("sales_board") + f"?pipeline={other.pk}").content.decode()
    assert 'data-stage-name="Renewal due"' in html
    assert client.get(reverse("sales_board") + "?pipeline=abc").status_code == 404
    assert pipeline().is_default


def test_inline_validation_answers_the_changed_fields_errors(rep_north, account_north):
    client = client_for(rep_north)
    url = reverse("opportunity_validate")
    form = {"name": "Deal", "account": account_north.pk, "amount": "-3", "currency": "EURO"}
    response = client.post(url, form, headers={"HX-Request": "true", "HX-Trigger-Name": "amount"})
    html = response.content.decode()
    assert 'id="errors-amount"' in html and 'hx-swap-oob="true"' in html
    assert "greater than or equal to 0" in html
    ok = client.post(
        url, {**form, "amount": "10"}, headers={"HX-Request": "true", "HX-Trigger-Name": "amount"}
    )
    assert 'class="field-error"' not in ok.content.decode()
    assert Opportunity.objects.count() == 0
    page = client.get(reverse("opportunity_create")).content.decode()
    assert f'hx-post="{url}"' in page
