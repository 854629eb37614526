"""Derived matching features, computed column-wise so that preparing 1M records takes seconds.

Everything here is plain pandas: string cleaning with vectorised ``.str`` methods, and look-ups
(nickname sets, phonetic codes) computed once per *distinct* value and mapped back, because a
CRM has far fewer distinct names than records.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

import jellyfish
import numpy as np
import pandas as pd
from nicknames import NickNamer

# Domains customers mistype often enough to be worth repairing before comparing addresses.
EMAIL_DOMAIN_FIXES = {
    "gmial.com": "gmail.com",
    "gmai.com": "gmail.com",
    "gamil.com": "gmail.com",
    "gmail.co": "gmail.com",
    "gmail.cm": "gmail.com",
    "gmail.con": "gmail.com",
    "gmaill.com": "gmail.com",
    "gmal.com": "gmail.com",
    "gnail.com": "gmail.com",
    "googlemail.com": "gmail.com",
    "hotmial.com": "hotmail.com",
    "hotmai.com": "hotmail.com",
    "hotmail.co": "hotmail.com",
    "hotmail.con": "hotmail.com",
    "hotmal.com": "hotmail.com",
    "hotnail.com": "hotmail.com",
    "homtail.com": "hotmail.com",
    "yaho.com": "yahoo.com",
    "yahoo.co": "yahoo.com",
    "yahooo.com": "yahoo.com",
    "yhoo.com": "yahoo.com",
    "yahoo.con": "yahoo.com",
    "outlok.com": "outlook.com",
    "outlook.co": "outlook.com",
    "outllook.com": "outlook.com",
    "iclod.com": "icloud.com",
    "icloud.co": "icloud.com",
    "gmx.de.": "gmx.de",
    "gmx.dee": "gmx.de",
    "web.d": "web.de",
    "wed.de": "web.de",
    "t-onlin.de": "t-online.de",
    "tonline.de": "t-online.de",
}

_STREET_ABBREVIATIONS = {
    "street": "st",
    "str": "st",
    "road": "rd",
    "avenue": "ave",
    "av": "ave",
    "place": "pl",
    "drive": "dr",
    "lane": "ln",
    "court": "ct",
    "crescent": "cres",
    "boulevard": "blvd",
    "close": "cl",
}
_STREET_WORD = re.compile(r"\b(" + "|".join(_STREET_ABBREVIATIONS) + r")\b")

_NICKNAMER = NickNamer()


def _null_if_blank(s: pd.Series) -> pd.Series:
    """Blank strings become None, which Splink's null levels recognise."""
    return s.where(s.str.len() > 0, None)


# Cleaning runs once per distinct value, as one Python function per value: several times
# faster than a chain of pandas .str passes, each of which loops over the values again.

_TRANSLITERATE = str.maketrans({"ß": "ss", "ä": "ae", "ö": "oe", "ü": "ue"})
_NOT_LETTER = re.compile(r"[^a-z]")
_NOT_LETTER_OR_SPACE = re.compile(r"[^a-z ]")
_NOT_ALNUM_OR_SPACE = re.compile(r"[^a-z0-9 ]")
_NOT_CODE = re.compile(r"[^0-9A-Z]")
_NOT_PHONE = re.compile(r"[^0-9+]")
_NOT_DIGIT = re.compile(r"[^0-9]")
_NOT_EMAIL_LETTER = re.compile(r"[^a-z0-9@]")
_EMAIL = re.compile(r"^([^@\s]+)@([^@\s]+)$")
_PLUS_TAG = re.compile(r"\+.*$")
_STRASSE = re.compile(r"strasse\b")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _ascii_lower_value(value: str) -> str:
    value = value.strip().lower()
    if value.isascii():
        return value
    # Transliterate the common European letters first, then drop remaining accents.
    value = unicodedata.normalize("NFKD", value.translate(_TRANSLITERATE))
    return value.encode("ascii", errors="ignore").decode("ascii")


