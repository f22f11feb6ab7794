"""Estimator parameters: declared parameter checks.

Estimators and feature builders take their parameters by keyword only. Each declares what
its parameters accept as a table, ``_parameter_constraints = {"n_estimators": Integer(min=1),
...}``, and :func:`check_parameters` (or :meth:`ParameterChecksMixin.check_params`) checks
the values against it, naming the parameter, the bad value and what is expected. Methods that need
checked parameters (``fit``) are decorated with :func:`checks_parameters` instead of calling
the check by hand. Every bad value raises :class:`~churnpredict._exceptions.
ChurnParameterError`, a ``ValueError``.

A leaf module: it imports nothing from the package but its exceptions and ``windows``.

Examples
--------
>>> check_parameters({"n_estimators": 0}, {"n_estimators": Integer(min=1)})
Traceback (most recent call last):
...
churnpredict._exceptions.ChurnParameterError: n_estimators=0; expected an integer >= 1
>>> AnyOf(Options("isotonic", "sigmoid"), None).expected
"'isotonic', 'sigmoid' or None"
"""

from __future__ import annotations

import functools
import numbers
import reprlib
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd

from ._exceptions import ChurnParameterError
from ._windows import parse_window

__all__ = [
    "Constraint",
    "Integer",
    "Real",
    "Boolean",
    "Options",
    "InstanceOf",
    "SequenceOf",
    "Satisfies",
    "Duration",
    "Windows",
    "AnyOf",
    "check_parameters",
    "checks_parameters",
    "ParameterChecksMixin",
]

F = TypeVar("F", bound=Callable[..., Any])

_short_repr = reprlib.Repr()
_short_repr.maxstring = 40
_short_repr.maxother = 40


def _number(value: Any) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def _is_real(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, (bool, np.bool_))
        and not (isinstance(value, float) and np.isnan(value))
    )


def _join(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


class Constraint:
    """One rule of a parameter table: what values it accepts and how to say so.

    Subclasses implement :meth:`accepts` and ``_alternatives``; ``expected`` (the words of
    an error message after "expected") joins the alternatives, unless given.
    """

    def __init__(self, *, expected: str | None = None) -> None:
        self._expected = expected

    def accepts(self, value: Any) -> bool:
        """True when ``value`` satisfies the rule."""
        raise NotImplementedError

    def why(self, value: Any) -> str | None:
        """What is wrong with a rejected ``value`` beyond "expected ...", if anything."""
        return None

    def alternatives(self) -> list[str]:
        """The accepted kinds of value, in words (joined by :attr:`expected`)."""
        return [self._expected] if self._expected is not None else self._alternatives()

    def _alternatives(self) -> list[str]:
        raise NotImplementedError

    @property
    def expected(self) -> str:
        """What the rule accepts, in words: "an integer >= 1", "'a', 'b' or None"."""
        return _join(self.alternatives())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.expected!r})"


class _Interval(Constraint):
    noun = "a number"

    def __init__(
        self, min: Any = None, max: Any = None, *, closed: str = "both", expected: str | None = None
    ) -> None:
        if closed not in ("both", "left", "right", "neither"):
            raise ValueError(f"closed={closed!r}; expected 'both', 'left', 'right' or 'neither'")
        super().__init__(expected=expected)
        self.min, self.max, self.closed = min, max, closed

    def _kind(self, value: Any) -> bool:
        raise NotImplementedError

    def accepts(self, value: Any) -> bool:
        if not self._kind(value):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.min is not None and not (value >= self.min if left else value > self.min):
            return False
        return self.max is None or bool(value <= self.max if right else value < self.max)

    def _alternatives(self) -> list[str]:
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.min is not None and self.max is not None:
            return [
                f"{self.noun} in {'[' if left else '('}{_number(self.min)}, "
                f"{_number(self.max)}{']' if right else ')'}"
            ]
        if self.min is not None:
            return [f"{self.noun} {'>=' if left else '>'} {_number(self.min)}"]
        if self.max is not None:
            return [f"{self.noun} {'<=' if right else '<'} {_number(self.max)}"]
        return [self.noun]


class Integer(_Interval):
    """An integer (not a bool), optionally within bounds.

    Parameters
    ----------
    min, max : int, optional
        Bounds; ``closed`` says which are included (default both).
    closed : {"both", "left", "right", "neither"}, default "both"
    expected : str, optional
        Words for the error message instead of "an integer >= 1" and the like.
    """

    noun = "an integer"

    def _kind(self, value: Any) -> bool:
        return _is_int(value)


