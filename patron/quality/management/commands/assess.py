"""`patron assess`: a readiness report of files before importing them; writes nothing to
the customer data.

patron assess FILE [FILE ...] [--json out.json] [--html out.html] [--encoding cp1252]
              [--delimiter ';'] [--sheet Calls] [--format csv] [--entity contact]
              [--region DE] [--no-overlap] [--no-progress]

Without --json or --html the ranked list of what needs attention is printed; `--json -`
prints the JSON report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from patron.integration.readers import FORMATS
from patron.quality import report as rendering
from patron.quality import selectors
from patron.quality.assess import AssessOptions

SEVERITY_MARKS = {"high": "!!", "medium": "! ", "low": "  "}


class Command(BaseCommand):
    help = "Profile files before importing them: a readiness report as text, JSON or HTML."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--json", metavar="OUT", help="Write the JSON report ('-': stdout).")
        parser.add_argument("--html", metavar="OUT", help="Write the HTML report.")
        parser.add_argument("--encoding", help="Read the files in this encoding (detected).")
        parser.add_argument("--delimiter", help="CSV delimiter ('\\t' for tabs; detected).")
        parser.add_argument("--sheet", help="The workbook sheet to read (the largest).")
        parser.add_argument("--format", choices=sorted(FORMATS), help="File format (detected).")
        parser.add_argument("--entity", choices=["contact", "account"], default="contact")
        parser.add_argument(
            "--region", default="", help="Default phone country (the organisation's)."
        )
        parser.add_argument(
            "--no-overlap", action="store_true", help="Do not look up existing customers."
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        paths = [Path(f) for f in options["files"]]
        for path in paths:
            if not path.is_file():
                raise CommandError(f"No file {path}.")
        assess_options = AssessOptions(
            entity=options["entity"],
            region=(options["region"] or "").upper(),
            encoding=options["encoding"],
            delimiter=options["delimiter"],
            sheet=options["sheet"],
            format=options["format"],
        )
        bar: Any = None

        def progress(done: int, total: int | None, rows: int) -> None:
            nonlocal bar
            if options["no_progress"]:
                return
            if bar is None:
                bar = tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    desc="Assessing",
                    file=self.stderr._out,
                    leave=False,
                )
            bar.n = done if total else rows
            bar.set_postfix_str(f"{rows:,} rows", refresh=False)
            bar.refresh()

        try:
            report = selectors.readiness_report(
                user=None,
                files=[(p, p.name) for p in paths],
                options=assess_options,
                check_existing=not options["no_overlap"],
                progress=progress,
            )
        except (OSError, ValueError) as exc:
            raise CommandError(f"The file cannot be read: {exc}") from None
        finally:
            if bar is not None:
                bar.close()
        if options["json"]:
            text = rendering.to_json(report)
            if options["json"] == "-":
                self.stdout.write(text, ending="")
            else:
                Path(options["json"]).write_text(text, encoding="utf-8")
                self.stderr.write(f"JSON report: {options['json']}")
        if options["html"]:
            Path(options["html"]).write_text(rendering.render_html(report), encoding="utf-8")
            self.stderr.write(f"HTML report: {options['html']}")
        if not options["json"] and not options["html"] or options["json"] not in (None, "-"):
            self._summary(report)

    def _summary(self, report: dict[str, Any]) -> None:
        for file in report["files"]:
            rows = file["rows"]
            self.stdout.write(
                f"{file['file']['name']}: {rows['records']:,} records · "
                f"{rows['would_import']:,} would import · {rows['quarantined']:,} quarantined · "
                f"{rows['with_flags']:,} with flagged values"
            )
            for column in file["columns"]:
                self.stdout.write(
                    f"  {column['name'][:28]:28} {column['type_label']:18} "
                    f"filled {100 * column['completeness']:5.1f}%  "
                    f"valid {100 * column['validity']:5.1f}%  "
                    f"distinct {'~' if not column['distinct']['exact'] else ''}"
                    f"{column['distinct']['count']:,}"
                )
            if file["attention"]:
                self.stdout.write("Needs attention:")
            for item in file["attention"]:
                self.stdout.write(f"  {SEVERITY_MARKS[item['severity']]} {item['title']}")
