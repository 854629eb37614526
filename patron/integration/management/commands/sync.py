"""`patron sync`: pull what changed in a database source since its last sync.

patron sync SOURCE_NAME          queue the sync for `patron worker`
patron sync SOURCE_NAME --now    sync in this process, with a progress bar
                                 [--user admin] [--batch-size 2000] [--no-progress]
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from patron.integration import services
from patron.integration.cli import command_actor
from patron.integration.databases import source_sync
from patron.integration.models import ImportRun, Source


class Command(BaseCommand):
    help = "Sync a database source: pull the rows that changed since its last sync."

    def add_arguments(self, parser):
        parser.add_argument("source", help="The source's name.")
        parser.add_argument(
            "--now", action="store_true", help="Sync in this process instead of the worker."
        )
        parser.add_argument("--user", default="", help="Username the sync acts as (an admin).")
        parser.add_argument("--batch-size", type=int, default=services.BATCH_SIZE)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, source, now, **options):
        found = Source.objects.filter(name=source).first()
        if found is None:
            raise CommandError(f"No source named '{source}'.")
        if found.kind != Source.Kind.DATABASE:
            raise CommandError(f"{found} is not a database source.")
        actor = command_actor(options["user"])
        if not now:
            from patron.integration.tasks import source_sync_task

            source_sync_task.enqueue(found.pk)
            self.stdout.write(f"Sync of {found} queued; `patron worker` runs it.")
            return
        before = found.runs.order_by("-pk").values_list("pk", flat=True).first() or 0
        bar = None
        if not options["no_progress"]:
            bar = tqdm(total=None, unit="rows", desc=f"Sync of {found}")

        def progress(current: ImportRun) -> None:
            if bar is None:
                return
            if current.total_rows and bar.total != current.total_rows:
                bar.total = current.total_rows
            bar.update(current.rows_done - bar.n)

        try:
            run = source_sync(
                source_id=found.pk,
                actor=actor,
                progress=progress,
                batch_size=options["batch_size"],
            )
        except ValidationError as exc:
            failed = found.runs.filter(pk__gt=before, status=ImportRun.Status.FAILED).first()
            hint = f" (resume with `patron import resume {failed.pk}`)" if failed else ""
            raise CommandError("; ".join(exc.messages) + hint) from None
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        finally:
            if bar is not None:
                bar.close()
        if run is None:
            self.stdout.write(f"A sync of {found} is already running; nothing started.")
            return
        self._summary(run)

    def _summary(self, run: ImportRun) -> None:
        run.refresh_from_db()
        self.stdout.write(
            f"{run.file_name} (import #{run.pk}): {run.get_status_display()} · "
            f"{run.rows_done} rows · {run.created_count} created · "
            f"{run.updated_count} updated · {run.unchanged_count} unchanged · "
            f"{run.quarantined_count} quarantined · mark {run.high_water_mark or '–'}"
        )
        if run.error:
            self.stdout.write(f"Error: {run.error}")
