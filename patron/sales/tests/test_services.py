import datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from patron.core.exceptions import ConflictError, PermissionDeniedError
from patron.core.models import AuditEvent
from patron.customers.models import TimelineEntry
from patron.sales import selectors, services
from patron.sales.models import Opportunity, StageChange

from .factories import make_opportunity, pipeline, stage

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def at(moment):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def test_default_pipeline_has_the_six_stages():
    stages = list(pipeline().stages.values_list("name", "probability", "kind"))
    assert stages == [
        ("Qualification", 10, "open"),
        ("Needs analysis", 25, "open"),
        ("Proposal", 50, "open"),
        ("Negotiation", 75, "open"),
        ("Won", 100, "won"),
        ("Lost", 0, "lost"),
    ]
    assert pipeline().is_default


def test_create_defaults_pipeline_stage_owner_team_and_currency(rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north, amount=Decimal("12500.50"))
    opportunity.refresh_from_db()
    assert opportunity.pipeline == pipeline()
    assert opportunity.stage == stage("Qualification")
    assert opportunity.owner == rep_north
    assert opportunity.team == rep_north.team
    assert opportunity.currency == "EUR"
    assert opportunity.amount == Decimal("12500.50")
    assert isinstance(opportunity.amount, Decimal)
    assert opportunity.version == 1
    assert opportunity.closed_at is None
    history = list(
        StageChange.objects.filter(opportunity=opportunity).values_list(
            "from_stage", "to_stage", "changed_by"
        )
    )
    assert history == [(None, stage("Qualification").pk, rep_north.pk)]


def test_amounts_are_exact_decimals(rep_north, account_north):
    for amount in ("0.10", "0.20", "0.30"):
        make_opportunity(rep_north, account_north, amount=Decimal(amount))
    column = selectors.board(user=rep_north, pipeline=pipeline())[0]
    assert column.totals == {"EUR": Decimal("0.60")}


def test_create_refuses_bad_currency_and_negative_amount(rep_north, account_north):
    with pytest.raises(ValidationError) as exc:
        make_opportunity(rep_north, account_north, currency="EURO", amount=Decimal("-1"))
    assert set(exc.value.message_dict) == {"currency", "amount"}
    assert Opportunity.objects.count() == 0


def test_create_lowercase_currency_is_normalised(rep_north, account_north):
    assert make_opportunity(rep_north, account_north, currency="usd").currency == "USD"


def test_create_refuses_an_account_the_actor_cannot_see(rep_north, account_south):
    with pytest.raises(ValidationError) as exc:
        make_opportunity(rep_north, account_south)
    assert exc.value.message_dict == {"account": ["There is no such account."]}
    assert Opportunity.objects.count() == 0


def test_create_refuses_stage_of_another_pipeline(rep_north, account_north):
    from patron.sales.models import Pipeline, Stage

    other = Pipeline.objects.create(name="Renewals")
    foreign = Stage.objects.create(pipeline=other, name="Quote", order=0)
    with pytest.raises(ValidationError):
        make_opportunity(rep_north, account_north, pipeline=pipeline(), stage=foreign)


def test_readonly_may_not_create(readonly_user, account_north):
    with pytest.raises(PermissionDeniedError):
        make_opportunity(readonly_user, account_north)
    assert Opportunity.objects.count() == 0


