"""Fitted state as plain JSON: a tagged encoding of numbers, text, arrays and pandas values.

Model bundles never hold a pickle. Estimators persist through :class:`JSONStateMixin`:
:meth:`~JSONStateMixin.get_state` gives the class's import path, its parameters and every
fitted attribute (a name ending in ``_``) as JSON values, and
:meth:`~JSONStateMixin.from_state` rebuilds the estimator from them. Values JSON has no type
for carry a ``"__type__"`` tag: tuples, sets, non-finite floats, numpy scalars and arrays,
pandas ``Index`` / ``Categorical`` / ``Series`` / ``DataFrame``, ``Timestamp``, ``Timedelta``
and ``NaT``. Decoding builds only those types: it never imports or calls anything named in
the data, except :func:`resolve_class`, which imports the module of a class path (see
``docs/trust.md``).
"""

from __future__ import annotations

import datetime as _dt
import importlib
import math
import os
import re
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ._classpaths import check_class_path
from ._exceptions import BundleError
from ._windows import to_naive_utc

__all__ = ["JSONStateMixin", "class_path", "from_json", "resolve_class", "to_json"]

_TAG = "__type__"
_FITTED_NAME = re.compile(r"^_?[A-Za-z][A-Za-z0-9_]*[A-Za-z0-9]_$")


# --------------------------------------------------------------------------- encoding
def _float(value: float) -> Any:
    if math.isfinite(value):
        return value
    return {
        _TAG: "float",
        "value": "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"),
    }


def _array(value: np.ndarray, where: str) -> dict[str, Any]:
    kind = value.dtype.kind
    flat = value.reshape(-1)
    if kind in "biu":
        data: Any = flat.tolist()
    elif kind == "f":
        data = flat.tolist()
        if not np.isfinite(flat).all():
            data = [_float(v) for v in data]
    elif kind in "mM":
        data = flat.view(np.int64).tolist()
    elif kind == "U":
        data = flat.tolist()
    elif kind == "O":
        data = [to_json(v, where) for v in flat]
    else:
        raise TypeError(f"{where}: numpy arrays of dtype {value.dtype} cannot be stored as JSON")
    return {
        _TAG: "ndarray",
        "dtype": value.dtype.str if kind in "mMU" else str(value.dtype),
        "shape": list(value.shape),
        "data": data,
    }


def _index(value: pd.Index, where: str) -> dict[str, Any]:
    if isinstance(value, pd.MultiIndex):
        return {
            _TAG: "multiindex",
            "names": to_json(list(value.names), where),
            "levels": [_index(level, where) for level in value.levels],
            "codes": [np.asarray(c).tolist() for c in value.codes],
        }
    if isinstance(value, pd.RangeIndex):
        return {
            _TAG: "rangeindex",
            "start": value.start,
            "stop": value.stop,
            "step": value.step,
            "name": to_json(value.name, where),
        }
    if isinstance(value, pd.CategoricalIndex):
        return {
            _TAG: "categoricalindex",
            "name": to_json(value.name, where),
            "values": to_json(value.array, where),
        }
    values = np.asarray(
        value.to_numpy(dtype=object)
        if (isinstance(value.dtype, pd.DatetimeTZDtype) or not isinstance(value.dtype, np.dtype))
        else value.to_numpy()
    )
    return {
        _TAG: "index",
        "name": to_json(value.name, where),
        "dtype": str(value.dtype),
        "values": _array(values, where),
    }


def _scalar(value: np.generic, where: str) -> dict[str, Any]:
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return {_TAG: "numpy", "dtype": value.dtype.str, "value": int(value.view(np.int64))}
    if value.dtype.kind not in "biuf":
        raise TypeError(f"{where}: numpy {value.dtype} values cannot be stored as JSON")
    return {_TAG: "numpy", "dtype": str(value.dtype), "value": to_json(value.item())}


def _set(value: set | frozenset, where: str) -> dict[str, Any]:
    items = list(value)
    try:
        items = sorted(items)
    except TypeError:
        items = sorted(items, key=repr)
    return {_TAG: type(value).__name__, "items": [to_json(v, where) for v in items]}


