"""Synthetic customer records with known truth, for measuring entity resolution.

`generate(people, seed)` builds a population of people living in Germany, the United
Kingdom, the United States and France, and the records three source systems hold about
them ("billing", "webshop", "callcentre"), with the kinds of disagreement real CRMs see.
Every record carries its ground truth: `person_id` (the same person) and `household_id`
(people living together; a person living alone has a household of their own).
`true_pairs(frame)` lists the record pairs that belong to one person.

The frame has the columns of the resolution engine's raw frame, `RAW_COLUMNS`: `unique_id`
is int64 and unique (rows are shuffled, so ids say nothing about the truth); every other
field is `str`, "" when missing; phones are E.164 ("+4930123456"), dates of birth ISO
("YYYY-MM-DD"), countries ISO 3166 alpha-2 ("DE"). `identifier` is billing's own
customer number, unique per billing account and absent from the other systems, so it
never links two records. Same seed, same frame. About 1.76 records per person:
`people_for_records(n)` gives the population size for n records. 1,000,000 records take
about 8 seconds on one core.

Population (per person)
    country                 DE 35 %, GB 25 %, US 25 %, FR 15 %
    names                   faker's name lists for the country, Zipf-weighted so common
                            names are common; 12 % of surnames from another country's
                            list, 3 % double-barrelled (not US)
    middle name             DE 12 %, GB 35 %, US 45 %, FR 20 %
    date of birth           age ~ N(45, 16) clipped to 18–95 on 2026-01-01
    mobile / landline       95 % / 30 % (everyone in a household has the landline)
    second email address    15 %
    moved house             12 %: half within the city, half to another city; the old
                            landline stays with the old address
    changed mobile number   8 %: the old number lives on in some systems
    households              15 % of people live in households of 2 (65 %), 3 (25 %) or
                            4 (10 %) people sharing surname, address and landline, each
                            with their own first name, date of birth, email and mobile
    namesakes               2 % of people living alone share first and last name with
                            another person of their country who lives in another city
                            (different date of birth, email and phone); common names
                            produce more namesakes on their own

Presence in the systems
    number of systems       1: 50 %, 2: 32 %, 3: 18 % (some people in all three); which
                            ones weighted billing 0.60, webshop 0.55, callcentre 0.40
    duplicate account       a second record within one system: billing 3 %, webshop 6 %,
                            callcentre 5 % of a person's system presences; a duplicate
                            account uses the second email address half the time

Per record                  billing   webshop   callcentre
    email missing             15 %       0 %       65 %
    phone missing             20 %      45 %        3 %
    date of birth missing     25 %      85 %       50 %
    address missing            2 %      10 %       40 %   (country too, in callcentre)
    first name missing         0 %       0 %        2 %
    middle name shown         60 %      15 %        5 %   (30 % of them as an initial)
    nickname (if one exists)   3 %      15 %       10 %   (Robert → Bob, Stefanie → Steffi)
    typo in first name         2 %       3 %        6 %   (insert/delete/substitute/
    typo in last name          2 %       3 %        6 %    transpose one character)
    names in capitals          6 %       0 %        0 %   (legacy system)
    first/last name swapped    1 %       1 %        1 %
    old address (movers)      50 %      20 %       35 %
    old mobile number         50 %      20 %       35 %   (people who changed it)
    phone: landline instead    50 %       0 %       30 %   (when the person has one)
    of mobile
    another number             3 %       3 %        5 %   (work phone: never seen again)
    second email address      20 %      20 %       20 %   (when the person has one)
    email in other case        8 %, domain typo (gmial.com, web.dr, …) 1.5 %
    street abbreviated        25 %  (Straße → Str., Road → Rd, avenue → av.)
    postcode typo              1 %
    date of birth typo         2 % day and month transposed (or a digit of the day
                               wrong when the day is above 12), 1 % year off by one
    date of birth placeholder  0.2 % "1900-01-01" in callcentre
"""

from __future__ import annotations

import importlib
import random
import unicodedata

import numpy as np
import pandas as pd

from .columns import RAW_COLUMNS

SOURCES = ("billing", "webshop", "callcentre")
TRUTH_COLUMNS = ["person_id", "household_id"]
COLUMNS = RAW_COLUMNS + TRUTH_COLUMNS

REFERENCE_DATE = np.datetime64("2026-01-01")
COUNTRIES = ("DE", "GB", "US", "FR")
COUNTRY_SHARE = (0.35, 0.25, 0.25, 0.15)
LOCALES = {"DE": "de_DE", "GB": "en_GB", "US": "en_US", "FR": "fr_FR"}
MIDDLE_NAME_RATE = {"DE": 0.12, "GB": 0.35, "US": 0.45, "FR": 0.20}
FOREIGN_SURNAME_RATE = 0.12
DOUBLE_SURNAME_RATE = 0.03
MOBILE_RATE = 0.95
LANDLINE_RATE = 0.30
SECOND_EMAIL_RATE = 0.15
MOVED_RATE = 0.12
CHANGED_MOBILE_RATE = 0.08
HOUSEHOLD_PEOPLE_RATE = 0.15
HOUSEHOLD_SIZES = (2, 3, 4)
HOUSEHOLD_SIZE_SHARE = (0.65, 0.25, 0.10)
NAMESAKE_RATE = 0.02
SYSTEM_COUNT_SHARE = (0.50, 0.32, 0.18)
SYSTEM_WEIGHT = (0.60, 0.55, 0.40)
DUPLICATE_RATE = (0.03, 0.06, 0.05)
DUPLICATE_SECOND_EMAIL = 0.5

