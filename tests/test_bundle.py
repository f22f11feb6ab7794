"""Model bundles: JSON only (never unpickled), signing, recognition, atomic and concurrent saves.

The pipeline is small (300 simulated subscribers, 4 cutoffs, 20 trees) so that saving and
loading dominate; tests/test_pipeline.py covers a full-size bundle scoring identically.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import churnpredict._bundle as bundle_module
from churnpredict import cli
from churnpredict._atomic import atomic_directory
from churnpredict._bundle import KEY_ENV, bundle_status, check_destination
from churnpredict._exceptions import BundleError
from churnpredict._jsonstate import from_json, to_json
from churnpredict._model import ChurnModel, LogisticBaseline
from churnpredict._pipeline import ChurnPipeline
from churnpredict.datasets import make_subscription_data
from churnpredict.features import TenureFeatures

AS_OF = pd.Timestamp("2024-11-30")
KEY = "k" * 32
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _no_key(monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)


@pytest.fixture(scope="module")
def data():
    """300 simulated subscribers, 2023-01-01 .. 2024-12-31."""
    return make_subscription_data(n_customers=300, random_state=3)


@pytest.fixture(scope="module")
def pipe(data):
    return ChurnPipeline(model=ChurnModel(n_estimators=20, n_jobs=1), n_cutoffs=4).fit(
        data, as_of=AS_OF
    )


@pytest.fixture
def saved(pipe, tmp_path):
    return pipe.save(tmp_path / "model")


def current(folder: Path) -> Path:
    return folder / json.loads((folder / "CURRENT").read_text())["version"]


def reseal(folder: Path, name: str, data: bytes) -> None:
    """Swap one file of the current version and fix its manifest entry, as an attacker would."""
    version = current(folder)
    (version / name).write_bytes(data)
    manifest = json.loads((version / "MANIFEST.json").read_text())
    manifest["files"][name] = hashlib.sha256(data).hexdigest()
    (version / "MANIFEST.json").write_text(json.dumps(manifest))


def entries(folder: Path) -> list[str]:
    return sorted(os.listdir(folder))


class _Payload:
    """Unpickling this creates the file ``path``: what a malicious model file would do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def evil_pickle(marker: Path) -> bytes:
    return pickle.dumps([_Payload(marker)])


def test_evil_pickle_really_runs_code_when_unpickled(tmp_path):
    """The payload the next tests plant is live: unpickling it creates the marker."""
    marker = tmp_path / "ran"
    pickle.loads(evil_pickle(marker))
    assert marker.exists()


# ---------------------------------------------------------------- no pickle (issue case 2)
def test_every_bundle_file_is_json(saved):
    version = current(saved)
    for path in [saved / "CURRENT", *version.iterdir()]:
        json.loads(path.read_text())  # raises on anything that is not JSON
    assert not [p for p in saved.rglob("*") if p.suffix in (".joblib", ".pkl", ".pickle")]


def test_builders_file_replaced_by_a_pickle_is_never_unpickled(saved, tmp_path):
    marker = tmp_path / "pwned"
    reseal(saved, "builders.json", evil_pickle(marker))
    with pytest.raises(BundleError, match=r"builders.json: not valid JSON"):
        ChurnPipeline.load(saved)
    assert not marker.exists()


def test_model_file_replaced_by_a_pickle_is_never_unpickled(saved, tmp_path):
    marker = tmp_path / "pwned"
    reseal(saved, "model.json", evil_pickle(marker))
    with pytest.raises(BundleError, match=r"model.json: not valid JSON"):
        ChurnPipeline.load(saved)
    assert not marker.exists()


def old_format_bundle(folder: Path, marker: Path) -> Path:
    """A bundle as the previous release wrote it, its builders file swapped for a payload."""
    folder.mkdir()
    (folder / "bundle.json").write_text(
        json.dumps({"format": "churnpredict-bundle", "format_version": 1})
    )
    (folder / "builders.joblib").write_bytes(evil_pickle(marker))
    (folder / "model.json").write_text("{}")
    sums = "".join(
        f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n"
        for n in sorted(os.listdir(folder))
    )
    (folder / "SHA256SUMS").write_text(sums)
    return folder