def _per_value(s: pd.Series, fn) -> pd.Series:  # type: ignore[no-untyped-def]
    """fn over the values of `s`, missing values as ""."""
    return pd.Series(
        [fn("" if v is None or v != v else str(v)) for v in s.tolist()],
        index=s.index,
        dtype=object,
    )


def _ascii_lower(s: pd.Series) -> pd.Series:
    return _per_value(s, _ascii_lower_value)


def _clean_name_value(value: str) -> str | None:
    return _NOT_LETTER.sub("", _ascii_lower_value(value)) or None


def clean_name(s: pd.Series) -> pd.Series:
    """Lower-case letters only: "O'Brien-Smith " -> "obriensmith"."""
    return _per_value(s, _clean_name_value)


@cache
def _name_set(name: str) -> tuple[str, ...]:
    """The name plus the formal names it is a nickname of (bob -> bob, robert, bobby, bert)."""
    return tuple(sorted({name} | _NICKNAMER.canonicals_of(name)))


def _map_distinct(s: pd.Series, fn) -> pd.Series:  # type: ignore[no-untyped-def]
    """Apply a per-value function once per distinct non-null value."""
    distinct = s.dropna().unique()
    lookup = {v: fn(v) for v in distinct}
    return s.map(lookup)


def first_name_set(first: pd.Series) -> pd.Series:
    return _map_distinct(first, lambda v: list(_name_set(v)))


def first_name_canonical(first: pd.Series) -> pd.Series:
    """One representative formal name per first name, for blocking (Bob -> bert/robert...)."""
    return _map_distinct(first, lambda v: min(_name_set(v)) if len(_name_set(v)) > 1 else v)


def metaphone(s: pd.Series) -> pd.Series:
    return _map_distinct(s, lambda v: jellyfish.metaphone(v) or None)


def _clean_email_value(value: str) -> tuple[str | None, ...]:
    match = _EMAIL.search(value.strip().lower())
    if match is None:
        return (None, None, None, None)
    local = _PLUS_TAG.sub("", match.group(1))
    domain = match.group(2).rstrip(".")
    full = local + "@" + EMAIL_DOMAIN_FIXES.get(domain, domain)
    return (full, local, _NOT_DIGIT.sub("", full), _NOT_EMAIL_LETTER.sub("", full))


