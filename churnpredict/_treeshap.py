"""Exact TreeSHAP of XGBoost models: the subset-table algorithm compiled with numba.

:func:`shap_values` computes exact (path-dependent) TreeSHAP log-odds contributions of an
XGBoost model. It follows the FastTreeSHAP v2 idea (Yang, 2021): for every leaf, the Shapley
contribution of each feature on the leaf's path depends on the row only through *which* of
the path's features the row satisfies, so a table over those subsets is built once per model
and each row then costs ``O(trees x leaves x depth)`` look-ups instead of TreeSHAP's
``O(trees x leaves x depth^2)`` polynomial updates. The row loop runs compiled with numba,
in parallel over blocks of rows. The values equal ``shap.TreeExplainer`` and XGBoost's
``pred_contribs`` (to float32 rounding of XGBoost's own output).

:func:`contributions` gives the same values together with the inputs as the model reads
them (:class:`PreparedInputs`), which :mod:`churnpredict._explain` words as reasons.
"""

from __future__ import annotations

import functools
import json
import math
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._exceptions import ChurnModelError

__all__ = ["shap_values", "contributions", "PreparedInputs", "MAX_TABLE_BYTES"]

#: Largest precomputed subset table (bytes) before falling back to XGBoost's ``pred_contribs``;
#: the table holds ``2**d * d`` values per leaf with ``d`` distinct features on its path.
MAX_TABLE_BYTES = 1 << 30
_BLOCK_ROWS = 1024
_METHODS = ("auto", "fast", "xgboost")


# --------------------------------------------------------------------------- model access
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


def _feature_names(model: Any, booster: Any) -> list[str] | None:
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return [str(n) for n in names]
    return None if booster.feature_names is None else list(booster.feature_names)


def _training_categories(
    model: Any, booster: Any, names: list[str] | None, categorical: list[int]
) -> dict[int, list[Any] | None]:
    """Training categories (in code order) of each categorical feature, when known."""
    out: dict[int, list[Any] | None] = {j: None for j in categorical}
    learned = getattr(model, "categories_", None)
    if isinstance(learned, Mapping) and names is not None:
        for j in categorical:
            if names[j] in learned:
                out[j] = list(learned[names[j]])
    if any(out[j] is None for j in categorical):
        for j, known in _booster_categories(booster).items():
            if j in out and out[j] is None:
                out[j] = known
    return out


def _booster_categories(booster: Any) -> dict[int, list[Any]]:
    """The categories the booster stores per feature (xgboost >= 3.1), else none."""
    if not hasattr(booster, "get_categories"):
        return {}
    try:
        cats = booster.get_categories(export_to_arrow=True)
        arrays = [] if cats.empty() else cats.to_arrow()
    except Exception:  # older formats or builds without arrow export
        arrays = []
    return {j: arr.to_pylist() for j, (_, arr) in enumerate(arrays) if arr is not None}


# --------------------------------------------------------------------------- input matrix
@dataclass
class PreparedInputs:
    """Model inputs as float32, one row per feature (categoricals as training codes).

    Attributes
    ----------
    columns : ndarray of float32, shape (n_features, n_rows)
    frame : pandas.DataFrame or None
        The given features in model order (None for an array input).
    names : list of str
        Feature names in model order.
    index : pandas.Index
        The rows' index.
    categories : dict of int -> list or None
        Training categories (in code order) of each categorical feature, when known.
    """

    columns: np.ndarray
    frame: pd.DataFrame | None
    names: list[str]
    index: pd.Index
    categories: dict[int, list[Any] | None]

    @property
    def matrix(self) -> np.ndarray:
        """The inputs as (rows, features)."""
        return self.columns.T


def _prepare(model: Any, booster: Any, X: Any) -> PreparedInputs:
    """The model inputs of ``X`` (a DataFrame by feature name, else a 2-D array)."""
    names = _feature_names(model, booster)
    n_features = booster.num_features()
    types = booster.feature_types or ["float"] * n_features
    categorical = [j for j, t in enumerate(types) if t == "c"]
    if isinstance(X, pd.DataFrame):
        return _prepare_frame(model, booster, X, names, categorical)
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
    return PreparedInputs(
        matrix, None, names, pd.RangeIndex(arr.shape[0]), {j: None for j in categorical}
    )