class Real(_Interval):
    """A real number (integers included; not a bool, not NaN), optionally within bounds.

    Parameters
    ----------
    min, max : float, optional
        Bounds; ``closed`` says which are included (default both).
    closed : {"both", "left", "right", "neither"}, default "both"
    expected : str, optional
        Words for the error message instead of "a number in (0, 1]" and the like.
    """

    def _kind(self, value: Any) -> bool:
        return _is_real(value)


class Boolean(Constraint):
    """``True`` or ``False`` (a Python or numpy bool)."""

    def accepts(self, value: Any) -> bool:
        return isinstance(value, (bool, np.bool_))

    def _alternatives(self) -> list[str]:
        return ["True", "False"]


class Options(Constraint):
    """One of the listed values (compared by type and equality; ``None`` by identity).

    Parameters
    ----------
    *values
        The accepted values.
    expected : str, optional
    """

    def __init__(self, *values: Any, expected: str | None = None) -> None:
        super().__init__(expected=expected)
        self.values = values

    def accepts(self, value: Any) -> bool:
        for option in self.values:
            if value is option:
                return True
            if option is None or isinstance(value, (bool, np.bool_)) != isinstance(option, bool):
                continue
            same_kind = (
                _is_real(value)
                if isinstance(option, numbers.Real)
                else isinstance(value, type(option))
            )
            if same_kind:
                try:
                    if bool(value == option):
                        return True
                except (TypeError, ValueError):
                    continue
        return False

    def _alternatives(self) -> list[str]:
        return [repr(v) for v in self.values]


class InstanceOf(Constraint):
    """An instance of one of the given types.

    Parameters
    ----------
    *types : type
    expected : str, optional
        Defaults to "an instance of dict" and the like.
    """

    def __init__(self, *types: type, expected: str | None = None) -> None:
        super().__init__(expected=expected)
        self.types = types

    def accepts(self, value: Any) -> bool:
        return isinstance(value, self.types)

    def _alternatives(self) -> list[str]:
        return [f"an instance of {t.__name__}" for t in self.types]


class SequenceOf(Constraint):
    """A sequence (not a string or a mapping) of items of one type, optionally of one length.

    Lists, tuples, arrays and pandas indexes qualify.

    Parameters
    ----------
    item : type
    length : int, optional
    expected : str, optional
    """

    def __init__(
        self, item: type, *, length: int | None = None, expected: str | None = None
    ) -> None:
        super().__init__(expected=expected)
        self.item, self.length = item, length

    def accepts(self, value: Any) -> bool:
        if isinstance(value, (str, bytes, Mapping)) or not (
            hasattr(value, "__len__") and hasattr(value, "__iter__")
        ):
            return False
        if self.length is not None and len(value) != self.length:
            return False
        return all(isinstance(v, self.item) for v in value)

    def _alternatives(self) -> list[str]:
        size = "" if self.length is None else f"{self.length} "
        return [f"a sequence of {size}{self.item.__name__}"]


class Satisfies(Constraint):
    """A value for which ``predicate(value)`` is true (a ValueError or TypeError is false).

    Parameters
    ----------
    predicate : callable
        ``predicate(value) -> bool``.
    expected : str
        What the predicate accepts, in words.
    """

    def __init__(self, predicate: Callable[[Any], bool], *, expected: str) -> None:
        super().__init__(expected=expected)
        self.predicate = predicate

    def accepts(self, value: Any) -> bool:
        try:
            return bool(self.predicate(value))
        except (TypeError, ValueError):
            return False

    def _alternatives(self) -> list[str]:
        return [str(self._expected)]


class Duration(Constraint):
    """A positive duration as :func:`churnpredict._windows.parse_window` reads it.

    Days (``28``), a string such as ``"28D"`` or ``"12h"``, or a Timedelta.

    Parameters
    ----------
    expected : str, optional
    """

    def accepts(self, value: Any) -> bool:
        return self.why(value) is None

    def why(self, value: Any) -> str | None:
        try:
            parse_window(value)
        except (TypeError, ValueError) as exc:
            return str(exc)
        return None

    def _alternatives(self) -> list[str]:
        return ["a positive duration such as '28D' or 28 (days)"]


