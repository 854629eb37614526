"""The sample sources hold exactly what their manifest promises, so importer tests can trust it."""

import csv
import datetime as dt
import io
import json
import re
import time
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import phonenumbers
import pytest
from django.core.management import call_command
from email_validator import EmailNotValidError, validate_email

from patron.integration.samples import (
    BILLING_COUNTRY_NAMES,
    BILLING_HEADER,
    CALLCENTRE_HEADER,
    COUNTRY_LABELS,
    EXCEL_EPOCH,
    MESSY_BROKEN_KINDS,
    MESSY_HEADER,
    generate_sources,
    write_messy_csv,
)

CUSTOMERS = 200
BILLING_COUNTRIES = {name: code for code, name in BILLING_COUNTRY_NAMES.items()}


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return generate_sources(tmp_path_factory.mktemp("sources"), customers=CUSTOMERS, seed=7)


@pytest.fixture(scope="module")
def manifest(sample):
    return json.loads(sample.manifest_path.read_text(encoding="utf-8"))


def _bad_email(value: str) -> bool:
    try:
        validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError:
        return True
    return False


def _bad_phone(value: str, region: str | None) -> bool:
    try:
        return not phonenumbers.is_valid_number(phonenumbers.parse(value, region))
    except phonenumbers.NumberParseException:
        return True


def _bad_date(value: str, *formats: str) -> bool:
    for fmt in formats:
        try:
            dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
        return False
    return True


def _e164(value: str, region: str | None) -> str:
    parsed = phonenumbers.parse(value, region)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _decoded(path: Path, info: dict) -> str:
    """The file's text; the deliberately undecodable bytes become lone surrogates."""
    raw = path.read_bytes()
    if info["bom"]:
        assert raw.startswith(b"\xff\xfe")
    return raw.decode(info["encoding"], "surrogateescape")


def _parsed(path: Path, info: dict) -> tuple[list[int], list[list[str]]]:
    """Each record's first physical line (as csv.reader counts them) and its fields."""
    text = _decoded(path, info)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=info["delimiter"])
    assert next(reader) == info["header"]
    starts, rows, previous = [], [], reader.line_num
    for row in reader:
        starts.append(previous + 1)
        rows.append(row)
        previous = reader.line_num
    return starts, rows


def _records(info: dict, *, quarantined: bool | None = None) -> list[dict]:
    return [
        r
        for r in info["records"]
        if quarantined is None or (r["quarantine"] is not None) == quarantined
    ]


def test_manifest_is_the_sample_set(sample, manifest):
    assert manifest == sample.to_json()
    assert set(manifest) == {"seed", "customers", "files", "people"}
    assert (manifest["seed"], manifest["customers"]) == (7, CUSTOMERS)
    assert list(manifest["files"]) == [
        "billing.csv",
        "webshop.jsonl",
        "callcentre.tsv",
        "callcentre.xlsx",
    ]
    for name, info in manifest["files"].items():
        assert (sample.out_dir / info["path"]).is_file()
        assert info["path"] == name
        assert info["total_records"] == len(info["records"])
        assert info["expected_valid_rows"] == len(_records(info, quarantined=False))
        valid_keys = [r["source_key"] for r in _records(info, quarantined=False)]
        assert info["distinct_keys"] == len(set(valid_keys)) == len(valid_keys) - 1
        assert None not in valid_keys
        for record in info["records"]:
            assert set(record) == {"line", "source_key", "person_id", "quarantine", "flags", "tags"}


def test_billing_is_cp1252_with_semicolons_and_crlf(sample, manifest):
    info = manifest["files"]["billing.csv"]
    assert (info["encoding"], info["delimiter"], info["line_terminator"]) == ("cp1252", ";", "\r\n")
    raw = (sample.out_dir / "billing.csv").read_bytes()
    assert raw.startswith((";".join(BILLING_HEADER) + "\r\n").encode())
    assert raw.count(b"\r\n") == info["total_records"] + 1  # line breaks inside fields are bare
    with pytest.raises(UnicodeDecodeError):
        raw.decode("cp1252")
    (undecodable,) = [r["line"] for r in info["records"] if r["quarantine"] == "undecodable"]
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if number == undecodable:
            assert b"\x81" in line
            with pytest.raises(UnicodeDecodeError):
                line.decode("cp1252")
        else:
            line.decode("cp1252")


