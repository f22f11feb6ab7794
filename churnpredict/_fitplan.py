"""Planning a time-ordered fit: folds, purge gap, tuning candidates and class weight.

What :meth:`~churnpredict._model.ChurnModel.plan_fit` decides before any tree is grown, as
plain functions of the rows and the model's parameters. With a ``cutoff`` index level and
more cutoffs than ``validation_cutoffs``, the latest cutoffs form the validation fold and
earlier cutoffs whose label horizon reaches past the first validation cutoff are purged
(:func:`time_folds`); otherwise a stratified random holdout validates (:func:`holdout_masks`).
:func:`tuning_candidates` lists the parameter settings a tuned fit tries.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state

from ._exceptions import ChurnModelError

__all__ = [
    "FitPlan",
    "CandidateTrainer",
    "Refitter",
    "make_fit_plan",
    "time_folds",
    "validation_cutoff_count",
    "early_stopping_rows",
    "sample_others",
    "EARLY_STOPPING_ROWS",
    "holdout_masks",
    "tuning_candidates",
    "TUNE_GRID",
    "HOLDOUT_FRACTION",
]

#: Validation rows early stopping watches at most (every churner and a weighted share of the
#: others beyond): XGBoost evaluates every round on them, at about the cost of training on
#: twice as many rows. The calibration map and the validation scores use every row.
EARLY_STOPPING_ROWS = 100_000
#: Share of the rows a random holdout validates on when ``validation_cutoffs`` is an integer.
HOLDOUT_FRACTION = 0.2
#: Values a tuned fit combines (``learning_rate_factor`` multiplies the model's learning rate).
TUNE_GRID = {
    "max_depth": (3, 4, 6),
    "min_child_weight": (1.0, 5.0, 20.0),
    "learning_rate_factor": (1.0, 2.0),
}


@dataclass(frozen=True)
class FitPlan:
    """What :meth:`ChurnModel.plan_fit` decides before any tree is grown.

    Attributes
    ----------
    seed : int
        XGBoost seed (also the seed of a random holdout).
    candidates : tuple of dict
        Parameter overrides to try, the estimator's own first (more when ``tune``).
    scale_pos_weight : float
        Negatives / positives with ``class_weight="balanced"``, else 1.0.
    calibration_prior : {"raw", "sigmoid"}
        What sparse isotonic blocks are shrunk toward (see :class:`Calibrator`): "sigmoid"
        when class weights inflate the booster's raw probability.
    train, valid : ndarray of bool
        Training and validation masks over the rows given to :meth:`ChurnModel.plan_fit`.
    train_cutoffs, valid_cutoffs, purged_cutoffs, refit_cutoffs : DatetimeIndex or None
        Cutoffs of each fold (None for a random holdout).
    n_train_rows, n_valid_rows, n_rows : int
        Rows in the training fold, the validation fold and in all (the refit).
    """

    seed: int
    candidates: tuple[dict[str, Any], ...]
    scale_pos_weight: float
    calibration_prior: str
    train: np.ndarray
    valid: np.ndarray
    train_cutoffs: pd.DatetimeIndex | None
    valid_cutoffs: pd.DatetimeIndex | None
    purged_cutoffs: pd.DatetimeIndex | None
    refit_cutoffs: pd.DatetimeIndex | None
    n_train_rows: int
    n_valid_rows: int
    n_rows: int


#: ``train_candidate(params) -> (best_iteration, validation_margins, validation_labels)``:
#: trains one candidate with early stopping on the validation fold.
CandidateTrainer = Callable[[dict[str, Any]], tuple[int, np.ndarray, np.ndarray]]
#: ``refit(params, rounds) -> booster``: trains on every row for ``rounds`` rounds.
Refitter = Callable[[dict[str, Any], int], xgb.Booster]


def make_fit_plan(
    index: pd.Index,
    y: Any,
    *,
    counts: Any = None,
    sample_weight: Any = None,
    validation_cutoffs: Any,
    horizon: pd.Timedelta | None,
    class_weight: str | None,
    tune: bool | int,
    max_depth: int,
    min_child_weight: float,
    learning_rate: float,
    random_state: Any,
    name: str = "ChurnModel",
) -> FitPlan:
    """Folds, purge gap, candidates and class weight of a fit, before any training.

    The body of :meth:`~churnpredict._model.ChurnModel.plan_fit`, which passes its checked
    parameters (``horizon`` parsed).

    Parameters
    ----------
    index : pandas.Index
        Index of the rows, with or without a ``cutoff`` level.
    y : array-like of 0/1
        Encoded labels of the rows.
    counts : array-like of int, optional
        How many rows each given row stands for (grouped rows need the time-ordered fold).
    sample_weight : array-like of float, optional
        Row weights; ``scale_pos_weight`` (``class_weight="balanced"``) is the ratio of the
        weighted negatives to the weighted positives.
    validation_cutoffs, class_weight, tune, max_depth, min_child_weight, learning_rate, \
