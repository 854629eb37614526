"""Small text helpers with no models: folding for search, digits of phone numbers."""

import re
import unicodedata

_NON_DIGIT = re.compile(r"\D+")
_WHITESPACE = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case, strip accents and squeeze spaces: "Ögünç  MÜLLER" -> "ogunc muller"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WHITESPACE.sub(" ", stripped.casefold()).strip()


def digits(text: str) -> str:
    return _NON_DIGIT.sub("", text or "")
