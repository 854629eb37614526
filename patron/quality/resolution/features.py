"""Derived matching features, computed column-wise so that preparing 1M records takes seconds.

Everything here is plain pandas: string cleaning with vectorised ``.str`` methods, and look-ups
(nickname sets, phonetic codes) computed once per *distinct* value and mapped back, because a
CRM has far fewer distinct names than records.
"""

from __future__ import annotations

from functools import cache

import jellyfish
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
    r"\bstreet\b": "st",
    r"\bstr\b": "st",
    r"stra(?:ss|ß)e\b": "str",
    r"\broad\b": "rd",
    r"\bavenue\b": "ave",
    r"\bav\b": "ave",
    r"\bplace\b": "pl",
    r"\bdrive\b": "dr",
    r"\blane\b": "ln",
    r"\bcourt\b": "ct",
    r"\bcrescent\b": "cres",
    r"\bboulevard\b": "blvd",
    r"\bclose\b": "cl",
}

_NICKNAMER = NickNamer()


def _null_if_blank(s: pd.Series) -> pd.Series:
    """Blank strings become None, which Splink's null levels recognise."""
    return s.where(s.str.len() > 0, None)


def _ascii_lower(s: pd.Series) -> pd.Series:
    s = s.fillna("").astype(str).str.strip().str.lower()
    # Transliterate the common European letters first, then drop remaining accents.
    s = (
        s.str.replace("ß", "ss", regex=False)
        .str.replace("ä", "ae", regex=False)
        .str.replace("ö", "oe", regex=False)
        .str.replace("ü", "ue", regex=False)
    )
    return s.str.normalize("NFKD").str.encode("ascii", errors="ignore").str.decode("ascii")


def clean_name(s: pd.Series) -> pd.Series:
    """Lower-case letters only: "O'Brien-Smith " -> "obriensmith"."""
    return _null_if_blank(_ascii_lower(s).str.replace(r"[^a-z]", "", regex=True))


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


def clean_email(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(full address with a repaired domain, local part without +tags)."""
    s = s.fillna("").astype(str).str.strip().str.lower()
    parts = s.str.extract(r"^([^@\s]+)@([^@\s]+)$")
    local = parts[0].str.replace(r"\+.*$", "", regex=True)
    domain = parts[1].str.rstrip(".")
    domain = domain.map(lambda d: EMAIL_DOMAIN_FIXES.get(d, d) if isinstance(d, str) else d)
    full = local + "@" + domain
    return full.where(full.notna(), None), local.where(local.notna(), None)


def clean_phone(s: pd.Series) -> pd.Series:
    s = s.fillna("").astype(str).str.replace(r"[^0-9+]", "", regex=True)
    return _null_if_blank(s.where(s.str.len() >= 6, ""))


def clean_street(s: pd.Series) -> pd.Series:
    s = _ascii_lower(s).str.replace(r"[^a-z0-9 ]", " ", regex=True)
    for pattern, replacement in _STREET_ABBREVIATIONS.items():
        s = s.str.replace(pattern, replacement, regex=True)
    return _null_if_blank(s.str.replace(r"\s+", " ", regex=True).str.strip())


def clean_code(s: pd.Series) -> pd.Series:
    """Postcodes and identifiers: upper-case alphanumerics only."""
    s = s.fillna("").astype(str).str.upper().str.replace(r"[^0-9A-Z]", "", regex=True)
    return _null_if_blank(s)


def clean_city(s: pd.Series) -> pd.Series:
    s = _ascii_lower(s).str.replace(r"[^a-z ]", " ", regex=True)
    return _null_if_blank(s.str.replace(r"\s+", " ", regex=True).str.strip())


def clean_date(s: pd.Series) -> pd.Series:
    """Keep ISO dates as text (YYYY-MM-DD); anything else is missing."""
    s = s.fillna("").astype(str).str.strip()
    ok = s.str.fullmatch(r"\d{4}-\d{2}-\d{2}")
    return s.where(ok, None)


def prepare_people(raw: pd.DataFrame) -> pd.DataFrame:
    """Raw RAW_COLUMNS frame -> the feature frame the person model compares."""
    out = pd.DataFrame({"unique_id": raw["unique_id"].astype("int64").to_numpy()})
    out["source"] = raw["source"].fillna("").astype(str).to_numpy()
    first = clean_name(raw["first_name"]).reset_index(drop=True)
    last = clean_name(raw["last_name"]).reset_index(drop=True)
    out["first_name"] = first
    out["last_name"] = last
    out["first_names"] = first_name_set(first)
    out["first_canon"] = first_name_canonical(first)
    out["first_meta"] = metaphone(out["first_canon"])
    out["last_meta"] = metaphone(last)
    out["first_init"] = first.str.slice(0, 1)
    out["last_init"] = last.str.slice(0, 1)
    out["first_prefix"] = first.str.slice(0, 3)
    email, local = clean_email(raw["email"].reset_index(drop=True))
    out["email"] = email
    out["email_local"] = local
    out["email_digits"] = email.str.replace(r"[^0-9]", "", regex=True)
    out["email_letters"] = email.str.replace(r"[^a-z0-9@]", "", regex=True)
    out["phone"] = clean_phone(raw["phone"].reset_index(drop=True))
    out["street"] = clean_street(raw["street"].reset_index(drop=True))
    out["postal_code"] = clean_code(raw["postal_code"].reset_index(drop=True))
    out["city"] = clean_city(raw["city"].reset_index(drop=True))
    dob = clean_date(raw["date_of_birth"].reset_index(drop=True))
    out["dob"] = dob
    out["dob_year"] = dob.str.slice(0, 4)
    out["dob_md"] = dob.str.slice(5, 10)
    out["identifier"] = clean_code(raw["identifier"].reset_index(drop=True))
    for column in out.columns:
        if column not in ("unique_id", "first_names"):
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    out["first_names"] = out["first_names"].where(out["first_name"].notna(), None)
    return out
