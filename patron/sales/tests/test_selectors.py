import datetime
from decimal import Decimal

import pytest

from patron.sales import selectors, services

from .factories import make_opportunity, pipeline, stage

pytestmark = pytest.mark.django_db


@pytest.fixture
def deals(rep_north, rep_north_2, rep_south, account_north, account_south, admin_user):
    """Seven deals with known amounts in two currencies and three owners."""
    made = {
        "a": make_opportunity(rep_north, account_north, name="A", amount=Decimal("1000.00")),
        "b": make_opportunity(rep_north, account_north, name="B", amount=Decimal("250.50")),
        "c": make_opportunity(
            rep_north, account_north, name="C", amount=Decimal("99.99"), currency="USD"
        ),
        "d": make_opportunity(
            rep_north,
            account_north,
            name="D",
            amount=Decimal("5000.00"),
            stage=stage("Proposal"),
            expected_close_date=datetime.date(2026, 6, 30),
        ),
        "e": make_opportunity(
            admin_user,
            account_north,
            name="E",
            amount=Decimal("7.25"),
            owner=rep_north_2,
            expected_close_date=datetime.date(2026, 1, 15),
        ),
        "s": make_opportunity(rep_south, account_south, name="S", amount=Decimal("123456.78")),
    }
    services.opportunity_move(
        actor=rep_north,
        opportunity=made["b"],
        expected_version=1,
        stage=stage("Won"),
        reason="Signed",
    )
    return made


def _summary(columns):
    return [(c.stage.name, c.count, c.totals, [o.name for o in c.cards]) for c in columns]


def test_board_totals_for_the_admin(admin_user, deals):
    columns = selectors.board(user=admin_user, pipeline=pipeline())
    summary = {name: (count, totals) for name, count, totals, _ in _summary(columns)}
    assert summary == {
        "Qualification": (
            4,
            {"EUR": Decimal("124464.03"), "USD": Decimal("99.99")},
        ),
        "Needs analysis": (0, {}),
        "Proposal": (1, {"EUR": Decimal("5000.00")}),
        "Negotiation": (0, {}),
        "Won": (1, {"EUR": Decimal("250.50")}),
        "Lost": (0, {}),
    }


def test_board_as_a_rep_shows_only_what_they_may_see(rep_north, deals, set_visibility):
    set_visibility("private")
    columns = selectors.board(user=rep_north, pipeline=pipeline())
    assert _summary(columns)[0] == (
        "Qualification",
        2,
        {"EUR": Decimal("1000.00"), "USD": Decimal("99.99")},
        ["C", "A"],
    )
    names = [o.name for c in columns for o in c.cards]
    assert sorted(names) == ["A", "B", "C", "D"]


def test_board_shared_team_visibility(rep_north, deals):
    # The organisation's default: records are shared within the owner's team.
    columns = selectors.board(user=rep_north, pipeline=pipeline())
    names = sorted(o.name for c in columns for o in c.cards)
    assert names == ["A", "B", "C", "D", "E"]


def test_board_only_mine(manager_north, rep_north, deals):
    columns = selectors.board(user=manager_north, pipeline=pipeline(), owner=rep_north)
    assert sorted(o.name for c in columns for o in c.cards) == ["A", "B", "C", "D"]


def test_board_caps_cards_but_not_totals(rep_north, account_north, monkeypatch):
    monkeypatch.setattr(selectors, "BOARD_CARDS_PER_STAGE", 2)
    for i in range(4):
        make_opportunity(rep_north, account_north, name=f"N{i}", amount=Decimal("10.00"))
    column = selectors.board(user=rep_north, pipeline=pipeline())[0]
    assert (column.count, column.totals, len(column.cards), column.hidden) == (
        4,
        {"EUR": Decimal("40.00")},
        2,
        2,
    )


def test_board_query_count_does_not_grow(rep_north, account_north, django_assert_num_queries):
    for i in range(3):
        make_opportunity(rep_north, account_north, name=f"Q{i}")
    the_pipeline = pipeline()
    with django_assert_num_queries(4) as few:
        columns = selectors.board(user=rep_north, pipeline=the_pipeline)
        [(o.account.name, o.owner and o.owner.display_name) for c in columns for o in c.cards]
    for i in range(20):
        make_opportunity(rep_north, account_north, name=f"R{i}")
    with django_assert_num_queries(len(few.captured_queries)):
        columns = selectors.board(user=rep_north, pipeline=the_pipeline)
        [(o.account.name, o.owner and o.owner.display_name) for c in columns for o in c.cards]
    # One query more per stage that holds deals, however many deals it holds.
    for i in range(5):
        make_opportunity(rep_north, account_north, name=f"P{i}", stage=stage("Proposal"))
    with django_assert_num_queries(len(few.captured_queries) + 1):
        columns = selectors.board(user=rep_north, pipeline=the_pipeline)
        [(o.account.name, o.owner and o.owner.display_name) for c in columns for o in c.cards]


def test_each_stage_shows_its_most_recently_updated_cards(rep_north, account_north, monkeypatch):
    monkeypatch.setattr(selectors, "BOARD_CARDS_PER_STAGE", 2)
    made = [make_opportunity(rep_north, account_north, name=f"S{i}") for i in range(4)]
    made += [
        make_opportunity(rep_north, account_north, name=f"T{i}", stage=stage("Proposal"))
        for i in range(3)
    ]
    columns = {c.stage.name: c for c in selectors.board(user=rep_north, pipeline=pipeline())}
    assert [o.name for o in columns["Qualification"].cards] == ["S3", "S2"]
    assert [o.name for o in columns["Proposal"].cards] == ["T2", "T1"]
    assert (columns["Qualification"].hidden, columns["Proposal"].hidden) == (2, 1)


def test_list_filters(admin_user, rep_north_2, deals):
    names = lambda qs: sorted(o.name for o in qs)  # noqa: E731
    assert names(selectors.opportunity_list(user=admin_user, owner=rep_north_2)) == ["E"]
    assert names(selectors.opportunity_list(user=admin_user, stage=stage("Won"))) == ["B"]
    assert names(
        selectors.opportunity_list(
            user=admin_user,
            close_after=datetime.date(2026, 1, 1),
            close_before=datetime.date(2026, 3, 31),
        )
    ) == ["E"]


def test_account_and_contact_opportunities(rep_north, rep_south, account_north, contact_north):
    a = make_opportunity(rep_north, account_north, name="With Nora", primary_contact=contact_north)
    make_opportunity(rep_north, account_north, name="Other")
    assert {
        o.name for o in selectors.opportunities_for_account(user=rep_north, account=account_north)
    } == {"With Nora", "Other"}
    assert list(selectors.opportunities_for_contact(user=rep_north, contact=contact_north)) == [a]
    assert list(selectors.opportunities_for_account(user=rep_south, account=account_north)) == []
