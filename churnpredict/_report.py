"""A one-page HTML evaluation report a retention lead can open, plus its plots as PNG files.

:func:`write_report` writes ``report.html`` (self-contained: plots embedded as base64 data URIs,
inline CSS, no external assets) and each plot as a PNG next to it, every file atomically.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._drift import population_drift
from ._exceptions import ChurnDataError
from ._export import NO_VALUE_NOTE
from ._htmlpage import PAGE_CSS, Plot, escape, figure_html, number, render_plot, write_page
from ._kinds import STATUSES
from ._windows import horizon_months, parse_window, to_naive_utc

__all__ = ["write_report", "evaluate_at", "REPORT_PLOTS"]

#: Plots written by :func:`write_report`: file stem -> caption.
REPORT_PLOTS: dict[str, str] = {
    "gains": "Cumulative gains: share of the churners found when calling the top x% of the list",
    "lift": "Lift: how many times more churners the top of the list holds than a random pick",
    "precision_recall": "Precision and recall against list size",
    "calibration": "Calibration: predicted probability against observed churn rate",
    "score_distribution": "Distribution of churn probabilities",
    "importance_groups": "What drives the predictions, by driver group (mean |SHAP|)",
    "importance_features": "What drives the predictions, by feature (mean |SHAP|)",
    "driver_mix": "Main churn driver along the at-risk list",
    "profit": "Expected campaign profit against list size",
    "drift": "Population stability index (PSI) of the score and the most shifted features, "
    "scored population against training",
    "waterfall": "Why the first customer on the list scores as they do: contributions in "
    "probability points, from the base rate to the probability in the list",
}


def _horizon(pipeline: Any) -> pd.Timedelta:
    value = getattr(pipeline, "horizon_", None)
    return parse_window(value if value is not None else pipeline.horizon)


def evaluate_at(pipeline: Any, data: Any, as_of: Any, *, explain: bool = False) -> Any:
    """Evaluate a fitted pipeline at ``as_of``, naming the fix when the data is too short.

    Parameters
    ----------
    pipeline : ChurnPipeline
        Fitted.
    data : EventData
        Must reach ``as_of + horizon``: outcomes come from the following horizon.
    as_of : timestamp-like
    explain : bool, default False
        Keep the reason columns in the evaluation's ``scores``.

    Returns
    -------
    churnpredict._evaluate.Evaluation
        From :meth:`ChurnPipeline.evaluate`.
    """
    as_of = to_naive_utc(as_of)
    horizon = _horizon(pipeline)
    end = data.time_range[1]
    if not data.is_snapshot and as_of + horizon > end:
        raise ChurnDataError(
            f"evaluating at {as_of:%Y-%m-%d} needs the {horizon.days}-day horizon after it, but "
            f"the data ends at {end:%Y-%m-%d %H:%M}; use an as-of date on or before "
            f"{end - horizon:%Y-%m-%d}"
        )
    return pipeline.evaluate(data, as_of, explain=explain, progress=False)


@dataclass
class _Contributions:
    """SHAP contributions of the scored population and each feature's driver group."""

    values: pd.DataFrame  # one column per feature (log-odds)
    groups: pd.Series  # feature -> driver group
    probability: pd.DataFrame | None = None  # the same in probability points, by customer
    base_probability: pd.Series | None = None  # calibrated base value, by customer

    def group_share(self) -> pd.Series:
        """Share of the total mean |group contribution| per driver group, largest first."""
        totals = self.values.T.groupby(self.groups.reindex(self.values.columns).to_numpy()).sum().T
        importance = totals.abs().mean()
        total = importance.sum()
        share = importance / total if total > 0 else importance * 0.0
        return share.sort_values(ascending=False, kind="stable")


def _contributions(pipeline: Any, X: pd.DataFrame) -> _Contributions | None:
    """One SHAP pass over the population's features ``X`` (None for models without trees)."""
    from ._explain import shap_values

    if not hasattr(pipeline.model_, "booster_"):
        return None
    if len(X) == 0:
        return None
    from ._explain import calibration_map, listed_probability, probability_contributions

    values = shap_values(pipeline.model_, X)
    phi = values[:, :-1]
    groups = pipeline.feature_info_["group"].reindex(X.columns).fillna("profile").astype(str)
    # the waterfall is drawn in probability points so it ends at the listed probability
    prob, base, _ = probability_contributions(
        values, calibration_map(pipeline.model_), listed_probability(pipeline.model_, X)
    )
    ids = pd.Index(X.index.get_level_values(0), name="customer_id")
    return _Contributions(
        pd.DataFrame(phi, columns=X.columns, index=X.index),
        groups,
        pd.DataFrame(prob, columns=X.columns, index=ids),
        pd.Series(base, index=ids),
    )


