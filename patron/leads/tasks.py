"""Background work for leads: rescoring the open leads after a rule or the model changed,
and the daily retraining of the conversion model. Both are safe to run twice."""

from __future__ import annotations

import logging

from django.tasks import task

from . import scoring, services

logger = logging.getLogger(__name__)


def train_when_possible() -> bool:
    """Train the conversion model if there is enough history (safe to run twice: a second
    run only stores a newer, equivalent model). Returns whether it trained."""
    problem = scoring.history_problem()
    if problem:
        logger.info("Leads model not trained: %s", problem)
        return False
    services.model_train(actor=None)
    return True


@task()
def leads_rescore_task() -> int:
    return services.leads_rescore()