def _dict(value: dict, where: str) -> dict[str, Any]:
    if all(isinstance(k, str) for k in value) and _TAG not in value:
        return {k: to_json(v, f"{where}[{k!r}]") for k, v in value.items()}
    return {
        _TAG: "dict",
        "items": [[to_json(k, where), to_json(v, f"{where}[{k!r}]")] for k, v in value.items()],
    }


def _timestamp(value: pd.Timestamp, where: str) -> dict[str, Any]:
    return {
        _TAG: "timestamp",
        "value": to_naive_utc(value).isoformat(),
        "tz": None if value.tz is None else str(value.tz),
        "unit": value.unit,
    }


def _categorical(value: pd.Categorical, where: str) -> dict[str, Any]:
    return {
        _TAG: "categorical",
        "categories": _index(value.categories, where),
        "ordered": bool(value.ordered),
        "codes": np.asarray(value.codes).tolist(),
    }


def _categorical_dtype(value: pd.CategoricalDtype, where: str) -> dict[str, Any]:
    return {
        _TAG: "categorical_dtype",
        "ordered": bool(value.ordered),
        "categories": (None if value.categories is None else _index(value.categories, where)),
    }


def _series(value: pd.Series, where: str) -> dict[str, Any]:
    values = (
        value.array
        if isinstance(value.dtype, pd.CategoricalDtype)
        else value.to_numpy(dtype=object)
        if not isinstance(value.dtype, np.dtype)
        else value.to_numpy()
    )
    return {
        _TAG: "series",
        "name": to_json(value.name, where),
        "dtype": str(value.dtype),
        "index": _index(value.index, where),
        "values": to_json(values, where),
    }


def _frame(value: pd.DataFrame, where: str) -> dict[str, Any]:
    return {
        _TAG: "dataframe",
        "index": _index(value.index, where),
        "columns": _index(value.columns, where),
        "data": [
            to_json(value.iloc[:, i], f"{where}[{value.columns[i]!r}]")
            for i in range(value.shape[1])
        ],
    }


#: The encoder of each type. :func:`to_json` walks the value's class hierarchy (its MRO) and
#: takes the first type listed, so the most specific one wins: a numpy float is a
#: ``np.generic`` before it is a ``float``, a ``pd.Timestamp`` (and ``NaT``) is not encoded
#: as a ``datetime``, a ``bool`` is not an ``int``.
_ENCODERS: dict[type, Callable[[Any, str], Any]] = {
    type(None): lambda value, where: value,
    bool: lambda value, where: value,
    str: lambda value, where: value,
    int: lambda value, where: int(value),
    float: lambda value, where: _float(float(value)),
    type(pd.NaT): lambda value, where: {_TAG: "nat"},
    np.generic: _scalar,
    list: lambda value, where: [to_json(v, where) for v in value],
    tuple: lambda value, where: {_TAG: "tuple", "items": [to_json(v, where) for v in value]},
    set: _set,
    frozenset: _set,
    dict: _dict,
    pd.Timestamp: _timestamp,
    pd.Timedelta: lambda value, where: {
        _TAG: "timedelta",
        "value": str(value),
        "unit": value.unit,
    },
    _dt.datetime: lambda value, where: {_TAG: "datetime", "value": value.isoformat()},
    _dt.date: lambda value, where: {_TAG: "date", "value": value.isoformat()},
    _dt.timedelta: lambda value, where: {
        _TAG: "pytimedelta",
        "days": value.days,
        "seconds": value.seconds,
        "microseconds": value.microseconds,
    },
    np.ndarray: _array,
    pd.Index: _index,
    pd.Categorical: _categorical,
    pd.CategoricalDtype: _categorical_dtype,
    pd.Series: _series,
    pd.DataFrame: _frame,
    np.dtype: lambda value, where: {_TAG: "dtype", "value": value.str},
}


def _encoder(kind: type) -> Callable[[Any, str], Any] | None:
    """The encoder of the most specific listed type ``kind`` derives from, if any."""
    for base in kind.__mro__:
        encode = _ENCODERS.get(base)
        if encode is not None:
            return encode
    return None


