"""The at-risk list of distributed scores: the top rows on the client, the full ranked list.

Every list rule is :mod:`churnpredict._export`'s: the options are one
:class:`~churnpredict._export.ListOptions` (checked once), default tiers come from
:func:`~churnpredict._export.base_rate_tiers`, the top candidates from
:func:`~churnpredict._export.ranking_key`, and the rows from
:func:`~churnpredict._export.at_risk_list` itself.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._atomic import atomic_directory
from .._exceptions import ChurnDataError
from .._export import (
    AT_RISK_COLUMNS,
    PROBABILITY_DIGITS,
    PURCHASE_AT_RISK_COLUMNS,
    ListOptions,
    at_risk_list,
    base_rate_tiers,
    list_base_rate,
    rank_columns,
    ranking_key,
    write_at_risk,
)
from .._folders import check_output_folder, mark_output_folder
from .._list_options import options_or_keywords
from ._frames import TEXT, conform, from_delayed, require_dask, text_like

__all__ = ["write_at_risk_dask"]


def _at_risk_partition(
    scores: pd.DataFrame, horizon: Any, options: ListOptions, meta: pd.DataFrame
) -> pd.DataFrame:
    if len(scores) == 0:
        return meta
    frame = at_risk_list(scores, horizon=horizon, options=options).drop(columns=["rank"])
    return conform(frame, meta)


def _with_rank(frame: pd.DataFrame, start: int) -> pd.DataFrame:
    frame = frame.copy()
    frame.insert(0, "rank", np.arange(start + 1, start + len(frame) + 1, dtype=np.int64))
    return frame


@contextlib.contextmanager
def _atomic_directory(path: Path) -> Iterator[Path]:
    """Yield a temporary directory next to ``path``; it replaces ``path`` only on success.

    ``path`` must be new, empty or a ranked list written before (its marker file, see
    :mod:`churnpredict._folders`); the new folder gets the marker.
    """
    check_output_folder(path, "ranked-list", "ranked_out")
    with atomic_directory(path) as tmp:
        mark_output_folder(tmp, "ranked-list")
        yield tmp


def _write_ranked(scores: Any, horizon: Any, options: ListOptions, path: Path) -> None:
    """The full list, globally ranked, as partitioned Parquet (``options.top`` ignored)."""
    import dask

    options = options.replace(top=None, holdout=None, random_state=None)
    meta = at_risk_list(scores._meta.iloc[:0], horizon=horizon, options=options).drop(
        columns=["rank"]
    )
    meta = meta.astype({c: TEXT for c in meta.columns if text_like(meta[c].dtype)})
    ranked = scores.map_partitions(_at_risk_partition, horizon, options, meta, meta=meta)
    # the list's order: probabilities to PROBABILITY_DIGITS, then the other key, then the id
    keys = {
        name: ranked[name].round(PROBABILITY_DIGITS)
        if name == "churn_probability"
        else ranked[name]
        for name in rank_columns(options.rank_by)
    }
    ranked = (
        ranked.assign(
            _first=keys[rank_columns(options.rank_by)[0]],
            _second=keys[rank_columns(options.rank_by)[1]],
        )
        .sort_values(["_first", "_second", "customer_id"], ascending=[False, False, True])
        .drop(columns=["_first", "_second"])
        .persist()
    )
    lengths = ranked.map_partitions(len).compute().tolist()
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int).tolist()
    pieces = [
        dask.delayed(_with_rank)(p, s) for p, s in zip(ranked.to_delayed(), starts, strict=True)
    ]
    with_rank = from_delayed(pieces, _with_rank(meta, 0))
    with _atomic_directory(path) as tmp:
        with_rank.to_parquet(
            str(tmp), write_index=False, name_function=lambda i: f"part.{i:05d}.parquet"
        )


def _with_tiers(scores: Any, options: ListOptions) -> tuple[ListOptions, float | None]:
    """The options with default tiers against the base rate of all scored customers, and
    that rate (None when the options give tiers)."""
    n = int(scores.shape[0].compute())
    if n == 0:
        raise ChurnDataError("no customer was scored; check as_of")
    if options.tiers is not None:
        return options, None
    rate = list_base_rate(float(scores["churn_probability"].mean().compute()), n)
    return options.replace(tiers=base_rate_tiers(rate)), rate


def _top_candidates(scores: Any, horizon: Any, options: ListOptions) -> Any:
    """The scores that may make the list: those passing its filters whose ranking key
    reaches the ``top``-th largest (every row when there is no ``top``)."""
    candidates = scores
    if options.min_probability is not None:
        candidates = candidates[candidates["churn_probability"] >= options.min_probability]
    if options.statuses is not None and "status" in candidates.columns:
        candidates = candidates[candidates["status"].isin(sorted(options.statuses))]
    if options.top:
        # every row of the top `top` has a ranking key at least the top-th largest key
        key = ranking_key(candidates, horizon, options.rank_by)
        kth = float(key.nlargest(options.top).min().compute())
        if np.isfinite(kth):  # -inf: unknown revenue reaches the top, keep every row
            candidates = candidates[key >= kth]
    return candidates


def write_at_risk_dask(
    scores: Any,
    out: str | os.PathLike | None = None,
    *,
    horizon: Any = "28D",
    ranked_out: str | os.PathLike | None = None,
    top: int | None = None,
    rank_by: str | None = None,
    min_probability: float | None = None,
    tiers: Mapping[str, float] | None = None,
    actions: Mapping[str, str] | None = None,
    extra_columns: Sequence[str] = (),
    options: ListOptions | None = None,
) -> pd.DataFrame:
    """Rank distributed scores: a top-N list for the retention team and the full ranked list.

    The result is what :func:`churnpredict._export.at_risk_list` gives on all the scores at
    once: default tiers compare with the base rate of *all* scored customers (their mean
    probability is found first), the order is the same
    (:func:`~churnpredict._export.rank_columns`, then customer id), and only the candidates
    for the top ``top`` rows (those whose :func:`~churnpredict._export.ranking_key` reaches
    the ``top``-th largest) are brought to the client.

    Parameters
    ----------
    scores : dask.dataframe.DataFrame
        From :func:`~churnpredict.dask.score_customers_dask`.
    out : path-like, optional
        The at-risk list file (``.csv``, ``.parquet`` or ``.xlsx``), written atomically with
        :func:`churnpredict._export.write_at_risk`.
    horizon : duration
        The pipeline's horizon (for revenue at risk).
    ranked_out : path-like, optional
        Directory for the complete ranked list as partitioned Parquet, globally sorted with a
        ``rank`` column (no holdout there). Written to a temporary directory next to it, then
        renamed (every worker must see this path: a shared disk). An existing directory is
        replaced only when it is empty or a ranked list churnpredict wrote (its marker file,
        :mod:`churnpredict._folders`).
    top, rank_by, min_probability, tiers, actions, extra_columns
        As in :func:`churnpredict._export.at_risk_list`.
    options : ListOptions, optional
        All the list options as one checked object, instead of the keywords (also
        ``status``, ``holdout`` and ``random_state``).

    Returns
    -------
    pandas.DataFrame
        The at-risk list (first ``top`` rows, or all when ``top`` is None).
    """
    require_dask()
    options = options_or_keywords(
        options,
        top=top,
        rank_by=rank_by,
        min_probability=min_probability,
        tiers=tiers,
        actions=actions,
        extra_columns=tuple(extra_columns) or None,
    )
    if ranked_out is not None:  # before any work
        check_output_folder(Path(ranked_out), "ranked-list", "ranked_out")
    scores = scores.persist()
    options, rate = _with_tiers(scores, options)
    candidates = _top_candidates(scores, horizon, options)
    frame = at_risk_list(candidates.compute(), horizon=horizon, options=options)
    if rate is not None:  # of everyone scored, not of the candidates
        frame.attrs["base_rate"] = rate
    if out is not None:
        write_at_risk(frame, out, actions=options.actions)
    if ranked_out is not None:
        _write_ranked(scores, horizon, options, Path(ranked_out))
    required = AT_RISK_COLUMNS if "mrr" in frame.columns else PURCHASE_AT_RISK_COLUMNS
    missing = [c for c in required if c not in frame.columns]
    if missing:  # pragma: no cover - at_risk_list always adds them
        raise ChurnDataError(f"at-risk list lacks {missing}")
    return frame