# ---------------------------------------------------------------------------- figures
def _plot_drift(summary: Mapping[str, Any], ax: Any, n: int = 15) -> None:
    from ._drift import drift_frame

    frame = drift_frame(summary).dropna(subset=["psi"]).head(n).iloc[::-1]
    colors = {"ok": "#8c959f", "notice": "#d4a72c", "warn": "#cf222e"}
    ax.barh(
        [str(i) for i in frame.index],
        frame["psi"].to_numpy(dtype=float),
        color=[colors.get(level, "#8c959f") for level in frame["level"]],
    )
    limits = summary["thresholds"]
    for key, style in (("notice", ":"), ("warn", "--")):
        ax.axvline(limits[key], color=colors[key], ls=style, lw=1, label=f"{key} ({limits[key]:g})")
    ax.set_xlabel("population stability index")
    ax.legend(frameon=False, loc="lower right")


_Draw = tuple[str, Callable[[Any], Any], tuple[float, float]]
_SIZE = (6.4, 4.2)


def _make_plots(
    evaluation: Any,
    shap: _Contributions | None,
    at_risk: pd.DataFrame,
    curve: pd.DataFrame | None,
    top: int,
    drift: Mapping[str, Any] | None = None,
) -> list[Plot]:
    """Every plot the report shows, in page order, rendered as PNG."""
    draws = [
        *_accuracy_plots(evaluation, at_risk),
        *_driver_plots(shap, at_risk, top),
        *_list_plots(curve, drift),
    ]
    return [Plot(stem, REPORT_PLOTS[stem], render_plot(draw, size)) for stem, draw, size in draws]


def _accuracy_plots(evaluation: Any, at_risk: pd.DataFrame) -> list[_Draw]:
    """Gains, lift, precision/recall and calibration when outcomes are known; the scores."""
    from . import _plots as pe

    if evaluation is None:
        return [
            (
                "score_distribution",
                lambda ax: pe.plot_score_distribution(at_risk, ax, label=None, log=True),
                _SIZE,
            )
        ]
    scored = evaluation.scores
    return [
        ("gains", lambda ax: pe.plot_gains(scored, ax), _SIZE),
        ("lift", lambda ax: pe.plot_lift(scored, ax), _SIZE),
        ("precision_recall", lambda ax: pe.plot_precision_recall_at_k(scored, ax), _SIZE),
        ("calibration", lambda ax: pe.plot_calibration(scored, ax), _SIZE),
        (
            "score_distribution",
            lambda ax: pe.plot_score_distribution(scored, ax, log=True),
            _SIZE,
        ),
    ]


def _driver_plots(shap: _Contributions | None, at_risk: pd.DataFrame, top: int) -> list[_Draw]:
    """What drives the scores: importance by group and feature, the first customer's
    waterfall, the main reason along the list."""
    from . import _plots as pe

    out: list[_Draw] = []
    if shap is not None:
        n = min(15, shap.values.shape[1])
        out += [
            (
                "importance_groups",
                lambda ax: pe.plot_shap_importance(shap.values, ax, groups=shap.groups, by="group"),
                _SIZE,
            ),
            (
                "importance_features",
                lambda ax: pe.plot_shap_importance(
                    shap.values, ax, groups=shap.groups, max_features=n
                ),
                (6.4, 0.28 * n + 1.6),
            ),
        ]
    first = _first_customer_contributions(shap, at_risk)
    if first is not None:
        row, base = first
        out.append(("waterfall", lambda ax: pe.plot_waterfall(row, base, ax), (7.0, 5.4)))
    if "reason_group_1" in at_risk.columns and len(at_risk):
        out.append(("driver_mix", lambda ax: pe.plot_driver_mix(at_risk, ax, top=top * 10), _SIZE))
    return out


