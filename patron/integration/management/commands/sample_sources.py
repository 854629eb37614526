"""`patron sample_sources`: write messy sample source files for trying out the importer."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from patron.integration import samples


class Command(BaseCommand):
    help = (
        "Write sample exports of one population from three systems that disagree (billing.csv, "
        "webshop.jsonl, callcentre.tsv, callcentre.xlsx) with broken rows at known places, and "
        "manifest.json describing what an import should make of every record."
    )

    def add_arguments(self, parser):
        parser.add_argument("--out", type=Path, required=True, help="Directory to write into.")
        parser.add_argument(
            "--customers", type=int, default=200, help="People in the shared population."
        )
        parser.add_argument(
            "--seed", type=int, default=7, help="Random seed: the same seed gives the same files."
        )
        parser.add_argument(
            "--messy-rows",
            type=int,
            default=0,
            help="Also stream this many rows to messy.csv (the import benchmark file).",
        )

    def handle(self, *args, out, customers, seed, messy_rows, **options):
        try:
            sample = samples.generate_sources(out, customers=customers, seed=seed)
        except ValueError as error:
            raise CommandError(str(error)) from error
        for name, info in sample.files.items():
            self.stdout.write(
                f"{name:<18} {info.total_records:>6} records, "
                f"{info.expected_valid_rows:>6} valid, {info.distinct_keys:>6} distinct keys"
            )
        self.stdout.write(f"manifest.json      {sample.manifest_path}")
        if messy_rows:
            counts = samples.write_messy_csv(out / "messy.csv", messy_rows, seed=seed)
            self.stdout.write(
                f"messy.csv          {counts['rows']:,} rows, {counts['valid_rows']:,} valid, "
                f"{counts['rows'] / counts['seconds']:,.0f} rows/s"
            )
