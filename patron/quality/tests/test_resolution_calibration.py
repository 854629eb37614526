"""Calibrated match probabilities: what the engine reports is the share of true matches, not
the independence model's overconfident figure."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from patron.quality.resolution.columns import RAW_COLUMNS
from patron.quality.resolution.engine import (
    IDENTITY_CALIBRATION,
    PERSON_CALIBRATION,
    OrganisationModel,
    PersonModel,
    _fit_corrections,
    calibrated_probability,
    model_threshold,
)
from patron.quality.resolution.synthetic import generate


def test_model_threshold_is_the_inverse_of_calibration() -> None:
    for probability in (0.01, 0.5, 0.85, 0.99):
        raw = model_threshold(probability, PERSON_CALIBRATION)
        weight = np.log2(raw / (1.0 - raw))
        assert calibrated_probability(weight, PERSON_CALIBRATION) == pytest.approx(probability)
    # The identity leaves probabilities alone.
    assert model_threshold(0.85, IDENTITY_CALIBRATION) == pytest.approx(0.85)


def test_a_model_saved_without_calibration_gets_the_default() -> None:
    person = PersonModel({"format": "patron.person-model/1", "comparisons": {}})
    assert person.calibration == PERSON_CALIBRATION
    organisation = OrganisationModel({"format": "patron.organisation-model/1", "comparisons": {}})
    assert organisation.calibration == IDENTITY_CALIBRATION


@pytest.fixture(scope="module")
def scored_generated() -> tuple[pd.DataFrame, PersonModel]:
    """A generated set (another seed than the one the calibration was fitted on), scored."""
    raw = generate(4000, seed=5)
    model = PersonModel()
    model.train(raw[RAW_COLUMNS])
    pairs = model.predict(raw[RAW_COLUMNS])
    truth: set[tuple[int, int]] = set()
    for _, group in raw.groupby("person_id")["unique_id"]:
        truth.update(itertools.combinations(sorted(group.tolist()), 2))
    pairs["true"] = [
        (int(a), int(b)) in truth
        for a, b in zip(pairs["unique_id_l"], pairs["unique_id_r"], strict=True)
    ]
    return pairs, model


def test_reported_probabilities_match_the_share_of_true_matches(scored_generated) -> None:
    pairs, model = scored_generated
    expected = calibrated_probability(pairs["match_weight"], model.calibration)
    assert np.allclose(pairs["match_probability"], expected)
    uncertain = pairs[(pairs["match_probability"] >= 0.5) & (pairs["match_probability"] < 0.99)]
    assert len(uncertain) > 200
    observed = uncertain["true"].mean()
    assert abs(uncertain["match_probability"].mean() - observed) < 0.05
    # The model's own probabilities for the same pairs claim far more than the truth.
    raw = 1.0 / (1.0 + np.power(2.0, -uncertain["match_weight"]))
    assert raw.mean() - observed > 0.07
    sure = pairs[pairs["match_probability"] >= 0.99]
    assert sure["true"].mean() >= 0.99


def test_a_correction_that_may_only_go_down_is_held_and_the_rest_refitted() -> None:
    # Every decided pair is the same person: both corrections would rise, but the first (an
    # exact name, whose u the term-frequency adjustment cancels out) may only go down.
    offset = np.zeros(40)
    x = np.ones((40, 2))
    y = np.ones(40)
    free = _fit_corrections(offset, x, y, [(None, x[:, 0], False), (None, x[:, 1], False)])
    held = _fit_corrections(offset, x, y, [(None, x[:, 0], True), (None, x[:, 1], False)])
    assert free[0] > 0 and free[1] > 0
    assert held[0] == 0.0
    assert held[1] > free[1]


def test_corrections_all_held_are_all_zero() -> None:
    # One "same" decision on a pair that reaches exact names only: nothing may rise.
    x = np.ones((1, 2))
    held = _fit_corrections(np.zeros(1), x, np.ones(1), [(None, x[:, 0], True)] * 2)
    assert held.tolist() == [0.0, 0.0]