def _first_customer_contributions(
    shap: _Contributions | None, at_risk: pd.DataFrame
) -> tuple[pd.Series, float] | None:
    """The first listed customer's contributions in probability points and base probability."""
    if shap is None or shap.probability is None or not len(at_risk):
        return None
    first = at_risk["customer_id"].iloc[0] if "customer_id" in at_risk.columns else None
    if first not in shap.probability.index:
        return None
    row = shap.probability.loc[first]
    row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
    base = shap.base_probability.loc[first]
    return row, float(base.iloc[0] if isinstance(base, pd.Series) else base)


def _list_plots(curve: pd.DataFrame | None, drift: Mapping[str, Any] | None) -> list[_Draw]:
    """The profit curve and the drift of the scored population."""
    from . import _plots as pe

    out: list[_Draw] = []
    if curve is not None:
        # Zoom on the sizes worth discussing: up to a few times the best size.
        best = int(curve.attrs.get("optimal_list_size", 0))
        shown = curve.iloc[: min(len(curve), max(4 * best, len(curve) // 10, 20) + 1)]
        out.append(
            (
                "profit",
                lambda ax: pe.plot_profit_curve(
                    shown.reset_index(), ax, x="list_size", y="expected_profit"
                ),
                _SIZE,
            )
        )
    if drift is not None and (drift.get("features") or drift.get("score")):
        n = min(15, len(drift.get("features", [])) + 1)
        out.append(("drift", lambda ax: _plot_drift(drift, ax, n), (6.4, 0.28 * n + 1.6)))
    return out


# ---------------------------------------------------------------------------- html pieces
def _cards(metrics: Mapping[str, Any]) -> str:
    base = number(metrics.get("base_rate"), "{:.3f}")
    rows = [
        (
            "AUC",
            number(metrics.get("auc"), "{:.3f}"),
            "chance a churner is ranked above a customer who stays (0.5 = random)",
        ),
        (
            "Average precision",
            number(metrics.get("average_precision"), "{:.3f}"),
            f"precision over the whole list; random would be {base}",
        ),
        (
            "Top-decile lift",
            number(metrics.get("top_decile_lift"), "{:.1f}x"),
            "churn rate in the top 10% of the list over the overall churn rate",
        ),
        (
            "Brier score",
            number(metrics.get("brier"), "{:.3f}"),
            "mean squared error of the probabilities (lower is better)",
        ),
        (
            "Churn rate",
            number(metrics.get("base_rate"), "{:.1%}"),
            f"{number(metrics.get('n_churned'))} of {number(metrics.get('n'))} customers churned",
        ),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{v}</div>'
            f'<div class="h">{escape(h)}</div></div>'
            for k, v, h in rows
        )
        + "</div>"
    )


def _group_tag(group: Any) -> str:
    from ._plots import GROUP_COLORS

    if not isinstance(group, str) or not group:
        return ""
    color = GROUP_COLORS.get(group, GROUP_COLORS["other"])
    return f'<span class="tag" style="background:{color}">{escape(group)}</span>'


def _money(value: Any, currency: str, decimals: int = 0) -> str:
    """An amount for the page: "€1,234" with a currency, "1,234" (the header says
    "amount") without; "n/a" when unknown."""
    text = number(value, f"{{:,.{decimals}f}}")
    if text == "n/a" or not currency:
        return text
    return f"-{escape(currency)}{text[1:]}" if text.startswith("-") else escape(currency) + text


def _top_table(at_risk: pd.DataFrame, top: int, currency: str = "") -> str:
    """The first ``top`` lines of the list, customers who read alike joined in one line."""
    from ._alike import alike_groups

    unit = f" ({escape(currency)})" if currency else " (amount)"
    label = "MRR" if "expected_spend" not in at_risk.columns else "expected spend"
    # a list of a log of use may hold no value at all: no value columns then
    valued = "revenue_at_risk" in at_risk.columns
    money = f"<th>{label}{unit}</th><th>revenue at risk{unit}</th>" if valued else ""
    head = (
        "<tr><th>rank</th><th>customers</th><th>churn probability</th><th>risk tier</th>"
        f"{money}<th>why (top reasons)</th><th>suggested action</th></tr>"
    )
    body = []
    for row in alike_groups(at_risk, top).to_dict("records"):
        rank, who = _who(row)
        body.append(
            f"<tr><td class=n>{rank}</td><td>{who}</td><td class=n>{_probability(row)}</td>"
            f"<td>{escape(row.get('risk_tier', ''))}</td>"
            + (
                f"<td class=n>{_money(row['value'], currency, 2)}</td>"
                f"<td class=n>{_money(row['revenue_at_risk'], currency, 2)}</td>"
                if valued
                else ""
            )
            + f"<td><ul>{_reason_items(row)}</ul></td>"
            f"<td>{escape(row.get('suggested_action', ''))}</td></tr>"
        )
    return f"<table>{head}{''.join(body)}</table>"


def _who(row: Mapping[str, Any]) -> tuple[str, str]:
    """A line's rank(s) and customer(s): one id with its status, or alike customers joined."""
    ids = row["customer_ids"]
    status = row.get("status") or ""
    if len(ids) == 1:
        who = escape(ids[0]) + (f" <span class=sub>({escape(status)})</span>" if status else "")
        return escape(row["first_rank"]), who
    shown = ", ".join(escape(i) for i in ids[:5]) + (", ..." if len(ids) > 5 else "")
    who = f"<b>{len(ids):,} {escape(status)} customers</b> alike: {shown}"
    return f"{row['first_rank']}&ndash;{row['last_rank']}", who


def _probability(row: Mapping[str, Any]) -> str:
    """A line's churn probability, or its range when alike customers differ."""
    low, high = row["probability_low"], row["probability_high"]
    if f"{low:.1%}" == f"{high:.1%}":
        return number(high, "{:.1%}")
    return f"{number(low, '{:.1%}')}&ndash;{number(high, '{:.1%}')}"


def _reason_items(row: Mapping[str, Any]) -> str:
    """A line's reasons as list items tagged with their driver group ('-' without any)."""
    reasons = []
    for i in (1, 2, 3):
        text = row.get(f"reason_{i}")
        if isinstance(text, str) and text:
            tag = _group_tag(row.get(f"reason_group_{i}"))
            reasons.append(f"<li>{tag} {escape(text)}</li>")
    return "".join(reasons) or "<li>-</li>"


def _tiers_text(at_risk: pd.DataFrame) -> str:
    """How the risk tiers were made and how ties are ordered, one paragraph."""
    from ._export import tier_meanings

    tiers = at_risk.attrs.get("tiers")
    order = (
        "Customers are ranked by churn probability"
        + (
            "; equal probabilities (to 0.1 point) by revenue at risk"
            if "revenue_at_risk" in at_risk.columns
            else ""
        )
        + ". Consecutive customers who read alike share one line."
    )
    if not tiers:
        return f"<p>{order}</p>"
    said = "; ".join(
        f"<b>{escape(name)}</b>: {escape(text)}"
        for name, text in tier_meanings(tiers, at_risk.attrs.get("base_rate")).items()
    )
    return f"<p id=tiers>Risk tiers: {said}. {order}</p>"


def _groups_table(
    actions: pd.DataFrame, importance: pd.Series | None, at_risk: pd.DataFrame, top: int
) -> str:
    from ._actions import group_meanings
    from ._export import list_kind

    meanings = group_meanings(list_kind(at_risk))
    share = _main_reason_share(at_risk, top)
    statuses = [s for s in STATUSES if "status" in at_risk and (at_risk["status"] == s).any()]
    statuses = statuses or ["active"]
    n_top = min(top * 10, len(at_risk))
    order = [g for g in (importance.index if importance is not None else []) if g in meanings]
    order += [g for g in meanings if g not in order]
    rows = []
    for group in order:
        weight = importance.get(group) if importance is not None else None
        said = "".join(
            f"<td>{escape(actions.loc[group, s] if group in actions.index else '')}</td>"
            for s in statuses
        )
        rows.append(
            f"<tr><td>{_group_tag(group)}</td><td>{escape(meanings.get(group, ''))}</td>"
            f"<td class=n>{number(weight, '{:.0%}')}</td>"
            f"<td class=n>{number(share.get(group, 0.0), '{:.0%}')}</td>{said}</tr>"
        )
    heads = "".join(f"<th>suggested action ({escape(s)})</th>" for s in statuses)
    return (
        "<table><tr><th>driver group</th><th>what it means</th><th>share of model "
        f"importance</th><th>main reason in the top {n_top:,}</th>{heads}"
        f"</tr>{''.join(rows)}</table>"
    )


def _main_reason_share(at_risk: pd.DataFrame, top: int) -> pd.Series:
    """Share of each driver group as the main reason in the first ``top x 10`` of the list."""
    if "reason_group_1" not in at_risk.columns or not len(at_risk):
        return pd.Series(dtype=float)
    head = at_risk.head(top * 10)["reason_group_1"]
    return head[head.astype(str) != ""].value_counts(normalize=True)


def _drift_section(drift: Mapping[str, Any] | None, figures: str, n: int = 15) -> str:
    """Drift table (score and the most shifted features) with its plot."""
    from ._drift import drift_frame, drift_messages

    if drift is None:
        return (
            "<section id=drift><h2>Has the population changed since training?</h2>"
            '<p class="note">No customer was scored, so drift is not measured.</p></section>'
        )
    limits = drift["thresholds"]
    frame = drift_frame(drift).head(n)
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(r['kind'])}</td>"
        f"<td class=n>{number(r['psi'], '{:.3f}')}</td><td>{escape(r['level'])}</td>"
        f"<td class=n>{number(r['missing_share_reference'], '{:.1%}')} &rarr; "
        f"{number(r['missing_share'], '{:.1%}')}</td><td>{escape(r['unseen_categories'])}</td></tr>"
        for name, r in frame.to_dict("index").items()
    )
    messages = drift_messages(drift)
    lead = (
        "".join(f'<p class="note">{escape(m)}</p>' for m in messages)
        if messages
        else f"<p>No feature and not the score moved past the notice threshold "
        f"(PSI {limits['notice']:g}).</p>"
    )
    return (
        f"<section id=drift><h2>Has the population changed since training?</h2>"
        f"<p>Population stability index (PSI) of each feature and of the churn probability, "
        f"scored population against the training rows ({escape(drift.get('binning', ''))}). "
        f"Below {limits['notice']:g}: no real change; {limits['notice']:g} to "
        f"{limits['warn']:g}: a moderate shift worth a look; {limits['warn']:g} and above: a "
        f"major shift: check the data feed, then recalibrate or retrain.</p>{lead}"
        f"<table><tr><th>feature</th><th>kind</th><th>PSI</th><th>level</th>"
        f"<th>missing (training &rarr; now)</th><th>categories not seen in training</th></tr>"
        f"{rows}</table>{figures}</section>"
    )