random_state
        As in :class:`~churnpredict._model.ChurnModel`.
    horizon : pandas.Timedelta or None
        The purge gap.
    name : str, default "ChurnModel"
        The estimator named in error messages.

    Returns
    -------
    FitPlan

    Raises
    ------
    ChurnModelError
        For folds without both classes or without training cutoffs.
    """
    y = np.asarray(y, dtype=np.int8)
    weight = (
        np.ones(len(y), dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)
    )
    rng = check_random_state(random_state)
    seed = int(rng.randint(np.iinfo(np.int32).max))
    folds = time_folds(index, y, weight, validation_cutoffs=validation_cutoffs, horizon=horizon)
    if folds is None:
        if counts is not None:
            names = list(getattr(index, "names", []) or [])
            n_cut = len(pd.unique(index.get_level_values("cutoff"))) if "cutoff" in names else 0
            raise ChurnModelError(
                f"{n_cut} training cutoff(s) but validation_cutoffs="
                f"{validation_cutoffs!r}: here the validation fold is the latest "
                f"cutoffs, so more cutoffs are needed; raise n_cutoffs or lower "
                f"validation_cutoffs"
            )
        train, valid = holdout_masks(y, seed, validation_cutoffs=validation_cutoffs, name=name)
        cutoffs: tuple[pd.DatetimeIndex | None, ...] = (None, None, None, None)
    else:
        train, valid, *rest = folds
        cutoffs = tuple(rest)
    n_rows = int(weight.sum())
    balanced = class_weight == "balanced"
    mass = weight if sample_weight is None else weight * np.asarray(sample_weight, np.float64)
    spw = float(mass[y == 0].sum() / mass[y == 1].sum()) if balanced else 1.0
    candidates = tuning_candidates(
        rng,
        max_depth=max_depth,
        min_child_weight=min_child_weight,
        learning_rate=learning_rate,
        tune=tune,
    )
    return FitPlan(
        seed=seed,
        candidates=tuple(candidates),
        scale_pos_weight=float(spw),
        calibration_prior="sigmoid" if balanced else "raw",
        train=train,
        valid=valid,
        train_cutoffs=cutoffs[0],
        valid_cutoffs=cutoffs[1],
        purged_cutoffs=cutoffs[2],
        refit_cutoffs=cutoffs[3],
        n_train_rows=int(weight[train].sum()),
        n_valid_rows=int(weight[valid].sum()),
        n_rows=n_rows,
    )


def time_folds(
    index: pd.Index,
    y: np.ndarray,
    weight: np.ndarray,
    *,
    validation_cutoffs: Any,
    horizon: pd.Timedelta | None,
) -> tuple | None:
    """Masks and cutoffs of the time-ordered folds; None when a holdout must be used.

    Parameters
    ----------
    index : pandas.Index
    y : ndarray of 0/1
    weight : ndarray of int
        Rows each row stands for.
    validation_cutoffs : int or float
        Latest cutoffs that validate (a float in (0, 1): a share of the cutoffs).
    horizon : pandas.Timedelta or None
        Training cutoffs with ``cutoff + horizon`` after the first validation cutoff are
        purged; None purges nothing.

    Returns
    -------
    tuple or None
        ``(train_mask, valid_mask, train_cutoffs, valid_cutoffs, purged_cutoffs,
        all_cutoffs)``; None without a ``cutoff`` level or with no more cutoffs than
        validate.

    Raises
    ------
    ChurnModelError
        When the purge leaves no training cutoff, or a fold holds one class only.
    """
    names = list(getattr(index, "names", []) or [])
    if "cutoff" not in names:
        return None
    cut = pd.DatetimeIndex(index.get_level_values("cutoff"))
    unique = pd.DatetimeIndex(cut.unique()).sort_values()
    k = validation_cutoff_count(validation_cutoffs, len(unique))
    if len(unique) <= k:
        return None
    valid = unique[-k:]
    earlier = unique[:-k]
    keep = earlier[earlier + horizon <= valid[0]] if horizon is not None else earlier
    purged = earlier.difference(keep)
    if len(keep) == 0:
        raise ChurnModelError(
            f"no training cutoff left: the {k} latest cutoffs ({valid[0].date()} on)"
            f" validate, and the purge gap (horizon {horizon}) removes the earlier "
            f"{len(purged)}; use more cutoffs, fewer validation_cutoffs or cutoffs "
            f"further apart"
        )
    train = np.asarray(cut.isin(keep))
    valid_mask = np.asarray(cut.isin(valid))
    for label, mask in (("training", train), ("validation", valid_mask)):
        if len(np.unique(y[mask & (weight > 0)])) < 2:
            churned = int(weight[mask & (y == 1)].sum())
            raise ChurnModelError(
                f"the {label} cutoffs hold one class only "
                f"({churned} churned of {int(weight[mask].sum())} rows); use more "
                f"cutoffs, a longer horizon or a different validation_cutoffs"
            )
    return train, valid_mask, keep, valid, purged, unique


def validation_cutoff_count(validation_cutoffs: Any, n_cutoffs: int) -> int:
    """How many of ``n_cutoffs`` stacked cutoffs (the latest) form the validation fold.

    An integer is a count; a float in (0, 1) a share of the cutoffs, at least one. With no
    more cutoffs than that, :func:`time_folds` falls back to a random holdout.

    Examples
    --------
    >>> validation_cutoff_count(2, 12), validation_cutoff_count(0.25, 12)
    (2, 3)
    """
    v = validation_cutoffs
    return int(v) if isinstance(v, numbers.Integral) else max(1, math.ceil(v * n_cutoffs))


def early_stopping_rows(
    y: np.ndarray, valid: np.ndarray, weight: np.ndarray | None, seed: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """The validation rows early stopping watches, and their weights.

    Up to :data:`EARLY_STOPPING_ROWS` rows, every one (``valid`` itself, ``weight`` as given);
    beyond, every churner and a random share of the others (the same ``seed``, the same rows),
    weighted by how many others each stands for, so the watched log-loss is the fold's.

    Returns
    -------
    mask : ndarray of bool
        The watched rows, a subset of ``valid``.
    weight : ndarray of float or None
        Their weights (over every row; None when ``weight`` is None and nothing is sampled).
    """
    if valid.sum() <= EARLY_STOPPING_ROWS:
        return valid, weight
    churned = valid & (y == 1)
    others = np.flatnonzero(valid & (y != 1))
    n_keep = max(1, min(len(others), EARLY_STOPPING_ROWS - int(churned.sum())))
    kept, stands_for = sample_others(others, n_keep, np.random.default_rng(seed))
    mask = churned.copy()
    mask[kept] = True
    out = np.ones(len(y)) if weight is None else np.array(weight, dtype=np.float64)
    out[kept] *= stands_for
    return mask, out


def sample_others(
    others: np.ndarray, n_keep: int, rng: np.random.Generator
) -> tuple[np.ndarray, float]:
    """``n_keep`` of the row positions ``others`` drawn without replacement, and how many
    rows each kept one stands for: the one way a weighted share of non-churners is drawn
    (early stopping's watched rows, ``train_sample``).

    Examples
    --------
    >>> kept, stands_for = sample_others(np.arange(10), 4, np.random.default_rng(0))
    >>> len(kept), stands_for
    (4, 2.5)
    """
    kept = others[rng.choice(len(others), n_keep, replace=False)]
    return kept, len(others) / n_keep


def holdout_masks(
    y: np.ndarray, seed: int, *, validation_cutoffs: Any, name: str = "ChurnModel"
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation masks of a stratified random holdout (no usable cutoffs).

    Parameters
    ----------
    y : ndarray of 0/1
    seed : int
    validation_cutoffs : int or float
        A float is the share of rows held out; otherwise :data:`HOLDOUT_FRACTION`.
    name : str, default "ChurnModel"
        The estimator named in error messages.

    Returns
    -------
    train, valid : ndarray of bool

    Raises
    ------
    ChurnModelError
        With fewer than 2 rows of a class or 5 rows in all.
    """
    n = len(y)
    counts = np.bincount(y, minlength=2)
    if counts.min() < 2 or n < 5:
        raise ChurnModelError(
            f"too few rows to hold some out for early stopping and calibration: "
            f"{n} rows ({counts[1]} churned, {counts[0]} not); {name} needs "
            f"at least 2 rows of each class and 5 rows in all"
        )
    share = validation_cutoffs if isinstance(validation_cutoffs, float) else HOLDOUT_FRACTION
    n_valid = min(max(2, round(share * n)), n - 2)
    rows = np.arange(n)
    train_idx, valid_idx = train_test_split(rows, test_size=n_valid, stratify=y, random_state=seed)
    train = np.zeros(n, dtype=bool)
    train[train_idx] = True
    return train, ~train


def tuning_candidates(
    rng: np.random.RandomState,
    *,
    max_depth: int,
    min_child_weight: float,
    learning_rate: float,
    tune: bool | int,
) -> list[dict[str, Any]]:
    """Parameter settings to try: the model's own first, then a random part of :data:`TUNE_GRID`.

    Parameters
    ----------
    rng : numpy.random.RandomState
        Draws the order of the grid.
    max_depth, min_child_weight, learning_rate : number
        The model's own setting.
    tune : bool or int
        False: only the model's own setting; True: 8 candidates; an int: that many.

    Returns
    -------
    list of dict
        ``{"max_depth", "min_child_weight", "learning_rate"}`` per candidate.
    """
    base = {
        "max_depth": int(max_depth),
        "min_child_weight": float(min_child_weight),
        "learning_rate": float(learning_rate),
    }
    if not tune:
        return [base]
    budget = 8 if isinstance(tune, (bool, np.bool_)) else int(tune)
    grid = [
        {"max_depth": d, "min_child_weight": w, "learning_rate": min(1.0, float(learning_rate) * f)}
        for d in TUNE_GRID["max_depth"]
        for w in TUNE_GRID["min_child_weight"]
        for f in TUNE_GRID["learning_rate_factor"]
    ]
    grid = [g for g in grid if g != base]
    order = rng.permutation(len(grid))
    return [base] + [grid[i] for i in order[: max(0, budget - 1)]]