def test_old_format_bundles_are_refused_with_retrain(tmp_path):
    marker = tmp_path / "pwned"
    old = old_format_bundle(tmp_path / "old", marker)
    with pytest.raises(BundleError, match="older churnpredict .*retrain"):
        ChurnPipeline.load(old)
    assert not marker.exists()
    assert bundle_status(old) == "old"
    with pytest.raises(BundleError, match="older churnpredict; it is not replaced"):
        check_destination(old)


def test_pointer_of_another_format_is_refused_with_retrain(saved):
    pointer = json.loads((saved / "CURRENT").read_text())
    (saved / "CURRENT").write_text(json.dumps({**pointer, "format_version": 1}))
    with pytest.raises(BundleError, match="bundle format 1; .*retrain"):
        ChurnPipeline.load(saved)


def test_unsaveable_state_is_refused_before_writing(pipe, tmp_path, monkeypatch):
    monkeypatch.setattr(pipe.builders_[0], "scorer_", lambda x: x, raising=False)
    with pytest.raises(
        BundleError,
        match=r"\.scorer_ holds a builtins.function, which cannot "
        r"be stored as JSON",
    ):
        pipe.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()


# ---------------------------------------------------------------- generic builder state
DECILE_SOURCE = """
import numpy as np
import pandas as pd

from churnpredict.features import FeatureBuilder, FeatureInfo, as_rows


class DecileFeatures(FeatureBuilder):
    \"\"\"A user-defined family whose fitted state is numpy, pandas and time values.\"\"\"

    tables = ("payments",)
    group = "monetary"

    def __init__(self, n_bins=4):
        self.n_bins = n_bins

    def fit(self, data, rows=None):
        amounts = data.payments["amount"].to_numpy(dtype=np.float64)
        self.edges_ = np.quantile(amounts, np.linspace(0, 1, self.n_bins + 1)[1:-1])
        self.statuses_ = pd.Index(sorted(data.payments["status"].unique()), name="status")
        self.kinds_ = pd.Categorical(["low", "high", "low"], categories=["low", "high"])
        self.first_payment_ = data.payments["timestamp"].min()
        self.span_ = data.payments["timestamp"].max() - self.first_payment_
        self.weights_ = {"succeeded": np.float32(1.5), 7: (1, "x"), "nan": float("nan")}
        return self

    def feature_info(self):
        return [FeatureInfo("mrr_decile", self.group, "MRR in decile {value:.0f}")]

    def build(self, data, rows):
        rows = as_rows(data, rows)
        mrr = data.customers["mrr"].to_numpy(dtype=np.float64)[rows.codes]
        return pd.DataFrame(
            {"mrr_decile": np.searchsorted(self.edges_, mrr).astype(float)}, index=rows.index
        )
"""


def install_package(site_dir: Path, name: str, source: str) -> None:
    """Write package ``name`` into ``site_dir`` as pip would: the files and a RECORD of them."""
    package = site_dir / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(source)
    info = site_dir / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = [f"{name}/__init__.py,,", f"{info.name}/METADATA,,", f"{info.name}/RECORD,,"]
    (info / "RECORD").write_text("\n".join(lines) + "\n")


@pytest.fixture
def site_dir(tmp_path, monkeypatch):
    """A site directory (as site-packages is) on sys.path; its modules are unloaded after."""
    import site

    folder = tmp_path / "site-packages"
    folder.mkdir()
    installed = site.getsitepackages()
    monkeypatch.setattr(site, "getsitepackages", lambda: [str(folder), *installed])
    monkeypatch.syspath_prepend(str(folder))
    before = set(sys.modules)
    yield folder
    for name in set(sys.modules) - before:
        if name.startswith(("userbuilders", "evil", "models")):
            del sys.modules[name]


@pytest.fixture
def decile_features(site_dir):
    """DecileFeatures from an installed package ``userbuilders``."""
    import importlib

    install_package(site_dir, "userbuilders", DECILE_SOURCE)
    return importlib.import_module("userbuilders").DecileFeatures