def _base_rate_check(
    pipeline: Any, data: Any, evaluation: Any
) -> tuple[dict[str, Any], pd.Timestamp] | None:
    """Mean predicted probability against the observed churn rate, on the evaluation's
    cutoff, else on the latest complete cutoff when it is past the training window."""
    from ._evaluate import base_rate_check

    if evaluation is None:
        if data.is_snapshot or getattr(pipeline, "as_of_", None) is None:
            return None
        cutoff = (data.time_range[1] - _horizon(pipeline)).floor("D")
        if cutoff < pipeline.as_of_:  # inside the training window: no fair check
            return None
        evaluation = evaluate_at(pipeline, data, cutoff)
    scores = evaluation.scores
    return base_rate_check(scores["churned"], scores["churn_probability"]), evaluation.as_of


def _base_rate_text(base_rate: tuple[dict[str, Any], pd.Timestamp] | None) -> str:
    if base_rate is None:
        return ""
    check, cutoff = base_rate
    css = "" if check["ok"] else ' class="note"'
    return (
        f"<p id=base-rate{css}><b>Base rate</b> on the customers active on "
        f"{cutoff:%Y-%m-%d} (the latest cutoff checked): {escape(check['message'])}.</p>"
    )


def _profit_text(
    curve: pd.DataFrame | None,
    n_customers: int,
    contact_cost: float,
    save_rate: float,
    months: float,
    value_note: str,
    currency: str = "",
) -> str:
    if curve is None:
        if value_note == NO_VALUE_NOTE:  # a log of use: nothing here is money
            return f'<p class="note">{escape(value_note[0].upper() + value_note[1:])}.</p>'
        return f'<p class="note">The profit view needs customer revenue (MRR); {value_note}</p>'
    best = int(curve.attrs.get("optimal_list_size", curve["expected_profit"].idxmax()))
    assumptions = (
        f"Assuming a contact costs <b>{_money(contact_cost, currency, 2)}</b>, keeps "
        f"<b>{save_rate:.0%}</b> of the customers who would have churned, and a kept customer "
        + (
            f"is worth their MRR x {months:.1f} months (the horizon)"
            if curve.attrs.get("value", "mrr") == "mrr"
            else "is worth the spend expected from them over the horizon"
        )
    )
    how = (
        "Set your own figures with <code>contact_cost</code> and <code>save_rate</code> "
        "in the <code>[report]</code> table of the config file."
    )
    if best == 0:
        gain = curve["expected_saved_revenue"].diff().max()
        return (
            f"<p>{assumptions}, no contact pays for itself: the largest expected saving "
            f"from one customer is {_money(gain, currency, 2)}, below the contact cost. "
            f"{value_note} {how}</p>"
        )
    row = curve.loc[best]
    everyone = curve.iloc[-1]
    floor = row["min_probability"]
    text = (
        f"<p>{assumptions}, the expected profit is highest when you contact the top "
        f"<b>{best:,}</b> of {n_customers:,} customers"
    )
    if not pd.isna(floor):
        text += f" (churn probability {floor:.1%} and above)"
    text += (
        f": expected profit <b>{_money(row['expected_profit'], currency)}</b> "
        f"({_money(row['expected_saved_revenue'], currency)} revenue kept for "
        f"{_money(row['cost'], currency)} in contacts). Contacting everyone would yield "
        f"{_money(everyone['expected_profit'], currency)}. {value_note} {how}</p>"
    )
    return text


