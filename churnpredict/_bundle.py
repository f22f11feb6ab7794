"""Model bundles: a fitted ChurnPipeline on disk as JSON, checksummed, optionally signed.

A bundle is a directory::

    CURRENT                  {"format": "churnpredict-bundle", "format_version": 2,
                              "version": "v-..."}: the pointer, replaced atomically
    v-<UTC time>-<uuid>/     one saved version (the current one and the one before it)
        bundle.json          settings, model class, feature metadata, training window,
                             validation metrics, library versions
        builders.json        each feature builder's class, parameters and fitted state
        model.json           the model's class, parameters and fitted state
        booster.json         the XGBoost booster in XGBoost's own JSON format (ChurnModel)
        MANIFEST.json        every file above with its sha256
        MANIFEST.sig         HMAC-SHA256 of MANIFEST.json (when CHURNPREDICT_BUNDLE_KEY is set)

Nothing is pickled and loading never unpickles: JSON values are decoded by
:mod:`churnpredict._jsonstate`, the booster by XGBoost. Loading imports the module of each
class named in the bundle only after :func:`churnpredict._classpaths.check_class_path` has
found it, unimported, in an installed distribution (see ``docs/trust.md``).

Saving writes a new version folder (files and folder fsynced), renames it into place, then
replaces ``CURRENT`` with :func:`os.replace`; readers read the pointer, then that version, so
they see the old bundle or the new one, never a mix. Writers serialise the switch with a lock
on the bundle directory; the two newest versions are kept, so a reader still reading the
previous version finishes (and a reader whose version was pruned under it reads the pointer
again). A directory is recognised as a bundle only by a ``CURRENT`` file holding the format
marker: nothing else is ever replaced or deleted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import hmac
import json
import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ._atomic import folder_lock, sync_directory
from ._classpaths import check_class_path
from ._exceptions import BundleError
from ._jsonstate import JSONStateMixin, class_path, from_json, resolve_class, to_json
from ._model import ChurnModel
from ._reading import read_bounded
from ._version import __version__
from .features import FeatureBuilder

__all__ = [
    "BUNDLE_FORMAT",
    "KEY_ENV",
    "bundle_status",
    "check_destination",
    "load_pipeline",
    "read_bundle",
    "save_pipeline",
    "write_bundle",
]

#: Version of the bundle layout; bundles of another format are refused ("retrain").
BUNDLE_FORMAT = 2
#: Environment variable holding the signing key.
KEY_ENV = "CHURNPREDICT_BUNDLE_KEY"
MARKER = "churnpredict-bundle"
POINTER = "CURRENT"
MANIFEST = "MANIFEST.json"
SIGNATURE = "MANIFEST.sig"
BUNDLE_JSON = "bundle.json"
BUILDERS_JSON = "builders.json"
MODEL_JSON = "model.json"
BOOSTER_JSON = "booster.json"
_MIN_KEY_BYTES = 16
_MAX_POINTER_BYTES = 4096  # CURRENT and MANIFEST.sig
_MAX_MANIFEST_BYTES = 1 << 20  # 1 MiB
_MAX_FILE_BYTES = 1 << 30  # 1 GiB: any other bundle file (the booster is the largest)
_STALE_TEMP_SECONDS = 24 * 3600
_READ_ATTEMPTS = 20
_VERSION_NAME = re.compile(r"^v-\d{8}T\d{12}Z-[0-9a-f]{32}$")
_TEMP_NAME = re.compile(r"^\.tmp-[0-9a-f]{32}$")
_POINTER_TEMP = re.compile(r"^\.CURRENT-[0-9a-f]{32}\.tmp$")
_OLD_FILES = ("builders.joblib", "model.joblib")
_VERSIONED = ("churnpredict", "xgboost", "scikit-learn", "pandas", "numpy")
#: Attribute of a loaded pipeline: (bundle folder, version) it came from; saving it to that
#: bundle again checks that the version is still current (a concurrent save is never undone).
_ORIGIN = "_bundle_origin"


# --------------------------------------------------------------------------- small helpers
def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _dumps(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, allow_nan=False, ensure_ascii=False) + "\n").encode()


def _loads(data: bytes, where: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BundleError(
            f"{where}: not valid JSON ({exc}); the bundle is damaged or was "
            f"not written by churnpredict; retrain or copy it again"
        ) from None


def _key(key: str | bytes | None) -> bytes | None:
    """The signing key: ``key`` or ``$CHURNPREDICT_BUNDLE_KEY``; None when neither is set."""
    if key is None:
        key = os.environ.get(KEY_ENV)
        if key is None:
            return None
        source = f"${KEY_ENV}"
    else:
        source = "the key"
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < _MIN_KEY_BYTES:
        raise BundleError(
            f"{source} is {len(raw)} bytes long; use at least {_MIN_KEY_BYTES}, e.g. "
            f'python -c "import secrets; print(secrets.token_hex(32))"'
        )
    return raw


def _signature(key: bytes, manifest: bytes) -> str:
    return hmac.new(key, manifest, hashlib.sha256).hexdigest()


def _read_file(path: Path, limit: int) -> bytes:
    """A bundle file's bytes, read only when it is a regular file of at most ``limit`` bytes
    (a FIFO, a device or a folder in its place is refused without blocking)."""
    try:
        return read_bounded(path, limit)
    except ValueError as exc:
        raise BundleError(
            f"{path}: {exc} (bundle files are regular files of at most {limit:,} bytes); the "
            f"bundle is damaged or was edited"
        ) from None


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _versions() -> dict[str, str]:
    import sklearn
    import xgboost

    return {
        "churnpredict": __version__,
        "xgboost": xgboost.__version__,
        "scikit-learn": sklearn.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
    }


def _compat(version: str) -> tuple[int, ...]:
    """The part of a version that must match: major (major.minor while major is 0)."""
    parts = []
    for piece in str(version).split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    while len(parts) < 2:
        parts.append(0)
    return (parts[0], parts[1]) if parts[0] == 0 else (parts[0],)


# --------------------------------------------------------------------------- recognising
def _read_pointer(path: Path) -> str:
    """The current version's folder name, from ``CURRENT``; BundleError when unusable."""
    pointer = path / POINTER
    obj = _loads(_read_file(pointer, _MAX_POINTER_BYTES), str(pointer))
    if not isinstance(obj, dict) or obj.get("format") != MARKER:
        raise BundleError(f"{pointer}: not a churnpredict bundle pointer (no format marker)")
    if obj.get("format_version") != BUNDLE_FORMAT:
        raise BundleError(
            f"{path}: bundle format {obj.get('format_version')!r}; this churnpredict reads "
            f"format {BUNDLE_FORMAT}; retrain with this version"
        )
    version = obj.get("version")
    if not isinstance(version, str) or not _VERSION_NAME.match(version):
        raise BundleError(
            f"{pointer}: key 'version' should name a version folder "
            f"(v-<time>-<id>), found {version!r}; the bundle is damaged"
        )
    return version