def clean_email(s: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """(address with a repaired domain, local part without +tags, its digits, the address
    without separators)."""
    parts = list(zip(*_per_value(s, _clean_email_value).tolist(), strict=True)) or [()] * 4
    full, local, digits, letters = (pd.Series(p, index=s.index, dtype=object) for p in parts)
    return full, local, digits, letters


def _clean_phone_value(value: str) -> str | None:
    value = _NOT_PHONE.sub("", value)
    return value if len(value) >= 6 else None


def clean_phone(s: pd.Series) -> pd.Series:
    return _per_value(s, _clean_phone_value)


def _abbreviate(match: re.Match[str]) -> str:
    return _STREET_ABBREVIATIONS[match.group(1)]


def _clean_street_value(value: str) -> str | None:
    value = _NOT_ALNUM_OR_SPACE.sub(" ", _ascii_lower_value(value))
    value = _STREET_WORD.sub(_abbreviate, _STRASSE.sub("str", value))
    return " ".join(value.split()) or None


def clean_street(s: pd.Series) -> pd.Series:
    return _per_value(s, _clean_street_value)


def _clean_code_value(value: str) -> str | None:
    return _NOT_CODE.sub("", value.upper()) or None


def clean_code(s: pd.Series) -> pd.Series:
    """Postcodes and identifiers: upper-case alphanumerics only."""
    return _per_value(s, _clean_code_value)


def _clean_city_value(value: str) -> str | None:
    return " ".join(_NOT_LETTER_OR_SPACE.sub(" ", _ascii_lower_value(value)).split()) or None


def clean_city(s: pd.Series) -> pd.Series:
    return _per_value(s, _clean_city_value)


def _clean_date_value(value: str) -> str | None:
    value = value.strip()
    return value if _DATE.fullmatch(value) else None


def clean_date(s: pd.Series) -> pd.Series:
    """Keep ISO dates as text (YYYY-MM-DD); anything else is missing."""
    return _per_value(s, _clean_date_value)


def _house_number(street: pd.Series) -> pd.Series:
    """The first number in a cleaned street ("12 high st", "hauptstr 12" -> "12")."""
    return street.str.extract(r"(\d+)", expand=False)


def _by_distinct(s: pd.Series, clean) -> pd.Series:  # type: ignore[no-untyped-def]
    """Run a column cleaner on the distinct values only and spread the result back: names,
    cities and postcodes repeat so much that this is several times faster on 1M rows."""
    codes, uniques = pd.factorize(s.reset_index(drop=True), use_na_sentinel=True)
    cleaned = clean(pd.Series(uniques, dtype=object))
    if isinstance(cleaned, tuple):
        return tuple(_spread(part, codes) for part in cleaned)
    return _spread(cleaned, codes)


def _spread(cleaned: pd.Series, codes: np.ndarray) -> pd.Series:
    values = np.empty(len(cleaned) + 1, dtype=object)  # the last slot stays None
    values[:-1] = cleaned.astype(object).where(cleaned.notna(), None).to_numpy()
    return pd.Series(values[codes], dtype=object)  # code -1 picks the trailing None


def prepare_people(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw RAW_COLUMNS frame -> the feature frame the person model compares."""
    out = pd.DataFrame({"unique_id": raw["unique_id"].astype("int64").to_numpy()})
    out["source"] = raw["source"].fillna("").astype(str).to_numpy()
    first = _by_distinct(raw["first_name"], clean_name)
    last = _by_distinct(raw["last_name"], clean_name)
    out["first_name"] = first
    out["last_name"] = last
    out["first_names"] = first_name_set(first)
    out["first_canon"] = first_name_canonical(first)
    out["first_meta"] = metaphone(out["first_canon"])
    out["last_meta"] = metaphone(last)
    out["first_init"] = first.str.slice(0, 1)
    out["last_init"] = last.str.slice(0, 1)
    out["first_prefix"] = first.str.slice(0, 3)
    email_parts = _by_distinct(raw["email"], clean_email)
    names = ("email", "email_local", "email_digits", "email_letters")
    for name, part in zip(names, email_parts, strict=True):
        out[name] = part
    out["phone"] = _by_distinct(raw["phone"], clean_phone)
    out["street"] = _by_distinct(raw["street"], clean_street)
    out["postal_code"] = _by_distinct(raw["postal_code"], clean_code)
    out["city"] = _by_distinct(raw["city"], clean_city)
    dob = _by_distinct(raw["date_of_birth"], clean_date)
    out["dob"] = dob
    out["dob_year"] = dob.str.slice(0, 4)
    out["dob_md"] = dob.str.slice(5, 10)
    out["identifier"] = _by_distinct(raw["identifier"], clean_code)
    # Blocking keys that survive common typos: an identifier's characters in sorted order
    # (a transposition keeps them), and the house number alone (a misspelt street keeps it).
    out["identifier_sorted"] = _map_distinct(out["identifier"], lambda v: "".join(sorted(v)))
    out["house_number"] = _by_distinct(out["street"], _house_number)
    for column in ("first_init", "last_init", "first_prefix", "dob_year", "dob_md", "house_number"):
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    out["first_names"] = out["first_names"].where(out["first_name"].notna(), None)
    return add_blocking_keys(out)


# A name shared by more records than this is too common to be evidence on its own: a pair with
# only the name in common cannot reach the match threshold, so such pairs are not worth
# scoring and must be found by a rule that also requires something else in common.
NAME_BLOCK_LIMIT = 30


def add_blocking_keys(features: pd.DataFrame) -> pd.DataFrame:
    """Add keys that depend on the whole data set (again after combining prepared frames).

    ``rare_name``: last name + first three letters of the first name, only where fewer than
    NAME_BLOCK_LIMIT records share it. Blocking on the plain name would compare every pair of
    "Thomas Müller"s (about 10M pairs in 1M records), nearly all of them hopeless.
    """
    key = features["last_name"] + " " + features["first_prefix"]
    sizes = key.map(key.value_counts())
    rare = key.where(sizes <= NAME_BLOCK_LIMIT).astype(object)
    features["rare_name"] = rare.where(rare.notna(), None)
    return features


# --- organisations ------------------------------------------------------------------------

# Legal forms, dropped from the end of a company name before comparing: "ACME GmbH & Co. KG",
# "Acme Ltd" and "acme" are one name.
LEGAL_SUFFIXES = frozenset([
    "ab", "ag", "as", "bv", "co", "company", "corp", "corporation", "cv", "ev", "gbr", "gmbh",
    "inc", "incorporated", "kg", "kgaa", "limited", "llc", "llp", "lp", "ltd", "mbh", "nv",
    "ohg", "oy", "plc", "pte", "pty", "sa", "sarl", "sas", "se", "spa", "srl", "ug",
])  # fmt: skip
# Addresses at these providers say nothing about the employer.
FREEMAIL_DOMAINS = frozenset(EMAIL_DOMAIN_FIXES.values()) | {
    "aol.com",
    "freenet.de",
    "gmx.net",
    "live.com",
    "mail.com",
    "msn.com",
    "orange.fr",
    "protonmail.com",
    "yahoo.de",
    "yahoo.fr",
    "yahoo.co.uk",
}


def _company_name(name: str) -> str:
    words = name.split()
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return " ".join(words)


def clean_company_name(s: pd.Series) -> pd.Series:
    """Lower-case words without punctuation or trailing legal form: "ACME GmbH & Co. KG" ->
    "acme"."""
    s = _ascii_lower(s).str.replace(r"[^a-z0-9 ]", " ", regex=True)
    s = s.str.replace(r"\s+", " ", regex=True).str.strip()
    return _null_if_blank(s.map(_company_name))


def clean_domain(s: pd.Series) -> pd.Series:
    """A web domain without scheme, "www.", path or port: "https://www.Acme.de/x" -> "acme.de"."""
    s = s.fillna("").astype(str).str.strip().str.lower()
    s = s.str.replace(r"^[a-z]+://", "", regex=True).str.replace(r"^www\.", "", regex=True)
    s = s.str.replace(r"[/:?#].*$", "", regex=True).str.rstrip(".")
    return _null_if_blank(s.where(s.str.contains(".", regex=False), ""))


def prepare_organisations(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw organisation frame (unique_id, source, name, domain, email, phone, street,
    postal_code, city, country, identifier) -> the features the organisation model compares."""
    out = pd.DataFrame({"unique_id": raw["unique_id"].astype("int64").to_numpy()})
    out["source"] = raw["source"].fillna("").astype(str).to_numpy()
    name = _by_distinct(raw["name"], clean_company_name)
    out["name"] = name
    out["name_key"] = name.str.replace(" ", "", regex=False)
    out["name_prefix"] = out["name_key"].str.slice(0, 4)
    out["name_meta"] = metaphone(name.str.split(" ").str[0])
    email_parts = _by_distinct(raw["email"], clean_email)
    out["email"] = email_parts[0]
    out["email_digits"] = email_parts[2]
    out["email_letters"] = email_parts[3]
    email_domain = out["email"].str.split("@").str[1]
    email_domain = email_domain.where(~email_domain.isin(FREEMAIL_DOMAINS))
    domain = _by_distinct(raw["domain"], clean_domain)
    out["domain"] = domain.where(domain.notna(), email_domain)
    out["phone"] = _by_distinct(raw["phone"], clean_phone)
    out["street"] = _by_distinct(raw["street"], clean_street)
    out["house_number"] = _by_distinct(out["street"], _house_number)
    out["postal_code"] = _by_distinct(raw["postal_code"], clean_code)
    out["city"] = _by_distinct(raw["city"], clean_city)
    out["country"] = _by_distinct(raw["country"], clean_code)
    out["identifier"] = _by_distinct(raw["identifier"], clean_code)
    for column in out.columns[2:]:
        out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out