# Per record, indexed like SOURCES.
MISSING = {
    "email": (0.15, 0.0, 0.65),
    "phone": (0.20, 0.45, 0.03),
    "date_of_birth": (0.25, 0.85, 0.50),
    "address": (0.02, 0.10, 0.40),
    "first_name": (0.0, 0.0, 0.02),
}
MIDDLE_SHOWN = (0.60, 0.15, 0.05)
MIDDLE_INITIAL = 0.30
NICKNAME = (0.03, 0.15, 0.10)
NAME_TYPO = (0.02, 0.03, 0.06)
CAPITALS = (0.06, 0.0, 0.0)
NAME_SWAP = 0.01
OLD_ADDRESS = (0.50, 0.20, 0.35)
OLD_MOBILE = (0.50, 0.20, 0.35)
LANDLINE_INSTEAD = (0.50, 0.0, 0.30)
OTHER_NUMBER = (0.03, 0.03, 0.05)
SECOND_EMAIL_USE = 0.20
EMAIL_CASE = 0.08
EMAIL_DOMAIN_TYPO = 0.015
STREET_ABBREVIATION = 0.25
POSTCODE_TYPO = 0.01
DOB_TRANSPOSED = 0.02
DOB_YEAR_OFF = 0.01
DOB_PLACEHOLDER = 0.002  # callcentre only

RECORDS_PER_PERSON = sum((k + 1) * share for k, share in enumerate(SYSTEM_COUNT_SHARE)) * (
    1 + float(np.average(DUPLICATE_RATE, weights=SYSTEM_WEIGHT))
)

EMAIL_DOMAINS = {
    "DE": (("gmx.de", 0.25), ("web.de", 0.25), ("gmail.com", 0.25), ("t-online.de", 0.15),
           ("outlook.de", 0.10)),
    "GB": (("gmail.com", 0.35), ("hotmail.co.uk", 0.2), ("yahoo.co.uk", 0.15),
           ("outlook.com", 0.15), ("btinternet.com", 0.15)),
    "US": (("gmail.com", 0.4), ("yahoo.com", 0.2), ("hotmail.com", 0.12), ("outlook.com", 0.1),
           ("aol.com", 0.08), ("icloud.com", 0.1)),
    "FR": (("gmail.com", 0.3), ("orange.fr", 0.2), ("free.fr", 0.15), ("hotmail.fr", 0.15),
           ("laposte.net", 0.1), ("sfr.fr", 0.1)),
}  # fmt: skip
DOMAIN_TYPOS = {
    "gmail.com": ("gmial.com", "gmail.con", "gmal.com", "gmail.co"),
    "gmx.de": ("gmx.net", "gmx.d", "gxm.de"),
    "web.de": ("web.dr", "wep.de", "web.com"),
    "t-online.de": ("tonline.de", "t-onlin.de"),
    "outlook.de": ("outlok.de", "outlook.com"),
    "outlook.com": ("outlok.com", "outlook.co"),
    "hotmail.co.uk": ("hotmial.co.uk", "hotmail.com"),
    "hotmail.com": ("hotmial.com", "hotmail.co"),
    "hotmail.fr": ("hotmial.fr", "hotmail.com"),
    "yahoo.co.uk": ("yaho.co.uk", "yahoo.com"),
    "yahoo.com": ("yaho.com", "yahooo.com"),
    "btinternet.com": ("btinternet.co", "btinterent.com"),
    "aol.com": ("aol.co", "aoll.com"),
    "icloud.com": ("iclod.com", "icloud.co"),
    "orange.fr": ("ornage.fr", "orange.com"),
    "free.fr": ("fre.fr", "free.com"),
    "laposte.net": ("lapost.net", "laposte.fr"),
    "sfr.fr": ("sfr.com", "srf.fr"),
}
STREET_ABBREVIATIONS = (
    ("straße", "str."),
    ("Straße", "Str."),
    (" Street", " St"),
    (" Road", " Rd"),
    (" Avenue", " Ave"),
    (" Lane", " Ln"),
    (" Drive", " Dr"),
    ("avenue ", "av. "),
    ("boulevard ", "bd "),
)
# Nicknames people actually use, per canonical first name (lower case). English names the
# table lacks fall back to the `nicknames` package, keeping only nicknames that start like
# the name (its archaic ones, Robert → Hob, are left out).
NICKNAMES = {
    "robert": ("bob", "rob", "bobby"),
    "elizabeth": ("liz", "beth", "lizzie", "betty"),
    "william": ("bill", "will", "billy"),
    "richard": ("rick", "dick", "richie"),
    "margaret": ("maggie", "peggy", "meg"),
    "michael": ("mike", "mikey"),
    "james": ("jim", "jimmy", "jamie"),
    "john": ("jack", "johnny"),
    "joseph": ("joe", "joey"),
    "thomas": ("tom", "tommy"),
    "charles": ("charlie", "chuck"),
    "christopher": ("chris",),
    "daniel": ("dan", "danny"),
    "matthew": ("matt",),
    "anthony": ("tony",),
    "andrew": ("andy", "drew"),
    "jennifer": ("jen", "jenny"),
    "katherine": ("kate", "katie", "kathy"),
    "catherine": ("cathy", "kate"),
    "patricia": ("pat", "patty", "trish"),
    "susan": ("sue", "susie"),
    "deborah": ("debbie", "deb"),
    "rebecca": ("becky",),
    "samantha": ("sam",),
    "alexander": ("alex",),
    "alexandra": ("alex", "sandra"),
    "benjamin": ("ben",),
    "nicholas": ("nick",),
    "jonathan": ("jon",),
    "edward": ("ed", "eddie", "ted"),
    "victoria": ("vicky", "tori"),
    "jessica": ("jess",),
    "stephanie": ("steph",),
    "timothy": ("tim",),
    "steven": ("steve",),
    "stephen": ("steve",),
    "david": ("dave",),
    "kenneth": ("ken",),
    "gregory": ("greg",),
    "ronald": ("ron",),
    "donald": ("don",),
    "christian": ("chris",),
    "andreas": ("andi",),
    "johannes": ("hannes",),
    "matthias": ("matze",),
    "sebastian": ("basti",),
    "stefanie": ("steffi",),
    "elisabeth": ("lisa", "liesel"),
    "susanne": ("susi",),
    "gabriele": ("gabi",),
    "maximilian": ("max",),
    "franziska": ("franzi",),
    "christina": ("tina",),
    "christine": ("tina",),
    "katharina": ("kathi", "katja"),
    "barbara": ("babsi",),
    "wolfgang": ("wolf",),
    "alexandre": ("alex",),
    "nicolas": ("nico",),
    "frédéric": ("fred",),
    "christophe": ("chris",),
    "isabelle": ("isa",),
    "dominique": ("dom",),
    "sébastien": ("seb",),
    "guillaume": ("guigui",),
}
TRANSLITERATION = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o"}
)


