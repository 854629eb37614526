"""Value parsing and mapping suggestions of the importer."""

from __future__ import annotations

import datetime
import decimal

import pytest

from patron.integration import fields


def test_dates_with_a_time_of_day():
    assert fields.parse_date("12/31/2024 23:59", "%m/%d/%Y") == datetime.date(2024, 12, 31)
    assert fields.parse_date("2024-12-31T08:00:00+01:00") == datetime.date(2024, 12, 31)
    assert fields.parse_date("31.12.2024 08:15") == datetime.date(2024, 12, 31)
    with pytest.raises(fields.Problem):
        fields.parse_date("31.02.2020")


def test_date_order_decided_by_the_values_majority():
    month_first = ["02/22/1980", "11/30/1975", "13/45/1990", "01/02/2000"]
    assert fields._date_format(month_first) == "%m/%d/%Y"
    day_first = ["22.02.1980", "30.11.1975", "01.02.2000"]
    assert fields._date_format(day_first) == "%d.%m.%Y"
    assert fields._date_format(["01/02/2000", "03/04/2001"]) == "%m/%d/%Y"
    assert fields._date_format(["12/31/2024 23:59", "01/15/2024 08:00"]) == "%m/%d/%Y"


def test_names_split_in_either_order():
    assert fields.split_name("Müller, Anna")["contact.last_name"] == "Müller"
    assert fields.split_name("Müller Anna", "last_first")["contact.first_name"] == "Anna"
    parts = fields.split_name("Dr. Zoë O'Brien-Smith")
    assert (parts["contact.prefix"], parts["contact.last_name"]) == ("Dr.", "O'Brien-Smith")


@pytest.mark.parametrize(
    ("column", "values", "expected"),
    [
        ("customer_since", ["14.03.2019", "16.08.2021", ""], ("Customer since", "date", "")),
        ("signupDate", ["2024-01-31", "2023-12-01"], ("Signup date", "date", "")),
        (
            "credit_limit",
            ["5.000,00", "2.500,50", "500,00"],
            ("Credit limit", "number", "decimal_comma"),
        ),
        ("Umsatz", ["1,234.50", "99"], ("Umsatz", "number", "")),
        ("vip", ["N", "J", "n", ""], ("VIP", "boolean", "")),
        ("newsletter", ["yes", "no"], ("Newsletter", "boolean", "")),
        ("visits", ["0", "1", "1"], ("Visits", "number", "")),
        ("segment", ["Gold", "Silver", "14.03.2019"], ("Segment", "text", "")),
        ("notes", ["", ""], ("Notes", "text", "")),
    ],
)
def test_a_new_field_is_proposed_from_the_column(column, values, expected):
    proposal = fields.propose_field(column, values)
    assert (proposal.label, proposal.field_type, proposal.transform) == expected
    if proposal.field_type == "date":
        assert dict(proposal.options)["format"] in ("%d.%m.%Y", "%Y-%m-%d")


def _suggested(header: list[str], rows: list[list[str]], entity: str = "contact") -> dict:
    samples = [dict(zip(header, row, strict=True)) for row in rows]
    return {s["column"]: s["target"] for s in fields.suggest(header, samples, entity=entity)}


def test_suggestions_do_not_make_shared_or_contact_values_the_key():
    """A zip code, phone number or company number is no row's own id: taking one as the key
    would fold different people into one record."""
    header = ["Name", "Email", "Zip Code", "Phone Number", "Account Number"]
    rows = [
        ["Ann Ash", "ann@example.com", "10115", "030 1234567", "A-1"],
        ["Bob Birch", "bob@example.com", "10115", "030 7654321", "A-2"],
        ["Cy Zz", "cy@example.com", "10117", "030 1111111", "A-3"],
    ]
    assert _suggested(header, rows) == {
        "Name": "contact.full_name",
        "Email": "email",
        "Zip Code": "address.postal_code",
        "Phone Number": "phone",
        "Account Number": "",  # neither this person's key nor the account's name
    }


def test_suggestions_read_the_whole_word():
    header = ["Customer No", "Company Email", "Mailing Street", "landline", "report", "Org"]
    rows = [
        ["1", "a@acme.example", "Main St 1", "030 1234567", "ok", "Acme"],
        ["2", "b@acme.example", "Side St 2", "030 7654321", "late", "Acme"],
    ]
    assert _suggested(header, rows) == {
        "Customer No": "source_key",
        "Company Email": "email",
        "Mailing Street": "address.street",
        "landline": "phone",
        "report": "",
        "Org": "account.name",
    }