def _is_old_bundle(path: Path) -> bool:
    if any((path / name).is_file() for name in _OLD_FILES):
        return True
    try:
        meta = json.loads(read_bounded(path / BUNDLE_JSON, 10_000_000).decode("utf-8"))
        return meta.get("format") == MARKER
    except (OSError, ValueError, AttributeError):
        return False


def bundle_status(path: str | os.PathLike) -> str:
    """What ``path`` holds, for deciding whether a bundle may be written there.

    Returns
    -------
    str
        ``"missing"`` (nothing there), ``"empty"`` (an empty directory, or one holding only
        another save's work in progress), ``"bundle"`` (a ``CURRENT`` pointer with the format
        marker), ``"old"`` (a bundle of an earlier format, e.g. with pickled builders),
        ``"file"`` (not a directory) or ``"foreign"`` (anything else).
    """
    path = Path(path)
    if not path.exists():
        return "missing"
    if not path.is_dir():
        return "file"
    names = [p.name for p in path.iterdir()]
    if not [n for n in names if not (_TEMP_NAME.match(n) or _POINTER_TEMP.match(n))]:
        return "empty"
    if POINTER in names:
        try:
            pointer = json.loads(read_bounded(path / POINTER, _MAX_POINTER_BYTES).decode("utf-8"))
        except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
            pointer = None
        if isinstance(pointer, dict) and pointer.get("format") == MARKER:
            return "bundle" if pointer.get("format_version") == BUNDLE_FORMAT else "old"
    if _is_old_bundle(path):
        return "old"
    return "foreign"