def test_move_records_history_and_time_in_stage(rep_north, account_north):
    with at(T0):
        opportunity = make_opportunity(rep_north, account_north)
    with at(T0 + datetime.timedelta(days=3)):
        services.opportunity_move(
            actor=rep_north, opportunity=opportunity, expected_version=1, stage=stage("Proposal")
        )
    with at(T0 + datetime.timedelta(days=10)):
        services.opportunity_move(
            actor=rep_north, opportunity=opportunity, expected_version=2, stage=stage("Negotiation")
        )
    with at(T0 + datetime.timedelta(days=12)):
        history = selectors.stage_history(opportunity=opportunity)
        totals = selectors.time_in_stage(opportunity=opportunity)
    assert [(s.change.to_stage.name, s.duration.days) for s in history] == [
        ("Qualification", 3),
        ("Proposal", 7),
        ("Negotiation", 2),
    ]
    assert history[1].change.from_stage == stage("Qualification")
    assert totals == {
        stage("Qualification").pk: datetime.timedelta(days=3),
        stage("Proposal").pk: datetime.timedelta(days=7),
        stage("Negotiation").pk: datetime.timedelta(days=2),
    }
    opportunity.refresh_from_db()
    assert opportunity.version == 3
    assert opportunity.stage_entered_at == T0 + datetime.timedelta(days=10)