def test_a_user_builder_with_plain_fitted_state_round_trips(data, tmp_path, decile_features):
    pipe = ChurnPipeline(
        builders=[decile_features(n_bins=5), TenureFeatures()],
        model=ChurnModel(n_estimators=10, n_jobs=1),
        n_cutoffs=6,
    ).fit(data, as_of=AS_OF)
    loaded = ChurnPipeline.load(pipe.save(tmp_path / "m"))
    mine, theirs = pipe.builders_[0], loaded.builders_[0]
    assert type(theirs) is decile_features and theirs.n_bins == 5
    np.testing.assert_array_equal(theirs.edges_, mine.edges_)
    assert theirs.statuses_.equals(mine.statuses_) and theirs.statuses_.name == "status"
    assert theirs.kinds_.equals(mine.kinds_)
    assert theirs.first_payment_ == mine.first_payment_ and theirs.span_ == mine.span_
    assert theirs.weights_["succeeded"] == np.float32(1.5)
    assert type(theirs.weights_["succeeded"]) is np.float32
    assert theirs.weights_[7] == (1, "x") and np.isnan(theirs.weights_["nan"])
    pd.testing.assert_frame_equal(
        loaded.score(data, "2024-12-31", explain=False),
        pipe.score(data, "2024-12-31", explain=False),
    )


class NotInstalled(TenureFeatures):
    """A builder defined in a script or test module: no installed package provides it."""


def test_a_builder_no_installed_package_provides_is_refused_at_save(data, tmp_path):
    pipe = ChurnPipeline(
        builders=[NotInstalled()], model=ChurnModel(n_estimators=5, n_jobs=1), n_cutoffs=4
    ).fit(data, as_of=AS_OF)
    with pytest.raises(
        BundleError,
        match=r"cannot save NotInstalled: class .* is not from an "
        r"installed distribution .* installed with pip",
    ):
        pipe.save(tmp_path / "m")
    assert not (tmp_path / "m").exists()
    NotInstalled.__module__ = "__main__"  # as when defined in a notebook or a script
    try:
        with pytest.raises(BundleError, match="lives in a __main__ module"):
            pipe.save(tmp_path / "m")
    finally:
        NotInstalled.__module__ = __name__


PAYLOAD = "import pathlib; pathlib.Path({marker!r}).write_text('ran')\n"


def plant(saved: Path, class_path: str) -> None:
    version = current(saved)
    builders = json.loads((version / "builders.json").read_text())
    builders["builders"][0]["class"] = class_path
    reseal(saved, "builders.json", json.dumps(builders).encode())


def test_modules_in_the_bundle_or_working_directory_are_never_imported(
    saved, tmp_path, monkeypatch, site_dir
):
    """Finding 2: a module dropped in the bundle folder (or the working directory, which
    ``python -m`` and notebooks put first on sys.path) ran at load; a dist-info claiming it
    from outside a site directory does not make it installed."""
    marker = tmp_path / "ran"
    payload = PAYLOAD.format(marker=str(marker))
    monkeypatch.chdir(saved.parent)
    monkeypatch.syspath_prepend(str(saved.parent))
    # a package in the bundle folder: model/evil.py imported as model.evil
    (saved / "__init__.py").write_text(payload)
    (saved / "evil.py").write_text(payload)
    plant(saved, "model.evil:X")
    with pytest.raises(BundleError, match="from the bundle's own folder"):
        ChurnPipeline.load(saved)
    # a package in the working directory, with a RECORD claiming it (not in a site directory)
    (saved.parent / "evilpkg").mkdir()
    (saved.parent / "evilpkg" / "__init__.py").write_text(payload)
    info = saved.parent / "evilpkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: evilpkg\nVersion: 1.0\n")
    (info / "RECORD").write_text("evilpkg/__init__.py,,\n")
    plant(saved, "evilpkg:X")
    with pytest.raises(BundleError, match="is not from an installed distribution"):
        ChurnPipeline.load(saved)
    # a namespace package (a folder without __init__.py), even inside a site directory
    (site_dir / "evilns").mkdir()
    (site_dir / "evilns" / "mod.py").write_text(payload)
    plant(saved, "evilns.mod:X")
    with pytest.raises(BundleError, match="namespace package"):
        ChurnPipeline.load(saved)
    assert not marker.exists()
    assert not {"model", "model.evil", "evilpkg", "evilns"} & set(sys.modules)


