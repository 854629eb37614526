"""Background jobs of the integration app. Each fetches what it needs and calls a service;
running one twice is harmless (a run someone else is working is left alone)."""

from __future__ import annotations

from django.tasks import task

from . import services


@task()
def import_run_task(run_id: int) -> int:
    run = services.import_process(run_id)
    return run.rows_done


@task()
def source_sync_task(source_id: int) -> int | None:
    from .databases import source_sync

    run = source_sync(source_id=source_id)
    return run.pk if run else None


def periodic() -> None:
    """Every minute from `patron worker`: resume abandoned imports, start due syncs."""
    services.imports_recover()
    from .databases import sources_due

    for source_id in sources_due():
        source_sync_task.enqueue(source_id)
