"""Business documents (quotes, orders, invoices) as PDF, rendered with fpdf2.

The caller describes the document with plain dataclasses (no models here, so billing and
commerce share one renderer); `render_document` returns the PDF bytes. Text is Unicode: a
DejaVu TrueType font is embedded when one is found on the system, otherwise the PDF core font is
used and characters it cannot encode are transliterated ("Zoë" stays "Zoë", "Łódź" becomes
"Lodz"), so no customer name can crash the renderer.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from patron.utils.money import DocumentTotals, format_amount, plain_rate

# Where a Unicode TrueType font may be installed (Debian/Ubuntu, Fedora, Alpine, macOS).
FONT_CANDIDATES = (
    (
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf",
    ),
    (
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans-Bold.ttf",
    ),
    (
        "/Library/Fonts/DejaVuSans.ttf",
        "/Library/Fonts/DejaVuSans-Bold.ttf",
    ),
)


@dataclass(frozen=True)
class Party:
    """The seller or the customer: a name and address/contact lines printed under it."""

    name: str
    lines: Sequence[str] = ()


@dataclass(frozen=True)
class DocumentLine:
    """One printed line item. Amounts are already computed (see patron.utils.money)."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    net: Decimal
    discount_percent: Decimal = Decimal(0)
    tax_rate: Decimal = Decimal(0)
    unit: str = ""


@dataclass(frozen=True)
class BusinessDocument:
    """Everything printed on a quote, order or invoice."""

    title: str
    number: str
    currency: str
    seller: Party
    customer: Party
    lines: Sequence[DocumentLine]
    totals: DocumentTotals
    dates: Sequence[tuple[str, str]] = ()
    notes: str = ""
    terms: str = ""
    reference_lines: Sequence[tuple[str, str]] = field(default_factory=tuple)


def find_unicode_font() -> tuple[str, str] | None:
    """Paths of a regular and bold Unicode TTF font, or None when none is installed."""
    override = os.environ.get("PATRON_PDF_FONT")
    if override and os.path.exists(override):
        bold = os.environ.get("PATRON_PDF_FONT_BOLD", "")
        return override, bold if bold and os.path.exists(bold) else override
    for regular, bold in FONT_CANDIDATES:
        if os.path.exists(regular):
            return regular, bold if os.path.exists(bold) else regular
    return None


def latin1_text(text: str) -> str:
    """`text` with characters outside Latin-1 transliterated (or "?"), for the core fonts."""
    out = []
    for char in text:
        try:
            char.encode("latin-1")
            out.append(char)
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFKD", char)
        ascii_part = decomposed.encode("ascii", "ignore").decode("ascii")
        out.append(ascii_part or _PUNCTUATION.get(char, "?"))
    return "".join(out)


_PUNCTUATION = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u20ac": "EUR",
    "\u2022": "-",
    "\u0141": "L",
    "\u0142": "l",
    "\u0110": "D",
    "\u0111": "d",
    "\u0152": "OE",
    "\u0153": "oe",
}


class _DocumentPDF(FPDF):
    """An A4 page with the document number and page count in the footer."""

    footer_text = ""
    family = "Helvetica"

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.family, "", 8)
        self.set_text_color(110, 110, 110)
        self.cell(0, 6, f"{self.footer_text} - {self.page_no()}/{{nb}}", align="C")