def _prepare_frame(
    model: Any, booster: Any, X: pd.DataFrame, names: list[str] | None, categorical: list[int]
) -> PreparedInputs:
    """The model inputs of a DataFrame: its feature columns in model order, each as float32
    (categoricals as their training codes)."""
    n_features = booster.num_features()
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
            matrix[j] = _category_codes(col, name, cats[j])
        else:
            matrix[j] = _numeric_values(col, name)
    return PreparedInputs(matrix, frame, names, X.index, cats)


def _category_codes(col: pd.Series, name: str, known: list[Any] | None) -> np.ndarray:
    """A categorical feature as the codes the model was trained on (NaN: unseen or missing).

    Without the training categories, the column must be a pandas categorical: its own codes.
    """
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
        codes = pd.Index(known, dtype=object).get_indexer(values.where(values.notna(), None))
    return np.where(codes < 0, np.nan, codes.astype(np.float32))


def _numeric_values(col: pd.Series, name: str) -> np.ndarray:
    """A numeric feature as float64 (text read as numbers, unreadable text as NaN)."""
    dtype = col.dtype
    if isinstance(dtype, pd.CategoricalDtype) or not (
        pd.api.types.is_numeric_dtype(dtype)
        or pd.api.types.is_bool_dtype(dtype)
        or pd.api.types.is_object_dtype(dtype)
    ):
        raise ChurnModelError(
            f"feature {name!r} is numeric in the model but X holds {dtype}; build "
            f"the features with the same builders and types as in training"
        )
    if pd.api.types.is_object_dtype(dtype):
        col = pd.to_numeric(col, errors="coerce")
    return col.to_numpy(dtype=np.float64, na_value=np.nan)


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
    parts: dict[str, list[np.ndarray]] = {
        k: []
        for k in (
            "feature",
            "threshold",
            "default_left",
            "left",
            "right",
            "value",
            "cover",
            "cat_start",
            "cat_len",
        )
    }
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
def _walk_paths_py(tree_start, feature, left, right, cover, width):  # pragma: no cover
    """Walk every tree from its root: the features on the path to each node, their zero
    fractions and the path's length, and per internal node the bit of its split feature.

    A feature split on several times along a path counts once (its conditions and cover
    fractions multiply), as in TreeSHAP's path merging. Children come after their parent
    (breadth-first order), so one pass per tree fills them.
    """
    n_nodes = feature.shape[0]
    path_feat = np.full((n_nodes, width), -1, dtype=np.int64)
    path_zero = np.ones((n_nodes, width), dtype=np.float64)
    path_len = np.zeros(n_nodes, dtype=np.int64)
    node_bit = np.zeros(n_nodes, dtype=np.int64)
    for t in range(tree_start.shape[0] - 1):
        for g in range(tree_start[t], tree_start[t + 1]):
            if left[g] < 0:
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
    return path_feat, path_zero, path_len, node_bit


def _paths_py(tree_start, feature, left, right, cover, value, max_depth):  # pragma: no cover
    """Per node: bit of its split feature on the path; per leaf: path features and zero fractions.

    The paths come from :func:`_walk_paths_py`; here the leaves are numbered, their values
    and path lengths gathered with the offsets of their features and subset tables, and the
    expected value (each tree's leaves weighted by cover) summed.
    """
    n_nodes = feature.shape[0]
    path_feat, path_zero, path_len, node_bit = _walk_paths_py(
        tree_start, feature, left, right, cover, max(max_depth, 1)
    )
    node_leaf = np.full(n_nodes, -1, dtype=np.int64)
    n_leaves = 0
    for g in range(n_nodes):
        if left[g] < 0:
            node_leaf[g] = n_leaves
            n_leaves += 1
    leaf_d = np.zeros(n_leaves, dtype=np.int64)
    leaf_value = np.zeros(n_leaves, dtype=np.float64)
    expected = 0.0
    for t in range(tree_start.shape[0] - 1):
        root = tree_start[t]
        for g in range(tree_start[t], tree_start[t + 1]):
            if left[g] < 0:
                leaf_d[node_leaf[g]] = path_len[g]
                leaf_value[node_leaf[g]] = value[g]
                if cover[root] > 0:
                    expected += value[g] * cover[g] / cover[root]
    leaf_fstart = np.zeros(n_leaves + 1, dtype=np.int64)
    leaf_tstart = np.zeros(n_leaves + 1, dtype=np.int64)
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
    return (
        node_bit,
        node_leaf,
        leaf_d,
        leaf_fstart,
        leaf_tstart,
        leaf_value,
        leaf_features,
        leaf_zero,
        expected,
    )


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
        z = leaf_zero[leaf_fstart[leaf] : leaf_fstart[leaf] + d]
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


