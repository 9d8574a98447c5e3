r"""Monte Carlo estimates of Z expectation values of IQP circuits.

For an operator :math:`Z_a` (``a`` a 0/1 vector marking its qubits)

.. math::

    \langle Z_a\rangle = \mathbb{E}_{z\sim U\{0,1\}^n}
        \cos\Big(\sum_k 2\theta_k \sum_{g\in G_k} [a\cdot g\ \mathrm{odd}]\,(-1)^{z\cdot g}\Big).

The estimate averages the cosine over ``n_samples`` draws of ``z`` shared by all operators;
it is unbiased and its standard error is the sample standard deviation over
``sqrt(n_samples)``. With ``spin_sym`` the same formula holds with ``z`` drawn uniformly
among even-weight strings, times ``[|a| even]``.

Two code paths compute the phase inside the cosine:

* **generic**: parities of every generator against every operator, contracted with the
  signs ``(-1)^{z·g}`` (any generator weight);
* **pairwise** (all generators of weight 1 or 2): with ``h_i = 2θ`` on singles, ``J_ij = 2θ``
  on pairs and ``s = (-1)^z``, the phase is
  ``Σ_{i∈A} s_i (h_i + (J s)_i) − s_Aᵀ J_AA s_A``: one dense product ``J·S`` shared by every
  operator and a small ``|A|×|A|`` block per operator.

:func:`expval` picks the pairwise path when it applies. Operators are handled as padded
support lists, in chunks; the chunk size changes memory only, never the random numbers.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks
from .circuit import IqpCircuit

__all__ = ["Estimate", "expval", "expval_generic", "expval_pairwise"]

# Elements of the largest temporary (operators x support x samples) per chunk.
_CHUNK_ELEMENTS = 1 << 24
# Elements of (operators x generators x width) per generator chunk on the generic path.
_GEN_CHUNK_ELEMENTS = 1 << 23


class Estimate(NamedTuple):
    """A Monte Carlo estimate: ``mean`` and its standard error ``stderr``, same shape."""

    mean: jax.Array
    stderr: jax.Array


# ---------------------------------------------------------------------------- sampling
def draw_signs(key: jax.Array, n_samples: int, n_qubits: int, spin_sym: bool, dtype) -> jax.Array:
    """Signs ``s = (-1)^z`` for ``n_samples`` uniform bitstrings, shape ``(n_qubits, n_samples)``.

    With ``spin_sym`` the strings are uniform among those of even weight (the last bit is the
    parity of the others). The same key always gives the same signs, whatever the chunking.
    """
    z = jax.random.bernoulli(key, 0.5, (n_qubits, n_samples))
    if spin_sym:
        parity = jnp.bitwise_xor.reduce(z[:-1].astype(jnp.uint8), axis=0).astype(bool)
        z = z.at[-1].set(parity if n_qubits > 1 else False)
    return (1 - 2 * z.astype(jnp.int8)).astype(dtype)


def supports_from_ops(ops: np.ndarray, n_qubits: int, width: int | None = None) -> np.ndarray:
    """Padded support lists of 0/1 rows: ``(n_ops, width)`` int32, padded with ``n_qubits``."""
    weights = ops.sum(axis=1)
    if width is None:
        width = max(int(weights.max(initial=0)), 1)
    order = np.argsort(ops == 0, axis=1, kind="stable")[:, :width]
    supp = np.where(np.arange(width)[None, :] < weights[:, None], order, n_qubits)
    return supp.astype(np.int32)


def _traced_supports(ops: jax.Array, n_qubits: int) -> jax.Array:
    return jax.vmap(lambda a: jnp.nonzero(a, size=n_qubits, fill_value=n_qubits)[0])(ops)


# --------------------------------------------------------------------- phase builders
def pair_matrix(circuit: IqpCircuit, params: jax.Array) -> jax.Array:
    """Padded symmetric coupling matrix ``(n+1, n+1)``: ``J`` in the top-left block,
    ``h`` in the last column and row, zero diagonal. Pairwise circuits only."""
    n = circuit.n_qubits
    gens = circuit.generators
    i = gens[:, 0]
    j = gens[:, 1] if gens.shape[1] == 2 else jnp.full_like(i, n)
    ang = 2 * params[circuit.gate_of]
    jp = jnp.zeros((n + 1, n + 1), params.dtype).at[i, j].add(ang)
    return jp + jp.T


def _dense_pairs(circuit: IqpCircuit) -> bool:
    # A dense n x n product costs n^2 per sample; gathers/scatters over generators cost about
    # 20 flops-equivalents per generator per sample on CPU.
    return 20 * circuit.n_generators > circuit.n_qubits**2


def _field(circuit: IqpCircuit, params: jax.Array, jp: jax.Array, st: jax.Array) -> jax.Array:
    """``h + J s`` for every sample, shape ``(n, n_samples)``."""
    n = circuit.n_qubits
    if _dense_pairs(circuit):
        return jp[:n, :n] @ st + jp[:n, n:]
    gens = circuit.generators
    i = gens[:, 0]
    j = gens[:, 1] if gens.shape[1] == 2 else jnp.full_like(i, n)
    ang = (2 * params[circuit.gate_of])[:, None]
    st1 = jnp.concatenate([st, jnp.ones((1, st.shape[1]), st.dtype)])
    m = jnp.zeros((n + 1, st.shape[1]), st.dtype).at[i].add(ang * st1[j]).at[j].add(ang * st1[i])
    return m[:n]


def _pairwise_phase(jp: jax.Array, stp: jax.Array, mtp: jax.Array, supp: jax.Array) -> jax.Array:
    """Phases ``(c, n_samples)`` of the operators with supports ``supp`` (c, w)."""
    s_a = stp[supp]  # (c, w, N); padding rows of stp are zero
    m_a = mtp[supp]
    j_aa = jp[supp[:, :, None], supp[:, None, :]]  # (c, w, w)
    inner = m_a - jnp.einsum("cuv,cvn->cun", j_aa, s_a)
    return jnp.sum(s_a * inner, axis=1)


def _generic_phase(
    circuit: IqpCircuit, params: jax.Array, sp1: jax.Array, supp: jax.Array
) -> jax.Array:
    """Phases ``(c, n_samples)`` by explicit generator parities, chunked over generators."""
    n = circuit.n_qubits
    c = supp.shape[0]
    n_samples = sp1.shape[1]
    gens = circuit.generators
    w = gens.shape[1]
    g_chunk = max(1, min(gens.shape[0], _GEN_CHUNK_ELEMENTS // max(1, c * w + n_samples * w)))
    n_chunks = -(-gens.shape[0] // g_chunk)
    pad = n_chunks * g_chunk - gens.shape[0]
    gens_p = jnp.concatenate([gens, jnp.full((pad, w), n, gens.dtype)]).reshape(
        n_chunks, g_chunk, w
    )
    ang = 2 * params[circuit.gate_of]
    ang_p = jnp.concatenate([ang, jnp.zeros((pad,), ang.dtype)]).reshape(n_chunks, g_chunk)
    rows = jnp.arange(c)[:, None]
    a_dense = jnp.zeros((c, n + 1), jnp.int8).at[rows, supp].set(1).at[:, n].set(0)

    @jax.checkpoint
    def body(acc, chunk):
        g, a = chunk
        parity = (jnp.sum(a_dense[:, g], axis=-1) % 2).astype(sp1.dtype)  # (c, g_chunk)
        signs = jnp.prod(sp1[g], axis=1)  # (g_chunk, N)
        return acc + (parity * a) @ signs, None

    acc, _ = jax.lax.scan(body, jnp.zeros((c, n_samples), sp1.dtype), (gens_p, ang_p))
    return acc


# ------------------------------------------------------------------------ the engine
def _chunked(fn, supp: jax.Array, chunk: int, fill: int):
    """Apply ``fn`` to chunks of ``chunk`` rows of ``supp`` (padded with ``fill``) and
    concatenate the results."""
    n_ops, w = supp.shape
    n_chunks = -(-n_ops // chunk)
    pad = n_chunks * chunk - n_ops
    padded = jnp.concatenate([supp, jnp.full((pad, w), fill, supp.dtype)])
    out = jax.lax.map(fn, padded.reshape(n_chunks, chunk, w))
    return jax.tree_util.tree_map(
        lambda x: x.reshape((n_chunks * chunk,) + x.shape[2:])[:n_ops], out
    )


def auto_chunk(n_ops: int, width: int, n_samples: int) -> int:
    """Operators per chunk so that the largest temporary stays near 2^24 elements."""
    return int(max(1, min(n_ops, _CHUNK_ELEMENTS // max(1, width * n_samples))))


def phase_function(circuit: IqpCircuit, params: jax.Array, st: jax.Array, path: str = "auto"):
    """A function mapping padded supports ``(c, w)`` to phases ``(c, n_samples)``.

    ``st`` holds the signs of the samples, ``(n_qubits, n_samples)``. Work shared by all
    operators (the product ``J·S`` on the pairwise path) is done once, here.
    """
    n_samples = st.shape[1]
    dtype = st.dtype
    if path == "auto":
        path = "pairwise" if circuit.is_pairwise else "generic"
    if path == "pairwise":
        if not circuit.is_pairwise:
            raise ValueError(
                f"the pairwise path needs generators of weight <= 2; this circuit has weight "
                f"{circuit.max_weight}. Use expval_generic or expval."
            )
        jp = pair_matrix(circuit, params)
        zero = jnp.zeros((1, n_samples), dtype)
        stp = jnp.concatenate([st, zero])
        mtp = jnp.concatenate([_field(circuit, params, jp, st), zero])
        return lambda supp: _pairwise_phase(jp, stp, mtp, supp)
    if path == "generic":
        sp1 = jnp.concatenate([st, jnp.ones((1, n_samples), dtype)])
        return lambda supp: _generic_phase(circuit, params, sp1, supp)
    raise ValueError(f"path must be 'auto', 'pairwise' or 'generic', got {path!r}.")


def cos_sums(phase, supp: jax.Array, *, n_qubits: int, spin_sym: bool, chunk_size=None):
    """Sums ``Σ_z c`` and ``Σ_z c²`` of ``c = cos(phase)`` for each operator, in chunks.

    The spin_sym factor ``[|a| even]`` is applied.
    """

    def per_chunk(s):
        c = jnp.cos(phase(s))
        return jnp.sum(c, axis=1), jnp.sum(c * c, axis=1)

    n_ops, width = supp.shape
    n_samples = jax.eval_shape(phase, supp[:1]).shape[1]
    chunk = chunk_size or auto_chunk(n_ops, width, n_samples)
    s1, s2 = _chunked(per_chunk, supp, chunk, n_qubits)
    if spin_sym:
        even = (jnp.sum(supp < n_qubits, axis=1) % 2 == 0).astype(s1.dtype)
        s1, s2 = s1 * even, s2 * even
    return s1, s2


def moments(
    circuit: IqpCircuit,
    params: jax.Array,
    supp: jax.Array,
    key: jax.Array,
    *,
    n_samples: int,
    chunk_size: int | None = None,
    path: str = "auto",
) -> tuple[jax.Array, jax.Array]:
    """Sums ``Σ_z c`` and ``Σ_z c²`` of the cosine samples ``c`` for each operator.

    ``supp`` holds padded supports ``(n_ops, w)`` (padding ``n_qubits``); the spin_sym factor
    ``[|a| even]`` is applied. Differentiable in ``params``; usable under jit.
    """
    st = draw_signs(key, n_samples, circuit.n_qubits, circuit.spin_sym, params.dtype)
    phase = phase_function(circuit, params, st, path)
    return cos_sums(
        phase, supp, n_qubits=circuit.n_qubits, spin_sym=circuit.spin_sym, chunk_size=chunk_size
    )


def estimate_from_moments(s1: jax.Array, s2: jax.Array, n_samples: int) -> Estimate:
    mean = s1 / n_samples
    var = jnp.maximum(s2 - n_samples * mean * mean, 0.0) / (n_samples - 1)
    return Estimate(mean, jnp.sqrt(var / n_samples))


@functools.partial(jax.jit, static_argnames=("n_samples", "chunk_size", "path"))
def _expval_jit(circuit, params, supp, key, n_samples, chunk_size, path):
    s1, s2 = moments(
        circuit, params, supp, key, n_samples=n_samples, chunk_size=chunk_size, path=path
    )
    return estimate_from_moments(s1, s2, n_samples)


def _expval(circuit, params, ops, key, n_samples, chunk_size, path) -> Estimate:
    circuit = _checks.check_circuit(circuit)
    params = _checks.check_params(circuit, params)
    key = _checks.check_key(key)
    n_samples = _checks.check_int("n_samples", n_samples, minimum=2)
    if chunk_size is not None:
        chunk_size = _checks.check_int("chunk_size", chunk_size, minimum=1)
    ops = _checks.check_binary_matrix("ops", ops, n_cols=circuit.n_qubits, what="operators")
    if isinstance(ops, jax.core.Tracer):
        supp = _traced_supports(ops, circuit.n_qubits)
    else:
        supp = supports_from_ops(ops, circuit.n_qubits)
    return _expval_jit(circuit, params, supp, key, n_samples, chunk_size, path)


def expval(
    circuit: IqpCircuit,
    params: Any,
    ops: Any,
    *,
    key: jax.Array,
    n_samples: int = 1000,
    chunk_size: int | None = None,
) -> Estimate:
    """Unbiased Monte Carlo estimate of ``⟨Z_a⟩`` for every row ``a`` of ``ops``.

    Args:
        circuit: the circuit structure.
        params: gate angles, shape ``(circuit.n_params,)``; float32 unless float64 is given
            (and ``jax_enable_x64`` is on).
        ops: 0/1 matrix ``(n_ops, n_qubits)``; row ``a`` stands for ``Π_{i: a_i=1} Z_i``.
        key: JAX PRNG key. The same key, ``n_samples`` and circuit size give the same
            samples ``z``, whatever ``chunk_size`` is.
        n_samples: Monte Carlo samples of ``z`` (at least 2), shared by all operators.
        chunk_size: operators processed at once (memory only; default: automatic).

    Returns:
        :class:`Estimate` with ``mean`` and ``stderr`` of shape ``(n_ops,)``.

    Example:
        >>> import jax, jax.numpy as jnp, iqpgen
        >>> c = iqpgen.IqpCircuit(3, iqpgen.gates.local(3, 2))
        >>> est = iqpgen.expval(c, jnp.full(6, 0.1), [[1, 0, 0], [1, 1, 0]],
        ...                     key=jax.random.key(0), n_samples=5000)
        >>> est.mean.shape
        (2,)
    """
    return _expval(circuit, params, ops, key, n_samples, chunk_size, "auto")


def expval_pairwise(
    circuit: IqpCircuit,
    params: Any,
    ops: Any,
    *,
    key: jax.Array,
    n_samples: int = 1000,
    chunk_size: int | None = None,
) -> Estimate:
    """:func:`expval` forced onto the pairwise path (generators of weight ≤ 2 only).

    Example:
        >>> import jax, jax.numpy as jnp, iqpgen
        >>> c = iqpgen.IqpCircuit(2, [[[0]], [[0, 1]]])
        >>> iqpgen.expval_pairwise(c, jnp.array([0.2, 0.3]), [[0, 1]],
        ...                        key=jax.random.key(1)).mean.shape
        (1,)
    """
    return _expval(circuit, params, ops, key, n_samples, chunk_size, "pairwise")


def expval_generic(
    circuit: IqpCircuit,
    params: Any,
    ops: Any,
    *,
    key: jax.Array,
    n_samples: int = 1000,
    chunk_size: int | None = None,
) -> Estimate:
    """:func:`expval` on the generic path (any generator weight).

    Example:
        >>> import jax, jax.numpy as jnp, iqpgen
        >>> c = iqpgen.IqpCircuit(3, [[[0, 1, 2]]])
        >>> iqpgen.expval_generic(c, jnp.array([0.2]), [[1, 0, 0]],
        ...                       key=jax.random.key(1)).mean.shape
        (1,)
    """
    return _expval(circuit, params, ops, key, n_samples, chunk_size, "generic")