# ---------------------------------------------------------------------------- writing
def write_report(
    pipeline: Any,
    data: Any,
    as_of: Any,
    out_dir: str | os.PathLike,
    *,
    scores: pd.DataFrame | None = None,
    evaluation: Any = None,
    contact_cost: float = 10.0,
    save_rate: float = 0.2,
    top: int = 20,
    actions: Mapping[str, str] | None = None,
    tiers: Mapping[str, float] | None = None,
    title: str = "Churn risk report",
    drift: Mapping[str, Any] | None = None,
    options: Any = None,
) -> Path:
    """Write ``report.html`` and its PNG plots to ``out_dir``.

    Parameters
    ----------
    pipeline : ChurnPipeline
        Fitted.
    data : EventData
    as_of : timestamp-like
        Date of the at-risk list (customers active then are scored).
    out_dir : path-like
        Created if needed; ``report.html`` and one PNG per plot are written there atomically.
    scores : pandas.DataFrame, optional
        ``pipeline.score(data, as_of, explain=True)`` if already computed.
    evaluation : churnpredict._evaluate.Evaluation, optional
        Scores and outcomes at an earlier cutoff (see :func:`evaluate_at`). When None and the
        data covers one horizon after ``as_of``, the pipeline is evaluated at ``as_of``;
        otherwise the report has no accuracy section.
    contact_cost : float, default 10.0
        Cost of contacting one customer (call, offer), in the currency of MRR.
    save_rate : float, default 0.2
        Share of would-be churners a contact keeps.
    top : int, default 20
        Lines of the at-risk list shown; consecutive customers who read alike (same status,
        tier, action and reasons but for their numbers) share a line
        (:func:`churnpredict._alike.alike_groups`).
    actions : mapping, optional
        Suggested-action overrides (:func:`churnpredict._actions.action_table`).
    tiers : mapping, optional
        Risk tiers of the list, as in :func:`churnpredict._export.at_risk_list`.
    title : str
    drift : dict, optional
        Drift summary of the scored population (:meth:`ChurnPipeline.drift`); by default
        ``scores.attrs["drift"]`` when present, else measured here against the pipeline's
        training reference.
    options : churnpredict._export.ListOptions, optional
        How the report's at-risk list is ranked, tiered and annotated (the same object the
        command line and :func:`~churnpredict._export.at_risk_list` take), instead of
        ``actions`` and ``tiers``. ``top`` stays the number of rows shown.

    Returns
    -------
    pathlib.Path
        The path of ``report.html``.

    Notes
    -----
    The profit view follows the expected-maximum-profit idea: contacting customer ``i`` costs
    ``contact_cost`` and keeps them with probability ``churn_probability x save_rate``, worth
    ``mrr x`` the horizon in months; the list size with the highest expected profit is shown.
    ``out_dir`` must be new, empty or a report folder churnpredict wrote (it holds the marker
    of :mod:`churnpredict._folders`); plot files of an earlier report there that this one does
    not draw are removed.

    The page also compares the mean predicted probability with the observed churn rate (on
    the evaluation's cutoff, else on the latest complete cutoff when it lies past the
    training window; :func:`churnpredict._evaluate.base_rate_check`) and shows the drift of
    the scored population against training (:mod:`churnpredict._drift`): a table of the
    score and the most shifted features, and a PSI plot.
    """
    from ._actions import action_table
    from ._export import at_risk_list, list_kind
    from ._list_options import options_or_keywords

    out = Path(out_dir)
    _check_report_arguments(out, options, contact_cost, save_rate, top)
    as_of = to_naive_utc(as_of)
    horizon = _horizon(pipeline)
    months = horizon_months(horizon)
    if scores is None:
        scores = pipeline.score(data, as_of, explain=True, progress=False)
    if evaluation is None and as_of + horizon <= data.time_range[1]:
        evaluation = evaluate_at(pipeline, data, as_of)
    kind = list_kind(scores)
    options = options_or_keywords(options, actions=actions, tiers=tiers)
    action_map = action_table(kind, options.actions)
    at_risk = at_risk_list(scores, horizon=horizon, options=options)
    currency = str(getattr(pipeline, "currency", "") or "")

    X = pipeline.features(data, as_of, progress=False)
    shap = _contributions(pipeline, X)
    if drift is None:
        drift = scores.attrs.get("drift")
    if drift is None and getattr(pipeline, "reference_", None) is not None and len(X):
        drift = population_drift(pipeline.reference_, X, pipeline.model_.predict_proba(X)[:, 1])
    curve, value_note = _profit_view(
        scores, at_risk, horizon, contact_cost=contact_cost, save_rate=save_rate
    )

    plots = _make_plots(evaluation, shap, at_risk, curve, top, drift)
    page = _page(
        title=title,
        as_of=as_of,
        horizon=horizon,
        pipeline=pipeline,
        scores=scores,
        at_risk=at_risk,
        evaluation=evaluation,
        plots=plots,
        curve=curve,
        importance=None if shap is None else shap.group_share(),
        actions=action_map,
        top=top,
        contact_cost=contact_cost,
        save_rate=save_rate,
        months=months,
        value_note=value_note,
        drift=drift,
        base_rate=_base_rate_check(pipeline, data, evaluation),
        currency=currency,
    )
    return _write_report_files(out, plots, page)


