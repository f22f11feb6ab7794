"""Progress of long work: a bar in notebooks and terminals by default, a callback, or silence.

Every long-running entry point (``ChurnPipeline.fit`` / ``score`` / ``evaluate``,
:func:`~churnpredict.features.build_features`,
:func:`~churnpredict._evaluate.time_ordered_evaluation`) takes ``progress``:

* ``None`` (default): a ``tqdm`` bar that appears only when the work has taken more than
  :data:`DELAY` seconds: in a Jupyter kernel a widget (text on stderr without ipywidgets),
  elsewhere text on a terminal, and nothing when the output is not a terminal (batch jobs,
  logs, tests);
* ``True``: the same bar, also when the output is not interactive;
* ``False``: silent;
* a callable ``progress(stage, step, total)``: called after each stage instead of a bar (the
  command line draws its own bar this way).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

__all__ = ["DELAY", "Progress", "ProgressArg", "reporter"]

#: A progress callback: ``progress(stage, step, total)``.
Progress = Callable[[str, int, int], None]
#: What the ``progress`` parameter of the long-running entry points takes.
ProgressArg = bool | Progress | None

#: Seconds of work before a default bar appears: quick calls stay silent.
DELAY = 1.5


def _check(progress: object) -> None:
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        raise TypeError(
            f"progress={progress!r}; expected None (a bar when the work is slow "
            f"and the output interactive), True, False or a callable "
            f"progress(stage, step, total)"
        )


@contextlib.contextmanager
def reporter(progress: ProgressArg, description: str) -> Iterator[Progress | None]:
    """The callback to report to for one piece of work, a bar drawn by it, or None.

    Parameters
    ----------
    progress : bool, callable or None
        See the module docstring.
    description : str
        What the bar says it is doing, e.g. ``"fit"``.

    Yields
    ------
    callable or None
        ``callback(stage, step, total)``, or None when silent. The bar is closed on exit.

    Examples
    --------
    >>> with reporter(False, "fit") as report:
    ...     report is None
    True
    >>> seen = []
    >>> with reporter(lambda *args: seen.append(args), "fit") as report:
    ...     report("labels", 1, 3)
    >>> seen
    [('labels', 1, 3)]
    """
    _check(progress)
    if progress is False:
        yield None
        return
    if callable(progress):
        yield progress
        return
    bar_class, interactive = _bar_class()
    # disable=None: tqdm shows no bar when the output is not a terminal
    bar = bar_class(
        total=1,
        desc=description,
        delay=DELAY,
        leave=False,
        disable=None if progress is None and not interactive else False,
        unit="step",
    )
    try:

        def update(stage: str, step: int, total: int) -> None:
            if bar.total != total:
                bar.total = total
            bar.set_postfix_str(str(stage), refresh=False)
            bar.update(step - bar.n)  # drawn only after the delay

        yield update
    finally:
        bar.close()


def _in_notebook() -> bool:
    """True inside a Jupyter (ZMQ) kernel."""
    if "ipykernel" not in sys.modules:
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _bar_class() -> tuple[type, bool]:
    """The tqdm class to draw with, and whether the output counts as interactive.

    A notebook gets the widget bar when ipywidgets is installed and text on stderr otherwise
    (rather than ``tqdm.auto``'s warning and a disabled text bar); elsewhere the text bar.
    """
    if _in_notebook():
        try:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm as widget_bar

            return widget_bar, True
        except ImportError:
            from tqdm.std import tqdm as text_bar

            return text_bar, True
    from tqdm.std import tqdm as text_bar

    return text_bar, False
