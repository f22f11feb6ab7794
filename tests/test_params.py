"""Keyword-only constructors (positional use deprecated) and table-driven parameter checks."""

from __future__ import annotations

import inspect
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import churnpredict.features as cp_features
from churnpredict._bgnbd import BGNBDBaseline
from churnpredict._exceptions import ChurnModelError
from churnpredict._model import ChurnModel, LogisticBaseline
from churnpredict._params import (
    AnyOf,
    Boolean,
    Duration,
    InstanceOf,
    Integer,
    Options,
    ParameterChecksMixin,
    Real,
    Satisfies,
    SequenceOf,
    check_parameters,
)
from churnpredict._pipeline import ChurnPipeline
from churnpredict.features import (
    EngagementFeatures,
    MonetaryFeatures,
    PaymentFeatures,
    ProfileFeatures,
    PurchaseHistoryFeatures,
    SpendFeatures,
    SupportFeatures,
    TenureFeatures,
)

ESTIMATORS = [
    ChurnModel,
    LogisticBaseline,
    BGNBDBaseline,
    EngagementFeatures,
    SupportFeatures,
    PaymentFeatures,
    MonetaryFeatures,
    SpendFeatures,
    TenureFeatures,
    ProfileFeatures,
    PurchaseHistoryFeatures,
    ChurnPipeline,
]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_estimators_take_keyword_only_parameters(cls):
    """Every estimator: keyword-only signature (so get_params and clone see it); a
    parameter passed by position is a TypeError."""
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    assert params and all(p.kind == p.KEYWORD_ONLY for p in params)
    with pytest.raises(TypeError, match="positional argument"):
        cls(params[0].default)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert clone(cls()).get_params() == cls().get_params()


# --------------------------------------------------------------------------- constraints
RULES = [
    # (rule, good values, bad values, expected words)
    (Integer(min=1), [1, 5, np.int64(3)], [0, -2, 1.0, True, "3", None], "an integer >= 1"),
    (Integer(), [0, -4, np.int32(7)], [0.5, False, None], "an integer"),
    (Integer(min=0, max=10, closed="neither"), [1, 9], [0, 10], "an integer in (0, 10)"),
    (
        Real(0, 1, closed="right"),
        [0.5, 1, 1.0, np.float32(0.25)],
        [0, 0.0, 1.5, np.nan, True],
        "a number in (0, 1]",
    ),
    (Real(min=0), [0, 0.0, 3.5], [-0.1, "1", None, np.nan], "a number >= 0"),
    (Real(min=0, closed="neither"), [1e-9, 2], [0, -1], "a number > 0"),
    (Real(max=2, closed="left"), [1.9, -5], [2, 3], "a number < 2"),
    (Real(), [1, -2.5], [np.nan, "x"], "a number"),
    (Boolean(), [True, False, np.bool_(True)], [0, 1, "True", None], "True or False"),
    (
        Options("isotonic", "sigmoid"),
        ["isotonic", "sigmoid", np.str_("sigmoid")],
        ["platt", None, 1, ["isotonic"]],
        "'isotonic' or 'sigmoid'",
    ),
    (
        Options(None, "balanced"),
        [None, "balanced"],
        ["Balanced", {0: 1}, np.array([1, 2]), 0],
        "None or 'balanced'",
    ),
    (Options(1, 2.5), [1, 1.0, np.int64(1), 2.5], [True, "1", 3], "1 or 2.5"),
    (InstanceOf(dict), [{}, {0: 1}], [[], None], "an instance of dict"),
    (
        SequenceOf(str, length=3),
        [("a", "b", "c"), ["a", "b", "c"], pd.Index(["a", "b", "c"])],
        ["abc", ("a", "b"), ("a", "b", 3), {"a": 1, "b": 2, "c": 3}, 3],
        "a sequence of 3 str",
    ),
    (
        Satisfies(lambda v: pd.Timedelta(v) > pd.Timedelta(0), expected="a positive duration"),
        ["28D", pd.Timedelta("1h")],
        ["soon", "-1D", object()],
        "a positive duration",
    ),
    (
        Duration(),
        [28, "28D", "12h", pd.Timedelta("2W")],
        ["soon", 0, -3, "-1D", None, True],
        "a positive duration such as '28D' or 28 (days)",
    ),
    (AnyOf(Integer(min=1), None), [None, 1, 50], [0, 1.5, "none"], "an integer >= 1 or None"),
    (
        AnyOf(Options(None, "balanced"), InstanceOf(dict, expected="a dict {label: weight}")),
        [None, "balanced", {0: 1.0}],
        ["auto", [1, 2]],
        "None, 'balanced' or a dict {label: weight}",
    ),
    (
        AnyOf(Integer(min=1), Real(0, 1, closed="neither"), expected="latest cutoffs or a share"),
        [1, 3, 0.5],
        [0, 1.0, 1.5, True, None],
        "latest cutoffs or a share",
    ),
]


