"""Phone number normalisation with the `phonenumbers` library (E.164)."""

from __future__ import annotations

import phonenumbers

from .text import digits


def to_e164(raw: str, region: str) -> str:
    """E.164 form of `raw` read in `region`, or "" when it is not a possible number."""
    try:
        parsed = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_possible_number(parsed):
        return ""
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def search_variants(raw: str, e164: str) -> list[str]:
    """Digit strings under which a phone is found: E.164, national and as typed."""
    variants = [digits(raw)]
    if e164:
        variants.append(digits(e164))
        try:
            parsed = phonenumbers.parse(e164, None)
            national = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
            variants.append(digits(national))
        except phonenumbers.NumberParseException:
            pass
    return list(dict.fromkeys(v for v in variants if v))


def display(e164: str, raw: str) -> str:
    """International format for display, falling back to what was typed."""
    if not e164:
        return raw
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return raw
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
