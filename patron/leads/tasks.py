"""Background work for leads: the daily retraining of the conversion model."""

from __future__ import annotations

import logging

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
