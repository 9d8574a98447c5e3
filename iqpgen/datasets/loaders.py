"""Small synthetic datasets, scikit-learn's digits, and loaders for files and PennyLane data.

Every function returns 0/1 ``uint8`` matrices. scikit-learn and PennyLane are imported only
inside the functions that need them.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from . import _cache

__all__ = ["blobs", "digits", "load_dwave", "load_pennylane", "read_graph"]


def _check_fraction(name: str, value: Any, *, low: float, high: float, closed: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}.")
    value = float(value)
    ok = low <= value <= high if closed else low < value < high
    if not ok:
        interval = f"[{low}, {high}]" if closed else f"({low}, {high})"
        raise ValueError(f"{name} must lie in {interval}, got {value}.")
    return value


@functools.partial(jax.jit, static_argnames=("n_blobs", "n_bits"))
def _peak_indices(key: jax.Array, *, n_blobs: int, n_bits: int) -> jax.Array:
    """``n_blobs`` distinct integers below ``2**n_bits``, uniformly (the top keys of a shuffle)."""
    return jax.lax.top_k(jax.random.uniform(key, (2**n_bits,)), n_blobs)[1]


@functools.partial(jax.jit, static_argnames=("n_samples",))
def _noisy_copies(key: jax.Array, peaks: jax.Array, flip_prob: jax.Array, *, n_samples: int):
    k_labels, k_flips = jax.random.split(key)
    labels = jax.random.randint(k_labels, (n_samples,), 0, peaks.shape[0])
    flips = jax.random.bernoulli(k_flips, flip_prob, (n_samples, peaks.shape[1]))
    return peaks[labels] ^ flips.astype(jnp.uint8)


def _distinct_peaks(key: jax.Array, n_blobs: int, n_bits: int) -> np.ndarray:
    if n_bits <= 20:
        idx = np.asarray(_peak_indices(key, n_blobs=n_blobs, n_bits=n_bits)).astype(np.int64)
        return ((idx[:, None] >> np.arange(n_bits - 1, -1, -1)) & 1).astype(np.uint8)
    # Over 2^20 candidates: draw at random and redraw in the (rare) case of a repeat.
    for attempt in range(100):
        k = jax.random.fold_in(key, attempt)
        peaks = np.asarray(jax.random.bits(k, (n_blobs, n_bits), dtype=jnp.uint8) & 1)
        if len(np.unique(peaks, axis=0)) == n_blobs:
            return peaks
    raise ValueError(
        f"could not draw {n_blobs} distinct peaks of {n_bits} bits in 100 tries; lower n_blobs."
    )


def blobs(
    n_samples: int,
    *,
    key: jax.Array,
    n_bits: int = 16,
    n_blobs: int = 8,
    flip_prob: float = 0.05,
) -> np.ndarray:
    """Noisy copies of a few peak bitstrings (the paper's 16-bit "8 blobs" dataset, by default).

    ``n_blobs`` distinct peak bitstrings of ``n_bits`` bits are drawn uniformly at random; each
    row picks a peak uniformly and flips each of its bits independently with probability
    ``flip_prob``. (The paper's peaks are eight hand-drawn 4×4 patterns; these are random.)
    Not cached: regenerating is faster than reading a file.

    Args:
        n_samples: number of rows.
        key: JAX PRNG key; it fixes the peaks and the noise.
        n_bits: bits per row.
        n_blobs: number of peaks, at most ``2**n_bits``.
        flip_prob: probability of flipping each bit, in ``[0, 1]``.

    Returns:
        ``uint8`` array of shape ``(n_samples, n_bits)``.

    Example:
        >>> import jax
        >>> x = blobs(1000, key=jax.random.key(0))
        >>> x.shape, x.dtype
        ((1000, 16), dtype('uint8'))
    """
    key = _checks.check_key(key)
    n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
    n_bits = _checks.check_int("n_bits", n_bits, minimum=1)
    n_blobs = _checks.check_int("n_blobs", n_blobs, minimum=1)
    flip_prob = _check_fraction("flip_prob", flip_prob, low=0.0, high=1.0, closed=True)
    if n_bits < 63 and n_blobs > 2**n_bits:
        raise ValueError(
            f"n_blobs = {n_blobs} exceeds the {2**n_bits} distinct bitstrings of n_bits = "
            f"{n_bits}; lower n_blobs or raise n_bits."
        )
    k_peaks, k_noise = jax.random.split(key)
    peaks = jnp.asarray(_distinct_peaks(k_peaks, n_blobs, n_bits))
    return np.asarray(_noisy_copies(k_noise, peaks, jnp.float32(flip_prob), n_samples=n_samples))


def digits(
    threshold: float = 8, *, test_fraction: float = 0.2, key: jax.Array
) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled 8×8 handwritten digits, binarised: 1,797 rows of 64 bits.

    A pixel (intensity 0–16) becomes 1 when it is ``>= threshold``. Rows are shuffled with
    ``key`` and split into train and test sets.

    Args:
        threshold: intensity at and above which a pixel is 1, in ``(0, 16]``.
        test_fraction: share of rows in the test set, in ``(0, 1)`` (rounded to whole rows).
        key: JAX PRNG key for the shuffle.

    Returns:
        ``(X_train, X_test)``, ``uint8`` arrays with 64 columns.

    Example:
        >>> import jax
        >>> X_train, X_test = digits(key=jax.random.key(0))
        >>> X_train.shape, X_test.shape
        ((1438, 64), (359, 64))
    """
    threshold = _check_fraction("threshold", threshold, low=0.0, high=16.0, closed=True)
    if threshold == 0:
        raise ValueError("threshold must be above 0 (every pixel is >= 0); try 8.")
    test_fraction = _check_fraction("test_fraction", test_fraction, low=0.0, high=1.0, closed=False)
    key = _checks.check_key(key)
    from sklearn.datasets import load_digits

    x = (load_digits().data >= threshold).astype(np.uint8)
    order = np.asarray(jax.random.permutation(key, x.shape[0]))
    n_test = min(max(round(test_fraction * x.shape[0]), 1), x.shape[0] - 1)
    x = x[order]
    return x[n_test:], x[:n_test]


def _spins_to_bits(name: str, arr: Any) -> np.ndarray:
    """A ±1 array with rows as samples (trailing axes flattened) → 0/1 uint8 (+1 → 1)."""
    arr = np.asarray(arr)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise ValueError(f"{name} must hold ±1 spins, got dtype {arr.dtype}.")
    if arr.ndim < 2 or arr.shape[0] == 0:
        raise ValueError(
            f"{name} must have shape (n_samples, n_spins) with at least one sample, got "
            f"{arr.shape}."
        )
    arr = arr.reshape(arr.shape[0], -1)
    ok = np.isin(arr, (-1, 1))
    if not ok.all():
        bad = arr[~ok].ravel()[0]
        hint = (
            " (it looks like 0/1 bits already; load it with np.load)"
            if np.isin(arr, (0, 1)).all()
            else ""
        )
        raise ValueError(f"{name} must hold only -1 and +1 spins, found {bad!r}{hint}.")
    return ((arr + 1) // 2).astype(np.uint8)


def _load_npy(path: Path) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise ValueError(
            f"{path} is not a readable .npy array of spins ({err}); re-download it."
        ) from err
    return _spins_to_bits(str(path), arr)


def load_dwave(
    path: str | os.PathLike[str], *, test_fraction: float = 0.2
) -> tuple[np.ndarray, np.ndarray]:
    """Load D-Wave spin samples (Zenodo record 7250436) as 0/1 train and test sets.

    ``path`` is one ``.npy`` file or a directory; a directory's ``*.npy`` files are read in
    name order and stacked (they must have the same number of spins). Each file holds ±1 spins
    with one sample per row (trailing axes, e.g. ``22 × 22``, are flattened). Spins map to bits
    by ``x = (s + 1) / 2``. Split rule: the last ``round(test_fraction · N)`` rows (at least
    one) are the test set and the rows before them the training set, in file order, without
    shuffling, so consecutive (possibly correlated) anneals stay on one side.

    Args:
        path: a ``.npy`` file or a directory of them.
        test_fraction: share of rows in the test set, in ``(0, 1)``.

    Returns:
        ``(X_train, X_test)``, ``uint8`` arrays with ``n_spins`` columns.

    Raises:
        FileNotFoundError: ``path`` does not exist or the directory has no ``.npy`` files.
        ValueError: a file is not a numeric ``.npy`` array, holds values other than ±1, or the
            files disagree on the number of spins.

    Example:
        >>> import numpy as np, tempfile, os
        >>> spins = np.array([[1, -1], [-1, -1], [1, 1], [1, -1]])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     np.save(os.path.join(d, "a.npy"), spins)
        ...     X_train, X_test = load_dwave(d, test_fraction=0.25)
        >>> X_train.tolist(), X_test.tolist()
        ([[1, 0], [0, 0], [1, 1]], [[1, 0]])
    """
    test_fraction = _check_fraction("test_fraction", test_fraction, low=0.0, high=1.0, closed=False)
    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a file or directory path, got {type(path).__name__}.")
    p = Path(path).expanduser()
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix == ".npy" and f.is_file())
        if not files:
            raise FileNotFoundError(
                f"no .npy files in {p}; download the D-Wave samples from Zenodo record 7250436 "
                "(https://zenodo.org/records/7250436) into it."
            )
    elif p.is_file():
        files = [p]
    else:
        raise FileNotFoundError(
            f"{p} does not exist; download the D-Wave samples (.npy files of ±1 spins) from "
            "Zenodo record 7250436 (https://zenodo.org/records/7250436) and pass the file or "
            "its directory."
        )
    parts = [_load_npy(f) for f in files]
    widths = {x.shape[1] for x in parts}
    if len(widths) > 1:
        raise ValueError(
            f"the .npy files in {p} disagree on the number of spins ({sorted(widths)}); put "
            "files of one instance in a directory of their own."
        )
    x = np.concatenate(parts, axis=0)
    if x.shape[0] < 2:
        raise ValueError(f"{p} holds {x.shape[0]} sample; a train/test split needs at least 2.")
    n_test = min(max(round(test_fraction * x.shape[0]), 1), x.shape[0] - 1)
    return x[: x.shape[0] - n_test], x[x.shape[0] - n_test :]


def read_graph(path: str | os.PathLike[str]) -> Any:
    """Read a graph from a networkx adjacency-list file with integer node labels.

    The nodes of the returned ``networkx.Graph`` are in ascending label order, so that column
    ``k`` of data generated on it (:func:`~iqpgen.datasets.scale_free`) is the ``k``-th
    smallest label; ``networkx.read_adjlist`` alone orders nodes by first appearance. The
    paper's scale-free graph (``graph.adjlist`` in its repository, 1,000 nodes, 2,991 edges)
    is such a file.

    Args:
        path: the adjacency-list file: one line per node, its label then its neighbours'.

    Returns:
        An undirected ``networkx.Graph``.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not an adjacency list of integer labels, has no nodes, or
            has self-loops.

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     f = pathlib.Path(d, "g.adjlist")
        ...     _ = f.write_text("2 0\\n0 1\\n1\\n")
        ...     list(read_graph(f).nodes), sorted(read_graph(f).edges)
        ([0, 1, 2], [(0, 1), (0, 2)])
    """
    import networkx as nx

    if not isinstance(path, str | os.PathLike):
        raise TypeError(f"path must be a file path, got {type(path).__name__}.")
    p = Path(path).expanduser()
    if not p.is_file():
        raise FileNotFoundError(f"{p} does not exist; pass a networkx adjacency-list file.")
    try:
        raw = nx.read_adjlist(p, nodetype=int)
    except (TypeError, ValueError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{p} is not an adjacency list of integer node labels ({err}); write it with "
            "networkx.write_adjlist."
        ) from err
    if raw.number_of_nodes() == 0:
        raise ValueError(f"{p} has no nodes; pass a non-empty adjacency list.")
    if nx.number_of_selfloops(raw) > 0:
        raise ValueError(f"{p} has self-loops; remove them from the file.")
    graph = nx.Graph()
    graph.add_nodes_from(sorted(raw.nodes))
    graph.add_edges_from(raw.edges)
    return graph


def _bits(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim == 2 and arr.size and np.isin(arr, (-1, 1)).all() and (arr == -1).any():
        return _spins_to_bits(name, arr)
    return _checks.check_binary_matrix(name, arr, min_rows=1, what="samples")


def load_pennylane(
    name: str, *, folder_path: str | os.PathLike[str] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Download a dataset from PennyLane's dataset service: ``qml.data.load("other", name=...)``.

    Needs internet access, PennyLane, and the data module's extras (``pip install h5py fsspec
    aiohttp``). The dataset must have array attributes ``train`` and ``test`` holding 0/1 bits
    or ±1 spins (spin +1 → bit 1), one sample per row.

    Args:
        name: the dataset's name in the ``"other"`` category, e.g. ``"d-wave"``.
        folder_path: where PennyLane stores the download; default ``<cache dir>/pennylane``
            (see :func:`iqpgen.datasets.cache_dir`).

    Returns:
        ``(X_train, X_test)``, ``uint8`` arrays.

    Raises:
        ConnectionError: the service cannot be reached (e.g. offline). Offline, fetch the files
            on another machine and load them locally, e.g. with :func:`load_dwave`.
        ImportError: PennyLane or the data module's extras are missing.
        ValueError: the dataset has no ``train``/``test`` arrays of bits.

    Example:
        >>> X_train, X_test = load_pennylane("d-wave")  # doctest: +SKIP
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string such as 'd-wave', got {name!r}.")
    try:
        import pennylane as qml
    except ImportError as err:
        raise ImportError("load_pennylane needs PennyLane: pip install pennylane.") from err
    folder = Path(folder_path) if folder_path is not None else _cache.cache_dir() / "pennylane"
    try:
        found = qml.data.load("other", name=name, folder_path=folder, progress_bar=False)
    except (ConnectionError, OSError) as err:  # requests' errors derive from OSError
        raise ConnectionError(
            f"load_pennylane({name!r}) needs internet access to PennyLane's dataset service "
            f"(qml.data.load('other', name={name!r})), which failed: {err}. Offline, download "
            "the data on a connected machine and load the local copy: the D-Wave samples with "
            "iqpgen.datasets.load_dwave(path) (Zenodo record 7250436 .npy files), a saved "
            "PennyLane .h5 file with qml.data.Dataset.open(path), or a CSV of bits with "
            "np.loadtxt(path, delimiter=',', dtype=np.uint8)."
        ) from err
    except ImportError as err:
        raise ImportError(
            f"PennyLane's dataset loader could not start ({err}); install its extras: "
            "pip install h5py fsspec aiohttp."
        ) from err
    if not found:
        raise ValueError(f"PennyLane returned no dataset named {name!r}.")
    ds = found[0]
    attrs = list(ds.list_attributes())
    if "train" not in attrs or "test" not in attrs:
        raise ValueError(
            f"the PennyLane dataset {name!r} has attributes {attrs}, not 'train' and 'test'; "
            "read it directly with qml.data.load('other', name=...)."
        )
    try:
        return _bits(f"{name}.train", ds.train), _bits(f"{name}.test", ds.test)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"the PennyLane dataset {name!r} does not hold its samples as plain arrays in "
            f"'train' and 'test' ({err}); read it directly with qml.data.load('other', "
            "name=...)."
        ) from err
