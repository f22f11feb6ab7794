"""Regression tests of the third trust review: one or more per finding, named by its number.

1 folders replaced by file names; 2 code run from a bundle (tests/test_bundle.py); 3 Excel
ids; 4 float ids; 5 config durations; 6 readouts that do not check their list; 7 duplicated
customers in a readout; 8 unbounded bundle reads; 9 side files; 10 ``--out`` naming an
input; 11 a save undoing a concurrent one; 12 exit 1 for bad input; 14 Dask errors.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from churnpredict import cli
from churnpredict._exceptions import ChurnDataError, DataQualityWarning
from churnpredict._folders import MARKER, check_output_folder, folder_kind, mark_output_folder

runner = CliRunner()


def invoke(*args):
    return runner.invoke(cli.app, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result, *fragments):
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("churnpredict: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def scores():
    """Six scored customers: probabilities, MRR and one reason each."""
    return pd.DataFrame(
        {
            "churn_probability": [0.9, 0.8, 0.6, 0.4, 0.2, 0.1],
            "mrr": [100.0, 50.0, 20.0, 10.0, 5.0, 1.0],
            "reason_1": ["a", "b", "c", "d", "e", "f"],
            "reason_group_1": ["support"] * 6,
        },
        index=pd.Index([f"c{i}" for i in range(6)], name="customer_id"),
    )


# ---------------------------------------------------------------- 1: folders by marker
@pytest.fixture
def foreign(tmp_path):
    """A folder of someone's files whose names the old rule took for ours: Parquet input
    tables and an ``_archive`` folder."""
    folder = tmp_path / "tables"
    (folder / "_archive").mkdir(parents=True)
    (folder / "_archive" / "thesis.docx").write_bytes(b"four years of work")
    pd.DataFrame({"customer_id": ["a"], "signup_at": ["2024-01-01"]}).to_parquet(
        folder / "customers.parquet"
    )
    return folder


def test_1_ranked_parquet_list_never_replaces_a_folder_it_did_not_write(foreign, scores):
    dd = pytest.importorskip("dask.dataframe")
    from churnpredict.dask import write_at_risk_dask

    before = snapshot(foreign)
    lazy = dd.from_pandas(scores.reset_index(), npartitions=2)
    with pytest.raises(ChurnDataError, match="churnpredict did not write it"):
        write_at_risk_dask(lazy, horizon="28D", ranked_out=foreign)
    assert snapshot(foreign) == before
    # a folder it wrote (the marker) is replaced; the new one carries the marker again
    out = foreign.parent / "ranked"
    write_at_risk_dask(lazy, horizon="28D", ranked_out=out)
    (out / "stale.parquet").write_bytes(b"")  # gone with the swap
    write_at_risk_dask(lazy, horizon="28D", ranked_out=out)
    assert folder_kind(out) == "ranked-list" and not (out / "stale.parquet").exists()
    assert len(pd.read_parquet(out)) == len(scores)


@pytest.mark.parametrize("kind", ["report", "campaign", "ranked-list", "demo"])
def test_1_output_folders_are_recognised_by_their_marker(tmp_path, foreign, kind):
    with pytest.raises(ChurnDataError, match="churnpredict did not write it"):
        check_output_folder(foreign, kind)
    (tmp_path / "empty").mkdir()
    assert check_output_folder(tmp_path / "empty", kind) == tmp_path / "empty"
    assert check_output_folder(tmp_path / "new", kind) == tmp_path / "new"
    mark_output_folder(foreign, kind)
    assert check_output_folder(foreign, kind) == foreign
    other = next(k for k in ("report", "campaign") if k != kind)
    with pytest.raises(ChurnDataError, match="not "):
        check_output_folder(foreign, other)
    # a marker file someone else wrote (not churnpredict's JSON) does not count
    (foreign / MARKER).write_text("anything")
    assert folder_kind(foreign) is None


def test_1_cli_report_and_readout_refuse_foreign_folders_before_any_work(tmp_path, foreign):
    before = snapshot(foreign)
    result = invoke("evaluate", tmp_path / "no-data", "--model", tmp_path / "no-model",
                    "--as-of", "2024-01-01", "--report", foreign)  # fmt: skip
    one_line_error(result, "--report", "churnpredict did not write it")
    listed = tmp_path / "list.csv"
    listed.write_text("customer_id,group\nc1,control\n")
    result = invoke("campaign", listed, tmp_path / "no-data", "--as-of", "2024-01-01",
                    "--out", foreign)  # fmt: skip
    one_line_error(result, "--out", "churnpredict did not write it")
    result = invoke("demo", "--out", foreign)
    one_line_error(result, "--out", "churnpredict did not write it")
    assert snapshot(foreign) == before


# ---------------------------------------------------------------- 3: Excel ids are text
def test_3_excel_ids_above_2_to_the_53_come_back_exactly(tmp_path):
    import openpyxl

    from churnpredict._campaign import read_list
    from churnpredict._export import at_risk_list, write_at_risk

    ids = np.array([2**53 + 1, 2**53, 7], dtype=np.int64)
    scores = pd.DataFrame(
        {"churn_probability": [0.9, 0.8, 0.1], "mrr": [1.0, 2.0, 3.0]},
        index=pd.Index(ids, name="customer_id"),
    )
    path = write_at_risk(at_risk_list(scores), tmp_path / "ids.xlsx")
    sheet = openpyxl.load_workbook(path)["at_risk"]
    cells = [sheet.cell(row=r, column=2) for r in range(2, 5)]
    assert [c.value for c in cells] == ["9007199254740993", "9007199254740992", "7"]
    assert all(c.data_type == "s" and c.number_format == "@" for c in cells)
    assert read_list(path)["customer_id"].tolist() == [str(i) for i in ids]


# ---------------------------------------------------------------- 4: float ids
def test_4_json_lines_ids_are_read_exactly_as_written(tmp_path):
    from churnpredict import EventData

    (tmp_path / "customers.jsonl").write_text(
        '{"customer_id": 9007199254740993, "signup_at": "2024-01-01"}\n'
        '{"customer_id": 9007199254740992, "signup_at": "2024-01-01"}\n'
        '{"customer_id": "007", "signup_at": "2024-01-01"}\n'
    )
    (tmp_path / "activity.jsonl").write_text(
        '{"customer_id": 9007199254740993, "timestamp": "2024-02-01"}\n'
        '{"customer_id": null, "timestamp": "2024-02-01"}\n'
    )
    with pytest.warns(DataQualityWarning, match="1 of 2 events have no customer id"):
        data = EventData.from_directory(tmp_path)  # the null made pandas read floats
    assert data.activity["customer_id"].tolist() == ["9007199254740993"]  # ids stay exact
    (tmp_path / "activity.jsonl").write_text(
        '{"customer_id": 9007199254740993, "timestamp": "2024-02-01"}\n'
    )
    data = EventData.from_directory(tmp_path)
    assert data.customers["customer_id"].tolist() == [
        "9007199254740993",
        "9007199254740992",
        "007",
    ]
    assert data.activity["customer_id"].tolist() == ["9007199254740993"]


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ('{"customer_id": 9007199254740994.0}', r"customer_id holds 1 number\(s\) with a decimal"),
        ('{"customer_id": 1e3}', "decimal point or an exponent"),
        ('{"customer_id": {"a": 1}}', r"JSON object\(s\) or list\(s\)"),
        ('{"customer_id": [1, 2]}', r"JSON object\(s\) or list\(s\)"),
    ],
)
def test_4_json_lines_float_and_object_ids_are_refused(tmp_path, line, match):
    file = tmp_path / "customers.jsonl"
    file.write_text(f'{{"customer_id": 5, "signup_at": "2024-01-01"}}\n{line}\n')
    result = invoke("metrics", tmp_path)
    one_line_error(result, str(file))
    from churnpredict._reading import read_table

    with pytest.raises(ChurnDataError, match=match):
        read_table(file)


def test_4_integer_and_float_ids_are_never_matched(tmp_path):
    """Parquet keeps types: int64 customers next to float64 activity ids merged 2^53 + 1
    into 2^53; now refused, naming both tables."""
    from churnpredict import EventData

    pd.DataFrame(
        {"customer_id": np.array([2**53 + 1, 2**53]), "signup_at": ["2024-01-01"] * 2}
    ).to_parquet(tmp_path / "customers.parquet")
    pd.DataFrame(
        {"customer_id": np.array([2**53 + 1.0, 2**53]), "timestamp": ["2024-02-01"] * 2}
    ).to_parquet(tmp_path / "activity.parquet")
    match = "activity.customer_id holds floating-point ids but customers.customer_id holds integer"
    with pytest.raises(ChurnDataError, match=match):
        EventData.from_directory(tmp_path)
    one_line_error(invoke("metrics", tmp_path), "activity.customer_id", "floating-point")
    mixed = pd.Series([1, 2.5], dtype=object)
    with pytest.raises(ChurnDataError, match="mixes whole numbers and floats"):
        EventData(pd.DataFrame({"customer_id": mixed, "signup_at": ["2024-01-01"] * 2}))
    # floats in every table are compared as they are
    floats = EventData(
        pd.DataFrame({"customer_id": [1.0, 2.0], "signup_at": ["2024-01-01"] * 2}),
        activity=pd.DataFrame({"customer_id": [2.0], "timestamp": ["2024-02-01"]}),
    )
    assert floats.activity["customer_id"].tolist() == [2.0]


def test_4_dask_reads_json_lines_ids_exactly(tmp_path):
    pytest.importorskip("dask.dataframe")
    from churnpredict.dask._reading import read_lazy

    file = tmp_path / "activity.jsonl"
    file.write_text(
        '{"customer_id": 9007199254740993, "timestamp": "2024-02-01"}\n'
        '{"customer_id": null, "timestamp": "2024-02-01"}\n'
    )
    ids = read_lazy(file).compute()["customer_id"]
    assert ids.iloc[0] == "9007199254740993" and pd.isna(ids.iloc[1])
    file.write_text('{"customer_id": 1.5, "timestamp": "2024-02-01"}\n')
    with pytest.raises(ChurnDataError, match="decimal point"):
        read_lazy(file).compute()


# ---------------------------------------------------------------- 5: one unit per duration
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (30, pd.Timedelta(days=30)),
        (28.0, pd.Timedelta(days=28)),  # was 28 nanoseconds
        (7.5, pd.Timedelta(days=7, hours=12)),  # was 7 nanoseconds
        ("7", pd.Timedelta(days=7)),  # --horizon 7 on the command line
        ("28D", pd.Timedelta(days=28)),
        ("36h", pd.Timedelta(hours=36)),
    ],
)
def test_5_numbers_are_days_whatever_their_type(value, expected):
    from churnpredict._windows import parse_window

    assert parse_window(value) == expected


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ("NaT", "is not a duration"),
        (float("nan"), "not a number of days"),
        (True, "is not a duration"),
        (1_000_000, "longer than 100 years"),
        (1e300, "longer than 100 years"),
        ("1ns", "shorter than 1 second"),
        (-7, "must be positive"),
        ("30 parsecs", "is not a duration"),
    ],
)
def test_5_durations_out_of_range_are_refused(value, match):
    from churnpredict._windows import parse_window

    with pytest.raises(ValueError, match=match):
        parse_window(value)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory):
    """300 simulated subscribers as CSV files."""
    from churnpredict.datasets import make_subscription_data

    folder = tmp_path_factory.mktemp("tiny") / "data"
    folder.mkdir()
    for name, frame in make_subscription_data(n_customers=300, random_state=5).tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


def test_5_fractional_windows_and_horizons_build_day_windows(tiny_dir, tmp_path):
    from churnpredict import ChurnPipeline

    config = tmp_path / "churn.toml"
    config.write_text(
        "horizon = 28.0\nwindows = [7.5, 30.0, 90]\nn_cutoffs = 4\n[model]\nn_estimators = 5\n"
        "n_jobs = 1\n"
    )
    result = invoke("train", tiny_dir, "--model", tmp_path / "m", "--config", config, "-q")
    assert result.exit_code == 0, result.stderr
    pipe = ChurnPipeline.load(tmp_path / "m")
    assert pipe.horizon_ == pd.Timedelta(days=28)
    names = set(pipe.feature_names_)
    assert {"events_180h", "events_30d", "events_90d"} <= names
    assert not any(n.endswith("_0s") for n in names)


@pytest.mark.parametrize(
    ("line", "fragments"),
    [
        ("windows = [1000000]", ["windows", "longer than 100 years"]),
        ('horizon = "NaT"', ["horizon", "is not a duration"]),
        ("lookback = 1e300", ["lookback", "longer than 100 years"]),
        ('cutoff_freq = "1ns"', ["cutoff_freq", "shorter than 1 second"]),
        ("n_cutoffs = 100000000", ["n_cutoffs=100000000", "500 years"]),
        (
            'unknown_customers = "explode"',
            ["unknown_customers = 'explode'", "use warn, drop or error"],
        ),
    ],
)
def test_12_config_values_out_of_range_are_exit_2_before_any_work(
    tiny_dir, tmp_path, line, fragments
):
    config = tmp_path / "churn.toml"
    config.write_text(f"{line}\n")
    result = invoke("train", tiny_dir, "--model", tmp_path / "m", "--config", config)
    one_line_error(result, *fragments)
    assert not (tmp_path / "m").exists()


# ---------------------------------------------------------------- 8: bounded bundle reads
@pytest.fixture(scope="module")
def model_dir(tiny_dir, tmp_path_factory):
    """A small model trained on ``tiny_dir`` as of 2024-11-30 (28-day horizon)."""
    folder = tmp_path_factory.mktemp("model") / "model"
    config = folder.parent / "train.toml"
    config.write_text("n_cutoffs = 4\n[model]\nn_estimators = 10\nn_jobs = 1\n")
    result = invoke(
        "train", tiny_dir, "--model", folder, "--as-of", "2024-11-30", "--config", config, "-q"
    )
    assert result.exit_code == 0, result.stderr
    return folder


def copy_bundle(model_dir: Path, to: Path) -> Path:
    import shutil

    shutil.copytree(model_dir, to)
    return to


def load_within(path: Path, seconds: float = 20.0) -> BaseException | None:
    """Load the bundle in a thread; the error it raised (None when it loaded). Fails the
    test when loading is still running after ``seconds`` (a read that blocks)."""
    import threading

    from churnpredict import ChurnPipeline

    outcome: dict[str, BaseException | None] = {}

    def run() -> None:
        try:
            ChurnPipeline.load(path)
            outcome["error"] = None
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "loading the bundle blocked"
    return outcome["error"]


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs FIFOs")
@pytest.mark.parametrize("name", ["MANIFEST.json", "MANIFEST.sig", "booster.json", "CURRENT"])
@pytest.mark.parametrize("kind", ["fifo", "endless", "huge"])
def test_8_bundle_reads_are_bounded(model_dir, tmp_path, monkeypatch, name, kind):
    import json
    import os

    from churnpredict._bundle import KEY_ENV
    from churnpredict._exceptions import BundleError

    bundle = copy_bundle(model_dir, tmp_path / "model")
    version = bundle / json.loads((bundle / "CURRENT").read_text())["version"]
    target = (bundle if name == "CURRENT" else version) / name
    target.unlink(missing_ok=True)
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "endless":
        target.symlink_to("/dev/zero")
    else:
        with open(target, "wb") as fh:  # sparse: 2 GiB without the disk space
            fh.truncate(2 << 30)
    if name == "MANIFEST.sig":
        monkeypatch.setenv(KEY_ENV, "k" * 32)  # the signature is read first
    error = load_within(bundle)
    assert isinstance(error, BundleError), error
    assert "regular file" in str(error) or "limit" in str(error), str(error)
    result = invoke(
        "score", tmp_path, "--model", bundle, "--as-of", "2024-12-31", "--out", tmp_path / "o.csv"
    )
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr


# ---------------------------------------------------------------- 6, 7: readouts check their list
@pytest.fixture(scope="module")
def scored_list(model_dir, tiny_dir, tmp_path_factory):
    """The CSV list of 2024-11-01 with a 50% holdout (and its manifest), for readouts."""
    out = tmp_path_factory.mktemp("lists") / "2024-11-01.csv"
    result = invoke("score", tiny_dir, "--model", model_dir, "--as-of", "2024-11-01",
                    "--out", out, "--holdout", "0.5", "--seed", "11", "-q")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    return out


def list_copy(scored_list: Path, folder: Path) -> Path:
    import shutil

    from churnpredict._outputs import manifest_path

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(scored_list, folder / scored_list.name)
    shutil.copy(manifest_path(scored_list), manifest_path(folder / scored_list.name))
    return folder / scored_list.name


def edit_manifest(path: Path, reseal: bool, **changes) -> None:
    """Change manifest fields; ``reseal`` recomputes its own digest (a deliberate edit)."""
    import json

    from churnpredict._outputs import manifest_digest, manifest_path

    sidecar = manifest_path(path)
    meta = json.loads(sidecar.read_text())
    meta.update(changes)
    if reseal:
        meta["manifest_sha256"] = manifest_digest(meta)
    sidecar.write_text(json.dumps(meta))


def readout(listed: Path, data: Path, out: Path, *extra):
    return invoke("campaign", listed, data, "--as-of", "2024-12-31", "--out", out, *extra)


def test_6_a_list_that_does_not_match_its_manifest_is_refused(scored_list, tiny_dir, tmp_path):
    listed = list_copy(scored_list, tmp_path / "cut")
    rows = listed.read_bytes().split(b"\r\n")
    listed.write_bytes(b"\r\n".join(rows[:51]) + b"\r\n")  # cut to 50 customers
    one_line_error(readout(listed, tiny_dir, tmp_path / "r1"), "does not match its manifest")
    listed = list_copy(scored_list, tmp_path / "edited")
    edit_manifest(listed, reseal=False, as_of="2024-06-01T00:00:00")
    one_line_error(readout(listed, tiny_dir, tmp_path / "r2"), "the manifest was edited")
    assert not (tmp_path / "r1").exists() and not (tmp_path / "r2").exists()


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"horizon": "1ns"}, "horizon = '1ns', which is not a usable horizon"),
        ({"as_of": "NaT"}, "as_of = 'NaT', which is not a usable as-of"),
        ({"as_of": 5}, "as_of = 5"),
        ({"holdout_seed": 1e400}, "holdout_seed = inf"),
        ({"holdout_seed": 2.5}, "holdout_seed = 2.5"),
        ({"holdout_share": 7}, "holdout_share = 7"),
        ({"horizon": "36500000D"}, "not a usable horizon"),
    ],
)
def test_12_damaged_list_metadata_is_exit_2(scored_list, tiny_dir, tmp_path, changes, fragment):
    listed = list_copy(scored_list, tmp_path / "damaged")
    edit_manifest(listed, reseal=True, **changes)
    one_line_error(readout(listed, tiny_dir, tmp_path / "r"), fragment)


def test_6_dates_come_from_the_list_and_an_override_is_stated(scored_list, tiny_dir, tmp_path):
    import json

    result = readout(scored_list, tiny_dir, tmp_path / "r1", "--horizon", "14D")
    one_line_error(result, "--horizon (horizon=) 14D contradicts the list", "--override")
    result = readout(
        scored_list, tiny_dir, tmp_path / "r2", "--horizon", "14D", "--override-list-dates"
    )
    assert result.exit_code == 0, result.stderr
    saved = json.loads((tmp_path / "r2" / "campaign.json").read_text())
    assert saved["horizon"] == "14D" and saved["dates"] == "overridden (the list records 28D)"
    assert "overridden (the list records 28D)" in (tmp_path / "r2" / "campaign.html").read_text()
    assert "overridden" in result.stderr  # a note on the terminal too


def test_6_concurrent_writers_never_leave_one_list_with_the_others_manifest(tmp_path, scores):
    import threading

    from churnpredict._export import at_risk_list, write_at_risk
    from churnpredict._lists import read_list

    path = tmp_path / "lists" / "same.csv"
    frames = [at_risk_list(scores.assign(mrr=scores["mrr"] * k)) for k in (1, 2)]
    errors: list[BaseException] = []
    done = threading.Event()

    def write(frame: pd.DataFrame) -> None:
        for _ in range(25):
            write_at_risk(frame, path)

    def read() -> None:
        while not done.is_set():
            if path.exists():
                try:
                    read_list(path)
                except ChurnDataError as exc:  # a torn pair
                    errors.append(exc)

    write_at_risk(frames[0], path)
    reader = threading.Thread(target=read)
    writers = [threading.Thread(target=write, args=(f,)) for f in frames]
    reader.start()
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    done.set()
    reader.join()
    assert errors == []
    read_list(path)  # the last pair is one writer's
    assert sorted(p.name for p in path.parent.iterdir()) == ["same.csv", "same.manifest.json"]


def test_7_a_customer_listed_twice_is_refused(scored_list, tiny_dir, tmp_path):
    from churnpredict._campaign import campaign_readout
    from churnpredict._lists import read_list

    frame = read_list(scored_list)
    control = frame.index[frame["group"] == "control"][0]
    twice = pd.concat([frame, frame.loc[[control]].assign(group="treatment")])
    twice.attrs = frame.attrs
    data = __import__("churnpredict").EventData.from_directory(tiny_dir)
    with pytest.raises(ChurnDataError, match="1 customers more than once .*1 of them in both"):
        campaign_readout(twice, data, "2024-12-31")
    same = pd.concat([frame, frame.iloc[[0]]])
    same.attrs = frame.attrs
    with pytest.raises(ChurnDataError, match="more than once"):
        campaign_readout(same, data, "2024-12-31")


# ---------------------------------------------------------------- issue 17 item 7: readout words
def test_readout_tiers_in_risk_order_with_too_few_to_tell(
    scored_list, model_dir, tiny_dir, tmp_path
):
    import json

    from churnpredict._campaign import MIN_GROUP, campaign_readout
    from churnpredict._lists import read_list

    result = readout(scored_list, tiny_dir, tmp_path / "r")
    assert result.exit_code == 0, result.stderr
    saved = json.loads((tmp_path / "r" / "campaign.json").read_text())
    present = [t for t in ("high", "medium", "low") if t in saved["tiers"]]
    assert list(saved["tiers"]) == present and len(present) >= 2  # riskiest first
    assert (saved["list_as_of"], saved["as_of"], saved["dates"]) == (
        "2024-11-01",
        "2024-12-31",
        "list",
    )
    for name, tier in saved["tiers"].items():
        small = min(tier["n_treatment"], tier["n_control"]) < MIN_GROUP
        assert tier["too_few"] is small, name
        assert (tier["ci_low"] is None) is small and (tier["ci_high"] is None) is small
    out = " ".join(result.stdout.split())
    assert "list of 2024-11-01" in out
    assert "T00:00:00" not in out + (tmp_path / "r" / "campaign.html").read_text()
    page = (tmp_path / "r" / "campaign.html").read_text()
    assert "customers churned than the control rate predicts" in page
    # a list of 40 customers: 20 a group, too few to tell in every tier
    small = tmp_path / "small.csv"
    result = invoke("score", tiny_dir, "--model", model_dir, "--as-of", "2024-11-01", "--out",
                    small, "--holdout", "0.5", "--seed", "11", "--top", "40", "-q")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    result = readout(small, tiny_dir, tmp_path / "r-small")
    assert result.exit_code == 0, result.stderr
    saved = json.loads((tmp_path / "r-small" / "campaign.json").read_text())
    assert all(tier["too_few"] and tier["ci_low"] is None for tier in saved["tiers"].values())
    assert "too few to tell" in " ".join(result.stdout.split())
    assert "too few to tell" in (tmp_path / "r-small" / "campaign.html").read_text()
    # ranked by revenue, the list does not start with the riskiest tier; the readout does
    frame = read_list(scored_list)
    by_revenue = frame.sort_values("revenue_at_risk", kind="stable").reset_index(drop=True)
    by_revenue.attrs = frame.attrs
    data = __import__("churnpredict").EventData.from_directory(tiny_dir)
    out = campaign_readout(by_revenue, data, "2024-12-31")
    assert list(out["tiers"]) == present


@pytest.mark.parametrize(
    ("saved", "words"),
    [
        (-30.0, "30 more customers churned than the control rate predicts (100 expected, "),
        (12.0, "12 fewer customers churned than the control rate predicts (100 expected, "),
        (0.0, "as many customers churned as the control rate predicts (100 expected, "),
    ],
)
def test_readout_signed_counts_are_words(saved, words):
    from churnpredict._campaign import saved_text

    figures = {
        "customers_saved": saved,
        "churn_rate_control": 0.2,
        "n_treatment": 500,
        "churned_treatment": int(100 - saved),
    }
    assert saved_text(figures).startswith(words)


# ---------------------------------------------------------------- 9: side files; 10: --out
def test_9_side_files_are_checked_before_work_and_replaced_with_the_list(
    model_dir, tiny_dir, tmp_path, monkeypatch
):
    import errno

    import churnpredict._drift as drift

    out = tmp_path / "lists" / "week.csv"
    args = ("score", tiny_dir, "--model", model_dir, "--as-of", "2024-12-31", "--out", out)
    (tmp_path / "lists" / "week.drift.json").mkdir(parents=True)
    one_line_error(invoke(*args), "week.drift.json is a folder")
    (tmp_path / "lists" / "week.drift.json").rmdir()
    (tmp_path / "lists" / "week.manifest.json").mkdir()
    one_line_error(invoke(*args), "week.manifest.json is a folder")
    (tmp_path / "lists" / "week.manifest.json").rmdir()
    assert invoke(*args).exit_code == 0
    before = snapshot(tmp_path / "lists")
    assert sorted(before) == ["week.csv", "week.drift.json", "week.manifest.json"]

    def full_disk(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(out.parent / "x.tmp"))

    monkeypatch.setattr(drift, "write_drift", full_disk)  # fails after the list is written
    one_line_error(invoke(*args, "--top", "3"), "No space left on device")
    assert snapshot(tmp_path / "lists") == before  # the list was not replaced without its drift


def test_9_each_list_keeps_its_own_drift_record(model_dir, tiny_dir, tmp_path):
    for day in ("2024-12-24", "2024-12-31"):
        result = invoke("score", tiny_dir, "--model", model_dir, "--as-of", day, "--out",
                        tmp_path / f"{day}.csv", "-q")  # fmt: skip
        assert result.exit_code == 0, result.stderr
    import json

    records = {d: json.loads((tmp_path / f"{d}.drift.json").read_text()) for d in ("2024-12-24",)}
    assert records["2024-12-24"]["as_of"].startswith("2024-12-24")
    assert json.loads((tmp_path / "2024-12-31.drift.json").read_text())["as_of"].startswith(
        "2024-12-31"
    )
    assert not (tmp_path / "drift.json").exists()


@pytest.mark.parametrize(
    ("target", "fragment"),
    [
        ("data/customers.csv", "is an input table"),
        ("data/payments.parquet", "is an input table"),  # would be a second source
        ("model/at_risk.csv", "inside the model folder"),
        ("churn.toml", "is an input"),
    ],
)
def test_10_out_never_names_an_input(model_dir, tiny_dir, tmp_path, target, fragment):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_dir, data)
    model = copy_bundle(model_dir, tmp_path / "model")
    config = tmp_path / "churn.toml"
    config.write_text("[score]\ntop = 5\n")
    before = snapshot(tmp_path)
    out = tmp_path / target
    if target == "churn.toml":
        out = tmp_path / "churn.csv"
        out.symlink_to(config)  # another name for the config file
        before = snapshot(tmp_path)
    result = invoke("score", data, "--model", model, "--as-of", "2024-12-31", "--out", out,
                    "--config", config)  # fmt: skip
    one_line_error(result, fragment)
    assert snapshot(tmp_path) == before
    if target.startswith("data/"):
        one_line_error(invoke("metrics", data, "--out", out), fragment)


# ---------------------------------------------------------------- 11: a save notices a change
def test_11_recalibrate_never_undoes_a_train_that_saved_after_it_loaded(
    model_dir, tiny_dir, tmp_path, monkeypatch
):
    from churnpredict import ChurnPipeline
    from churnpredict._exceptions import BundleError

    bundle = copy_bundle(model_dir, tmp_path / "model")
    loaded = ChurnPipeline.load(bundle)  # recalibrate loads ...
    config = tmp_path / "c.toml"
    config.write_text("n_cutoffs = 4\n[model]\nn_estimators = 7\nn_jobs = 1\n")
    result = invoke("train", tiny_dir, "--model", bundle, "--config", config, "-q")
    assert result.exit_code == 0, result.stderr  # ... a train saves meanwhile ...
    trained = ChurnPipeline.load(bundle).model_id_
    with pytest.raises(BundleError, match="the bundle changed since it was loaded"):
        loaded.save(bundle)  # ... and recalibrate's save would have undone it
    assert ChurnPipeline.load(bundle).model_id_ == trained
    # through the command line: the train lands between recalibrate's load and its save
    import churnpredict._pipeline as pipeline_module

    real = pipeline_module.ChurnPipeline.recalibrate

    def train_meanwhile(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        assert invoke("train", tiny_dir, "--model", bundle, "--config", config, "-q").exit_code == 0
        return out

    monkeypatch.setattr(pipeline_module.ChurnPipeline, "recalibrate", train_meanwhile)
    result = invoke("recalibrate", tiny_dir, "--model", bundle, "--as-of", "2024-12-31")
    one_line_error(result, "the bundle changed since it was loaded")
    monkeypatch.undo()
    # a pipeline loaded, changed and saved twice in a row is fine
    again = ChurnPipeline.load(bundle)
    again.save(bundle)
    again.save(bundle)
    assert invoke("recalibrate", tiny_dir, "--model", bundle, "--as-of", "2024-12-31",
                  "-q").exit_code == 0  # fmt: skip


# ---------------------------------------------------------------- 12: every bad input is exit 2
@pytest.mark.parametrize(
    ("table", "column", "value", "fragment"),
    [
        ("payments", "amount", 1e308, "payments.amount adds up to more than"),  # sums overflow
        ("activity", "value", -1e305, "activity.value adds up to more than"),
        ("customers", "mrr", 1e303, "customers.mrr adds up to more than"),
        ("customers", "score", 1e300, "features ['score'] hold infinite values or values"),
    ],
)
def test_12_huge_finite_numbers_are_exit_2(tiny_dir, tmp_path, table, column, value, fragment):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_dir, data)
    frame = pd.read_csv(data / f"{table}.csv", dtype={"customer_id": str})
    frame[column] = value
    frame.loc[::2, column] = value / 2  # not constant: a constant column is no feature
    frame.to_csv(data / f"{table}.csv", index=False)
    config = tmp_path / "c.toml"
    config.write_text("n_cutoffs = 4\n[model]\nn_estimators = 5\nn_jobs = 1\n")
    result = invoke("train", data, "--model", tmp_path / "m", "--config", config)
    one_line_error(result, fragment)
    if table != "customers" or column == "mrr":
        one_line_error(invoke("metrics", data), fragment)


def test_12_nat_durations_on_the_command_line_are_exit_2(tiny_dir, scored_list, tmp_path):
    result = invoke("train", tiny_dir, "--model", tmp_path / "m", "--horizon", "NaT")
    one_line_error(result, "--horizon 'NaT' is not a usable duration")
    result = readout(scored_list, tiny_dir, tmp_path / "r", "--horizon", "NaT")
    one_line_error(result, "--horizon 'NaT' is not a usable duration")
    result = invoke("score", tiny_dir, "--model", tmp_path / "m", "--as-of", "NaT",
                    "--out", tmp_path / "o.csv")  # fmt: skip
    one_line_error(result, "--as-of 'NaT'")


# ---------------------------------------------------------------- 14: Dask errors, one line
def test_14_a_partition_error_is_restated_with_whole_data_counts(tiny_dir):
    pytest.importorskip("dask.dataframe")
    import dask

    from churnpredict import EventData
    from churnpredict.dask import partition_by_customer
    from churnpredict.dask._partitions import whole_data_error

    tables = {
        name: pd.read_csv(tiny_dir / f"{name}.csv", dtype={"customer_id": str})
        for name in ("customers", "activity", "payments", "tickets")
    }
    tables["payments"].loc[::5, "amount"] = -3.0  # in every partition
    with pytest.raises(ChurnDataError) as pandas_error:
        EventData(**tables)
    n_bad = int((tables["payments"]["amount"] < 0).sum())
    assert f"payments.amount has {n_bad} negative values" in str(pandas_error.value)
    with dask.config.set(scheduler="sync"):
        parts = partition_by_customer(**tables, npartitions=4)
        restated = whole_data_error(parts, ChurnDataError("a partition's count"))
        assert str(restated) == str(pandas_error.value)
        # an error that is not about the tables is kept as it is
        clean = partition_by_customer(**{**tables, "payments": None}, npartitions=4)
        kept = ChurnDataError("no customer was scored; check as_of")
        assert whole_data_error(clean, kept) is kept


@pytest.mark.slow
def test_14_cli_on_dask_prints_the_pandas_line_and_no_worker_traceback(
    model_dir, tiny_dir, tmp_path
):
    import shutil
    import subprocess
    import sys

    pytest.importorskip("distributed")
    data = tmp_path / "data"
    shutil.copytree(tiny_dir, data)
    payments = pd.read_csv(data / "payments.csv", dtype={"customer_id": str})
    payments.loc[::5, "amount"] = -3.0
    payments.to_csv(data / "payments.csv", index=False)
    lines = {}
    for where in ("pandas", "dask"):
        out = str(tmp_path / "o.csv")
        args = [sys.executable, "-m", "churnpredict", "score", str(data), "--model",
                str(model_dir), "--as-of", "2024-12-31", "--out", out]  # fmt: skip
        if where == "dask":
            args += ["--scheduler", "local", "--npartitions", "4"]
        done = subprocess.run(args, capture_output=True, text=True, timeout=300)
        assert done.returncode == 2, done.stderr
        lines[where] = done.stderr
    assert lines["dask"] == lines["pandas"]
    assert lines["dask"].count("\n") == 1 and "Traceback" not in lines["dask"]
    assert f"has {int((payments['amount'] < 0).sum())} negative values" in lines["dask"]


def test_10_out_never_names_a_file_the_config_maps(model_dir, tiny_dir, tmp_path):
    """A freely named table file ([tables]) is an input too."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(tiny_dir, data)
    (data / "activity.csv").rename(data / "listening_log.csv")
    model = copy_bundle(model_dir, tmp_path / "model")
    config = tmp_path / "churn.toml"
    config.write_text(
        '[tables]\ncustomers = "customers.csv"\nactivity = "listening_log.csv"\n'
        'payments = "payments.csv"\ntickets = "tickets.csv"\n'
    )
    before = snapshot(tmp_path)
    out = data / "listening_log.csv"
    result = invoke("score", data, "--model", model, "--as-of", "2024-12-31", "--out", out,
                    "--config", config)  # fmt: skip
    one_line_error(result, "is an input")
    assert snapshot(tmp_path) == before
    one_line_error(invoke("metrics", data, "--out", out, "--config", config), "is an input")
