"""Fuzzing the input side: malformed tables give a valid EventData or a ChurnDataError.

Random tables mix wrong types, NaN, empty and whitespace strings, unicode, control characters
(``\\r``, ``\\n``, ``\\x00``), extremes (1e308, inf, -1, dates outside 1700-2199), mixed
id types, duplicated ids and missing columns. Through :class:`EventData` the only allowed
exception is :class:`ChurnDataError`; through the command line (files written to a temporary
folder) the only allowed exit codes are 0 and 2.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from churnpredict import ChurnDataError, EventData
from churnpredict.cli import app

runner = CliRunner()

TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)
CONTROL = st.sampled_from(
    [
        "",
        " ",
        "\r",
        "\n",
        "\x00",
        "a\r=1+1",
        '=HYPERLINK("x")',
        "\t",
        "é",
        "日本",
        "\u202e",
        "NaN",
        "null",
        "None",
        "inf",
        "-inf",
    ]
)
NUMBERS = st.one_of(
    st.integers(-5, 5),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0.0, -1.0, 1e308, -1e308, 1e-308, np.inf, -np.inf, np.nan, 1.5]),
)
DATES = st.one_of(
    st.dates(
        min_value=pd.Timestamp("1000-01-01").date(), max_value=pd.Timestamp("9999-12-31").date()
    ).map(str),
    st.sampled_from(
        [
            "2024-01-01",
            "2024-01-31T12:00:00Z",
            "2024-02-01 00:00+02:00",
            "09/10/2011 14:00",
            "13/10/2011",
            "10/13/2011",
            "31/31/2024",
            "0/0/00",
            "2024-02-30",
            "3000-01-01",
            "1500-01-01",
            "2262-04-12",
            "1677-09-21",
            "1677-09-22 00:00:01",
            "2262-04-10",
            "1700-01-01",
            "2199-12-31 23:59:59",
            "12.11.2010",
            "1.2.3",
            "24:00",
            "yesterday",
        ]
    ),
    st.datetimes(
        min_value=pd.Timestamp("1900-01-01").to_pydatetime(),
        max_value=pd.Timestamp("2200-01-01").to_pydatetime(),
    ),
)
CELL = st.one_of(st.none(), TEXT, CONTROL, NUMBERS, DATES, st.booleans())
IDS = st.one_of(
    st.integers(0, 4),
    st.sampled_from(["0", "00", "1", "007", "7", " 7", "", None, np.nan, 1.0, "\r", "a\nb"]),
)
EVENT_TIMES = st.one_of(DATES, st.sampled_from(["2024-03-01", "2024-03-02"]), st.none())


def column(n, *strategies):
    """A list of ``n`` cells, either all from one strategy or freely mixed."""
    one = st.one_of(*strategies)
    return st.one_of(
        st.lists(one, min_size=n, max_size=n),
        one.flatmap(lambda v: st.just([v] * n)),
    )


HOSTILE_COLUMNS = {
    "customers": {
        "customer_id": IDS,
        "signup_at": DATES,
        "churned_at": st.one_of(DATES, CELL),
        "churn_type": st.one_of(CONTROL, st.sampled_from(["VOLUNTARY ", "x"])),
        "mrr": st.one_of(NUMBERS, CELL),
        "plan": CELL,
    },
    "activity": {
        "customer_id": IDS,
        "timestamp": EVENT_TIMES,
        "value": st.one_of(NUMBERS, CELL),
        "event": st.one_of(CONTROL, TEXT),
    },
    "payments": {
        "customer_id": IDS,
        "timestamp": EVENT_TIMES,
        "amount": st.one_of(NUMBERS, CELL),
        "status": st.one_of(CONTROL, st.sampled_from(["paid", "FAILED", " refunded"])),
    },
    "tickets": {
        "customer_id": IDS,
        "created_at": EVENT_TIMES,
        "resolved_at": DATES,
        "csat": st.one_of(NUMBERS, CELL),
    },
}


@st.composite
def tables(draw, all_events=False):
    """Valid customers and event tables, then a few hostile edits.

    Most edits replace cells (or a whole column) by hostile values; others drop a column,
    duplicate a row, turn ids into text or empty a table. Starting from valid tables lets
    the edits reach every check, not only the first one.
    """
    n = draw(st.integers(1, 4))
    text_ids = draw(st.booleans())
    ids = [f"{i:03d}" if text_ids else i for i in range(n)]
    frames = {
        "customers": pd.DataFrame(
            {
                "customer_id": ids,
                "signup_at": draw(column(n, st.sampled_from(["2024-01-01", "2024-01-15 08:00"]))),
                "churned_at": draw(column(n, st.sampled_from([None, "2024-03-10", "2024-02-20"]))),
                "churn_type": draw(column(n, st.sampled_from([None, "voluntary", "involuntary"]))),
                "mrr": draw(column(n, st.sampled_from([10.0, 0.0, None]))),
                "plan": draw(column(n, st.sampled_from(["basic", "pro"]))),
            }
        )
    }
    m = draw(st.integers(1, 5))
    event_ids = draw(column(m, st.sampled_from(ids)))
    times = draw(
        column(m, st.sampled_from(["2024-02-01", "2024-02-10 12:00", "2024-03-05", "2023-12-01"]))
    )
    if all_events or draw(st.booleans()):
        frames["activity"] = pd.DataFrame(
            {"customer_id": event_ids, "timestamp": times, "event": "login", "value": 1.0}
        )
    if all_events or draw(st.booleans()):
        frames["payments"] = pd.DataFrame(
            {"customer_id": event_ids, "timestamp": times, "amount": 10.0, "status": "succeeded"}
        )
    if all_events or draw(st.booleans()):
        frames["tickets"] = pd.DataFrame(
            {"customer_id": event_ids, "created_at": times, "resolved_at": None, "csat": 4.0}
        )
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(sorted(frames)))
        frame = frames[name].copy()
        kind = draw(
            st.sampled_from(
                ["cells", "cells", "cells", "column", "drop", "duplicate", "text-ids", "empty"]
            )
        )
        col = draw(st.sampled_from(sorted(HOSTILE_COLUMNS[name])))
        if kind == "cells" and col in frame and len(frame):
            rows = draw(st.lists(st.integers(0, len(frame) - 1), min_size=1, max_size=3))
            frame[col] = frame[col].astype(object)
            for row in rows:
                frame.iloc[row, frame.columns.get_loc(col)] = draw(HOSTILE_COLUMNS[name][col])
        elif kind == "column":
            frame[col] = draw(column(len(frame), HOSTILE_COLUMNS[name][col]))
        elif kind == "drop" and col in frame:
            frame = frame.drop(columns=col)
        elif kind == "duplicate":
            frame = pd.concat([frame, frame.iloc[:1]], ignore_index=True)
        elif kind == "text-ids" and "customer_id" in frame:
            frame["customer_id"] = frame["customer_id"].astype(str)
        elif kind == "empty":
            frame = frame.iloc[:0]
        frames[name] = frame
    return frames


def check_valid(data: EventData) -> None:
    """What a successful validation promises."""
    for name, frame in data.tables.items():
        assert frame["customer_id"].notna().all(), name
        for col in ("signup_at", "churned_at", "timestamp", "created_at", "resolved_at"):
            if col in frame:
                assert frame[col].dtype == "datetime64[ns]", (name, col)
    if data.payments is not None:
        assert np.isfinite(data.payments["amount"]).all()
    if data.activity is not None and "value" in data.activity:
        values = data.activity["value"].to_numpy(dtype=float)
        assert not np.isinf(values).any()
    assert not data.customers["customer_id"].duplicated().any()


@pytest.mark.slow
@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tables(), st.sampled_from([None, True, False]))
def test_event_data_accepts_or_raises_churn_data_error(frames, dayfirst):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # data-quality notes are fine
        try:
            data = EventData(**frames, dayfirst=dayfirst)
        except ChurnDataError as exc:
            event(f"refused: {str(exc).split(' ')[0]} {str(exc).split(' ')[1][:12]}")
            assert str(exc).startswith(tuple(frames) + ("columns=", "snapshot_at")), str(exc)
            return
    event("valid")
    check_valid(data)
    if len(data.customers):
        data.cut(data.time_range[1])  # the validated data is usable downstream


def write_tables(folder: Path, frames: dict, fmt: str) -> None:
    for name, frame in frames.items():
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        else:
            frame.astype(object).where(frame.notna(), None).to_json(
                folder / f"{name}.jsonl", orient="records", lines=True, default_handler=str
            )


@pytest.mark.slow
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tables(), st.sampled_from(["csv", "jsonl"]))
def test_cli_metrics_exits_0_or_2(frames, fmt):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        try:
            write_tables(folder, frames, fmt)
        except (ValueError, OverflowError, UnicodeEncodeError):
            return  # pandas cannot write it: nothing to read
        result = runner.invoke(app, ["metrics", str(folder), "--quiet"])
        event(f"exit {result.exit_code}")
        assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
        if result.exit_code == 2:
            assert result.stderr.count("\n") == 1, result.stderr


RAW = st.binary(max_size=120) | st.lists(
    st.sampled_from(
        [
            b"customer_id",
            b"signup_at",
            b",",
            b"\r",
            b"\n",
            b"\x00",
            b'"',
            b"007",
            b"2024-01-01",
            b"09/10/2011",
            b"\xff",
            b"1e308",
            b"inf",
            b" ",
        ]
    ),
    max_size=30,
).map(b"".join)


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(RAW, st.sampled_from(["customers.csv", "customers.jsonl", "customers.parquet"]))
def test_cli_raw_bytes_exit_0_or_2(content, name):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / name).write_bytes(content)
        (folder / "activity.csv").write_text("customer_id,timestamp\n007,2024-02-01\n")
        result = runner.invoke(app, ["metrics", str(folder), "--quiet"])
        assert result.exit_code in (0, 2), (result.exit_code, result.stderr)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A small model trained on the shipped sample, with the columns the fuzzed tables have."""
    from churnpredict import ChurnModel, ChurnPipeline, load_sample

    sample = load_sample()
    keep = {name: ["customer_id", *cols] for name, cols in HOSTILE_COLUMNS.items()}
    keep["customers"].remove("customer_id")  # listed in HOSTILE_COLUMNS already
    for name in keep:
        keep[name] = list(dict.fromkeys(keep[name]))
    data = EventData(
        **{
            name: frame[[c for c in keep[name] if c in frame]]
            for name, frame in sample.tables.items()
        }
    )
    path = tmp_path_factory.mktemp("fuzz") / "model"
    pipeline = ChurnPipeline(model=ChurnModel(n_estimators=10, n_jobs=1), n_cutoffs=6)
    pipeline.fit(data)
    pipeline.save(path)
    return path


