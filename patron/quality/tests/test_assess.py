"""The readiness report on the sample source systems (ground truth in their manifest), its JSON
structure, the overlap with customers already in Patron through the permission chokepoint,
that it writes nothing, and that a large file is read in constant memory."""

from __future__ import annotations

import csv
import json
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from patron.customers.models import Contact, EmailAddress, PhoneNumber
from patron.integration.samples import generate_sources, write_messy_csv
from patron.quality import selectors
from patron.quality.assess import SCHEMA, AssessOptions, assess, assess_file

SAMPLE_FILES = ["billing.csv", "webshop.jsonl", "callcentre.tsv", "callcentre.xlsx"]


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("samples")
    generate_sources(out, customers=80, seed=11)
    return out, json.loads((out / "manifest.json").read_text())


def options_for(manifest_file: dict[str, Any]) -> AssessOptions:
    """The phone country the sample system's source would have (the call centre's is DE)."""
    return AssessOptions(region=manifest_file.get("default_phone_region") or "")


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_quarantine_counts_and_lines_match_the_manifest(samples, name):
    out, manifest = samples
    expected = manifest["files"][name]
    records = expected["records"]
    report = assess_file(out / name, options=options_for(expected))

    reasons = Counter(r["quarantine"] for r in records if r["quarantine"])
    assert {q["reason"]: q["count"] for q in report["quarantine"]} == dict(reasons)
    for entry in report["quarantine"]:
        lines = sorted(r["line"] for r in records if r["quarantine"] == entry["reason"])
        assert sorted(e["line"] for e in entry["examples"]) == lines[:5]
    assert report["rows"]["records"] == expected["total_records"]
    assert report["rows"]["would_import"] == expected["expected_valid_rows"]
    assert report["rows"]["quarantined"] == sum(reasons.values())


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_duplicate_keys_are_found(samples, name):
    out, manifest = samples
    expected = manifest["files"][name]
    report = assess_file(out / name, options=options_for(expected))
    repeats = [r["line"] for r in expected["records"] if "duplicate_key" in r["tags"]]
    keys = {k["key"]: k for k in report["duplicates"]["keys"]}
    assert report["duplicates"]["exact"] is True
    assert keys["source_key"]["repeats"] == len(repeats) == 1
    assert keys["source_key"]["clusters"] == 1
    assert [e["line"] for e in keys["source_key"]["examples"]] == repeats
    assert any(a["code"] == "duplicates.source_key" for a in report["attention"])


@pytest.mark.parametrize("name", SAMPLE_FILES)
def test_invalid_values_are_the_ones_the_import_flags(samples, name):
    """Every column's invalid count is the number of values the manifest says the importer
    flags in it: the report judges values with the importer's own parsers."""
    out, manifest = samples
    expected = manifest["files"][name]
    report = assess_file(out / name, options=options_for(expected))
    flagged = Counter(column for r in expected["records"] for column, _ in r["flags"])
    columns = {c["name"]: c for c in report["columns"]}
    for column, count in flagged.items():
        assert columns[column]["invalid"] == count, column
        assert len(columns[column]["problems"]) == count, column
    for column in set(columns) - set(flagged):
        if columns[column]["type"] in ("email", "phone", "date", "number", "country"):
            assert columns[column]["invalid"] == 0, column


def test_forecast_flags_follow_the_suggested_mapping(samples):
    out, manifest = samples
    billing = assess_file(out / "billing.csv")
    flags = {(f["column"], f["code"]): f["count"] for f in billing["flags"]}
    expected = Counter(
        tuple(flag) for r in manifest["files"]["billing.csv"]["records"] for flag in r["flags"]
    )
    mapped = {m["column"] for m in billing["mapping"] if m["target"]}
    assert flags == {flag: n for flag, n in expected.items() if flag[0] in mapped}
    # The billing export's semicolons, encoding and "Last, First" names are read as the
    # import screen would read them.
    assert billing["file"]["encoding"] == "cp1252"
    assert billing["file"]["delimiter"] == ";"
    name = next(m for m in billing["mapping"] if m["column"] == "customer_name")
    assert (name["target"], name["transform"]) == ("contact.full_name", "last_first")


