r"""Walsh–Hadamard transforms and the phase table of an IQP circuit (DESIGN §8).

A bitstring ``x`` of ``n`` bits is the index ``Σ_q x_q 2^{n-1-q}`` (qubit 0 most
significant, as in PennyLane). The unnormalised transform of a table ``v`` of length ``2^n``
is ``(Hv)[a] = Σ_x (−1)^{a·x} v[x]``; it is its own inverse up to ``2^n`` and the backward
pass of a transform is a transform.

Put ``Θ[g]`` = the sum of ``2θ_k`` over the generators whose bitmask is ``g`` (tied
parameters add). Its transform ``Θ̂(z) = Σ_g Θ[g] (−1)^{z·g}`` is the **phase table**: since
``[a·g odd] = (1 − (−1)^{a·g})/2``, the Monte Carlo phase of operator ``a`` at sample ``z`` is

.. math::

    \phi(a, z) = \tfrac12\big(\hat\Theta(z) - \hat\Theta(z \oplus a)\big),

two look-ups whatever the number or weight of the gates, and the circuit's diagonal is
``exp(−i Θ̂(z)/2)``. One table costs ``O(n 2^n)``; :mod:`iqpgen.exact` builds the state on it
and :mod:`iqpgen.estimator` its table path.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .circuit import IqpCircuit

__all__ = [
    "walsh_hadamard",
    "bit_weights",
    "generator_masks",
    "support_masks",
    "sample_indices",
    "angle_table",
    "phase_table",
    "table_phases",
    "MAX_TABLE_QUBITS",
]

#: Largest n for which bitmasks fit an int32 index.
MAX_TABLE_QUBITS = 30


def _n_bits(length: int) -> int:
    n = length.bit_length() - 1
    if length < 1 or 1 << n != length:
        raise ValueError(f"a Walsh–Hadamard table has length 2^n, got {length}.")
    return n


def walsh_hadamard(v: Any) -> Any:
    """Unnormalised Walsh–Hadamard transform along the first axis (length ``2^n``).

    NumPy arrays give NumPy arrays in their own dtype (the float64 oracle of the tests and of
    :func:`iqpgen.mmd.exact_between_distributions`); anything else is a JAX computation,
    jit-able and differentiable, in ``n`` butterfly passes.

    Example:
        >>> import numpy as np, iqpgen
        >>> iqpgen.walsh.walsh_hadamard(np.array([1.0, 0.0, 0.0, 0.0]))
        array([1., 1., 1., 1.])
    """
    if isinstance(v, np.ndarray):
        return _butterflies(np, v)
    v = jnp.asarray(v)
    _n_bits(v.shape[0])
    return _walsh_jit(v)


def _butterflies(xp: Any, v: Any) -> Any:
    n = _n_bits(v.shape[0])
    rest = v.shape[1:]
    for q in range(n):
        v = v.reshape(2**q, 2, -1)
        v = xp.stack([v[:, 0] + v[:, 1], v[:, 0] - v[:, 1]], axis=1)
    return v.reshape(-1, *rest)


# One compiled program per shape (called eagerly, the n passes would dispatch op by op).
_walsh_jit = jax.jit(lambda v: _butterflies(jnp, v))


def bit_weights(n: int) -> jax.Array:
    """``2^{n-1-q}`` for each qubit ``q``, with a trailing 0 for the padding index ``n``."""
    if n > MAX_TABLE_QUBITS:
        raise ValueError(f"bitmask tables hold at most {MAX_TABLE_QUBITS} qubits, got {n}.")
    w = [1 << (n - 1 - q) for q in range(n)] + [0]
    return jnp.asarray(w, jnp.int32)


def support_masks(supp: jax.Array, n: int) -> jax.Array:
    """Bitmask of each padded support row ``(rows, w)`` (padding index ``n``), int32."""
    return jnp.sum(bit_weights(n)[supp], axis=-1, dtype=jnp.int32)


def generator_masks(circuit: IqpCircuit) -> jax.Array:
    """Bitmask of each generator, ``(n_generators,)`` int32 (traced with the circuit)."""
    return support_masks(jnp.asarray(circuit.generators), circuit.n_qubits)


def sample_indices(st: jax.Array) -> jax.Array:
    """Index of each sample from its signs ``s = (−1)^z``, ``(n, N) -> (N,)`` int32."""
    n = st.shape[0]
    return jnp.sum(jnp.where(st < 0, bit_weights(n)[:n, None], 0), axis=0, dtype=jnp.int32)


def angle_table(circuit: IqpCircuit, params: jax.Array) -> jax.Array:
    """``Θ[g]``: the summed ``2θ`` of the generators with bitmask ``g``, length ``2^n``."""
    n = circuit.n_qubits
    ang = 2 * params[jnp.asarray(circuit.gate_of)]
    return jnp.zeros((2**n,), params.dtype).at[generator_masks(circuit)].add(ang)


def phase_table(circuit: IqpCircuit, params: jax.Array) -> jax.Array:
    """``Θ̂(z) = Σ_k 2θ_k Σ_{g∈G_k} (−1)^{z·g}`` for every ``z`` (length ``2^n``): one transform,
    however many gates.

    Example:
        >>> import jax.numpy as jnp, iqpgen
        >>> c = iqpgen.IqpCircuit(2, [[[0]], [[0, 1]]])
        >>> iqpgen.walsh.phase_table(c, jnp.array([0.5, 0.25])).tolist()  # z = 00, 01, 10, 11
        [1.5, 0.5, -1.5, -0.5]
    """
    return walsh_hadamard(angle_table(circuit, params))


def table_phases(table: jax.Array, z: jax.Array, masks: jax.Array) -> jax.Array:
    """Phases ``½(Θ̂(z) − Θ̂(z ⊕ a))``, ``(n_ops, N)``, for sample indices ``z`` ``(N,)`` and
    operator bitmasks ``masks`` ``(n_ops,)``."""
    at_z = table[z]
    return 0.5 * (at_z[None, :] - table[jnp.bitwise_xor(z[None, :], masks[:, None])])
