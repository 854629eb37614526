import random

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError

from patron.leads import scoring, services, tasks
from patron.leads.models import Lead, LeadActivity, LeadScoringModel

from .factories import make_lead

pytestmark = pytest.mark.django_db


def _history(n: int, seed: int = 7) -> None:
    """Past leads with a known signal: directors convert 80 % of the time, others 10 %."""
    rng = random.Random(seed)
    leads, activities = [], []
    for i in range(n):
        director = i % 2 == 0
        title = (
            rng.choice(["Director of Sales", "IT Director"])
            if director
            else rng.choice(["Engineer", "Analyst", "Intern"])
        )
        converted = rng.random() < (0.8 if director else 0.1)
        status = Lead.Status.CONVERTED if converted else Lead.Status.DISQUALIFIED
        leads.append(
            Lead(
                first_name=f"P{i}",
                email=f"p{i}@example.com",
                job_title=title,
                country=rng.choice(["FR", "DE"]),
                status=status,
                disqualified_reason="" if converted else "No budget",
            )
        )
    Lead.objects.bulk_create(leads)
    for lead in Lead.objects.all()[:20]:
        activities.append(LeadActivity(lead=lead, kind="email_opened"))
    LeadActivity.objects.bulk_create(activities)


def test_too_little_history_says_so_instead_of_predicting(admin_user):
    _history(12)
    with pytest.raises(ValidationError) as caught:
        services.model_train(actor=admin_user)
    assert "Not enough history yet: 12 leads have an outcome" in caught.value.messages[0]
    assert not LeadScoringModel.objects.exists()
    lead = make_lead(admin_user, job_title="Director")
    assert lead.predicted_probability is None and lead.prediction_reasons == []


def test_needs_both_outcomes(admin_user):
    Lead.objects.bulk_create(
        [Lead(first_name=f"C{i}", status=Lead.Status.CONVERTED) for i in range(30)]
    )
    assert "5 converted and 5 disqualified" in scoring.history_problem()


def test_learned_model_ranks_the_known_signal(admin_user):
    _history(200)
    row = services.model_train(actor=admin_user)
    assert row.samples == 200
    assert row.converted + row.disqualified == 200
    assert row.metrics["training_accuracy"] > 0.75
    director = make_lead(admin_user, job_title="Marketing Director", country="FR")
    engineer = make_lead(admin_user, job_title="Engineer", country="FR")
    assert director.predicted_probability > 0.6
    assert engineer.predicted_probability < 0.3
    top = director.prediction_reasons[0]
    assert top["feature"] == "job title has 'director'" and top["weight"] > 0
    assert any(
        r["feature"] == "job title has 'engineer'" and r["weight"] < 0
        for r in engineer.prediction_reasons
    )


def test_training_rescores_open_leads_and_cli_hook(admin_user, django_capture_on_commit_callbacks):
    _history(60)
    waiting = make_lead(admin_user, job_title="Director")
    assert waiting.predicted_probability is None
    with django_capture_on_commit_callbacks(execute=True):
        call_command("leads", "train")
    waiting.refresh_from_db()
    assert waiting.predicted_probability is not None and waiting.predicted_probability > 0.5
    assert LeadScoringModel.objects.count() == 1


def test_cli_train_without_history_fails_with_the_reason(db):
    with pytest.raises(CommandError, match="Not enough history"):
        call_command("leads", "train")


def test_daily_job_trains_only_with_enough_history(db):
    assert tasks.train_when_possible() is False
    assert not LeadScoringModel.objects.exists()
    _history(40)
    assert tasks.train_when_possible() is True
    assert LeadScoringModel.objects.get().samples == 40