# --------------------------------------------------------------------------- pools


class _Pools:
    """Name, street and city lists per country, drawn from faker once per seed."""

    def __init__(self, seed: int) -> None:
        from faker import Faker

        rng = np.random.default_rng([seed, 1])
        self.first = {}  # (country, "m"/"f") -> (names, probabilities)
        self.last = {}
        self.street = {}
        self.cities = {}  # country -> dict of arrays: name, postcode, area, weight
        for country in COUNTRIES:
            locale = LOCALES[country]
            person = importlib.import_module(f"faker.providers.person.{locale}").Provider
            for sex, names in (("m", person.first_names_male), ("f", person.first_names_female)):
                self.first[country, sex] = _weighted(names, rng)
            self.last[country] = _weighted(person.last_names, rng)

            fake = Faker(locale)
            fake.seed_instance(seed)
            streets = sorted({fake.street_name() for _ in range(4000)})
            self.street[country] = np.array(streets, dtype=object)

            if country == "DE":
                address = importlib.import_module("faker.providers.address.de_DE").Provider
                names = sorted(set(address.cities))
            else:
                names = sorted({fake.city() for _ in range(1500)})
            n = len(names)
            names = np.array(names, dtype=object)[rng.permutation(n)]
            weight = 1.0 / np.arange(1, n + 1) ** 0.8
            self.cities[country] = {
                "name": names,
                "weight": weight / weight.sum(),
                "postcode": _city_postcodes(country, n, fake, rng),
                "area": _area_codes(country, n, rng),
            }


def _weighted(names, rng) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(names, dict):
        keys = np.array(list(names.keys()), dtype=object)
        weight = np.array(list(names.values()), dtype=float)
    else:
        keys = np.array(sorted(set(names)), dtype=object)
        keys = keys[rng.permutation(len(keys))]
        weight = 1.0 / (np.arange(len(keys)) + 5.0) ** 0.9
    return keys, weight / weight.sum()


def _city_postcodes(country: str, n: int, fake, rng) -> np.ndarray:
    if country == "GB":
        outward = sorted({fake.postcode().split()[0] for _ in range(n * 3)})
        return np.array(outward, dtype=object)[rng.choice(len(outward), n, replace=False)]
    # a base number per city, addresses spread over the next 20 codes
    return rng.choice(np.arange(1000, 97000, 20), n, replace=False)


def _area_codes(country: str, n: int, rng) -> np.ndarray:
    if country == "DE":  # 2–5 digit area codes, without the trunk 0
        return np.array(
            [
                str(x)
                for x in rng.integers(2, 10, n) * 10 ** rng.integers(1, 4, n)
                + rng.integers(0, 10, n)
            ],
            dtype=object,
        )
    if country == "GB":
        return np.array(
            [f"1{x:03d}" if x % 3 else f"2{x % 10}" for x in rng.integers(100, 1000, n)],
            dtype=object,
        )
    if country == "US":
        return np.array([str(x) for x in rng.integers(201, 990, n)], dtype=object)
    return np.array([str(x) for x in rng.integers(1, 6, n)], dtype=object)  # FR region digit