@pytest.mark.parametrize(
    ("path", "match"),
    [
        # never imported: opening a browser is a side effect
        ("antigravity:Fly", "standard library"),
        ("this:Zen", "standard library"),  # importing `this` would print
        ("collections:OrderedDict", "standard library"),
        ("pip.__main__:X", "lives in a __main__ module"),  # an installed program
        ("churnpredict.__main__:X", "lives in a __main__ module"),
        ("xgboost:X.__class__", "private"),
        ("xgboost.sklearn:XGBClassifier", "is not a FeatureBuilder subclass"),
        ("churnpredict._model:ChurnModel", "is not a FeatureBuilder subclass"),
        ("no_such_package_xyz.mod:Thing", "cannot be imported"),
        ("os.system", "is not a 'module:Class' path"),
    ],
)
def test_builder_classes_are_checked_before_use(saved, path, match):
    plant(saved, path)
    with pytest.raises(BundleError, match=match):
        ChurnPipeline.load(saved)
    assert "antigravity" not in sys.modules and "this" not in sys.modules
    assert "pip.__main__" not in sys.modules


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=5)
    | st.builds(pd.Timedelta, st.integers(-(10**15), 10**15))
    | st.builds(lambda n: pd.Timestamp(n, unit="s"), st.integers(-(10**9), 3 * 10**9))
    | st.builds(np.float64, st.floats())
    | st.builds(np.int32, st.integers(-(2**31), 2**31 - 1))
    | st.lists(st.floats(), max_size=4).map(lambda v: np.asarray(v, dtype=np.float64)),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.tuples(inner, inner)
        | st.dictionaries(st.text(max_size=3) | st.integers(), inner, max_size=3)
    ),
    max_leaves=12,
)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and np.array_equal(a, b, equal_nan=True)
        )
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return type(b) is dict and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (float, np.floating)) and np.isnan(a):
        return type(a) is type(b) and np.isnan(b)
    return type(a) is type(b) and a == b


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(json_values)
def test_json_state_round_trips_exactly(value):
    text = json.dumps(to_json(value), allow_nan=False)
    assert _same(value, from_json(json.loads(text)))


def test_json_state_encodes_each_value_by_its_most_specific_type():
    """A numpy float is not a float, a bool not an int, a Timestamp (or NaT) not a datetime."""
    import datetime as dt
    import enum

    class Level(enum.IntEnum):
        HIGH = 3

    assert to_json(np.float64(0.5)) == {"__type__": "numpy", "dtype": "float64", "value": 0.5}
    assert to_json(True) is True and to_json(Level.HIGH) == 3 and type(to_json(Level.HIGH)) is int
    assert to_json(pd.NaT) == {"__type__": "nat"}
    assert to_json(pd.Timestamp("2024-01-02"))["__type__"] == "timestamp"
    assert to_json(dt.datetime(2024, 1, 2))["__type__"] == "datetime"
    assert to_json(pd.Timedelta("1D"))["__type__"] == "timedelta"
    assert to_json(pd.DatetimeIndex(["2024-01-02"]))["__type__"] == "index"
    values = [np.float64(0.5), pd.Timestamp("2024-01-02", tz="UTC"), {1: frozenset({2})}]
    assert _same(values, from_json(json.loads(json.dumps(to_json(values)))))
    assert from_json(json.loads(json.dumps(to_json(pd.NaT)))) is pd.NaT
    with pytest.raises(TypeError, match=r"x holds a builtins.complex"):
        to_json(1j, "x")
    with pytest.raises(ValueError, match="unknown value type 'spam'"):
        from_json({"__type__": "spam"})
    with pytest.raises(ValueError, match="unknown value type"):
        from_json({"__type__": ["not", "a", "tag"]})