@pytest.mark.parametrize(
    ("rule", "good", "bad", "expected"),
    RULES,
    ids=[f"{type(r[0]).__name__}-{i}" for i, r in enumerate(RULES)],
)
def test_each_kind_of_rule_accepts_good_values_and_names_bad_ones(rule, good, bad, expected):
    assert rule.expected == expected
    for value in good:
        assert rule.accepts(value), value
        check_parameters({"p": value}, {"p": rule})
    for value in bad:
        assert not rule.accepts(value), value
        detail = r"( \(.*\))?"  # what is wrong, when the rule can say
        pattern = rf"^p={re.escape(repr(value)[:20])}.*; expected {re.escape(expected)}{detail}$"
        with pytest.raises(ChurnModelError, match=pattern):
            check_parameters({"p": value}, {"p": rule})


def test_check_parameters_reports_the_first_bad_parameter_in_table_order():
    table = {"a": Integer(min=1), "b": Options("x", "y"), "c": Real(min=0)}
    check_parameters({"a": 1, "b": "x", "c": 0.0, "unchecked": object()}, table)
    with pytest.raises(ChurnModelError, match=r"^b='z'; expected 'x' or 'y'$"):
        check_parameters({"a": 1, "b": "z", "c": -1}, table)
    with pytest.raises(ValueError, match=r"^c=-1; expected a number >= 0$") as info:
        check_parameters({"a": 1, "b": "x", "c": -1}, table, error=ValueError)
    assert type(info.value) is ValueError


def test_a_table_naming_an_unknown_parameter_is_a_bug_of_the_table():
    with pytest.raises(KeyError, match="'d', which is not a parameter"):
        check_parameters({"a": 1}, {"a": Integer(), "d": Integer()})


def test_long_values_are_shortened_in_messages():
    with pytest.raises(ChurnModelError) as info:
        check_parameters({"p": "x" * 500}, {"p": Options("a")})
    assert len(str(info.value)) < 80
    assert str(info.value).endswith("; expected 'a'")


def test_bad_bounds_keyword_is_refused():
    with pytest.raises(ValueError, match="closed='open'"):
        Real(0, 1, closed="open")


