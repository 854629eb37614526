"""`patron assess`: the text summary, the JSON and the standalone HTML report (inline SVG
charts, no scripts, nothing fetched), and several files in one report."""

from __future__ import annotations

import io
import json
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from patron.integration.samples import generate_sources
from patron.quality.assess import SCHEMA


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("samples")
    generate_sources(out, customers=60, seed=5)
    return out


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("assess", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.django_db
def test_summary_json_and_html(samples, tmp_path):
    json_path, html_path = tmp_path / "report.json", tmp_path / "report.html"
    stdout, stderr = run(
        str(samples / "billing.csv"),
        str(samples / "callcentre.xlsx"),
        "--json",
        str(json_path),
        "--html",
        str(html_path),
        "--no-progress",
    )
    report = json.loads(json_path.read_text())
    assert report["schema"] == SCHEMA
    assert [f["file"]["name"] for f in report["files"]] == ["billing.csv", "callcentre.xlsx"]
    assert report["files"][0]["overlap"]["checked"] is True  # the database was there
    billing = report["files"][0]
    assert stdout.startswith(
        f"billing.csv: {billing['rows']['records']} records · "
        f"{billing['rows']['would_import']} would import"
    )
    assert "Needs attention:" in stdout
    assert "!! 2 rows have the wrong number of fields" in stdout
    assert f"JSON report: {json_path}" in stderr

    html = html_path.read_text()
    assert html.startswith("<!doctype html>")
    assert "<script" not in html
    assert not re.search(r"(src|href)=\"https?://", html)  # nothing fetched from elsewhere
    assert html.count("<svg") >= 2 * len(billing["columns"])
    assert "billing.csv" in html and "callcentre.xlsx" in html
    assert "Needs attention" in html
    assert billing["attention"][0]["title"] in html
    assert 'class="seg-bad"' in html  # quarantined rows drawn in the records bar


@pytest.mark.django_db
def test_json_to_stdout_with_reading_options(samples):
    stdout, _ = run(
        str(samples / "billing.csv"),
        "--json",
        "-",
        "--encoding",
        "cp1252",
        "--delimiter",
        ";",
        "--region",
        "de",
        "--no-overlap",
        "--no-progress",
    )
    report = json.loads(stdout)
    assert report["settings"]["region"] == "DE"
    assert report["files"][0]["overlap"] == {"checked": False}
    assert report["files"][0]["file"]["delimiter"] == ";"


@pytest.mark.django_db
def test_tab_delimiter_and_sheet(samples):
    stdout, _ = run(
        str(samples / "callcentre.tsv"), "--json", "-", "--delimiter", "\\t", "--no-progress"
    )
    assert json.loads(stdout)["files"][0]["file"]["delimiter"] == "\t"
    stdout, _ = run(
        str(samples / "callcentre.xlsx"), "--json", "-", "--sheet", "Summary", "--no-progress"
    )
    assert json.loads(stdout)["files"][0]["file"]["sheet"] == "Summary"


def test_missing_file(tmp_path):
    with pytest.raises(CommandError, match="No file"):
        run(str(tmp_path / "nope.csv"))