def test_logistic_baseline_bundle_is_json_and_matches_sklearn(data, tmp_path):
    pipe = ChurnPipeline(model=LogisticBaseline(), n_cutoffs=6).fit(data, as_of=AS_OF)
    X = pipe.features(data, "2024-12-31")
    frame, _ = pipe.model_._validated_frame(X, reset=False)
    sklearn_margin = pipe.model_.pipeline_.decision_function(pipe.model_._encoded(frame))
    np.testing.assert_allclose(pipe.model_.decision_function(X), sklearn_margin, rtol=0, atol=1e-10)
    loaded = ChurnPipeline.load(pipe.save(tmp_path / "m"))
    assert json.loads((current(tmp_path / "m") / "model.json").read_text())["class"] == (
        "churnpredict._model:LogisticBaseline"
    )
    np.testing.assert_array_equal(loaded.model_.predict_proba(X), pipe.model_.predict_proba(X))


# ---------------------------------------------------------------- signing
def test_signed_bundle_loads_with_the_key(pipe, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    folder = pipe.save(tmp_path / "m")
    sig = json.loads((current(folder) / "MANIFEST.sig").read_text())
    assert sig["algorithm"] == "HMAC-SHA256" and len(sig["value"]) == 64
    assert ChurnPipeline.load(folder).feature_names_ == pipe.feature_names_
    monkeypatch.delenv(KEY_ENV)
    assert ChurnPipeline.load(folder).feature_names_ == pipe.feature_names_  # checksums only


def test_tampering_with_recomputed_checksums_is_caught_only_by_the_signature(
    pipe, tmp_path, monkeypatch
):
    monkeypatch.setenv(KEY_ENV, KEY)
    folder = pipe.save(tmp_path / "m")
    version = current(folder)
    builders = json.loads((version / "builders.json").read_text())
    builders["builders"][0]["params"]["windows"] = {"__type__": "tuple", "items": [7]}
    reseal(folder, "builders.json", json.dumps(builders).encode())
    with pytest.raises(BundleError, match="MANIFEST.sig: signature does not match"):
        ChurnPipeline.load(folder)
    monkeypatch.delenv(KEY_ENV)  # without a key the checksums pass: they are not a signature
    assert ChurnPipeline.load(folder).builders_[0].windows == (7,)


def test_key_set_refuses_unsigned_and_wrongly_signed_bundles(saved, pipe, tmp_path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    with pytest.raises(BundleError, match="not signed but .*CHURNPREDICT_BUNDLE_KEY is set"):
        ChurnPipeline.load(saved)
    other = pipe.save(tmp_path / "other", key="another key, 32 bytes long......")
    with pytest.raises(BundleError, match="signature does not match"):
        ChurnPipeline.load(other)
    assert ChurnPipeline.load(other, key="another key, 32 bytes long......")
    monkeypatch.setenv(KEY_ENV, "short")
    with pytest.raises(BundleError, match="5 bytes long; use at least 16"):
        ChurnPipeline.load(saved)


def test_signature_covers_the_pointer_target(pipe, tmp_path, monkeypatch):
    """Renaming a signed version folder is caught: the manifest names its own folder."""
    monkeypatch.setenv(KEY_ENV, KEY)
    folder = pipe.save(tmp_path / "m")
    version = current(folder)
    renamed = version.with_name("v-20990101T000000000000Z-" + "0" * 32)
    version.rename(renamed)
    (folder / "CURRENT").write_text(
        json.dumps({"format": "churnpredict-bundle", "format_version": 2, "version": renamed.name})
    )
    with pytest.raises(BundleError, match="not the folder's name"):
        ChurnPipeline.load(folder)


# ---------------------------------------------------------------- bundle.json checked (case 8)
def _edit_meta(folder, change):
    meta = json.loads((current(folder) / "bundle.json").read_text())
    change(meta)
    reseal(folder, "bundle.json", json.dumps(meta).encode())


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda m: m["training"].pop("as_of"), r"bundle.json: key 'training.as_of' is missing"),
        (lambda m: m.pop("versions"), r"bundle.json: key 'versions' is missing"),
        (
            lambda m: m["features"].update(names=3),
            r"bundle.json: key 'features.names' should be a list, found int",
        ),
        (
            lambda m: m["training"].update(is_snapshot="no"),
            r"bundle.json: key 'training.is_snapshot' should be true/false, found str",
        ),
        (lambda m: m["features"].update(group=["support"]), "differ in length"),
        (lambda m: m["training"].update(horizon="soon"), r"bundle.json: unusable value"),
    ],
)
def test_bundle_json_missing_keys_and_wrong_types(saved, change, match):
    _edit_meta(saved, change)
    with pytest.raises(BundleError, match=match):
        ChurnPipeline.load(saved)


