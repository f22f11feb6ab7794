"""Small helpers every part of the Dask layer uses: the optional import and frame shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

#: dtype of text columns in the Dask outputs (what Dask itself gives text columns).
TEXT = pd.StringDtype("pyarrow")
#: ``progress(stage, step, total)``, called after each stage of a long run.
Progress = Callable[[str, int, int], None]


def require_dask() -> None:
    """Raise ImportError with the install hint when Dask or distributed is missing."""
    try:
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise ImportError(
            "churnpredict.dask needs Dask: pip install 'churnpredict[dask]'"
        ) from None


def is_dask_frame(obj: Any) -> bool:
    """True for a ``dask.dataframe.DataFrame`` (False when Dask is not installed)."""
    try:
        import dask.dataframe as dd
    except ImportError:  # pragma: no cover
        return False
    return isinstance(obj, dd.DataFrame)


def numeric_ids(dtype: Any) -> bool:
    """Customer ids compared as numbers (numeric or boolean dtype) rather than as text."""
    return bool(pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype))


def text_like(dtype: Any) -> bool:
    """Object or string dtype (not categorical): stored as :data:`TEXT` in Dask outputs."""
    return bool(
        pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)
    ) and not isinstance(dtype, pd.CategoricalDtype)


def from_delayed(parts: list[Any], meta: pd.DataFrame) -> Any:
    """A Dask DataFrame from per-partition Delayed frames, each checked against ``meta``."""
    import dask.dataframe as dd

    return dd.from_delayed(parts, meta=meta, verify_meta=True)


def conform(frame: pd.DataFrame, meta: pd.DataFrame) -> pd.DataFrame:
    """Give ``frame`` exactly ``meta``'s columns and dtypes (partitions must agree)."""
    frame = frame[list(meta.columns)]
    for col in meta.columns:
        if frame[col].dtype != meta[col].dtype:
            frame = frame.assign(**{col: frame[col].astype(meta[col].dtype)})
    return frame.reset_index(drop=True)
