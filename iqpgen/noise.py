r"""Readout error: the distribution that a device with bit flips before measurement returns.

A readout error ``p_i`` on qubit ``i`` reports the opposite bit with probability ``p_i``,
independently on each qubit (the bit-flip channel ``ρ → (1 − p_i) ρ + p_i X_i ρ X_i`` just
before a Z measurement). For any state it multiplies every Z expectation value by an exact
factor,

.. math:: ⟨Z_a⟩_{\text{read}} = c_a ⟨Z_a⟩, \qquad c_a = \prod_{i ∈ a} (1 − 2 p_i),

so the classical estimators stay unbiased for the noisy distribution at any size, and a model
can be evaluated, and trained, for a device with that readout error. ``p_i`` lies in
``[0, 0.5)``: at 0.5 the bit carries no information (``c_a = 0``).

``readout_error`` arguments across iqpgen take a probability for every qubit, or one per
qubit; :func:`check_readout_error` turns either into the ``(n,)`` array the other functions
here take.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks

__all__ = [
    "check_readout_error",
    "readout_array",
    "readout_factors",
    "factor_table",
    "apply_to_probs",
    "flip_bits",
]


def check_readout_error(readout_error: Any, n_qubits: int) -> np.ndarray | None:
    """``readout_error`` as a float64 array ``(n_qubits,)``, or None when it is None.

    Raises:
        TypeError: not a number or a sequence of numbers.
        ValueError: a list of the wrong length, or a value outside ``[0, 0.5)`` or not finite.

    Example:
        >>> iqpgen.noise.check_readout_error(0.02, 3)
        array([0.02, 0.02, 0.02])
    """
    if readout_error is None:
        return None
    if isinstance(readout_error, bool | np.bool_ | str | bytes):
        raise TypeError(
            f"readout_error must be a probability or one per qubit, got {readout_error!r}."
        )
    try:
        p = np.asarray(readout_error, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"readout_error must be a probability or one per qubit, got {readout_error!r}."
        ) from err
    if p.ndim == 0:
        p = np.full(n_qubits, float(p))
    if p.ndim != 1 or p.shape[0] != n_qubits:
        raise ValueError(
            f"readout_error has shape {p.shape}; give one probability, or one per qubit "
            f"({n_qubits} of them)."
        )
    bad = ~np.isfinite(p) | (p < 0) | (p >= 0.5)
    if np.any(bad):
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"readout_error must lie in [0, 0.5) (a flip probability; at 0.5 the bit carries "
            f"no information), got {p[i]!r} for qubit {i}."
        )
    return p


def readout_array(readout_error: Any, n_qubits: int) -> jax.Array | None:
    """:func:`check_readout_error` as float32 flip probabilities ``(n_qubits,)`` for the
    estimators' ``readout_error`` arguments, or None."""
    p = check_readout_error(readout_error, n_qubits)
    return None if p is None else jnp.asarray(p, jnp.float32)


def readout_factors(readout_error: jax.Array, supports: jax.Array) -> jax.Array:
    """``c_a = Π_{i ∈ a} (1 − 2p_i)`` for operators given as supports padded with ``n``.

    ``supports``: int ``(n_ops, width)``, the qubits of each operator padded with
    ``n = len(readout_error)`` (the layout of :func:`iqpgen.estimator.supports_from_ops`).
    Traceable under ``jax.jit``.

    Example:
        >>> import jax.numpy as jnp
        >>> iqpgen.noise.readout_factors(jnp.array([0.1, 0.25]), jnp.array([[0, 1], [1, 2]]))
        Array([0.4, 0.5], dtype=float32)
    """
    p = jnp.asarray(readout_error, jnp.float32)
    c = jnp.concatenate([1.0 - 2.0 * p, jnp.ones((1,), p.dtype)])
    return jnp.prod(c[supports], axis=-1)


def factor_table(readout_error: jax.Array) -> jax.Array:
    """``c_a`` for all ``2^n`` operators, qubit 0 the most significant bit of ``a`` (the order
    of :func:`iqpgen.exact.expval_table`). Traceable under ``jax.jit``.

    Example:
        >>> import jax.numpy as jnp
        >>> iqpgen.noise.factor_table(jnp.array([0.1, 0.25]))
        Array([1. , 0.5, 0.8, 0.4], dtype=float32)
    """
    p = jnp.asarray(readout_error, jnp.float32)
    table = jnp.ones((1,), p.dtype)
    for i in range(p.shape[0]):
        table = jnp.stack([table, table * (1.0 - 2.0 * p[i])], axis=-1).reshape(-1)
    return table


def apply_to_probs(probs: Any, readout_error: np.ndarray) -> np.ndarray:
    """The distribution of the read-out bits, from the probabilities of the ``2^n`` bitstrings
    (qubit 0 the most significant bit): each qubit's bit-flip channel applied exactly.

    Example:
        >>> iqpgen.noise.apply_to_probs([1.0, 0.0], np.array([0.1]))
        array([0.9, 0.1])
    """
    q = np.asarray(probs, dtype=np.float64)
    n = len(readout_error)
    for i, p in enumerate(np.asarray(readout_error, np.float64).tolist()):
        view = q.reshape(2**i, 2, 2 ** (n - 1 - i))
        q = ((1.0 - p) * view + p * view[:, ::-1, :]).reshape(-1)
    return q


def flip_bits(samples: Any, readout_error: np.ndarray, *, key: jax.Array) -> np.ndarray:
    """0/1 samples ``(m, n)`` with bit ``i`` of every row flipped with probability ``p_i``:
    what a device with that readout error reports for those outcomes.

    Example:
        >>> import jax
        >>> iqpgen.noise.flip_bits(np.zeros((2, 3), np.uint8), np.array([0.0, 0.0, 0.0]),
        ...                        key=jax.random.key(0))
        array([[0, 0, 0],
               [0, 0, 0]], dtype=uint8)
    """
    x = _checks.check_binary_matrix("samples", samples, n_cols=len(readout_error))
    key = _checks.check_key(key)
    flips = np.asarray(jax.random.uniform(key, x.shape)) < np.asarray(readout_error)[None, :]
    return (np.asarray(x, np.uint8) ^ flips.astype(np.uint8)).astype(np.uint8)