def test_bundle_json_that_is_not_json(saved):
    reseal(saved, "bundle.json", b'{"format": "churnpredict-bundle", ')
    with pytest.raises(BundleError, match=r"bundle.json: not valid JSON"):
        ChurnPipeline.load(saved)


# ---------------------------------------------------------------- command line
runner = CliRunner()


def invoke(*args):
    return runner.invoke(cli.app, [str(a) for a in args], catch_exceptions=False)


def one_line_error(result, *fragments):
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("churnpredict: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, data):
    folder = tmp_path_factory.mktemp("cli") / "data"
    folder.mkdir()
    for name, frame in data.tables.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    return folder


@pytest.fixture
def no_training(monkeypatch):
    """Training would fail loudly: proves a refusal comes before any work."""

    def fit(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(ChurnPipeline, "fit", fit)


def test_train_refuses_a_folder_with_a_checksum_file_and_keeps_it(tmp_path, data_dir, no_training):
    folder = tmp_path / "downloads"
    folder.mkdir()
    (folder / "SHA256SUMS").write_text("abc  report.pdf\n")
    (folder / "report.pdf").write_bytes(b"%PDF precious")
    (folder / "sub").mkdir()
    (folder / "sub" / "notes.txt").write_text("keep")
    result = invoke("train", data_dir, "--model", folder)
    one_line_error(result, "--model", "not a churnpredict bundle", "refusing")
    assert (folder / "report.pdf").read_bytes() == b"%PDF precious"
    assert (folder / "sub" / "notes.txt").read_text() == "keep"
    assert entries(folder) == ["SHA256SUMS", "report.pdf", "sub"]


def test_train_refuses_files_and_old_bundles_before_training(tmp_path, data_dir, no_training):
    file = tmp_path / "model.txt"
    file.write_text("x")
    one_line_error(invoke("train", data_dir, "--model", file), "is a file")
    old = old_format_bundle(tmp_path / "old", tmp_path / "pwned")
    one_line_error(invoke("train", data_dir, "--model", old), "older churnpredict")
    assert entries(old) == ["SHA256SUMS", "builders.joblib", "bundle.json", "model.json"]


@pytest.mark.slow
def test_cli_train_then_score_and_retrain_into_the_same_bundle(tmp_path, data_dir):
    model = tmp_path / "model"
    config = tmp_path / "c.toml"
    config.write_text("n_cutoffs = 6\n[model]\nn_estimators = 10\nn_jobs = 1\n")
    for _ in range(3):
        result = invoke(
            "train", data_dir, "--model", model, "--as-of", "2024-11-30", "--config", config
        )
        assert result.exit_code == 0, result.stderr
    names = entries(model)
    assert names[0] == "CURRENT" and len(names) == 3  # the pointer and two versions
    out = tmp_path / "at_risk.csv"
    result = invoke("score", data_dir, "--model", model, "--as-of", "2024-12-31", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert len(pd.read_csv(out)) > 0


def test_cli_score_refuses_old_and_damaged_bundles_with_exit_2(tmp_path, data_dir, saved):
    marker = tmp_path / "pwned"
    out = tmp_path / "at_risk.csv"
    old = old_format_bundle(tmp_path / "old", marker)
    one_line_error(
        invoke("score", data_dir, "--model", old, "--as-of", "2024-12-31", "--out", out), "retrain"
    )
    assert not marker.exists()
    _edit_meta(saved, lambda m: m["training"].pop("horizon"))
    one_line_error(
        invoke("score", data_dir, "--model", saved, "--as-of", "2024-12-31", "--out", out),
        "bundle.json",
        "'training.horizon' is missing",
    )
    assert not out.exists()


# ---------------------------------------------------------------- recognition and replacing
def test_bundle_status(saved, tmp_path):
    assert bundle_status(saved) == "bundle"
    assert bundle_status(tmp_path / "nothing") == "missing"
    (tmp_path / "empty").mkdir()
    assert bundle_status(tmp_path / "empty") == "empty"
    (tmp_path / "f").write_text("x")
    assert bundle_status(tmp_path / "f") == "file"
    (tmp_path / "sums").mkdir()
    (tmp_path / "sums" / "SHA256SUMS").write_text("")
    assert bundle_status(tmp_path / "sums") == "foreign"  # a checksum file proves nothing
    (tmp_path / "fake").mkdir()
    (tmp_path / "fake" / "CURRENT").write_text("main\n")
    assert bundle_status(tmp_path / "fake") == "foreign"


def test_replacing_keeps_two_versions_and_everything_else(pipe, saved):
    (saved / "README.txt").write_text("our model")
    (saved / "v-notes").mkdir()
    first = current(saved).name
    pipe.save(saved)
    second = current(saved).name
    pipe.save(saved)
    third = current(saved).name
    assert len({first, second, third}) == 3
    assert entries(saved) == sorted(["CURRENT", "README.txt", "v-notes", second, third])
    assert ChurnPipeline.load(saved).feature_names_ == pipe.feature_names_


@pytest.mark.parametrize("fail_at", ["write", "sync", "rename", "pointer"])
def test_a_failure_mid_save_leaves_the_old_bundle_and_no_litter(pipe, saved, monkeypatch, fail_at):
    before = {p.relative_to(saved): p.read_bytes() for p in saved.rglob("*") if p.is_file()}
    calls = {"n": 0}

    def fail(real, when):
        def wrapper(*args, **kwargs):
            calls["n"] += 1
            if when(args, calls["n"]):
                raise OSError("injected failure")
            return real(*args, **kwargs)

        return wrapper

    target = {
        "write": ("_write_synced", bundle_module._write_synced, lambda a, n: n == 3),
        "sync": ("sync_directory", bundle_module.sync_directory, lambda a, n: n == 2),
        "rename": ("os.rename", os.rename, lambda a, n: Path(str(a[1])).name.startswith("v-")),
        "pointer": ("os.replace", os.replace, lambda a, n: Path(str(a[1])).name == "CURRENT"),
    }[fail_at]
    name, real, when = target
    if "." in name:
        monkeypatch.setattr(f"churnpredict._bundle.{name}", fail(real, when))
    else:
        monkeypatch.setattr(bundle_module, name, fail(real, when))
    with pytest.raises(OSError, match="injected failure"):
        pipe.save(saved)
    monkeypatch.undo()
    after = {p.relative_to(saved): p.read_bytes() for p in saved.rglob("*") if p.is_file()}
    assert after == before
    assert not [n for n in os.listdir(saved) if n.startswith(".")]
    assert ChurnPipeline.load(saved).feature_names_ == pipe.feature_names_


def test_a_failed_first_save_leaves_nothing(pipe, tmp_path, monkeypatch):
    monkeypatch.setattr(
        bundle_module,
        "sync_directory",
        lambda path: (_ for _ in ()).throw(OSError("injected failure")),
    )
    with pytest.raises(OSError, match="injected failure"):
        pipe.save(tmp_path / "new" / "model")
    assert entries(tmp_path / "new") == []


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to name fds")
def test_files_and_folders_are_fsynced_before_each_rename(pipe, saved, monkeypatch):
    events = []
    real_fsync, real_rename, real_replace = os.fsync, os.rename, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    def rename(src, dst):
        events.append(("rename", str(src), str(dst)))
        return real_rename(src, dst)

    def replace(src, dst):
        events.append(("rename", str(src), str(dst)))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "replace", replace)
    pipe.save(saved)
    monkeypatch.undo()
    renames = [i for i, e in enumerate(events) if e[0] == "rename"]
    assert len(renames) == 2  # the version folder, then the pointer
    version_at, pointer_at = renames
    _, tmp, final = events[version_at]
    synced_before = {e[1] for e in events[:version_at] if e[0] == "fsync"}
    written = {str(Path(final) / n) for n in os.listdir(final)}
    assert {str(Path(tmp) / Path(w).name) for w in written} | {tmp} <= synced_before
    _, pointer_tmp, pointer = events[pointer_at]
    between = {e[1] for e in events[version_at:pointer_at] if e[0] == "fsync"}
    assert {str(saved), pointer_tmp} <= between  # the rename is durable, the pointer written
    assert ("fsync", str(saved)) in events[pointer_at:]  # and the switch itself


# ---------------------------------------------------------------- concurrency (issue case 4)
@pytest.mark.slow
@pytest.mark.parametrize("signed", [False, True])
def test_concurrent_saves_and_loads_in_threads(pipe, tmp_path, monkeypatch, signed):
    if signed:
        monkeypatch.setenv(KEY_ENV, KEY)
    saved = pipe.save(tmp_path / "model")
    errors: list[BaseException] = []
    loads = {"n": 0}
    stop = threading.Event()

    def writer():
        try:
            for _ in range(6):
                pipe.save(saved)
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    def reader():
        while not stop.is_set():
            try:
                assert ChurnPipeline.load(saved).feature_names_ == pipe.feature_names_
                loads["n"] += 1
            except BaseException as exc:  # noqa: BLE001
                errors.append(exc)
                return

    writers = [threading.Thread(target=writer) for _ in range(2)]
    readers = [threading.Thread(target=reader) for _ in range(3)]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert errors == []
    assert loads["n"] > 0
    names = entries(saved)
    assert names[0] == "CURRENT" and len(names) == 3
    assert not [n for n in names if n.startswith(".")]


_PROCESS_SCRIPT = """
import sys, time
from pathlib import Path
from churnpredict._pipeline import ChurnPipeline
role, source, target, n = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
started, stop = target.parent / "reading", target.parent / "stop"
if role == "writer":
    pipe = ChurnPipeline.load(source)
    deadline = time.time() + 120
    while not started.exists() and time.time() < deadline:
        time.sleep(0.01)
    for _ in range(n):
        pipe.save(target)
else:
    done = 0
    deadline = time.time() + 120
    while not stop.exists() and time.time() < deadline:
        ChurnPipeline.load(target)
        done += 1
        started.touch()
    print(done)
"""


@pytest.mark.slow
def test_concurrent_saves_and_loads_in_processes(saved, tmp_path):
    """Two processes replace the bundle 10 times each while a third loads it in a loop."""
    target = tmp_path / "shared"
    shutil.copytree(saved, target)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    env.pop(KEY_ENV, None)

    def start(role, n):
        return subprocess.Popen(
            [sys.executable, "-c", _PROCESS_SCRIPT, role, str(saved), str(target), str(n)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    reader = start("reader", 0)
    writers = [start("writer", 10), start("writer", 10)]
    results = [w.communicate(timeout=300) for w in writers]
    (tmp_path / "stop").touch()
    out, err = reader.communicate(timeout=300)
    for proc, (_out, werr) in zip(writers, results, strict=True):
        assert proc.returncode == 0, werr
    assert reader.returncode == 0, err
    assert int(out) > 0
    names = entries(target)
    assert names[0] == "CURRENT" and len(names) == 3
    assert not [n for n in names if n.startswith(".")]


def test_atomic_directory_concurrent_writers_both_succeed(tmp_path):
    """The partitioned Parquet list's writer: no 'Directory not empty', no hidden folders."""
    target = tmp_path / "ranked"
    errors: list[BaseException] = []

    def write(tag):
        try:
            for i in range(20):
                with atomic_directory(target) as tmp:
                    (tmp / "part.00000.parquet").write_text(f"{tag}{i}")
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert entries(tmp_path) == ["ranked"]
    assert (target / "part.00000.parquet").read_text() in ("a19", "b19")
    with pytest.raises(RuntimeError, match="boom"), atomic_directory(target) as tmp:
        (tmp / "x").write_text("half")
        raise RuntimeError("boom")
    assert entries(tmp_path) == ["ranked"] and entries(target) == ["part.00000.parquet"]