_POOL_CACHE: dict[int, _Pools] = {}


def _pools(seed: int) -> _Pools:
    if seed not in _POOL_CACHE:
        _POOL_CACHE.clear()
        _POOL_CACHE[seed] = _Pools(seed)
    return _POOL_CACHE[seed]


# --------------------------------------------------------------------------- people


def people_for_records(records: int) -> int:
    """How many people to generate for about `records` records."""
    return max(1, round(records / RECORDS_PER_PERSON))


def _choice(rng, pool: tuple[np.ndarray, np.ndarray], size: int) -> np.ndarray:
    names, p = pool
    return names[rng.choice(len(names), size, p=p)]


def _mobile(country: str, size: int, rng) -> np.ndarray:
    if country == "DE":
        prefix = rng.choice(
            np.array(
                [
                    "151",
                    "152",
                    "157",
                    "160",
                    "162",
                    "170",
                    "171",
                    "172",
                    "173",
                    "175",
                    "176",
                    "177",
                    "178",
                    "179",
                ]
            ),
            size,
        )
        rest = rng.integers(10_000_000, 100_000_000, size)
        return np.array([f"+49{p}{r}" for p, r in zip(prefix, rest, strict=True)], dtype=object)
    if country == "GB":
        return np.array(
            [f"+447{r}" for r in rng.integers(100_000_000, 1_000_000_000, size)], dtype=object
        )
    if country == "US":
        area = rng.integers(201, 990, size)
        rest = rng.integers(2_000_000, 10_000_000, size)
        return np.array([f"+1{a}{r}" for a, r in zip(area, rest, strict=True)], dtype=object)
    prefix = rng.choice(np.array(["6", "7"]), size, p=[0.8, 0.2])
    rest = rng.integers(10_000_000, 100_000_000, size)
    return np.array([f"+33{p}{r}" for p, r in zip(prefix, rest, strict=True)], dtype=object)


def _landline(country: str, area: np.ndarray, rng) -> np.ndarray:
    size = len(area)
    if country == "DE":
        rest = rng.integers(100_000, 10_000_000, size)
        return np.array([f"+49{a}{r}" for a, r in zip(area, rest, strict=True)], dtype=object)
    if country == "GB":
        rest = rng.integers(10**8, 10**9, size)
        return np.array(
            [f"+44{a}{str(r)[: 10 - len(a)]}" for a, r in zip(area, rest, strict=True)],
            dtype=object,
        )
    if country == "US":
        rest = rng.integers(2_000_000, 10_000_000, size)
        return np.array([f"+1{a}{r}" for a, r in zip(area, rest, strict=True)], dtype=object)
    rest = rng.integers(10_000_000, 100_000_000, size)
    return np.array([f"+33{a}{r}" for a, r in zip(area, rest, strict=True)], dtype=object)


def _ascii(name: str) -> str:
    name = name.lower().translate(TRANSLITERATION)
    name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in name if ch.isalnum() or ch in ".-")


def _emails(
    first: np.ndarray, last: np.ndarray, country: np.ndarray, rng, taken: set[str]
) -> np.ndarray:
    n = len(first)
    pattern = rng.choice(6, n, p=[0.35, 0.15, 0.15, 0.1, 0.15, 0.1])
    number = rng.integers(1, 100, n)
    domain = np.empty(n, dtype=object)
    for c in COUNTRIES:
        mask = country == c
        names, p = zip(*EMAIL_DOMAINS[c], strict=True)
        domain[mask] = np.array(names, dtype=object)[rng.choice(len(names), int(mask.sum()), p=p)]
    out = np.empty(n, dtype=object)
    cache: dict[str, str] = {}
    for i in range(n):
        f = cache.get(first[i]) or cache.setdefault(first[i], _ascii(first[i]))
        la = cache.get(last[i]) or cache.setdefault(last[i], _ascii(last[i]))
        k = pattern[i]
        if k == 0:
            local = f"{f}.{la}"
        elif k == 1:
            local = f"{f}{la}"
        elif k == 2:
            local = f"{f[:1]}.{la}"
        elif k == 3:
            local = f"{f}_{la}"
        elif k == 4:
            local = f"{f}.{la}{number[i]}"
        else:
            local = f"{la}.{f}"
        address = f"{local}@{domain[i]}"
        while address in taken:  # the provider hands out each address once
            address = f"{local}{rng.integers(1, 1000)}@{domain[i]}"
        taken.add(address)
        out[i] = address
    return out


