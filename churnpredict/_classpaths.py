"""Which classes a model bundle may name: classes of installed distributions, checked unimported.

A bundle names each builder and model class as ``"module:QualName"``. Importing a module runs
its top-level code, so :func:`check_class_path` decides whether a module may be imported
*before* anything is imported. It locates the module the way ``import`` would (the finders of
:data:`sys.meta_path` over :data:`sys.path`), without executing it, and accepts it only when

* every part of the name is an identifier and none is ``__main__`` (a package's ``__main__``
  runs a program when imported) or starts with two underscores;
* it is not in the Python standard library (no estimator lives there);
* every package on the way is a regular package with an ``__init__`` file (no namespace
  package, which any folder on :data:`sys.path` can create);
* the module's file and each package's ``__init__`` file belong to an installed distribution:
  they are listed in the ``RECORD`` of a distribution installed in a site directory, or lie
  in the project folder of a distribution installed there in editable mode whose name or
  ``top_level.txt`` names the module's top-level package; churnpredict's own modules are those
  of the running package;
* no file lies in the bundle's own folder.

So a module dropped in a bundle folder, in the working directory or anywhere else on
:data:`sys.path` (which ``python -m`` and notebooks put first) is never imported, and neither is
an installed program's ``__main__``. Distributions found only through the working directory
are not "installed": only site directories (:func:`site.getsitepackages`, the user site and
:mod:`sysconfig`'s library paths) count.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import site
import sys
import sysconfig
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from ._exceptions import BundleError

__all__ = ["check_class_path", "split_class_path"]

_CLASS_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
#: The running churnpredict package: its modules are trusted as the code already running.
_OWN_PACKAGE = "churnpredict"
_OWN_FOLDER = Path(__file__).resolve().parent
_INSTALL_HINT = (
    "define the class in a package installed with pip (a regular package with an "
    "__init__.py) where the bundle is saved and loaded"
)


def split_class_path(path: Any, where: str) -> tuple[str, str]:
    """``(module, qualname)`` of a ``"module:QualName"`` path; BundleError when malformed.

    Examples
    --------
    >>> split_class_path("churnpredict._model:ChurnModel", "model.json")
    ('churnpredict._model', 'ChurnModel')
    """
    if not isinstance(path, str) or not _CLASS_PATH.match(path):
        raise BundleError(f"{where}: class {path!r} is not a 'module:Class' path")
    module, _, qualname = path.partition(":")
    parts = module.split(".") + qualname.split(".")
    if not all(p.isidentifier() for p in parts):
        raise BundleError(f"{where}: class {path!r} is not a 'module:Class' path")
    if "__main__" in module.split("."):
        raise BundleError(
            f"{where}: class {path!r} lives in a __main__ module (a script, a notebook or a "
            f"package's command line), which a bundle may not import; {_INSTALL_HINT}"
        )
    if any(p.startswith("__") for p in parts):
        raise BundleError(f"{where}: class {path!r} names a private (dunder) attribute")
    return module, qualname


def check_class_path(path: Any, where: str, *, bundle: str | os.PathLike | None = None) -> str:
    """Check, without importing anything, that the module of ``path`` may be imported.

    Parameters
    ----------
    path : str
        ``"module:QualName"``.
    where : str
        The file (and entry) naming it, for messages.
    bundle : path-like, optional
        The bundle folder: no module file may lie in it.

    Returns
    -------
    str
        The module name.

    Raises
    ------
    BundleError
        Naming the class and why it is refused (see the module docstring for the rules).

    Examples
    --------
    >>> check_class_path("churnpredict.features._tenure:TenureFeatures", "builders.json")
    'churnpredict.features._tenure'
    """
    module, _ = split_class_path(path, where)
    top = module.split(".")[0]
    if top in getattr(sys, "stdlib_module_names", ()):
        raise BundleError(
            f"{where}: class {path!r} is in the Python standard library, which holds no "
            f"churnpredict estimator; the bundle was edited"
        )
    files = _module_files(module, path, where)
    if bundle is not None:
        folder = Path(os.path.realpath(bundle))
        inside = [f for f in files if _is_under(f, folder)]
        if inside:
            raise BundleError(
                f"{where}: class {path!r} would be imported from the bundle's own folder "
                f"({inside[0]}); a bundle holds data, never code. Refusing to load it"
            )
    if top == _OWN_PACKAGE and all(_is_under(f, _OWN_FOLDER) for f in files):
        return module
    if not _installed(top, files):
        raise BundleError(
            f"{where}: class {path!r} is not from an installed distribution (found "
            f"{files[-1]}, which no package installed in {', '.join(map(str, _site_dirs()))} "
            f"provides); modules in the working directory, the bundle or other folders on "
            f"sys.path are never imported from a bundle. {_INSTALL_HINT.capitalize()}"
        )
    return module


# --------------------------------------------------------------------------- locating
def _find_spec(name: str, search: list[str] | None) -> Any:
    """The spec ``import name`` would use, from the meta path finders (nothing is run)."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        spec = find(name, search, None)
        if spec is not None:
            return spec
    return None