@pytest.mark.slow
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
@given(tables(all_events=True))
def test_cli_score_exits_0_or_2(model_dir, frames):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        try:
            write_tables(folder, frames, "csv")
        except (ValueError, OverflowError, UnicodeEncodeError):
            return
        out = folder / "at_risk.csv"
        result = runner.invoke(
            app,
            [
                "score",
                str(folder),
                "--model",
                str(model_dir),
                "--as-of",
                "2024-03-01",
                "--out",
                str(out),
                "--quiet",
            ],
        )
        event(f"exit {result.exit_code}")
        assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
        if result.exit_code == 2:
            assert not out.exists()


# ------------------------------------------------------------------------ config values
def toml_value(value) -> str:
    """A Python value as TOML (scalars, lists, inline tables)."""
    import json
    import math

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are TOML basic-string escapes
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def toml_text(top: dict, tables: dict) -> str:
    lines = [f"{key} = {toml_value(value)}" for key, value in top.items()]
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{json_key(key)} = {toml_value(value)}" for key, value in table.items()]
    return "\n".join(lines) + "\n"


def json_key(key: str) -> str:
    import json

    return json.dumps(key)


SCALARS = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([0, 1, 7, 28, 30, 90, 10**6, 10**8, -(2**63), 2**63 - 1]),
    st.sampled_from([0.0, 0.5, 1.5, 7.5, 28.0, -1.0, 1e300, float("inf"), float("nan")]),
    st.booleans(),
    st.sampled_from(
        [
            "",
            "28D",
            "12h",
            "1ns",
            "NaT",
            "nan",
            "7",
            "-28D",
            "30 parsecs",
            "explode",
            "auto",
            "cancellation",
            "inactivity",
            "purchases",
            "subscription",
            "%d/%m/%Y",
            "€",
            "revenue",
            "lapsed",
            "warn",
            "error",
            "2024-01-01",
            "\x00",
            "=1+1",
        ]  # fmt: skip
    ),
)
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=4),
    st.dictionaries(st.text(max_size=3), SCALARS, max_size=2),
)
TOP_KEYS = [
    "horizon", "windows", "n_cutoffs", "cutoff_freq", "lookback", "label", "business",
    "unknown_customers", "date_format", "dayfirst", "currency", "reason_threshold",
    "label_column", "positive_label", "snapshot_at", "nonsense",
]  # fmt: skip
TABLE_KEYS = {
    "model": ["n_estimators", "max_depth", "learning_rate", "subsample", "n_jobs", "tune"],
    "score": ["top", "rank_by", "min_probability", "status", "extra_columns"],
    "drift": ["notice", "warn"],
    "tiers": ["high", "medium", "low"],
    "actions": ["support", "payments", "engagement"],
    "report": ["contact_cost", "save_rate", "top"],
    "status_map": ["paid", "declined"],
    "columns.customers": ["user_id", "customer_id"],
}


