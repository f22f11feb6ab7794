"""Each kind, status and month length is defined once (churnpredict._kinds, windows)."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

import churnpredict
from churnpredict import _kinds as kinds
from churnpredict import _windows as windows

PACKAGE = Path(churnpredict.__file__).parent
SOURCES = {p: p.read_text(encoding="utf-8") for p in PACKAGE.rglob("*.py")}


@pytest.mark.parametrize(
    ("values", "literal"),
    [
        (kinds.BUSINESS_KINDS, kinds.BusinessKind),
        (kinds.LABEL_KINDS, kinds.LabelKind),
        (kinds.STATUSES, kinds.Status),
        (kinds.PAYMENT_STATUSES, kinds.PaymentStatus),
        (kinds.CHURN_TYPES, kinds.ChurnType),
        (kinds.ACTIVITY_VALUE_KINDS, kinds.ActivityValueKind),
        (kinds.GROUPS, kinds.Group),
    ],
)
def test_each_tuple_is_its_literal(values, literal):
    assert values == get_args(literal) and len(set(values)) == len(values)


def _collections(tree: ast.AST):
    """The string values of every tuple, list and set written in code (not in docstrings)."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and node.elts:
            if all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
                yield node.lineno, {e.value for e in node.elts}


TREES = {str(p.relative_to(PACKAGE)): ast.parse(text) for p, text in SOURCES.items()}


@pytest.mark.parametrize(
    "values",
    [
        kinds.BUSINESS_KINDS,
        kinds.LABEL_KINDS,
        kinds.STATUSES,
        kinds.PAYMENT_STATUSES,
        kinds.CHURN_TYPES,
        kinds.ACTIVITY_VALUE_KINDS,
    ],
)
def test_no_module_spells_a_kind_list_again(values):
    """Every value of a kind, as a tuple, list or set in code, is written only in kinds.py."""
    found = [
        f"{name}:{line}"
        for name, tree in TREES.items()
        if name != "_kinds.py"
        for line, written in _collections(tree)
        if set(values) <= written
    ]
    assert not found, f"{values} spelled out again at {found}; import it from churnpredict._kinds"


def test_one_month_length():
    found = [
        f"{name}:{node.lineno}"
        for name, tree in TREES.items()
        if name != "_windows.py"
        for node in ast.walk(tree)
        if (isinstance(node, ast.Constant) and node.value == 30.4375)
        or (
            isinstance(node, ast.BinOp)
            and isinstance(node.left, ast.Constant)
            and node.left.value == 365.25
            and isinstance(node.right, ast.Constant)
            and node.right.value == 12
        )
    ]
    assert not found, f"a month's length is written again at {found}; use windows.DAYS_PER_MONTH"
    assert windows.horizon_months("365.25D") == pytest.approx(12.0)
    assert windows.horizon_months(28) == pytest.approx(28 / windows.DAYS_PER_MONTH)
