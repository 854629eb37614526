"""Value parsing and mapping suggestions of the importer."""

from __future__ import annotations

import datetime

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