#: Usable values per key, drawn as often as hostile ones, so that valid configs (and the
#: checks after the first one) are reached too.
GOOD = {
    "horizon": ["28D", 28, 14.0, "2W"],
    "windows": [[7, 30], [7.5, 30.0, 90], ["7D", "30D"]],
    "n_cutoffs": [3, 4],
    "cutoff_freq": ["14D", 7, "7.5"],
    "lookback": ["90D", 60],
    "label": ["cancellation", "inactivity", "auto"],
    "business": ["auto", "subscription"],
    "unknown_customers": ["warn", "drop", "error"],
    "dayfirst": [True, False],
    "currency": ["€", "$", ""],
    "reason_threshold": [0.01, 0.0],
    "n_estimators": [3, 5],
    "max_depth": [2, 3],
    "learning_rate": [0.3],
    "subsample": [0.8, 1.0],
    "n_jobs": [1],
    "top": [5, 50],
    "rank_by": ["revenue", "probability"],
    "min_probability": [0.0, 0.2],
    "status": ["all", "active"],
    "notice": [0.1],
    "warn": [0.25, 0.5],
    "high": [0.5],
    "medium": [0.2],
    "low": [0.0],
    "support": ["call them"],
    "contact_cost": [5.0],
    "save_rate": [0.3],
    "paid": ["succeeded"],
    "declined": ["failed"],
}


