"""patron.utils.pdf: a business document rendered to PDF, read back with pypdf."""

import io
from decimal import Decimal as D

import pytest
from pypdf import PdfReader

from patron.utils import pdf as pdf_module
from patron.utils.money import DocumentTotals, LineAmounts
from patron.utils.pdf import BusinessDocument, DocumentLine, Party, latin1_text, render_document


def _document(customer_name: str = "Zoë Ångström", lines: int = 2) -> BusinessDocument:
    amounts = [
        LineAmounts(
            quantity=D("3"),
            unit_price=D("19.9900"),
            currency="EUR",
            discount_percent=D("10"),
            tax_rate=D("20"),
        ),
        LineAmounts(quantity=D("1.5"), unit_price=D("100"), currency="EUR", tax_rate=D("5.5")),
    ][:lines]
    printed = [
        DocumentLine(
            description="Widget <b>deluxe</b>",
            quantity=amounts[0].quantity,
            unit="pcs",
            unit_price=amounts[0].unit_price,
            discount_percent=amounts[0].discount_percent,
            tax_rate=amounts[0].tax_rate,
            net=amounts[0].net,
        ),
        DocumentLine(
            description="Installation, per hour",
            quantity=amounts[1].quantity if lines > 1 else D("0"),
            unit_price=D("100"),
            tax_rate=D("5.5"),
            net=amounts[1].net if lines > 1 else D("0"),
        ),
    ][:lines]
    return BusinessDocument(
        title="Quote",
        number="Q-2026-00042",
        currency="EUR",
        seller=Party(name="Patron Demo Ltd", lines=["1 Main Street", "VAT FR123"]),
        customer=Party(name=customer_name, lines=["Kungsgatan 5", "Stockholm"]),
        dates=[("Date", "2026-11-23"), ("Valid until", "2026-12-23")],
        lines=printed,
        totals=DocumentTotals.of(amounts, currency="EUR", discount_percent=D("0")),
        notes="Delivery within two weeks.",
        terms="Payment 30 days net.",
    )


def _text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_renders_title_parties_lines_and_totals():
    data = render_document(_document())
    assert data.startswith(b"%PDF")
    text = _text(data)
    assert "Quote" in text
    assert "Q-2026-00042" in text
    assert "Patron Demo Ltd" in text
    assert "Zoë Ångström" in text
    assert "Stockholm" in text
    assert "Valid until" in text and "2026-12-23" in text
    assert "Widget <b>deluxe</b>" in text
    assert "Installation, per hour" in text
    assert "53.97" in text  # 3 × 19.99 − 10 %
    assert "150.00" in text
    assert "203.97" in text  # net total
    assert "10.79" in text  # 20 % of 53.97
    assert "8.25" in text  # 5.5 % of 150.00
    assert "223.01" in text  # gross
    assert "Payment 30 days net." in text
    assert "Delivery within two weeks." in text


def test_document_discount_is_printed():
    document = _document()
    amounts = [LineAmounts(quantity=D("2"), unit_price=D("50"), currency="EUR", tax_rate=D("20"))]
    document = BusinessDocument(
        **{
            **document.__dict__,
            "lines": document.lines[:1],
            "totals": DocumentTotals.of(amounts, currency="EUR", discount_percent=D("10")),
        }
    )
    text = _text(render_document(document))
    assert "Subtotal" in text and "100.00" in text
    assert "Discount 10 %" in text and "-10.00" in text
    assert "108.00" in text  # 90.00 + 18.00 tax


def test_many_lines_flow_onto_several_pages():
    document = _document()
    document = BusinessDocument(**{**document.__dict__, "lines": list(document.lines) * 40})
    reader = PdfReader(io.BytesIO(render_document(document)))
    assert len(reader.pages) >= 2


@pytest.mark.parametrize(
    "name",
    [
        "Zoë Ångström",
        "Łódź Sp. z o.o.",
        "東京商事株式会社",
        "Ελληνικά",
        "emoji 🚀 ltd",
        "tab\tbell\x07",
    ],
)
def test_any_name_renders_without_the_unicode_font(monkeypatch, name):
    monkeypatch.setattr(pdf_module, "find_unicode_font", lambda: None)
    text = _text(render_document(_document(customer_name=name)))
    assert "Q-2026-00042" in text


def test_core_font_keeps_latin1_and_transliterates_the_rest(monkeypatch):
    monkeypatch.setattr(pdf_module, "find_unicode_font", lambda: None)
    text = _text(render_document(_document(customer_name="Zoë Ångström of Łódź")))
    assert "Zoë Ångström of Lódz" in text


def test_latin1_text():
    assert latin1_text("Zoë Ångström") == "Zoë Ångström"
    assert latin1_text("Łódź “quoted” – ok") == 'Lódz "quoted" - ok'
    assert latin1_text("東") == "?"


@pytest.mark.skipif(pdf_module.find_unicode_font() is None, reason="no Unicode font installed")
def test_unicode_font_prints_non_latin_names():
    text = _text(render_document(_document(customer_name="Łódź Ελληνικά")))
    assert "Łódź Ελληνικά" in text
