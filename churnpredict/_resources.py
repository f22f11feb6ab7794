"""Memory: what a step will need, what the machine has, and a clear refusal when it won't fit.

Work whose size is known before it starts (training rows x features, scoring rows, metric
periods) is estimated first and refused with :class:`~churnpredict.ResourceLimitError` when
it cannot fit, naming the sizes and the way out, instead of running out of memory half-way.
The estimates are upper bounds of the memory the step adds to what the process already holds,
measured on the generator's data (see ``docs/performance_end_to_end.md``).

What is available is the smallest of: the system's ``MemAvailable`` (``/proc/meminfo``), the
room left under the process's cgroup limit, and ``CHURNPREDICT_MEMORY_LIMIT`` (bytes, or a
number with ``K``, ``M``, ``G`` or ``T``: a budget for the whole process, e.g. ``8G`` for a
batch job that shares its machine). Where none is known (not Linux, no variable), nothing is
refused.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from ._exceptions import ResourceLimitError

__all__ = [
    "MEMORY_LIMIT_VARIABLE",
    "available_memory",
    "check_memory",
    "format_bytes",
    "parse_bytes",
    "process_memory",
    "return_free_memory",
]

#: Environment variable holding a memory budget for the whole process.
MEMORY_LIMIT_VARIABLE = "CHURNPREDICT_MEMORY_LIMIT"

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_bytes(text: str) -> int:
    """``"8G"`` -> 8589934592; plain digits are bytes.

    Examples
    --------
    >>> parse_bytes("512M"), parse_bytes("1.5G"), parse_bytes("1000")
    (536870912, 1610612736, 1000)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*", str(text), re.IGNORECASE)
    if match is None:
        raise ResourceLimitError(
            f"{MEMORY_LIMIT_VARIABLE}={text!r}; give bytes or a size such as 8G or 512M"
        )
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def format_bytes(n: float) -> str:
    """A size for people: ``"1.4 GiB"``, ``"310 MiB"``.

    Examples
    --------
    >>> format_bytes(1.5 * 2**30), format_bytes(310 * 2**20)
    ('1.5 GiB', '310 MiB')
    """
    if n >= 1 << 30:
        return f"{n / (1 << 30):,.1f} GiB"
    return f"{n / (1 << 20):,.0f} MiB"


def process_memory() -> int:
    """Resident memory of this process in bytes (0 where the system does not say)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):  # pragma: no cover - not Linux
        return 0


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # "max": no limit


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return None
    return None  # pragma: no cover


def _cgroup_room() -> int | None:
    """Bytes left under this process's cgroup memory limit, if it has one."""
    v2 = Path("/sys/fs/cgroup")
    limit, used = _read_int(v2 / "memory.max"), _read_int(v2 / "memory.current")
    if limit is None:  # cgroup v1
        v1 = v2 / "memory"
        limit, used = (
            _read_int(v1 / "memory.limit_in_bytes"),
            _read_int(v1 / "memory.usage_in_bytes"),
        )
        if limit is not None and limit >= 1 << 60:  # v1's "no limit"
            limit = None
    if limit is None or used is None:
        return None
    return max(0, limit - used)


def available_memory() -> int | None:
    """Bytes this process may still take; None when nothing is known.

    The smallest of the system's available memory, the room under the cgroup limit and
    :data:`MEMORY_LIMIT_VARIABLE` minus what the process holds.
    """
    known = [room for room in (_meminfo_available(), _cgroup_room()) if room is not None]
    budget = os.environ.get(MEMORY_LIMIT_VARIABLE, "").strip()
    if budget:
        known.append(max(0, parse_bytes(budget) - process_memory()))
    return min(known) if known else None


def check_memory(needed: float, *, what: str, fix: str | Callable[[float], str]) -> None:
    """Refuse work estimated to need more memory than is available.

    Parameters
    ----------
    needed : float
        Bytes the work will add to what the process holds (an upper-bound estimate).
    what : str
        The work and its sizes, e.g. ``"training on 1,400,000 rows x 71 features"``.
    fix : str or callable
        The way out, e.g. ``"use fewer cutoffs"``; a callable gets the share of the work
        that would fit (available / needed) and returns the text.

    Raises
    ------
    ResourceLimitError
        When ``needed`` exceeds :func:`available_memory`.

    Examples
    --------
    >>> check_memory(0, what="nothing", fix="none needed")
    """
    room = available_memory()
    if room is not None and needed > room:
        advice = fix(room / needed) if callable(fix) else fix
        raise ResourceLimitError(
            f"{what} needs about {format_bytes(needed)} more memory but about "
            f"{format_bytes(room)} is available; {advice}"
        )


def return_free_memory() -> None:
    """Hand the memory the allocators keep for reuse back to the system, after a big step.

    Arrow's pool keeps freed buffers (``release_unused``), and the C allocator keeps the
    freed room of its per-thread arenas (``malloc_trim``, on Linux with glibc): after loading
    a big table or building features on two threads, a few hundred MB that the next step
    would otherwise count on top of. Nothing happens where neither is available.
    """
    import sys

    arrow = sys.modules.get("pyarrow")  # only when it was imported (it held the tables)
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None (another C library, another system)."""
    global _TRIM
    if _TRIM is False:
        import ctypes
        import ctypes.util

        _TRIM = None
        name = ctypes.util.find_library("c") if os.name == "posix" else None
        try:
            _TRIM = ctypes.CDLL(name).malloc_trim if name else None
        except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
            _TRIM = None
    return _TRIM


_TRIM: Callable[[int], int] | None | bool = False
