"""The person-matching engine: training, scoring, explanations and constrained clustering.

No database: the engine is plain pandas/DuckDB. One model is trained per test session on a
generated frame of a few hundred CRM-like people with duplicates from a second system.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest

from patron.quality.resolution.engine import (
    MATCH_THRESHOLD,
    ORGANISATION_RAW_COLUMNS,
    RAW_COLUMNS,
    REVIEW_THRESHOLD,
    OrganisationModel,
    PersonModel,
    cluster,
    explain,
    frame_from_normalised,
)

FIRST_NAMES = [
    "robert", "elizabeth", "william", "katherine", "michael", "jennifer", "thomas", "margaret",
    "daniel", "susan", "james", "patricia", "richard", "barbara", "joseph", "sarah", "charles",
    "karen", "andrew", "nancy", "stefan", "anna", "lukas", "julia", "felix", "laura", "jonas",
    "lena", "paul", "marie", "david", "sophie", "martin", "claudia", "peter", "sabine",
]  # fmt: skip
LAST_NAMES = [
    "smith", "johnson", "miller", "brown", "davis", "garcia", "wilson", "anderson", "taylor",
    "moore", "jackson", "martin", "lee", "thompson", "white", "harris", "clark", "lewis",
    "mueller", "schmidt", "schneider", "fischer", "weber", "meyer", "wagner", "becker",
    "schulz", "hoffmann", "koch", "richter", "klein", "wolf", "neumann", "schwarz", "zimmermann",
    "braun", "krueger", "hofmann", "hartmann", "lange", "schmitt", "werner", "krause", "meier",
]  # fmt: skip
STREETS = ["Hauptstrasse", "Bahnhofstrasse", "Gartenweg", "Schillerstrasse", "Lindenallee",
           "Goethestrasse", "Kirchweg", "Bergstrasse", "Ringstrasse", "Waldweg"]  # fmt: skip
CITIES = [("10115", "Berlin"), ("20095", "Hamburg"), ("80331", "Muenchen"), ("50667", "Koeln"),
          ("60311", "Frankfurt"), ("70173", "Stuttgart"), ("04109", "Leipzig")]  # fmt: skip
DOMAINS = ["gmail.com", "web.de", "gmx.de", "outlook.com", "example.org"]


def _typo(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def _person(rng: random.Random, uid: int, first: str, last: str, **extra: str) -> dict:
    postcode, city = rng.choice(CITIES)
    row = {
        "unique_id": uid,
        "source": "crm",
        "first_name": first.title(),
        "middle_name": "",
        "last_name": last.title(),
        "email": f"{first}.{last}{rng.randrange(100)}@{rng.choice(DOMAINS)}",
        "phone": f"+49{rng.randrange(150, 179)}{rng.randrange(10**6, 10**7)}",
        "street": f"{rng.choice(STREETS)} {rng.randrange(1, 120)}",
        "postal_code": postcode,
        "city": city,
        "country": "DE",
        "date_of_birth": f"{rng.randrange(1940, 2000)}-{rng.randrange(1, 13):02d}-"
        f"{rng.randrange(1, 29):02d}",
        "identifier": "",
    }
    row.update(extra)
    return row


NICKNAMES = {"robert": "bob", "elizabeth": "liz", "william": "bill", "katherine": "kate",
             "michael": "mike", "jennifer": "jen", "thomas": "tom", "margaret": "maggie",
             "daniel": "dan", "susan": "sue", "james": "jim", "richard": "dick"}  # fmt: skip


def training_frame(people: int = 400, seed: int = 3) -> pd.DataFrame:
    """People from a CRM (some sharing a household), plus a webshop copy of ~half of them
    with the variations real systems produce."""
    rng = random.Random(seed)
    rows: list[dict] = []
    while len(rows) < people:
        person = _person(rng, len(rows) + 1, rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
        rows.append(person)
        if rng.random() < 0.15:  # a partner at the same address and landline
            partner = _person(rng, len(rows) + 1, rng.choice(FIRST_NAMES), person["last_name"])
            for key in ("street", "postal_code", "city", "phone"):
                partner[key] = person[key]
            rows.append(partner)
    for original in rng.sample(rows, len(rows) // 2):
        copy = dict(original, unique_id=len(rows) + 1, source="webshop")
        for _ in range(rng.choice([1, 1, 2, 3])):
            change = rng.random()
            first = copy["first_name"].lower()
            if change < 0.15 and first in NICKNAMES:
                copy["first_name"] = NICKNAMES[first].title()
            elif change < 0.3:
                copy["last_name"] = _typo(rng, copy["last_name"])
            elif change < 0.35:
                copy["first_name"] = _typo(rng, copy["first_name"])
            elif change < 0.4:
                copy["first_name"], copy["last_name"] = copy["last_name"], copy["first_name"]
            elif change < 0.5:
                copy["email"] = ""
            elif change < 0.6:
                copy["email"] = f"{first[0]}{copy['last_name'].lower()}@company.example"
            elif change < 0.7:
                copy["phone"] = ""
            elif change < 0.8:
                postcode, city = rng.choice(CITIES)
                copy.update(street=f"{rng.choice(STREETS)} {rng.randrange(1, 120)}",
                            postal_code=postcode, city=city)  # fmt: skip
            elif change < 0.9:
                copy["date_of_birth"] = ""
            elif copy["email"]:
                copy["email"] = copy["email"].replace(".com", ".co")
        rows.append(copy)
    return pd.DataFrame(rows)[RAW_COLUMNS]


@pytest.fixture(scope="module")
def model() -> PersonModel:
    trained = PersonModel()
    trained.train(training_frame())
    return trained


BASE = {
    "source": "crm",
    "middle_name": "",
    "street": "Lindenallee 12",
    "postal_code": "50667",
    "city": "Koeln",
    "country": "DE",
    "identifier": "",
}


def _frame(*people: dict) -> pd.DataFrame:
    frame = pd.DataFrame([{**BASE, **p} for p in people])
    # Background population, so term frequencies and blocking behave as on real data.
    background = training_frame(people=120, seed=11)
    background["unique_id"] += 1000
    return pd.concat([frame[RAW_COLUMNS], background], ignore_index=True)


def _probability(pairs: pd.DataFrame, a: int, b: int) -> float:
    hit = pairs[(pairs.unique_id_l == min(a, b)) & (pairs.unique_id_r == max(a, b))]
    return float(hit.match_probability.iloc[0]) if len(hit) else 0.0


def test_nickname_and_typo_duplicate_is_matched(model: PersonModel) -> None:
    robert = {"unique_id": 1, "first_name": "Robert", "last_name": "Schneider",
              "email": "robert.schneider@gmail.com", "phone": "+4917612345678",
              "date_of_birth": "1975-03-14"}  # fmt: skip
    bob = {
        "unique_id": 2,
        "source": "webshop",
        "first_name": "Bob",
        "last_name": "Schnieder",
        "email": "robert.schneider@gmial.com",
        "phone": "",
        "date_of_birth": "1975-03-14",
    }
    pairs = model.predict(_frame(robert, bob))
    assert _probability(pairs, 1, 2) >= MATCH_THRESHOLD
    row = pairs[(pairs.unique_id_l == 1) & (pairs.unique_id_r == 2)].iloc[0]
    assert row.gamma_first_name == 5  # the nickname level
    assert row.gamma_email == 2  # exact once gmial.com is repaired


def test_household_member_is_not_merged(model: PersonModel) -> None:
    anna = {
        "unique_id": 1,
        "first_name": "Anna",
        "last_name": "Weber",
        "email": "anna.weber@web.de",
        "phone": "+492211234567",
        "date_of_birth": "",
    }
    paul = {
        "unique_id": 2,
        "first_name": "Paul",
        "last_name": "Weber",
        "email": "paul.weber@gmx.de",
        "phone": "+492211234567",
        "date_of_birth": "",
    }
    pairs = model.predict(_frame(anna, paul))
    assert _probability(pairs, 1, 2) < REVIEW_THRESHOLD
    clusters = cluster([1, 2], pairs, threshold=MATCH_THRESHOLD)
    assert (clusters[1], clusters[2]) == (1, 2)


def test_swapped_first_and_last_name_is_matched(model: PersonModel) -> None:
    one = {"unique_id": 1, "first_name": "Martin", "last_name": "Hartmann",
           "email": "", "phone": "+4915112345678", "date_of_birth": "1969-11-02"}  # fmt: skip
    two = {
        "unique_id": 2,
        "first_name": "Hartmann",
        "last_name": "Martin",
        "email": "",
        "phone": "+4915112345678",
        "date_of_birth": "1969-11-02",
    }
    pairs = model.predict(_frame(one, two))
    assert _probability(pairs, 1, 2) >= MATCH_THRESHOLD


def test_predict_new_scores_only_pairs_with_a_new_record(model: PersonModel) -> None:
    frame = training_frame(people=60, seed=5)
    existing, new = frame.iloc[:70], frame.iloc[70:]
    pairs = model.predict_new(new, existing)
    new_ids = set(new.unique_id)
    assert len(pairs) > 0
    assert all(
        a in new_ids or b in new_ids
        for a, b in zip(pairs.unique_id_l, pairs.unique_id_r, strict=True)
    )
    assert (pairs.unique_id_l < pairs.unique_id_r).all()
    # The same pairs score the same as in a full run.
    full = model.predict(frame)
    merged = pairs.merge(full, on=["unique_id_l", "unique_id_r"], suffixes=("", "_full"))
    assert len(merged) == len(pairs)
    assert (merged.match_probability - merged.match_probability_full).abs().max() < 1e-9


def test_explain_names_the_fields_biggest_effect_first(model: PersonModel) -> None:
    robert = {"unique_id": 1, "first_name": "Robert", "last_name": "Schneider",
              "email": "robert.schneider@gmail.com", "phone": "+4917612345678",
              "date_of_birth": "1975-03-14"}  # fmt: skip
    bob = {
        "unique_id": 2,
        "first_name": "Bob",
        "last_name": "Schneider",
        "email": "bob@web.de",
        "phone": "+4917612345678",
        "date_of_birth": "1975-03-14",
    }
    pairs = model.predict(_frame(robert, bob))
    row = pairs[(pairs.unique_id_l == 1) & (pairs.unique_id_r == 2)].iloc[0].to_dict()
    reasons = explain(row)
    by_field = {r["field"]: r for r in reasons}
    assert set(by_field) == {
        "first_name", "last_name", "email", "phone", "date_of_birth", "address", "identifier"
    }  # fmt: skip
    assert by_field["first_name"]["label"] == "nickname"
    assert by_field["phone"]["label"] == "exact" and by_field["phone"]["weight"] > 5
    assert by_field["email"]["label"] == "different" and by_field["email"]["weight"] < 0
    assert by_field["identifier"] == {"field": "identifier", "label": "missing", "weight": 0.0}
    weights = [abs(r["weight"]) for r in reasons]
    assert weights == sorted(weights, reverse=True)


def test_model_round_trips_through_json(model: PersonModel) -> None:
    frame = training_frame(people=80, seed=9)
    saved = model.to_json()
    restored = PersonModel(saved)
    assert restored.to_json() == saved
    before = model.predict(frame)
    after = restored.predict(frame)
    merged = before.merge(after, on=["unique_id_l", "unique_id_r"], suffixes=("", "_after"))
    assert len(before) == len(after) == len(merged) > 0
    assert (merged.match_weight - merged.match_weight_after).abs().max() < 1e-9


def _pairs(*edges: tuple[int, int, float]) -> pd.DataFrame:
    return pd.DataFrame(edges, columns=["unique_id_l", "unique_id_r", "match_probability"])


def test_cluster_honours_cannot_link_transitively() -> None:
    pairs = _pairs((1, 2, 0.99), (2, 3, 0.98), (3, 4, 0.5))
    assert cluster([1, 2, 3, 4, 5], pairs, threshold=0.9) == {1: 1, 2: 1, 3: 1, 4: 4, 5: 5}
    # 1 and 3 were rejected by a reviewer: the weaker edge 2-3 may no longer join them.
    assert cluster([1, 2, 3, 4], pairs, threshold=0.9, cannot_link=[(3, 1)]) == {
        1: 1, 2: 1, 3: 3, 4: 4
    }  # fmt: skip


def test_cluster_applies_must_link_first() -> None:
    pairs = _pairs((1, 2, 0.99), (2, 3, 0.95))
    clusters = cluster([1, 2, 3, 4], pairs, threshold=0.9, must_link=[(4, 3)], cannot_link=[(4, 1)])
    # 3-4 joined by hand first, so 2-3 is refused (it would unite 1 and 4) while 1-2 stands.
    assert clusters == {1: 1, 2: 1, 3: 3, 4: 3}


def test_frame_from_normalised_handles_missing_keys() -> None:
    frame = frame_from_normalised(
        [
            (
                7,
                "crm",
                {
                    "contact.first_name": "Robert",
                    "contact.last_name": "Smith",
                    "emails": [{"email": "", "kind": "work"}, {"email": "bob@x.com"}],
                    "phones": [
                        {"number": "030 1234", "e164": "", "kind": "work"},
                        {"number": "030 5678", "e164": "+49305678", "kind": "mobile"},
                    ],
                    "address.city": "Berlin",
                },
            ),
            (8, "shop", {}),
        ]
    )
    assert list(frame.columns) == RAW_COLUMNS
    assert frame.unique_id.tolist() == [7, 8]
    assert frame.iloc[0].to_dict() == {
        "unique_id": 7, "source": "crm", "first_name": "Robert", "middle_name": "",
        "last_name": "Smith", "email": "bob@x.com", "phone": "+49305678", "street": "",
        "postal_code": "", "city": "Berlin", "country": "", "date_of_birth": "", "identifier": "",
    }  # fmt: skip
    assert set(frame.iloc[1].drop(["unique_id", "source"])) == {""}


# --- organisations ---------------------------------------------------------------------------

COMPANY_WORDS = [
    "nord",
    "sued",
    "alpen",
    "rhein",
    "main",
    "spree",
    "elbe",
    "isar",
    "weser",
    "havel",
    "mosel",
    "ruhr",
    "saale",
    "neckar",
    "donau",
    "lahn",
    "fulda",
    "ems",
]
COMPANY_KINDS = [
    "bau",
    "tech",
    "logistik",
    "energie",
    "medien",
    "consult",
    "software",
    "immobilien",
    "handel",
    "druck",
    "metall",
    "pharma",
    "foods",
    "textil",
]
LEGAL_FORMS = ["GmbH", "AG", "GmbH & Co. KG", "Ltd", "Inc.", "SA", ""]  # fmt: skip


def organisation_frame(companies: int = 300, seed: int = 4) -> pd.DataFrame:
    """Accounts in a CRM, and an ERP copy of ~half of them written differently: another legal
    form, capitals, a typo, a missing domain or phone, the sales address instead of the seat."""
    rng = random.Random(seed)
    rows: list[dict] = []
    for uid in range(1, companies + 1):
        word, kind = rng.choice(COMPANY_WORDS), rng.choice(COMPANY_KINDS)
        postcode, city = rng.choice(CITIES)
        rows.append(
            {
                "unique_id": uid,
                "source": "crm",
                "name": f"{word.title()}{kind} {rng.choice(LEGAL_FORMS)}".strip(),
                "domain": f"www.{word}{kind}{uid}.de",
                "email": f"info@{word}{kind}{uid}.de",
                "phone": f"+49{rng.randrange(30, 99)}{rng.randrange(10**6, 10**7)}",
                "street": f"{rng.choice(STREETS)} {rng.randrange(1, 120)}",
                "postal_code": postcode,
                "city": city,
                "country": "DE",
                "identifier": f"DE{rng.randrange(10**8, 10**9)}",
            }
        )
    for original in rng.sample(rows, len(rows) // 2):
        copy = dict(original, unique_id=len(rows) + 1, source="erp", identifier="")
        base = original["name"].split(" ")[0]
        copy["name"] = f"{base} {rng.choice(LEGAL_FORMS)}".strip()
        change = rng.random()
        if change < 0.2:
            copy["name"] = copy["name"].upper()
        elif change < 0.4:
            copy["name"] = _typo(rng, base) + " GmbH"
        elif change < 0.6:
            copy["domain"] = ""
        elif change < 0.8:
            copy["phone"] = ""
        else:
            postcode, city = rng.choice(CITIES)
            copy.update(street=f"{rng.choice(STREETS)} {rng.randrange(1, 120)}",
                        postal_code=postcode, city=city)  # fmt: skip
        rows.append(copy)
    return pd.DataFrame(rows)[ORGANISATION_RAW_COLUMNS]


@pytest.fixture(scope="module")
def organisation_model() -> OrganisationModel:
    trained = OrganisationModel()
    trained.train(organisation_frame())
    return trained


ACCOUNT = {"source": "crm", "domain": "", "email": "", "phone": "", "street": "Kirchweg 3",
           "postal_code": "20095", "city": "Hamburg", "country": "DE",
           "identifier": ""}  # fmt: skip


def _accounts(*accounts: dict) -> pd.DataFrame:
    frame = pd.DataFrame([{**ACCOUNT, **a} for a in accounts])
    background = organisation_frame(companies=100, seed=12)
    background["unique_id"] += 1000
    return pd.concat([frame[ORGANISATION_RAW_COLUMNS], background], ignore_index=True)


def test_organisation_names_match_whatever_their_legal_form(
    organisation_model: OrganisationModel,
) -> None:
    frame = _accounts(
        {"unique_id": 1, "name": "Spreelogistik GmbH & Co. KG", "phone": "+49 40 1234567"},
        {"unique_id": 2, "name": "SPREELOGISTIK LTD.", "phone": "+49401234567"},
        # Another company of a similar name elsewhere, with its own phone and domain.
        {"unique_id": 3, "name": "Spreelogistik Nord AG", "phone": "+49897654321",
         "domain": "spree-nord.de", "street": "Bergstrasse 80", "postal_code": "80331",
         "city": "Muenchen"},
    )  # fmt: skip
    pairs = organisation_model.predict(frame)
    assert _probability(pairs, 1, 2) >= MATCH_THRESHOLD
    assert _probability(pairs, 1, 3) < REVIEW_THRESHOLD
    assert {"gamma_name", "bf_domain", "match_weight"} <= set(pairs.columns)
    row = pairs[(pairs.unique_id_l == 1) & (pairs.unique_id_r == 2)].iloc[0]
    assert explain(row.to_dict())[0]["field"] in {"name", "phone"}


def test_organisation_model_finds_the_erp_copies_and_round_trips(
    organisation_model: OrganisationModel,
) -> None:
    frame = organisation_frame(companies=200, seed=8)
    pairs = organisation_model.predict(frame)
    clusters = cluster(frame["unique_id"].tolist(), pairs, threshold=MATCH_THRESHOLD)
    copies = frame[frame.source == "erp"]
    originals = {
        uid: int(frame.index[(frame.source == "crm") & (frame.domain == domain)][0]) + 1
        for uid, domain in zip(copies.unique_id, copies.domain, strict=True)
        if domain
    }
    found = sum(clusters[uid] == clusters[original] for uid, original in originals.items())
    assert found >= 0.9 * len(originals)
    sizes = pd.Series(clusters).value_counts()
    assert sizes.max() <= 2  # no two companies merged into one
    restored = OrganisationModel(organisation_model.to_json())
    assert restored.to_json() == organisation_model.to_json()
    with pytest.raises(ValueError):
        PersonModel(organisation_model.to_json())
    new = frame[frame.unique_id > 150]
    scored = restored.predict_new(new, frame[frame.unique_id <= 150])
    assert len(scored) and (scored[["unique_id_l", "unique_id_r"]].max(axis=1) > 150).all()


def _phone_changers(start: int, count: int, seed: int) -> tuple[pd.DataFrame, list]:
    """People with a second record whose phone number is another one (a new mobile), and no
    email address or date of birth: names and address agree, the phone disagrees."""
    rng = random.Random(seed)
    rows, pairs = [], []
    for index in range(count):
        uid = start + 2 * index
        person = _person(rng, uid, rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES))
        copy = dict(person, unique_id=uid + 1, source="webshop", email="", date_of_birth="")
        copy["phone"] = f"+49{rng.randrange(150, 179)}{rng.randrange(10**6, 10**7)}"
        rows += [person, copy]
        pairs.append((uid, uid + 1))
    return pd.DataFrame(rows)[RAW_COLUMNS], pairs


def _twins(start: int, count: int, seed: int) -> tuple[pd.DataFrame, list]:
    """Pairs of siblings living together: surname, address, phone and date of birth shared,
    first names different."""
    rng = random.Random(seed)
    rows, pairs = [], []
    for index in range(count):
        uid = start + 2 * index
        first, other = rng.sample(FIRST_NAMES, 2)
        person = _person(rng, uid, first, rng.choice(LAST_NAMES))
        sibling = dict(person, unique_id=uid + 1, first_name=other.title(), email="")
        rows += [person, sibling]
        pairs.append((uid, uid + 1))
    return pd.DataFrame(rows)[RAW_COLUMNS], pairs


def _level(model: PersonModel, name: str, label: str) -> dict:
    return next(lvl for lvl in model.to_json()["comparisons"][name] if lvl["label"] == label)


def _bayes_factor(model: PersonModel, name: str, label: str) -> float:
    level = _level(model, name, label)
    return float(level["m"]) / float(level["u"])


@pytest.fixture(scope="module")
def decided_kinds() -> tuple[pd.DataFrame, list, list, PersonModel]:
    """A CRM with phone changers and twins in it, and the model trained without decisions."""
    changers, same = _phone_changers(5000, 150, seed=21)
    twins, different = _twins(7000, 150, seed=22)
    frame = pd.concat([training_frame(), changers, twins], ignore_index=True)
    plain = PersonModel()
    plain.train(frame)
    return frame, same, different, plain


def _held_out_scores(frame: pd.DataFrame, pairs: list, *models: PersonModel) -> list[float]:
    """The models' probabilities for pairs[120], scored among unrelated records."""
    a, b = pairs[120]
    background = training_frame(120, seed=11).assign(unique_id=lambda f: f["unique_id"] + 9000)
    rows = pd.concat([frame[frame["unique_id"].isin([a, b])], background], ignore_index=True)
    return [_probability(model.predict(rows), a, b) for model in models]


