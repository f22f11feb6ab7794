"""Rich tables and short figures the commands print: the at-risk list, metrics, money.

Every data value (ids, reasons, segments) goes in as plain text through
:func:`~churnpredict.cli.session.cell`, never as markup.
"""

from __future__ import annotations

from typing import Any

from .session import cell, markup, plain_lines, printable

__all__ = [
    "fmt_money",
    "horizon_words",
    "status_counts",
    "at_risk_table",
    "evaluation_table",
    "metrics_frame_table",
]

# Evaluation.metrics key -> (label, format)
_EVAL_ROWS = {
    "n": ("customers", "{:,.0f}"),
    "n_churned": ("churned in the horizon", "{:,.0f}"),
    "base_rate": ("churn rate", "{:.1%}"),
    "mean_predicted": ("mean predicted churn", "{:.1%}"),
    "auc": ("AUC", "{:.3f}"),
    "average_precision": ("average precision", "{:.3f}"),
    "top_decile_lift": ("top-decile lift", "{:.1f}x"),
    "brier": ("Brier score", "{:.4f}"),
    "log_loss": ("log loss", "{:.4f}"),
}

# churn_metrics column -> (header, format); rates as percentages
_METRIC_COLUMNS = {
    "customers_start": ("customers", "{:,.0f}"),
    "new": ("new", "{:,.0f}"),
    "churned": ("churned", "{:,.0f}"),
    "churned_voluntary": ("voluntary", "{:,.0f}"),
    "churned_involuntary": ("involuntary", "{:,.0f}"),
    "churn_rate": ("churn", "{:.1%}"),
    "retention_rate": ("retention", "{:.1%}"),
    "mrr_start": ("MRR", "{:,.0f}"),
    "mrr_churned": ("MRR lost", "{:,.0f}"),
    "gross_revenue_churn": ("revenue churn", "{:.1%}"),
    "net_revenue_churn": ("net revenue churn", "{:.1%}"),
}


def fmt_money(value: float | None) -> str:
    """A sum of money without decimals, ``n/a`` when unknown.

    Examples
    --------
    >>> fmt_money(12345.6), fmt_money(float("nan")), fmt_money(None)
    ('12,346', 'n/a', 'n/a')
    """
    import math

    return (
        "n/a"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:,.0f}"
    )


def horizon_words(horizon: Any) -> str:
    """A horizon as people read it: ``28 days`` (other durations as pandas prints them).

    Examples
    --------
    >>> horizon_words("28D"), horizon_words("36h")
    ('28 days', '1 days 12:00:00')
    """
    import pandas as pd

    h = pd.Timedelta(horizon)
    return f"{h.days} days" if h == pd.Timedelta(days=h.days) else str(h)


def status_counts(frame: Any) -> str:
    """'700 active, 200 lapsed, 100 new' (statuses in a fixed order, zeros included)."""
    from .._export import STATUSES

    counts = frame["status"].value_counts()
    return ", ".join(f"{int(counts.get(s, 0)):,} {s}" for s in STATUSES)


def at_risk_table(frame: Any, n: int = 10) -> Any:
    """The first ``n`` rows of an at-risk list: who, how likely, what is at stake, why."""
    from rich.table import Table

    table = Table(title=f"Top {min(n, len(frame))} at risk", show_lines=True)
    valued = "revenue_at_risk" in frame.columns  # a list of a log of use may hold no value
    currency = str(frame.attrs.get("currency") or "")
    for name, justify in (
        ("rank", "right"),
        ("customer", "left"),
        ("probability", "right"),
        ("tier", "left"),
        *(
            ((f"revenue at risk ({markup(currency) if currency else 'amount'})", "right"),)
            if valued
            else ()
        ),
        ("why", "left"),
        ("suggested action", "left"),
    ):
        table.add_column(name, justify=justify)
    for row in frame.head(n).to_dict("records"):
        reasons = [row.get(f"reason_{i}") for i in (1, 2, 3)]
        reasons = "\n".join(printable(r) for r in reasons if isinstance(r, str) and r)
        table.add_row(
            str(row["rank"]),
            cell(row["customer_id"]),
            f"{row['churn_probability']:.1%}",
            cell(row.get("risk_tier", "")),
            *((fmt_money(row["revenue_at_risk"]),) if valued else ()),
            plain_lines(reasons or "-"),
            cell(row.get("suggested_action") or "-"),
        )
    return table


def evaluation_table(evaluation: Any) -> Any:
    """Headline metrics of an Evaluation (plus per churn type when known)."""
    from rich.table import Table

    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, (label, fmt) in _EVAL_ROWS.items():
        value = evaluation.metrics.get(key)
        if value is not None:
            table.add_row(label, "n/a" if value != value else fmt.format(value))
    for key, value in evaluation.by_churn_type.items():
        if not isinstance(value, (int, float)) or value != value:
            continue
        kind = key.rsplit("_", 1)[-1]
        if key.startswith("auc_"):
            table.add_row(f"AUC, {kind} churn", f"{value:.3f}")
        elif key.startswith("top_decile_recall_"):
            table.add_row(f"{kind} churners in the top 10%", f"{value:.0%}")
    return table


def metrics_frame_table(frame: Any, title: str) -> Any:
    """The main churn_metrics columns as a rich table (the --out file keeps all columns)."""
    import pandas as pd
    from rich.table import Table

    table = Table(title=markup(title))
    flat = frame.reset_index()
    keys = [c for c in frame.index.names if c is not None]
    for key in keys:
        table.add_column(cell(key))
    shown = [c for c in _METRIC_COLUMNS if c in flat.columns and flat[c].notna().any()]
    for col in shown:
        table.add_column(_METRIC_COLUMNS[col][0], justify="right")
    for row in flat.to_dict("records"):
        cells = []
        for key in keys:
            value = row[key]
            cells.append(
                value.strftime("%Y-%m-%d") if isinstance(value, pd.Timestamp) else cell(value)
            )
        for col in shown:
            value = row[col]
            cells.append("" if pd.isna(value) else _METRIC_COLUMNS[col][1].format(value))
        table.add_row(*cells)
    return table
