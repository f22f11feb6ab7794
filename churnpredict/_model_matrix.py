"""XGBoost matrices of feature rows, built a block of rows at a time in float32.

:class:`BoosterRows` hands the rows of a checked feature frame (see
:class:`~churnpredict._model_input.FrameInputMixin`) to XGBoost without a typed copy of the
whole frame: a :class:`xgboost.QuantileDMatrix` reads them through a data iterator, block by
block, and keeps only their histogram bins (one byte per value), where an
:class:`xgboost.DMatrix` built from the frame would hold a float copy of every value next to
the frame itself. XGBoost reads every input as float32, so typing the blocks as float32 changes
no split and no prediction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import xgboost as xgb

__all__ = ["BoosterRows", "BLOCK_BYTES"]

#: Bytes of float32 features per block handed to XGBoost (a block's temporaries stay small).
BLOCK_BYTES = 16 << 20


class _Blocks(xgb.DataIter):
    """The given rows as a sequence of typed blocks, for XGBoost's iterator interface."""

    def __init__(
        self,
        typed: Callable[[np.ndarray], pd.DataFrame],
        rows: np.ndarray,
        label: np.ndarray,
        weight: np.ndarray | None,
        block_rows: int,
    ) -> None:
        self._typed, self._rows, self._label, self._weight = typed, rows, label, weight
        self._block_rows = block_rows
        self._at = 0
        super().__init__(release_data=True)

    def next(self, input_data: Callable[..., None]) -> bool:
        if self._at >= len(self._rows):
            return False
        rows = self._rows[self._at : self._at + self._block_rows]
        self._at += self._block_rows
        info: dict[str, Any] = {"label": self._label[rows]}
        if self._weight is not None:
            info["weight"] = self._weight[rows]
        input_data(data=self._typed(rows), **info)
        return True

    def reset(self) -> None:
        self._at = 0


class BoosterRows:
    """Rows of a checked feature frame, as XGBoost matrices of any subset of them.

    Parameters
    ----------
    typed : callable
        ``typed(rows) -> DataFrame``: the given rows (positions) typed for XGBoost: float32
        numeric columns, pandas ``category`` columns coded with the training categories.
    n_features : int
    label : ndarray of 0/1
    weight : ndarray of float, optional
        Row weights.
    nthread : int, optional
        XGBoost threads (None: XGBoost's default).
    """

    def __init__(
        self,
        typed: Callable[[np.ndarray], pd.DataFrame],
        n_features: int,
        label: np.ndarray,
        weight: np.ndarray | None = None,
        nthread: int | None = None,
    ) -> None:
        self.typed = typed
        self.label = np.asarray(label)
        self.weight = None if weight is None else np.asarray(weight, dtype=np.float64)
        self.block_rows = max(1024, BLOCK_BYTES // (4 * max(1, n_features)))
        self._kwargs = {"missing": np.nan, "enable_categorical": True}
        if nthread is not None:
            self._kwargs["nthread"] = int(nthread)

    def _positions(self, mask: np.ndarray | None) -> np.ndarray:
        return np.arange(len(self.label)) if mask is None else np.flatnonzero(mask)

    def quantile_matrix(self, mask: np.ndarray | None = None) -> xgb.QuantileDMatrix:
        """The rows of ``mask`` (all when None) binned for training, read block by block."""
        blocks = _Blocks(
            self.typed, self._positions(mask), self.label, self.weight, self.block_rows
        )
        return xgb.QuantileDMatrix(blocks, **self._kwargs)

    def matrix(
        self, mask: np.ndarray | None = None, weight: np.ndarray | None = None
    ) -> xgb.DMatrix:
        """The rows of ``mask`` as a plain :class:`xgboost.DMatrix` (e.g. a validation fold,
        which XGBoost evaluates faster from raw values than from bins); ``weight`` (over
        every row) replaces the rows' own weights."""
        rows = self._positions(mask)
        weight = self.weight if weight is None else np.asarray(weight, dtype=np.float64)
        weight = None if weight is None else weight[rows]
        return xgb.DMatrix(self.typed(rows), label=self.label[rows], weight=weight, **self._kwargs)
