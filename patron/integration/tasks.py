"""Background jobs of the integration app. Each fetches what it needs and calls a service;
running one twice is harmless (a run someone else is working is left alone)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.tasks import task

from . import services


@task()
def import_run_task(run_id: int) -> int:
    run = services.import_process(run_id)
    return run.rows_done


@task()
def source_sync_task(source_id: int, actor_id: int | None = None) -> int | None:
    """Sync a database source as the person who asked for it ("Sync now"); without one (a
    scheduled sync) as the person who set the source up."""
    from patron.core.models import User

    from .databases import source_sync

    actor = None
    if actor_id is not None:
        actor = User.objects.select_related("role").filter(pk=actor_id).first()
        if actor is None:
            raise PermissionDenied("The person who asked for this sync no longer exists.")
    run = source_sync(source_id=source_id, actor=actor)
    return run.pk if run else None


def periodic() -> None:
    """Every minute from `patron worker`: resume abandoned imports, start due syncs."""
    services.imports_recover()
    from .databases import sources_due

    for source_id in sources_due():
        source_sync_task.enqueue(source_id)
