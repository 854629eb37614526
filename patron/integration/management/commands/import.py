"""`patron import`: bring a file into a source from the command line, with a progress bar.

patron import run FILE --source Billing [--entity contact] [--user admin]
                      [--encoding cp1252] [--delimiter ';'] [--sheet Calls] [--map col=target]
patron import resume RUN_ID [--force]
patron import cancel RUN_ID
patron import revert RUN_ID
patron import status RUN_ID
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from patron.core.models import User
from patron.integration import services
from patron.integration.cli import command_actor
from patron.integration.models import ImportRun, Source

BATCH_HELP = (
    f"Rows per transaction (default {services.BATCH_SIZE:,}; "
    f"{services.PARALLEL_BATCH_SIZE:,} when rows are normalised in worker processes)."
)


class Command(BaseCommand):
    help = "Import a file into a source, or resume, cancel, revert or inspect an import."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="Import a file (CSV, XLSX, JSON, JSON Lines, vCard).")
        run.add_argument("file")
        run.add_argument("--source", required=True, help="Source name (created when missing).")
        run.add_argument("--entity", choices=["contact", "account"], default="contact")
        run.add_argument("--region", default="", help="Default phone country of a new source.")
        run.add_argument("--user", default="", help="Username the import acts as (an admin).")
        run.add_argument("--encoding")
        run.add_argument("--delimiter")
        run.add_argument("--sheet")
        run.add_argument("--format", choices=["csv", "xlsx", "json", "jsonl", "vcf"])
        run.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="COLUMN=TARGET[:TRANSFORM]",
            help="Map a column (repeatable); the rest follows the saved or suggested mapping.",
        )
        run.add_argument("--mapping-json", help="A JSON file with the whole column list.")
        run.add_argument("--match-by", choices=["email", "none"])
        run.add_argument("--batch-size", type=int, help=BATCH_HELP)
        run.add_argument("--no-progress", action="store_true")
        for name in ("resume", "cancel", "revert", "status"):
            p = sub.add_parser(name)
            p.add_argument("run_id", type=int)
            if name == "resume":
                p.add_argument("--force", action="store_true", help="Take over at once.")
                p.add_argument("--no-progress", action="store_true")
                p.add_argument("--batch-size", type=int, help=BATCH_HELP)
            p.add_argument("--user", default="")

    def handle(self, *args, action, **options):
        actor = command_actor(options.get("user") or "")
        try:
            if action == "run":
                run = self._start(actor, options)
                run = self._work(run, force=False, options=options)
            else:
                try:
                    run = ImportRun.objects.get(pk=options["run_id"])
                except ImportRun.DoesNotExist:
                    raise CommandError(f"No import #{options['run_id']}.") from None
                if action == "resume":
                    if run.status == ImportRun.Status.FAILED:
                        services.import_resume(actor=actor, run=run)
                        run.refresh_from_db()
                    run = self._work(run, force=options["force"], options=options)
                elif action == "cancel":
                    run = services.import_cancel(actor=actor, run=run)
                elif action == "revert":
                    report = services.import_revert(actor=actor, run=run)
                    self.stdout.write(
                        f"Reverted import #{run.pk}: {report.deleted} removed, "
                        f"{report.restored} restored, {len(report.conflicts or [])} kept."
                    )
                    for conflict in report.conflicts or []:
                        self.stdout.write(f"  kept: {conflict}")
                    return
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from None
        self._summary(run)

    def _start(self, actor: User, options) -> ImportRun:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"No file {path}.")
        source = Source.objects.filter(name=options["source"]).first()
        if source is None:
            source = services.source_create(
                actor=actor,
                data={
                    "name": options["source"],
                    "entity": options["entity"],
                    "default_region": options["region"],
                },
            )
        run = services.import_start(actor=actor, source=source, upload=path, file_name=path.name)
        file_options = {
            k: options[k]
            for k in ("encoding", "delimiter", "sheet", "format")
            if options.get(k) is not None
        }
        if options["delimiter"] == "\\t":
            file_options["delimiter"] = "\t"
        columns = None
        if options.get("mapping_json"):
            columns = json.loads(Path(options["mapping_json"]).read_text())
        run = services.import_configure(
            actor=actor,
            run=run,
            options=file_options or None,
            columns=columns,
            match_by=options.get("match_by"),
        )
        if options["map"]:
            columns = [dict(c) for c in run.columns]
            for spec in options["map"]:
                column, _, rest = spec.partition("=")
                target, _, transform = rest.partition(":")
                for c in columns:
                    if c["column"] == column:
                        c["target"], c["transform"] = target, transform
                        break
                else:
                    raise CommandError(f"The file has no column '{column}'.")
            run = services.import_configure(actor=actor, run=run, columns=columns)
        mapped = ", ".join(f"{c['column']}→{c['target']}" for c in run.columns if c["target"])
        self.stdout.write(f"Import #{run.pk} into {source}: {mapped}")
        # Runs here, in this process; `import_enqueue` would hand it to the worker instead.
        services.import_enqueue(actor=actor, run=run, background=False)
        return ImportRun.objects.get(pk=run.pk)

    def _work(self, run: ImportRun, *, force: bool, options) -> ImportRun:
        bar = None
        if not options.get("no_progress"):
            bar = tqdm(total=run.total_rows or None, unit="rows", desc=f"Import #{run.pk}")
            bar.update(run.rows_done)

        def progress(current: ImportRun) -> None:
            if bar is None:
                return
            if current.total_rows and bar.total != current.total_rows:
                bar.total = current.total_rows
            bar.update(current.rows_done - bar.n)

        try:
            run = services.import_process(
                run.pk, force=force, progress=progress, batch_size=options["batch_size"]
            )
        finally:
            if bar is not None:
                bar.close()
        return run

    def _summary(self, run: ImportRun) -> None:
        run.refresh_from_db()
        self.stdout.write(
            f"Import #{run.pk}: {run.get_status_display()} · {run.rows_done} rows · "
            f"{run.created_count} created · {run.updated_count} updated · "
            f"{run.unchanged_count} unchanged · {run.quarantined_count} quarantined · "
            f"{run.flagged_count} with flagged values"
        )
        if run.problem_counts:
            top = sorted(run.problem_counts.items(), key=lambda kv: -kv[1])
            self.stdout.write("Problems: " + ", ".join(f"{k} {v}" for k, v in top))
        if run.error:
            self.stdout.write(f"Error: {run.error}")
