"""Column profiles on small crafted files: every figure exact (completeness, validity, type,
formats, examples with their line), dates told apart (31.12.2024, 12/31/2024, ambiguous,
mixed, Excel numbers), decimal commas, phones with and without a country.

No database: the engine reads files only, so these tests run without one (any query would
fail them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from patron.quality.assess import AssessOptions, assess_file
from patron.quality.columns import shape


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def columns(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["columns"]}


def attention(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{a['code']}:{a['column']}": a for a in report["attention"]}


CUSTOMERS = (
    "id;name;email;phone;dob;amount;country;note\r\n"
    "1;Anna Müller;anna@example.com;+49 30 1234567;31.12.1980;1.234,56;Deutschland;\r\n"
    "2;Bob Smith;BOB@EXAMPLE.COM;030 1234568;01.02.1975;12,50;DE;hello\r\n"
    "3;Carla Jones;not-an-email;;15.07.1990;3,00;Germany;\r\n"
    "4;Dan Brown;;+44 20 7946 0018;;7;;n/a\r\n"
    "5;Eve Adams;eve@example.com;12;32.13.1999;abc;Atlantis;\r\n"
)


def test_profile_figures_are_exact(tmp_path):
    report = assess_file(write(tmp_path, "customers.csv", CUSTOMERS, "cp1252"))
    assert report["file"]["encoding"] == "cp1252"
    assert report["file"]["delimiter"] == ";"
    assert report["rows"] == {
        "records": 5,
        "readable": 5,
        "quarantined": 0,
        "would_import": 5,
        "with_flags": 2,
    }
    cols = columns(report)
    assert [c["type"] for c in report["columns"]] == [
        "identifier", "name", "email", "phone", "date", "number", "country", "text",
    ]  # fmt: skip

    email = cols["email"]
    assert (email["filled"], email["empty"], email["completeness"]) == (4, 1, 0.8)
    assert (email["valid"], email["invalid"], email["validity"]) == (3, 1, 0.75)
    assert email["problems"][0]["line"] == 4
    assert email["problems"][0]["value"] == "not-an-email"
    assert "not an email address" in email["problems"][0]["message"]
    assert email["details"] == {"not_lower_case": 1}
    assert email["distinct"] == {"count": 4, "exact": True}
    assert {f["pattern"]: f["count"] for f in email["formats"]} == {
        "a@a.a": 2,
        "A@A.A": 1,
        "a-a-a": 1,
    }

    phone = cols["phone"]
    # The national number is read in the row's country (DE), as the importer would.
    assert (phone["filled"], phone["valid"], phone["invalid"]) == (4, 3, 1)
    assert phone["problems"] == [
        {"line": 6, "value": "12", "message": "'12' is not a phone number."}
    ]
    assert phone["details"]["international"] == 2
    assert phone["details"]["national"] == 1
    assert phone["details"]["national_without_country"] == 0

    dob = cols["dob"]
    assert (dob["filled"], dob["valid"], dob["invalid"], dob["completeness"]) == (4, 3, 1, 0.8)
    assert dob["details"]["format"] == "%d.%m.%Y"
    assert dob["details"]["format_label"] == "31.12.2024"
    assert dob["formats"] == [{"pattern": "99.99.9999", "count": 4, "example": "31.12.1980"}]
    assert dob["problems"][0]["line"] == 6
    assert dob["problems"][0]["value"] == "32.13.1999"

    amount = cols["amount"]
    assert (amount["filled"], amount["valid"], amount["invalid"]) == (5, 4, 1)
    assert amount["details"] == {
        "convention": "comma",
        "decimal_comma": 3,
        "decimal_point": 0,
        "whole": 1,
        "ambiguous": 0,
    }

    country = cols["country"]
    assert (country["filled"], country["valid"], country["invalid"]) == (4, 3, 1)
    assert country["problems"][0]["value"] == "Atlantis"

    note = cols["note"]
    assert note["placeholders"] == [{"value": "n/a", "count": 1}]
    assert (note["filled"], note["empty"]) == (2, 3)
    assert cols["name"]["mapping"]["target"] == "contact.full_name"


def test_import_forecast_uses_the_suggested_mapping(tmp_path):
    report = assess_file(write(tmp_path, "customers.csv", CUSTOMERS, "cp1252"))
    flags = {(f["column"], f["code"]): f["count"] for f in report["flags"]}
    assert flags == {
        ("email", "invalid_email"): 1,
        ("phone", "invalid_phone"): 1,
        ("dob", "invalid_date"): 1,
        ("country", "invalid_country"): 1,
    }
    # The amount column is not mapped (nothing to map it to): its decimal comma is a hint.
    hint = attention(report)["numbers.decimal_comma:amount"]
    assert hint["severity"] == "low"
    assert hint["count"] == 3
    # Line 4's only contact point is an invalid email.
    assert report["contact_points"]["rows_without_email_or_phone"] == 1
    assert report["contact_points"]["examples"] == [4]


def test_ambiguous_dates(tmp_path):
    path = write(tmp_path, "a.csv", "id,name,born\n1,A B,01/02/1980\n2,C D,03/04/1981\n")
    report = assess_file(path)
    born = columns(report)["born"]
    assert born["type"] == "date"
    assert born["details"]["day_month"] == {"day_first_only": 0, "month_first_only": 0, "either": 2}
    item = attention(report)["dates.ambiguous:born"]
    assert item["severity"] == "high"
    assert item["count"] == 2
    assert item["title"] == "Dates in 'born' are ambiguous: dd/mm or mm/dd"


def test_month_first_dates_are_told_by_the_values(tmp_path):
    text = "id,name,born\n1,A B,01/02/1980\n2,C D,12/31/1981\n3,E F,13/45/1990\n"
    born = columns(assess_file(write(tmp_path, "m.csv", text)))["born"]
    assert born["details"]["format"] == "%m/%d/%Y"
    assert born["details"]["day_month"] == {"day_first_only": 0, "month_first_only": 1, "either": 1}
    assert (born["valid"], born["invalid"]) == (2, 1)
    assert born["problems"][0]["line"] == 4


def test_day_and_month_first_mixed(tmp_path):
    text = "id,name,born\n1,A B,31/01/1980\n2,C D,12/31/1981\n3,E F,05/06/1982\n"
    report = assess_file(write(tmp_path, "x.csv", text))
    item = attention(report)["dates.mixed_day_month:born"]
    assert item["severity"] == "high"
    assert item["count"] == 2
    assert item["detail"].startswith("1 values can only be day first (31/12), 1 only month first")


def test_mixed_formats_read_by_detection_and_excel_numbers(tmp_path):
    text = "id,name,Date of Birth\n1,A B,1980-01-31\n2,C D,31.01.1981\n3,E F,29221\n4,G H,soon\n"
    dob = columns(assess_file(write(tmp_path, "d.csv", text)))["Date of Birth"]
    assert dob["type"] == "date"
    assert dob["details"]["format"] == "auto"
    assert {f["format"]: f["count"] for f in dob["details"]["formats"]} == {
        "iso": 1,
        "%d.%m.%Y": 1,
        "excel": 1,
    }
    assert (dob["valid"], dob["invalid"]) == (3, 1)
    assert dob["problems"][0]["value"] == "soon"


def test_phones_without_a_country(tmp_path):
    text = "id,name,phone\n1,A B,030 1234567\n2,C D,(089) 1234567\n3,E F,+49 40 1234567\n"
    path = write(tmp_path, "p.csv", text)
    phone = columns(assess_file(path))["phone"]
    assert phone["details"]["national_without_country"] == 2
    assert phone["details"]["likely_regions"][0] == {"region": "DE", "count": 2}
    assert (phone["valid"], phone["invalid"]) == (1, 2)
    item = attention(assess_file(path))["phones.no_country:phone"]
    assert item["severity"] == "high"
    assert item["count"] == 2

    with_region = columns(assess_file(path, options=AssessOptions(region="DE")))["phone"]
    assert with_region["details"]["national_without_country"] == 0
    assert (with_region["valid"], with_region["invalid"]) == (3, 0)


def test_bad_rows_are_counted_by_reason(tmp_path):
    text = (
        "id,first_name,last_name,email\n"
        "1,Ann,Lee,ann@example.com\n"
        "2,Bob,Ray\n"  # ragged
        "3,,,nobody@example.com\n"  # no name
        ",Cid,Moe,cid@example.com\n"  # no key
        "5,Dee,Fox,dee@example.com,extra\n"  # ragged
        "6,Gus,Hill,gus@example.com\n"
        "7,Ivy,Kim,ivy@example.com\n"
    )
    report = assess_file(write(tmp_path, "b.csv", text))
    assert {q["reason"]: q["count"] for q in report["quarantine"]} == {
        "ragged": 2,
        "no_name": 1,
        "no_key": 1,
    }
    ragged = next(q for q in report["quarantine"] if q["reason"] == "ragged")
    assert [e["line"] for e in ragged["examples"]] == [3, 6]
    assert report["rows"]["quarantined"] == 4
    assert report["rows"]["would_import"] == 3
    # Profiles cover every row that could be read, quarantined for its values or not.
    assert report["rows"]["readable"] == 5
    assert columns(report)["email"]["filled"] == 5


def test_duplicates_in_the_file(tmp_path):
    text = (
        "id,first_name,last_name,email,phone,postcode\n"
        "1,Ann,Lee,ann@example.com,+49 30 1234567,10115\n"
        "2,Bob,Ray,ANN@example.com,,\n"
        "3,Lee,Ann,other@example.com,+49301234567,10115\n"
        "1,Ann,Lee,new@example.com,,\n"
        "5,Eve,Fox,ann@example.com,,\n"
    )
    report = assess_file(write(tmp_path, "d.csv", text))
    keys = {k["key"]: k for k in report["duplicates"]["keys"]}
    assert report["duplicates"]["exact"] is True
    assert (keys["source_key"]["clusters"], keys["source_key"]["repeats"]) == (1, 1)
    assert keys["source_key"]["examples"] == [{"line": 5, "value": "1"}]
    # Emails are compared lower-cased: lines 2, 3 and 6 share one (3 pairs in one group).
    assert {k: keys["email"][k] for k in ("rows_sharing", "clusters", "pairs")} == {
        "rows_sharing": 3,
        "clusters": 1,
        "pairs": 3,
    }
    # Phones as E.164, names in any order with the postcode.
    assert keys["phone"]["pairs"] == 1
    assert keys["name_postcode"]["pairs"] == 1
    # Lines 3, 4 and 6 repeat someone; the repeated key on line 5 replaces line 2's row (the
    # later row wins), so it is not another person.
    assert report["duplicates"]["rows_repeating_a_person"] == 3
    people = attention(report)["duplicates.people:"]
    assert people["count"] == 3


def test_shapes():
    assert shape("MÜLLER, Hans") == "A, Aa"
    assert shape("john.smith@Mail.Example") == "a.a@Aa.Aa"
    assert shape("+49 30 1234567") == "+99 99 9999999"
    assert shape("x" * 50) == "a"
    assert shape("1" * 40) == "9" * 32 + "…"


def test_utf8_read_as_windows_1252_is_called_out(tmp_path):
    """A UTF-8 export read as Windows-1252 (chosen by hand, or detected because of stray
    bytes) would garble every accented name ("JÃ¼rgen"): the report says so first."""
    rows = "".join(f"{n},Jürgen,Müller,j{n}@example.com\n" for n in range(1, 6))
    data = ("id,first_name,last_name,email\n" + rows).encode() + b"6,J\xfcrgen,Ott,x@example.com\n"
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    report = assess_file(path, options=AssessOptions(encoding="cp1252"))
    item = report["attention"][0]
    assert item["code"] == "encoding.misdecoded"
    assert item["severity"] == "high"
    assert item["count"] == 10  # 5 first names and 5 last names
    assert "'JÃ¼rgen' on line 2" in item["title"]
    assert columns(report)["first_name"]["misdecoded"] == {
        "count": 5,
        "examples": [{"line": 2, "value": "JÃ¼rgen"}, {"line": 3, "value": "JÃ¼rgen"},
                     {"line": 4, "value": "JÃ¼rgen"}],
    }  # fmt: skip

    detected = assess_file(path)
    assert detected["file"]["encoding"] == "utf-8"
    assert not any(a["code"] == "encoding.misdecoded" for a in detected["attention"])
    assert {q["reason"]: q["count"] for q in detected["quarantine"]} == {"undecodable": 1}
