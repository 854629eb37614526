"""The file readers: a bad record is one BadRow with its line and reason and the rest of the
file still reads; a file that cannot be read at all is one of the read errors the API and the
views answer as the user's to fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from patron.integration import readers, services
from patron.integration.forms import ENCODINGS, FileOptionsForm
from patron.integration.models import QuarantinedRow, Source
from patron.integration.readers import BadRow, FileOptions, Reader
from patron.integration.selectors import READ_ERRORS


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_all(path: Path, skip: int = 0, **options) -> list:
    return list(Reader(path, FileOptions(**options)).rows(skip))


def bad_lines(items: list) -> list[tuple[int, str]]:
    return [(item.line, item.reason) for item in items if isinstance(item, BadRow)]


def good_lines(items: list) -> list[int]:
    return [item[0] for item in items if not isinstance(item, BadRow)]


# --- end to end through the services ------------------------------------------------------


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture(autouse=True)
def jobs_run_on_commit(monkeypatch):
    monkeypatch.setattr(
        "django.db.transaction.on_commit", lambda func, using=None, robust=False: func()
    )


def people(actor) -> Source:
    return services.source_create(actor=actor, data={"name": "Shop", "entity": "contact"})


NAME_COLUMNS = [
    {"column": "id", "target": "source_key"},
    {"column": "name", "target": "contact.full_name"},
]


def run_file(actor, path: Path, columns=NAME_COLUMNS, options=None):
    run = services.import_start(actor=actor, source=people(actor), upload=path, file_name=path.name)
    run = services.import_configure(actor=actor, run=run, options=options, columns=columns)
    services.import_enqueue(actor=actor, run=run)
    run.refresh_from_db()
    return run


@pytest.mark.django_db
def test_jsonl_line_with_an_invalid_byte_is_quarantined_and_the_rest_imports(tmp_path, admin_user):
    good = [
        json.dumps({"id": str(i), "name": f"Zoë Müller{i}"}, ensure_ascii=False).encode()
        for i in range(1, 6)
    ]
    data = b"\n".join(
        [*good, b'{"id": "6", "name": "Bad \xff Byte"}', b'{"id": "7", "name": "Al Ok"}']
    )
    run = run_file(admin_user, write(tmp_path, "shop.jsonl", data + b"\n"))
    assert (run.options["encoding"], run.status) == ("utf-8", "completed")
    assert (run.created_count, run.quarantined_count) == (6, 1)
    bad = QuarantinedRow.objects.get(run=run)
    assert (bad.line, bad.reason) == (6, "undecodable")


@pytest.mark.django_db
def test_utf16_file_with_a_bad_unit_quarantines_that_row(tmp_path, admin_user):
    rows = "".join(f"{i}\tAnn Number{i}\r\n" for i in range(1, 4))
    data = (
        "id\tname\r\n".encode("utf-16")
        + rows.encode("utf-16-le")
        + "4\tBad ".encode("utf-16-le")
        + b"\x00\xd8"  # a high surrogate with no low one after it
        + " Unit\r\n5\tAl Ok\r\n".encode("utf-16-le")
    )
    run = run_file(admin_user, write(tmp_path, "calls.tsv", data))
    assert run.options["encoding"] == "utf-16"
    assert (run.status, run.created_count) == ("completed", 4)
    bad = QuarantinedRow.objects.get(run=run)
    assert (bad.line, bad.reason) == (5, "undecodable")


@pytest.mark.django_db
def test_utf16_file_with_a_stray_last_byte_uploads_and_imports(tmp_path, admin_user):
    data = "id,name\r\n1,Ann Ash\r\n2,Bo Birch\r\n".encode("utf-16") + b"\x0a"
    run = run_file(admin_user, write(tmp_path, "people.csv", data))
    assert (run.status, run.created_count) == ("completed", 2)
    assert list(QuarantinedRow.objects.values_list("line", "reason")) == [(4, "undecodable")]


@pytest.mark.django_db
def test_repeated_header_names_keep_every_column(tmp_path, admin_user):
    data = b"id,name,phone,phone,phone_2\n1,Ann Ash,111,222,333\n"
    run = run_file(admin_user, write(tmp_path, "people.csv", data))
    header, _ = readers.preview(Path(run.file_path), FileOptions.from_dict(run.options))
    assert header == ["id", "name", "phone", "phone_3", "phone_2"]
    record = run.source.records.get()
    assert (record.payload["phone"], record.payload["phone_3"], record.payload["phone_2"]) == (
        "111",
        "222",
        "333",
    )


@pytest.mark.django_db
def test_wrapper_object_imports_its_list(tmp_path, admin_user):
    doc = {
        "exported": "2024-01-01",
        "contacts": [{"id": "1", "name": "Ann Ash"}, {"id": "2", "name": "Bo Birch"}],
    }
    run = run_file(admin_user, write(tmp_path, "export.json", json.dumps(doc, indent=2).encode()))
    assert run.options["format"] == "json"
    assert run.created_count == 2
    assert sorted(run.source.records.values_list("line", "source_key")) == [(1, "1"), (2, "2")]


# --- 1. one invalid byte fails one record -----------------------------------------------------


def test_jsonl_line_with_an_invalid_byte_is_a_bad_row(tmp_path):
    path = write(tmp_path, "a.jsonl", b'{"n": "Zo\xc3\xab"}\n{"n": "B\xffd"}\n{"n": "Al"}\n')
    items = read_all(path, format="jsonl", encoding="utf-8")
    assert bad_lines(items) == [(2, "undecodable")]
    assert "\ufffd" in items[1].raw
    assert good_lines(items) == [1, 3]


def test_jsonl_escape_of_a_lone_surrogate_is_quarantined(tmp_path):
    path = write(tmp_path, "a.jsonl", b'{"n": "ok"}\n{"n": "\\udcff"}\n{"n": "\\u00e9"}\n')
    items = read_all(path, format="jsonl")
    assert bad_lines(items) == [(2, "undecodable")]
    assert items[2] == (3, {"n": "é"})


def test_utf16_bad_unit_after_many_rows_fails_only_its_row(tmp_path):
    rows = "".join(f"{i},Name {i}\n" for i in range(1, 2501))
    data = (
        "id,name\n".encode("utf-16")
        + rows.encode("utf-16-le")
        + b"9,\x00\xdc\n\x00"  # a lone low surrogate
        + "10,Last\n".encode("utf-16-le")
    )
    path = write(tmp_path, "big.csv", data)
    items = read_all(path, encoding="utf-16")
    assert bad_lines(items) == [(2502, "undecodable")]
    assert items[-1] == (2503, {"id": "10", "name": "Last"})
    # A resumed run skips what was committed and reads past the bad unit the same way.
    assert read_all(path, skip=2500, encoding="utf-16")[1] == items[-1]


def test_csv_invalid_utf8_still_quarantines_one_row(tmp_path):
    path = write(tmp_path, "a.csv", b"id,name\n1,Ann\n2,B\xffb\n3,Cy\n")
    assert bad_lines(read_all(path)) == [(3, "undecodable")]
    assert good_lines(read_all(path)) == [2, 4]


def test_json_array_with_an_invalid_byte_quarantines_its_item(tmp_path):
    path = write(tmp_path, "a.json", b'[{"n": "ok"}, {"n": "b\xffd"}, {"n": "fine"}]')
    items = read_all(path, format="json")
    assert bad_lines(items) == [(2, "undecodable")]
    assert items[2] == (3, {"n": "fine"})


# --- 2. UTF-16 without a BOM ----------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_is_detected_by_its_nul_bytes(tmp_path, encoding):
    path = write(tmp_path, "a.tsv", "Caller ID\tFull Name\n7\tZoë Ärger\n".encode(encoding))
    options = readers.detect(path)
    assert (options.format, options.encoding, options.delimiter) == ("csv", encoding, "\t")
    assert read_all(path, encoding=encoding, delimiter="\t") == [
        (2, {"Caller ID": "7", "Full Name": "Zoë Ärger"})
    ]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_chosen_for_a_file_without_bom_reads_in_its_byte_order(tmp_path, encoding):
    path = write(tmp_path, "a.csv", "id,name\n1,Zoë\n".encode(encoding))
    assert read_all(path, encoding="utf-16") == [(2, {"id": "1", "name": "Zoë"})]
    assert read_all(path, format="jsonl", encoding="utf-16") != []  # no "BOM" crash


def test_form_offers_utf16_byte_orders():
    assert {"utf-16-le", "utf-16-be"} <= dict(ENCODINGS).keys()


def test_utf8_and_cp1252_detection_unchanged(tmp_path):
    assert readers.guess_encoding("id,name\n1,Zoë\n".encode()) == "utf-8"
    assert readers.guess_encoding("id;name\n1;Zoë\n".encode("cp1252")) == "cp1252"


# --- 3. repeated header names -------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "unique"),
    [
        (["name", "phone", "phone", "phone_2"], ["name", "phone", "phone_3", "phone_2"]),
        (["a", "a", "a"], ["a", "a_2", "a_3"]),
        (["a", "a", "a_2", "a_2"], ["a", "a_3", "a_2", "a_2_2"]),
        (["", "column_1", "x"], ["column_1", "column_1_2", "x"]),
    ],
)
def test_unique_names_never_drop_a_column(names, unique):
    assert readers._unique_names(names) == unique


# --- 4. JSON documents ----------------------------------------------------------------------


def test_json_array_with_a_utf8_bom(tmp_path):
    path = write(tmp_path, "a.json", b'\xef\xbb\xbf[{"n": "Zo\xc3\xab"}, {"n": "Al"}]')
    options = readers.detect(path)
    assert (options.format, options.encoding) == ("json", "utf-8-sig")
    assert read_all(path, format="json", encoding="utf-8-sig") == [
        (1, {"n": "Zoë"}),
        (2, {"n": "Al"}),
    ]
    assert read_all(path, format="json", encoding="utf-8") == [(1, {"n": "Zoë"}), (2, {"n": "Al"})]


def test_utf16_json_array_is_detected_as_json(tmp_path):
    path = write(tmp_path, "a.json", json.dumps([{"n": "Zoë"}, {"n": "Al"}]).encode("utf-16"))
    options = readers.detect(path)
    assert (options.format, options.encoding) == ("json", "utf-16")
    assert read_all(path, **options.as_dict()) == [(1, {"n": "Zoë"}), (2, {"n": "Al"})]


@pytest.mark.parametrize("indent", [None, 2])
def test_wrapper_object_is_read_as_its_list_of_records(tmp_path, indent):
    doc = {"meta": {"count": 2}, "tags": ["a"], "contacts": [{"name": "Ann"}, {"name": "Bo"}]}
    path = write(tmp_path, "export.json", json.dumps(doc, indent=indent).encode())
    options = readers.detect(path)
    assert options.format == "json"
    reader = Reader(path, options)
    assert list(reader.rows()) == [(1, {"name": "Ann"}), (2, {"name": "Bo"})]
    assert reader.columns == ["name"]


def test_object_without_a_list_of_records_is_one_record(tmp_path):
    path = write(tmp_path, "one.json", b'{\n  "name": "Ann",\n  "address": {"city": "Bonn"}\n}\n')
    assert readers.detect(path).format == "json"
    assert read_all(path, format="json") == [(1, {"name": "Ann", "address.city": "Bonn"})]


def test_json_lines_in_a_json_file_stay_json_lines(tmp_path):
    path = write(tmp_path, "a.json", b'{"n": "Ann", "o": [{"x": 1}]}\n{"n": "Bo"}\n')
    assert readers.detect(path).format == "jsonl"


def test_broken_json_document_is_one_bad_record(tmp_path):
    path = write(tmp_path, "a.json", b'{"contacts": [{"n": "Ann"}, {"n": ')
    items = read_all(path, format="json")
    assert items[0] == (1, {"n": "Ann"})
    assert bad_lines(items) == [(2, "invalid_json")]


# --- 5. delimiter and quote character -------------------------------------------------------


def test_single_quotes_are_detected_and_used(tmp_path):
    data = b"id;name;note\n1;'Ash; Ann';'a'\n2;'Birch; Bo';'b'\n3;'Cole; Cy';'c'\n"
    path = write(tmp_path, "a.csv", data)
    options = readers.detect(path)
    assert (options.delimiter, options.quotechar) == (";", "'")
    assert read_all(path, **options.as_dict())[0] == (
        2,
        {"id": "1", "name": "Ash; Ann", "note": "a"},
    )


def test_double_quotes_stay_the_default(tmp_path):
    path = write(tmp_path, "a.csv", b"id,name\n1,\"O'Brien, Pat\"\n2,Zoe O'Hara\n")
    assert readers.detect(path).quotechar == '"'


@pytest.mark.parametrize(
    ("post", "cleaned"),
    [
        ({"delimiter": ";", "quotechar": "'"}, (";", "'")),
        ({"delimiter": "other", "delimiter_other": "^", "quotechar": '"'}, ("^", '"')),
        ({"delimiter": "other", "delimiter_other": " "}, (" ", "")),
        ({}, ("", "")),  # not a CSV file: the fields are not shown
    ],
)
def test_options_form_takes_any_delimiter_and_a_quote(post, cleaned):
    form = FileOptionsForm({"format": "csv", **post})
    assert form.is_valid(), form.errors
    assert (form.cleaned_data["delimiter"], form.cleaned_data["quotechar"]) == cleaned


@pytest.mark.parametrize(
    "post",
    [
        {"delimiter": "other", "delimiter_other": ""},
        {"delimiter": "other", "delimiter_other": "ab"},
        {"delimiter": ";", "quotechar": ";"},
        {"delimiter": "other", "delimiter_other": "'", "quotechar": "'"},
    ],
)
def test_options_form_refuses_a_delimiter_that_cannot_work(post):
    assert not FileOptionsForm({"format": "csv", **post}).is_valid()


def test_options_form_shows_an_other_delimiter():
    html = str(FileOptionsForm(initial={"format": "csv", "delimiter": "^"})["delimiter"])
    assert '<option value="other" selected>' in html
    assert 'value="^"' in html


@pytest.mark.django_db
def test_form_options_flow_into_the_reader(tmp_path, admin_user):
    """What the mapping view hands `import_configure` (the form's non-empty values)."""
    path = write(tmp_path, "p.txt", b"id^name\n1^'Ash^ Ann'\n")
    run = services.import_start(
        actor=admin_user, source=people(admin_user), upload=path, file_name=path.name
    )
    form = FileOptionsForm(
        {"format": "csv", "encoding": "utf-8", "delimiter": "other", "delimiter_other": "^",
         "quotechar": "'", "has_header": "on"}
    )  # fmt: skip
    assert form.is_valid(), form.errors
    cleaned = {k: v for k, v in form.cleaned_data.items() if v != ""}
    run = services.import_configure(actor=admin_user, run=run, options=cleaned)
    assert [c["column"] for c in run.columns] == ["id", "name"]
    assert list(Reader(path, readers.FileOptions.from_dict(run.options)).rows()) == [
        (2, {"id": "1", "name": "Ash^ Ann"})
    ]


# --- 6. read errors -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "json"])
@pytest.mark.parametrize("encoding", ["rot13", "base64", "no-such-codec"])
def test_non_text_encodings_are_read_errors(tmp_path, fmt, encoding):
    path = write(tmp_path, "a.csv", b'[{"a": 1}]\n')
    with pytest.raises(READ_ERRORS) as caught:
        read_all(path, format=fmt, encoding=encoding)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("delimiter", "quotechar"), [(";", ";"), ("ab", '"'), ("\n", '"'), (",", "''")]
)  # fmt: skip
def test_impossible_delimiter_is_a_read_error(tmp_path, delimiter, quotechar):
    path = write(tmp_path, "a.csv", b"a;b\n")
    with pytest.raises(ValueError):
        read_all(path, delimiter=delimiter, quotechar=quotechar)


@pytest.mark.parametrize("data", [b"id,name\n1,Ann\n", b"", b"PK\x03\x04broken"])
@pytest.mark.parametrize("name", ["a.xlsx", "a.csv"])
def test_a_file_that_is_no_workbook_is_a_read_error(tmp_path, data, name):
    path = write(tmp_path, name, data)
    with pytest.raises(READ_ERRORS):
        read_all(path, format="xlsx")
    with pytest.raises(READ_ERRORS):
        readers.sheet_names(path)