def _shap_py(
    XT,
    inner_start,
    i_node,
    i_feature,
    i_threshold,
    i_default_left,
    i_left,
    i_right,
    i_bit,
    i_cat_start,
    i_cat_len,
    categories,
    leaf_start,
    l_node,
    l_d,
    l_fstart,
    l_tstart,
    leaf_features,
    table,
    max_nodes,
    block,
    outT,
):  # pragma: no cover
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

    def jit(func: Callable, helpers: dict[str, Callable] | None = None, **kwargs: Any) -> Callable:
        glb = dict(func.__globals__)
        glb["prange"] = numba.prange
        glb.update(helpers or {})  # kernels a kernel calls, compiled too
        fn = type(func)(func.__code__, glb, func.__name__, func.__defaults__, func.__closure__)
        fn.__qualname__ = func.__qualname__
        fn.__module__ = func.__module__
        try:
            return numba.njit(cache=True, nogil=True, **kwargs)(fn)
        except RuntimeError:  # no writable cache directory
            return numba.njit(nogil=True, **kwargs)(fn)

    paths = jit(_paths_py, {"_walk_paths_py": jit(_walk_paths_py)})
    return paths, jit(_tables_py, parallel=True), jit(_shap_py, parallel=True)


def _build_tables(forest: _Forest) -> _Forest:
    paths, tables, _ = _kernels()
    (
        node_bit,
        node_leaf,
        leaf_d,
        leaf_fstart,
        leaf_tstart,
        leaf_value,
        leaf_features,
        leaf_zero,
        expected,
    ) = paths(
        forest.tree_start,
        forest.feature,
        forest.left,
        forest.right,
        forest.cover,
        forest.value,
        forest.max_depth,
    )
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
        inner_start,
        local[inner],
        forest.feature[inner],
        forest.threshold[inner],
        forest.default_left[inner].astype(np.int32),
        local[forest.left[inner]],
        local[forest.right[inner]],
        node_bit[inner].astype(np.int32),
        forest.cat_start[inner],
        forest.cat_len[inner],
        forest.categories,
        leaf_start,
        local[leaves],
        leaf_d[ids],
        leaf_fstart[ids],
        leaf_tstart[ids],
        leaf_features,
        table,
        forest.max_nodes,
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
                go_left = not (x >= 0 and int(x) in forest.categories[lo : lo + forest.cat_len[g]])
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
        margin = booster.predict(xgb.DMatrix(probe), output_margin=True, validate_features=False)
        forest.intercept = float(margin[0]) - _leaf_sum(forest, probe[0])
    except _Unsupported as exc:
        _CACHE[booster] = (key, exc)
        raise
    _CACHE[booster] = (key, forest)
    return forest


def _xgboost_contribs(booster: Any, prepared: PreparedInputs) -> np.ndarray:
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
        dmat = xgb.DMatrix(
            prepared.matrix,
            missing=np.nan,
            feature_names=booster.feature_names,
            feature_types=booster.feature_types,
            enable_categorical=bool(prepared.categories),
        )
    out = booster.predict(dmat, pred_contribs=True, validate_features=False)
    return np.asarray(out, dtype=np.float64)


def contributions(model: Any, X: Any, method: str = "auto") -> tuple[np.ndarray, PreparedInputs]:
    """:func:`shap_values` and the inputs as the model read them.

    Parameters
    ----------
    model, X, method
        As in :func:`shap_values`.

    Returns
    -------
    values : ndarray of shape (n_rows, n_features + 1)
        As :func:`shap_values` returns.
    inputs : PreparedInputs
        Feature names, the rows' index, the float32 inputs (categoricals as training codes),
        the original frame and the training categories of categorical features.
    """
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
            raise ChurnModelError(
                f"the fast TreeSHAP path does not support this model: {exc}; "
                f"use method='auto' or 'xgboost'"
            ) from None
        return _xgboost_contribs(booster, prepared), prepared
    n, p = prepared.matrix.shape
    out_t = np.zeros((p + 1, n), dtype=np.float64)
    if n:
        _, _, kernel = _kernels()
        block = int(min(_BLOCK_ROWS, max(64, (1 << 16) // forest.max_nodes)))
        kernel(prepared.columns, *forest.kernel_args, block, out_t)
    out_t[p] = forest.intercept + forest.expected
    return np.ascontiguousarray(out_t.T), prepared


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
    values, _ = contributions(model, X, method)
    return values