class Windows(Constraint):
    """Feature windows: one positive duration or a non-empty sequence of them.

    Each as :func:`churnpredict._windows.parse_window` reads it (days, ``"30D"``, a
    Timedelta).

    Parameters
    ----------
    expected : str, optional
    """

    def accepts(self, value: Any) -> bool:
        return self.why(value) is None

    def why(self, value: Any) -> str | None:
        if isinstance(value, (str, numbers.Real, pd.Timedelta)):
            value = (value,)
        if isinstance(value, Mapping) or not hasattr(value, "__iter__"):
            return "not a sequence of durations"
        items = list(value)
        if not items:
            return "it is empty"
        for window in items:
            try:
                parse_window(window)
            except (TypeError, ValueError) as exc:
                return str(exc)
        return None

    def _alternatives(self) -> list[str]:
        return ["a positive duration or a non-empty sequence of them, such as (30, 90) days"]


class AnyOf(Constraint):
    """Any of several rules; ``None`` among them stands for the value None.

    Parameters
    ----------
    *rules : Constraint or None
    expected : str, optional
        Defaults to the rules' alternatives joined: "an integer >= 1 or None".
    """

    def __init__(self, *rules: Constraint | None, expected: str | None = None) -> None:
        super().__init__(expected=expected)
        self.rules = tuple(Options(None) if r is None else r for r in rules)

    def accepts(self, value: Any) -> bool:
        return any(rule.accepts(value) for rule in self.rules)

    def why(self, value: Any) -> str | None:
        return next((w for w in (rule.why(value) for rule in self.rules) if w), None)

    def _alternatives(self) -> list[str]:
        return [part for rule in self.rules for part in rule.alternatives()]


def check_parameters(
    params: Mapping[str, Any],
    constraints: Mapping[str, Constraint],
    *,
    error: type[Exception] = ChurnParameterError,
) -> None:
    """Check parameter values against a table of rules.

    Parameters
    ----------
    params : mapping
        Parameter name -> value (e.g. ``estimator.get_params(deep=False)``).
    constraints : mapping
        Parameter name -> :class:`Constraint`; names absent from ``params`` are an error
        of the table itself (``KeyError``), parameters without a rule are not checked.
    error : exception class, default ChurnParameterError

    Raises
    ------
    error
        For the first parameter (in table order) whose value the rule rejects:
        ``"name=value; expected ..."``, then what is wrong when the rule can say
        (``" (it is empty)"``).
    """
    for name, rule in constraints.items():
        if name not in params:
            raise KeyError(f"the parameter table names {name!r}, which is not a parameter")
        value = params[name]
        if not rule.accepts(value):
            why = rule.why(value)
            raise error(
                f"{name}={_short_repr.repr(value)}; expected {rule.expected}"
                + (f" ({why})" if why else "")
            )


class ParameterChecksMixin:
    """``check_params()`` for an estimator that declares ``_parameter_constraints``."""

    #: Parameter name -> :class:`Constraint`.
    _parameter_constraints: ClassVar[dict[str, Constraint]] = {}

    def check_params(self) -> None:
        """Check the constructor parameters against the class's table.

        Then :meth:`_check_parameter_combination` checks rules between parameters.

        Raises
        ------
        ChurnParameterError
            Naming the parameter, its value and what is expected.
        """
        params = {name: getattr(self, name) for name in self._parameter_constraints}
        check_parameters(params, self._parameter_constraints)
        self._check_parameter_combination()

    def _check_parameter_combination(self) -> None:
        """Rules no single parameter's constraint can state (a hook; none by default).

        Raises
        ------
        ChurnParameterError
        """


def checks_parameters(method: F) -> F:
    """Decorate a method so that it checks ``self``'s parameters before it runs.

    ``self`` is a :class:`ParameterChecksMixin`: :meth:`~ParameterChecksMixin.check_params`
    runs first, so a bad parameter is refused before any work, naming the parameter.

    Examples
    --------
    >>> class Model(ParameterChecksMixin):
    ...     _parameter_constraints = {"depth": Integer(min=1)}
    ...     def __init__(self, depth=3):
    ...         self.depth = depth
    ...     @checks_parameters
    ...     def fit(self):
    ...         return self
    >>> Model(depth=0).fit()
    Traceback (most recent call last):
    ...
    churnpredict._exceptions.ChurnParameterError: depth=0; expected an integer >= 1
    """

    @functools.wraps(method)
    def wrapper(self: ParameterChecksMixin, *args: Any, **kwargs: Any) -> Any:
        self.check_params()
        return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