def _refuse(path: Path, status: str) -> None:
    if status == "file":
        raise BundleError(f"{path} is a file; give a directory for the model bundle")
    if status == "old":
        raise BundleError(
            f"{path} holds a bundle of another format, written by an older churnpredict; "
            f"it is not replaced. Train into a new directory, or delete the old bundle first"
        )
    if status == "foreign":
        raise BundleError(
            f"{path} is a non-empty directory that is not a churnpredict bundle; refusing "
            f"to write into it. Give a new or empty directory"
        )


def check_destination(path: str | os.PathLike) -> Path:
    """Check, before any work, that a bundle may be saved at ``path``.

    A bundle may go to a new path, an empty directory or an existing bundle (which it
    replaces). Nothing is created.

    Raises
    ------
    BundleError
        When ``path`` is a file, a non-empty directory that is not a bundle, a bundle of an
        older format, or not writable.
    """
    path = Path(path)
    status = bundle_status(path)
    _refuse(path, status)
    existing = (
        path
        if status != "missing"
        else next((p for p in path.absolute().parents if p.exists()), None)
    )
    if existing is not None and (not existing.is_dir() or not os.access(existing, os.W_OK)):
        raise BundleError(
            f"{path}: {existing} is not a writable directory; choose another location"
        )
    return path


# --------------------------------------------------------------------------- writing
def _prune(path: Path, keep: set[str]) -> None:
    """Delete this bundle's older versions and stale temporary folders (under the lock)."""
    now = time.time()
    for entry in path.iterdir():
        name = entry.name
        try:
            if (
                _VERSION_NAME.match(name)
                and name not in keep
                and entry.is_dir()
                and (not entry.is_symlink())
                and (entry / MANIFEST).is_file()
            ):
                shutil.rmtree(entry)
            elif (_TEMP_NAME.match(name) or _POINTER_TEMP.match(name)) and (
                now - entry.lstat().st_mtime > _STALE_TEMP_SECONDS
            ):
                (
                    shutil.rmtree(entry)
                    if entry.is_dir() and not entry.is_symlink()
                    else entry.unlink()
                )
        except OSError:  # pragma: no cover - pruning is best effort
            continue


def write_bundle(
    path: str | os.PathLike,
    files: dict[str, bytes],
    *,
    key: str | bytes | None = None,
    expected: str | None = None,
) -> Path:
    """Write ``files`` as a new version of the bundle at ``path`` and make it current.

    Parameters
    ----------
    path : path-like
        A new path, an empty directory or an existing bundle.
    files : dict of str to bytes
        File name -> content (plain names, no folders).
    key : str or bytes, optional
        Signing key; default ``$CHURNPREDICT_BUNDLE_KEY`` (unsigned when unset).
    expected : str, optional
        The version the new one replaces (the one the pipeline was loaded from): when another
        version is current by the time of the switch, nothing is replaced.

    Returns
    -------
    pathlib.Path
        The version folder written.

    Raises
    ------
    BundleError
        When ``path`` may not hold a bundle (see :func:`check_destination`), or changed since
        the ``expected`` version was loaded.
    """
    path = Path(path)
    secret = _key(key)
    for name in files:
        if not _plain_file_name(name):
            raise ValueError(f"bundle file name {name!r} is not allowed")
    _refuse(path, bundle_status(path))
    new = _NewVersion.start(path)
    try:
        _stage(new.tmp, files, new.version, secret)
        with folder_lock(path):
            _switch(new, expected)
    except BaseException:
        new.undo()
        raise
    return new.final


def _plain_file_name(name: str) -> bool:
    """A bundle file's name: no folder, not hidden, not the manifest or its signature."""
    return not (
        "/" in name or "\\" in name or name.startswith(".") or name in (MANIFEST, SIGNATURE)
    )


