"""The synthetic people and records the entity resolution is measured against: same seed,
same records; the traps it must model (households, namesakes, several systems) are there."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from patron.quality.resolution.synthetic import (
    COLUMNS,
    DOMAIN_TYPOS,
    RAW_COLUMNS,
    SOURCES,
    generate,
    people_for_records,
    population,
    true_pair_arrays,
    true_pairs,
)

PEOPLE = 3000


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate(PEOPLE, seed=11)


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    return population(PEOPLE, seed=11)


def test_same_seed_same_frame_other_seed_other_frame(frame):
    pd.testing.assert_frame_equal(frame, generate(PEOPLE, seed=11))
    other = generate(PEOPLE, seed=12)
    assert not frame[RAW_COLUMNS[2:]].head(200).equals(other[RAW_COLUMNS[2:]].head(200))


def test_columns_and_types(frame):
    assert list(frame.columns) == COLUMNS
    assert frame["unique_id"].dtype == np.int64
    assert frame["unique_id"].is_unique
    assert frame["person_id"].dtype == np.int64
    assert frame["household_id"].dtype == np.int64
    for column in RAW_COLUMNS[1:]:
        assert frame[column].map(type).eq(str).all(), column
    assert set(frame["source"]) == set(SOURCES)
    phones = frame.loc[frame["phone"] != "", "phone"]
    assert phones.str.fullmatch(r"\+[1-9]\d{7,14}").all()
    dobs = frame.loc[frame["date_of_birth"] != "", "date_of_birth"]
    assert dobs.str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(frame["country"]) <= {"DE", "GB", "US", "FR", ""}


def test_records_per_person_matches_the_estimate(frame):
    assert abs(len(frame) / PEOPLE - len(frame) / people_for_records(len(frame))) < 0.05
    assert 1.6 < len(frame) / PEOPLE < 1.95


def test_everyone_is_somewhere_some_everywhere_some_twice_in_one_system(frame):
    assert frame["person_id"].nunique() == PEOPLE
    systems = frame.groupby("person_id")["source"].nunique()
    assert systems.min() >= 1
    assert 0.12 < (systems == 3).mean() < 0.25
    assert 0.4 < (systems == 1).mean() < 0.6
    twice = frame.groupby(["person_id", "source"]).size()
    assert 0.02 < (twice > 1).mean() < 0.08


def test_identifier_never_links_records(frame):
    billing = frame["source"] == "billing"
    assert (frame.loc[~billing, "identifier"] == "").all()
    assert frame.loc[billing, "identifier"].str.fullmatch(r"K\d{7}").all()
    assert frame.loc[billing, "identifier"].is_unique


def test_households_share_surname_address_and_landline_not_first_name(people, frame):
    households = people[people["household_id"].duplicated(keep=False)]
    assert 0.1 < len(households) / PEOPLE < 0.2
    grouped = households.groupby("household_id")
    assert grouped.size().between(2, 4).all()
    for column in ("last_name", "street", "postal_code", "city", "landline"):
        assert grouped[column].nunique().eq(1).all(), column
    assert (households["landline"] != "").all()
    assert grouped["first_name"].nunique().eq(grouped.size()).all()
    assert grouped["email"].nunique().eq(grouped.size()).all()
    assert grouped["date_of_birth"].nunique().gt(1).all()
    # In the records too: household members' records mostly carry one address and phone.
    records = frame[frame["household_id"].isin(households["household_id"])]
    same_street = (
        records[records["street"] != ""].groupby("household_id")["street"].nunique().eq(1).mean()
    )
    assert same_street > 0.6


def test_namesakes_live_in_other_cities(people, frame):
    alone = people[~people["household_id"].duplicated(keep=False)]
    groups = alone.groupby(["first_name", "last_name"])
    namesakes = alone[groups["person_id"].transform("size") > 1]
    assert len(namesakes) > PEOPLE * 0.02
    by_name = namesakes.groupby(["first_name", "last_name"])
    assert (by_name["city"].nunique() > 1).mean() > 0.9
    assert by_name["date_of_birth"].nunique().gt(1).all()
    assert by_name["email"].nunique().eq(by_name.size()).all()
    # and in the records: one name, several people
    named = frame[(frame["first_name"] != "") & (frame["city"] != "")]
    per_name = named.groupby(["first_name", "last_name"]).agg(
        persons=("person_id", "nunique"), cities=("city", "nunique")
    )
    assert ((per_name["persons"] > 1) & (per_name["cities"] > 1)).sum() > 20


def test_records_disagree_the_way_real_systems_do(frame, people):
    callcentre = frame[frame["source"] == "callcentre"]
    webshop = frame[frame["source"] == "webshop"]
    assert (callcentre["email"] == "").mean() > 0.5
    assert (webshop["email"] != "").all()
    assert (webshop["date_of_birth"] == "").mean() > 0.7
    truth = people.set_index("person_id")
    joined = frame.join(truth, on="person_id", rsuffix="_true")
    named = joined[joined["first_name"] != ""]
    differs = named["first_name"].str.lower() != named["first_name_true"].str.lower()
    assert 0.03 < differs.mean() < 0.2  # nicknames, typos, swaps
    moved = joined[
        joined["moved"] & (joined["city"] != "") & (joined["old_city"] != joined["city_true"])
    ]
    assert (moved["city"] == moved["old_city"]).any() and (
        moved["city"] == moved["city_true"]
    ).any()
    with_email = joined[joined["email"] != ""]
    variant = with_email["email"] != with_email["email_true"]
    assert 0.05 < variant.mean() < 0.4  # second addresses, case, domain typos
    typo_domains = {typo for typos in DOMAIN_TYPOS.values() for typo in typos} - {
        "gmail.com",
        "outlook.com",
        "hotmail.com",
        "yahoo.com",
    }
    assert with_email["email"].str.split("@").str[1].isin(typo_domains).any()
    dated = joined[(joined["date_of_birth"] != "") & (joined["date_of_birth"] != "1900-01-01")]
    assert 0.01 < (dated["date_of_birth"] != dated["date_of_birth_true"]).mean() < 0.06


def test_true_pairs_are_the_pairs_of_one_person():
    small = generate(400, seed=3)
    expected = set()
    for _, group in small.groupby("person_id"):
        ids = sorted(group["unique_id"].tolist())
        expected.update(itertools.combinations(ids, 2))
    pairs = true_pairs(small)
    assert pairs == expected
    assert all(left < right for left, right in pairs)
    person = dict(zip(small["unique_id"], small["person_id"], strict=True))
    assert all(person[left] == person[right] for left, right in pairs)
    left, right = true_pair_arrays(small)
    assert len(left) == len(pairs)


def test_a_single_person_still_works():
    one = generate(1, seed=5)
    assert one["person_id"].eq(0).all()
    assert len(true_pairs(one)) == len(one) * (len(one) - 1) // 2