def test_a_key_column_whose_values_repeat_is_not_the_key():
    header = ["id", "name"]
    assert _suggested(header, [["7", "Ann Ash"], ["8", "Bob Birch"]])["id"] == "source_key"
    assert _suggested(header, [["7", "Ann Ash"], ["7", "Bob Birch"]])["id"] == ""
    # An account source's own number is its key.
    accounts = _suggested(["Account Number", "Name"], [["A-1", "Acme"]], entity="account")
    assert accounts["Account Number"] == "source_key"


def test_a_slash_inside_a_number_and_between_numbers():
    normaliser = fields.RowNormaliser(
        [{"column": "tel", "target": "phone"}],
        entity="contact",
        default_region="DE",
        custom_fields={},
    )
    one = normaliser.normalise({"tel": "0171/1234567"})
    assert [p["e164"] for p in one.values["phones"]] == ["+491711234567"]
    assert one.problems == []
    spaced = normaliser.normalise({"tel": "030 / 123 45 67"})
    assert [p["e164"] for p in spaced.values["phones"]] == ["+49301234567"]
    two = normaliser.normalise({"tel": "030 1234567 / 0171 7654321"})
    assert [p["e164"] for p in two.values["phones"]] == ["+49301234567", "+491717654321"]


def test_a_decimal_comma_is_read_as_one_even_when_not_chosen():
    assert fields.parse_number("1,5") == decimal.Decimal("1.5")
    assert fields.parse_number("1.234,56") == decimal.Decimal("1234.56")
    assert fields.parse_number("1 234,56") == decimal.Decimal("1234.56")
    assert fields.parse_number("1,234") == decimal.Decimal("1234")  # thousands
    assert fields.parse_number("1,234.56") == decimal.Decimal("1234.56")
    assert fields.parse_number("1.234", decimal_comma=True) == decimal.Decimal("1234")


def test_email_cells_keep_every_good_address():
    normaliser = fields.RowNormaliser(
        [{"column": "mail", "target": "email"}],
        entity="contact",
        default_region="",
        custom_fields={},
    )
    named = normaliser.normalise({"mail": "Anna Müller <Anna@X.de>, Bob <bob@y.com>"})
    assert [e["email"] for e in named.values["emails"]] == ["anna@x.de", "bob@y.com"]
    assert named.problems == []
    for cell in ("anna@x.de; Bob <bob@y.com>", "Müller, Anna <anna@x.de>; Bob <bob@y.com>"):
        both = normaliser.normalise({"mail": cell})
        assert [e["email"] for e in both.values["emails"]] == ["anna@x.de", "bob@y.com"]
        assert both.problems == []
    mixed = normaliser.normalise({"mail": "bad; anna@x.de"})
    assert [e["email"] for e in mixed.values["emails"]] == ["anna@x.de"]
    assert [p["code"] for p in mixed.problems] == ["invalid_email"]


@pytest.mark.parametrize(
    ("typed", "number", "extension"),
    [
        ("+44 20 7946 0019 ext. 12", "+44 20 7946 0019", "12"),
        ("+1 312 555 0162 x 7", "+1 312 555 0162", "7"),
        ("(312) 555-0162 #45", "(312) 555-0162", "45"),
        ("030 1234567", "030 1234567", ""),
    ],
)
def test_an_extension_is_kept_apart_from_the_number(typed, number, extension):
    normaliser = fields.RowNormaliser(
        [{"column": "tel", "target": "phone"}],
        entity="contact",
        default_region="DE",
        custom_fields={},
    )
    (phone,) = normaliser.normalise({"tel": typed}).values["phones"]
    assert (phone["number"], phone["extension"]) == (number, extension)


@pytest.mark.parametrize(
    "header",
    ["Reservation ID", "Private ID", "Activation Code", "Taxonomy ID", "Post ID"],
)
def test_id_columns_whose_names_hold_other_words_are_still_keys(header):
    rows = [["R-1", "Ann Ash"], ["R-2", "Bob Birch"]]
    assert _suggested([header, "name"], rows)[header] == "source_key"


def test_amounts_keep_their_form_and_at_most_cents():
    """An amount is stored as written (so a source record normalised before reads the same
    and a re-import is no change), rounded only past the cents the column keeps."""
    normaliser = fields.RowNormaliser(
        [{"column": "rev", "target": "account.annual_revenue"}],
        entity="account",
        default_region="",
        custom_fields={},
    )
    read = {raw: normaliser.normalise({"rev": raw}).values for raw in ("1000", "12.5", "9.999")}
    assert [v["account.annual_revenue"] for v in read.values()] == ["1000", "12.5", "10.00"]
