"""Exact TreeSHAP contributions, driver-group totals and plain-language reasons.

:func:`shap_values` computes exact (path-dependent) TreeSHAP log-odds contributions of an
XGBoost model. It follows the FastTreeSHAP v2 idea (Yang, 2021): for every leaf, the Shapley
contribution of each feature on the leaf's path depends on the row only through *which* of
the path's features the row satisfies, so a table over those subsets is built once per model
and each row then costs ``O(trees x leaves x depth)`` look-ups instead of TreeSHAP's
``O(trees x leaves x depth^2)`` polynomial updates. The row loop runs compiled with numba,
in parallel over blocks of rows. The values equal ``shap.TreeExplainer`` and XGBoost's
``pred_contribs`` (to float32 rounding of XGBoost's own output).

:func:`explain` turns the contributions into one column per driver group and the top reasons
that raise each customer's risk, written with the features' description templates.
"""

from __future__ import annotations

import functools
import json
import math
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import ChurnDataError, ChurnModelError
from .features import CHANGE_KINDS, DRIVER_GROUPS, FeatureInfo, format_value, is_zero_change

__all__ = ["shap_values", "explain", "global_importance", "to_shap_explanation",
           "probability_contributions", "reference_percentiles", "related_facts",
           "REASON_THRESHOLD"]

#: Largest precomputed subset table (bytes) before falling back to XGBoost's ``pred_contribs``;
#: the table holds ``2**d * d`` values per leaf with ``d`` distinct features on its path.
MAX_TABLE_BYTES = 1 << 30
_BLOCK_ROWS = 1024
_METHODS = ("auto", "fast", "xgboost")


# --------------------------------------------------------------------------- model access
def _sigmoid(margin: Any) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(margin, dtype=np.float64)))


def _booster(model: Any) -> Any:
    """The fitted ``xgboost.Booster`` behind ``model`` (ChurnModel, XGBClassifier or Booster)."""
    import xgboost as xgb

    if isinstance(model, xgb.Booster):
        return model
    booster = getattr(model, "booster_", None)
    if isinstance(booster, xgb.Booster):
        return booster
    if hasattr(model, "get_booster"):
        try:
            return model.get_booster()
        except Exception as exc:  # xgboost raises NotFittedError / XGBoostError
            raise ChurnModelError(f"{type(model).__name__} is not fitted; call fit first") from exc
    if hasattr(model, "fit") and booster is None:
        raise ChurnModelError(
            f"{type(model).__name__} has no fitted booster_ (not fitted, or not a tree model); "
            f"exact TreeSHAP needs a fitted ChurnModel or an xgboost.Booster"
        )
    raise ChurnModelError(
        f"cannot explain a {type(model).__name__}; pass a fitted ChurnModel, an "
        f"xgboost.XGBClassifier or an xgboost.Booster"
    )


