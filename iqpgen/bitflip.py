"""The bitflip model: the classical counterpart of an IQP circuit.

Each generator ``g`` of gate ``k`` independently flips the bits of its support with
probability ``sin²θ_k``, starting from ``0…0`` (or, with ``spin_sym``, from ``0…0`` or
``1…1`` with probability ½ each). Its expectation values are exact at any size::

    ⟨Z_a⟩ = Π_g cos(2θ_{k(g)})^{[a·g odd]}   (times [|a| even] with spin_sym)

They equal the IQP circuit's when only one generator anticommutes with ``Z_a``; a trained
IQP model that beats its bitflip counterpart is using interference.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp

from . import _checks
from .circuit import IqpCircuit
from .estimator import supports_from_ops

__all__ = ["expval", "sample", "expval_from_supports"]


_GEN_CHUNK_ELEMENTS = 1 << 23


def expval_from_supports(circuit: IqpCircuit, params: jax.Array, supp: jax.Array) -> jax.Array:
    """Exact bitflip ``⟨Z_a⟩`` from padded supports ``(n_ops, w)``; jit- and grad-friendly.

    The product over generators runs in chunks, so memory stays bounded at any size.
    """
    n = circuit.n_qubits
    n_ops = supp.shape[0]
    rows = jnp.arange(n_ops)[:, None]
    a = jnp.zeros((n_ops, n + 1), jnp.int8).at[rows, supp].set(1).at[:, n].set(0)
    gens = circuit.generators
    w = gens.shape[1]
    g_chunk = max(1, min(gens.shape[0], _GEN_CHUNK_ELEMENTS // max(1, n_ops * w)))
    n_chunks = -(-gens.shape[0] // g_chunk)
    pad = n_chunks * g_chunk - gens.shape[0]
    gens_p = jnp.concatenate([gens, jnp.full((pad, w), n, gens.dtype)])
    factor = jnp.cos(2 * params[circuit.gate_of])
    factor_p = jnp.concatenate([factor, jnp.ones((pad,), factor.dtype)])

    @jax.checkpoint
    def body(acc, chunk):
        g, f = chunk
        odd = jnp.sum(a[:, g], axis=-1) % 2  # (n_ops, g_chunk)
        return acc * jnp.prod(jnp.where(odd == 1, f[None, :], 1.0), axis=1), None

    out, _ = jax.lax.scan(
        body,
        jnp.ones((n_ops,), factor.dtype),
        (gens_p.reshape(n_chunks, g_chunk, w), factor_p.reshape(n_chunks, g_chunk)),
    )
    if circuit.spin_sym:
        out = out * (jnp.sum(supp < n, axis=1) % 2 == 0)
    return out


_expval_jit = jax.jit(expval_from_supports)


def expval(circuit: IqpCircuit, params: Any, ops: Any) -> jax.Array:
    """Exact ``⟨Z_a⟩`` of the bitflip model for each row of the 0/1 matrix ``ops``.

    Example:
        >>> import jax.numpy as jnp, iqpgen
        >>> c = iqpgen.IqpCircuit(2, [[[0]], [[0, 1]]])
        >>> iqpgen.bitflip.expval(c, jnp.array([0.3, 0.2]), [[1, 1]]).shape
        (1,)
    """
    circuit = _checks.check_circuit(circuit)
    params = _checks.check_params(circuit, params)
    ops = _checks.check_binary_matrix("ops", ops, n_cols=circuit.n_qubits, what="operators")
    return _expval_jit(circuit, params, jnp.asarray(supports_from_ops(ops, circuit.n_qubits)))


@functools.partial(jax.jit, static_argnames=("n_samples",))
def _sample_jit(circuit: IqpCircuit, params: jax.Array, key: jax.Array, n_samples: int):
    n = circuit.n_qubits
    k_flip, k_sym = jax.random.split(key)
    p_flip = jnp.sin(params[circuit.gate_of]) ** 2
    flips = jax.random.bernoulli(k_flip, p_flip, (n_samples, circuit.n_generators))
    # x_q = XOR of the flips of the generators that contain q.
    counts = jnp.zeros((n_samples, n + 1), jnp.int32)
    gens = circuit.generators
    for u in range(gens.shape[1]):
        counts = counts.at[:, gens[:, u]].add(flips.astype(jnp.int32))
    x = (counts[:, :n] % 2).astype(jnp.uint8)
    if circuit.spin_sym:
        x = x ^ jax.random.bernoulli(k_sym, 0.5, (n_samples, 1)).astype(jnp.uint8)
    return x


def sample(circuit: IqpCircuit, params: Any, n_samples: int, *, key: jax.Array) -> jax.Array:
    """Exact samples of the bitflip model, ``(n_samples, n_qubits)`` uint8, at any size.

    Example:
        >>> import jax, jax.numpy as jnp, iqpgen
        >>> c = iqpgen.IqpCircuit(4, iqpgen.gates.local(4, 2))
        >>> iqpgen.bitflip.sample(c, jnp.full(10, 0.3), 8, key=jax.random.key(0)).shape
        (8, 4)
    """
    circuit = _checks.check_circuit(circuit)
    params = _checks.check_params(circuit, params)
    n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
    return _sample_jit(circuit, params, _checks.check_key(key), n_samples)
