"""Background jobs of the quality app; safe to run twice (each replaces what it computed)."""

from __future__ import annotations

from django.tasks import task

from . import scores


@task()
def quality_refresh_task() -> int:
    written = scores.rollup()
    scores.scores_refresh("contact")
    scores.scores_refresh("account")
    return written


def periodic() -> None:
    """Once a day from `patron worker`: today's rollup and every record's score."""
    quality_refresh_task.enqueue()