def to_json(value: Any, where: str = "value") -> Any:
    """Encode ``value`` as JSON-ready data (exact: :func:`from_json` gives it back).

    Parameters
    ----------
    value : object
        None, bool, int, float, str, list, tuple, set, dict, numpy scalars and arrays
        (numbers, booleans, text, datetime64, timedelta64, object arrays of these), pandas
        ``Index`` (also Range, Multi, Datetime, Categorical), ``Categorical``,
        ``CategoricalDtype``, ``Series``, ``DataFrame``, ``Timestamp``, ``Timedelta``,
        ``NaT``, ``datetime.datetime`` / ``date`` / ``timedelta``, nested freely.
    where : str
        Names the value in the error message.

    Returns
    -------
    object
        Built from dict, list, str, int, float, bool and None only.

    Raises
    ------
    TypeError
        For any other type (naming ``where`` and the type).

    Examples
    --------
    >>> import pandas as pd
    >>> to_json((3, float("nan")))
    {'__type__': 'tuple', 'items': [3, {'__type__': 'float', 'value': 'nan'}]}
    >>> from_json(to_json((pd.Timedelta("30D"), 2)))
    (Timedelta('30 days 00:00:00'), 2)
    """
    encode = _encoder(type(value))
    if encode is None:
        raise TypeError(
            f"{where} holds a {type(value).__module__}.{type(value).__qualname__}, "
            f"which cannot be stored as JSON"
        )
    return encode(value, where)


# --------------------------------------------------------------------------- decoding
def _need(obj: dict[str, Any], key: str, types: Any) -> Any:
    if key not in obj:
        raise ValueError(f"a {obj.get(_TAG)!r} value lacks {key!r}")
    value = obj[key]
    if not isinstance(value, types) or (
        isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,))
    ):
        raise ValueError(f"{obj.get(_TAG)!r}.{key} has type {type(value).__name__}")
    return value


def _decode_float(text: Any) -> float:
    table = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
    if text not in table:
        raise ValueError(f"float value {text!r}; expected nan, inf or -inf")
    return table[text]