def render_document(document: BusinessDocument) -> bytes:
    """The PDF bytes of `document`."""
    pdf = _DocumentPDF(orientation="P", unit="mm", format="A4")
    font = find_unicode_font()
    if font is not None:
        pdf.add_font("DocSans", "", font[0])
        pdf.add_font("DocSans", "B", font[1])
        pdf.family = "DocSans"

        def clean(text: str) -> str:
            return _printable(text)
    else:
        pdf.family = "Helvetica"

        def clean(text: str) -> str:
            return latin1_text(_printable(text))

    family = pdf.family
    pdf.footer_text = clean(f"{document.title} {document.number}")
    pdf.set_title(clean(f"{document.title} {document.number}"))
    pdf.set_author(clean(document.seller.name))
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_margins(15, 15, 15)
    pdf.add_page()
    width = pdf.epw

    # Title and number, seller on the right.
    top = pdf.get_y()
    pdf.set_font(family, "B", 18)
    pdf.cell(width / 2, 9, clean(document.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(family, "", 11)
    pdf.cell(width / 2, 6, clean(document.number), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for label, value in document.dates:
        pdf.set_font(family, "", 9)
        pdf.cell(30, 5, clean(label))
        pdf.cell(width / 2 - 30, 5, clean(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    for label, value in document.reference_lines:
        pdf.set_font(family, "", 9)
        pdf.cell(30, 5, clean(label))
        pdf.cell(width / 2 - 30, 5, clean(value), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    left_bottom = pdf.get_y()
    pdf.set_xy(pdf.l_margin + width / 2, top)
    _party(pdf, family, clean, document.seller, width / 2, align="R")
    pdf.set_y(max(left_bottom, pdf.get_y()) + 8)

    # Customer block.
    pdf.set_font(family, "B", 9)
    pdf.set_text_color(110, 110, 110)
    pdf.cell(width, 5, clean("Customer"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    _party(pdf, family, clean, document.customer, width, align="L")
    pdf.ln(6)

    # Line items.
    currency = document.currency
    pdf.set_font(family, "", 9)
    headings = ("Description", "Quantity", "Unit price", "Discount", "Tax", f"Net ({currency})")
    with pdf.table(
        col_widths=(70, 20, 26, 21, 15, 28),
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=5.5,
        first_row_as_headings=True,
        headings_style=_headings_style(family),
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        table.row([clean(h) for h in headings])
        for line in document.lines:
            quantity = _trim(line.quantity)
            if line.unit:
                quantity = f"{quantity} {line.unit}"
            table.row(
                [
                    clean(line.description),
                    clean(quantity),
                    format_amount(line.unit_price, currency, decimals=4),
                    f"{_trim(line.discount_percent)} %" if line.discount_percent else "",
                    f"{plain_rate(line.tax_rate)} %",
                    format_amount(line.net, currency),
                ]
            )
    pdf.ln(4)

    # Totals, right-aligned.
    totals = document.totals
    rows: list[tuple[str, str, bool]] = []
    if totals.discount:
        rows.append(("Subtotal", format_amount(totals.lines_net, currency), False))
        rows.append(
            (
                f"Discount {_trim(totals.discount_percent)} %",
                "-" + format_amount(totals.discount, currency),
                False,
            )
        )
    rows.append(("Net total", format_amount(totals.net, currency), False))
    for tax in totals.taxes:
        rows.append(
            (
                f"Tax {plain_rate(tax.rate)} % on {format_amount(tax.net, currency)}",
                format_amount(tax.tax, currency),
                False,
            )
        )
    rows.append((f"Total ({currency})", format_amount(totals.gross, currency), True))
    for label, value, bold in rows:
        pdf.set_font(family, "B" if bold else "", 10 if bold else 9)
        pdf.set_x(pdf.l_margin + width - 100)
        pdf.cell(70, 6, clean(label), align="R")
        pdf.cell(30, 6, clean(value), align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    for heading, text in (("Notes", document.notes), ("Terms", document.terms)):
        if text.strip():
            pdf.ln(5)
            pdf.set_font(family, "B", 9)
            pdf.cell(width, 5, clean(heading), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_font(family, "", 9)
            pdf.multi_cell(width, 4.5, clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    return bytes(pdf.output())


def _party(pdf: FPDF, family: str, clean, party: Party, width: float, *, align: str) -> None:
    x = pdf.get_x()
    pdf.set_font(family, "B", 11)
    pdf.multi_cell(width, 5.5, clean(party.name), align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(family, "", 9)
    for line in party.lines:
        if line and line.strip():
            pdf.set_x(x)
            pdf.multi_cell(width, 4.5, clean(line), align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)


def _headings_style(family: str):
    from fpdf.fonts import FontFace

    return FontFace(family=family, emphasis="BOLD", fill_color=(238, 238, 238))


def _trim(value: Decimal) -> str:
    """A quantity or percent without useless zeros: 2.000 → "2", 1.50 → "1.5"."""
    return format(value.normalize(), "f")


def _printable(text: str) -> str:
    """`text` without control characters that fonts cannot draw (newlines and tabs kept)."""
    return "".join(
        char if char in "\n\t" or unicodedata.category(char)[0] != "C" else " "
        for char in str(text)
    )
