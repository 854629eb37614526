"""Probabilistic matching of people across source systems (Fellegi-Sunter, via Splink).

The engine knows nothing about Django: it takes pandas frames in RAW_COLUMNS, returns scored
candidate pairs and clusters, and runs on any Splink backend (DuckDB by default, Spark for very
large jobs). The model's structure (which fields are compared, and how) is fixed here, while its
parameters are estimated from each customer's own data: u by random sampling (less the matches
among the random pairs), m by expectation maximisation over several blocking rules, so that no
dataset needs hand tuning; people's decisions on pairs, where given, correct the levels' weights.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import Linker, SettingsCreator, block_on
from splink.blocking_rule_library import CustomRule

from .clustering import cluster
from .columns import ORGANISATION_RAW_COLUMNS, RAW_COLUMNS
from .features import add_blocking_keys, prepare_organisations, prepare_people

__all__ = [
    "MATCH_THRESHOLD",
    "ORGANISATION_RAW_COLUMNS",
    "OrganisationModel",
    "RAW_COLUMNS",
    "REVIEW_THRESHOLD",
    "PersonModel",
    "cluster",
    "explain",
    "frame_from_normalised",
]


# Pairs at or above MATCH_THRESHOLD (a calibrated probability) are merged automatically; pairs
# between the two thresholds go to a person for review. See docs/benchmarks.md ("Entity
# resolution accuracy") for the precision/recall trade-off behind these values.
MATCH_THRESHOLD = 0.85
REVIEW_THRESHOLD = 0.5

# Fellegi-Sunter counts every field as independent evidence, but fields travel together (a
# household's surname, address and landline; an email address built from the name), so its
# probabilities are overconfident. Patron reports calibrated probabilities instead:
# log2 odds = slope x match weight + intercept (Platt scaling), with slope and intercept fitted
# by logistic regression on the scored pairs of Patron's generated multi-source set with
# ground truth (`benchmarks/resolution_accuracy.py --fit-calibration`; 20k people, seed 7) and
# checked on a set generated with another seed and on FEBRL (docs/benchmarks.md). People's
# decisions then correct the levels' weights on top of it (_learn_from_decisions).
PERSON_CALIBRATION = {"slope": 0.6025, "intercept": -0.1929}
# No ground truth for organisations: their probabilities are the model's own until decisions
# correct them.
IDENTITY_CALIBRATION = {"slope": 1.0, "intercept": 0.0}

MODEL_FORMAT = "patron.person-model/1"

logger = logging.getLogger(__name__)


def frame_from_normalised(rows: Iterable[tuple[int, str, dict[str, Any]]]) -> pd.DataFrame:
    """(source record id, source name, SourceRecord.normalised) -> raw frame in RAW_COLUMNS."""
    records = []
    for record_id, source, normalised in rows:
        data = normalised or {}
        email = next(
            (str(e.get("email") or "") for e in data.get("emails") or [] if e.get("email")), ""
        )
        phone = next(
            (str(p.get("e164") or "") for p in data.get("phones") or [] if p.get("e164")), ""
        )
        identifier = data.get("identifier") or data.get("custom.identifier") or ""
        records.append(
            (
                int(record_id),
                str(source or ""),
                _text(data.get("contact.first_name")),
                _text(data.get("contact.middle_name")),
                _text(data.get("contact.last_name")),
                email,
                phone,
                _text(data.get("address.street")),
                _text(data.get("address.postal_code")),
                _text(data.get("address.city")),
                _text(data.get("address.country")),
                _text(data.get("contact.date_of_birth")),
                _text(identifier),
            )
        )
    frame = pd.DataFrame.from_records(records, columns=RAW_COLUMNS)
    return frame.astype({"unique_id": "int64"})


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


# --- model structure -------------------------------------------------------------------------


def _jw(column: str, threshold: float) -> cll.JaroWinklerLevel:
    return cll.JaroWinklerLevel(column, threshold)


class _SwappedNamesLevel(cll.CustomLevel):
    """First and last name swapped: exactly, both with a typo (Jaro-Winkler >= 0.9 both
    ways: "Martin Hartmann" / "Hartman Martin"), or one exactly and the other similar
    (>= 0.8: "Sam Webb" / "Webb Sma")."""

    def __init__(self) -> None:
        super().__init__("", label_for_charts="swapped")

    def create_sql(self, sql_dialect: Any) -> str:
        jw = sql_dialect.jaro_winkler_function_name
        return (
            "(first_name_l = last_name_r AND last_name_l = first_name_r) "
            f"OR ({jw}(first_name_l, last_name_r) >= 0.9 "
            f"AND {jw}(last_name_l, first_name_r) >= 0.9) "
            f"OR (first_name_l = last_name_r AND {jw}(last_name_l, first_name_r) >= 0.8) "
            f"OR (last_name_l = first_name_r AND {jw}(first_name_l, last_name_r) >= 0.8)"
        )

    def create_label_for_charts(self) -> str:
        return self.label_for_charts or "swapped"


def _within_one_edit(column: str) -> cll.And:
    """Damerau-Levenshtein distance <= 1, behind cheap tests that every such pair passes.

    The edit distance is by far the most expensive function in the model (an email address
    costs several microseconds), and most compared pairs are nowhere near one edit apart. One
    edit changes the length by at most one, and leaves either the last three characters or
    everything but the last four (of the shorter value) untouched, so the guard loses no
    pair; SQL engines evaluate the distance only for the pairs that pass it.
    """
    left, right = f"{column}_l", f"{column}_r"
    keep = f"greatest(least(length({left}), length({right})) - 4, 0)"
    guard = cll.CustomLevel(
        f"abs(length({left}) - length({right})) <= 1 "
        f"AND (substr({left}, -3) = substr({right}, -3) "
        f"OR substr({left}, 1, {keep}) = substr({right}, 1, {keep}))"
    )
    return cll.And(guard, cll.DamerauLevenshteinLevel(column, 1))


def _comparisons() -> list[cl.CustomComparison]:
    """The person model's comparisons, strongest level first within each."""
    first_name = cl.CustomComparison(
        output_column_name="first_name",
        comparison_description="First name",
        comparison_levels=[
            cll.NullLevel("first_name"),
            cll.ExactMatchLevel("first_name", term_frequency_adjustments=True).configure(
                label_for_charts="exact"
            ),
            cll.ArrayIntersectLevel("first_names", 1).configure(label_for_charts="nickname"),
            _jw("first_name", 0.92).configure(label_for_charts="typo"),
            _SwappedNamesLevel().configure(label_for_charts="swapped with last name"),
            _jw("first_name", 0.8).configure(label_for_charts="similar"),
            cll.CustomLevel(
                "(length(first_name_l) = 1 OR length(first_name_r) = 1) "
                "AND substr(first_name_l, 1, 1) = substr(first_name_r, 1, 1)",
                label_for_charts="initial",
            ),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    last_name = cl.CustomComparison(
        output_column_name="last_name",
        comparison_description="Last name",
        comparison_levels=[
            cll.NullLevel("last_name"),
            cll.ExactMatchLevel("last_name", term_frequency_adjustments=True).configure(
                label_for_charts="exact"
            ),
            _SwappedNamesLevel().configure(label_for_charts="swapped with first name"),
            _jw("last_name", 0.92).configure(label_for_charts="typo"),
            _jw("last_name", 0.8).configure(label_for_charts="similar"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    # Only the whole address counts: mailbox names are usually built from the person's name,
    # so "same mailbox name at another provider" or "similar address" mostly re-count the name
    # comparison and match namesakes. Domain typos are repaired before comparing.
    email = cl.CustomComparison(
        output_column_name="email",
        comparison_description="Email",
        comparison_levels=[
            cll.NullLevel("email"),
            cll.ExactMatchLevel("email").configure(label_for_charts="exact"),
            # A typo in a letter. Not a different number or separator: jo.weber7@ and
            # jo.weber9@, or jo.weber@ and jo_weber@, are usually two namesakes.
            cll.And(
                cll.ExactMatchLevel("email_digits"),
                cll.Not(cll.ExactMatchLevel("email_letters")),
                _within_one_edit("email"),
            ).configure(label_for_charts="one typo"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    phone = cl.CustomComparison(
        output_column_name="phone",
        comparison_description="Phone",
        comparison_levels=[
            cll.NullLevel("phone"),
            cll.ExactMatchLevel("phone").configure(label_for_charts="exact"),
            _within_one_edit("phone").configure(label_for_charts="one-digit typo"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    dob = cl.CustomComparison(
        output_column_name="date_of_birth",
        comparison_description="Date of birth",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob").configure(label_for_charts="exact"),
            cll.CustomLevel(
                "dob_year_l = dob_year_r AND substr(dob_l, 6, 2) = substr(dob_r, 9, 2) "
                "AND substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
                label_for_charts="day and month swapped",
            ),
            cll.And(
                # One edit changes the year or the day and month, never both.
                cll.Or(cll.ExactMatchLevel("dob_year"), cll.ExactMatchLevel("dob_md")),
                cll.DamerauLevenshteinLevel("dob", 1),
            ).configure(label_for_charts="one-digit typo"),
            cll.Or(
                cll.ExactMatchLevel("dob_md"),
                cll.DamerauLevenshteinLevel("dob", 2),
            ).configure(label_for_charts="same day and month, or two typos"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address",
        comparison_description="Address",
        comparison_levels=[
            cll.CustomLevel(
                "(street_l IS NULL OR street_r IS NULL) "
                "AND (postal_code_l IS NULL OR postal_code_r IS NULL) "
                "AND (city_l IS NULL OR city_r IS NULL)",
                label_for_charts="missing",
            ).configure(is_null_level=True),
            cll.And(
                cll.ExactMatchLevel("street"),
                cll.Or(cll.ExactMatchLevel("postal_code"), cll.ExactMatchLevel("city")),
            ).configure(label_for_charts="same street and place"),
            cll.And(
                _jw("street", 0.88),
                cll.Or(cll.ExactMatchLevel("postal_code"), cll.ExactMatchLevel("city")),
            ).configure(label_for_charts="similar street, same place"),
            _jw("street", 0.88).configure(label_for_charts="similar street, other place"),
            cll.And(cll.ExactMatchLevel("postal_code"), cll.ExactMatchLevel("city")).configure(
                label_for_charts="same postcode and city"
            ),
            cll.Or(cll.ExactMatchLevel("postal_code"), cll.ExactMatchLevel("city")).configure(
                label_for_charts="same postcode or city"
            ),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    identifier = cl.CustomComparison(
        output_column_name="identifier",
        comparison_description="Identifier",
        comparison_levels=[
            cll.NullLevel("identifier"),
            cll.ExactMatchLevel("identifier").configure(label_for_charts="exact"),
            _within_one_edit("identifier").configure(label_for_charts="one-character typo"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    return _with_priors([first_name, last_name, email, phone, dob, address, identifier])


# Starting values for m (P(level | same person)), in level order without the null level. EM
# refines them; a level the data cannot inform (e.g. no phone numbers at all) keeps its prior
# instead of contributing nothing.
_PRIOR_M = {
    "first_name": [0.80, 0.04, 0.06, 0.01, 0.03, 0.01, 0.05],
    "last_name": [0.85, 0.01, 0.07, 0.03, 0.04],
    "email": [0.65, 0.05, 0.30],
    "phone": [0.80, 0.02, 0.18],
    "date_of_birth": [0.90, 0.01, 0.04, 0.02, 0.03],
    "address": [0.60, 0.10, 0.02, 0.08, 0.05, 0.15],
    "identifier": [0.95, 0.02, 0.03],
}
# No level is treated as impossible for the same person: EM on clean data can drive m to
# ~1e-20, which would make one disagreeing field veto any amount of agreement elsewhere.
_M_FLOOR = 1e-3


def _with_priors(comparisons: list[cl.CustomComparison]) -> list[cl.CustomComparison]:
    for comparison in comparisons:
        priors = iter(_PRIOR_M[comparison._output_column_name or ""])
        for level in comparison._comparison_levels:
            if not isinstance(level, dict) and not _is_null_level(level):
                level.configure(m_probability=next(priors))
    return comparisons


def _level_labels(
    comparisons: list[cl.CustomComparison] | None = None,
) -> dict[str, dict[int, str]]:
    """comparison name -> gamma value -> label, derived from the comparison definitions."""
    labels: dict[str, dict[int, str]] = {}
    for comparison in comparisons if comparisons is not None else _comparisons():
        levels = comparison.create_comparison_levels()
        name = comparison._output_column_name or ""
        non_null = [lvl for lvl in levels if not _is_null_level(lvl)]
        mapping = {-1: "missing"}
        for index, level in enumerate(non_null):
            mapping[len(non_null) - 1 - index] = getattr(level, "label_for_charts", None) or ""
        labels[name] = mapping
    return labels


def _is_null_level(level: Any) -> bool:
    return isinstance(level, cll.NullLevel) or bool(getattr(level, "is_null_level", False))


COMPARISON_NAMES = [
    "first_name",
    "last_name",
    "email",
    "phone",
    "date_of_birth",
    "address",
    "identifier",
]

# Candidate pairs are generated by any of these rules (a union); each is an equi-join, so the
# whole set stays near-linear in the number of records.
_PREDICTION_RULES = [
    block_on("identifier"),
    block_on("email"),
    block_on("phone"),
    block_on("dob", "last_init"),
    block_on("dob", "first_init"),
    block_on("rare_name"),
    block_on("last_name", "first_prefix", "dob_year"),
    block_on("last_name", "first_prefix", "city"),
    block_on("last_meta", "first_meta", "dob_year"),
    block_on("postal_code", "first_meta"),
    block_on("postal_code", "last_meta"),
    block_on("street", "last_init"),
    # Records whose names are swapped, misspelt or missing, found by what else they share.
    block_on("dob", "postal_code"),
    block_on("dob", "house_number"),
    block_on("identifier_sorted", "postal_code"),
    block_on("identifier_sorted", "dob"),
    CustomRule("l.first_name = r.last_name AND l.last_name = r.first_name"),
]

# Expectation maximisation runs once per rule; each rule fixes the fields it blocks on and
# estimates the others, so together they estimate every comparison.
_TRAINING_RULES = [
    ("first_name", "last_name"),
    ("dob",),
    ("email",),
    ("identifier",),
    ("phone",),
]
# Training uses a random sample of this many records at most (see PersonModel.train).
TRAINING_RECORDS = 300_000
# EM needs a few hundred pairs to estimate anything; a rule with fewer is skipped.
_MIN_TRAINING_PAIRS = 100

_DETERMINISTIC_RULES = [
    block_on("identifier"),
    block_on("email"),
    block_on("first_name", "last_name", "dob"),
]


def _quiet_splink() -> None:
    for name in ("splink", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _default_db_api() -> Any:
    from splink import DuckDBAPI

    api = DuckDBAPI()
    try:
        api.duckdb_con.execute("SET enable_progress_bar = false")
    except Exception:  # pragma: no cover - older DuckDB
        logger.debug("could not disable the DuckDB progress bar")
    return api


# --- the model -------------------------------------------------------------------------------


class _Model:
    """A Fellegi-Sunter model: train on a customer's data, then score pairs. Subclasses say
    what is compared (features, comparisons, blocking and training rules)."""

    _kind = ""
    _format = ""
    _names: list[str] = []
    _household = False
    _tf_columns: tuple[str, ...] = ()
    _training_rules: list[tuple[str, ...]] = []
    _calibration: Mapping[str, float] = IDENTITY_CALIBRATION

    def _prepare(self, raw: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def _add_keys(self, features: pd.DataFrame) -> pd.DataFrame:
        return features

    def _comparison_list(self) -> list[cl.CustomComparison]:
        raise NotImplementedError

    def _prediction_rules(self) -> list[Any]:
        raise NotImplementedError

    def _deterministic_rules(self) -> list[Any]:
        raise NotImplementedError

    def __init__(self, settings: dict[str, Any] | None = None, *, db_api: Any = None) -> None:
        _quiet_splink()
        self._db_api = db_api
        self._parameters: dict[str, Any] | None = None
        if settings is not None:
            if settings.get("format") != self._format:
                raise ValueError(f"not a Patron {self._kind} model: {settings.get('format')!r}")
            self._parameters = settings

    # The DB API is created lazily, so that constructing a model is cheap.
    @property
    def db_api(self) -> Any:
        if self._db_api is None:
            self._db_api = _default_db_api()
        return self._db_api

    @property
    def trained(self) -> bool:
        return self._parameters is not None

    @property
    def calibration(self) -> Mapping[str, float]:
        """Slope and intercept turning match weights into calibrated probabilities (a model
        saved before calibration existed gets the current default)."""
        saved = (self._parameters or {}).get("calibration")
        return dict(saved) if saved else dict(self._calibration)

    def _settings(self) -> SettingsCreator:
        comparisons = self._comparison_list()
        if self._parameters is not None:
            for comparison in comparisons:
                saved = self._parameters["comparisons"].get(comparison._output_column_name, [])
                for level, parameters in zip(comparison._comparison_levels, saved, strict=False):
                    trained = {
                        key: parameters[short]
                        for key, short in (("m_probability", "m"), ("u_probability", "u"))
                        if parameters.get(short) is not None
                    }
                    if trained and not isinstance(level, dict):
                        level.configure(**trained)
        probability = (
            self._parameters["probability_two_random_records_match"]
            if self._parameters is not None
            else 1e-4
        )
        return SettingsCreator(
            link_type="dedupe_only",
            comparisons=list(comparisons),
            blocking_rules_to_generate_predictions=self._prediction_rules(),
            probability_two_random_records_match=probability,
            # Splink only returns the gamma (level) columns along with the matching columns.
            retain_matching_columns=True,
            retain_intermediate_calculation_columns=True,
            max_iterations=20,
            em_convergence=0.001,
        )

    @contextmanager
    def _session(self, features: pd.DataFrame) -> Iterator[tuple[Linker, list[Any]]]:
        """A linker over `features`; its tables are dropped afterwards.

        The DB API may be shared (one Spark session, or one model predicting many times), and
        Splink caches intermediate tables such as term frequencies on it: a fresh cache per
        session keeps one data set's statistics from leaking into another's scores.
        """
        registered: list[Any] = [self.db_api.register(features)]
        linker = Linker(registered[0], self._settings(), log_level=None)
        linker.table_management.invalidate_cache()
        try:
            yield linker, registered
        finally:
            linker.table_management.invalidate_cache()
            for sdf in registered:
                sdf.drop_table_from_database_and_remove_from_cache(force_non_splink_table=True)

    def train(
        self, raw: pd.DataFrame, labels: Iterable[tuple[int, int, bool]] | None = None
    ) -> None:
        """Estimate u by random sampling, lambda deterministically, and m by EM.

        Above TRAINING_RECORDS records, on a random sample of that many: every parameter is a
        proportion among pairs (u among random pairs, lambda among all pairs, m among
        matches), which a random sample of records estimates without bias, at a fraction of
        the cost.

        `labels` are people's decisions, (unique_id, unique_id, same person?), e.g. from the
        review queue; pairs whose records are not in `raw` are ignored, and the last decision
        on a pair counts. After the estimates above, the decided pairs correct each level's
        weight: see _learn_from_decisions.
        """
        decided = self._decided_pairs(raw, labels) if labels is not None else None
        if len(raw) > TRAINING_RECORDS:
            raw = raw.sample(n=TRAINING_RECORDS, random_state=42)
        features = self._prepare(raw)
        self._parameters = None
        with self._session(features) as (linker, _):
            try:
                linker.training.estimate_probability_two_random_records_match(
                    self._deterministic_rules(), recall=0.8
                )
            except Exception:  # no deterministic matches at all: keep the prior
                logger.info("could not estimate the match prior; keeping the default")
            u_pairs = min(5e6, max(1e5, len(features) * 5.0))
            linker.training.estimate_u_using_random_sampling(max_pairs=u_pairs, seed=42)
            for columns in self._training_rules:
                if _pair_count(features, columns) < _MIN_TRAINING_PAIRS:
                    continue  # e.g. a data set without emails or identifiers
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*columns), estimate_without_term_frequencies=True, max_pairs=5e5
                )
            parameters = _parameters_from_linker(
                linker, unseen_u=1.0 / u_pairs, model_format=self._format
            )
        parameters["calibration"] = dict(self._calibration)
        if decided is not None:
            frequencies = {
                column: features[column].value_counts(normalize=True) for column in self._tf_columns
            }
            parameters = _learn_from_decisions(
                parameters,
                decided,
                self._names,
                household=self._household,
                frequencies=frequencies,
            )
        self._parameters = parameters

    def _decided_pairs(
        self, raw: pd.DataFrame, labels: Iterable[tuple[int, int, bool]]
    ) -> pd.DataFrame:
        """The decided pairs of records in `raw`: their levels (gamma_ columns) and `same`."""
        decided: dict[tuple[int, int], bool] = {}
        for left, right, same in labels:
            if int(left) != int(right):
                decided[(min(int(left), int(right)), max(int(left), int(right)))] = bool(same)
        known = set(raw["unique_id"].astype("int64").tolist())
        rows = [(a, b, same) for (a, b), same in decided.items() if a in known and b in known]
        pairs = pd.DataFrame(rows, columns=["unique_id_l", "unique_id_r", "same"])
        if pairs.empty:
            return pairs
        ids = set(pairs["unique_id_l"]) | set(pairs["unique_id_r"])
        features = self._prepare(raw[raw["unique_id"].astype("int64").isin(ids)])
        with self._session(features) as (linker, registered):
            pairs_sdf = self.db_api.register(pairs[["unique_id_l", "unique_id_r"]])
            registered.append(pairs_sdf)
            gammas = _gammas_of_pairs(linker, pairs_sdf.physical_name)
        columns = ["unique_id_l", "unique_id_r"] + [f"gamma_{n}" for n in self._names]
        values = [f"{column}_l" for column in self._tf_columns]
        gammas = gammas[columns].astype("int64").join(gammas[values])
        # Splink may put either record of a pair on the left.
        left = gammas[["unique_id_l", "unique_id_r"]].min(axis=1)
        right = gammas[["unique_id_l", "unique_id_r"]].max(axis=1)
        gammas = gammas.assign(unique_id_l=left, unique_id_r=right)
        return gammas.merge(pairs, on=["unique_id_l", "unique_id_r"]).drop_duplicates(
            ["unique_id_l", "unique_id_r"]
        )

    def predict(self, raw: pd.DataFrame, *, threshold: float = 0.01) -> pd.DataFrame:
        """Score every candidate pair within `raw`; one row per pair with l < r."""
        self._require_trained()
        features = self._prepare(raw)
        if len(features) < 2:
            return _empty_pairs(self._names)
        with self._session(features) as (linker, _):
            result = linker.inference.predict(
                threshold_match_probability=model_threshold(threshold, self.calibration),
                warning_mode="never",
            )
            frame = _fetch_pairs(result, self._names)
        return _tidy_pairs(
            frame,
            threshold,
            self._names,
            household=self._household,
            calibration=self.calibration,
        )

    def predict_new(
        self, new: pd.DataFrame, existing: pd.DataFrame, *, threshold: float = 0.01
    ) -> pd.DataFrame:
        """Score pairs that involve at least one `new` record (new-existing and new-new)."""
        self._require_trained()
        if len(new) == 0:
            return _empty_pairs(self._names)
        everything = self._add_keys(
            pd.concat([self._prepare(existing), self._prepare(new)], ignore_index=True)
        )
        existing_features = everything.iloc[: len(existing)].reset_index(drop=True)
        new_features = everything.iloc[len(existing) :].reset_index(drop=True)
        frames = []
        # Term frequencies come from new and existing records together, as in a full run.
        with self._session(everything) as (linker, registered):
            for column in self._tf_columns:
                linker.table_management.compute_tf_table(column)
            new_sdf = self.db_api.register(new_features)
            registered.append(new_sdf)
            model_at = model_threshold(threshold, self.calibration)
            within = linker.inference.predict_within(
                new_sdf, threshold_match_probability=model_at, warning_mode="never"
            )
            frames.append(_fetch_pairs(within, self._names))
            if len(existing_features):
                existing_sdf = self.db_api.register(existing_features)
                registered.append(existing_sdf)
                between = linker.inference.predict_between(
                    new_sdf,
                    existing_sdf,
                    threshold_match_probability=model_at,
                    warning_mode="never",
                )
                frames.append(_fetch_pairs(between, self._names))
        frames = [f for f in frames if len(f)]
        if not frames:
            return _empty_pairs(self._names)
        return _tidy_pairs(
            pd.concat(frames, ignore_index=True),
            threshold,
            self._names,
            household=self._household,
            calibration=self.calibration,
        )

    def to_json(self) -> dict[str, Any]:
        self._require_trained()
        assert self._parameters is not None
        return dict(self._parameters)

    def _require_trained(self) -> None:
        if self._parameters is None:
            raise RuntimeError("train the model (or load a trained one) before predicting")


class PersonModel(_Model):
    """A Fellegi-Sunter model for people: train on a customer's data, then score pairs."""

    _kind = "person"
    _format = MODEL_FORMAT
    _names = COMPARISON_NAMES
    _household = True
    _tf_columns = ("first_name", "last_name")
    _training_rules = _TRAINING_RULES
    _calibration = PERSON_CALIBRATION

    def _prepare(self, raw: pd.DataFrame) -> pd.DataFrame:
        return prepare_people(raw)

    def _add_keys(self, features: pd.DataFrame) -> pd.DataFrame:
        return add_blocking_keys(features)

    def _comparison_list(self) -> list[cl.CustomComparison]:
        return _comparisons()

    def _prediction_rules(self) -> list[Any]:
        return list(_PREDICTION_RULES)

    def _deterministic_rules(self) -> list[Any]:
        return list(_DETERMINISTIC_RULES)


def _pair_count(features: pd.DataFrame, columns: tuple[str, ...]) -> int:
    """How many pairs a blocking rule on `columns` generates (nulls never join)."""
    sizes = features.dropna(subset=list(columns)).groupby(list(columns)).size()
    return int((sizes * (sizes - 1) // 2).sum())


def _gammas_of_pairs(linker: Linker, pairs_table: str) -> pd.DataFrame:
    """The comparison levels (gamma_ columns) of the given pairs of the linker's records.

    The steps of Splink's estimate_m_from_pairwise_labels, up to the comparison vectors: its
    public method replaces m outright, where Patron blends it with EM's.
    """
    from splink.internals.block_from_labels import block_from_labels
    from splink.internals.comparison_vector_values import compute_comparison_vector_values_sql
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.vertically_concatenate import enqueue_df_concat_with_tf

    pipeline = CTEPipeline()
    enqueue_df_concat_with_tf(linker, pipeline)
    pipeline.enqueue_list_of_sqls(block_from_labels(linker, pairs_table))
    columns = linker._settings_obj._columns_to_select_for_comparison_vector_values
    pipeline.enqueue_sql(
        compute_comparison_vector_values_sql(columns), "__splink__df_comparison_vectors"
    )
    result = linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)
    try:
        frame: pd.DataFrame = result.as_pandas_dataframe()
    finally:
        result.drop_table_from_database_and_remove_from_cache()
    return frame


# The prior on each level's correction from people's decisions: normal, mean 0, this standard
# deviation in bits (a factor of 2 in the level's Bayes factor).
DECISION_PRIOR_BITS = 1.0


def _learn_from_decisions(
    parameters: dict[str, Any],
    decided: pd.DataFrame,
    names: list[str],
    *,
    household: bool = False,
    frequencies: Mapping[str, pd.Series] | None = None,
) -> dict[str, Any]:
    """Correct each level's weight by what people decided about pairs reaching it.

    The model says log2 odds(same | levels) = slope x (prior + the sum of the levels'
    weights) + intercept (the calibration, see PERSON_CALIBRATION). Each level gets a
    correction d (calibrated bits), fitted by logistic regression of the decisions on the
    levels with the model's calibrated log odds as offset, and a normal prior
    N(0, DECISION_PRIOR_BITS) on every d (a maximum a posteriori estimate, by Newton's method):
    a few decisions move little, many consistent ones move a level as far as they show. The
    decided pairs are not a random sample (people see the review band), but they are chosen
    by their levels, and a model of P(same | levels) stays unbiased under such a choice,
    where m estimated from the accepted pairs alone would not (it would take review-band
    pairs for typical matches).
    Positive corrections lower u, negative ones lower m, so both stay probabilities; a
    correction of d calibrated bits moves the level's weight by d / slope.
    The offset is the score predict gives: with the term-frequency adjustment of an exact
    name (`frequencies`: column -> share of each value, from the training records), and the
    household correction (a shared address or phone it drops is not corrected either).
    """
    parameters = {
        **parameters,
        "comparisons": {
            name: [dict(level) for level in levels]
            for name, levels in parameters["comparisons"].items()
        },
        "decisions": {
            "same": int(decided["same"].sum()) if len(decided) else 0,
            "different": int((~decided["same"].astype(bool)).sum()) if len(decided) else 0,
        },
    }
    if decided.empty:
        return parameters
    prior = float(parameters["probability_two_random_records_match"])
    # The decided pairs scored as predict scores them: Bayes factors per comparison, the
    # match weight, and the household correction.
    scored = decided.reset_index(drop=True).copy()
    scored["match_weight"] = math.log2(prior / (1.0 - prior))
    trained_levels: dict[str, list[dict[str, Any]]] = {}
    for name in names:
        levels = [lvl for lvl in parameters["comparisons"].get(name, []) if lvl["m"] is not None]
        trained_levels[name] = levels
        factors = {
            len(levels) - 1 - i: float(lvl["m"]) / float(lvl["u"]) for i, lvl in enumerate(levels)
        }
        scored[f"bf_{name}"] = scored[f"gamma_{name}"].map(factors).fillna(1.0)
        if frequencies is not None and name in frequencies:
            exact = next((i for i, lvl in enumerate(levels) if lvl["label"] == "exact"), None)
            share = frequencies[name]
            if exact is not None and len(share):
                is_exact = scored[f"gamma_{name}"] == len(levels) - 1 - exact
                # A value the training records do not hold is rarer than any they do.
                tf = scored[f"{name}_l"].map(share).fillna(float(share.min()))
                adjustment = float(levels[exact]["u"]) / tf.astype(float)
                scored.loc[is_exact, f"bf_{name}"] *= adjustment[is_exact]
        scored["match_weight"] += np.log2(scored[f"bf_{name}"])
    if household:
        scored = _discount_household_evidence(scored)
    else:
        scored["household_discount"] = False
    calibration = parameters.get("calibration") or IDENTITY_CALIBRATION
    slope = float(calibration["slope"])
    offset = slope * scored["match_weight"].to_numpy() + float(calibration["intercept"])
    # Each correction's level, the decided pairs reaching it, and whether it may only go down:
    # a positive correction of an exact name cannot be expressed through u, which the
    # term-frequency adjustment cancels out (m / u x u / frequency).
    columns: list[tuple[dict[str, Any], np.ndarray, bool]] = []
    for name, levels in trained_levels.items():
        gamma = scored[f"gamma_{name}"].to_numpy()
        counted = np.ones(len(scored), dtype=bool)
        if household and name in _HOUSEHOLD_FIELDS:
            # The household correction set a dropped factor to 1.
            counted = ~(scored["household_discount"].to_numpy() & (scored[f"bf_{name}"] == 1.0))
        tf_adjusted = frequencies is not None and name in frequencies
        for index, level in enumerate(levels):
            reached = (gamma == len(levels) - 1 - index) & counted
            if reached.any():
                only_down = tf_adjusted and level["label"] == "exact"
                columns.append((level, reached.astype(float), only_down))
    if not columns:  # every decided pair missing every field
        return parameters
    y = scored["same"].astype(float).to_numpy()
    d = _fit_corrections(offset, np.column_stack([column for _, column, _ in columns]), y, columns)
    for (level, _, _), correction in zip(columns, d / (math.log(2.0) * slope), strict=True):
        if correction > 0:
            level["u"] = float(level["u"]) * 2.0**-correction
        else:
            level["m"] = float(level["m"]) * 2.0**correction
    return parameters


def _fit_corrections(
    offset: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    columns: list[tuple[Any, np.ndarray, bool]],
) -> np.ndarray:
    """Maximum a posteriori corrections (natural-log units) of a logistic regression of `y` on
    `x` with `offset` (log2 odds) and a normal prior of DECISION_PRIOR_BITS on each, by
    Newton's method; a column marked "only down" that would rise is held at 0 and the rest
    refitted (an active set)."""
    ln2 = math.log(2.0)
    precision = 1.0 / (DECISION_PRIOR_BITS * ln2) ** 2  # of d in natural-log units
    held: set[int] = set()
    while True:
        free = [i for i in range(x.shape[1]) if i not in held]
        if not free:
            return np.zeros(x.shape[1])
        xf = x[:, free]

        def objective(d: np.ndarray, xf: np.ndarray = xf) -> float:  # log posterior + const
            z = offset * ln2 + xf @ d
            return float(np.sum(y * z - np.logaddexp(0.0, z)) - precision / 2.0 * d @ d)

        # Newton's method, halving a step until the (concave) objective improves.
        d = np.zeros(len(free))
        current = objective(d)
        for _ in range(100):
            p = 1.0 / (1.0 + np.exp(-(offset * ln2 + xf @ d)))
            gradient = xf.T @ (y - p) - precision * d
            hessian = (xf * (p * (1.0 - p))[:, None]).T @ xf + precision * np.eye(len(d))
            step = np.linalg.solve(hessian, gradient)
            while objective(d + step) < current and np.abs(step).max() > 1e-9:
                step /= 2.0
            d += step
            current = objective(d)
            if np.abs(step).max() < 1e-6:
                break
        rising = [i for i, value in zip(free, d, strict=True) if columns[i][2] and value > 0]
        if not rising:
            result = np.zeros(x.shape[1])
            result[free] = d
            return result
        held.update(rising)


def _parameters_from_linker(
    linker: Linker,
    *,
    unseen_u: float,
    model_format: str = MODEL_FORMAT,
) -> dict[str, Any]:
    """The trained parameters, regularised: m floored (see _M_FLOOR) and renormalised, and a
    level never seen among random pairs (typically "identifier exact") given u = 1/sample
    size, the most its absence from the sample allows, instead of no weight at all."""
    settings = linker.misc.save_model_to_json()
    comparisons: dict[str, list[dict[str, Any]]] = {}
    for comparison in settings["comparisons"]:
        levels = [
            {
                "label": level.get("label_for_charts", ""),
                "m": level.get("m_probability"),
                "u": level.get("u_probability"),
            }
            for level in comparison["comparison_levels"]
        ]
        for saved, level in zip(levels, comparison["comparison_levels"], strict=True):
            if saved["u"] is None and not level.get("is_null_level"):
                saved["u"] = unseen_u
        trained = [level for level in levels if level["m"] is not None]
        for level in trained:
            level["m"] = max(float(level["m"]), _M_FLOOR)
        total = sum(level["m"] for level in trained)
        for level in trained:
            level["m"] = level["m"] / total
        comparisons[comparison["output_column_name"]] = levels
    # A small or duplicate-free data set can estimate 0 (or EM drift to 1): keep it a
    # probability whose log-odds exist.
    prior = min(max(float(settings["probability_two_random_records_match"]), 1e-9), 0.5)
    _remove_matches_from_u(comparisons, prior, floor=unseen_u)
    _regularise_name_levels(comparisons)
    return {
        "format": model_format,
        "probability_two_random_records_match": prior,
        "comparisons": comparisons,
    }


def _remove_matches_from_u(
    comparisons: dict[str, list[dict[str, Any]]], prior: float, *, floor: float
) -> None:
    """u among non-matches, from the share among random pairs, which include matches.

    Random sampling measures P(level | random pair) = prior * m + (1 - prior) * u. Where
    records have many duplicates (prior around 1e-4, as in a few thousand records with one
    duplicate each), the matches are most of the random pairs that share an identifier or
    an address, and taking that share as u makes agreeing on a near-unique value look ten
    times more common among different people than it is. Solved for u; a level whose share
    the matches explain entirely gets `floor` (the least the sample can tell apart from 0).
    """
    for levels in comparisons.values():
        for level in levels:
            if level["m"] is None or level["u"] is None:
                continue
            u = (float(level["u"]) - prior * float(level["m"])) / (1.0 - prior)
            level["u"] = max(u, min(floor, float(level["u"])))


# The most a first name given as an initial can say: the same initial letter is about 1 in 16
# for two different people, whatever the data shows.
_INITIAL_MAX_BAYES_FACTOR = 16.0


def _regularise_name_levels(comparisons: dict[str, list[dict[str, Any]]]) -> None:
    """Give the rare name levels u values that random sampling cannot estimate.

    Swapped names and initials are so rare among random pairs that the sample usually holds
    none, and u would be 1/sample size: a swap then weighed 15 bits in each of the two name
    comparisons, so that "James Thomas" and "Thomas James" (different people, common names)
    were a certain match. A swap is one piece of evidence, counted in the first-name
    comparison, and worth about as much as both names agreeing in place (u = product of the
    two exact-match u values); the last-name comparison counts it as neutral. An initial is
    worth at most _INITIAL_MAX_BAYES_FACTOR.
    """

    def level(name: str, label: str) -> dict[str, Any] | None:
        return next((lvl for lvl in comparisons.get(name, []) if lvl["label"] == label), None)

    first_exact, last_exact = level("first_name", "exact"), level("last_name", "exact")
    first_swap = level("first_name", "swapped with last name")
    last_swap = level("last_name", "swapped with first name")
    if first_exact and last_exact and first_swap and first_swap["m"] is not None:
        together = float(first_exact["u"] or 0.0) * float(last_exact["u"] or 0.0)
        first_swap["u"] = max(float(first_swap["u"] or 0.0), together)
    if last_swap and last_swap["m"] is not None:
        last_swap["u"] = last_swap["m"]
    initial = level("first_name", "initial")
    if initial and initial["m"] is not None:
        floor = initial["m"] / _INITIAL_MAX_BAYES_FACTOR
        initial["u"] = max(float(initial["u"] or 0.0), floor)


_PAIR_COLUMNS = ["unique_id_l", "unique_id_r", "match_probability", "match_weight"]


def _fetch_pairs(result: Any, names: list[str] = COMPARISON_NAMES) -> pd.DataFrame:
    """The scored pairs, only the columns _tidy_pairs reads: Splink's output also carries
    both sides' values of every compared column, which would triple the transfer."""
    available = {column.unquote().name for column in result.columns}
    wanted = _PAIR_COLUMNS + [
        f"{prefix}{name}" for name in names for prefix in ("gamma_", "mw_", "mw_tf_adj_")
    ]
    selected = ", ".join(column for column in wanted if column in available)
    frame: pd.DataFrame = result.db_api.query_sql(
        f"SELECT {selected} FROM {result.physical_name}", output_type="pandas"
    )
    return frame


def _empty_pairs(names: list[str] = COMPARISON_NAMES) -> pd.DataFrame:
    columns = _PAIR_COLUMNS + [f"gamma_{n}" for n in names]
    columns += [f"bf_{n}" for n in names]
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})
    frame["household_discount"] = pd.Series(dtype="bool")
    return frame.astype({"unique_id_l": "int64", "unique_id_r": "int64"})


def _tidy_pairs(
    frame: pd.DataFrame,
    threshold: float,
    names: list[str] = COMPARISON_NAMES,
    *,
    household: bool = True,
    calibration: Mapping[str, float] = IDENTITY_CALIBRATION,
) -> pd.DataFrame:
    """Order each pair l < r, keep the documented columns, one row per pair.

    `match_weight` stays the model's own (the sum of the fields' weights and the prior, after
    the household correction); `match_probability` is the calibrated one (see
    PERSON_CALIBRATION)."""
    left = frame["unique_id_l"].astype("int64")
    right = frame["unique_id_r"].astype("int64")
    out = pd.DataFrame(
        {
            "unique_id_l": left.where(left < right, right).to_numpy(),
            "unique_id_r": right.where(left < right, left).to_numpy(),
            "match_probability": frame["match_probability"].astype("float64").to_numpy(),
            "match_weight": frame["match_weight"].astype("float64").to_numpy(),
        }
    )
    for name in names:
        out[f"gamma_{name}"] = frame[f"gamma_{name}"].astype("int64").to_numpy()
        weight = frame[f"mw_{name}"].astype("float64").fillna(0.0)
        if f"mw_tf_adj_{name}" in frame:
            weight = weight + frame[f"mw_tf_adj_{name}"].astype("float64").fillna(0.0)
        out[f"bf_{name}"] = (2.0**weight).to_numpy()
    if household:
        out = _discount_household_evidence(out)
    else:
        out["household_discount"] = False
    out["match_probability"] = calibrated_probability(out["match_weight"], calibration)
    out = out[out["match_probability"] >= threshold]
    out = out.drop_duplicates(["unique_id_l", "unique_id_r"])
    return out.sort_values("match_probability", ascending=False, ignore_index=True)


def calibrated_probability(weight: Any, calibration: Mapping[str, float]) -> Any:
    """The calibrated probability of a match weight (log2 Bayes factor and prior), for a number
    or an array."""
    log2_odds = float(calibration["slope"]) * weight + float(calibration["intercept"])
    return 1.0 / (1.0 + np.power(2.0, -log2_odds))


def model_threshold(probability: float, calibration: Mapping[str, float]) -> float:
    """The model's own (uncalibrated) probability at which the calibrated one is `probability`:
    what Splink filters its predictions on."""
    probability = min(max(probability, 1e-12), 1.0 - 1e-12)
    weight = (math.log2(probability / (1.0 - probability)) - float(calibration["intercept"])) / (
        float(calibration["slope"])
    )
    return 1.0 / (1.0 + 2.0**-weight)


# Gamma values (see _level_labels) used by the household correction.
# First name missing, "different" or only "similar": not a nickname, typo, initial or swap.
_FIRST_NAME_CONFLICT = (-1, 0, 2)
_PERSONAL_AGREEMENT = {"email": 2, "identifier": 1, "date_of_birth": 2}  # gamma >= these
_HOUSEHOLD_FIELDS = ("address", "phone")


def _discount_household_evidence(pairs: pd.DataFrame) -> pd.DataFrame:
    """Stop a shared address and landline from counting twice for household members.

    Fellegi-Sunter treats fields as independent, but people living together share surname,
    address and phone; summed, those outweigh any first-name disagreement. When first names
    do not agree and nothing personal (email, identifier, date of birth) agrees, the shared
    address and phone are household evidence, not evidence of the same person: their positive
    weight is dropped (negative weight is kept) and the probability recomputed.
    """
    if pairs.empty:
        return pairs
    conflict = pairs["gamma_first_name"].isin(_FIRST_NAME_CONFLICT)
    for name, level in _PERSONAL_AGREEMENT.items():
        conflict &= pairs[f"gamma_{name}"] < level
    pairs = pairs.copy()
    pairs["household_discount"] = conflict
    if not conflict.any():
        return pairs
    for name in _HOUSEHOLD_FIELDS:
        column = f"bf_{name}"
        excess = conflict & (pairs[column] > 1.0)
        pairs.loc[excess, "match_weight"] -= pairs.loc[excess, column].map(math.log2)
        pairs.loc[excess, column] = 1.0
    pairs["match_probability"] = 1.0 / (1.0 + 2.0 ** (-pairs["match_weight"]))
    return pairs


# --- organisations (accounts) ----------------------------------------------------------------

ORGANISATION_FORMAT = "patron.organisation-model/1"
ORGANISATION_COMPARISON_NAMES = ["name", "domain", "email", "phone", "address", "identifier"]

_ORGANISATION_PRIOR_M = {
    "name": [0.70, 0.08, 0.08, 0.05, 0.04, 0.05],
    "domain": [0.85, 0.15],
}


def _organisation_comparisons() -> list[cl.CustomComparison]:
    """Company name (legal form ignored, see features.clean_company_name) and web domain, plus
    the person model's email, phone, address and identifier comparisons as they are."""
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_description="Company name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name", term_frequency_adjustments=True).configure(
                label_for_charts="exact"
            ),
            cll.ExactMatchLevel("name_key").configure(label_for_charts="same letters"),
            _jw("name", 0.92).configure(label_for_charts="typo"),
            cll.CustomLevel(
                "length(name_key_l) >= 4 AND length(name_key_r) >= 4 "
                "AND (instr(name_key_l, name_key_r) > 0 OR instr(name_key_r, name_key_l) > 0)",
                label_for_charts="one contains the other",
            ),
            _jw("name", 0.8).configure(label_for_charts="similar"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    domain = cl.CustomComparison(
        output_column_name="domain",
        comparison_description="Web domain",
        comparison_levels=[
            cll.NullLevel("domain"),
            cll.ExactMatchLevel("domain").configure(label_for_charts="exact"),
            cll.ElseLevel().configure(label_for_charts="different"),
        ],
    )
    for comparison in (name, domain):
        priors = iter(_ORGANISATION_PRIOR_M[comparison._output_column_name or ""])
        for level in comparison._comparison_levels:
            if not isinstance(level, dict) and not _is_null_level(level):
                level.configure(m_probability=next(priors))
    shared = {c._output_column_name: c for c in _comparisons()}
    return [name, domain, shared["email"], shared["phone"], shared["address"], shared["identifier"]]


_ORGANISATION_PREDICTION_RULES = [
    block_on("identifier"),
    block_on("domain"),
    block_on("email"),
    block_on("phone"),
    block_on("name_key"),
    block_on("name_prefix", "postal_code"),
    block_on("name_meta", "city"),
    block_on("postal_code", "house_number"),
]
_ORGANISATION_TRAINING_RULES: list[tuple[str, ...]] = [
    ("name_key",),
    ("domain",),
    ("phone",),
    ("postal_code",),
]
_ORGANISATION_DETERMINISTIC_RULES = [
    block_on("identifier"),
    block_on("name_key", "domain"),
    block_on("name_key", "postal_code"),
]


class OrganisationModel(_Model):
    """The same kind of model for organisations (accounts): frames in ORGANISATION_RAW_COLUMNS,
    pairs with gamma_/bf_ columns for ORGANISATION_COMPARISON_NAMES."""

    _kind = "organisation"
    _format = ORGANISATION_FORMAT
    _names = ORGANISATION_COMPARISON_NAMES
    _household = False
    _tf_columns = ("name",)
    _training_rules = _ORGANISATION_TRAINING_RULES

    def _prepare(self, raw: pd.DataFrame) -> pd.DataFrame:
        return prepare_organisations(raw)

    def _comparison_list(self) -> list[cl.CustomComparison]:
        return _organisation_comparisons()

    def _prediction_rules(self) -> list[Any]:
        return list(_ORGANISATION_PREDICTION_RULES)

    def _deterministic_rules(self) -> list[Any]:
        return list(_ORGANISATION_DETERMINISTIC_RULES)


_LABELS: dict[str, dict[int, str]] | None = None


def explain(pair: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per comparison: the level reached and its match weight, biggest absolute effect first."""
    global _LABELS
    if _LABELS is None:
        _LABELS = {**_level_labels(_organisation_comparisons()), **_level_labels()}
    rows: list[dict[str, Any]] = []
    household = bool(pair.get("household_discount", False))
    for name in dict.fromkeys(COMPARISON_NAMES + ORGANISATION_COMPARISON_NAMES):
        gamma_key = f"gamma_{name}"
        if gamma_key not in pair:
            continue
        gamma = int(pair[gamma_key])
        bf = float(pair.get(f"bf_{name}", 1.0) or 1.0)
        weight = math.log2(bf) if bf > 0 else float("-inf")
        label = _LABELS.get(name, {}).get(gamma, str(gamma))
        if household and name in _HOUSEHOLD_FIELDS and gamma > 0:
            label += " (shared household: not counted)"
        rows.append({"field": name, "label": label, "weight": round(weight, 2)})
    rows.sort(key=lambda row: abs(float(row["weight"])), reverse=True)
    return rows