def _module_files(module: str, path: str, where: str) -> list[Path]:
    """The files importing ``module`` would run: each package's ``__init__``, then the module."""
    parts = module.split(".")
    files: list[Path] = []
    search: list[str] | None = None
    for i in range(len(parts)):
        name = ".".join(parts[: i + 1])
        loaded = sys.modules.get(name)
        spec = getattr(loaded, "__spec__", None) if loaded is not None else None
        if spec is None:
            spec = _find_spec(name, search)
        if spec is None:
            raise BundleError(
                f"{where}: class {path!r} cannot be imported (no module named {name!r}); "
                f"install the package that defines it (it was importable when the bundle "
                f"was saved)"
            )
        origin = getattr(spec, "origin", None)
        last = i == len(parts) - 1
        locations = getattr(loaded, "__path__", None) or spec.submodule_search_locations
        if not last and locations is None:
            raise BundleError(
                f"{where}: class {path!r} cannot be imported ({name!r} is not a package)"
            )
        if origin in (None, "namespace") or (locations is not None and not spec.has_location):
            raise BundleError(
                f"{where}: class {path!r} is in a namespace package ({name!r}, a folder "
                f"without __init__.py, which any folder on sys.path can provide); "
                f"{_INSTALL_HINT}"
            )
        if not spec.has_location:  # built-in or frozen: the interpreter's own
            raise BundleError(
                f"{where}: class {path!r} is in the Python standard library, which holds no "
                f"churnpredict estimator; the bundle was edited"
            )
        files.append(Path(os.path.realpath(origin)))
        search = list(locations) if locations is not None else None
    return files


def _is_under(file: Path, folder: Path) -> bool:
    return file == folder or folder in file.parents


# --------------------------------------------------------------------------- installed
def _site_dirs() -> list[Path]:
    """Where distributions are installed: site-packages, the user site, sysconfig's libs."""
    found: list[str] = []
    with_site = getattr(site, "getsitepackages", None)
    if with_site is not None:
        found += list(with_site())
    if site.ENABLE_USER_SITE:
        found.append(site.getusersitepackages())
    paths = sysconfig.get_paths()
    found += [paths.get("purelib", ""), paths.get("platlib", "")]
    out: list[Path] = []
    for entry in found:
        if entry and os.path.isdir(entry):
            real = Path(os.path.realpath(entry))
            if real not in out:
                out.append(real)
    return out


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _top_levels(dist: Any) -> set[str]:
    """Top-level import names a distribution declares (``top_level.txt``) or records."""
    names = {line.strip() for line in (dist.read_text("top_level.txt") or "").splitlines()}
    for file in dist.files or ():
        first = file.parts[0] if file.parts else ""
        if first and not first.endswith((".dist-info", ".egg-info", ".data")) and first != "..":
            names.add(first.split(".")[0])
    return {n for n in names if n}


def _candidates(top: str) -> Iterator[Any]:
    """Installed distributions that may provide the package ``top``: by name first."""
    dists = list(importlib.metadata.distributions(path=[str(d) for d in _site_dirs()]))
    cheap, rest = [], []
    for dist in dists:
        name = dist.metadata["Name"] or ""
        declared = (dist.read_text("top_level.txt") or "").split()
        (cheap if _normalise(name) == _normalise(top) or top in declared else rest).append(dist)
    yield from cheap
    yield from (d for d in rest if top in _top_levels(d))


def _editable_root(dist: Any) -> Path | None:
    """The project folder of a distribution installed in editable mode, else None."""
    try:
        info = json.loads(dist.read_text("direct_url.json") or "null")
    except ValueError:
        return None
    if not isinstance(info, dict) or not (info.get("dir_info") or {}).get("editable"):
        return None
    url = urlparse(str(info.get("url", "")))
    if url.scheme != "file":
        return None
    return Path(os.path.realpath(url2pathname(unquote(url.path))))


def _recorded(dist: Any) -> set[Path]:
    return {Path(os.path.realpath(dist.locate_file(f))) for f in dist.files or ()}


def _installed(top: str, files: Iterable[Path]) -> bool:
    """Whether every file belongs to one installed distribution providing ``top``."""
    files = list(files)
    for dist in _candidates(top):
        recorded = _recorded(dist)
        if all(f in recorded for f in files):
            return True
        root = _editable_root(dist)
        if root is not None and all(_is_under(f, root) for f in files):
            return True
    return False