def test_callcentre_tsv_is_utf16_with_bom_and_tabs(sample, manifest):
    info = manifest["files"]["callcentre.tsv"]
    assert (info["encoding"], info["bom"], info["delimiter"]) == ("utf-16", True, "\t")
    raw = (sample.out_dir / "callcentre.tsv").read_bytes()
    assert raw[:2] == b"\xff\xfe"
    text = raw.decode("utf-16")
    assert text.startswith("\t".join(CALLCENTRE_HEADER) + "\r\n")
    assert CALLCENTRE_HEADER[0] == "Caller ID" and CALLCENTRE_HEADER[-1] == "Agent Notes"
    assert text.count("\r\n") == info["total_records"] + 1


@pytest.mark.parametrize("name", ["billing.csv", "callcentre.tsv"])
def test_delimited_records_start_on_their_manifest_lines(sample, manifest, name):
    info = manifest["files"][name]
    path = sample.out_dir / name
    starts, rows = _parsed(path, info)
    physical = _decoded(path, info).split("\n")
    assert starts == [r["line"] for r in info["records"]]
    assert len(rows) == info["total_records"]
    assert max(starts) > len(rows) + 1  # quoted line breaks: lines and records differ
    for record, row in zip(info["records"], rows, strict=True):
        line = physical[record["line"] - 1]
        if record["source_key"] is None:
            assert row[0] == ""
            assert line.startswith(info["delimiter"])
        else:
            assert row[0] == record["source_key"]
            assert line.startswith(record["source_key"] + info["delimiter"])
        ragged = len(row) != len(info["header"])
        assert ragged == (record["quarantine"] == "ragged")


def test_webshop_lines_are_json_objects_except_the_broken_ones(sample, manifest):
    info = manifest["files"]["webshop.jsonl"]
    text = (sample.out_dir / "webshop.jsonl").read_bytes().decode("utf-8")
    lines = text.split("\n")
    assert lines.pop() == ""
    assert [r["line"] for r in info["records"]] == list(range(1, len(lines) + 1))
    for record in info["records"]:
        line = lines[record["line"] - 1]
        if record["quarantine"] == "invalid_json":
            try:
                parsed = json.loads(line)
            except json.JSONDecodeError:
                parsed = None
            assert not isinstance(parsed, dict)
            continue
        obj = json.loads(line)
        assert (obj["id"] or None) == record["source_key"]
        if record["source_key"]:
            assert f'"id": "{record["source_key"]}"' in line


def test_xlsx_has_a_summary_sheet_then_the_calls_with_real_dates(sample, manifest):
    info = manifest["files"]["callcentre.xlsx"]
    tsv = manifest["files"]["callcentre.tsv"]
    assert (info["sheet"], info["sheets"]) == ("Calls", ["Summary", "Calls"])
    workbook = openpyxl.load_workbook(sample.out_dir / "callcentre.xlsx")
    assert workbook.sheetnames == ["Summary", "Calls"]
    assert workbook["Summary"]["A1"].value == "Call centre export"
    sheet = workbook["Calls"]
    # The ragged row's extra cell widens the sheet by a column without a header.
    assert [c.value for c in sheet[1]] == [*CALLCENTRE_HEADER, None]
    assert sheet.max_row == info["total_records"] + 1
    _, tsv_rows = _parsed(sample.out_dir / "callcentre.tsv", tsv)
    for record, tsv_record, tsv_row in zip(info["records"], tsv["records"], tsv_rows, strict=True):
        assert record["line"] == tsv["records"].index(tsv_record) + 2
        assert (record["source_key"], record["person_id"], record["flags"]) == (
            tsv_record["source_key"],
            tsv_record["person_id"],
            tsv_record["flags"],
        )
        cells = sheet[record["line"]]
        key = cells[0].value
        assert key is None if record["source_key"] is None else key == int(record["source_key"])
        last_call = cells[4].value
        if last_call is not None:
            assert isinstance(last_call, dt.datetime) and cells[4].is_date
            assert last_call.strftime("%m/%d/%Y %H:%M") == tsv_row[4]
        born = cells[3]
        if "serial_date" in record["tags"]:
            assert isinstance(born.value, int) and born.number_format == "General"
            assert (EXCEL_EPOCH + dt.timedelta(days=born.value)).strftime("%m/%d/%Y") == tsv_row[3]
        elif isinstance(born.value, dt.datetime):
            assert born.is_date and born.value.strftime("%m/%d/%Y") == tsv_row[3]
        if "short_row" in record["tags"]:
            assert tsv_record["quarantine"] == "ragged" and record["quarantine"] is None
        else:
            assert record["quarantine"] == tsv_record["quarantine"]
    assert sum(isinstance(c.value, dt.datetime) for c in sheet["D"]) > info["total_records"] / 2
    assert [r["tags"].count("serial_date") for r in info["records"]].count(1) == 1