def _decode_array(obj: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype(_need(obj, "dtype", str))
    shape = tuple(int(n) for n in _need(obj, "shape", list))
    data = _need(obj, "data", list)
    if dtype.kind in "mM":
        out = np.asarray(data, dtype=np.int64).view(dtype)
    elif dtype.kind == "O":
        out = np.empty(len(data), dtype=object)
        out[:] = [from_json(v) for v in data] if data else []
    elif dtype.kind in "biufU":
        out = np.asarray(
            [_decode_float(v["value"]) if isinstance(v, dict) else v for v in data]
            if dtype.kind == "f"
            else data,
            dtype=dtype,
        )
    else:
        raise ValueError(f"arrays of dtype {dtype} are not supported")
    if out.size != math.prod(shape):
        raise ValueError(f"array of shape {shape} holds {out.size} values")
    return out.reshape(shape)


def _decode_index(obj: dict[str, Any]) -> pd.Index:
    tag = obj.get(_TAG)
    if tag == "multiindex":
        return pd.MultiIndex(
            levels=[_decode_index(x) for x in _need(obj, "levels", list)],
            codes=_need(obj, "codes", list),
            names=from_json(_need(obj, "names", list)),
        )
    if tag == "rangeindex":
        return pd.RangeIndex(
            _need(obj, "start", int),
            _need(obj, "stop", int),
            _need(obj, "step", int),
            name=from_json(obj.get("name")),
        )
    if tag == "categoricalindex":
        return pd.CategoricalIndex(
            from_json(_need(obj, "values", dict)), name=from_json(obj.get("name"))
        )
    if tag == "index":
        values = _decode_array(_need(obj, "values", dict))
        return pd.Index(values, dtype=_need(obj, "dtype", str), name=from_json(obj.get("name")))
    raise ValueError(f"expected an index, found {tag!r}")


def _decode_scalar(obj: dict[str, Any]) -> Any:
    dtype = np.dtype(_need(obj, "dtype", str))
    if dtype.kind in "mM":
        return np.int64(_need(obj, "value", int)).view(dtype)
    if dtype.kind not in "biuf":
        raise ValueError(f"numpy scalars of dtype {dtype} are not supported")
    return dtype.type(from_json(obj.get("value")))


def _decode_set(obj: dict[str, Any]) -> set | frozenset:
    items = [from_json(v) for v in _need(obj, "items", list)]
    return set(items) if obj[_TAG] == "set" else frozenset(items)


def _decode_timestamp(obj: dict[str, Any]) -> pd.Timestamp:
    stamp = pd.Timestamp(_need(obj, "value", str))
    if obj.get("tz") is not None:
        stamp = stamp.tz_localize("UTC").tz_convert(_need(obj, "tz", str))
    return stamp.as_unit(obj["unit"]) if obj.get("unit") else stamp


def _decode_timedelta(obj: dict[str, Any]) -> pd.Timedelta:
    delta = pd.Timedelta(_need(obj, "value", str))
    return delta.as_unit(obj["unit"]) if obj.get("unit") else delta


def _decode_categorical(obj: dict[str, Any]) -> pd.Categorical:
    categories = _decode_index(_need(obj, "categories", dict))
    return pd.Categorical.from_codes(
        _need(obj, "codes", list),
        dtype=pd.CategoricalDtype(categories, ordered=bool(obj.get("ordered"))),
    )


def _decode_categorical_dtype(obj: dict[str, Any]) -> pd.CategoricalDtype:
    cats = obj.get("categories")
    return pd.CategoricalDtype(
        None if cats is None else _decode_index(cats), ordered=bool(obj.get("ordered"))
    )


def _decode_series(obj: dict[str, Any]) -> pd.Series:
    values = from_json(obj.get("values"))
    dtype = _need(obj, "dtype", str)
    return pd.Series(
        values,
        index=_decode_index(_need(obj, "index", dict)),
        dtype=None if dtype == "category" else dtype,
        name=from_json(obj.get("name")),
    )


def _decode_frame(obj: dict[str, Any]) -> pd.DataFrame:
    columns = _decode_index(_need(obj, "columns", dict))
    data = [from_json(s) for s in _need(obj, "data", list)]
    frame = (
        pd.concat(data, axis=1)
        if data
        else pd.DataFrame(index=_decode_index(_need(obj, "index", dict)))
    )
    frame.columns = columns
    return frame


#: The decoder of each tag :func:`to_json` writes.
_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "float": lambda obj: _decode_float(obj.get("value")),
    "nat": lambda obj: pd.NaT,
    "numpy": _decode_scalar,
    "tuple": lambda obj: tuple(from_json(v) for v in _need(obj, "items", list)),
    "set": _decode_set,
    "frozenset": _decode_set,
    "dict": lambda obj: {from_json(k): from_json(v) for k, v in _need(obj, "items", list)},
    "timestamp": _decode_timestamp,
    "timedelta": _decode_timedelta,
    "datetime": lambda obj: _dt.datetime.fromisoformat(_need(obj, "value", str)),
    "date": lambda obj: _dt.date.fromisoformat(_need(obj, "value", str)),
    "pytimedelta": lambda obj: _dt.timedelta(
        days=_need(obj, "days", int),
        seconds=_need(obj, "seconds", int),
        microseconds=_need(obj, "microseconds", int),
    ),
    "ndarray": _decode_array,
    "index": _decode_index,
    "multiindex": _decode_index,
    "rangeindex": _decode_index,
    "categoricalindex": _decode_index,
    "categorical": _decode_categorical,
    "categorical_dtype": _decode_categorical_dtype,
    "series": _decode_series,
    "dataframe": _decode_frame,
    "dtype": lambda obj: np.dtype(_need(obj, "value", str)),
}


def _decode(obj: dict[str, Any]) -> Any:
    """The value of a tagged object, by its tag's decoder (:data:`_DECODERS`)."""
    tag = obj[_TAG]
    try:
        decode = _DECODERS[tag]
    except (KeyError, TypeError):  # an unknown (or unhashable) tag
        raise ValueError(f"unknown value type {tag!r}") from None
    return decode(obj)


def from_json(value: Any) -> Any:
    """Decode what :func:`to_json` wrote.

    Raises
    ------
    ValueError
        On an unknown tag or a malformed tagged value.
    """
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if isinstance(value, dict):
        if _TAG in value:
            try:
                return _decode(value)
            except (TypeError, KeyError, OverflowError) as exc:
                raise ValueError(f"malformed {value.get(_TAG)!r} value ({exc})") from None
        return {k: from_json(v) for k, v in value.items()}
    return value


# --------------------------------------------------------------------------- classes
def class_path(cls: type) -> str:
    """``"module:QualName"`` of a class, the form :func:`resolve_class` reads."""
    return f"{cls.__module__}:{cls.__qualname__}"


