"""Files of bits and arrays: reading and writing 0/1 data matrices, atomic saves.

Data files hold one row of 0/1 values per line, separated by commas or whitespace (a header
line is not supported; lines starting with ``#`` are skipped), or a 2-D ``.npy`` array.
Everything written here is replaced atomically: a crash leaves the old file or the new one.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _checks

__all__ = ["read_bits", "write_bits", "rows_text", "check_writable", "atomic_write", "atomic_savez"]


def read_bits(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a 0/1 data file: text rows (comma- or whitespace-separated) or a ``.npy`` array.

    Text files hold one row per line; blank lines and lines starting with ``#`` are skipped.
    A header line is not supported.

    Args:
        path: the file; ``.npy`` files are read with ``numpy.load`` (no pickles), any other
            name as text.

    Returns:
        ``uint8`` array ``(rows, columns)`` of 0/1.

    Raises:
        FileNotFoundError: there is no file at ``path``.
        ValueError: the file is not 0/1 rows: a non-numeric entry (such as a header), rows of
            different lengths, a value other than 0 and 1, no rows, or not 2-D. The message
            names the file and, for text, the line.

    Example:
        >>> import pathlib, tempfile
        >>> from iqpgen.io import read_bits
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
        >>> _ = path.write_text("0,1,1\\n1 0 0\\n")
        >>> read_bits(path).tolist()
        [[0, 1, 1], [1, 0, 0]]
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no data file at {path!r}.")
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a folder; give a .csv, text or .npy data file.")
    if path.lower().endswith(".npy"):
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise ValueError(
                f"{path!r} is not a readable .npy array ({_checks.one_line(err)})."
            ) from err
        return _check_bits(arr, path)
    return _read_text_bits(path)


def _read_text_bits(path: str) -> np.ndarray:
    fast = _load_text_fast(path)
    return fast if fast is not None else _read_text_lines(path)


def _load_text_fast(path: str) -> np.ndarray | None:
    """``numpy.loadtxt`` of a well-formed file (one separator throughout, 0/1 only); None
    for anything else, which the line-by-line reader then reports with its line."""
    try:
        with open(path, encoding="utf-8") as f:
            first = next((ln for ln in f if ln.strip() and not ln.lstrip().startswith("#")), "")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file: the slow path says so
            arr = np.loadtxt(
                path, delimiter="," if "," in first else None, comments="#", ndmin=2,
                dtype=np.int8, encoding="utf-8",
            )  # fmt: skip
    except (ValueError, OverflowError, UnicodeDecodeError):
        return None
    if arr.size == 0 or not np.isin(arr, (0, 1)).all():
        return None
    return arr.astype(np.uint8)


def _read_text_lines(path: str) -> np.ndarray:
    rows: list[np.ndarray] = []
    line_of: list[int] = []
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, raw in enumerate(f, start=1):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                tokens = [t.strip() for t in line.split(",")] if "," in line else line.split()
                try:
                    row = np.array(tokens, dtype=np.float64)
                except ValueError:
                    bad = next(t for t in tokens if not _is_number(t))
                    raise ValueError(
                        f"{path}:{lineno}: {bad[:40]!r} is not a number; data files hold 0/1 "
                        "values only, one row per line, and a header line is not supported "
                        "(remove it)."
                    ) from None
                if rows and row.shape[0] != rows[0].shape[0]:
                    raise ValueError(
                        f"{path}:{lineno}: this row has {row.shape[0]} values but the first row "
                        f"(line {line_of[0]}) has {rows[0].shape[0]}; every row needs the same "
                        "number of columns."
                    )
                rows.append(row)
                line_of.append(lineno)
    except UnicodeDecodeError:
        raise ValueError(
            f"{path!r} is not a text file of 0/1 rows; give comma- or whitespace-separated "
            "text, or a .npy array."
        ) from None
    if not rows:
        raise ValueError(f"{path!r} holds no rows of data.")
    arr = np.stack(rows)
    bad = ~np.isin(arr, (0.0, 1.0))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(
            f"{path}:{line_of[r]}: value {_fmt_value(arr[r, c])} in column {c + 1} is not 0 or 1; "
            f"{_bits_hint(arr)}"
        )
    return arr.astype(np.uint8)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _fmt_value(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _bits_hint(arr: np.ndarray) -> str:
    if np.isin(arr, (-1.0, 1.0)).all():
        return "these look like -1/+1 spins: convert them to 0/1 bits with (x + 1) / 2 first."
    return "iqpgen models binary data: every value must be 0 or 1."


def _check_bits(arr: np.ndarray, path: str) -> np.ndarray:
    if not (np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)):
        raise ValueError(f"{path!r} holds {arr.dtype} values; expected a 2-D array of 0/1.")
    if arr.ndim != 2:
        raise ValueError(
            f"{path!r} holds an array of shape {arr.shape}; expected 2-D (rows, bits)."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{path!r} holds an empty array of shape {arr.shape}.")
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(
            f"{path!r}: value {_fmt_value(arr[r, c])} at row {r}, column {c} is not 0 or 1; "
            f"{_bits_hint(arr.astype(np.float64))}"
        )
    return arr.astype(np.uint8)


def write_bits(path: str | os.PathLike[str], X: Any) -> None:
    """Write a 0/1 matrix: ``.npy`` when ``path`` ends in ``.npy``, comma-separated text else.

    Parent folders are created and the file is replaced atomically (a crash leaves the old
    file or the new one, never a part). :func:`read_bits` reads both back.

    Args:
        path: the file to write (replaced if it exists).
        X: 0/1 matrix ``(rows, columns)``.

    Example:
        >>> import pathlib, tempfile, numpy as np
        >>> from iqpgen.io import read_bits, write_bits
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
        >>> write_bits(path, np.eye(2, dtype=np.uint8))
        >>> path.read_text()
        '1,0\\n0,1\\n'
    """
    path = os.fspath(path)
    X = np.asarray(X, dtype=np.uint8)
    if path.lower().endswith(".npy"):
        atomic_write(path, lambda f: np.save(f, X, allow_pickle=False))
    else:
        atomic_write(path, lambda f: f.write(rows_text(X).encode()))


def rows_text(X: Any) -> str:
    """0/1 rows as comma-separated text, one line per row (the format :func:`write_bits`
    writes and :func:`read_bits` reads).

    Example:
        >>> from iqpgen.io import rows_text
        >>> rows_text([[1, 0], [0, 1]])
        '1,0\\n0,1\\n'
    """
    X = np.asarray(X, dtype=np.uint8)
    return "".join(",".join("1" if v else "0" for v in row.tolist()) + "\n" for row in X)


def check_writable(
    path: str | os.PathLike[str], name: str = "path", *, folder: bool = False
) -> str:
    """Check, before long work, that ``path`` can be written: a file (``folder=False``) whose
    folder exists or can be made and takes new files, or a folder (``folder=True``) that can
    be made and written in. Missing folders are created; nothing else is left behind.

    Raises:
        ValueError: naming ``name``, the path and why (a folder where a file is expected or
            the reverse, a parent that is a file, no permission, a read-only file system).
    """
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"{name} must be a path, got {type(path).__name__}.")
    path = os.fspath(path)
    if not path:
        raise ValueError(f"{name} is empty; give a path.")
    if folder:
        if os.path.exists(path) and not os.path.isdir(path):
            raise ValueError(f"{name} {path!r} is a file; give a folder.")
        directory = path
    else:
        if os.path.isdir(path):
            raise ValueError(f"{name} {path!r} is a folder; give a file name.")
        directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".write-check-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        why = err.strerror or _checks.one_line(err)
        raise ValueError(
            f"{name} {path!r} cannot be written ({why}: {directory!r}); choose another path."
        ) from None
    return path


def atomic_write(path: str | os.PathLike[str], write: Callable[[Any], Any]) -> None:
    """Write a file atomically: ``write(f)`` fills a temporary file (binary) in the same
    folder, which is flushed to disk and then renamed over ``path``. Parent folders are
    created; on any error the temporary file is removed and ``path`` is untouched."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a folder; give a file name to write.")
    directory = os.path.dirname(os.path.abspath(path)) or "."
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=os.path.splitext(path)[1])
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_savez(path: str | os.PathLike[str], **arrays: np.ndarray) -> None:
    """``numpy.savez`` of ``arrays`` to ``path``, atomically (see :func:`atomic_write`); used
    for models and checkpoints."""
    atomic_write(path, lambda f: np.savez(f, **arrays))