def test_move_to_won_closes_and_back_to_open_reopens(rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    with at(T0):
        services.opportunity_move(
            actor=rep_north,
            opportunity=opportunity,
            expected_version=1,
            stage=stage("Won"),
            reason="Best price",
        )
    opportunity.refresh_from_db()
    assert (opportunity.closed_at, opportunity.close_reason) == (T0, "Best price")
    services.opportunity_move(
        actor=rep_north, opportunity=opportunity, expected_version=2, stage=stage("Proposal")
    )
    opportunity.refresh_from_db()
    assert (opportunity.closed_at, opportunity.close_reason) == (None, "")


def test_move_to_lost_requires_a_reason(rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    with pytest.raises(ValidationError) as exc:
        services.opportunity_move(
            actor=rep_north, opportunity=opportunity, expected_version=1, stage=stage("Lost")
        )
    assert exc.value.message_dict == {"reason": ["Say why the opportunity was lost."]}
    opportunity.refresh_from_db()
    assert opportunity.stage == stage("Qualification")
    assert opportunity.closed_at is None
    assert StageChange.objects.filter(opportunity=opportunity).count() == 1
    services.opportunity_move(
        actor=rep_north,
        opportunity=opportunity,
        expected_version=1,
        stage=stage("Lost"),
        reason="Went with a competitor",
    )
    opportunity.refresh_from_db()
    assert opportunity.stage == stage("Lost")
    assert opportunity.close_reason == "Went with a competitor"
    assert opportunity.closed_at is not None


def test_stale_move_is_refused_and_changes_nothing(rep_north, rep_north_2, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    stale = Opportunity.objects.get(pk=opportunity.pk)
    services.opportunity_move(
        actor=rep_north, opportunity=opportunity, expected_version=1, stage=stage("Proposal")
    )
    with pytest.raises(ConflictError) as exc:
        services.opportunity_move(
            actor=rep_north, opportunity=stale, expected_version=1, stage=stage("Won")
        )
    assert exc.value.current_version == 2
    opportunity.refresh_from_db()
    assert opportunity.stage == stage("Proposal")
    assert StageChange.objects.filter(opportunity=opportunity).count() == 2


def test_stale_update_is_refused(rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    services.opportunity_update(
        actor=rep_north, opportunity=opportunity, expected_version=1, data={"next_step": "Call"}
    )
    stale = Opportunity.objects.get(pk=opportunity.pk)
    with pytest.raises(ConflictError):
        services.opportunity_update(
            actor=rep_north, opportunity=stale, expected_version=1, data={"name": "Other"}
        )
    opportunity.refresh_from_db()
    assert (opportunity.name, opportunity.next_step, opportunity.version) == (
        "Fleet renewal",
        "Call",
        2,
    )


def test_update_refuses_stage_field(rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    with pytest.raises(ValidationError) as exc:
        services.opportunity_update(
            actor=rep_north,
            opportunity=opportunity,
            expected_version=1,
            data={"stage": stage("Won")},
        )
    assert exc.value.message_dict == {"stage": ["Unknown field."]}


def test_audit_written_for_create_update_move_delete(manager_north, account_north):
    opportunity = make_opportunity(manager_north, account_north, amount=Decimal("99.90"))
    pk = opportunity.pk
    services.opportunity_update(
        actor=manager_north,
        opportunity=opportunity,
        expected_version=1,
        data={"amount": Decimal("120.00")},
    )
    services.opportunity_move(
        actor=manager_north, opportunity=opportunity, expected_version=2, stage=stage("Proposal")
    )
    services.opportunity_delete(actor=manager_north, opportunity=opportunity)
    events = list(
        AuditEvent.objects.filter(content_type__model="opportunity", object_id=pk).order_by("id")
    )
    assert [e.action for e in events] == ["create", "update", "update", "delete"]
    assert events[0].changes["amount"] == [None, "99.90"]
    assert events[0].actor == manager_north
    assert events[1].changes == {"amount": ["99.90", "120.00"]}
    assert events[2].changes == {"stage": [stage("Qualification").pk, stage("Proposal").pk]}
    assert not Opportunity.objects.filter(pk=pk).exists()


def test_rep_may_not_delete(rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    with pytest.raises(PermissionDeniedError):
        services.opportunity_delete(actor=rep_north, opportunity=opportunity)
    assert Opportunity.objects.filter(pk=opportunity.pk).exists()


def test_rep_may_not_move_another_teams_opportunity(rep_south, rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    with pytest.raises(PermissionDeniedError):
        services.opportunity_move(
            actor=rep_south, opportunity=opportunity, expected_version=1, stage=stage("Won")
        )
    opportunity.refresh_from_db()
    assert opportunity.stage == stage("Qualification")


def test_timeline_entries_on_account_and_contact(rep_north, account_north, contact_north):
    opportunity = make_opportunity(rep_north, account_north, primary_contact=contact_north)
    services.opportunity_move(
        actor=rep_north, opportunity=opportunity, expected_version=1, stage=stage("Proposal")
    )
    services.opportunity_move(
        actor=rep_north,
        opportunity=opportunity,
        expected_version=2,
        stage=stage("Lost"),
        reason="No budget",
    )
    entries = list(
        TimelineEntry.objects.filter(kind="opportunity")
        .order_by("id")
        .values("account_id", "contact_id", "subject", "body", "data", "related_id")
    )
    by = rep_north.display_name
    common = {
        "account_id": account_north.pk,
        "contact_id": contact_north.pk,
        "related_id": opportunity.pk,
    }
    assert entries == [
        {
            **common,
            "subject": "Opportunity created: Fleet renewal",
            "body": "",
            "data": {
                "opportunity_id": opportunity.pk,
                "event": "created",
                "from_stage": "",
                "to_stage": "Qualification",
                "by": by,
            },
        },
        {
            **common,
            "subject": "Fleet renewal: Qualification → Proposal",
            "body": "",
            "data": {
                "opportunity_id": opportunity.pk,
                "event": "stage_changed",
                "from_stage": "Qualification",
                "to_stage": "Proposal",
                "by": by,
            },
        },
        {
            **common,
            "subject": "Opportunity lost: Fleet renewal",
            "body": "No budget",
            "data": {
                "opportunity_id": opportunity.pk,
                "event": "lost",
                "from_stage": "Proposal",
                "to_stage": "Lost",
                "by": by,
            },
        },
    ]


def test_won_appears_on_account_timeline(rep_north, account_north):
    opportunity = make_opportunity(rep_north, account_north)
    services.opportunity_move(
        actor=rep_north, opportunity=opportunity, expected_version=1, stage=stage("Won")
    )
    entry = TimelineEntry.objects.filter(kind="opportunity").latest("id")
    assert (entry.subject, entry.account_id, entry.contact_id, entry.data["event"]) == (
        "Opportunity won: Fleet renewal",
        account_north.pk,
        None,
        "won",
    )
    assert entry.occurred_at <= timezone.now()