@dataclasses.dataclass
class _NewVersion:
    """A version being written: where it is staged, its final name and how far it got."""

    path: Path
    version: str
    tmp: Path
    final: Path
    pointer_tmp: Path
    created: bool  # the bundle folder is new
    renamed: bool = False  # the staged folder is the version folder
    switched: bool = False  # CURRENT names the version

    @classmethod
    def start(cls, path: Path) -> _NewVersion:
        """Create the bundle folder if needed and name the new version and its temporaries."""
        created = not path.exists()
        path.mkdir(parents=True, exist_ok=True)
        stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        version = f"v-{stamp}-{uuid.uuid4().hex}"
        return cls(
            path=path,
            version=version,
            tmp=path / f".tmp-{uuid.uuid4().hex}",
            final=path / version,
            pointer_tmp=path / f".CURRENT-{uuid.uuid4().hex}.tmp",
            created=created,
        )

    def undo(self) -> None:
        """Remove what a failed save wrote, unless the switch happened (then it stands)."""
        if self.switched:
            return
        shutil.rmtree(self.final if self.renamed else self.tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            self.pointer_tmp.unlink()
        if self.created:
            with contextlib.suppress(OSError):
                self.path.rmdir()  # only when empty: nothing else is ever removed


def _stage(tmp: Path, files: dict[str, bytes], version: str, secret: bytes | None) -> None:
    """Write the files, their manifest (and its signature) into the staging folder, synced."""
    tmp.mkdir()
    for name, data in files.items():
        _write_synced(tmp / name, data)
    manifest = _dumps(
        {
            "format": f"{MARKER}-manifest",
            "format_version": BUNDLE_FORMAT,
            "version": version,
            "files": {n: _sha256(d) for n, d in sorted(files.items())},
        }
    )
    _write_synced(tmp / MANIFEST, manifest)
    if secret is not None:
        _write_synced(
            tmp / SIGNATURE,
            _dumps({"algorithm": "HMAC-SHA256", "value": _signature(secret, manifest)}),
        )
    sync_directory(tmp)


def _switch(new: _NewVersion, expected: str | None) -> None:
    """Under the folder lock: move the staged version in place, point CURRENT at it and
    prune older versions; refused when another version became current since ``expected``."""
    path = new.path
    status = bundle_status(path)
    _refuse(path, status)
    previous = _read_pointer(path) if status == "bundle" else None
    if expected is not None and previous != expected:
        raise BundleError(
            f"{path}: the bundle changed since it was loaded (version "
            f"{previous or 'none'} is current, {expected} was loaded): another save, "
            f"such as a train, replaced it. Saving now would undo that; load it again "
            f"and redo the change (e.g. recalibrate again)"
        )
    os.rename(new.tmp, new.final)
    new.renamed = True
    sync_directory(path)
    _write_synced(
        new.pointer_tmp,
        _dumps({"format": MARKER, "format_version": BUNDLE_FORMAT, "version": new.version}),
    )
    os.replace(new.pointer_tmp, path / POINTER)
    new.switched = True
    sync_directory(path)
    if new.created:
        sync_directory(path.parent)
    _prune(path, {new.version} | ({previous} if previous else set()))


# --------------------------------------------------------------------------- reading
def _read_version(folder: Path, version: str, key: bytes | None) -> dict[str, bytes]:
    """The files of one version folder, checked against its manifest (and signature)."""
    manifest_path = folder / MANIFEST
    manifest = _read_file(manifest_path, _MAX_MANIFEST_BYTES)
    if key is not None:
        _check_signature(folder, manifest, key)
    listed = _listed_files(_loads(manifest, str(manifest_path)), manifest_path, version)
    out: dict[str, bytes] = {}
    for name, digest in listed.items():
        if not _plain_file_name(name):
            raise BundleError(f"{manifest_path}: file name {name!r} is not allowed")
        file = folder / name
        data = _read_file(file, _MAX_FILE_BYTES)
        actual = _sha256(data)
        if not hmac.compare_digest(actual, digest):
            raise BundleError(
                f"{file}: checksum mismatch (sha256 {actual[:12]}..., expected {digest[:12]}"
                f"...): the file changed after the bundle was saved (corrupted, or tampered "
                f"with); refusing to load it. Re-save or retrain"
            )
        out[name] = data
    return out


def _check_signature(folder: Path, manifest: bytes, key: bytes) -> None:
    """The manifest's signature matches ``key``; an unsigned bundle is refused."""
    sig_path = folder / SIGNATURE
    try:
        raw_sig = _read_file(sig_path, _MAX_POINTER_BYTES)
    except FileNotFoundError:
        raise BundleError(
            f"{folder}: the bundle is not signed but ${KEY_ENV} is set; refusing to load "
            f"it. Save it again with the key set, or unset the key to load unsigned "
            f"bundles"
        ) from None
    sig = _loads(raw_sig, str(sig_path))
    value = sig.get("value") if isinstance(sig, dict) else None
    if not isinstance(value, str) or not hmac.compare_digest(
        value.encode(), _signature(key, manifest).encode()
    ):
        raise BundleError(
            f"{sig_path}: signature does not match: the bundle changed after it was "
            f"signed, or was signed with another key; refusing to load it"
        )


def _listed_files(meta: Any, manifest_path: Path, version: str) -> dict[str, str]:
    """The manifest's file name -> sha256, once its format, version and listing check out."""
    if not isinstance(meta, dict) or meta.get("format") != f"{MARKER}-manifest":
        raise BundleError(f"{manifest_path}: not a churnpredict bundle manifest")
    if meta.get("format_version") != BUNDLE_FORMAT:
        raise BundleError(
            f"{manifest_path}: bundle format {meta.get('format_version')!r}; "
            f"this churnpredict reads format {BUNDLE_FORMAT}; retrain"
        )
    if meta.get("version") != version:
        raise BundleError(
            f"{manifest_path}: key 'version' is {meta.get('version')!r}, not "
            f"the folder's name {version!r}; the bundle was edited"
        )
    listed = meta.get("files")
    if not isinstance(listed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in listed.items()
    ):
        raise BundleError(
            f"{manifest_path}: key 'files' is missing or not a name -> sha256 "
            f"object; the bundle is damaged"
        )
    for name in (BUNDLE_JSON, BUILDERS_JSON, MODEL_JSON):
        if name not in listed:
            raise BundleError(
                f"{manifest_path}: does not list {name}; the bundle is incomplete, save it again"
            )
    return listed


def read_bundle(
    path: str | os.PathLike, *, key: str | bytes | None = None
) -> tuple[Path, dict[str, bytes]]:
    """Read and verify the current version of the bundle at ``path``.

    Every file is read once, then checked against the manifest; with a key, the manifest's
    signature is checked first.

    Returns
    -------
    (pathlib.Path, dict of str to bytes)
        The version folder and its files' contents.

    Raises
    ------
    BundleError
        When there is no bundle, it has an older format ("retrain"), a file is missing or
        its checksum does not match, or (with a key) the signature is absent or wrong.
    """
    path = Path(path)
    secret = _key(key)
    if not path.is_dir():
        raise BundleError(
            f"{path}: no model bundle there (not a directory); train one with "
            f"`churnpredict train DATA --model {path}` or ChurnPipeline(...).fit(data)"
            f".save(path)"
        )
    if not os.path.lexists(path / POINTER):  # anything there is read (bounded) as the pointer
        if _is_old_bundle(path):
            raise BundleError(
                f"{path}: bundle written by an older churnpredict (format 1, with pickled "
                f"files, which are never loaded); retrain with this version"
            )
        raise BundleError(
            f"{path}: no {POINTER} file, so this is not a churnpredict bundle; "
            f"copy the whole bundle directory or train one"
        )
    for _attempt in range(_READ_ATTEMPTS):
        version = _read_pointer(path)
        try:
            return path / version, _read_version(path / version, version, secret)
        except (OSError, BundleError) as exc:
            try:
                moved = _read_pointer(path) != version
            except (OSError, BundleError):
                moved = False
            if moved:  # a concurrent save replaced (and maybe pruned) this version: again
                continue
            if isinstance(exc, FileNotFoundError):
                raise BundleError(
                    f"{path / version}: {Path(exc.filename or '').name or exc} "
                    f"is missing; the bundle is incomplete, copy the whole "
                    f"directory or save it again"
                ) from None
            raise
    raise BundleError(f"{path}: the bundle kept changing while being read; try again")


# --------------------------------------------------------------------------- pipelines
def _model_state(model: Any) -> tuple[dict[str, Any], bytes | None]:
    name = type(model).__name__
    if isinstance(model, ChurnModel):
        state = {
            "class": class_path(type(model)),
            "params": {
                k: to_json(v, f"{name} parameter {k}")
                for k, v in model.get_params(deep=False).items()
            },
            "fitted": to_json(model.fitted_state(), name),
        }
        return state, bytes(model.booster_.save_raw("json"))
    if isinstance(model, JSONStateMixin):
        return model.get_state(), None
    raise BundleError(
        f"cannot save a {type(model).__module__}.{type(model).__qualname__} model: bundles "
        f"hold JSON only, so the model must be a ChurnModel, a LogisticBaseline or define "
        f"get_state()/from_state() (churnpredict._jsonstate.JSONStateMixin)"
    )


def save_pipeline(
    pipeline: Any, path: str | os.PathLike, *, key: str | bytes | None = None
) -> Path:
    """Save a fitted :class:`~churnpredict._pipeline.ChurnPipeline` as a bundle at ``path``.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    BundleError
        When ``path`` may not hold a bundle, or a builder or the model holds state that is
        not plain data.
    """
    model = pipeline.model_
    for obj in [*pipeline.builders_, model]:  # a class the bundle could not load is refused now
        check_class_path(class_path(type(obj)), f"cannot save {type(obj).__name__}")
    try:
        builders = [b.get_state() for b in pipeline.builders_]
        settings = {
            k: to_json(v, f"ChurnPipeline parameter {k}")
            for k, v in pipeline.get_params(deep=False).items()
            if k not in ("builders", "model")
        }
        model_state, booster = _model_state(model)
    except TypeError as exc:
        raise BundleError(
            f"cannot save the pipeline: {exc}; bundles hold JSON only (no "
            f"pickle). Keep fitted state as plain data or give the class "
            f"get_state()/from_state()"
        ) from None
    info = pipeline.feature_info_
    meta = {
        "format": MARKER,
        "format_version": BUNDLE_FORMAT,
        "settings": settings,
        "model": {
            "class": class_path(type(model)),
            "file": MODEL_JSON,
            "booster": BOOSTER_JSON if booster is not None else None,
        },
        "features": {
            "names": list(pipeline.feature_names_),
            "group": info["group"].astype(str).tolist(),
            "description": info["description"].astype(str).tolist(),
        },
        "training": {
            "as_of": pipeline.as_of_.isoformat(),
            "cutoffs": [t.isoformat() for t in pipeline.cutoffs_],
            "horizon": str(pipeline.horizon_),
            "label_kind": pipeline.label_kind_,
            "is_snapshot": bool(pipeline.is_snapshot_),
            "summary": to_json(pipeline.training_summary_, "training_summary_"),
            # further fitted attributes the pipeline class lists (inputs it needs, model id...)
            "extra": {
                name: to_json(getattr(pipeline, name), name)
                for name in getattr(type(pipeline), "bundle_attributes", ())
                if hasattr(pipeline, name)
            },
        },
        "metrics": {"validation": to_json(dict(pipeline.validation_scores_), "validation_scores_")},
        "versions": _versions(),
    }
    files = {
        BUNDLE_JSON: _dumps(meta),
        BUILDERS_JSON: _dumps({"builders": builders}),
        MODEL_JSON: _dumps(model_state),
    }
    if booster is not None:
        files[BOOSTER_JSON] = booster
    # a pipeline loaded from this bundle replaces only the version it was loaded from
    origin = getattr(pipeline, _ORIGIN, None)
    here = os.path.realpath(path)
    expected = origin[1] if origin is not None and origin[0] == here else None
    written = write_bundle(path, files, key=key, expected=expected)
    if expected is not None:  # its next save replaces the version it has just written
        setattr(pipeline, _ORIGIN, (here, written.name))
    return Path(path)


#: bundle.json keys and their JSON types, checked before anything is read from it.
_META_KEYS: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("format", str),
    ("format_version", int),
    ("settings", dict),
    ("model", dict),
    ("model.class", str),
    ("model.file", str),
    ("model.booster", (str, type(None))),
    ("features", dict),
    ("features.names", list),
    ("features.group", list),
    ("features.description", list),
    ("training", dict),
    ("training.as_of", str),
    ("training.cutoffs", list),
    ("training.horizon", str),
    ("training.label_kind", str),
    ("training.is_snapshot", bool),
    ("training.summary", dict),
    ("metrics", dict),
    ("metrics.validation", dict),
    ("versions", dict),
)
_JSON_TYPE = {
    str: "a string",
    int: "an integer",
    dict: "an object",
    list: "a list",
    bool: "true/false",
    type(None): "null",
}