def _people(n: int, seed: int, pools: _Pools) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, 2])
    pyrng = random.Random(seed * 7919 + 2)

    # Households take the first person ids, members next to each other.
    hh_people_target = int(n * HOUSEHOLD_PEOPLE_RATE)
    sizes = rng.choice(HOUSEHOLD_SIZES, hh_people_target // 2 + 1, p=HOUSEHOLD_SIZE_SHARE).astype(
        np.int64
    )
    sizes = sizes[: int(np.searchsorted(np.cumsum(sizes), hh_people_target)) + 1]
    sizes = sizes[np.cumsum(sizes) <= n] if hh_people_target else sizes[:0]
    in_households = int(sizes.sum())
    household = np.empty(n, dtype=np.int64)
    household[:in_households] = np.repeat(np.arange(len(sizes)), sizes)
    household[in_households:] = np.arange(len(sizes), len(sizes) + n - in_households)
    first_of_household = (
        np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        if len(sizes)
        else np.zeros(0, np.int64)
    )
    head = np.arange(n)
    head[:in_households] = np.repeat(first_of_household, sizes)
    rank = np.arange(n) - head  # 0 head, 1 partner, 2+ children or flatmates

    country = np.array(COUNTRIES, dtype=object)[rng.choice(4, n, p=COUNTRY_SHARE)]
    country = country[head]
    sex = np.where(rng.random(n) < 0.5, "m", "f").astype(object)
    sex[(rank == 1)] = np.where(sex[head[rank == 1]] == "m", "f", "m")

    first = np.empty(n, dtype=object)
    middle = np.full(n, "", dtype=object)
    last = np.empty(n, dtype=object)
    for c in COUNTRIES:
        for s in ("m", "f"):
            mask = (country == c) & (sex == s)
            k = int(mask.sum())
            first[mask] = _choice(rng, pools.first[c, s], k)
            with_middle = rng.random(k) < MIDDLE_NAME_RATE[c]
            mid = _choice(rng, pools.first[c, s], k)
            middle[np.flatnonzero(mask)[with_middle]] = mid[with_middle]
        mask = country == c
        k = int(mask.sum())
        last[mask] = _choice(rng, pools.last[c], k)
        foreign = np.flatnonzero(mask)[rng.random(k) < FOREIGN_SURNAME_RATE]
        other = rng.choice([o for o in COUNTRIES if o != c], len(foreign))
        for o in COUNTRIES:
            sel = foreign[other == o]
            last[sel] = _choice(rng, pools.last[o], len(sel))
        if c != "US":
            double = np.flatnonzero(mask)[rng.random(k) < DOUBLE_SURNAME_RATE]
            second = _choice(rng, pools.last[c], len(double))
            last[double] = [
                f"{a}-{b}" if a != b else a for a, b in zip(last[double], second, strict=True)
            ]
    last = last[head]
    # Household members have first names of their own.
    for start, size in zip(first_of_household, sizes, strict=True):
        seen = {first[start]}
        for i in range(start + 1, start + size):
            while first[i] in seen:
                first[i] = _choice(rng, pools.first[country[i], sex[i]], 1)[0]
            seen.add(first[i])

    # Dates of birth: partners within a few years, children 20–38 years younger.
    age_days = (np.clip(rng.normal(45, 16, n), 18, 95) * 365.25).astype(np.int64) + rng.integers(
        0, 365, n
    )
    partner = rank == 1
    age_days[partner] = age_days[head[partner]] + rng.integers(
        -6 * 365, 6 * 365, int(partner.sum())
    )
    child = rank >= 2
    younger = age_days[head[child]] - rng.integers(20 * 365, 38 * 365, int(child.sum()))
    age_days[child] = np.where(
        younger >= 16 * 365, younger, rng.integers(18 * 365, 30 * 365, int(child.sum()))
    )
    age_days = np.clip(age_days, 16 * 365, 96 * 365)
    for start, size in zip(first_of_household, sizes, strict=True):
        seen = set()
        for i in range(start, start + size):
            while age_days[i] in seen:  # no twins
                age_days[i] -= 400
            seen.add(age_days[i])
    dob = REFERENCE_DATE - age_days.astype("timedelta64[D]")

    # Addresses, per country pool.
    city = np.empty(n, dtype=np.int64)
    street = np.empty(n, dtype=object)
    for c in COUNTRIES:
        mask = country == c
        k = int(mask.sum())
        city[mask] = rng.choice(len(pools.cities[c]["name"]), k, p=pools.cities[c]["weight"])
        street[mask] = pools.street[c][rng.integers(0, len(pools.street[c]), k)]
    house = rng.integers(1, 200, n)
    postcode_offset = rng.integers(0, 20, n)
    inward = [
        f"{d}{a}{b}"
        for d, a, b in zip(
            rng.integers(0, 10, n),
            rng.choice(list("ABDEFGHJLNPQRSTUWXYZ"), n),
            rng.choice(list("ABDEFGHJLNPQRSTUWXYZ"), n),
            strict=True,
        )
    ]
    city, street, house, postcode_offset = (
        city[head],
        street[head],
        house[head],
        postcode_offset[head],
    )
    inward_codes = np.array(inward, dtype=object)[head]

    # Namesakes: people living alone who share first and last name with another person of
    # their country in another city.
    alone = np.flatnonzero(sizes.sum() <= np.arange(n))
    namesakes = alone[rng.random(len(alone)) < NAMESAKE_RATE / (1 - HOUSEHOLD_PEOPLE_RATE)]
    by_country = {c: np.flatnonzero(country == c) for c in COUNTRIES}
    for i in namesakes:
        same = by_country[country[i]]
        j = int(same[pyrng.randrange(len(same))])
        if j == i:
            continue
        first[i], last[i], sex[i] = first[j], last[j], sex[j]
        if city[i] == city[j]:
            city[i] = (city[i] + 1) % len(pools.cities[country[i]]["name"])

    # Phones.
    mobile = np.full(n, "", dtype=object)
    landline = np.full(n, "", dtype=object)
    old_mobile = np.full(n, "", dtype=object)
    has_mobile = rng.random(n) < MOBILE_RATE
    has_landline = (rng.random(n) < LANDLINE_RATE) | (household < len(sizes))
    has_landline = has_landline[head]
    changed = has_mobile & (rng.random(n) < CHANGED_MOBILE_RATE)
    for c in COUNTRIES:
        mask = country == c
        k = int(mask.sum())
        mobile[mask & has_mobile] = _mobile(c, k, rng)[has_mobile[mask]]
        old_mobile[mask & changed] = _mobile(c, k, rng)[changed[mask]]
        landline[mask] = _landline(c, pools.cities[c]["area"][city[mask]], rng)
    landline = np.where(has_landline, landline[head], "").astype(object)

    # Moving house: the whole household moves; the old address keeps its old landline.
    moved = (rng.random(n) < MOVED_RATE)[head]
    old_city = city.copy()
    across = (rng.random(n) < 0.5)[head]
    old_street = street.copy()
    for c in COUNTRIES:
        mask = country == c
        k = int(mask.sum())
        old_city[mask] = np.where(
            across[mask],
            rng.choice(len(pools.cities[c]["name"]), k, p=pools.cities[c]["weight"]),
            city[mask],
        )
        old_street[mask] = pools.street[c][rng.integers(0, len(pools.street[c]), k)]
    old_city, old_street = old_city[head], old_street[head]
    old_house = rng.integers(1, 200, n)[head]
    old_offset = rng.integers(0, 20, n)[head]
    old_inward = inward_codes[rng.permutation(n)][head]
    old_landline = np.full(n, "", dtype=object)
    for c in COUNTRIES:
        mask = country == c
        old_landline[mask] = _landline(c, pools.cities[c]["area"][old_city[mask]], rng)
    old_landline = np.where(has_landline, old_landline[head], "").astype(object)

    taken: set[str] = set()
    email = _emails(first, last, country, rng, taken)
    second_email = np.full(n, "", dtype=object)
    has_second = rng.random(n) < SECOND_EMAIL_RATE
    second_email[has_second] = _emails(
        first[has_second], last[has_second], country[has_second], rng, taken
    )

    return {
        "country": country,
        "household": household,
        "first": first,
        "middle": middle,
        "last": last,
        "dob": dob,
        "city": city,
        "street": street,
        "house": house,
        "postcode_offset": postcode_offset,
        "inward": inward_codes,
        "moved": moved,
        "old_city": old_city,
        "old_street": old_street,
        "old_house": old_house,
        "old_offset": old_offset,
        "old_inward": old_inward,
        "mobile": mobile,
        "old_mobile": old_mobile,
        "landline": landline,
        "old_landline": old_landline,
        "email": email,
        "second_email": second_email,
    }


