"""The result of an inspection: what was inferred, how sure and why, and the config it makes."""

from __future__ import annotations

import html
import json
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from .._atomic import atomic_write
from .._exceptions import ChurnDataError
from ._assemble import Setting, _Assembler
from ._files import FileResult, Gap, toml_key

__all__ = ["Inspection"]

#: Top-level keys in the order a config lists them.
_ORDER = (
    "label_column",
    "positive_label",
    "derive_customers",
    "cancel_event",
    "unknown_customers",
    "outcome_columns",
    "business",
    "value_kind",
    "currency",
    "time_unit",
    "horizon",
    "cutoff_freq",
)
_PIPELINE_KEYS = ("horizon", "cutoff_freq", "business")
#: Gaps about top-level keys, written above the tables.
_TOP_GAPS = (
    "positive_label",
    "cancel_event",
    "dayfirst",
    "time_unit",
    "derive_customers",
    "horizon",
)


def _line(text: str) -> str:
    """Text safe inside a one-line TOML comment."""
    return " ".join(str(text).split()).replace("\x7f", "")


def _value(value: Any) -> str:
    """A TOML value (strings as JSON strings, which TOML basic strings accept)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return json.dumps(str(value))


class Inspection:
    """What :func:`churnpredict.inspect` inferred from a folder of exported files.

    Every choice says how sure it is (``sure``: the name and the values agree; ``likely``:
    the words of the name and the values agree) and why. Nothing is guessed: a column that
    two candidates could be, or that only its values suggest, is left for you and listed in
    :attr:`gaps`, and the written config offers the lines to choose from as comments.

    Attributes
    ----------
    path : pathlib.Path
        The folder inspected.
    tables : dict of str -> str
        Canonical table -> file name.
    settings : list of Setting
        Top-level config keys decided, each with its reason; ``written=False`` ones are
        offered as comments.
    gaps : list of Gap
        What could not be placed or decided, with the config lines to choose from.
    notes : list of str
        Facts worth knowing (derived customers, declared statuses...).
    skipped : dict of str -> str
        Files not read, and why.
    label_kind : str or None
        ``"cancellation"``, ``"inactivity"`` or ``"snapshot"``.
    as_of : pandas.Timestamp or None
        The day after the last event: a date to score as of.
    """

    def __init__(self, path: Path, files: list[FileResult], assembled: _Assembler, skipped):
        self.path = Path(path)
        self._files = files
        self.tables = {t: f.name for t, f in assembled.tables.items()}
        self._placed = dict(assembled.tables)
        self.settings: list[Setting] = sorted(
            assembled.settings.values(), key=lambda s: _ORDER.index(s.key)
        )
        self.gaps: list[Gap] = [g for f in files for g in f.gaps] + assembled.gaps
        self.notes: list[str] = [n for f in files for n in f.notes] + assembled.notes
        self.skipped: dict[str, str] = dict(skipped)
        self.label_kind = assembled.label_kind
        self.as_of = assembled.as_of
        snapshot = assembled.tables.get("customers")
        if snapshot is not None and snapshot.role == "snapshot":
            label = next(d.column for d in snapshot.decisions.values() if d.target == "label")
            values = snapshot.profiles[label].describe()
            self.settings.insert(
                0, Setting("label_column", label, f"the churn label of the snapshot ({values})")
            )
            if snapshot.positive_label is not None:
                self.settings.insert(
                    1,
                    Setting(
                        "positive_label", snapshot.positive_label, "the value that means churned"
                    ),
                )

    # ------------------------------------------------------------------ the config
    @property
    def ready(self) -> bool:
        """Whether ``train`` can run on the written config as it is (no open choice)."""
        customers = "customers" in self.tables or any(
            s.key == "derive_customers" for s in self.settings
        )
        return customers and not any(g.blocking for g in self.gaps)

    @property
    def config(self) -> dict[str, Any]:
        """The configuration as a dict (what :meth:`to_toml` writes, comments aside)."""
        out: dict[str, Any] = {s.key: s.value for s in self.settings if s.written}
        out["tables"] = dict(self.tables)
        if self._placed:
            out["columns"] = {t: f.columns_config() for t, f in self._placed.items()}
        payments = self._placed.get("payments")
        if payments is not None and payments.status_map:
            out["status_map"] = dict(payments.status_map)
        if payments is not None and payments.default_status:
            out["payments"] = {"default_status": payments.default_status}
        return out

    @property
    def pipeline_settings(self) -> dict[str, Any]:
        """The ``ChurnPipeline`` keyword arguments decided (horizon, cutoff_freq, business)."""
        return {s.key: s.value for s in self.settings if s.written and s.key in _PIPELINE_KEYS}

    def load(self, **kwargs: Any) -> Any:
        """The folder as an :class:`~churnpredict.EventData`, read with this configuration."""
        from .._data import EventData

        return EventData.from_directory(self.path, config=self.config, **kwargs)

    def to_toml(self) -> str:
        """The config file: every line with how sure and why; open choices as comments."""
        lines = [
            f"# churnpredict config for the files in {_line(self.path)}, inferred by "
            f"churnpredict inspect.",
            "# Each line says how sure and why; lines starting with '# ' are choices left to you.",
        ]
        lines += self._gap_comments(_TOP_GAPS)
        for s in self.settings:
            text = f"{s.key} = {_value(s.value)}"
            lines.append(
                f"{text}  # {_line(s.why)}" if s.written else f"# {text}  # {_line(s.why)}"
            )
        lines += self._unused_lines()
        lines += ["", "[tables]"]
        for table, f in self._placed.items():
            lines.append(f"{table} = {_value(f.name)}  # {f.sure or 'open'}: {_line(f.why)}")
        lines += self._gap_comments(("tables.",))
        for table, f in self._placed.items():
            lines += ["", f"[columns.{table}]"]
            lines += [_column_line(d) for d in f.decisions.values()]
            lines += self._gap_comments((f"{table}.", f"{f.name}:"), own=f)
        lines += self._payments_lines()
        text = "\n".join(lines) + "\n"
        self._check(text)
        return text

    def _unused_lines(self) -> list[str]:
        """Comments naming the files not read and those read but not placed (with their gaps)."""
        if not (self.skipped or any(f.role is None for f in self._files)):
            return []
        lines = [""]
        for name, why in self.skipped.items():
            lines.append(f"# not read: {_line(name)} ({_line(why)})")
        for f in self._files:
            if f.role is None:
                lines.append(f"# not placed: {_line(f.name)} ({_line(f.why)})")
                lines += self._gap_comments(("",), own=f)
        return lines

    def _payments_lines(self) -> list[str]:
        """The ``[status_map]`` and ``[payments]`` sections, when payments need them."""
        payments = self._placed.get("payments")
        if payments is None:
            return []
        lines: list[str] = []
        if payments.status_map or self._has_gap("status_map"):
            lines += ["", "[status_map]"]
            for value, status in payments.status_map.items():
                lines.append(f'{toml_key(value)} = "{status}"')
            lines += self._gap_comments(("status_map",))
        if payments.default_status:
            lines += [
                "",
                "[payments]",
                f'default_status = "{payments.default_status}"  # no status column: declared '
                f"for every row",
            ]
        return lines

    def _has_gap(self, prefix: str) -> bool:
        return any(g.what.startswith(prefix) for g in self.gaps)

    def _gap_comments(self, prefixes: tuple[str, ...], own: FileResult | None = None) -> list[str]:
        gaps = own.gaps if own is not None else self.gaps
        out = []
        for g in gaps:
            if not g.what.startswith(prefixes):
                continue
            flag = "TO DO" if g.blocking else "to check"
            out.append(f"# {flag}: {_line(g.text)}" + ("; one of:" if g.lines else ""))
            out += [f"# {_line(line)}" for line in g.lines]
        return out

    def _check(self, text: str) -> None:
        """The TOML written reads back as :attr:`config` (no comment breaks a line)."""
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - Python 3.10
            import tomli as tomllib
        if tomllib.loads(text) != self.config:  # pragma: no cover - a bug, not bad input
            raise AssertionError("the config written does not read back as the one inferred")

    def write_config(self, path: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write :meth:`to_toml` to ``path`` atomically.

        Parameters
        ----------
        path : path-like
        overwrite : bool, default False
            Replace an existing file (which may hold your edits).

        Raises
        ------
        ChurnDataError
            When ``path`` exists and ``overwrite`` is False.
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise ChurnDataError(
                f"{path} exists; choose another file or pass overwrite=True to replace it",
                config_message=f"{path} exists; choose another file or add --force to replace it",
            )
        text = self.to_toml()
        with atomic_write(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return path

    # ------------------------------------------------------------------ views
    @property
    def mappings(self) -> pd.DataFrame:
        """One row per column of every file: what it maps to, how sure and why."""
        rows = []
        for f in self._files:
            for d in f.decisions.values():
                rows.append(
                    {
                        "file": f.name,
                        "column": d.column,
                        "table": f.table,
                        "maps_to": d.target if d.status == "mapped" else None,
                        "how_sure": d.sure or None,
                        "status": d.status,
                        "why": d.why,
                    }
                )
        return pd.DataFrame(
            rows, columns=["file", "column", "table", "maps_to", "how_sure", "status", "why"]
        )

    @property
    def summary(self) -> pd.DataFrame:
        """One row per file: the table it is, how sure and why."""
        rows = [
            {
                "file": f.name,
                "rows": f.rows,
                "table": f.table,
                "how_sure": f.sure or None,
                "why": f.why,
            }
            for f in self._files
        ]
        rows += [
            {"file": n, "rows": None, "table": None, "how_sure": None, "why": f"not read: {w}"}
            for n, w in self.skipped.items()
        ]
        return pd.DataFrame(rows, columns=["file", "rows", "table", "how_sure", "why"]).set_index(
            "file"
        )

    def report_lines(self, *, config_terms: bool = False) -> list[str]:
        """The inspection as plain lines (what the command line and ``repr`` show)."""
        out = []
        for f in self._files:
            where = f"{f.table} ({f.sure or 'open'})" if f.table else "not placed"
            out.append(f"{f.name}: {where}: {f.why}")
            for d in f.decisions.values():
                target = f"{f.table}.{d.target}" if d.status == "mapped" else d.status
                sure = f" [{d.sure}]" if d.sure else ""
                out.append(f"  {d.column} -> {target}{sure}: {d.why}")
        for name, why in self.skipped.items():
            out.append(f"{name}: not read: {why}")
        for s in self.settings:
            offered = "" if s.written else " (offered as a comment)"
            out.append(f"{s.key} = {_value(s.value)}{offered}: {s.why}")
        out += [f"note: {note}" for note in self.notes]
        out += [_gap_line(g, config_terms) for g in self.gaps]
        return out

    def __repr__(self) -> str:
        state = "ready" if self.ready else "not ready: see gaps"
        return "\n".join([f"Inspection({str(self.path)!r}, {state})"] + self.report_lines())

    def _repr_html_(self) -> str:
        rows = "".join(
            "<tr>"
            + "".join(f"<td>{html.escape(str(v) if v is not None else '')}</td>" for v in row)
            + "</tr>"
            for row in self.mappings.itertuples(index=False)
        )
        head = "".join(f"<th>{html.escape(c)}</th>" for c in self.mappings.columns)
        gaps = "".join(f"<li>{html.escape(g.text)}</li>" for g in self.gaps)
        state = "ready" if self.ready else "not ready"
        return (
            f"<div><strong>Inspection</strong> of {html.escape(str(self.path))} ({state})"
            f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"
            + (f"<p>Left for you:</p><ul>{gaps}</ul>" if gaps else "")
            + "</div>"
        )


def _column_line(d: Any) -> str:
    """The ``[columns.<table>]`` line of one column: a rename, or a comment saying why not."""
    comment = f"{d.sure}: {_line(d.why)}" if d.sure else _line(d.why)
    if d.status != "mapped":
        return f"# {d.column}: {d.status}, {comment}"
    if d.target in ("label", None):
        return f"# {d.column}: the label ({comment})"
    if d.column != d.target:
        return f'{toml_key(d.column)} = "{d.target}"  # {comment}'
    return f"# {d.column}: already named {d.target} ({comment})"


def _gap_line(g: Gap, config_terms: bool) -> str:
    """One gap as a line: to do or to check, with its fix in config or Python terms."""
    how = " | ".join(g.lines) if config_terms else g.python
    fix = f" ({'config: ' if config_terms else 'Python: '}{how})" if how else ""
    return f"{'to do' if g.blocking else 'to check'}: {g.text}{fix}"