def resolve_class(
    path: Any, base: type, where: str, *, bundle: str | os.PathLike | None = None
) -> type:
    """Import the class named ``"module:QualName"`` and check that it subclasses ``base``.

    Before anything is imported, :func:`churnpredict._classpaths.check_class_path` checks that
    the module belongs to an installed distribution (no ``__main__``, no namespace package,
    nothing from the working directory or the bundle folder ``bundle``). Importing then runs
    the module's top-level code, as any import does. See ``docs/trust.md``.

    Raises
    ------
    BundleError
        When the path is malformed or refused, the module is not importable or the class is
        not a ``base`` subclass.
    """
    module_name = check_class_path(path, where, bundle=bundle)
    qualname = path.partition(":")[2]
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise BundleError(
            f"{where}: class {path!r} cannot be imported ({exc}); install the package that "
            f"defines it (it was importable when the bundle was saved)"
        ) from None
    if not (isinstance(obj, type) and issubclass(obj, base)):
        raise BundleError(
            f"{where}: {path!r} is not a {base.__name__} subclass; refusing to load it"
        )
    return obj


class JSONStateMixin:
    """``get_state()`` / ``from_state(state)``: an estimator as JSON, without pickle.

    The state is ``{"class": "module:QualName", "params": get_params(deep=False),
    "fitted": {every attribute whose name ends in "_": value}}``, values encoded with
    :func:`to_json`. Any estimator whose fitted state is plain data (numbers, text, lists,
    dicts, numpy arrays, pandas indexes, categoricals, timestamps, ...) round-trips without
    extra code; one holding other objects overrides both methods (or lists them in
    ``_state_skip`` when they can be rebuilt).
    """

    #: Fitted attributes left out of the state.
    _state_skip: ClassVar[tuple[str, ...]] = ()

    def _state_params(self) -> dict[str, Any]:
        return self.get_params(deep=False)  # type: ignore[attr-defined]

    def get_state(self) -> dict[str, Any]:
        """The class path, parameters and fitted attributes as JSON-ready data.

        Raises
        ------
        TypeError
            When a parameter or fitted attribute is not plain data (names it).
        """
        name = type(self).__name__
        fitted = {
            k: v
            for k, v in vars(self).items()
            if _FITTED_NAME.match(k) and k not in self._state_skip
        }
        return {
            "class": class_path(type(self)),
            "params": {
                k: to_json(v, f"{name} parameter {k}") for k, v in self._state_params().items()
            },
            "fitted": {k: to_json(v, f"{name}.{k}") for k, v in fitted.items()},
        }

    @classmethod
    def from_state(cls, state: Any, where: str = "state") -> Any:
        """Rebuild an estimator from :meth:`get_state` output.

        Called on a base class, the class named in ``state`` is imported (it must subclass
        the class this is called on) and its own ``from_state`` is used.

        Raises
        ------
        BundleError
            When the state is malformed or names an unusable class.
        """
        if not isinstance(state, dict):
            raise BundleError(f"{where}: expected an object, found {type(state).__name__}")
        for key, kind in (("class", str), ("params", dict), ("fitted", dict)):
            if key not in state:
                raise BundleError(f"{where}: key {key!r} is missing")
            if not isinstance(state[key], kind):
                raise BundleError(
                    f"{where}: key {key!r} should be a {kind.__name__}, found "
                    f"{type(state[key]).__name__}"
                )
        klass = resolve_class(state["class"], cls, where)
        if klass is not cls and getattr(klass.from_state, "__func__", None) is not getattr(
            cls.from_state, "__func__", None
        ):
            return klass.from_state(state, where)
        bad = [k for k in state["fitted"] if not _FITTED_NAME.match(k)]
        if bad:
            raise BundleError(f"{where}: {bad[:3]} are not fitted-attribute names")
        try:
            params = {k: from_json(v) for k, v in state["params"].items()}
            fitted = {k: from_json(v) for k, v in state["fitted"].items()}
        except (ValueError, RecursionError) as exc:
            raise BundleError(f"{where}: {exc}") from None
        try:
            obj = klass(**params)
        except TypeError as exc:
            raise BundleError(
                f"{where}: {klass.__name__} does not take these parameters ({exc})"
            ) from None
        for key, value in fitted.items():
            setattr(obj, key, value)
        return obj
