"""Holdout groups at scoring and campaign readouts against them."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import churnpredict as cp
from churnpredict import cli
from churnpredict._campaign import newcombe_interval, read_list, wilson_interval, write_campaign
from churnpredict._outputs import manifest_path

AS_OF = pd.Timestamp("2024-10-01")
HORIZON = "56D"
END = AS_OF + pd.Timedelta(HORIZON)


# ------------------------------------------------------------------------------ intervals
@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (0, 10, 0, 10, -0.2775, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0000),
        (10, 10, 0, 10, 0.6075, 1.0000),
    ],
)
def test_newcombe_interval_matches_the_papers_worked_examples(x1, n1, x2, n2, low, high):
    got = newcombe_interval(x1, n1, x2, n2)
    assert got == pytest.approx((low, high), abs=5e-5)


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857-872, Table I, Wilson score method
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
    ],
)
def test_wilson_interval_matches_the_papers_worked_examples(x, n, low, high):
    assert wilson_interval(x, n) == pytest.approx((low, high), abs=5e-5)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(
    st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
)
def test_intervals_hold_their_estimates(first, second):
    (x1, n1), (x2, n2) = first, second
    low, high = wilson_interval(x1, n1)
    assert 0.0 <= low <= x1 / n1 <= high <= 1.0
    assert (low == 0.0) == (x1 == 0) and (high == 1.0) == (x1 == n1)
    d_low, d_high = newcombe_interval(x1, n1, x2, n2)
    assert -1.0 <= d_low <= x1 / n1 - x2 / n2 <= d_high <= 1.0
    # swapping the groups mirrors the interval
    assert newcombe_interval(x2, n2, x1, n1) == pytest.approx((-d_high, -d_low), abs=1e-12)
    # a wider level gives a wider interval
    w_low, w_high = newcombe_interval(x1, n1, x2, n2, level=0.99)
    assert w_low <= d_low + 1e-12 and w_high >= d_high - 1e-12


def test_intervals_refuse_impossible_counts():
    with pytest.raises(ValueError, match="0 <= x <= n"):
        wilson_interval(5, 3)
    with pytest.raises(ValueError, match="level"):
        newcombe_interval(1, 10, 2, 10, level=1.5)


# ------------------------------------------------------------------------------ holdout
def _scores(n: int = 1003, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    scores = pd.DataFrame(
        {"churn_probability": rng.random(n), "mrr": rng.random(n) * 100},
        index=pd.Index([f"c{i:04d}" for i in range(n)], name="customer_id"),
    )
    scores.attrs = {"horizon": "28D", "as_of": "2024-10-01T00:00:00", "model_id": "m-1"}
    return scores


@pytest.mark.parametrize("share", [0.2, 0.37, 0.5])
def test_control_share_is_the_same_in_every_tier(share):
    listed = cp.at_risk_list(_scores(), holdout=share, random_state=11)
    counts = listed.groupby("risk_tier")["group"].value_counts().unstack(fill_value=0)
    size = counts.sum(axis=1)
    assert (abs(counts["control"] - share * size) <= 1).all()
    assert set(listed["group"]) == {"treatment", "control"}
    assert listed.attrs["holdout_share"] == share and listed.attrs["holdout_seed"] == 11


def test_holdout_is_reproducible_from_the_seed():
    a = cp.at_risk_list(_scores(), holdout=0.2, random_state=11)
    b = cp.at_risk_list(_scores(), holdout=0.2, random_state=11)
    c = cp.at_risk_list(_scores(), holdout=0.2, random_state=12)
    assert a["group"].tolist() == b["group"].tolist()
    assert a["group"].tolist() != c["group"].tolist()
    drawn = cp.at_risk_list(_scores(), holdout=0.2)  # a seed is drawn and recorded
    again = cp.at_risk_list(_scores(), holdout=0.2, random_state=drawn.attrs["holdout_seed"])
    assert drawn["group"].tolist() == again["group"].tolist()


def test_holdout_within_a_filtered_list_and_bad_options():
    listed = cp.at_risk_list(_scores(), holdout=0.25, random_state=3, top=101)
    counts = listed.groupby("risk_tier")["group"].value_counts().unstack(fill_value=0)
    assert (abs(counts["control"] - 0.25 * counts.sum(axis=1)) <= 1).all()
    for bad in (0.0, 1.0, -0.1, True):
        with pytest.raises(ValueError, match="holdout"):
            cp.at_risk_list(_scores(), holdout=bad)
    with pytest.raises(ValueError, match="give holdout too"):
        cp.at_risk_list(_scores(), random_state=3)
    assert "group" not in cp.at_risk_list(_scores()).columns


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx"])
def test_list_files_remember_the_holdout(tmp_path, suffix):
    if suffix == ".xlsx":
        pytest.importorskip("openpyxl")
    listed = cp.at_risk_list(_scores(), holdout=0.2, random_state=11)
    path = cp.write_at_risk(listed, tmp_path / f"at_risk{suffix}")
    back = read_list(path)
    assert back["group"].tolist() == listed["group"].tolist()
    assert back["customer_id"].tolist() == listed["customer_id"].tolist()
    attrs = back.attrs
    assert (attrs["as_of"], attrs["horizon"], attrs["model_id"]) == (
        "2024-10-01T00:00:00",
        "28D",
        "m-1",
    )
    assert float(attrs["holdout_share"]) == 0.2 and int(attrs["holdout_seed"]) == 11
    if suffix == ".csv":
        manifest = json.loads(manifest_path(path).read_text(encoding="utf-8"))
        assert manifest["holdout_share"] == 0.2 and manifest["holdout_seed"] == 11


# ------------------------------------------------------------------------------ readout
@pytest.fixture(scope="module")
def campaign():
    """A list scored with a 50% holdout; 30% of the treated would-be churners stay."""
    data = cp.make_subscription_data(
        n_customers=8000, random_state=5, churn_scale=4.0, start="2024-01-01"
    )
    pipe = cp.ChurnPipeline(
        horizon=HORIZON,
        n_cutoffs=6,
        cutoff_freq="28D",
        model=cp.ChurnModel(n_estimators=40, n_jobs=1),
    )
    pipe.fit(data, as_of=AS_OF)
    listed = cp.at_risk_list(pipe.score(data, AS_OF, explain=False), holdout=0.5, random_state=11)
    customers = data.customers.copy()
    would = customers["churned_at"].between(AS_OF, END, inclusive="right")
    treated = customers["customer_id"].isin(
        listed.loc[listed["group"] == "treatment", "customer_id"]
    )
    candidates = customers.index[would & treated]
    rng = np.random.default_rng(7)
    kept = rng.choice(candidates, size=round(0.3 * len(candidates)), replace=False)
    customers.loc[kept, "churned_at"] = pd.NaT
    customers.loc[kept, "churn_type"] = None
    after = cp.EventData(
        customers, activity=data.activity, payments=data.payments, tickets=data.tickets
    )
    n_treated = int((listed["group"] == "treatment").sum())
    truth = {"lift": len(kept) / n_treated, "kept": set(customers.loc[kept, "customer_id"])}
    return data, after, listed, truth


def test_readout_finds_the_known_effect(campaign):
    data, after, listed, truth = campaign
    out = cp.campaign_readout(listed, after, as_of=END)
    assert out["ci_low"] <= truth["lift"] <= out["ci_high"]
    assert out["ci_low"] > 0
    assert out["retention_lift"] == pytest.approx(
        out["churn_rate_control"] - out["churn_rate_treatment"]
    )
    assert out["n_treatment"] + out["n_control"] == len(listed) and out["n_unmatched"] == 0
    assert out["customers_saved"] == pytest.approx(out["retention_lift"] * out["n_treatment"])
    # the counts come from the churn definition: treated churners = would-be minus kept
    outcome = cp.label_churn(after, [AS_OF], HORIZON, as_of=END).droplevel("cutoff")
    treated = listed.loc[listed["group"] == "treatment", "customer_id"]
    assert out["churned_treatment"] == int(outcome.loc[treated, "churned"].sum())
    revenue = listed.loc[listed["group"] == "treatment", "revenue_at_risk"].sum()
    assert out["revenue_saved"] == pytest.approx(
        revenue * out["retention_lift"] / out["churn_rate_control"]
    )
    assert list(out["tiers"]) == ["high", "medium", "low"]
    high = out["tiers"]["high"]
    assert high["n_treatment"] + high["n_control"] == int((listed["risk_tier"] == "high").sum())
    assert high["ci_low"] > 0  # most would-be churners, so most saves, are at the top
    assert sum(t["n_control"] for t in out["tiers"].values()) == out["n_control"]


def test_readout_without_an_effect_includes_zero(campaign):
    data, _, listed, _ = campaign
    out = cp.campaign_readout(listed, data, as_of=END)
    assert out["ci_low"] < 0 < out["ci_high"]
    assert abs(out["retention_lift"]) < 0.03


def test_readout_before_the_horizon_ends_is_refused(campaign, tmp_path):
    data, after, listed, _ = campaign
    with pytest.raises(
        cp.ChurnDataError, match="churn is not known yet; read out on or after 2024-11-26"
    ):
        cp.campaign_readout(listed, after, as_of=END - pd.Timedelta(days=1))
    path = cp.write_at_risk(listed, tmp_path / "list.csv")
    folder = _data_dir(after, tmp_path / "data")
    result = CliRunner().invoke(
        cli.app,
        [
            "campaign",
            str(path),
            str(folder),
            "--as-of",
            "2024-11-20",
            "--out",
            str(tmp_path / "ro"),
        ],
    )
    assert result.exit_code == 2
    assert "read out on or after 2024-11-26" in result.output
    assert not (tmp_path / "ro").exists()


def test_a_list_without_its_manifest_needs_its_dates(campaign, tmp_path):
    _, after, listed, truth = campaign
    bare = listed.copy()
    bare.attrs = {}
    with pytest.raises(cp.ChurnDataError, match="does not record its horizon.*--horizon"):
        cp.campaign_readout(bare, after, as_of=END)
    with pytest.raises(cp.ChurnDataError, match="does not record its as-of.*--list-as-of"):
        cp.campaign_readout(bare, after, as_of=END, horizon=HORIZON)
    out = cp.campaign_readout(bare, after, as_of=END, horizon=HORIZON, list_as_of=AS_OF)
    assert out == cp.campaign_readout(listed, after, as_of=END) | {
        "model_id": None,
        "holdout_share": None,
        "holdout_seed": None,
        "label": "auto",
        "dates": "given",
    }
    with pytest.raises(cp.ChurnDataError, match="contradicts the list"):
        cp.campaign_readout(listed, after, as_of=END, horizon="28D")
    no_groups = listed.drop(columns="group")
    with pytest.raises(cp.ChurnDataError, match="--holdout"):
        cp.campaign_readout(no_groups, after, as_of=END)


def _data_dir(data, folder):
    folder.mkdir(parents=True)
    data.customers.to_parquet(folder / "customers.parquet")
    for name in ("activity", "payments", "tickets"):
        getattr(data, name).to_parquet(folder / f"{name}.parquet")
    return folder


def test_campaign_cli_writes_json_and_page(campaign, tmp_path):
    _, after, listed, truth = campaign
    path = cp.write_at_risk(listed, tmp_path / "lists" / "2024-10-01.csv")
    folder = _data_dir(after, tmp_path / "data")
    out = tmp_path / "readout"
    result = CliRunner().invoke(
        cli.app, ["campaign", str(path), str(folder), "--as-of", str(END.date()), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "campaign.json").read_text(encoding="utf-8"))
    direct = cp.campaign_readout(listed, after, as_of=END)
    for key in (
        "churn_rate_treatment",
        "churn_rate_control",
        "retention_lift",
        "ci_low",
        "ci_high",
        "customers_saved",
        "revenue_saved",
    ):
        assert saved[key] == pytest.approx(direct[key])
        assert saved["tiers"]["high"][key] == pytest.approx(direct["tiers"]["high"][key])
    assert saved["holdout_seed"] == 11 and saved["holdout_share"] == 0.5
    page = (out / "campaign.html").read_text(encoding="utf-8")
    assert 'id="fig-campaign_lift"' in page and (out / "campaign_rates.png").stat().st_size
    assert "retention lift" in result.output.lower()
    # a CSV without its manifest: refused with the fix, then accepted with the dates
    path.with_name("2024-10-01.manifest.json").unlink()
    result = CliRunner().invoke(
        cli.app, ["campaign", str(path), str(folder), "--as-of", str(END.date()), "--out", str(out)]
    )
    assert result.exit_code == 2 and "--horizon" in result.output
    result = CliRunner().invoke(
        cli.app,
        [
            "campaign",
            str(path),
            str(folder),
            "--as-of",
            str(END.date()),
            "--out",
            str(out),
            "--horizon",
            HORIZON,
            "--list-as-of",
            str(AS_OF.date()),
        ],
    )
    assert result.exit_code == 0, result.output


def test_campaign_page_escapes_text(tmp_path):
    readout = {
        "list_as_of": "2024-10-01T00:00:00",
        "horizon": "28D",
        "as_of": "2024-11-01",
        "model_id": "<script>alert(1)</script>",
        "holdout_share": 0.2,
        "holdout_seed": 1,
        "label": "cancellation",
        "level": 0.95,
        "interval_method": "x",
        "n_treatment": 80,
        "n_control": 20,
        "churned_treatment": 8,
        "churned_control": 4,
        "churn_rate_treatment": 0.1,
        "churn_rate_control": 0.2,
        "retention_lift": 0.1,
        "ci_low": -0.05,
        "ci_high": 0.3,
        "customers_saved": 8.0,
        "customers_saved_low": -4.0,
        "customers_saved_high": 24.0,
        "revenue_saved": 100.0,
        "revenue_saved_low": -50.0,
        "revenue_saved_high": 300.0,
        "n_unmatched": 0,
        "tiers": {
            "<b>vip</b>": {
                "n_treatment": 80,
                "n_control": 20,
                "churned_treatment": 8,
                "churned_control": 4,
                "churn_rate_treatment": 0.1,
                "churn_rate_control": 0.2,
                "retention_lift": 0.1,
                "ci_low": -0.05,
                "ci_high": 0.3,
                "customers_saved": 8.0,
                "revenue_saved": 100.0,
            }
        },
    }
    page = write_campaign(readout, tmp_path).read_text(encoding="utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "<b>vip</b>" not in page and "&lt;b&gt;vip&lt;/b&gt;" in page


# ------------------------------------------------------------------------------ README
@pytest.mark.slow
def test_readme_weekly_loop_runs(tmp_path, monkeypatch):
    """The weekly-loop commands of README.md, on the bundled sample (a small model)."""
    import re
    import shlex
    from pathlib import Path

    from churnpredict.datasets import load_sample, sample_path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## The weekly loop", 1)[1]
    block = re.findall(r"```bash\n(.*?)```", section, flags=re.S)[0]
    commands = [line for line in block.splitlines() if line.startswith("churnpredict")]
    assert [c.split()[1] for c in commands] == ["score", "campaign", "recalibrate"]
    monkeypatch.chdir(tmp_path)
    pipe = cp.ChurnPipeline(model=cp.ChurnModel(n_estimators=40, n_jobs=1), n_cutoffs=4)
    pipe.fit(load_sample(), as_of="2024-12-01").save(tmp_path / "models" / "churn")
    runner = CliRunner()
    for command in commands:
        args = [str(sample_path()) if a == "data/sample" else a for a in shlex.split(command)[1:]]
        result = runner.invoke(cli.app, args)
        assert result.exit_code == 0, (command, result.output)
    listed = read_list(tmp_path / "lists" / "2024-12-02.csv")
    assert listed.attrs["holdout_seed"] == 11 and listed.attrs["holdout_share"] == 0.2
    assert (tmp_path / "lists" / "2024-12-02.drift.json").is_file()  # one per list
    readout = json.loads(
        (tmp_path / "readouts" / "2024-12-02" / "campaign.json").read_text(encoding="utf-8")
    )
    assert readout["n_treatment"] + readout["n_control"] == len(listed)
    assert cp.ChurnPipeline.load(tmp_path / "models" / "churn").model_id_ != pipe.model_id_


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("as_of", "garbage", "as_of = 'garbage'"),
        ("as_of", 5, "as_of = 5"),
        ("horizon", "xyz", "horizon = 'xyz'"),
        ("label", "weird", "label = 'weird'"),
        ("lookback", "zzz", "lookback 'zzz'"),
        ("holdout_seed", "abc", "holdout_seed = 'abc'"),
        ("holdout_share", "abc", "holdout_share = 'abc'"),
    ],
)
def test_damaged_list_metadata_is_a_data_error(campaign, key, value, message):
    _, after, listed, _ = campaign
    damaged = listed.copy()
    damaged.attrs = {**listed.attrs, key: value}
    with pytest.raises(cp.ChurnDataError, match=re.escape(message)):
        cp.campaign_readout(damaged, after, as_of=END)


@pytest.mark.parametrize(
    "name, content",
    [
        ("list.csv", b'customer_id,group\n"1,treatment\n'),
        ("list.parquet", b"PAR1 not parquet"),
        ("list.xlsx", b"not a zip file"),
    ],
)
def test_damaged_list_files_are_a_data_error_naming_the_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(cp.ChurnDataError, match=re.escape(name)):
        cp.read_list(path)
