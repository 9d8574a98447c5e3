"""The evaluation protocol of arXiv 2503.02934's tables: ten bandwidths, the test set in twenty
chunks, the paper's sample sizes, and its "Random" and "True" reference rows.

* Bandwidths: ``linspace(min, max, 10)`` of the training list, rounded to 3 decimals
  (:func:`paper_bandwidths`).
* The test set is split into 20 equal chunks in file order (``numpy.array_split``); a model's
  value is the mean of its 20 chunk estimates and its error their standard deviation over
  ``√20``.
* IQP models are evaluated through expectation values: per chunk, ``n_ops = n_samples = 3000``
  Monte Carlo operators and circuit samples (a fresh key per chunk), or the exact MMD² when the
  model was trained with the exact estimator (no estimator noise at all).
* Every other model is sampled: 5,000 samples split into 20 groups of 250, group ``c`` against
  chunk ``c``, by the unbiased kernel U-statistic (:func:`iqpgen.kernel.between_samples_each`).
  A 0/1 matrix (e.g. the training set, the "True" row) is split into 20 groups the same way.
* "Random" is uniform bits, as many rows as the training set (:func:`random_rows`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks, kernel, mmd
from ..estimator import Estimate
from ..noise import readout_array
from .common import model_kind, n_features, sample_groups

__all__ = ["paper_bandwidths", "paper_mmd", "random_rows", "PAPER_N_CHUNKS"]

#: Chunks of the test set in the paper's tables.
PAPER_N_CHUNKS = 20


def paper_bandwidths(training_sigmas: float | Sequence[float], n: int = 10) -> list[float]:
    """The paper's evaluation bandwidths: ``n`` points ``linspace(min, max)`` of the training
    bandwidths, rounded to 3 decimals.

    Example:
        >>> paper_bandwidths([7.762, 6.151, 3.928])[:3]
        [3.928, 4.354, 4.78]
    """
    sig = kernel.as_sigmas(training_sigmas)
    n = _checks.check_int("n", n, minimum=1)
    return [float(v) for v in np.round(np.linspace(min(sig), max(sig), n), 3)]


def random_rows(n_rows: int, n_bits: int, *, key: jax.Array) -> np.ndarray:
    """Uniform random bits, ``(n_rows, n_bits)`` ``uint8``: the paper's "Random" model."""
    n_rows = _checks.check_int("n_rows", n_rows, minimum=1)
    n_bits = _checks.check_int("n_bits", n_bits, minimum=1)
    bits = jax.random.bernoulli(_checks.check_key(key), 0.5, (n_rows, n_bits))
    return np.asarray(bits, np.uint8)


def _iqp_values(model, chunks, sig: tuple[float, ...], key, n_ops, n_samples) -> np.ndarray:
    """``(n_chunks, n_sigmas)`` estimates of an IqpModel; chunk ``c`` with ``fold_in(key, c)``."""
    readout = readout_array(model.readout_error, model.n_features_in_)
    if getattr(model, "estimator_", None) == "exact":
        table = functools.partial(
            mmd.exact_per_sigma_jit, model.circuit_, model.params_, sigmas=sig, unbiased=True
        )
        return np.array(
            [np.asarray(table(mmd.data_table(c), readout_error=readout)) for c in chunks],
            np.float64,
        )
    keys = jax.vmap(lambda c: jax.random.fold_in(key, c))(jnp.arange(len(chunks)))
    data = mmd.stack_packed([mmd.pack_data(c) for c in chunks])
    kw = dict(sigmas=sig, n_ops=n_ops, n_samples=n_samples, readout_error=readout)
    return np.asarray(mmd.per_sigma_map(model.circuit_, model.params_, data, keys, **kw))


def paper_mmd(
    model: Any,
    X_test: Any,
    sigmas: float | Sequence[float],
    *,
    key: jax.Array,
    n_chunks: int = PAPER_N_CHUNKS,
    n_ops: int = 3000,
    n_samples: int = 3000,
    n_model_samples: int = 5000,
) -> Estimate:
    """Test MMD² of a model at each bandwidth, in the paper's protocol (see the module).

    Args:
        model: a fitted :class:`~iqpgen.IqpModel` (expectation values), any model with a
            ``sample(n_samples, random_state=...)`` method (sampled), or a 0/1 sample matrix.
        X_test: 0/1 test data, at least 2 rows per chunk.
        sigmas: the bandwidths, e.g. :func:`paper_bandwidths` of the training list.
        key: JAX key; chunk ``c`` of an IQP model uses ``fold_in(key, c)``.
        n_chunks: chunks of the test set (20 in the paper).
        n_ops, n_samples: Monte Carlo operators and circuit samples per chunk (IQP models
            trained with the Monte Carlo estimator).
        n_model_samples: samples drawn from a sampled model, split over the chunks.

    Returns:
        :class:`iqpgen.Estimate`: the mean over chunks and ``std/√n_chunks``, per bandwidth.

    Example:
        >>> import jax, numpy as np
        >>> from iqpgen.evaluate import paper_mmd
        >>> X = np.random.default_rng(0).integers(0, 2, (400, 6))
        >>> est = paper_mmd(X[:200], X[200:], [1.0, 2.0], key=jax.random.key(0))
        >>> bool(np.all(np.abs(est.mean) < 4 * est.stderr + 1e-3))  # same distribution
        True
    """
    kind = model_kind(model)
    key = _checks.check_key(key)
    n_chunks = _checks.check_int("n_chunks", n_chunks, minimum=2)
    n_ops = _checks.check_int("n_ops", n_ops, minimum=1)
    n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
    n_model_samples = _checks.check_int("n_model_samples", n_model_samples, minimum=2 * n_chunks)
    sig = kernel.as_sigmas(sigmas)
    X_test = _checks.check_binary_matrix("X_test", X_test, n_cols=n_features(model), min_rows=2)
    if X_test.shape[0] < 2 * n_chunks:
        raise ValueError(
            f"X_test has {X_test.shape[0]} rows; {n_chunks} chunks need at least 2 rows each "
            f"({2 * n_chunks} rows), or lower n_chunks."
        )
    n = X_test.shape[1]
    chunks = np.array_split(X_test, n_chunks)
    if kind == "iqp":
        values = _iqp_values(model, chunks, sig, key, n_ops, n_samples)
    else:
        groups = sample_groups(model, kind, n, n_chunks, n_model_samples, key)
        values = [
            kernel.between_samples_each(g, c, sig).tolist()
            for g, c in zip(groups, chunks, strict=True)
        ]
    v = np.asarray(values, np.float64)
    return Estimate(mean=v.mean(axis=0), stderr=v.std(axis=0, ddof=1) / np.sqrt(n_chunks))