def _calibration(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """Margin -> probability: the model's ``calibrate_margin``, else the logistic link."""
    calibrate = getattr(model, "calibrate_margin", None)
    return calibrate if callable(calibrate) else _sigmoid


def _feature_names(model: Any, booster: Any) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    return None if booster.feature_names is None else list(booster.feature_names)


def _training_categories(model: Any, booster: Any, names: list[str] | None,
                         categorical: list[int]) -> dict[int, list[Any] | None]:
    """Training categories (in code order) of each categorical feature, when known."""
    out: dict[int, list[Any] | None] = {j: None for j in categorical}
    learned = getattr(model, "categories_", None)
    if isinstance(learned, Mapping) and names is not None:
        for j in categorical:
            if names[j] in learned:
                out[j] = list(learned[names[j]])
    missing = [j for j in categorical if out[j] is None]
    if missing and hasattr(booster, "get_categories"):  # xgboost >= 3.1 stores them
        try:
            cats = booster.get_categories(export_to_arrow=True)
            arrays = [] if cats.empty() else cats.to_arrow()
        except Exception:  # older formats or builds without arrow export
            arrays = []
        for j, (_, arr) in enumerate(arrays):
            if j in out and out[j] is None and arr is not None:
                out[j] = arr.to_pylist()
    return out


# --------------------------------------------------------------------------- input matrix
@dataclass
class _Prepared:
    """Model inputs as float32, one row per feature (categoricals as training codes)."""

    columns: np.ndarray
    frame: pd.DataFrame | None
    names: list[str]
    index: pd.Index
    categories: dict[int, list[Any] | None]

    @property
    def matrix(self) -> np.ndarray:
        """The inputs as (rows, features)."""
        return self.columns.T


def _prepare(model: Any, booster: Any, X: Any) -> _Prepared:
    names = _feature_names(model, booster)
    n_features = booster.num_features()
    types = booster.feature_types or ["float"] * n_features
    categorical = [j for j, t in enumerate(types) if t == "c"]
    if isinstance(X, pd.DataFrame):
        if names is None:
            names = [str(c) for c in X.columns]
            if len(names) != n_features:
                raise ChurnModelError(
                    f"X has {len(names)} columns but the model uses {n_features} features; "
                    f"pass the feature columns used in training"
                )
        missing = [n for n in names if n not in X.columns]
        if missing:
            raise ChurnModelError(
                f"X lacks {len(missing)} feature column(s) the model was trained on: "
                f"{missing[:5]}; build the features with the builders used in training"
            )
        frame = X[names] if list(X.columns) != names else X
        cats = _training_categories(model, booster, names, categorical)
        matrix = np.empty((len(names), len(frame)), dtype=np.float32)
        for j, name in enumerate(names):
            col = frame[name]
            if j in cats:
                known = cats[j]
                if known is None:
                    if not isinstance(col.dtype, pd.CategoricalDtype):
                        raise ChurnModelError(
                            f"feature {name!r} is categorical in the model but X holds {col.dtype}"
                            f"; pass it as a pandas 'category' column as in training"
                        )
                    codes = col.cat.codes.to_numpy()
                else:
                    # position in the training categories; unseen values and NaN give -1
                    if isinstance(col.dtype, pd.CategoricalDtype) or not (
                        known and all(isinstance(c, str) for c in known)
                    ):
                        values = col.astype(object)
                    else:
                        values = col.astype("string").astype(object)
                    codes = pd.Index(known, dtype=object).get_indexer(
                        values.where(values.notna(), None))
                matrix[j] = np.where(codes < 0, np.nan, codes.astype(np.float32))
            else:
                dtype = col.dtype
                if isinstance(dtype, pd.CategoricalDtype) or not (
                    pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)
                    or pd.api.types.is_object_dtype(dtype)
                ):
                    raise ChurnModelError(
                        f"feature {name!r} is numeric in the model but X holds {dtype}; build "
                        f"the features with the same builders and types as in training"
                    )
                if pd.api.types.is_object_dtype(dtype):
                    col = pd.to_numeric(col, errors="coerce")
                matrix[j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
        return _Prepared(matrix, frame, names, X.index, cats)
    arr = np.asarray(X)
    if arr.ndim != 2 or arr.shape[1] != n_features:
        raise ChurnModelError(
            f"X has shape {arr.shape}; the model expects 2-D input with {n_features} columns"
        )
    try:
        matrix = np.ascontiguousarray(arr.T, dtype=np.float32)
    except (TypeError, ValueError):
        raise ChurnModelError(
            "X holds non-numeric values; pass a DataFrame with the training columns"
        ) from None
    names = names or [f"f{j}" for j in range(n_features)]
    return _Prepared(matrix, None, names, pd.RangeIndex(arr.shape[0]),
                     {j: None for j in categorical})


# --------------------------------------------------------------------------- parsing
@dataclass
class _Forest:
    """A tree ensemble flattened for the kernels; nodes of each tree in breadth-first order."""

    n_features: int
    tree_start: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    default_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    value: np.ndarray
    cover: np.ndarray
    cat_start: np.ndarray
    cat_len: np.ndarray
    categories: np.ndarray
    max_depth: int
    max_nodes: int
    # filled by _build_tables
    node_bit: np.ndarray | None = None
    expected: float = 0.0
    intercept: float = 0.0
    kernel_args: tuple = ()


class _Unsupported(Exception):
    """The fast path cannot handle this booster; XGBoost's own TreeSHAP is used instead."""


def _parse(booster: Any) -> _Forest:
    raw = json.loads(booster.save_raw(raw_format="json"))
    learner = raw["learner"]
    params = learner["learner_model_param"]
    if int(params.get("num_class", 0)) > 1 or int(params.get("num_target", 1)) > 1:
        raise ChurnModelError(
            "the booster has several outputs (multi-class or multi-target); churn models "
            "have one log-odds output"
        )
    gbm = learner["gradient_booster"]
    if gbm.get("name") != "gbtree":
        raise _Unsupported(f"booster type {gbm.get('name')!r}")
    trees = gbm["model"]["trees"]
    n_features = int(params["num_feature"])
    parts: dict[str, list[np.ndarray]] = {k: [] for k in (
        "feature", "threshold", "default_left", "left", "right", "value", "cover",
        "cat_start", "cat_len")}
    categories: list[np.ndarray] = []
    tree_start = [0]
    n_cats = 0
    max_depth = 0
    max_nodes = 1
    for tree in trees:
        left = np.asarray(tree["left_children"], dtype=np.int64)
        right = np.asarray(tree["right_children"], dtype=np.int64)
        # breadth-first order from the root: parents before children, deleted nodes dropped
        order = [np.array([0])]
        frontier = order[0]
        depth = 0
        while True:
            inner = frontier[left[frontier] >= 0]
            if inner.size == 0:
                break
            frontier = np.column_stack([left[inner], right[inner]]).ravel()
            order.append(frontier)
            depth += 1
        order = np.concatenate(order)
        max_depth = max(max_depth, depth)
        max_nodes = max(max_nodes, order.size)
        new_id = np.full(left.size, -1, dtype=np.int64)
        new_id[order] = np.arange(order.size) + tree_start[-1]
        is_leaf = left[order] < 0
        lchild = np.where(is_leaf, -1, new_id[np.maximum(left[order], 0)])
        rchild = np.where(is_leaf, -1, new_id[np.maximum(right[order], 0)])
        cond = np.asarray(tree["split_conditions"], dtype=np.float64)[order]
        parts["feature"].append(np.where(is_leaf, -1, np.asarray(tree["split_indices"])[order]))
        parts["threshold"].append(cond.astype(np.float32))
        parts["value"].append(np.where(is_leaf, cond, 0.0))
        parts["default_left"].append(np.asarray(tree["default_left"], dtype=bool)[order])
        parts["left"].append(lchild)
        parts["right"].append(rchild)
        parts["cover"].append(np.asarray(tree["sum_hessian"], dtype=np.float64)[order])
        cat_start = np.zeros(left.size, dtype=np.int64)
        cat_len = np.full(left.size, -1, dtype=np.int64)
        split_type = np.asarray(tree.get("split_type", [0] * left.size))
        if (split_type[left >= 0] != 0).any():
            nodes = np.asarray(tree["categories_nodes"], dtype=np.int64)
            segs = np.asarray(tree["categories_segments"], dtype=np.int64)
            sizes = np.asarray(tree["categories_sizes"], dtype=np.int64)
            cat_start[nodes] = segs + n_cats
            cat_len[nodes] = sizes
            cat_len[(split_type != 0) & (cat_len < 0)] = 0
            values = np.asarray(tree["categories"], dtype=np.int64)
            categories.append(values)
            n_cats += values.size
        parts["cat_start"].append(cat_start[order])
        parts["cat_len"].append(np.where(is_leaf, -1, cat_len[order]))
        tree_start.append(tree_start[-1] + order.size)
    def cat(key: str, dtype: Any) -> np.ndarray:
        return np.concatenate(parts[key]).astype(dtype) if parts[key] else np.empty(0, dtype)

    return _Forest(
        n_features=n_features,
        tree_start=np.asarray(tree_start, dtype=np.int64),
        feature=cat("feature", np.int64),
        threshold=cat("threshold", np.float32),
        default_left=cat("default_left", np.bool_),
        left=cat("left", np.int64),
        right=cat("right", np.int64),
        value=cat("value", np.float64),
        cover=cat("cover", np.float64),
        cat_start=cat("cat_start", np.int64),
        cat_len=cat("cat_len", np.int64),
        categories=(np.concatenate(categories) if categories else np.zeros(0, dtype=np.int64)),
        max_depth=max_depth,
        max_nodes=max_nodes,
    )


# --------------------------------------------------------------------------- kernels
def _paths_py(tree_start, feature, left, right, cover, value, max_depth):  # pragma: no cover
    """Per node: bit of its split feature on the path; per leaf: path features and zero fractions.

    A feature split on several times along a path counts once (its conditions and cover
    fractions multiply), as in TreeSHAP's path merging.
    """
    n_nodes = feature.shape[0]
    width = max(max_depth, 1)
    path_feat = np.full((n_nodes, width), -1, dtype=np.int64)
    path_zero = np.ones((n_nodes, width), dtype=np.float64)
    path_len = np.zeros(n_nodes, dtype=np.int64)
    node_bit = np.zeros(n_nodes, dtype=np.int64)
    node_leaf = np.full(n_nodes, -1, dtype=np.int64)
    n_leaves = 0
    for g in range(n_nodes):
        if left[g] < 0:
            node_leaf[g] = n_leaves
            n_leaves += 1
    leaf_d = np.zeros(n_leaves, dtype=np.int64)
    leaf_fstart = np.zeros(n_leaves + 1, dtype=np.int64)
    leaf_tstart = np.zeros(n_leaves + 1, dtype=np.int64)
    leaf_value = np.zeros(n_leaves, dtype=np.float64)
    expected = 0.0
    n_trees = tree_start.shape[0] - 1
    for t in range(n_trees):
        root = tree_start[t]
        for g in range(tree_start[t], tree_start[t + 1]):
            if left[g] < 0:
                leaf = node_leaf[g]
                leaf_d[leaf] = path_len[g]
                leaf_value[leaf] = value[g]
                if cover[root] > 0:
                    expected += value[g] * cover[g] / cover[root]
                continue
            f = feature[g]
            k = path_len[g]
            for q in range(path_len[g]):
                if path_feat[g, q] == f:
                    k = q
                    break
            node_bit[g] = 1 << k
            for c in (left[g], right[g]):
                for q in range(width):
                    path_feat[c, q] = path_feat[g, q]
                    path_zero[c, q] = path_zero[g, q]
                path_len[c] = path_len[g] + 1 if k == path_len[g] else path_len[g]
                path_feat[c, k] = f
                path_zero[c, k] *= cover[c] / cover[g] if cover[g] > 0 else 0.0
    for leaf in range(n_leaves):
        d = leaf_d[leaf]
        leaf_fstart[leaf + 1] = leaf_fstart[leaf] + d
        leaf_tstart[leaf + 1] = leaf_tstart[leaf] + (1 << d) * d
    leaf_features = np.zeros(leaf_fstart[n_leaves], dtype=np.int64)
    leaf_zero = np.zeros(leaf_fstart[n_leaves], dtype=np.float64)
    for g in range(n_nodes):
        leaf = node_leaf[g]
        if leaf >= 0:
            for q in range(leaf_d[leaf]):
                leaf_features[leaf_fstart[leaf] + q] = path_feat[g, q]
                leaf_zero[leaf_fstart[leaf] + q] = path_zero[g, q]
    return (node_bit, node_leaf, leaf_d, leaf_fstart, leaf_tstart, leaf_value, leaf_features,
            leaf_zero, expected)


def _tables_py(leaf_d, leaf_fstart, leaf_tstart, leaf_value, leaf_zero, table):  # pragma: no cover
    """Fill, for every leaf and every subset U of its d path features satisfied by a row,
    the d contributions of those features.

    With z_k the zero (cover) fraction of path feature k, Z(A) = prod_{k in A} z_k,
    w(s) = s! (d-s-1)! / d! and C(T) = sum_{S subset T} w(|S|) Z(T \\ S):

    * k in U:     phi_k = v (1 - z_k) Z(D \\ U) C(U \\ {k})
    * k not in U: phi_k = -v Z(D \\ U) C(U)
    """
    for leaf in prange(leaf_d.shape[0]):  # noqa: F821 - numba's prange, bound when compiled
        d = leaf_d[leaf]
        if d == 0:
            continue
        v = leaf_value[leaf]
        z = leaf_zero[leaf_fstart[leaf]:leaf_fstart[leaf] + d]
        w = np.empty(d, dtype=np.float64)
        for s in range(d):
            w[s] = math.exp(math.lgamma(s + 1) + math.lgamma(d - s) - math.lgamma(d + 1))
        n_sub = 1 << d
        c = np.zeros(n_sub, dtype=np.float64)
        zout = np.ones(n_sub, dtype=np.float64)
        e = np.zeros(d + 1, dtype=np.float64)
        for u in range(n_sub):
            # elementary symmetric polynomials of z over the members of u
            e[:] = 0.0
            e[0] = 1.0
            size = 0
            for k in range(d):
                if u >> k & 1:
                    size += 1
                    for m in range(size, 0, -1):
                        e[m] += z[k] * e[m - 1]
                else:
                    zout[u] *= z[k]
            acc = 0.0
            if size < d:
                for s in range(size + 1):
                    acc += w[s] * e[size - s]
            c[u] = acc
        base = leaf_tstart[leaf]
        for u in range(n_sub):
            off = base + u * d
            for k in range(d):
                if u >> k & 1:
                    table[off + k] = v * (1.0 - z[k]) * zout[u] * c[u ^ (1 << k)]
                else:
                    table[off + k] = -v * zout[u] * c[u]


def _shap_py(XT, inner_start, i_node, i_feature, i_threshold, i_default_left, i_left, i_right,
             i_bit, i_cat_start, i_cat_len, categories, leaf_start, l_node, l_d, l_fstart,
             l_tstart, leaf_features, table, max_nodes, block, outT):  # pragma: no cover
    """Accumulate the contributions of every row into ``outT`` (features x rows).

    Rows are processed in blocks (in parallel), and within a block one node or leaf at a time
    for all the block's rows, so the inner loops run over contiguous rows without branches
    (SIMD-friendly). For each tree, a row's satisfied-subset mask is pushed down from the root
    over the internal nodes (breadth-first, so parents come first): a child keeps its parent's
    mask when the row goes its way and loses the split feature's bit otherwise. Each leaf then
    adds the table row its mask selects. Node indices are local to their tree.
    """
    n_rows = XT.shape[1]
    n_blocks = (n_rows + block - 1) // block
    n_trees = inner_start.shape[0] - 1
    for b in prange(n_blocks):  # noqa: F821 - numba's prange, bound when compiled
        r0 = b * block
        r1 = min(n_rows, r0 + block)
        nb = r1 - r0
        masks = np.empty((max_nodes, block), dtype=np.int32)
        for t in range(n_trees):
            masks[0, :nb] = -1
            for i in range(inner_start[t], inner_start[t + 1]):
                xs = XT[i_feature[i], r0:r1]
                parent = masks[i_node[i]]
                to_left = masks[i_left[i]]
                to_right = masks[i_right[i]]
                keep = ~i_bit[i]
                default_left = i_default_left[i]
                if i_cat_len[i] < 0:
                    threshold = i_threshold[i]
                    for r in range(nb):
                        x = xs[r]
                        # NaN fails the comparison and follows the default direction
                        go_left = np.int32(x < threshold) | (np.int32(x != x) & default_left)
                        m = parent[r]
                        to_left[r] = m & (keep | -go_left)
                        to_right[r] = m & (keep | (go_left - 1))
                else:
                    # categorical split: listed categories go right, others (and invalid codes)
                    # go left, as in XGBoost
                    lo = i_cat_start[i]
                    hi = lo + i_cat_len[i]
                    for r in range(nb):
                        x = xs[r]
                        if x != x:
                            go_left = default_left
                        else:
                            go_left = np.int32(1)
                            if x >= 0.0 and x < 16777216.0:
                                code = np.int64(x)
                                for q in range(lo, hi):
                                    if categories[q] == code:
                                        go_left = np.int32(0)
                                        break
                        m = parent[r]
                        to_left[r] = m & (keep | -go_left)
                        to_right[r] = m & (keep | (go_left - 1))
            for j in range(leaf_start[t], leaf_start[t + 1]):
                d = l_d[j]
                low = np.int32((1 << d) - 1)
                reached = masks[l_node[j]]
                for k in range(d):
                    acc = outT[leaf_features[l_fstart[j] + k], r0:r1]
                    base = l_tstart[j] + k
                    for r in range(nb):
                        acc[r] += table[base + (reached[r] & low) * d]


@functools.cache
def _kernels() -> tuple[Callable, Callable, Callable]:
    """Compile the kernels with numba on first use (cached on disk when possible).

    The kernels are plain functions so that importing churnpredict does not import numba;
    their ``prange`` is bound here, in a copy of the module's globals.
    """
    import numba

    def jit(func: Callable, **kwargs: Any) -> Callable:
        glb = dict(func.__globals__)
        glb["prange"] = numba.prange
        fn = type(func)(func.__code__, glb, func.__name__, func.__defaults__, func.__closure__)
        fn.__qualname__ = func.__qualname__
        fn.__module__ = func.__module__
        try:
            return numba.njit(cache=True, nogil=True, **kwargs)(fn)
        except RuntimeError:  # no writable cache directory
            return numba.njit(nogil=True, **kwargs)(fn)

    return jit(_paths_py), jit(_tables_py, parallel=True), jit(_shap_py, parallel=True)


def _build_tables(forest: _Forest) -> _Forest:
    paths, tables, _ = _kernels()
    (node_bit, node_leaf, leaf_d, leaf_fstart, leaf_tstart, leaf_value, leaf_features, leaf_zero,
     expected) = paths(forest.tree_start, forest.feature, forest.left, forest.right, forest.cover,
                       forest.value, forest.max_depth)
    n_values = int(leaf_tstart[-1])
    if leaf_d.size and leaf_d.max() > 30:
        raise _Unsupported(f"paths with {leaf_d.max()} distinct features")
    if n_values * 8 > MAX_TABLE_BYTES:
        raise _Unsupported(f"subset tables would take {n_values * 8 / 2**20:.0f} MiB")
    table = np.empty(n_values, dtype=np.float64)
    tables(leaf_d, leaf_fstart, leaf_tstart, leaf_value, leaf_zero, table)
    forest.node_bit = node_bit
    forest.expected = float(expected)

    # kernel layout: per tree its internal nodes (breadth-first) and its leaves sorted by path
    # length (so the inner loop's trip count changes rarely); node indices local to the tree
    n_trees = forest.tree_start.size - 1
    tree_of = np.repeat(np.arange(n_trees), np.diff(forest.tree_start))
    local = np.arange(forest.feature.size) - forest.tree_start[tree_of]
    inner = np.flatnonzero(forest.left >= 0)
    inner_start = np.searchsorted(inner, forest.tree_start)
    leaves = np.flatnonzero(forest.left < 0)
    leaves = leaves[np.lexsort((leaf_d[node_leaf[leaves]], tree_of[leaves]))]
    leaf_start = np.searchsorted(tree_of[leaves], np.arange(n_trees + 1))
    ids = node_leaf[leaves]
    forest.kernel_args = (
        inner_start, local[inner], forest.feature[inner], forest.threshold[inner],
        forest.default_left[inner].astype(np.int32), local[forest.left[inner]],
        local[forest.right[inner]], node_bit[inner].astype(np.int32), forest.cat_start[inner],
        forest.cat_len[inner], forest.categories, leaf_start, local[leaves], leaf_d[ids],
        leaf_fstart[ids], leaf_tstart[ids], leaf_features, table, forest.max_nodes,
    )
    return forest


def _leaf_sum(forest: _Forest, row: np.ndarray) -> float:
    """Sum of the leaf values ``row`` reaches (plain traversal, used for the intercept)."""
    total = 0.0
    for t in range(forest.tree_start.size - 1):
        g = int(forest.tree_start[t])
        while forest.left[g] >= 0:
            x = row[forest.feature[g]]
            if np.isnan(x):
                go_left = bool(forest.default_left[g])
            elif forest.cat_len[g] >= 0:
                lo = forest.cat_start[g]
                go_left = not (x >= 0 and int(x) in forest.categories[lo:lo + forest.cat_len[g]])
            else:
                go_left = bool(x < forest.threshold[g])
            g = int(forest.left[g] if go_left else forest.right[g])
        total += forest.value[g]
    return total


_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _forest(booster: Any) -> _Forest:
    """Parsed ensemble with its tables, cached per booster (rebuilt if it was trained further)."""
    import xgboost as xgb

    key = (booster.num_boosted_rounds(), booster.num_features())
    hit = _CACHE.get(booster)
    if hit is not None and hit[0] == key:
        if isinstance(hit[1], _Unsupported):
            raise hit[1]
        return hit[1]
    try:
        forest = _build_tables(_parse(booster))
        # the intercept (base score as a margin) is whatever XGBoost adds to the leaf sum
        probe = np.full((1, forest.n_features), np.nan, dtype=np.float32)
        margin = booster.predict(xgb.DMatrix(probe), output_margin=True,
                                 validate_features=False)
        forest.intercept = float(margin[0]) - _leaf_sum(forest, probe[0])
    except _Unsupported as exc:
        _CACHE[booster] = (key, exc)
        raise
    _CACHE[booster] = (key, forest)
    return forest


def _xgboost_contribs(booster: Any, prepared: _Prepared) -> np.ndarray:
    """XGBoost's own TreeSHAP (``pred_contribs``) on the prepared inputs."""
    import xgboost as xgb

    if prepared.categories and prepared.frame is not None:
        columns = {}
        for j, name in enumerate(prepared.names):
            if j not in prepared.categories:
                columns[name] = prepared.matrix[:, j]
            elif prepared.categories[j] is None:
                columns[name] = prepared.frame[name]
            else:
                codes = np.nan_to_num(prepared.matrix[:, j], nan=-1.0).astype(np.int64)
                columns[name] = pd.Categorical.from_codes(codes, prepared.categories[j])
        dmat = xgb.DMatrix(pd.DataFrame(columns), enable_categorical=True, missing=np.nan)
    else:
        dmat = xgb.DMatrix(prepared.matrix, missing=np.nan, feature_names=booster.feature_names,
                           feature_types=booster.feature_types,
                           enable_categorical=bool(prepared.categories))
    out = booster.predict(dmat, pred_contribs=True, validate_features=False)
    return np.asarray(out, dtype=np.float64)


def _contributions(model: Any, X: Any, method: str) -> tuple[np.ndarray, _Prepared]:
    if method not in _METHODS:
        raise ValueError(f"method={method!r}; expected one of {_METHODS}")
    booster = _booster(model)
    prepared = _prepare(model, booster, X)
    if method == "xgboost":
        return _xgboost_contribs(booster, prepared), prepared
    try:
        forest = _forest(booster)
    except _Unsupported as exc:
        if method == "fast":
            raise ChurnModelError(f"the fast TreeSHAP path does not support this model: {exc}; "
                                  f"use method='auto' or 'xgboost'") from None
        return _xgboost_contribs(booster, prepared), prepared
    n, p = prepared.matrix.shape
    out_t = np.zeros((p + 1, n), dtype=np.float64)
    if n:
        _, _, kernel = _kernels()
        block = int(min(_BLOCK_ROWS, max(64, (1 << 16) // forest.max_nodes)))
        kernel(prepared.columns, *forest.kernel_args, block, out_t)
    out_t[p] = forest.intercept + forest.expected
    return np.ascontiguousarray(out_t.T), prepared


# --------------------------------------------------------------------------- public API
def shap_values(model: Any, X: Any, *, method: str = "auto") -> np.ndarray:
    """Exact TreeSHAP log-odds contributions of every feature, plus the base value.

    Parameters
    ----------
    model : ChurnModel, xgboost.XGBClassifier or xgboost.Booster
        A fitted tree model with one log-odds output. The contributions explain the raw
        margin (:meth:`ChurnModel.decision_function`), before calibration.
    X : pandas.DataFrame or ndarray of shape (n_rows, n_features)
        Feature rows. A DataFrame is matched by column name (extra columns are ignored);
        categorical features may be pandas ``category`` or string columns and are coded with
        the categories seen in training (unseen values count as missing).
    method : {"auto", "fast", "xgboost"}, default "auto"
        "fast": the subset-table algorithm compiled with numba (see the module notes).
        "xgboost": XGBoost's own TreeSHAP (``pred_contribs``). "auto" uses "fast" and falls
        back to "xgboost" for boosters it does not cover (``dart`` or ``gblinear`` boosters, or
        trees so deep that the subset tables would exceed :data:`MAX_TABLE_BYTES`).

    Returns
    -------
    ndarray of shape (n_rows, n_features + 1)
        Column ``j`` is feature ``j``'s contribution to the margin in log-odds; the last
        column is the base value (the model's expected margin). Each row sums to the margin.

    Raises
    ------
    ChurnModelError
        When the model is not fitted or not a tree model, or ``X`` lacks feature columns.

    Notes
    -----
    Missing values follow each split's default direction; categorical splits send the listed
    categories right and every other category left, exactly as XGBoost does. A feature split
    on several times along a path is one player of that leaf's game (TreeSHAP's path merging).
    The precomputed tables are cached per booster. The kernels compile on first use (seconds,
    once; cached on disk) and run on numba's threads (``NUMBA_NUM_THREADS`` or
    ``numba.set_num_threads``).
    """
    values, _ = _contributions(model, X, method)
    return values


def _feature_frame(feature_info: Any, names: Sequence[str]) -> pd.DataFrame:
    """Validate the feature metadata (DataFrame or FeatureInfo records) for the model's features."""
    if isinstance(feature_info, pd.DataFrame):
        info = feature_info
    else:
        records = list(feature_info)
        if records and not all(isinstance(r, FeatureInfo) for r in records):
            raise ChurnDataError(
                "feature_info must be a DataFrame indexed by feature name with columns 'group' "
                "and 'description' (see describe_features) or a list of FeatureInfo"
            )
        info = pd.DataFrame({f: pd.Series([getattr(r, f) for r in records], dtype=object)
                             for f in _INFO_FIELDS}).set_axis(
                                 pd.Index([r.name for r in records], name="feature"))
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
    info = info.loc[list(names), [c for c in _INFO_FIELDS if c in info.columns]]
    bad = sorted(set(info["group"].astype(str)) - set(DRIVER_GROUPS))
    if bad:
        raise ChurnDataError(
            f"feature_info names unknown driver group(s) {bad}; use one of {DRIVER_GROUPS}"
        )
    return info


def _group_matrix(groups: np.ndarray) -> tuple[list[str], np.ndarray]:
    present = [g for g in DRIVER_GROUPS if g in set(groups)]
    onehot = (groups[:, None] == np.asarray(present, dtype=object)[None, :]).astype(np.float64)
    return present, onehot


_INFO_FIELDS = ("group", "description", "description_if_zero", "description_if_missing",
                "kind", "noun", "fact", "window_days", "is_tenure", "past_change", "past_label")
#: Default reason threshold in probability points: a reason must raise the churn probability
#: by at least one point (see docs/reasons.md for how it was chosen).
REASON_THRESHOLD = 0.01
#: Features whose training values correlate at least this much (absolute, rank correlation)
#: within a driver group state the same fact.
RELATED_CORRELATION = 0.8
#: Longest reason sentence (characters) before the peer reference is left out.
MAX_REASON_CHARS = 90


def _none(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return None
    return value


def _records(feature_info: Any, names: Sequence[str]) -> list[FeatureInfo]:
    """One FeatureInfo per model feature, from a describe_features frame or FeatureInfo list."""
    if not isinstance(feature_info, pd.DataFrame):
        given = {r.name: r for r in feature_info if isinstance(r, FeatureInfo)}
        if all(n in given for n in names):
            _feature_frame(feature_info, names)  # the same checks
            return [given[n] for n in names]
    info = _feature_frame(feature_info, names)
    fields = {f: info[f].tolist() if f in info.columns else [None] * len(info)
              for f in _INFO_FIELDS}
    out = []
    for i, name in enumerate(info.index):
        get = {f: _none(fields[f][i]) for f in _INFO_FIELDS}
        kind = get["kind"] or "number"
        out.append(FeatureInfo(
            str(name), str(get["group"]), str(get["description"]),
            get["description_if_zero"], get["description_if_missing"], kind=str(kind),
            noun=get["noun"], fact=get["fact"],
            window_days=None if get["window_days"] is None else float(get["window_days"]),
            is_tenure=bool(get["is_tenure"]) if get["is_tenure"] is not None else False,
            past_change=get["past_change"], past_label=get["past_label"]))
    return out


def _numeric(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    out = {}
    for name in frame.columns:
        col = frame[name]
        if isinstance(col.dtype, pd.CategoricalDtype) or not (
                pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)):
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
        if values.size == 0 or np.unique(values[:10_000]).size <= 2 and \
                np.unique(values).size <= 2:
            continue
        out[name] = [float(v) for v in np.percentile(values, np.arange(101))]
    return out


def related_facts(X: pd.DataFrame, feature_info: Any,
                  threshold: float = RELATED_CORRELATION) -> dict[str, str]:
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
    records = _records(feature_info, names)
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
        fill = np.where(present.any(axis=0),
                        np.where(present, ranks, 0.0).sum(axis=0) / np.maximum(
                            present.sum(axis=0), 1), 0.0)
        ranks = np.where(present, ranks, fill)
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(ranks, rowvar=False)
        corr = np.nan_to_num(np.atleast_2d(corr))
        a, b = np.nonzero(np.triu(np.abs(corr) >= threshold, 1))
        for i, j in zip(a, b, strict=True):
            if records[cols[i]].group == records[cols[j]].group:
                union(cols[i], cols[j])
    return {n: names[find(i)] for i, n in enumerate(names)}


def _peer_text(values: np.ndarray, grid: np.ndarray, kind: str) -> np.ndarray:
    """", lower than 90% of customers" (or nothing) for each value, from a percentile grid."""
    values = np.asarray(values, dtype=np.float64)
    below = np.searchsorted(grid, values, side="left") / (grid.size - 1)
    above = 1.0 - np.searchsorted(grid, values, side="right") / (grid.size - 1)
    below = np.clip(below, 0.0, 1.0)
    above = np.clip(above, 0.0, 1.0)
    more, less = {"count": ("more", "fewer"), "rate": ("more", "fewer"),
                  "days": ("longer", "shorter")}.get(kind, ("higher", "lower"))
    out = np.full(values.shape, "", dtype=object)
    high = below >= 0.75
    low = ~high & (above >= 0.75)
    pct_high = np.minimum(np.floor(below * 100), 99).astype(np.int64)
    pct_low = np.minimum(np.floor(above * 100), 99).astype(np.int64)
    out[high] = [f", {more} than {p}% of customers" for p in pct_high[high]]
    out[low] = [f", {less} than {p}% of customers" for p in pct_low[low]]
    return out


def _values(source: pd.DataFrame | None, numeric: np.ndarray, j: int,
            categorical: Any = ()) -> np.ndarray:
    """Column ``j`` for wording: the model input for numbers (float32 values read the
    same once rounded for a sentence), the original values for categorical features."""
    if source is None or j not in categorical:
        return numeric[:, j]
    col = source.iloc[:, j]
    return col.astype(object).where(col.notna(), None).to_numpy(dtype=object)


def _say_what_is_new(texts: np.ndarray, where: np.ndarray, contrib: np.ndarray,
                     moved: np.ndarray, silent: np.ndarray, records: Sequence[FeatureInfo],
                     source: pd.DataFrame | None, numeric: np.ndarray, currency: str) -> None:
    """Tenure reasons of new customers also name what their short history shows.

    "customer for 2 weeks" becomes "customer for 2 weeks, no activity recorded yet" (the
    moved feature that raised the risk most), unless that passes the length limit.
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
        described = np.array([records[j].describe(_plain(u), currency) for u in uniques]
                             + [records[j].describe(np.nan, currency)], dtype=object)
        extra[sel] = described[codes]
    joined = np.array([str(t).split(", ", 1)[0] + ", " + e if e else ""
                       for t, e in zip(texts[rows, slots], extra, strict=True)], dtype=object)
    fits = np.array([0 < len(t) <= MAX_REASON_CHARS for t in joined], dtype=bool)
    texts[rows[fits], slots[fits]] = joined[fits]


def _past_text(value: float, previous: float, record: FeatureInfo, currency: str) -> str:
    """", down from 14 the 30 days before" (or nothing when unknown or unchanged)."""
    if not (np.isfinite(value) and np.isfinite(previous)) or abs(previous - value) < 0.5:
        return ""
    word = "down" if previous > value else "up"
    amount = format_value(previous, "number" if record.kind == "count" else record.kind,
                          currency=currency)
    return f", {word} from {amount} {record.past_label or 'before'}"


def _slope(margin: np.ndarray, base: np.ndarray, calibrate: Callable) -> np.ndarray:
    """(p(margin) - p(base)) / (margin - base), the derivative where the two meet."""
    p = np.asarray(calibrate(margin), dtype=np.float64)
    p0 = np.asarray(calibrate(base), dtype=np.float64)
    delta = margin - base
    close = np.abs(delta) < 1e-9
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = (p - p0) / np.where(close, 1.0, delta)
    if close.any():
        h = 1e-5
        up = np.asarray(calibrate(margin[close] + h), dtype=np.float64)
        down = np.asarray(calibrate(margin[close] - h), dtype=np.float64)
        slope[close] = (up - down) / (2 * h)
    return slope


def probability_contributions(values: np.ndarray, calibrate: Callable,
                              probability: np.ndarray | None = None
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-odds contributions carried through the calibration map into probability points.

    Each row's contributions are scaled by one factor, ``(p - p0) / (m - m0)``, where ``m``
    is the row's margin, ``m0`` the base value (expected margin), ``p = calibrate(m)`` and
    ``p0 = calibrate(m0)``. The scaled contributions sum to ``p - p0`` exactly, keep their
    signs (calibration is increasing) and do not depend on any feature order.

    Parameters
    ----------
    values : ndarray of shape (n_rows, n_features + 1)
        Output of :func:`shap_values` (last column: base value).
    calibrate : callable
        Margin -> probability.
    probability : ndarray of shape (n_rows,), optional
        The probabilities to end at (e.g. the model's ``predict_proba``, which reads the
        margin from XGBoost in float32); defaults to ``calibrate`` of the contributions' sum.
        The contributions then sum to ``probability - p0`` exactly.

    Returns
    -------
    contributions : ndarray of shape (n_rows, n_features)
    base : ndarray of shape (n_rows,)
        ``p0`` per row.
    probability : ndarray of shape (n_rows,)
        ``p`` per row; ``base + contributions.sum(axis=1)`` equals it.
    """
    p = values.shape[1] - 1
    margin = values.sum(axis=1)
    base_margin = values[:, p]
    base = np.asarray(calibrate(base_margin), dtype=np.float64)
    if probability is None:
        prob = np.asarray(calibrate(margin), dtype=np.float64)
        slope = _slope(margin, base_margin, calibrate)
    else:
        prob = np.asarray(probability, dtype=np.float64).reshape(-1)
        delta = margin - base_margin
        close = np.abs(delta) < 1e-9
        slope = _slope(margin, base_margin, calibrate)
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(close, slope, (prob - base) / np.where(close, 1.0, delta))
    contrib = values[:, :p] * slope[:, None]
    return contrib, base, prob


def explain(model: Any, X: Any, feature_info: Any, top: int = 3, *,
            method: str = "auto", threshold: float = REASON_THRESHOLD,
            percentiles: Mapping[str, Sequence[float]] | None = None,
            facts: Mapping[str, str] | None = None, currency: str = "") -> pd.DataFrame:
    """Driver-group contributions and the top reasons raising each customer's churn risk.

    Parameters
    ----------
    model : ChurnModel, xgboost.XGBClassifier or xgboost.Booster
        Fitted model; a ChurnModel's ``calibrate_margin`` turns margins into probabilities,
        other models use the logistic link.
    X : pandas.DataFrame
        Feature rows (the output index is ``X.index``).
    feature_info : pandas.DataFrame or list of FeatureInfo
        As returned by :func:`churnpredict.describe_features` (indexed by feature name with
        columns ``group`` and ``description`` and optionally the other FeatureInfo fields).
    top : int, default 3
        Number of reasons per row.
    method : {"auto", "fast", "xgboost"}, default "auto"
        Passed to :func:`shap_values`.
    threshold : float, default 0.01
        A reason must raise the probability by at least this many probability points
        (0.01 = one point); smaller facts are left out.
    percentiles : dict of str -> list of float, optional
        Training percentiles per feature (:func:`reference_percentiles`); a reason then
        compares the customer with the training population ("fewer than 90% of customers").
    facts : dict of str -> str, optional
        Fact id per feature (:func:`related_facts`); defaults to the declared fact keys.
    currency : str, default ""
        Symbol written before amounts.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``X`` with columns ``reason_1..top``, ``reason_group_1..top``,
        ``reason_weight_1..top``, ``reason_feature_1..top`` (the feature whose sentence is
        shown) and one ``shap_<group>`` column per driver group present (sum of the group's
        log-odds contributions).

    Notes
    -----
    Contributions are first carried into probability points with
    :func:`probability_contributions` (they then add up to the customer's probability minus
    the base probability). Features stating one fact (``facts``) are summed into one line,
    worded by the member that raises the risk most; a fact is a reason when its sum is at
    least ``threshold`` and its wording says something (a meaningless missing value or a
    zero change never does). For a customer younger than a feature's ``window_days``, a
    positive contribution of a low value of that feature (at most the training median, or
    missing) counts as tenure: the window reaches before signup, so a low count says "new",
    not "disengaged"; the tenure line then names it ("customer for 2 weeks, no activity
    recorded yet"). ``reason_weight_k`` is the fact's summed weight.
    Rows with fewer reasons get empty strings and NaN weights in the remaining slots.
    """
    if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
        raise ValueError(f"top={top!r}; expected a positive integer")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number)) or \
            not 0.0 <= float(threshold) < 1.0:
        raise ValueError(f"threshold={threshold!r}; expected probability points in [0, 1), "
                         f"e.g. 0.01 for one point")
    top = int(top)
    values, prepared = _contributions(model, X, method)
    names = prepared.names
    records = _records(feature_info, names)
    n, p = prepared.matrix.shape
    contrib, _, _ = probability_contributions(values, _calibration(model))
    raw = prepared.matrix
    numeric = raw.astype(np.float64)

    # facts: declared keys (or the given map) and the tenure-aware move
    fact_of = [str((facts or {}).get(r.name, r.fact_key)) for r in records]
    fact_names = list(dict.fromkeys(fact_of))
    fid = np.array([fact_names.index(f) for f in fact_of], dtype=np.int64)
    tenure_cols = [j for j, r in enumerate(records) if r.is_tenure]
    # values that make no reason: missing where that means nothing, zero changes (as
    # FeatureInfo.silent, on the model inputs: unseen categories count as missing there too)
    missing = np.isnan(numeric)
    silent = missing & np.array([r.description_if_missing is None for r in records])[None, :]
    for j, r in enumerate(records):
        if r.kind in CHANGE_KINDS:
            silent[:, j] |= ~missing[:, j] & is_zero_change(numeric[:, j], r.kind)
    moved = np.zeros((n, p), dtype=bool)
    tenure_fact = -1
    if tenure_cols:
        tenure_fact = int(fid[tenure_cols[0]])
        age = numeric[:, tenure_cols[0]]
        windows = np.array([np.nan if r.window_days is None or r.group == "tenure"
                            else r.window_days for r in records])
        # a short history can only make a value look low (few events, little paid, no
        # activity yet): only low or missing values of young customers are moved
        medians = np.array([np.inf if (percentiles or {}).get(r.name) is None
                            else float((percentiles or {})[r.name][50]) for r in records])
        with np.errstate(invalid="ignore"):
            low = np.isnan(numeric) | (numeric <= medians[None, :])
            moved = (age[:, None] < windows[None, :]) & (contrib > 0) & low
    onehot = np.zeros((p, len(fact_names)))
    onehot[np.arange(p), fid] = 1.0
    kept = np.where(moved, 0.0, contrib)
    totals = kept @ onehot
    if tenure_fact >= 0:
        totals[:, tenure_fact] += np.where(moved, contrib, 0.0).sum(axis=1)

    # the member that words each fact: largest positive, speakable, not moved
    lead = np.full((n, len(fact_names)), -1, dtype=np.int64)
    speak = np.where(silent | moved, -np.inf, contrib)
    for f in range(len(fact_names)):
        members = np.flatnonzero(fid == f)
        sub = speak[:, members]
        pick = np.argmax(sub, axis=1)
        lead[:, f] = np.where(sub[np.arange(n), pick] > 0, members[pick], -1)
        if f == tenure_fact:  # the tenure sentence words the contributions moved to it
            t = tenure_cols[0]
            lead[:, f] = np.where(moved.any(axis=1) & ~silent[:, t], t, lead[:, f])

    score = np.where((lead >= 0) & (totals >= max(float(threshold), 1e-12)), totals, -np.inf)
    k = min(top, len(fact_names))
    order = np.argsort(-score, axis=1, kind="stable")[:, :k]
    val = np.take_along_axis(score, order, axis=1)
    valid = np.isfinite(val)
    idx = np.where(valid, np.take_along_axis(lead, order, axis=1), -1)
    weights = np.where(valid, val, np.nan)

    groups = np.array([r.group for r in records], dtype=object)
    fact_group = np.empty(len(fact_names), dtype=object)
    for f in range(len(fact_names)):
        fact_group[f] = groups[np.flatnonzero(fid == f)[0]]
    group_text = np.where(valid, fact_group[order], "")
    texts = np.full((n, k), "", dtype=object)
    source = prepared.frame
    for j in np.unique(idx[valid]):
        rows, slots = np.nonzero(valid & (idx == j))
        record = records[j]
        col = pd.Series(_values(source, numeric, j, prepared.categories)[rows])
        past = None
        if record.past_change in names and record.kind in ("count", "money", "number"):
            change = numeric[rows, names.index(record.past_change)]
            past = numeric[rows, j] - change
            col = pd.Series(list(zip(numeric[rows, j], past, strict=True)), dtype=object)
        codes, uniques = pd.factorize(col, use_na_sentinel=True)
        if past is not None:  # (value, previous value) pairs: compare with the own past
            said = [record.describe(_plain(u[0]), currency) for u in uniques]
            said = [s + _past_text(u[0], u[1], record, currency) if s else s
                    for s, u in zip(said, uniques, strict=True)]
            said = [s if len(s) <= MAX_REASON_CHARS else record.describe(_plain(u[0]), currency)
                    for s, u in zip(said, uniques, strict=True)]
            uniques = [u[0] for u in uniques]
            own = [", down from" in s or ", up from" in s for s in said]
        else:
            said = [record.describe(_plain(u), currency) for u in uniques]
            own = [False] * len(uniques)
        grid = (percentiles or {}).get(record.name)
        if grid is not None and len(uniques) and record.kind not in ("flag", "category"):
            refs = _peer_text(np.asarray(uniques, dtype=np.float64), np.asarray(grid), record.kind)
            said = [s + r if r and not o and len(s) + len(r) <= MAX_REASON_CHARS else s
                    for s, r, o in zip(said, refs, own, strict=True)]
        described = np.array(said + [record.describe(np.nan, currency)], dtype=object)
        texts[rows, slots] = described[codes]
    if tenure_fact >= 0:
        _say_what_is_new(texts, valid & (order == tenure_fact) & moved.any(axis=1)[:, None],
                         contrib, moved, silent, records, source, numeric, currency)
    feats = np.where(valid, np.asarray(names, dtype=object)[np.maximum(idx, 0)], "")

    columns: dict[str, Any] = {}
    for name, block, empty in (("reason", texts, ""), ("reason_group", group_text, ""),
                               ("reason_weight", weights, np.nan),
                               ("reason_feature", feats, "")):
        for s in range(top):
            columns[f"{name}_{s + 1}"] = (block[:, s] if s < k else
                                          np.full(n, empty, dtype=object if empty == "" else
                                                  np.float64))
    present, group_onehot = _group_matrix(groups)
    totals_g = values[:, :p] @ group_onehot
    for g, name in enumerate(present):
        columns[f"shap_{name}"] = totals_g[:, g]
    return pd.DataFrame(columns, index=prepared.index)


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, so format specs such as ``{value:.0f}`` apply."""
    if isinstance(value, np.generic):
        return value.item()
    return value


def global_importance(model: Any, X: Any, feature_info: Any = None, *, by: str = "feature",
                      method: str = "auto") -> pd.DataFrame:
    """Mean absolute SHAP contribution per feature or per driver group.

    Parameters
    ----------
    model : ChurnModel, xgboost.XGBClassifier or xgboost.Booster
    X : pandas.DataFrame or ndarray
        Rows to average over (e.g. the scored population).
    feature_info : pandas.DataFrame or list of FeatureInfo, optional
        Feature metadata; needed for ``by="group"`` and adds a ``group`` column otherwise.
    by : {"feature", "group"}, default "feature"
        "group" averages the absolute *group total* per row (contributions of a group's
        features are summed before taking the absolute value).
    method : {"auto", "fast", "xgboost"}, default "auto"

    Returns
    -------
    pandas.DataFrame
        Indexed by feature (or group), sorted by ``mean_abs_shap`` descending, with columns
        ``mean_abs_shap`` (log-odds) and ``share`` (of the column total), plus ``group`` for
        features when ``feature_info`` is given.
    """
    if by not in ("feature", "group"):
        raise ValueError(f"by={by!r}; expected 'feature' or 'group'")
    if by == "group" and feature_info is None:
        raise ValueError("by='group' needs feature_info (see describe_features)")
    values, prepared = _contributions(model, X, method)
    p = prepared.matrix.shape[1]
    phi = values[:, :p]
    info = None if feature_info is None else _feature_frame(feature_info, prepared.names)
    if by == "group":
        present, onehot = _group_matrix(info["group"].astype(str).to_numpy(dtype=object))
        importance = np.abs(phi @ onehot).mean(axis=0) if len(phi) else np.zeros(len(present))
        out = pd.DataFrame({"mean_abs_shap": importance}, index=pd.Index(present, name="group"))
    else:
        importance = np.abs(phi).mean(axis=0) if len(phi) else np.zeros(p)
        out = pd.DataFrame({"mean_abs_shap": importance},
                           index=pd.Index(prepared.names, name="feature"))
        if info is not None:
            out.insert(0, "group", info["group"].astype(str).to_numpy())
    total = out["mean_abs_shap"].sum()
    out["share"] = out["mean_abs_shap"] / total if total > 0 else 0.0
    return out.sort_values("mean_abs_shap", ascending=False, kind="stable")


def listed_probability(model: Any, X: Any) -> np.ndarray | None:
    """The churn probability the model reports for ``X`` (``predict_proba``), when it has one."""
    predict = getattr(model, "predict_proba", None)
    if not callable(predict):
        return None
    try:
        return np.asarray(predict(X), dtype=np.float64)[:, 1]
    except Exception:  # a model that cannot predict on these inputs: use the calibration map
        return None


def to_shap_explanation(model: Any, X: Any, *, method: str = "auto",
                        space: str = "log-odds") -> Any:
    """Contributions as a :class:`shap.Explanation`, so shap's plots work.

    Parameters
    ----------
    model : ChurnModel, xgboost.XGBClassifier or xgboost.Booster
    X : pandas.DataFrame or ndarray
    method : {"auto", "fast", "xgboost"}, default "auto"
    space : {"log-odds", "probability"}, default "log-odds"
        "log-odds": the exact TreeSHAP contributions to the uncalibrated margin.
        "probability": the same contributions carried through the model's calibration
        (:func:`probability_contributions`): each row's contributions are scaled by
        ``(p - p0) / (m - m0)``, so ``base_values + values.sum(1)`` is exactly the calibrated
        churn probability the list shows, and ``base_values`` is the calibrated base value.

    Returns
    -------
    shap.Explanation
        ``values`` (n_rows, n_features), ``base_values`` (n_rows,), ``data`` the numeric model
        inputs (categoricals as training codes), ``display_data`` the original values, and
        ``feature_names``.
    """
    import shap

    if space not in ("log-odds", "probability"):
        raise ValueError(f"space={space!r}; expected 'log-odds' or 'probability'")
    values, prepared = _contributions(model, X, method)
    p = prepared.matrix.shape[1]
    display = None
    if prepared.frame is not None:
        display = prepared.frame.to_numpy(dtype=object)
    if space == "probability":
        contrib, base, _ = probability_contributions(values, _calibration(model),
                                                     listed_probability(model, X))
    else:
        contrib, base = values[:, :p], values[:, p]
    return shap.Explanation(
        values=contrib,
        base_values=base,
        data=prepared.matrix.astype(np.float64),
        display_data=display,
        feature_names=list(prepared.names),
    )