def value_for(key: str) -> st.SearchStrategy:
    good = GOOD.get(key)
    return st.one_of(st.sampled_from(good), VALUES) if good else VALUES


@st.composite
def configs(draw):
    """A config of hostile values on known keys (and an unknown one now and then)."""
    keys = draw(st.lists(st.sampled_from(TOP_KEYS), max_size=3, unique=True))
    top = {key: draw(value_for(key)) for key in keys}
    tables = {"model": {"n_estimators": 5, "n_jobs": 1}}
    for name in draw(st.lists(st.sampled_from(sorted(TABLE_KEYS)), max_size=2, unique=True)):
        keys = draw(st.lists(st.sampled_from(TABLE_KEYS[name]), min_size=1, max_size=2))
        tables.setdefault(name, {}).update({key: draw(value_for(key)) for key in keys})
    return top, tables


@pytest.fixture(scope="module")
def fuzz_data(tmp_path_factory):
    """300 simulated subscribers as CSV, and a small model trained on them."""
    from churnpredict.datasets import make_subscription_data

    folder = tmp_path_factory.mktemp("fuzzdata")
    data = folder / "data"
    data.mkdir()
    for name, frame in make_subscription_data(n_customers=300, random_state=5).tables.items():
        frame.to_csv(data / f"{name}.csv", index=False)
    config = folder / "train.toml"
    config.write_text("n_cutoffs = 4\n[model]\nn_estimators = 5\nn_jobs = 1\n")
    model = folder / "model"
    args = ["train", str(data), "--model", str(model), "--as-of", "2024-11-30", "-c", str(config)]
    assert runner.invoke(app, [*args, "-q"]).exit_code == 0
    return data, model


def one_line_or_ok(result) -> None:
    event(f"exit {result.exit_code}")
    assert result.exit_code in (0, 2), (result.exit_code, result.stderr)
    if result.exit_code == 2:
        assert result.stderr.count("\n") == 1, result.stderr


@pytest.mark.slow
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(configs())
def test_cli_config_values_exit_0_or_2(fuzz_data, config):
    """Any config value, in train and score: a model and a list, or one line and exit 2."""
    data, model = fuzz_data
    top, tables = config
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        file = folder / "churn.toml"
        file.write_text(toml_text(top, tables), encoding="utf-8")
        result = runner.invoke(
            app, ["train", str(data), "--model", str(folder / "m"), "-c", str(file), "-q"]
        )
        one_line_or_ok(result)
        if result.exit_code == 2:
            assert not (folder / "m").exists()
        out = folder / "at_risk.csv"
        scored = runner.invoke(
            app,
            [
                "score",
                str(data),
                "--model",
                str(model),
                "--as-of",
                "2024-12-31",
                "--out",
                str(out),
                "-c",
                str(file),
                "-qq",
            ],  # fmt: skip
        )
        one_line_or_ok(scored)
        if scored.exit_code == 2:
            assert not out.exists()