def _check_meta(meta: Any, where: str) -> dict[str, Any]:
    """``bundle.json`` checked: its keys and their types, the feature lists, the format."""
    if not isinstance(meta, dict):
        raise BundleError(f"{where}: expected a JSON object, found {type(meta).__name__}")
    for dotted, kind in _META_KEYS:
        _check_meta_key(meta, dotted, kind, where)
    for dotted in ("features.names", "features.group", "features.description", "training.cutoffs"):
        section, name = dotted.split(".")
        if not all(isinstance(v, str) for v in meta[section][name]):
            raise BundleError(f"{where}: key {dotted!r} should be a list of strings")
    n = len(meta["features"]["names"])
    if len(meta["features"]["group"]) != n or len(meta["features"]["description"]) != n:
        raise BundleError(
            f"{where}: keys 'features.names', 'features.group' and "
            f"'features.description' differ in length"
        )
    if meta["format"] != MARKER or meta["format_version"] != BUNDLE_FORMAT:
        raise BundleError(
            f"{where}: bundle format {meta['format']!r} "
            f"{meta['format_version']!r}; this churnpredict reads format "
            f"{BUNDLE_FORMAT}; retrain with this version"
        )
    return meta


def _check_meta_key(meta: dict[str, Any], dotted: str, kind: Any, where: str) -> None:
    """The key ``dotted`` ("section.name") is present with a value of type ``kind``."""
    node: Any = meta
    for part in dotted.split("."):
        if part not in node:
            raise BundleError(
                f"{where}: key {dotted!r} is missing; the bundle is damaged "
                f"or was edited. Retrain or save it again"
            )
        node = node[part]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(node, kinds) or (isinstance(node, bool) and bool not in kinds):
        names = " or ".join(_JSON_TYPE.get(k, k.__name__) for k in kinds)
        raise BundleError(
            f"{where}: key {dotted!r} should be {names}, found "
            f"{type(node).__name__}; the bundle is damaged or was edited"
        )