def test_the_suggested_date_format_reads_past_a_broken_date(samples):
    """The call centre writes 12/31/2024; one broken 13/45/1990 among the first rows does not
    tip the suggestion to day-first: the values decide by majority."""
    out, manifest = samples
    expected = manifest["files"]["callcentre.tsv"]
    report = assess_file(out / "callcentre.tsv", options=options_for(expected))
    dob = next(c for c in report["columns"] if c["name"] == "Date of Birth")
    assert dob["mapping"]["options"] == {"format": "%m/%d/%Y"}
    assert dob["details"]["format"] == "%m/%d/%Y"
    assert dob["invalid"] == 1
    assert not [i for i in report["attention"] if i["code"] == "dates.format"]


def test_a_wrong_suggested_date_format_is_called_out(tmp_path):
    """The import screen suggests from the first 50 rows; when those cannot tell day-first
    from month-first but later ones can, the report reads every value and says so first."""
    lines = ["id,name,date_of_birth"]
    lines += [f"{i},Person {i},0{1 + i % 9}/0{1 + i % 8}/1980" for i in range(60)]
    lines += [f"{i},Person {i},2{i % 8}/0{1 + i % 9}/1981" for i in range(60, 100)]
    path = tmp_path / "people.csv"
    path.write_text("\n".join(lines) + "\n")
    report = assess_file(path)
    born = next(c for c in report["columns"] if c["name"] == "date_of_birth")
    assert born["mapping"]["options"] == {"format": "%m/%d/%Y"}
    assert born["details"]["format"] == "%d/%m/%Y"
    item = report["attention"][0]
    assert item["code"] == "dates.format"
    assert item["count"] == 40
    assert item["title"] == (
        "40 dates in 'date_of_birth' would be flagged with the suggested format 12/31/2024"
    )


def test_json_structure(samples, tmp_path):
    out, _ = samples
    report = assess([(out / name, name) for name in SAMPLE_FILES])
    assert json.loads(json.dumps(report)) == report
    assert report["schema"] == SCHEMA
    assert set(report) == {
        "schema", "generated_at", "settings", "summary", "files", "writes_nothing",
    }  # fmt: skip
    assert report["writes_nothing"] is True
    assert report["summary"]["files"] == 4
    assert report["summary"]["records"] == sum(f["rows"]["records"] for f in report["files"])
    file = report["files"][0]
    assert set(file) == {
        "file", "rows", "quarantine", "columns", "mapping", "flags", "contact_points",
        "duplicates", "overlap", "attention",
    }  # fmt: skip
    assert set(file["file"]) == {
        "name", "size", "format", "format_label", "encoding", "delimiter", "sheet", "sheets",
    }  # fmt: skip
    assert set(file["rows"]) == {"records", "readable", "quarantined", "would_import", "with_flags"}
    column = file["columns"][0]
    assert set(column) == {
        "name", "position", "type", "type_label", "rows", "filled", "empty", "completeness",
        "valid", "invalid", "validity", "distinct", "formats", "format_count", "length",
        "placeholders", "misdecoded", "problems", "top_values", "details", "mapping",
    }  # fmt: skip
    assert set(file["duplicates"]) == {"exact", "one_key_in", "keys", "rows_repeating_a_person"}
    assert set(file["duplicates"]["keys"][0]) == {
        "key", "label", "keys", "rows", "rows_sharing", "clusters", "pairs", "repeats",
        "examples",
    }  # fmt: skip
    assert file["overlap"] == {"checked": False}
    for each in report["files"]:  # legitimately Windows-1252, UTF-8 and UTF-16: read right
        assert not any(a["code"] == "encoding.misdecoded" for a in each["attention"])
    for item in file["attention"]:
        assert set(item) == {"code", "severity", "count", "share", "title", "detail", "column"}
        assert item["severity"] in ("high", "medium", "low")
    severities = [item["severity"] for item in file["attention"]]
    assert severities == sorted(severities, key=["high", "medium", "low"].index)
    xlsx = report["files"][3]["file"]
    assert (xlsx["format"], xlsx["sheet"], xlsx["sheets"]) == (
        "xlsx",
        "Calls",
        ["Summary", "Calls"],
    )


