"""Reason text: feature metadata, peer and past comparisons, and the sentences of reasons.

:func:`churnpredict._explain.explain` decides which facts raise a customer's risk; this module
words them. :func:`feature_metadata` / :func:`feature_records` read the features'
descriptions (``describe_features``), :func:`reason_texts` formats each reason's template
with the customer's value, adding its own past or a comparison with peers
(:func:`reference_percentiles`), and :func:`say_what_is_new` completes the tenure reason of
a new customer. :func:`related_facts` joins features that state one fact. How reasons are
built: ``docs/reasons.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import ChurnDataError
from ._labels import MIN_POPULATION
from .features import DRIVER_GROUPS, FeatureInfo, format_value
from .features._base import INFO_FIELDS

__all__ = [
    "REASON_THRESHOLD",
    "RELATED_CORRELATION",
    "CAUSE_SHARE",
    "MAX_REASON_CHARS",
    "PEER_SHARE",
    "INFO_FIELDS",
    "feature_metadata",
    "feature_records",
    "population_peers",
    "reference_percentiles",
    "peer_reference",
    "related_facts",
    "reason_texts",
    "say_what_is_new",
]

#: Default reason threshold in probability points: a reason must raise the churn probability
#: by at least one point (see docs/reasons.md for how it was chosen).
REASON_THRESHOLD = 0.01
#: A cause (failed payments, tickets, a price change, an onboarding that never took) is named
#: before the activity decline when its weight is at least this share of the decline's (see
#: docs/reasons.md for how it was measured).
CAUSE_SHARE = 0.3
#: Features whose training values correlate at least this much (absolute, rank correlation)
#: within a driver group state the same fact.
RELATED_CORRELATION = 0.8
#: Longest reason sentence (characters) before the peer reference is left out.
MAX_REASON_CHARS = 90
#: A customer is compared with peers ("more than 80% of customers") when at least this share
#: of them is strictly below (or above); a value this common among them is a tie.
PEER_SHARE = 0.75


def feature_metadata(feature_info: Any, names: Sequence[str]) -> pd.DataFrame:
    """The feature metadata of the model's features, checked.

    Parameters
    ----------
    feature_info : pandas.DataFrame or list of FeatureInfo
        As :func:`churnpredict.describe_features` returns (indexed by feature name with
        columns ``group`` and ``description``, optionally the other FeatureInfo fields).
    names : sequence of str
        The model's features, in order.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``names`` with the :data:`INFO_FIELDS` columns present.

    Raises
    ------
    ChurnDataError
        For metadata of the wrong type, without ``group`` or ``description``, without a row
        for a model feature, or naming an unknown driver group.
    """
    info = feature_info if isinstance(feature_info, pd.DataFrame) else _info_frame(feature_info)
    absent = [c for c in ("group", "description") if c not in info.columns]
    if absent:
        raise ChurnDataError(
            f"feature_info lacks column(s) {absent}; pass describe_features(builders), "
            f"indexed by feature name with columns 'group' and 'description'"
        )
    missing = [n for n in names if n not in info.index]
    if missing:
        raise ChurnDataError(
            f"feature_info has no row for {len(missing)} model feature(s): {missing[:5]}; pass "
            f"describe_features(builders) for the builders the model was trained with"
        )
    info = info.loc[list(names), [c for c in INFO_FIELDS if c in info.columns]]
    bad = sorted(set(info["group"].astype(str)) - set(DRIVER_GROUPS))
    if bad:
        raise ChurnDataError(
            f"feature_info names unknown driver group(s) {bad}; use one of {DRIVER_GROUPS}"
        )
    return info


def _info_frame(feature_info: Any) -> pd.DataFrame:
    """A list of FeatureInfo as a metadata frame indexed by feature name."""
    records = list(feature_info)
    if records and not all(isinstance(r, FeatureInfo) for r in records):
        raise ChurnDataError(
            "feature_info must be a DataFrame indexed by feature name with columns 'group' "
            "and 'description' (see describe_features) or a list of FeatureInfo"
        )
    return pd.DataFrame(
        {f: pd.Series([getattr(r, f) for r in records], dtype=object) for f in INFO_FIELDS}
    ).set_axis(pd.Index([r.name for r in records], name="feature"))


def _none(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value


def feature_records(feature_info: Any, names: Sequence[str]) -> list[FeatureInfo]:
    """One FeatureInfo per model feature, from a describe_features frame or FeatureInfo list.

    Parameters
    ----------
    feature_info : pandas.DataFrame or list of FeatureInfo
        As for :func:`feature_metadata` (and checked the same way).
    names : sequence of str
        The model's features, in order.

    Returns
    -------
    list of FeatureInfo
        In the order of ``names``.
    """
    if not isinstance(feature_info, pd.DataFrame):
        given = {r.name: r for r in feature_info if isinstance(r, FeatureInfo)}
        if all(n in given for n in names):
            feature_metadata(feature_info, names)  # the same checks
            return [given[n] for n in names]
    info = feature_metadata(feature_info, names)
    fields = {f: info[f].tolist() if f in info.columns else [None] * len(info) for f in INFO_FIELDS}
    out = []
    for i, name in enumerate(info.index):
        get = {f: _none(fields[f][i]) for f in INFO_FIELDS}
        kind = get["kind"] or "number"
        out.append(
            FeatureInfo(
                str(name),
                str(get["group"]),
                str(get["description"]),
                get["description_if_zero"],
                get["description_if_missing"],
                kind=str(kind),
                noun=get["noun"],
                fact=get["fact"],
                window_days=None if get["window_days"] is None else float(get["window_days"]),
                is_tenure=bool(get["is_tenure"]) if get["is_tenure"] is not None else False,
                past_change=get["past_change"],
                past_label=get["past_label"],
                role=get["role"],
            )
        )
    return out


def _numeric(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    out = {}
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype) or not (
            pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)
        ):
            continue
        out[str(name)] = col.to_numpy(dtype=np.float64, na_value=np.nan)
    return out


def reference_percentiles(X: pd.DataFrame) -> dict[str, list[float]]:
    """Percentiles 0, 1, ..., 100 of every numeric feature over the training rows.

    Stored in a fitted pipeline (``feature_percentiles_``, kept in bundles) so a reason can
    compare the customer with peers ("lower than 90% of customers").

    Parameters
    ----------
    X : pandas.DataFrame
        Training features.

    Returns
    -------
    dict of str -> list of 101 floats
        Missing values are left out; features with no value or two or fewer distinct values
        (flags) get no entry.
    """
    out = {}
    for name, values in _numeric(X).items():
        values = values[~np.isnan(values)]
        if values.size == 0 or np.unique(values[:10_000]).size <= 2 and np.unique(values).size <= 2:
            continue
        out[name] = [float(v) for v in np.percentile(values, np.arange(101))]
    return out


def related_facts(
    X: pd.DataFrame, feature_info: Any, threshold: float = RELATED_CORRELATION
) -> dict[str, str]:
    """Fact key of every feature: declared ``fact`` keys joined with strongly related features.

    Two features of one driver group state the same fact when their declared fact keys
    match or their training values have an absolute rank correlation of at least
    ``threshold``; the relation is closed transitively (connected components).

    Parameters
    ----------
    X : pandas.DataFrame
        Training features.
    feature_info : pandas.DataFrame or list of FeatureInfo
    threshold : float, default 0.8

    Returns
    -------
    dict of str -> str
        Feature name -> fact id (the name of one member feature).
    """
    names = [str(c) for c in X.columns]
    records = feature_records(feature_info, names)
    parent = list(range(len(names)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        a, b = find(i), find(j)
        if a != b:
            parent[max(a, b)] = min(a, b)

    first: dict[tuple[str, str], int] = {}
    for i, r in enumerate(records):
        key = (r.group, r.fact_key)
        union(i, first.setdefault(key, i))
    numeric = _numeric(X)
    cols = [i for i, n in enumerate(names) if n in numeric]
    if len(cols) > 1 and len(X) > 2:
        rows = np.arange(len(X))
        if len(rows) > 10_000:  # a fixed, evenly spread sample keeps this fast
            rows = np.linspace(0, len(X) - 1, 10_000).astype(np.int64)
        block = np.column_stack([numeric[names[i]][rows] for i in cols])
        ranks = pd.DataFrame(block).rank().to_numpy()
        present = ~np.isnan(ranks)
        fill = np.where(
            present.any(axis=0),
            np.where(present, ranks, 0.0).sum(axis=0) / np.maximum(present.sum(axis=0), 1),
            0.0,
        )
        ranks = np.where(present, ranks, fill)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(ranks, rowvar=False)
        corr = np.nan_to_num(np.atleast_2d(corr))
        a, b = np.nonzero(np.triu(np.abs(corr) >= threshold, 1))
        for i, j in zip(a, b, strict=True):
            if records[cols[i]].group == records[cols[j]].group:
                union(cols[i], cols[j])
    return {n: names[find(i)] for i, n in enumerate(names)}


def peer_reference(
    numeric: np.ndarray,
    records: Sequence[FeatureInfo],
    percentiles: Mapping[str, Sequence[float]] | None = None,
    *,
    categorical: Any = (),
    min_population: int = MIN_POPULATION,
) -> dict[str, np.ndarray]:
    """What each customer is compared with: today's scored customers, else the training rows.

    Parameters
    ----------
    numeric : ndarray of shape (n_rows, n_features)
        The features of the customers scored now, as float64.
    records : sequence of FeatureInfo
        One per column of ``numeric``.
    percentiles : dict of str -> list of float, optional
        :func:`reference_percentiles` of the training rows: the reference when fewer than
        ``min_population`` customers are scored (e.g. one customer).
    categorical : collection of int, default ()
        Positions of categorical features (never compared).
    min_population : int, default 100

    Returns
    -------
    dict of str -> ndarray
        Sorted values per comparable feature (numbers, counts, amounts, durations, shares;
        not flags, categories or ranks, which are comparisons already).
    """
    return _sorted_peers(
        numeric.shape[0],
        lambda j: numeric[:, j],
        records,
        percentiles,
        categorical,
        min_population,
    )


def population_peers(
    X: pd.DataFrame,
    feature_info: Any,
    percentiles: Mapping[str, Sequence[float]] | None = None,
    *,
    min_population: int = MIN_POPULATION,
) -> dict[str, np.ndarray]:
    """:func:`peer_reference` of a whole scored population, read a column at a time.

    What a score explained in blocks of rows passes to every block, so each customer is
    compared with everyone scored, not with their block. Values are read as the model reads
    them (float32), as :func:`~churnpredict._explain.explain` does.

    Parameters
    ----------
    X : pandas.DataFrame
        The scored features.
    feature_info : pandas.DataFrame
        Driver metadata of the columns (:func:`feature_records`).
    percentiles : dict of str -> list of float, optional
        The training reference for fewer than ``min_population`` rows.
    min_population : int, default 100

    Returns
    -------
    dict of str -> ndarray
    """
    names = [str(c) for c in X.columns]
    records = feature_records(feature_info, names)
    categorical = [
        j
        for j, c in enumerate(X.columns)
        if not (pd.api.types.is_numeric_dtype(X[c].dtype) or pd.api.types.is_bool_dtype(X[c].dtype))
        or isinstance(X[c].dtype, pd.CategoricalDtype)
    ]

    def column(j: int) -> np.ndarray:
        values = X.iloc[:, j].to_numpy(dtype=np.float32, na_value=np.nan)
        return values.astype(np.float64)

    return _sorted_peers(len(X), column, records, percentiles, categorical, min_population)


def _sorted_peers(
    n_rows: int,
    column: Any,
    records: Sequence[FeatureInfo],
    percentiles: Mapping[str, Sequence[float]] | None,
    categorical: Any,
    min_population: int,
) -> dict[str, np.ndarray]:
    comparable = [
        j
        for j, r in enumerate(records)
        if r.kind not in ("flag", "category", "rank") and j not in categorical
    ]
    if n_rows < min_population:
        given = percentiles or {}
        return {
            records[j].name: np.asarray(given[records[j].name], dtype=np.float64)
            for j in comparable
            if records[j].name in given
        }
    out = {}
    for j in comparable:
        values = column(j)
        values = np.sort(values[~np.isnan(values)])
        if values.size and values[0] != values[-1]:
            out[records[j].name] = values
    return out


def _peer_text(values: np.ndarray, reference: np.ndarray, kind: str) -> np.ndarray:
    """ ", fewer than 90% of customers", ", like 35% of customers" (or nothing) per value.

    ``reference`` is sorted. A customer is "more" or "fewer" than the customers strictly
    below or above them; customers with the same value are ties, never "lower": a value that
    a quarter or more share is said to be common ("like 35% of customers").
    """
    values = np.asarray(values, dtype=np.float64)
    size = max(reference.size, 1)
    below = np.searchsorted(reference, values, side="left") / size
    above = 1.0 - np.searchsorted(reference, values, side="right") / size
    same = np.clip(1.0 - below - above, 0.0, 1.0)
    more, less = {
        "count": ("more", "fewer"),
        "rate": ("more", "fewer"),
        "days": ("longer", "shorter"),
    }.get(kind, ("higher", "lower"))
    out = np.full(values.shape, "", dtype=object)
    high = below >= PEER_SHARE
    low = ~high & (above >= PEER_SHARE)
    common = ~high & ~low & (same >= 1.0 - PEER_SHARE)
    pct_high = np.minimum(np.floor(below * 100), 99).astype(np.int64)
    pct_low = np.minimum(np.floor(above * 100), 99).astype(np.int64)
    pct_same = np.minimum(np.round(same * 100), 100).astype(np.int64)
    out[high] = [f", {more} than {p}% of customers" for p in pct_high[high]]
    out[low] = [f", {less} than {p}% of customers" for p in pct_low[low]]
    out[common] = [f", like {p}% of customers" for p in pct_same[common]]
    return out


def _values(
    source: pd.DataFrame | None, numeric: np.ndarray, j: int, categorical: Any = ()
) -> np.ndarray:
    """Column ``j`` for wording: the model input for numbers (float32 values read the
    same once rounded for a sentence), the original values for categorical features."""
    if source is None or j not in categorical:
        return numeric[:, j]
    col = source.iloc[:, j]
    return col.astype(object).where(col.notna(), None).to_numpy(dtype=object)


def say_what_is_new(
    texts: np.ndarray,
    where: np.ndarray,
    contrib: np.ndarray,
    moved: np.ndarray,
    silent: np.ndarray,
    records: Sequence[FeatureInfo],
    source: pd.DataFrame | None,
    numeric: np.ndarray,
    currency: str,
) -> None:
    """Tenure reasons of new customers also name what their short history shows.

    "customer for 2 weeks" becomes "customer for 2 weeks, no activity recorded yet" (the
    moved feature that raised the risk most), unless that passes the length limit.

    Parameters
    ----------
    texts : ndarray of object, shape (n_rows, n_slots)
        Reason sentences (from :func:`reason_texts`), changed in place.
    where : ndarray of bool, shape (n_rows, n_slots)
        The slots holding a tenure reason of a young customer.
    contrib : ndarray, shape (n_rows, n_features)
        Contributions in probability points.
    moved, silent : ndarray of bool, shape (n_rows, n_features)
        Contributions counted as tenure, and values that make no reason.
    records : sequence of FeatureInfo
    source : pandas.DataFrame or None
        The given features (for categorical values).
    numeric : ndarray, shape (n_rows, n_features)
        The model inputs as float64.
    currency : str
    """
    rows, slots = np.nonzero(where)
    if rows.size == 0:
        return
    said = np.where(moved[rows] & ~silent[rows], contrib[rows], -np.inf)
    best = np.argmax(said, axis=1)
    ok = np.isfinite(said[np.arange(rows.size), best])
    extra = np.full(rows.size, "", dtype=object)
    for j in np.unique(best[ok]):
        sel = np.flatnonzero(ok & (best == j))
        col = pd.Series(_values(source, numeric, j)[rows[sel]])  # numeric windowed features
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        described = np.array(
            [records[j].describe(_plain(u), currency) for u in uniques]
            + [records[j].describe(np.nan, currency)],
            dtype=object,
        )
        extra[sel] = described[codes]
    joined = np.array(
        [
            str(t).split(", ", 1)[0] + ", " + e if e else ""
            for t, e in zip(texts[rows, slots], extra, strict=True)
        ],
        dtype=object,
    )
    fits = np.array([0 < len(t) <= MAX_REASON_CHARS for t in joined], dtype=bool)
    texts[rows[fits], slots[fits]] = joined[fits]


def _past_text(value: float, previous: float, record: FeatureInfo, currency: str) -> str:
    """ ", down from 14 the 30 days before" (or nothing when unknown or unchanged)."""
    if not (np.isfinite(value) and np.isfinite(previous)) or abs(previous - value) < 0.5:
        return ""
    word = "down" if previous > value else "up"
    amount = format_value(
        previous, "number" if record.kind == "count" else record.kind, currency=currency
    )
    return f", {word} from {amount} {record.past_label or 'before'}"


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, so format specs such as ``{value:.0f}`` apply."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def reason_texts(
    lead: np.ndarray,
    records: Sequence[FeatureInfo],
    numeric: np.ndarray,
    *,
    source: pd.DataFrame | None = None,
    categorical: Any = (),
    peers: Mapping[str, Sequence[float]] | None = None,
    currency: str = "",
) -> np.ndarray:
    """The sentence of every reason slot, worded by the feature that leads it.

    Each feature's template is formatted once per distinct value. A count, amount or number
    with a ``past_change`` feature adds its own past ("down from 14 the 30 days before");
    otherwise, with ``peers``, the sentence compares the customer with them ("fewer than 90%
    of customers", "like 35% of customers"), either only while the sentence stays within
    :data:`MAX_REASON_CHARS`.

    Parameters
    ----------
    lead : ndarray of int, shape (n_rows, n_slots)
        Feature position wording each slot; -1 for an empty slot.
    records : sequence of FeatureInfo
        One per model feature, in model order.
    numeric : ndarray, shape (n_rows, n_features)
        The model inputs as float64.
    source : pandas.DataFrame, optional
        The given features in model order, for the values of categorical features.
    categorical : collection of int, default ()
        Positions of the categorical features.
    peers : dict of str -> sorted array of float, optional
        What each feature is compared with (:func:`peer_reference`).
    currency : str, default ""

    Returns
    -------
    ndarray of object, shape (n_rows, n_slots)
        Sentences; "" in empty slots.
    """
    names = [r.name for r in records]
    texts = np.full(lead.shape, "", dtype=object)
    for j in np.unique(lead[lead >= 0]):
        rows, slots = np.nonzero(lead == j)
        record = records[j]
        values = _values(source, numeric, j, categorical)[rows]
        past = None
        if record.past_change in names and record.kind in ("count", "money", "number"):
            change = numeric[rows, names.index(record.past_change)]
            past = (numeric[rows, j], numeric[rows, j] - change)
        grid = (peers or {}).get(record.name)
        texts[rows, slots] = _feature_texts(record, values, past, grid, currency)
    return texts


def _feature_texts(
    record: FeatureInfo,
    values: np.ndarray,
    past: tuple[np.ndarray, np.ndarray] | None,
    grid: Any,
    currency: str,
) -> np.ndarray:
    """The sentences of one feature's reasons, one per row of ``values``.

    Worded once per distinct value (with ``past``, the (value, previous value) arrays: once
    per pair, compared with the own past), then compared with the peers of ``grid`` when
    the sentence does not already say its past and stays within :data:`MAX_REASON_CHARS`.
    """
    if past is None:
        codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
        said = [record.describe(_plain(u), currency) for u in uniques]
        own = [False] * len(uniques)
    else:  # (value, previous value) pairs: compare with the own past
        pairs = pd.Series(list(zip(*past, strict=True)), dtype=object)
        codes, pair_uniques = pd.factorize(pairs, use_na_sentinel=True)
        said = _past_sentences(record, pair_uniques, currency)
        uniques = [u[0] for u in pair_uniques]
        own = [", down from" in s or ", up from" in s for s in said]
    if grid is not None and len(uniques) and record.kind not in ("flag", "category", "rank"):
        refs = _peer_text(np.asarray(uniques, dtype=np.float64), np.asarray(grid), record.kind)
        if record.description_if_zero is not None:  # "nothing paid" needs no peers
            refs = np.where(np.asarray(uniques, dtype=np.float64) == 0, "", refs)
        said = [
            s + r if r and not o and len(s) + len(r) <= MAX_REASON_CHARS else s
            for s, r, o in zip(said, refs, own, strict=True)
        ]
    described = np.array(said + [record.describe(np.nan, currency)], dtype=object)
    return described[codes]


def _past_sentences(record: FeatureInfo, pairs: Any, currency: str) -> list[str]:
    """The sentence of each (value, previous value) pair, its past added when it fits."""
    plain = [record.describe(_plain(u[0]), currency) for u in pairs]
    said = [
        s + _past_text(u[0], u[1], record, currency) if s else s
        for s, u in zip(plain, pairs, strict=True)
    ]
    return [s if len(s) <= MAX_REASON_CHARS else p for s, p in zip(said, plain, strict=True)]