def _check_versions(path: Path, saved: dict[str, Any]) -> None:
    current = _versions()
    clashes = []
    for name in _VERSIONED:
        if name not in saved:
            clashes.append(f"{name} (version not recorded)")
        elif _compat(saved[name]) != _compat(current[name]):
            clashes.append(f"{name} {saved[name]} (installed: {current[name]})")
    if clashes:
        raise BundleError(
            f"{path}: bundle written with incompatible versions: {'; '.join(clashes)}. "
            f"Retrain with the installed versions, or install matching ones"
        )


def _load_model(folder: Path, meta: dict[str, Any], files: dict[str, bytes]) -> Any:
    import xgboost as xgb

    model_file, booster_file = meta["model"]["file"], meta["model"]["booster"]
    for name in (model_file, booster_file):
        if name is not None and name not in files:
            raise BundleError(
                f"{folder / MANIFEST}: does not list {name}; the bundle is "
                f"incomplete, save it again"
            )
    where = str(folder / model_file)
    state = _loads(files[model_file], where)
    if not isinstance(state, dict) or state.get("class") != meta["model"]["class"]:
        raise BundleError(f"{where}: key 'class' does not match bundle.json's model.class")
    if booster_file is None:
        klass = resolve_class(state["class"], JSONStateMixin, where)
        if not callable(getattr(klass, "predict_proba", None)):
            raise BundleError(f"{where}: {state['class']!r} is not a classifier")
        return klass.from_state(state, where)
    klass = resolve_class(state["class"], ChurnModel, where)
    booster = xgb.Booster()
    try:
        booster.load_model(bytearray(files[booster_file]))
    except xgb.core.XGBoostError as exc:
        raise BundleError(
            f"{folder / booster_file}: not a readable XGBoost model "
            f"({str(exc).splitlines()[0]}); retrain"
        ) from None
    try:
        params = {k: from_json(v) for k, v in state["params"].items()}
        return klass.from_fitted_state(params, from_json(state["fitted"]), booster)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(
            f"{where}: malformed model state ({type(exc).__name__}: {exc}); retrain"
        ) from None


