"""Summaries of fitted objects: the ``summary`` table and the notebook display.

Fitted estimators and the pipeline offer a ``summary`` DataFrame (:func:`summary_frame`)
and, through :class:`SummaryReprMixin`, an HTML repr showing it.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

__all__ = ["SummaryReprMixin", "estimator_html", "summary_frame"]


def _format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (pd.Timestamp, pd.Timedelta)):
        return str(value)
    return str(value)


def summary_frame(rows: list[tuple[str, str, Any]]) -> pd.DataFrame:
    """A ``summary`` table: one ``value`` column (text) indexed by (section, name).

    Parameters
    ----------
    rows : list of (section, name, value)
        Floats are written with 4 significant digits, everything else with ``str``.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> frame = summary_frame([("fit", "rounds", 120), ("validation", "auc", 0.81234)])
    >>> frame.loc[("validation", "auc"), "value"]
    '0.8123'
    """
    index = pd.MultiIndex.from_tuples([(s, n) for s, n, _ in rows], names=["section", "name"])
    return pd.DataFrame({"value": [_format_value(v) for _, _, v in rows]}, index=index)


def estimator_html(est: Any, summary: pd.DataFrame | None) -> str:
    """HTML of an estimator for notebooks: its repr and its summary (or "not fitted")."""
    head = f"<pre>{html.escape(repr(est))}</pre>"
    if summary is None:
        return f"<div>{head}<p>not fitted</p></div>"
    return f"<div>{head}{summary.to_html()}</div>"


class SummaryReprMixin:
    """Notebook display: the estimator's ``summary`` table as HTML (parameters when unfitted)."""

    def _repr_html_(self) -> str:
        try:
            summary = self.summary  # type: ignore[attr-defined]
        except Exception:  # not fitted
            summary = None
        return estimator_html(self, summary)  # type: ignore[arg-type]

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, str]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}
