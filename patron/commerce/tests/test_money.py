"""patron.utils.money: minor units, half-up rounding, line amounts and document totals."""

from decimal import Decimal as D

import pytest

from patron.utils.money import DocumentTotals, LineAmounts, minor_units, plain_rate, quantize


def test_minor_units_follow_iso_4217():
    assert minor_units("EUR") == 2
    assert minor_units("usd") == 2
    assert minor_units("JPY") == 0
    assert minor_units("KRW") == 0
    assert minor_units("ISK") == 0
    assert minor_units("CLP") == 0
    assert minor_units("VND") == 0
    assert minor_units("BHD") == 3
    assert minor_units("KWD") == 3
    assert minor_units("OMR") == 3
    assert minor_units("JOD") == 3
    assert minor_units("TND") == 3
    assert minor_units("XYZ") == 2


def test_quantize_rounds_half_up_not_to_even():
    assert quantize(D("0.125"), "EUR") == D("0.13")
    assert quantize(D("0.135"), "EUR") == D("0.14")
    assert quantize(D("2.5"), "JPY") == D("3")
    assert quantize(D("3.5"), "JPY") == D("4")
    assert quantize(D("-0.125"), "EUR") == D("-0.13")
    assert quantize(D("1.0005"), "KWD") == D("1.001")
    assert str(quantize(D("7"), "EUR")) == "7.00"
    assert str(quantize(D("7"), "BHD")) == "7.000"
    assert str(quantize(D("7.4"), "JPY")) == "7"