# --------------------------------------------------------------------------- noise


def _typo(s: str, r: random.Random) -> str:
    if len(s) < 2:
        return s
    i = r.randrange(len(s))
    op = r.random()
    letters = "aeiounrstlmhdck"
    if op < 0.25:  # insert
        return s[:i] + r.choice(letters) + s[i:]
    if op < 0.5:  # delete
        return s[:i] + s[i + 1 :]
    if op < 0.75:  # substitute
        ch = r.choice(letters)
        if s[i].isupper():
            ch = ch.upper()
        return s[:i] + ch + s[i + 1 :]
    j = min(i, len(s) - 2)  # transpose
    return s[:j] + s[j + 1] + s[j] + s[j + 2 :]


def _nickname_table() -> dict[str, tuple[str, ...]]:
    from nicknames import NickNamer

    table = dict(NICKNAMES)
    for name, nicks in NickNamer().nickname_lookup.items():
        if name in table:
            continue
        keep = tuple(sorted(n for n in nicks if len(n) >= 3 and n[:2] == name[:2] and n != name))
        if keep:
            table[name] = keep
    return table


def _nickname(name: str, table: dict[str, tuple[str, ...]], r: random.Random) -> str:
    options = table.get(name.lower())
    if not options:
        return name
    return r.choice(options).capitalize()


def _dob_typo(iso: str, r: random.Random) -> str:
    y, m, d = iso.split("-")
    if r.random() < DOB_YEAR_OFF / (DOB_YEAR_OFF + DOB_TRANSPOSED):
        return f"{int(y) + r.choice((-1, 1)):04d}-{m}-{d}"
    if int(d) <= 12 and d != m:
        return f"{y}-{d}-{m}"
    digit = str((int(d[1]) + r.choice((1, 2, 8, 9))) % 10)
    day = d[0] + digit
    if not 1 <= int(day) <= 28:
        day = d
    return f"{y}-{m}-{day}"


def _address(country: str, street: str, house: int) -> str:
    if country == "DE":
        return f"{street} {house}"
    return f"{house} {street}"


