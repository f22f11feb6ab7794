"""Progress: a bar by default only when interactive and slow, a callback, or silence."""

from __future__ import annotations

import pandas as pd
import pytest

import churnpredict as cp
from churnpredict._model import ChurnModel
from churnpredict._progress import reporter

AS_OF = pd.Timestamp("2024-11-30")


@pytest.fixture(scope="module")
def data():
    return cp.make_subscription_data(n_customers=300, random_state=3)


def _pipeline():
    return cp.ChurnPipeline(model=ChurnModel(n_estimators=20, n_jobs=1), n_cutoffs=6)


def test_callback_sees_every_stage_of_fit_score_and_features(data):
    seen: list[tuple[str, int, int]] = []
    pipe = _pipeline().fit(data, AS_OF, progress=lambda *a: seen.append(a))
    n = len(pipe.builders_)
    assert seen[0] == ("labels", 1, n + 2) and seen[-1] == ("model", n + 2, n + 2)
    assert [s[1] for s in seen] == list(range(1, n + 3)) and {s[2] for s in seen} == {n + 2}
    assert {s[0] for s in seen[1:-1]} == {type(b).__name__ for b in pipe.builders_}

    seen.clear()
    pipe.score(data, AS_OF, progress=lambda *a: seen.append(a))
    assert [s[1] for s in seen] == list(range(1, n + 3))
    assert {s[2] for s in seen} == {n + 2}  # one total: a bar never falls back
    assert seen[-2][0] == "model" and seen[-1] == ("reasons", n + 2, n + 2)

    seen.clear()
    cp.build_features(data, [AS_OF], progress=lambda *a: seen.append(a))
    assert seen and seen[-1][1] == seen[-1][2]


def test_default_is_silent_when_output_is_not_interactive(data, capsys):
    pipe = _pipeline().fit(data, AS_OF)
    pipe.score(data, AS_OF)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_progress_true_draws_a_bar_and_false_is_silent(data, capsys, monkeypatch):
    monkeypatch.setattr("churnpredict._progress.DELAY", 0.0)
    _pipeline().fit(data, AS_OF, progress=True)
    err = capsys.readouterr().err
    assert "fit:" in err and "step" in err  # a tqdm bar with the work's description
    _pipeline().fit(data, AS_OF, progress=False)
    assert capsys.readouterr().err == ""


def test_bad_progress_is_refused():
    with pytest.raises(TypeError, match="progress="):
        with reporter("yes", "fit"):
            pass


def test_in_a_notebook_the_default_bar_shows_even_without_a_terminal(data, capsys, monkeypatch):
    """A kernel's stderr is no terminal, yet a notebook is interactive: the bar is drawn."""
    import warnings

    import churnpredict._progress as progress
    from churnpredict._exceptions import SeasonWarning

    monkeypatch.setattr(progress, "DELAY", 0.0)
    monkeypatch.setattr(progress, "_in_notebook", lambda: True)
    monkeypatch.setitem(__import__("sys").modules, "ipywidgets", None)  # not installed
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "IProgress not found" warning either
        warnings.filterwarnings("ignore", category=SeasonWarning)  # half a year of cutoffs
        _pipeline().fit(data, AS_OF)
    assert "fit:" in capsys.readouterr().err