def _billing_emails(path: Path) -> list[str]:
    with path.open(encoding="cp1252", errors="replace", newline="") as fh:
        return [row["email"].strip().lower() for row in csv.DictReader(fh, delimiter=";")]


def _table_counts() -> dict[str, int]:
    return {m._meta.db_table: m._default_manager.count() for m in apps.get_models()}


@pytest.mark.django_db
def test_overlap_with_customers_the_user_may_see_and_nothing_written(
    samples, admin_user, readonly_user, set_visibility
):
    out, manifest = samples
    emails = [e for e in _billing_emails(out / "billing.csv") if e.count("@") == 1][:3]
    for email in emails:
        contact = Contact.objects.create(first_name="Known", last_name=email, owner=admin_user)
        EmailAddress.objects.create(contact=contact, email=email.upper(), is_primary=True)
    phone_owner = Contact.objects.create(first_name="Phone", last_name="Only", owner=admin_user)
    PhoneNumber.objects.create(contact=phone_owner, number="x", e164="+4930000000")
    set_visibility("private")
    before = _table_counts()

    with CaptureQueriesContext(connection) as queries:
        report = selectors.readiness_report(
            user=admin_user,
            files=[(out / name, name) for name in SAMPLE_FILES],
            options=AssessOptions(),
        )
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "CREATE", "DROP"))
    ]
    assert writes == []
    assert _table_counts() == before
    billing = report["files"][0]["overlap"]
    assert billing["checked"] is True
    assert billing["rows_matching_email"] == 3
    assert billing["rows_matching"] == 3
    assert report["settings"]["overlap_scope"] == "visible"
    assert any(a["code"] == "overlap.existing" for a in report["files"][0]["attention"])

    # A read-only user outside the owner's team sees none of these customers: no overlap.
    readonly_user.role.permissions = [*readonly_user.role.permissions, "source.view"]
    readonly_user.role.save()
    hidden = selectors.readiness_report(
        user=readonly_user, files=[(out / "billing.csv", "billing.csv")], options=AssessOptions()
    )
    assert hidden["files"][0]["overlap"]["rows_matching"] == 0


@pytest.mark.django_db
def test_a_role_without_source_view_may_not_assess(samples, rep_north):
    out, _ = samples
    with pytest.raises(Exception, match="source.view"):
        selectors.readiness_report(
            user=rep_north, files=[(out / "billing.csv", "billing.csv")], options=AssessOptions()
        )


def test_constant_memory_on_a_large_file(tmp_path):
    """200,000 messy rows (28 MB): the report's structures are bounded, so the peak of memory
    allocated while reading the whole file stays a fraction of its size (about 5 MB)."""
    path = tmp_path / "messy.csv"
    counts = write_messy_csv(path, 200_000)
    assess_file(_small_copy(path, tmp_path))
    tracemalloc.start()
    try:
        report = assess_file(path, options=AssessOptions(encoding="utf-8"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < counts["bytes"] / 4, (peak, counts["bytes"])
    assert report["rows"]["records"] == 200_000
    reasons = {q["reason"]: q["count"] for q in report["quarantine"]}
    assert reasons == counts["quarantined"]
    assert report["duplicates"]["exact"] is False  # more keys than the table holds: sampled
    source_key = next(k for k in report["duplicates"]["keys"] if k["key"] == "source_key")
    assert abs(source_key["repeats"] - counts["duplicate_keys"]) < 0.5 * counts["duplicate_keys"]


def _small_copy(path: Path, tmp_path: Path) -> Path:
    """The first lines of `path`: one small pass loads the parsers' own tables (country
    names, phone metadata) before memory is measured."""
    small = tmp_path / "small.csv"
    with path.open("rb") as source:
        small.write_bytes(b"".join(line for _, line in zip(range(200), source, strict=False)))
    return small