def _postcode(country: str, base, offset: int, inward: str) -> str:
    if country == "GB":
        return f"{base} {inward}"
    return f"{int(base) + int(offset):05d}"


def population(people: int, seed: int = 7) -> pd.DataFrame:
    """The people behind `generate(people, seed)`, one clean row each, by person_id.

    Current address and landline, primary and second email, mobile and the old details
    of people who moved or changed their mobile number: the truth the records drift from.
    """
    pools = _pools(seed)
    p = _people(people, seed, pools)
    country = p["country"]
    street = np.empty(people, dtype=object)
    postal = np.empty(people, dtype=object)
    city = np.empty(people, dtype=object)
    old_city = np.empty(people, dtype=object)
    for c in COUNTRIES:
        mask = np.flatnonzero(country == c)
        cities = pools.cities[c]
        city[mask] = cities["name"][p["city"][mask]]
        old_city[mask] = cities["name"][p["old_city"][mask]]
        street[mask] = [
            _address(c, s, h) for s, h in zip(p["street"][mask], p["house"][mask], strict=True)
        ]
        bases = cities["postcode"][p["city"][mask]]
        postal[mask] = [
            _postcode(c, b, o, w)
            for b, o, w in zip(bases, p["postcode_offset"][mask], p["inward"][mask], strict=True)
        ]
    return pd.DataFrame(
        {
            "person_id": np.arange(people, dtype=np.int64),
            "household_id": p["household"],
            "first_name": p["first"],
            "middle_name": p["middle"],
            "last_name": p["last"],
            "email": p["email"],
            "second_email": p["second_email"],
            "mobile": p["mobile"],
            "old_mobile": p["old_mobile"],
            "landline": p["landline"],
            "street": street,
            "postal_code": postal,
            "city": city,
            "country": country,
            "date_of_birth": np.datetime_as_string(p["dob"], unit="D").astype(object),
            "moved": p["moved"],
            "old_city": np.where(p["moved"], old_city, "").astype(object),
        }
    )