def test_formula_text_stays_text(sample, manifest):
    sheet = openpyxl.load_workbook(sample.out_dir / "callcentre.xlsx")["Calls"]
    (line,) = [r["line"] for r in manifest["files"]["callcentre.xlsx"]["records"]
               if "formula_text" in r["tags"]]  # fmt: skip
    cell = sheet.cell(row=line, column=6)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK(")
    with zipfile.ZipFile(sample.out_dir / "callcentre.xlsx") as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/")]
        assert sheets and all("<f>" not in archive.read(n).decode() for n in sheets)
    tsv_text = (sample.out_dir / "callcentre.tsv").read_bytes().decode("utf-16")
    assert '\t"=HYPERLINK(""https://refund.example/claim""' in tsv_text
    assert "=cmd|' /C calc'!A0" in (sample.out_dir / "webshop.jsonl").read_text("utf-8")


def test_every_broken_kind_is_present(manifest):
    expected = {
        "billing.csv": (
            {"ragged", "undecodable", "no_name", "no_key"},
            {"invalid_email", "invalid_phone", "invalid_date", "invalid_number"},
        ),
        "webshop.jsonl": (
            {"invalid_json", "no_name", "no_key"},
            {"invalid_email", "invalid_phone", "invalid_date", "invalid_number"},
        ),
        "callcentre.tsv": ({"ragged", "no_name", "no_key"}, {"invalid_phone", "invalid_date"}),
        "callcentre.xlsx": ({"ragged", "no_name", "no_key"}, {"invalid_phone", "invalid_date"}),
    }
    for name, (reasons, codes) in expected.items():
        records = manifest["files"][name]["records"]
        assert {r["quarantine"] for r in records} - {None} == reasons
        assert {code for r in records for _, code in r["flags"]} == codes
        tags = Counter(t for r in records for t in r["tags"])
        assert tags["duplicate_key"] == tags["superseded"] == 1
        (superseded,) = [r for r in records if "superseded" in r["tags"]]
        (later,) = [r for r in records if "duplicate_key" in r["tags"]]
        assert superseded["source_key"] == later["source_key"]
        assert superseded["line"] < later["line"]
    billing = manifest["files"]["billing.csv"]["records"]
    assert {"ragged_short", "ragged_long", "multiline", "street_semicolon"} <= {
        t for r in billing for t in r["tags"]
    }
    assert [len(r["flags"]) for r in billing].count(2) == 1  # one row with two bad values
    webshop = manifest["files"]["webshop.jsonl"]["records"]
    assert {"not_an_object", "truncated", "formula_text"} <= {t for r in webshop for t in r["tags"]}


def test_billing_flags_are_exactly_the_bad_values(sample, manifest):
    info = manifest["files"]["billing.csv"]
    people = {p.person_id: p for p in sample.people}
    _, rows = _parsed(sample.out_dir / "billing.csv", info)
    for record, row in zip(info["records"], rows, strict=True):
        if record["quarantine"] is not None:
            continue
        values = dict(zip(BILLING_HEADER, (v.strip() for v in row), strict=True))
        region = BILLING_COUNTRIES[values["country"]]
        bad = {
            ("email", "invalid_email"): values["email"] and _bad_email(values["email"]),
            ("phone", "invalid_phone"): values["phone"] and _bad_phone(values["phone"], region),
            ("customer_since", "invalid_date"): _bad_date(values["customer_since"], "%d.%m.%Y"),
            ("credit_limit", "invalid_number"): not re.fullmatch(
                r"\d{1,3}(\.\d{3})*,\d\d", values["credit_limit"]
            ),
        }
        assert sorted(flag for flag, is_bad in bad.items() if is_bad) == sorted(
            tuple(f) for f in record["flags"]
        )
        person = people[record["person_id"]]
        assert values["customer_name"].casefold().startswith(person.last_name.casefold() + ", ")
        assert values["vip"] in {"J", "N"} and region == person.country
        if values["phone"] and ("phone", "invalid_phone") not in map(tuple, record["flags"]):
            assert _e164(values["phone"], region) == person.phone_e164


def test_webshop_flags_are_exactly_the_bad_values(sample, manifest):
    info = manifest["files"]["webshop.jsonl"]
    people = {p.person_id: p for p in sample.people}
    lines = (sample.out_dir / "webshop.jsonl").read_text("utf-8").split("\n")
    for record in _records(info, quarantined=False):
        obj = json.loads(lines[record["line"] - 1])
        email, phone, total = obj["customer"]["email"], obj["phone"], obj["orders_total"]
        try:
            dt.datetime.fromisoformat(obj["created_at"])
            bad_date = False
        except ValueError:
            bad_date = True
        bad = {
            ("customer.email", "invalid_email"): _bad_email(email),
            ("phone", "invalid_phone"): phone is not None and _bad_phone(phone, None),
            ("created_at", "invalid_date"): bad_date,
            ("orders_total", "invalid_number"): isinstance(total, str),
        }
        assert sorted(flag for flag, is_bad in bad.items() if is_bad) == sorted(
            tuple(f) for f in record["flags"]
        )
        person = people[record["person_id"]]
        assert obj["address"]["country_code"] == person.country
        if phone and not bad[("phone", "invalid_phone")]:
            assert _e164(phone, None) == person.phone_e164
        if "email_case" in record["tags"]:
            assert email != person.email and email.casefold() == person.email.casefold()


def test_callcentre_flags_are_exactly_the_bad_values(sample, manifest):
    info = manifest["files"]["callcentre.tsv"]
    people = {p.person_id: p for p in sample.people}
    _, rows = _parsed(sample.out_dir / "callcentre.tsv", info)
    for record, row in zip(info["records"], rows, strict=True):
        if record["quarantine"] is not None:
            continue
        key, name, phone, born, last_call, _notes = row
        bad = {
            ("Telephone", "invalid_phone"): phone and _bad_phone(phone, "DE"),
            ("Date of Birth", "invalid_date"): born and _bad_date(born, "%m/%d/%Y"),
        }
        assert sorted(flag for flag, is_bad in bad.items() if is_bad) == sorted(
            tuple(f) for f in record["flags"]
        )
        assert not _bad_date(last_call, "%m/%d/%Y %H:%M")
        person = people[record["person_id"]]
        assert name.endswith(person.last_name) and person.first_name in name
        if phone and not bad[("Telephone", "invalid_phone")]:
            assert _e164(phone, "DE") == (person.mobile_e164 or person.phone_e164)


def test_sources_overlap_and_disagree(sample, manifest):
    people = {p.person_id: p for p in sample.people}
    assert len(people) == CUSTOMERS
    known: dict[str, set[str]] = {}
    for name in ("billing.csv", "webshop.jsonl", "callcentre.tsv"):
        info = manifest["files"][name]
        ids = {r["person_id"] for r in info["records"]} - {None}
        assert ids <= set(people)
        assert 0.55 * CUSTOMERS <= len(ids) <= 0.85 * CUSTOMERS
        known[info["source"]] = ids
    per_person = Counter(pid for ids in known.values() for pid in ids)
    assert set(per_person) == set(people)
    assert sum(1 for n in per_person.values() if n >= 2) > CUSTOMERS / 2
    assert sum(1 for n in per_person.values() if n == 3) > CUSTOMERS / 5
    webshop = manifest["files"]["webshop.jsonl"]["records"]
    webshop_tags = Counter(t for r in webshop for t in r["tags"])
    assert webshop_tags["email_case"] and webshop_tags["email_differs"]
    assert webshop_tags["address_differs"] and webshop_tags["name_folded"]


def test_names_are_international(sample, manifest):
    names = [f"{p.first_name} {p.last_name}" for p in sample.people]
    assert any(not n.isascii() for n in names)
    assert any("'" in n for n in names) and any("-" in n for n in names)
    assert sum(1 for p in sample.people if p.company) > CUSTOMERS / 5
    assert {p.country for p in sample.people} == {"DE", "GB", "FR", "US"}
    assert any(p.title for p in sample.people) and any(p.middle_name for p in sample.people)
    billed = {r["person_id"] for r in manifest["files"]["billing.csv"]["records"]}
    beyond = [p for p in sample.people if not _encodable(f"{p.first_name} {p.last_name}")]
    assert beyond and not billed & {p.person_id for p in beyond}


def _encodable(text: str) -> bool:
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def test_the_same_seed_writes_the_same_files(tmp_path):
    first = generate_sources(tmp_path / "a", customers=40, seed=3)
    second = generate_sources(tmp_path / "b", customers=40, seed=3)
    other = generate_sources(tmp_path / "c", customers=40, seed=4)
    for name in ("billing.csv", "webshop.jsonl", "callcentre.tsv", "manifest.json"):
        assert (first.out_dir / name).read_bytes() == (second.out_dir / name).read_bytes()
        assert (first.out_dir / name).read_bytes() != (other.out_dir / name).read_bytes()

    def cells(sample):
        workbook = openpyxl.load_workbook(sample.out_dir / "callcentre.xlsx")
        return [[c.value for row in ws.iter_rows() for c in row] for ws in workbook]

    assert cells(first) == cells(second) != cells(other)


def test_too_few_customers_are_refused(tmp_path):
    with pytest.raises(ValueError, match="at least 40"):
        generate_sources(tmp_path, customers=10)


def _messy_counts(path: Path) -> tuple[int, Counter]:
    """Count the broken rows of a messy CSV by reading it, independently of the writer."""
    text = path.read_bytes().decode("utf-8", "surrogateescape")
    reader = csv.reader(io.StringIO(text, newline=""))
    assert next(reader) == MESSY_HEADER
    found: Counter = Counter()
    seen: set[str] = set()
    rows = 0
    for row in reader:
        rows += 1
        if len(row) == 9:
            found["ragged_short"] += 1
        elif len(row) == 13:
            found["ragged_long"] += 1
        elif not row[1] and not row[2]:
            found["no_name"] += 1
        elif not row[0]:
            found["no_key"] += 1
        elif any("\udc80" <= ch <= "\udcff" for ch in row[1]):
            found["undecodable"] += 1
        else:
            region = COUNTRY_LABELS[row[8]]
            found["invalid_email"] += _bad_email(row[3])
            found["invalid_phone"] += bool(row[4]) and _bad_phone(row[4], region)
            found["invalid_date"] += bool(row[9]) and _bad_date(row[9], "%Y-%m-%d", "%d.%m.%Y")
            found["duplicate_key"] += row[0] in seen
            seen.add(row[0])
    return rows, found


def test_messy_csv_has_the_declared_counts_and_is_fast(tmp_path):
    path = tmp_path / "messy.csv"
    started = time.perf_counter()
    counts = write_messy_csv(path, 10_000, seed=1, broken_every=50)
    assert time.perf_counter() - started < 3
    per_kind = {kind: 23 if i < 2 else 22 for i, kind in enumerate(MESSY_BROKEN_KINDS)}
    assert counts["broken"] == per_kind  # 200 broken rows, the kinds in turn
    assert counts["quarantined"] == {"ragged": 46, "no_name": 22, "no_key": 22, "undecodable": 22}
    assert counts["flagged"] == {"invalid_email": 22, "invalid_phone": 22, "invalid_date": 22}
    assert counts["duplicate_keys"] == 22
    assert counts["rows"] == 10_000
    assert counts["valid_rows"] == 10_000 - 112
    assert counts["distinct_keys"] == 10_000 - 112 - 22
    assert counts["bytes"] == path.stat().st_size
    rows, found = _messy_counts(path)
    assert rows == 10_000
    assert {k: v for k, v in found.items() if v} == per_kind
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")


def test_messy_csv_is_deterministic_and_small_runs_work(tmp_path):
    a = write_messy_csv(tmp_path / "a.csv", 1000, seed=5)
    b = write_messy_csv(tmp_path / "b.csv", 1000, seed=5)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert a["rows"] == 1000 and sum(a["broken"].values()) == 20
    assert {k: v for k, v in a.items() if k != "seconds" and k != "path"} == {
        k: v for k, v in b.items() if k != "seconds" and k != "path"
    }
    clean = write_messy_csv(tmp_path / "clean.csv", 1000, seed=5, broken_every=0)
    assert clean["valid_rows"] == clean["distinct_keys"] == 1000
    assert _messy_counts(tmp_path / "clean.csv") == (1000, Counter())
    with pytest.raises(ValueError):
        write_messy_csv(tmp_path / "x.csv", 10, broken_every=1)


def test_sample_sources_command(tmp_path):
    out = io.StringIO()
    call_command(
        "sample_sources", "--out", str(tmp_path), "--customers", "40", "--messy-rows", "500",
        stdout=out,
    )  # fmt: skip
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["customers"] == 40
    assert (tmp_path / "messy.csv").is_file()
    assert "billing.csv" in out.getvalue()