def test_floats_are_refused():
    with pytest.raises(TypeError):
        quantize(0.1, "EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        LineAmounts(quantity=1.5, unit_price=D("1"), currency="EUR")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        LineAmounts(quantity=D("1"), unit_price=D("1"), currency="EUR", tax_rate=20.0)  # type: ignore[arg-type]


def test_ints_and_numeric_strings_are_accepted():
    assert quantize(3, "EUR") == D("3.00")
    assert quantize("1.005", "EUR") == D("1.01")
    with pytest.raises(ValueError):
        quantize("abc", "EUR")
    with pytest.raises(ValueError):
        quantize(D("NaN"), "EUR")


def test_line_without_discount_or_tax():
    line = LineAmounts(quantity=D("3"), unit_price=D("19.99"), currency="EUR")
    assert line.net == D("59.97")
    assert line.tax == D("0.00")
    assert line.gross == D("59.97")
    assert line.discount == D("0.00")


def test_line_with_discount_and_tax_rounds_net_then_tax():
    # 7 × 3.3333 = 23.3331, less 10 % = 20.99979 → 21.00; tax 20 % of 21.00 = 4.20
    line = LineAmounts(
        quantity=D("7"),
        unit_price=D("3.3333"),
        currency="EUR",
        discount_percent=D("10"),
        tax_rate=D("20"),
    )
    assert line.gross_before_discount == D("23.33")
    assert line.net == D("21.00")
    assert line.discount == D("2.33")
    assert line.tax == D("4.20")
    assert line.gross == D("25.20")


def test_line_tax_half_up_per_line():
    # net 0.25 at 10 % = 0.025 → 0.03 (half-up), not 0.02 (banker's)
    line = LineAmounts(quantity=D("1"), unit_price=D("0.25"), currency="EUR", tax_rate=D("10"))
    assert line.tax == D("0.03")
    assert line.gross == D("0.28")


def test_line_in_zero_decimal_currency():
    line = LineAmounts(
        quantity=D("3"),
        unit_price=D("333.5"),
        currency="JPY",
        discount_percent=D("0"),
        tax_rate=D("10"),
    )
    assert line.net == D("1001")  # 1000.5 → 1001
    assert line.tax == D("100")  # 100.1 → 100
    assert line.gross == D("1101")


def test_line_in_three_decimal_currency():
    line = LineAmounts(quantity=D("2"), unit_price=D("1.2345"), currency="KWD", tax_rate=D("5"))
    assert line.net == D("2.469")
    assert line.tax == D("0.123")  # 0.12345 → 0.123
    assert line.gross == D("2.592")


def test_line_rejects_percent_out_of_range():
    with pytest.raises(ValueError):
        LineAmounts(quantity=D("1"), unit_price=D("1"), currency="EUR", discount_percent=D("101"))
    with pytest.raises(ValueError):
        LineAmounts(quantity=D("1"), unit_price=D("1"), currency="EUR", tax_rate=D("-1"))


def test_totals_sum_rounded_lines_per_tax_rate():
    lines = [
        LineAmounts(quantity=D("1"), unit_price=D("0.333"), currency="EUR", tax_rate=D("20")),
        LineAmounts(quantity=D("1"), unit_price=D("0.333"), currency="EUR", tax_rate=D("20")),
        LineAmounts(quantity=D("1"), unit_price=D("0.333"), currency="EUR", tax_rate=D("20")),
        LineAmounts(quantity=D("2"), unit_price=D("10.05"), currency="EUR", tax_rate=D("5.5")),
        LineAmounts(quantity=D("1"), unit_price=D("4"), currency="EUR", tax_rate=D("0")),
    ]
    totals = DocumentTotals.of(lines, currency="EUR")
    # three lines of 0.33 each (not 0.999 → 1.00): the sum of what is printed
    assert totals.lines_net == D("0.99") + D("20.10") + D("4.00")
    assert totals.net == D("25.09")
    assert [(t.rate, t.net, t.tax) for t in totals.taxes] == [
        (D("0"), D("4.00"), D("0.00")),
        (D("5.5"), D("20.10"), D("1.11")),  # 1.1055 → 1.11
        (D("20"), D("0.99"), D("0.21")),  # 3 × 0.07 (0.066 → 0.07 per line)
    ]
    assert totals.tax == D("1.32")
    assert totals.gross == D("26.41")
    assert totals.discount == D("0.00")


def test_totals_with_document_discount_recompute_tax_per_rate():
    lines = [
        LineAmounts(quantity=D("1"), unit_price=D("100"), currency="EUR", tax_rate=D("20")),
        LineAmounts(quantity=D("1"), unit_price=D("50"), currency="EUR", tax_rate=D("10")),
    ]
    totals = DocumentTotals.of(lines, currency="EUR", discount_percent=D("5"))
    assert totals.lines_net == D("150.00")
    assert [(t.rate, t.net, t.tax) for t in totals.taxes] == [
        (D("10"), D("47.50"), D("4.75")),
        (D("20"), D("95.00"), D("19.00")),
    ]
    assert totals.net == D("142.50")
    assert totals.discount == D("7.50")
    assert totals.tax == D("23.75")
    assert totals.gross == D("166.25")


def test_totals_of_no_lines_are_zero_in_the_currency():
    totals = DocumentTotals.of([], currency="BHD")
    assert str(totals.net) == "0.000"
    assert totals.gross == D("0")
    assert totals.taxes == ()


def test_totals_refuse_a_line_in_another_currency():
    line = LineAmounts(quantity=D("1"), unit_price=D("1"), currency="USD")
    with pytest.raises(ValueError):
        DocumentTotals.of([line], currency="EUR")


def test_plain_rate_drops_trailing_zeros():
    assert str(plain_rate(D("20.00"))) == "20"
    assert str(plain_rate(D("5.50"))) == "5.5"
    assert str(plain_rate(D("0.000"))) == "0"


def test_format_amount():
    from patron.utils.money import format_amount

    assert format_amount(D("1234.5"), "EUR") == "1,234.50"
    assert format_amount(D("1234.5"), "JPY") == "1,235"
    assert format_amount(D("-3.0005"), "KWD") == "-3.001"
    assert format_amount(D("12.3450"), "EUR", decimals=4) == "12.345"
    assert format_amount(D("12.5000"), "EUR", decimals=4) == "12.50"
    assert format_amount(D("1000"), "JPY", decimals=4) == "1,000"
