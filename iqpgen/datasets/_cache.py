"""On-disk cache for generated datasets, keyed by a hash of everything that determines them.

A dataset is stored as one ``.npy`` file named by the SHA-256 of the generating function's name,
all its parameters, the raw data of the JAX key, and :data:`DATA_VERSION`. Files are written to a
temporary file in the same directory and moved into place with :func:`os.replace`, so a reader
never sees a half-written file, even with several processes generating the same dataset.

The directory is ``$IQPGEN_CACHE`` when that variable is set, else ``~/.cache/iqpgen``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np

__all__ = ["DATA_VERSION", "cache_dir", "cache_path", "cached"]

#: Bumped whenever a generator's algorithm changes the numbers it returns for the same inputs,
#: so that old cache entries are no longer found.
DATA_VERSION = 2


def cache_dir() -> Path:
    """The cache directory: ``$IQPGEN_CACHE`` if set, else ``~/.cache/iqpgen``."""
    env = os.environ.get("IQPGEN_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "iqpgen"


def _canonical(value: Any) -> Any:
    """A JSON-serialisable form of a parameter value that changes whenever the value does."""
    if isinstance(value, bool | str | type(None)):
        return value
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return {"float": float(value).hex()}
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, np.ndarray | jax.Array):
        arr = np.ascontiguousarray(np.asarray(value))
        digest = hashlib.sha256(arr.tobytes()).hexdigest()
        return {"array": digest, "dtype": str(arr.dtype), "shape": list(arr.shape)}
    raise TypeError(f"cannot hash a parameter of type {type(value).__name__} for the cache.")


def _key_fingerprint(key: jax.Array) -> dict[str, Any]:
    data = np.asarray(jax.random.key_data(key))
    return {"impl": str(jax.random.key_impl(key)), "data": data.astype(np.uint32).tolist()}


def cache_path(name: str, params: Mapping[str, Any], key: jax.Array | None) -> Path:
    """The file a dataset with these inputs is cached in (it may not exist yet)."""
    blob = json.dumps(
        {
            "function": name,
            "params": _canonical(dict(params)),
            "key": None if key is None else _key_fingerprint(key),
            "data_version": DATA_VERSION,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(blob.encode()).hexdigest()[:32]
    return cache_dir() / f"{name}-{digest}.npy"


def _read(path: Path) -> np.ndarray | None:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None  # unreadable or truncated: regenerate and overwrite
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 2:
        return None
    return arr


def _write(path: Path, arr: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npy")
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, arr, allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def cached(
    name: str,
    params: Mapping[str, Any],
    key: jax.Array | None,
    compute: Callable[[], np.ndarray],
    *,
    enabled: bool,
) -> np.ndarray:
    """Return the cached array for these inputs, or compute, store and return it.

    With ``enabled=False`` the cache is neither read nor written. A cache directory that cannot
    be written to gives a :class:`RuntimeWarning` and the computed array.
    """
    if not enabled:
        return compute()
    path = cache_path(name, params, key)
    if path.is_file():
        hit = _read(path)
        if hit is not None:
            return hit
    arr = np.ascontiguousarray(compute(), dtype=np.uint8)
    try:
        _write(path, arr)
    except OSError as err:
        warnings.warn(
            f"could not write the dataset cache at {path} ({err}); set IQPGEN_CACHE to a "
            "writable directory or pass cache=False.",
            RuntimeWarning,
            stacklevel=3,
        )
    return arr