def test_same_person_decisions_make_a_level_count_less_against(decided_kinds) -> None:
    frame, same, _, plain = decided_kinds
    taught = PersonModel()
    # Records not in the frame are ignored.
    taught.train(frame, labels=[(a, b, True) for a, b in same[:100]] + [(10**9, 1, True)])
    assert taught.to_json()["decisions"] == {"same": 100, "different": 0}
    # Same person despite another phone: a different phone counts less against a match, and
    # a pair of that kind nobody decided on scores higher.
    assert _bayes_factor(taught, "phone", "different") > _bayes_factor(plain, "phone", "different")
    before, after = _held_out_scores(frame, same, plain, taught)
    assert after > before


def test_different_people_decisions_make_levels_count_less_for(decided_kinds) -> None:
    frame, _, different, plain = decided_kinds
    taught = PersonModel()
    taught.train(frame, labels=[(a, b, False) for a, b in different[:100]])
    assert taught.to_json()["decisions"] == {"same": 0, "different": 100}
    # Different people despite the same date of birth and address: both count for less, and
    # a pair of twins nobody decided on scores lower.
    for name, label in (("date_of_birth", "exact"), ("address", "same street and place")):
        assert _bayes_factor(taught, name, label) < _bayes_factor(plain, name, label)
    before, after = _held_out_scores(frame, different, plain, taught)
    assert after < before


def test_a_few_decisions_move_the_model_a_little(model: PersonModel) -> None:
    frame = training_frame()  # what `model` was trained on
    taught = PersonModel()
    taught.train(frame, labels=[(1, 2, False), (3, 3, True), (10**9, 1, True)])
    assert taught.to_json()["decisions"] == {"same": 0, "different": 1}
    for name, levels in model.to_json()["comparisons"].items():
        for old, new in zip(levels, taught.to_json()["comparisons"][name], strict=True):
            if old["m"] is not None:
                factor = (new["m"] / new["u"]) / (old["m"] / old["u"])
                assert 0.8 < factor < 1.0 + 1e-9  # one "different" decision: a little less
    # No decision about records in the frame: the model trained without decisions.
    unknown = PersonModel()
    unknown.train(frame, labels=[(10**9, 1, True), (4, 4, False)])
    for name, levels in model.to_json()["comparisons"].items():
        for old, new in zip(levels, unknown.to_json()["comparisons"][name], strict=True):
            if old["m"] is not None:  # equal up to the last bits of parallel sums
                assert new["m"] == pytest.approx(old["m"], rel=1e-9)
                assert new["u"] == pytest.approx(old["u"], rel=1e-9)