def _check_report_arguments(
    out: Path, options: Any, contact_cost: float, save_rate: float, top: int
) -> None:
    """Refuse bad arguments and an unusable folder before any work."""
    from ._folders import check_output_folder
    from ._list_options import ListOptions

    if options is not None and not isinstance(options, ListOptions):
        raise TypeError(f"options must be a ListOptions, got {type(options).__name__}")
    if out.exists() and not out.is_dir():
        raise ChurnDataError(f"{out}: is a file; the report needs a directory")
    check_output_folder(out, "report")  # new, empty or a report folder
    if not 0 <= save_rate <= 1:
        raise ValueError(f"save_rate={save_rate!r}; expected a share in [0, 1]")
    if contact_cost < 0:
        raise ValueError(f"contact_cost={contact_cost!r}; expected a cost >= 0")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"top={top!r}; expected a whole number >= 1")


def _profit_view(
    scores: pd.DataFrame,
    at_risk: pd.DataFrame,
    horizon: pd.Timedelta,
    *,
    contact_cost: float,
    save_rate: float,
) -> tuple[pd.DataFrame | None, str]:
    """The expected-profit curve (None without any known value) and a note on missing values."""
    from ._evaluate import profit_curve_from_scores
    from ._export import list_kind

    purchases = list_kind(scores) == "purchases"
    what = "expected spend" if purchases else "MRR"
    mrr = pd.to_numeric(
        scores.get("expected_spend" if purchases else "mrr", pd.Series(np.nan, index=scores.index)),
        errors="coerce",
    )
    if "revenue_at_risk" not in at_risk.columns:  # a log of use that holds no value
        return None, NO_VALUE_NOTE
    if not mrr.notna().any():
        return None, f"no {what} is known for these customers, so the profit view is left out."
    curve = profit_curve_from_scores(
        scores, horizon, contact_cost=contact_cost, save_rate=save_rate
    )
    if mrr.isna().any():
        return curve, f"{int(mrr.isna().sum()):,} customers without known {what} count as worth 0."
    return curve, ""


