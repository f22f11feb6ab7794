"""One command run: output consoles, progress, collected notes, and failures as exit codes.

Exit codes: ``EXIT_OK`` (0) success; ``EXIT_BAD_INPUT`` (2) bad input or configuration, one
line on stderr naming the problem; ``EXIT_UNEXPECTED`` (1) anything else. Data, ids and paths
are printed through :func:`printable` / :func:`markup` / :func:`cell`, so control characters
and rich markup in them are shown, never obeyed.
"""

from __future__ import annotations

import contextlib
import errno
import re
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import typer

from .._exceptions import BundleError, ChurnDataError, ChurnModelError

__all__ = [
    "EXIT_OK",
    "EXIT_UNEXPECTED",
    "EXIT_BAD_INPUT",
    "BadInput",
    "Session",
    "guard",
    "printable",
    "markup",
    "cell",
    "plain_lines",
    "one_line",
]

EXIT_OK, EXIT_UNEXPECTED, EXIT_BAD_INPUT = 0, 1, 2


class BadInput(ValueError):
    """A command-line value (date, duration, path, option) that cannot be used."""


@dataclass
class Session:
    """Per-invocation output settings and collected notes.

    ``quiet`` counts ``-q``: 0 prints everything; 1 (``-q``, for cron) prints no summary and
    no progress, only warnings and notes (stderr); 2 (``-qq``) prints nothing on success. A
    failure's one-line error is always printed.
    """

    quiet: int = 0
    debug: bool = False
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        from rich.console import Console

        self.quiet = int(self.quiet)
        silent, muted = self.quiet >= 1, self.quiet >= 2
        self.out = Console(quiet=silent, highlight=False)
        if not self.out.is_terminal:  # logs of batch jobs: do not squeeze tables to 80 columns
            self.out = Console(quiet=silent, highlight=False, width=160)
        self.err = Console(stderr=True, quiet=muted, highlight=False)

    def say(self, *objects: Any) -> None:
        """Print to stdout unless -q."""
        self.out.print(*objects)

    def warn(self, text: str) -> None:
        """A warning on stderr (data shown as it is): kept by -q, silenced by -qq."""
        with self.shown():
            self.err.print(
                f"[yellow]warning:[/yellow] {markup(text)}", highlight=False, soft_wrap=True
            )

    @contextlib.contextmanager
    def step(self, text: str) -> Iterator[Callable[[str, int, int], None]]:
        """Show a transient progress bar on stderr while a long step runs.

        Yields a ``progress(name, step, total)`` callback that advances the bar.
        """
        from rich.progress import (
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=self.err,
            transient=True,
            # progress bars are for people watching; batch-job logs get no control codes
            disable=self.quiet >= 1 or not self.err.is_terminal,
        )
        task = progress.add_task(markup(text), total=None, detail="")

        def update(name: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, detail=printable(str(name)))

        start = time.perf_counter()
        # a disabled bar is not started at all: some rich releases print an empty line when
        # a disabled transient display stops, which would reach batch-job logs
        with progress if not progress.disable else contextlib.nullcontext():
            yield update
        if self.debug:
            self.err.print(f"[dim]{markup(text)}: {time.perf_counter() - start:.1f}s[/dim]")

    def flush_notes(self) -> None:
        """Print collected data-quality notes (stderr), once the command has succeeded."""
        with self.shown():
            for note in dict.fromkeys(self.notes):
                self.err.print(
                    f"[yellow]note:[/yellow] {markup(note)}",
                    markup=True,
                    highlight=False,
                    soft_wrap=True,  # one line per note in a batch job's log
                )

    @contextlib.contextmanager
    def shown(self) -> Iterator[None]:
        """Print a summary of outputs already written: a display problem (a closed pipe, a
        console error) becomes a warning on stderr and never changes the exit code."""
        try:
            yield
        except Exception as exc:  # noqa: BLE001 - the work is done; only the display failed
            with contextlib.suppress(Exception):
                sys.stderr.write(
                    f"churnpredict: warning: could not print the summary "
                    f"({type(exc).__name__}: {one_line(str(exc))}); the "
                    f"output was written\n"
                )
                sys.stderr.flush()


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """Control characters (which could move the cursor or recolour a terminal) as ``\\xNN``.

    Examples
    --------
    >>> printable("a\\x1b[2Jb")
    'a\\\\x1b[2Jb'
    """
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def markup(value: Any) -> str:
    """Data or a path, safe to put inside rich markup: printed as it is, never interpreted."""
    from rich.markup import escape

    return escape(printable(str(value)))


def cell(value: Any) -> Any:
    """A table cell holding data (ids, reasons, segments): plain text, no markup."""
    from rich.text import Text

    return Text(printable(str(value)))


def plain_lines(text: str) -> Any:
    """A table cell of lines already made printable."""
    from rich.text import Text

    return Text(text)


def one_line(text: str) -> str:
    """Text on one printable line (runs of white space, newlines included, as one space)."""
    return printable(" ".join(str(text).split()))


@contextlib.contextmanager
def guard(session: Session) -> Iterator[None]:
    """Turn exceptions into exit codes: 2 for bad input, 1 for anything unexpected."""
    with warnings.catch_warnings(record=True) as caught:
        # data-quality and leakage warnings become notes; other filters stay as they are
        warnings.simplefilter("always", UserWarning)
        try:
            yield
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except (ChurnDataError, BundleError, ChurnModelError, BadInput) as exc:
            _fail(session, exc, EXIT_BAD_INPUT, prefix="error")
        except MemoryError as exc:  # the size checks missed it: still the input's size
            _fail(session, _out_of_memory(exc), EXIT_BAD_INPUT, prefix="error")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            _fail(session, exc, EXIT_BAD_INPUT, prefix="error")  # a path on the command line
        except OSError as exc:  # read-only location, permissions, disk full: not a bug
            _fail(session, _os_problem(exc), EXIT_BAD_INPUT, prefix="error")
        except Exception as exc:  # noqa: BLE001 - the command line reports every failure
            _fail(session, exc, EXIT_UNEXPECTED, prefix=f"unexpected error ({type(exc).__name__})")
    session.notes.extend(
        one_line(str(w.message)) for w in caught if issubclass(w.category, UserWarning)
    )
    session.flush_notes()


def _out_of_memory(exc: MemoryError) -> BaseException:
    """Running out of memory, as one line with the way out."""
    detail = f" ({one_line(str(exc))})" if str(exc) else ""
    return BadInput(
        f"out of memory{detail}; the data or the settings are too big for this machine: "
        f"use fewer cutoffs (n_cutoffs) or windows, --train-sample to train on a share of "
        f"the customers, or --scheduler to run on a Dask cluster"
    )


def _os_problem(exc: OSError) -> BaseException:
    """An OSError met reading or writing a file, as one line naming the file and the fix."""
    from .._outputs import write_fix

    if exc.filename is None or exc.errno is None:
        return exc
    problem = exc.strerror or errno.errorcode.get(exc.errno, str(exc.errno))
    return BadInput(f"{exc.filename}: {problem}; {write_fix(exc)}")


def _fail(session: Session, exc: BaseException, code: int, *, prefix: str) -> None:
    if session.debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    hint = "" if session.debug or code == EXIT_BAD_INPUT else "; rerun with --debug for details"
    # the fix as a config line where the error has one (the library's own is Python)
    message = getattr(exc, "config_message", None) or str(exc)
    # Plain write (no rich wrapping): exactly one line, even on a narrow terminal.
    sys.stderr.write(f"churnpredict: {prefix}: {one_line(message)}{hint}\n")
    sys.stderr.flush()
    raise typer.Exit(code)
