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


@task()
def resolution_task(run_id: int) -> int:
    from .matching import resolution_process

    run = resolution_process(run_id)
    return run.merges


def resolve_new_records() -> None:
    """Every few minutes from `patron worker`: records that arrived in imports and syncs since
    the last resolution run are matched against the customers already there."""
    from .matching import last_full_run, pending_new_records, resolution_start

    for object_type in ("contact", "account"):
        if last_full_run(object_type) is not None and pending_new_records(object_type):
            resolution_start(actor=None, object_type=object_type)


def periodic() -> None:
    """Once a day from `patron worker`: today's rollup and every record's score."""
    quality_refresh_task.enqueue()