def load_pipeline(cls: type, path: str | os.PathLike, *, key: str | bytes | None = None) -> Any:
    """Read the bundle at ``path`` into a fitted ``cls`` (a ChurnPipeline class).

    See :func:`read_bundle` for the checks; then ``bundle.json`` is validated key by key
    and the library versions compared.
    """
    path = Path(path)
    folder, files = read_bundle(path, key=key)
    origin = (os.path.realpath(path), folder.name)
    where = str(folder / BUNDLE_JSON)
    meta = _check_meta(_loads(files[BUNDLE_JSON], where), where)
    _check_versions(path, meta["versions"])
    builders_where = str(folder / BUILDERS_JSON)
    listed = _loads(files[BUILDERS_JSON], builders_where)
    if not isinstance(listed, dict) or not isinstance(listed.get("builders"), list):
        raise BundleError(f"{builders_where}: key 'builders' is missing or not a list")
    # every class the bundle names is checked before any module is imported
    for i, state in enumerate(listed["builders"]):
        where_i = f"{builders_where} builder {i}"
        if not isinstance(state, dict):
            raise BundleError(f"{where_i}: expected an object, found {type(state).__name__}")
        check_class_path(state.get("class"), where_i, bundle=path)
    check_class_path(meta["model"]["class"], where, bundle=path)
    builders = [
        FeatureBuilder.from_state(s, f"{builders_where} builder {i}")
        for i, s in enumerate(listed["builders"])
    ]
    model = _load_model(folder, meta, files)
    training = meta["training"]
    try:
        settings = {k: from_json(v) for k, v in meta["settings"].items()}
        pipe = cls(
            builders=[b.__class__(**b.get_params(deep=False)) for b in builders],
            model=model.__class__(**model.get_params(deep=False)),
            **settings,
        )
        names = list(meta["features"]["names"])
        info = pd.DataFrame(
            {"group": meta["features"]["group"], "description": meta["features"]["description"]},
            index=pd.Index(names, name="feature"),
        )
        extra = training.get("extra", {})
        if not isinstance(extra, dict):
            raise TypeError("training.extra is not an object")
        # only the names the class lists are ever set
        kept = {
            name: from_json(extra[name])
            for name in getattr(cls, "bundle_attributes", ())
            if name in extra
        }
        business = kept.pop("business_", "subscription")
        reason = kept.pop("business_reason_", "")
        pipe.set_fitted(
            builders=builders,
            model=model,
            feature_names=names,
            feature_info=info,
            as_of=pd.Timestamp(training["as_of"]),
            cutoffs=pd.to_datetime(training["cutoffs"]),
            horizon=pd.Timedelta(training["horizon"]),
            label_kind=training["label_kind"],
            is_snapshot=training["is_snapshot"],
            business=business,
            business_reason=reason,
            training_summary=from_json(training["summary"]),
            validation_scores=from_json(meta["metrics"]["validation"]),
            **kept,
        )
    except (TypeError, ValueError) as exc:
        raise BundleError(
            f"{where}: unusable value ({exc}); the bundle is damaged or was edited. Retrain"
        ) from None
    setattr(pipe, _ORIGIN, origin)  # a later save to this bundle checks it is still current
    return pipe