def _write_report_files(out: Path, plots: Sequence[Plot], page: str) -> Path:
    """Write the plots and the page atomically; remove plots an earlier report left there."""
    from ._folders import mark_output_folder

    mark_output_folder(out, "report")
    for plot in plots:
        write_page(out / f"{plot.stem}.png", plot.png)
    drawn = {plot.stem for plot in plots}
    for stem in set(REPORT_PLOTS) - drawn:  # left over from an earlier report
        (out / f"{stem}.png").unlink(missing_ok=True)
    target = out / "report.html"
    write_page(target, page.encode("utf-8"))
    return target


def _page(
    *,
    title: str,
    as_of: pd.Timestamp,
    horizon: pd.Timedelta,
    pipeline: Any,
    scores: pd.DataFrame,
    at_risk: pd.DataFrame,
    evaluation: Any,
    plots: Sequence[Plot],
    curve: pd.DataFrame | None,
    importance: pd.Series | None,
    actions: pd.DataFrame,
    top: int,
    contact_cost: float,
    save_rate: float,
    months: float,
    value_note: str,
    drift: Mapping[str, Any] | None = None,
    base_rate: tuple[dict[str, Any], pd.Timestamp] | None = None,
    currency: str = "",
) -> str:
    from ._version import __version__

    figs = {p.stem: p for p in plots}

    def figures(*stems: str) -> str:
        shown = [figure_html(figs[s]) for s in stems if s in figs]
        return f'<div class="grid">{"".join(shown)}</div>' if shown else ""

    valued = "revenue_at_risk" in at_risk.columns
    total_risk = (
        float(at_risk["revenue_at_risk"].sum(min_count=1)) if len(at_risk) and valued else math.nan
    )
    parts = [
        f"<header><h1>{escape(title)}</h1><p class=sub>Customers active on "
        f"<b>{as_of:%Y-%m-%d}</b>, churn within the next <b>{horizon.days} days</b>. "
        f"{len(scores):,} customers scored; expected churners "
        f"{number(float(scores['churn_probability'].sum()), '{:,.0f}')}"
        + (
            f"; revenue at risk {_money(total_risk, currency)}"
            f"{'' if currency else ' (amount; no currency set)'}"
            if valued
            else ""
        )
        + ".</p></header>",
    ]
    if evaluation is not None:
        parts += [
            f"<section id=accuracy><h2>How well the model ranks churners</h2>"
            f"<p>Checked on the customers active on <b>{evaluation.as_of:%Y-%m-%d}</b> against "
            f"what happened in the following {horizon.days} days (the model did not see those "
            f"outcomes).</p>{_cards(evaluation.metrics)}{_base_rate_text(base_rate)}"
            f"{figures('gains', 'lift', 'precision_recall', 'calibration')}</section>"
        ]
    else:
        parts.append(
            '<p class="note">The outcomes after this date are not known yet, so the '
            "accuracy section is left out; run <code>churnpredict evaluate</code> on "
            "an earlier date to check the model.</p>"
        )
        parts.append(_base_rate_text(base_rate))
    parts += [
        f"<section id=list><h2>Who to contact first: the top of {len(at_risk):,}</h2>"
        f"{_tiers_text(at_risk)}{_top_table(at_risk, top, currency)}</section>",
        f"<section id=profit><h2>How many to contact</h2>"
        f"{_profit_text(curve, len(scores), contact_cost, save_rate, months, value_note, currency)}"
        f"{figures('profit', 'score_distribution')}</section>",
        f"<section id=drivers><h2>Why customers churn</h2>"
        f"{figures('importance_groups', 'driver_mix', 'importance_features', 'waterfall')}"
        f"<h3>Driver groups and what to do</h3>{_groups_table(actions, importance, at_risk, top)}"
        f"</section>",
        _drift_section(drift, figures("drift")),
        f"<footer>churnpredict {escape(__version__)}; horizon {horizon.days} days; "
        f"label {escape(getattr(pipeline, 'label_kind_', ''))}. Probabilities are calibrated on "
        f"the latest training cutoffs. Plots are also saved as PNG files next to this page."
        f"</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} {as_of:%Y-%m-%d}</title><style>{PAGE_CSS}</style></head>"
        f"<body><main>{''.join(parts)}</main></body></html>\n"
    )