# --------------------------------------------------------------------------- estimator tables
@pytest.mark.parametrize(
    "cls", [ChurnModel, LogisticBaseline, BGNBDBaseline], ids=lambda c: c.__name__
)
def test_tables_cover_every_parameter_and_accept_the_defaults(cls):
    assert issubclass(cls, ParameterChecksMixin)
    assert set(cls._parameter_constraints) == set(cls().get_params())
    cls().check_params()


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [
        (ChurnModel, {"n_estimators": 0}, "n_estimators=0; expected an integer >= 1"),
        (ChurnModel, {"learning_rate": 1.5}, r"learning_rate=1.5; expected a number in \(0, 1\]"),
        (ChurnModel, {"reg_lambda": -1}, "reg_lambda=-1; expected a number >= 0"),
        (
            ChurnModel,
            {"validation_cutoffs": 1.0},
            r"validation_cutoffs=1.0; expected an integer >= 1 \(latest cutoffs\) or a share",
        ),
        (
            ChurnModel,
            {"horizon": "-28D"},
            "horizon='-28D'; expected None or a positive duration such as '28D'",
        ),
        (ChurnModel, {"tune": -1}, "tune=-1; expected True/False or a number of candidates"),
        (ChurnModel, {"random_state": "seed"}, "random_state='seed'; expected None, an integer"),
        (ChurnModel, {"n_jobs": 1.5}, "n_jobs=1.5; expected an integer or None"),
        (LogisticBaseline, {"C": 0}, "C=0; expected a number > 0"),
        (
            LogisticBaseline,
            {"class_weight": "auto"},
            r"class_weight='auto'; expected None, 'balanced' or a dict \{label: weight\}",
        ),
        (LogisticBaseline, {"max_iter": 0}, "max_iter=0; expected an integer >= 1"),
        (BGNBDBaseline, {"columns": ("a", "b")}, r"columns=\('a', 'b'\); expected three column"),
        (BGNBDBaseline, {"penalizer": -0.5}, "penalizer=-0.5; expected a number >= 0"),
        (BGNBDBaseline, {"refit": "yes"}, "refit='yes'; expected True or False"),
        (BGNBDBaseline, {"horizon": "soon"}, "horizon='soon'; expected a positive duration"),
    ],
)
def test_estimator_messages_name_parameter_value_and_expectation(cls, params, message):
    with pytest.raises(ChurnModelError, match=message):
        cls(**params).check_params()


# ---------------------------------------------------------------- one exception family
@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: cp_features.EngagementFeatures(windows=()), "windows"),
        (lambda: cp_features.SupportFeatures(low_csat=7), "low_csat"),
        (lambda: cp_features.ProfileFeatures(max_categories=1), "max_categories"),
        (lambda: cp_features.TenureFeatures(onboarding_days=-1), "onboarding_days"),
        (lambda: cp_features.PurchaseHistoryFeatures(source="basket"), "source"),
        (lambda: cp_features.UsageFeatures(session_gap="soon"), "session_gap"),
    ],
)
def test_a_bad_builder_parameter_raises_the_one_parameter_error(make, name):
    from churnpredict._exceptions import ChurnParameterError

    with pytest.raises(ChurnParameterError, match=rf"^{name}=") as info:
        make().fit_parameters()
    assert isinstance(info.value, ValueError) and isinstance(info.value, ChurnModelError)


def test_estimators_and_the_pipeline_check_their_tables_when_fitted():
    """The decorator refuses before any work: no data is needed to see the bad value."""
    from churnpredict._exceptions import ChurnParameterError
    from churnpredict._pipeline import ChurnPipeline

    with pytest.raises(ChurnParameterError, match="^n_estimators=0"):
        ChurnModel(n_estimators=0).fit(None, None)
    with pytest.raises(ChurnParameterError, match="^C=-1"):
        LogisticBaseline(C=-1).fit(None, None)
    with pytest.raises(ChurnParameterError, match="^n_cutoffs=0"):
        ChurnPipeline(n_cutoffs=0).fit(None)
    with pytest.raises(ChurnParameterError, match="^horizon='soon'.*is not a duration"):
        ChurnPipeline(horizon="soon").fit(None)
    # the pipeline's model is one of its parameters
    with pytest.raises(ChurnParameterError, match="^max_depth=0"):
        ChurnPipeline(model=ChurnModel(max_depth=0)).fit(None)
    with pytest.raises(ChurnParameterError, match="span .* years"):
        ChurnPipeline(n_cutoffs=10_000, cutoff_freq="30D").fit(None)


def test_checks_parameters_runs_the_table_before_the_method():
    from churnpredict._params import checks_parameters

    calls = []

    class Model(ParameterChecksMixin):
        _parameter_constraints = {"depth": Integer(min=1)}

        def __init__(self, depth=3):
            self.depth = depth

        @checks_parameters
        def fit(self):
            calls.append(self.depth)
            return self

    assert Model(depth=2).fit().depth == 2
    with pytest.raises(ValueError, match="depth=0; expected an integer >= 1"):
        Model(depth=0).fit()
    assert calls == [2]