# ------------------------------------------------------------------------ campaign lists
@pytest.fixture(scope="module")
def fuzz_list(fuzz_data, tmp_path_factory):
    """The 2024-11-01 list of the fuzz model, with a 50% holdout, and its manifest."""
    data, model = fuzz_data
    out = tmp_path_factory.mktemp("fuzzlist") / "list.csv"
    args = ["score", str(data), "--model", str(model), "--as-of", "2024-11-01", "--out", str(out),
            "--holdout", "0.5", "--seed", "3", "-qq"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    return out


MANIFEST_KEYS = ["as_of", "horizon", "label", "lookback", "holdout_share", "holdout_seed",
                 "rows", "model_id", "sha256", "file"]  # fmt: skip
JSON_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "",
            "NaT",
            "1ns",
            "28D",
            "2024-11-01T00:00:00",
            "2024-11-01",
            "3000-01-01",
            "cancellation",
            "inactivity",
            "snapshot",
            "0.5",
            "3",
            "1e400",
        ]
    ),  # fmt: skip
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
)
LIST_EDITS = st.sampled_from(
    [
        "none",
        "none",
        "none",
        "none",
        "cut",
        "duplicate",
        "swap-group",
        "bad-group",
        "blank-group",
        "new-id",
        "blank-id",
        "drop-group",
        "drop-tier",
        "bad-probability",
    ]  # fmt: skip
)


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.one_of(
        st.just({}), st.dictionaries(st.sampled_from(MANIFEST_KEYS), JSON_VALUES, max_size=2)
    ),
    st.one_of(st.just([]), st.lists(st.sampled_from(MANIFEST_KEYS), max_size=1)),
    LIST_EDITS,
    st.sampled_from([True, True, False]),
)
def test_cli_campaign_lists_and_manifests_exit_0_or_2(
    fuzz_data, fuzz_list, changes, removed, edit, reseal
):
    """Hostile manifests and edited lists; ``reseal`` recomputes the checksums, as someone
    editing on purpose would, so that the checks after them are reached too."""
    import hashlib
    import json
    import shutil

    from churnpredict._outputs import manifest_digest, manifest_path

    data, _ = fuzz_data
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        listed = folder / "list.csv"
        shutil.copy(fuzz_list, listed)
        frame = pd.read_csv(listed, dtype=str, keep_default_na=False)
        if edit == "cut":
            frame = frame.iloc[: len(frame) // 3]
        elif edit == "duplicate":
            frame = pd.concat([frame, frame.iloc[:2]])
        elif edit == "swap-group":
            frame.loc[frame.index[0], "group"] = (
                "treatment" if frame["group"].iloc[0] == "control" else "control"
            )
        elif edit == "bad-group":
            frame.loc[frame.index[0], "group"] = "=1+1"
        elif edit == "blank-group":
            frame.loc[frame.index[0], "group"] = ""
        elif edit == "new-id":
            frame.loc[frame.index[0], "customer_id"] = "nobody"
        elif edit == "blank-id":
            frame.loc[frame.index[0], "customer_id"] = ""
        elif edit == "drop-group":
            frame = frame.drop(columns="group")
        elif edit == "drop-tier":
            frame = frame.drop(columns="risk_tier")
        elif edit == "bad-probability":
            frame["churn_probability"] = "x"
        if edit != "none":
            frame.to_csv(listed, index=False, lineterminator="\r\n")
        meta = json.loads(manifest_path(fuzz_list).read_text())
        meta.update(changes)
        for key in removed:
            meta.pop(key, None)
        if reseal:
            meta["sha256"] = hashlib.sha256(listed.read_bytes()).hexdigest()
            meta["manifest_sha256"] = manifest_digest(meta)
        try:
            text = json.dumps(meta)
        except ValueError:
            return
        manifest_path(listed).write_text(text)
        out = folder / "readout"
        result = runner.invoke(
            app,
            ["campaign", str(listed), str(data), "--as-of", "2024-12-31", "--out", str(out), "-qq"],
        )
        one_line_or_ok(result)
        if result.exit_code == 0:
            saved = json.loads((out / "campaign.json").read_text())
            assert saved["n_treatment"] + saved["n_control"] + saved["n_unmatched"] == len(frame)
            assert all(0 <= saved[k] <= 1 for k in ("churn_rate_treatment", "churn_rate_control"))
        else:
            assert not out.exists()
