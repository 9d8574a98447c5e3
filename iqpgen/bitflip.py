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
from .exact import check_size
from .walsh import generator_masks, walsh_hadamard

__all__ = ["expval", "expval_table", "expval_table_of", "sample", "expval_from_supports"]


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

# |cos 2θ| below this counts as this in the table (a log-space product holds no exact zero).
TINY = 1e-30


@jax.custom_vjp
def _odd_sums(table: jax.Array) -> jax.Array:
    """``Σ_g table[g] [a·g odd]`` for every ``a``: ``(Σ table − WHT(table))/2``."""
    return (jnp.sum(table) - walsh_hadamard(table)) / 2


def _odd_sums_fwd(table):
    return _odd_sums(table), None


def _odd_sums_bwd(_, c):
    # The same map (it is symmetric), in double-word arithmetic: for a generator whose cosine
    # is near 0 the odd operators' cotangents are tiny beside the even ones', and in plain
    # float32 the difference of the two sums would be rounding, which the chain rule then
    # divides by that cosine.
    hi, lo = c, jnp.zeros_like(c)
    for q in range(c.shape[0].bit_length() - 1):
        hi, lo = hi.reshape(2**q, 2, -1), lo.reshape(2**q, 2, -1)
        s_hi, s_lo = _two_sum(hi[:, 0], hi[:, 1], lo[:, 0] + lo[:, 1])
        d_hi, d_lo = _two_sum(hi[:, 0], -hi[:, 1], lo[:, 0] - lo[:, 1])
        hi, lo = jnp.stack([s_hi, d_hi], axis=1), jnp.stack([s_lo, d_lo], axis=1)
    hi, lo = hi.reshape(-1), lo.reshape(-1)
    # Σ c is entry 0 of the transform.
    t_hi, t_lo = _two_sum(hi[0], -hi, lo[0] - lo)
    return ((t_hi + t_lo) / 2,)


def _two_sum(a: jax.Array, b: jax.Array, carry: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``a + b + carry`` as a float and its rounding error (Knuth's two-sum, then the
    carry added to the error)."""
    s = a + b
    v = s - a
    err = (a - (s - v)) + (b - v)
    return s, err + carry


_odd_sums.defvjp(_odd_sums_fwd, _odd_sums_bwd)


def expval_table_of(circuit: IqpCircuit, params: jax.Array) -> jax.Array:
    """:func:`expval_table` without validation: the jit-able, differentiable core.

    ``log|⟨Z_a⟩| = Σ_g [a·g odd] L_g`` with ``L_g = log|cos 2θ_g|``, and
    ``Σ_g [a·g odd] v_g = (Σ_g v_g − Σ_g (−1)^{a·g} v_g)/2``: one Walsh–Hadamard transform of
    the logs placed at the generators' bitmasks; the sign is the parity of the negative
    cosines among the odd generators, counted by a second transform.
    """
    n = circuit.n_qubits
    f = jnp.cos(2 * params[circuit.gate_of])
    masks = generator_masks(circuit)

    def odd_sums(values):
        return _odd_sums(jnp.zeros((2**n,), f.dtype).at[masks].add(values))

    log_abs = odd_sums(jnp.log(jnp.maximum(jnp.abs(f), TINY)))
    n_neg = jnp.round(odd_sums(jax.lax.stop_gradient((f < 0).astype(f.dtype))))
    out = jnp.where(jnp.mod(n_neg, 2.0) == 1.0, -1.0, 1.0) * jnp.exp(log_abs)
    if circuit.spin_sym:
        a = jnp.arange(2**n, dtype=jnp.int32)
        out = out * ((jax.lax.population_count(a) & 1) == 0)
    return out


_table_jit = jax.jit(expval_table_of)


def expval_table(circuit: IqpCircuit, params: Any) -> jax.Array:
    """Exact bitflip ``⟨Z_a⟩`` for every ``a`` (length ``2^n``, indexed as
    :func:`iqpgen.exact.expval_table`: qubit 0 is the highest bit), whatever the number of
    gates; up to :func:`iqpgen.exact.max_qubits`. ``|cos 2θ|`` below 1e-30 counts as 1e-30.

    Example:
        >>> import jax.numpy as jnp, iqpgen
        >>> c = iqpgen.IqpCircuit(2, [[[0]], [[0, 1]]])
        >>> [round(v, 4) for v in iqpgen.bitflip.expval_table(c, jnp.array([0.3, 0.2])).tolist()]
        [1.0, 0.9211, 0.7602, 0.8253]
    """
    circuit = _checks.check_circuit(circuit)
    params = _checks.check_params(circuit, params)
    check_size(circuit.n_qubits, params.dtype, what="the bitflip table")
    return _table_jit(circuit, params)


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