def generate(people: int, seed: int = 7) -> pd.DataFrame:
    """Records of `people` people in three source systems, with person and household truth."""
    if people < 1:
        raise ValueError("people must be at least 1")
    pools = _pools(seed)
    p = _people(people, seed, pools)
    rng = np.random.default_rng([seed, 3])
    r = random.Random(seed * 7919 + 3)

    # Which systems hold each person (weighted sampling without replacement), and
    # duplicate accounts within a system.
    count = rng.choice(3, people, p=SYSTEM_COUNT_SHARE) + 1
    keys = rng.random((people, 3)) ** (1 / np.array(SYSTEM_WEIGHT))
    order = np.argsort(-keys, axis=1)
    held = np.zeros((people, 3), dtype=bool)
    for k in range(3):
        rows = np.flatnonzero(count > k)
        held[rows, order[rows, k]] = True
    person_idx, system = np.nonzero(held)
    dup = rng.random(len(system)) < np.array(DUPLICATE_RATE)[system]
    person_idx = np.concatenate([person_idx, person_idx[dup]])
    system = np.concatenate([system, system[dup]])
    is_dup = np.concatenate([np.zeros(len(dup), bool), np.ones(int(dup.sum()), bool)])
    n = len(person_idx)

    def rate(table) -> np.ndarray:
        return rng.random(n) < np.array(table)[system]

    country = p["country"][person_idx]

    # Names.
    first = p["first"][person_idx].copy()
    last = p["last"][person_idx].copy()
    middle = p["middle"][person_idx].copy()
    nick_table = _nickname_table()
    for i in np.flatnonzero(rate(NICKNAME)):
        first[i] = _nickname(first[i], nick_table, r)
    for i in np.flatnonzero(rate(NAME_TYPO)):
        first[i] = _typo(first[i], r)
    for i in np.flatnonzero(rate(NAME_TYPO)):
        last[i] = _typo(last[i], r)
    shown = rate(MIDDLE_SHOWN) & (middle != "")
    initial = shown & (rng.random(n) < MIDDLE_INITIAL)
    middle[~shown] = ""
    middle[initial] = [f"{m[0]}." for m in middle[initial]]
    swap = rng.random(n) < NAME_SWAP
    first[swap], last[swap] = last[swap], first[swap].copy()
    caps = rate(CAPITALS)
    for arr in (first, middle, last):
        arr[caps] = [s.upper() for s in arr[caps]]
    first[rate(MISSING["first_name"])] = ""

    # Email.
    second = p["second_email"][person_idx]
    use_second = (second != "") & (
        (rng.random(n) < SECOND_EMAIL_USE) | (is_dup & (rng.random(n) < DUPLICATE_SECOND_EMAIL))
    )
    email = np.where(use_second, second, p["email"][person_idx]).astype(object)
    for i in np.flatnonzero(rng.random(n) < EMAIL_DOMAIN_TYPO):
        local, domain = email[i].split("@")
        email[i] = f"{local}@{r.choice(DOMAIN_TYPOS.get(domain, (domain,)))}"
    for i in np.flatnonzero(rng.random(n) < EMAIL_CASE):
        local, domain = email[i].split("@")
        local = ".".join(part.capitalize() for part in local.split("."))
        email[i] = f"{local}@{domain if r.random() < 0.7 else domain.upper()}"
    email[rate(MISSING["email"])] = ""

    # Address: movers' old address lives on in some systems.
    old = p["moved"][person_idx] & rate(OLD_ADDRESS)
    pick = {
        name: np.where(old, p[f"old_{name}"][person_idx], p[name][person_idx])
        for name in ("city", "street", "house", "inward")
    }
    pick["offset"] = np.where(old, p["old_offset"][person_idx], p["postcode_offset"][person_idx])
    street = np.empty(n, dtype=object)
    postal = np.empty(n, dtype=object)
    city = np.empty(n, dtype=object)
    for c in COUNTRIES:
        mask = np.flatnonzero(country == c)
        cities = pools.cities[c]
        cidx = pick["city"][mask].astype(np.int64)
        city[mask] = cities["name"][cidx]
        bases = cities["postcode"][cidx]
        street[mask] = [
            _address(c, s, h)
            for s, h in zip(pick["street"][mask], pick["house"][mask], strict=True)
        ]
        postal[mask] = [
            _postcode(c, b, o, w)
            for b, o, w in zip(bases, pick["offset"][mask], pick["inward"][mask], strict=True)
        ]
    for i in np.flatnonzero(rng.random(n) < STREET_ABBREVIATION):
        for long, short in STREET_ABBREVIATIONS:
            if long in street[i]:
                street[i] = street[i].replace(long, short)
                break
    for i in np.flatnonzero(rng.random(n) < POSTCODE_TYPO):
        code = postal[i]
        digits = [k for k, ch in enumerate(code) if ch.isdigit()]
        if digits:
            k = r.choice(digits)
            postal[i] = code[:k] + str((int(code[k]) + r.randrange(1, 10)) % 10) + code[k + 1 :]
    no_address = rate(MISSING["address"])
    street[no_address] = ""
    postal[no_address] = ""
    city[no_address] = ""
    country_out = country.copy()
    country_out[no_address & (system == 2)] = ""

    # Phone: mobile, or the landline of the address on file, or an old or another number.
    mobile = p["mobile"][person_idx]
    old_mobile = p["old_mobile"][person_idx]
    landline = np.where(old, p["old_landline"][person_idx], p["landline"][person_idx])
    phone = np.where((old_mobile != "") & rate(OLD_MOBILE), old_mobile, mobile).astype(object)
    phone = np.where(
        (landline != "") & ((phone == "") | rate(LANDLINE_INSTEAD)), landline, phone
    ).astype(object)
    other = rate(OTHER_NUMBER)
    for c in COUNTRIES:
        mask = other & (country == c)
        phone[mask] = _mobile(c, int(mask.sum()), rng)
    phone[rate(MISSING["phone"])] = ""

    # Date of birth.
    dob = np.datetime_as_string(p["dob"][person_idx], unit="D").astype(object)
    for i in np.flatnonzero(rng.random(n) < DOB_TRANSPOSED + DOB_YEAR_OFF):
        dob[i] = _dob_typo(dob[i], r)
    dob[(system == 2) & (rng.random(n) < DOB_PLACEHOLDER)] = "1900-01-01"
    dob[rate(MISSING["date_of_birth"])] = ""

    # Billing's customer number: one per billing account, nothing elsewhere.
    identifier = np.full(n, "", dtype=object)
    billing = np.flatnonzero(system == 0)
    numbers = rng.choice(np.arange(1_000_000, 10_000_000), len(billing), replace=False)
    identifier[billing] = [f"K{x}" for x in numbers]

    frame = pd.DataFrame(
        {
            "unique_id": np.zeros(n, dtype=np.int64),
            "source": np.array(SOURCES, dtype=object)[system],
            "first_name": first,
            "middle_name": middle,
            "last_name": last,
            "email": email,
            "phone": phone,
            "street": street,
            "postal_code": postal,
            "city": city,
            "country": country_out,
            "date_of_birth": dob,
            "identifier": identifier,
            "person_id": person_idx.astype(np.int64),
            "household_id": p["household"][person_idx].astype(np.int64),
        }
    )
    frame = frame.iloc[rng.permutation(n)].reset_index(drop=True)
    frame["unique_id"] = np.arange(1, n + 1, dtype=np.int64)
    return frame


def true_pairs(frame: pd.DataFrame) -> set[tuple[int, int]]:
    """Pairs (l, r), l < r, of unique_ids whose records belong to one person."""
    left, right = true_pair_arrays(frame)
    return set(zip(left.tolist(), right.tolist(), strict=True))


def true_pair_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """`true_pairs` as two aligned int64 arrays, for large frames."""
    ids = frame["unique_id"].to_numpy(np.int64)
    person = frame["person_id"].to_numpy(np.int64)
    order = np.lexsort((ids, person))
    ids, person = ids[order], person[order]
    lefts, rights = [], []
    d = 1
    while d < len(ids):
        same = person[:-d] == person[d:]
        if not same.any():
            break
        lefts.append(ids[:-d][same])
        rights.append(ids[d:][same])
        d += 1
    if not lefts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(lefts), np.concatenate(rights)
