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
  operator and a small ``|A|×|A|`` block per operator. Sparse layouts sum ``J s`` over their
  edges and, when large, look the block entries up in their pair generators: no ``n × n``
  matrix.

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
from .circuit import IqpCircuit, _pair_offset
from .costs import choose_path
from .walsh import MAX_TABLE_QUBITS, phase_table, sample_indices, support_masks, table_phases

__all__ = [
    "Estimate",
    "expval",
    "expval_generic",
    "expval_pairwise",
    "expval_phase_table",
    "PATHS",
]

# Elements of the largest temporary (rows x samples) per sample chunk.
_CHUNK_ELEMENTS = 1 << 25
# Elements of (operators x generators x width) per generator chunk on the generic path.
_GEN_CHUNK_ELEMENTS = 1 << 23
# Elements of (operators x width x samples) per step of the block-term loop on CPU.
_BLOCK_ELEMENTS = 1 << 20
# Largest n for which the all-pairs layout's int32 flat indices into J (n^2) stay exact.
_ALL_PAIRS_MAX_QUBITS = 46_000
# From this n on, on CPU, J of the all-pairs layout is built (and its gradient packed) one row
# at a time; below it, and on accelerators (where a loop of n small steps costs more than one
# gather), by index arithmetic over all n^2 entries.
_ROW_LOOP_MIN_QUBITS = 3_000
# Cost of gathering one support entry of the linear term, in multiply-adds of the dense
# product it replaces.
_GATHER_COST = 200
# From this n on, sparse pairwise circuits look their block entries up in the sorted pair
# generators instead of building the dense n x n J (faster below it, while J fits in cache).
_LOOKUP_MIN_QUBITS = 3_000


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
    # 32 fair bits from each random word: cheaper than one draw per bit.
    words = jax.random.bits(key, (n_qubits, -(-n_samples // 32)), jnp.uint32)
    bits = (words[:, :, None] >> jnp.arange(32, dtype=jnp.uint32)) & 1
    z = bits.reshape(n_qubits, -1)[:, :n_samples].astype(bool)
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
def couplings(
    circuit: IqpCircuit, params: jax.Array, blocks: list[jax.Array] | None = None
) -> tuple[Any, ...]:
    """``(J, h)`` of a pairwise circuit: ``J`` symmetric ``(n, n)`` with zero diagonal holding
    ``2θ`` of each pair generator, ``h`` ``(n,)`` holding ``2θ`` of each single.

    With ``blocks`` (a list of int arrays of flat indices into ``J``) also returns the list of
    ``J.reshape(-1)[b]``; for the all-pairs layout the gradient of those entries is then added
    into that of ``J`` in place.
    """
    n = circuit.n_qubits
    if circuit.is_all_pairs and n <= _ALL_PAIRS_MAX_QUBITS:
        J, h, b = _all_pairs_couplings(params, tuple(blocks or ()), n)
        return (J, h) if blocks is None else (J, h, list(b))
    gens = circuit.generators
    i = gens[:, 0]
    j = gens[:, 1] if gens.shape[1] == 2 else jnp.full_like(i, n)
    ang = 2 * params[circuit.gate_of]
    jp = jnp.zeros((n + 1, n + 1), params.dtype).at[i, j].add(ang)
    jp = jp + jp.T
    J, h = jp[:n, :n], jp[:n, n]
    return (J, h) if blocks is None else (J, h, [J.reshape(-1)[b] for b in blocks])


def _row_loop(n: int) -> bool:
    return n >= _ROW_LOOP_MIN_QUBITS and jax.default_backend() == "cpu"


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _all_pairs_couplings(params: jax.Array, flat: tuple[jax.Array, ...], n: int):
    # J_ij for i < j is parameter n + offset(i) + j - i - 1: contiguous runs of the parameter
    # vector, where the general layout needs a scatter over its generator arrays.
    if _row_loop(n):
        # Row i of the upper triangle is the length-n slice of params ending where the row's
        # pairs end, with its first i + 1 entries masked. (U + U.T is fast on CPU only while
        # U is a 2-D array rather than a reshaped buffer, and without a scale fused into it.)
        col = jnp.arange(n, dtype=jnp.int32)

        def row(_, i):
            r = jax.lax.dynamic_slice(params, (_pair_offset(i + 1, n),), (n,))
            return None, jnp.where(col > i, 2 * r, 0)

        _, upper = jax.lax.scan(row, None, col)
        J = upper + upper.T
    else:
        i = jax.lax.broadcasted_iota(jnp.int32, (n, n), 0)
        j = jax.lax.broadcasted_iota(jnp.int32, (n, n), 1)
        lo, hi, off_diag = jnp.minimum(i, j), jnp.maximum(i, j), i != j
        k = jnp.where(off_diag, n + _pair_offset(lo, n) + hi - lo - 1, 0)
        J = jnp.where(off_diag, 2 * params.at[k].get(mode="promise_in_bounds"), 0)
    return J, 2 * params[:n], tuple(J.reshape(-1)[f] for f in flat)


def _all_pairs_couplings_fwd(params, flat, n):
    return _all_pairs_couplings(params, flat, n), flat


def _all_pairs_couplings_bwd(n, flat, cotangents):
    j_bar, h_bar, b_bar = cotangents
    # The block entries' gradient goes into J's in place: no n x n buffer of zeros.
    j_flat = j_bar.reshape(-1)
    for f, b in zip(flat, b_bar, strict=True):
        j_flat = j_flat.at[f].add(b)
    j_bar = j_flat.reshape(n, n)
    g = j_bar + j_bar.T
    if _row_loop(n):
        # Row i's pairs, g[i, i+1:], are the tail of the slice g[i, 1:]; written from the last
        # row to the first, each slice's head spills over the previous row's place, which
        # that row then overwrites.
        def row(t, out):
            i = n - 2 - t
            r = jax.lax.dynamic_slice(g, (i, 1), (1, n - 1))[0]
            return jax.lax.dynamic_update_slice(out, 2 * r, (_pair_offset(i + 1, n) + 1,))

        out = jnp.zeros((n + n * (n - 1) // 2,), g.dtype).at[:n].set(2 * h_bar)
        return jax.lax.fori_loop(0, n - 1, row, out).astype(j_bar.dtype), None
    k = jnp.arange(n * (n - 1) // 2, dtype=jnp.int32)
    i = _pair_rows(k, n)
    j = k - _pair_offset(i, n) + i + 1
    pairs = g.reshape(-1).at[i * n + j].get(mode="promise_in_bounds")
    return 2 * jnp.concatenate([h_bar, pairs]).astype(j_bar.dtype), None


def _pair_rows(k: jax.Array, n: int) -> jax.Array:
    """Row ``i`` of each pair index ``k`` (``offset(i) <= k < offset(i + 1)``), int32-exact
    for n <= _ALL_PAIRS_MAX_QUBITS.

    Rows from the last one, ``q = n - 2 - i``, hold ``q + 1`` pairs, so ``q`` is the
    triangular root of the number of pairs after ``k``. In float32 that root has no
    cancellation and is within one of the integer, which two exact corrections then reach.
    """
    after = (n * (n - 1) // 2 - 1 - k).astype(jnp.float32)
    q = ((jnp.sqrt(8 * after + 1) - 1) / 2).astype(jnp.int32)
    i = jnp.clip(n - 2 - q, 0, n - 2)
    for _ in range(2):
        i = jnp.where(_pair_offset(i + 1, n) <= k, i + 1, i)
        i = jnp.where(_pair_offset(i, n) > k, i - 1, i)
    return i


_all_pairs_couplings.defvjp(_all_pairs_couplings_fwd, _all_pairs_couplings_bwd)


def _dense_pairs(circuit: IqpCircuit) -> bool:
    # A dense n x n product costs n^2 per sample; gathers/scatters over generators cost about
    # 20 flops-equivalents per generator per sample on CPU.
    return 20 * circuit.n_generators > circuit.n_qubits**2


def _field(circuit: IqpCircuit, params: jax.Array, J: Any, h: Any, st: jax.Array):
    """``h + J s`` for every sample, shape ``(n, n_samples)``; sparse circuits scatter over
    their generators (``J`` and ``h`` unused, may be None)."""
    n = circuit.n_qubits
    if _dense_pairs(circuit):
        return J @ st + h[:, None]
    gens = circuit.generators
    i = gens[:, 0]
    j = gens[:, 1] if gens.shape[1] == 2 else jnp.full_like(i, n)
    ang = (2 * params[circuit.gate_of])[:, None]
    st1 = jnp.concatenate([st, jnp.ones((1, st.shape[1]), st.dtype)])
    m = jnp.zeros((n + 1, st.shape[1]), st.dtype).at[i].add(ang * st1[j]).at[j].add(ang * st1[i])
    return m[:n]


def dense_ops(supps: list[jax.Array], n_qubits: int, dtype) -> jax.Array:
    """The 0/1 operator matrix ``(n_ops, n_qubits)`` of the concatenated padded supports."""

    def one(s):
        rows = jnp.arange(s.shape[0])[:, None]
        return jnp.zeros((s.shape[0], n_qubits + 1), dtype).at[rows, s].set(1)[:, :n_qubits]

    return jnp.concatenate([one(s) for s in supps])


def _block_size(count: int, width: int, n_samples: int, elements: int) -> int:
    """Operators per step of the block-term loop (the whole bucket off CPU)."""
    if jax.default_backend() != "cpu":
        return count
    return max(1, min(count, elements // max(1, width * n_samples)))


def _blocks(x: jax.Array, k: int) -> jax.Array:
    """Split the leading axis into steps of ``k`` operators, padding with the last row."""
    pad = -x.shape[0] % k
    if pad:
        x = jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)])
    return x.reshape(-1, k, *x.shape[1:])


@jax.custom_vjp
def _quadratic_form(j_aa: jax.Array, s8: jax.Array, supp: jax.Array) -> jax.Array:
    """``Σ_uv s_u J_uv s_v`` per operator and sample, ``(c, w, w) -> (c, N)``.

    ``s8``: the signs as int8 ``(n + 1, N)`` with a zero last row (the padding index).
    The signs of a few operators at a time are gathered inside the loop, so they stay in
    cache; gathering all of them at once costs more than the products on CPU.
    """
    c, w, _ = j_aa.shape
    k = _block_size(c, w, s8.shape[1], _BLOCK_ELEMENTS)

    def step(x):
        j, sp = x
        s = s8[sp].astype(j.dtype)  # (k, w, N)
        return jnp.sum(s * jnp.einsum("kuv,kvn->kun", j, s), axis=1)

    out = jax.lax.map(step, (_blocks(j_aa, k), _blocks(supp, k)))
    return out.reshape(-1, s8.shape[1])[:c]


def _quadratic_form_fwd(j_aa, s8, supp):
    return _quadratic_form(j_aa, s8, supp), (s8, supp)


def _quadratic_form_bwd(res, g):
    # d/dJ_uv = Σ_n g_n s_u s_v, a (w × N)·(N × w) product per operator.
    s8, supp = res
    c, w = supp.shape
    k = _block_size(c, w, s8.shape[1], 1)  # on CPU one operator a step is fastest here

    def step(x):
        gk, sp = x
        s = s8[sp].astype(gk.dtype)
        return jnp.einsum("kun,kvn->kuv", s * gk[:, None, :], s)

    d = jax.lax.map(step, (_blocks(g, k), _blocks(supp, k)))
    return d.reshape(-1, w, w)[:c], None, None  # the signs and supports are constants


_quadratic_form.defvjp(_quadratic_form_fwd, _quadratic_form_bwd)


def _block_index(supp: jax.Array, n: int) -> jax.Array:
    """Flat indices ``(c, w, w)`` of the ``|A|×|A|`` blocks of ``J`` for supports ``supp`` (c, w).

    Padding (index ``n``) is clipped to a real entry; row ``n`` of the int8 signs is zero, so
    padded positions contribute nothing whatever entry they read.
    """
    q = jnp.minimum(supp, n - 1)
    return q[:, :, None] * n + q[:, None, :]


def _pair_lookup(circuit: IqpCircuit, params: jax.Array, u: jax.Array, v: jax.Array):
    """``J_uv`` for 1-D queries ``u``, ``v`` (entries in ``[0, n]``; ``n`` reads 0) without an
    ``n × n`` matrix: a binary search in the pair generators sorted by ``(row, column)``, in
    both orientations, repeated pairs summed. Int32 for any ``n``."""
    n = circuit.n_qubits
    gens = circuit.generators
    if gens.shape[1] < 2:
        return jnp.zeros(u.shape, params.dtype)
    pair = gens[:, 1] < n
    rows = jnp.concatenate([jnp.where(pair, gens[:, 0], n), jnp.where(pair, gens[:, 1], n)])
    cols = jnp.concatenate([gens[:, 1], gens[:, 0]])
    ang = 2 * params[circuit.gate_of]
    m = rows.shape[0]
    rows, cols, order = jax.lax.sort((rows, cols, jnp.arange(m, dtype=jnp.int32)), num_keys=2)
    new = jnp.concatenate([jnp.ones((1,), bool), (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])])
    seg = jnp.cumsum(new.astype(jnp.int32)) - 1  # index of each entry's distinct pair
    vals = jax.ops.segment_sum(jnp.concatenate([ang, ang])[order], seg, num_segments=m)
    # Row u's entries are [start[u], start[u + 1]); row n holds the singles, never matched.
    start = jnp.searchsorted(rows, jnp.arange(n + 1, dtype=rows.dtype)).astype(jnp.int32)
    start = jnp.concatenate([start, jnp.full((1,), m, jnp.int32)])
    # Branchless binary search for the first entry of row u with column >= v.
    pos, end = start[u], start[u + 1]
    for k in reversed(range(m.bit_length())):
        nxt = pos + (1 << k)
        pos = jnp.where((nxt <= end) & (cols[jnp.minimum(nxt, m) - 1] < v), nxt, pos)
    at = jnp.minimum(pos, m - 1)
    found = (pos < end) & (cols[at] == v) & (u < n) & (v < n)
    return jnp.where(found, vals[seg[at]], 0)


def _support_sums(t: jax.Array, supps: list[jax.Array]) -> jax.Array:
    """``Σ_{i∈A} t_i`` per operator, ``(n_ops, N)``, by gathering rows of ``t`` ``(n, N)``."""
    tp = jnp.concatenate([t, jnp.zeros((1, t.shape[1]), t.dtype)])
    return jnp.concatenate([tp[s].sum(axis=1) for s in supps])


def _pair_terms(circuit, params, supps):
    """``(J, h, blocks)``: the couplings (None for large sparse circuits, whose fields are
    scattered over the generators) and the ``J_AA`` blocks of each bucket, ``(c, w, w)``.
    (Per bucket: concatenating the index arrays costs more than gathering them on CPU.)"""
    n = circuit.n_qubits
    if _dense_pairs(circuit) or n < _LOOKUP_MIN_QUBITS:
        return couplings(circuit, params, [_block_index(s, n) for s in supps])

    def entries(axis):  # row (axis 2) or column (axis 1) index of every block entry
        return jnp.concatenate([
            jnp.broadcast_to(jnp.expand_dims(s, axis), (*s.shape, s.shape[1])).reshape(-1)
            for s in supps
        ])  # fmt: skip

    found = _pair_lookup(circuit, params, entries(2), entries(1))
    ends = np.cumsum([s.shape[0] * s.shape[1] ** 2 for s in supps])[:-1]
    split = jnp.split(found, ends)
    return None, None, [b.reshape(*s.shape, -1) for b, s in zip(split, supps, strict=True)]


def _pairwise_phases(circuit, params, st, supps, a_dense, pair_terms):
    """Phases ``(n_ops, N)``: ``A (s ∘ (h + J s)) − s_Aᵀ J_AA s_A`` (DESIGN §3)."""
    J, h, blocks = pair_terms
    t = st * _field(circuit, params, J, h, st)  # (n, N): s_i (h_i + (J s)_i)
    if a_dense is None:
        lin = _support_sums(t, supps)
    else:
        lin = a_dense @ t  # one dense product for every operator
    s8 = jnp.concatenate([st.astype(jnp.int8), jnp.zeros((1, st.shape[1]), jnp.int8)])
    # s_Aᵀ J_AA s_A per operator
    quad = jnp.concatenate([_quadratic_form(j, s8, s) for j, s in zip(blocks, supps, strict=True)])
    return lin - quad


def _generic_phases(circuit, params, st, a_dense):
    """Phases ``(n_ops, N)`` by explicit generator parities, chunked over generators."""
    n = circuit.n_qubits
    n_ops, n_samples = a_dense.shape[0], st.shape[1]
    sp1 = jnp.concatenate([st, jnp.ones((1, n_samples), st.dtype)])
    a_pad = jnp.concatenate([a_dense, jnp.zeros((n_ops, 1), a_dense.dtype)], axis=1)
    gens = circuit.generators
    w = gens.shape[1]
    g_chunk = max(1, min(gens.shape[0], _GEN_CHUNK_ELEMENTS // max(1, (n_ops + n_samples) * w)))
    n_chunks = -(-gens.shape[0] // g_chunk)
    pad = n_chunks * g_chunk - gens.shape[0]
    gens_p = jnp.concatenate([gens, jnp.full((pad, w), n, gens.dtype)])
    ang = 2 * params[circuit.gate_of]
    ang_p = jnp.concatenate([ang, jnp.zeros((pad,), ang.dtype)]).reshape(n_chunks, g_chunk)

    @jax.checkpoint
    def body(acc, chunk):
        g, a = chunk
        parity = jnp.sum(a_pad[:, g], axis=-1) % 2  # (n_ops, g_chunk)
        signs = jnp.prod(sp1[g], axis=1)  # (g_chunk, N)
        return acc + (parity * a) @ signs, None

    init = jnp.zeros((n_ops, n_samples), st.dtype)
    acc, _ = jax.lax.scan(body, init, (gens_p.reshape(n_chunks, g_chunk, w), ang_p))
    return acc


# cos and sin of float32 phases by polynomials: XLA's CPU cos/sin call libm once per element,
# about 6 ns each against under 1 ns here, and a step takes a million of each. The argument
# is reduced by k·π/2 with π/2 in three parts (the first two short enough that k times them is
# exact for |x| < 12,800), then least-squares fits on [-π/4, π/4] (error below 3e-9). Far
# beyond that the reduction loses digits as fast as x's own float32 ulp grows (above 10^7 it
# is noise, clipped to [-1, 1], as x itself then holds no digits below ±1).
_HALF_PI = (1.5703125, 4.837512969970703e-4, 7.549790126404332e-8)
_SIN = (-0.16666655, 8.3322e-3, -1.952e-4)
_COS = (4.16666468e-2, -1.3887365e-3, 2.44382321e-5)


def _sincos(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(cos x, sin x)``: polynomials for float32, ``jnp.cos``/``jnp.sin`` otherwise."""
    if x.dtype != jnp.float32:
        return jnp.cos(x), jnp.sin(x)
    k = jnp.round(x * np.float32(2 / np.pi))
    r = x
    for part in _HALF_PI:
        r = r - k * np.float32(part)
    r2 = r * r
    s = r + r * r2 * (_SIN[0] + r2 * (_SIN[1] + r2 * _SIN[2]))
    c = 1 - r2 / 2 + r2 * r2 * (_COS[0] + r2 * (_COS[1] + r2 * _COS[2]))
    q = k.astype(jnp.int32)  # x = r + q π/2: quadrant q mod 4 picks and signs c and s
    odd = (q & 1) == 1
    cos = jnp.where(odd, s, c) * jnp.where(((q + 1) & 2) == 2, -1, 1).astype(x.dtype)
    sin = jnp.where(odd, c, s) * jnp.where((q & 2) == 2, -1, 1).astype(x.dtype)
    return jnp.clip(cos, -1, 1), jnp.clip(sin, -1, 1)


@jax.custom_jvp
def _cos(x: jax.Array) -> jax.Array:
    return _sincos(x)[0]


@_cos.defjvp
def _cos_jvp(primals, tangents):
    c, s = _sincos(primals[0])
    return c, -s * tangents[0]


#: Code paths of :func:`moments_from_signs`.
PATHS = ("pairwise", "generic", "table")


def auto_chunk(n_rows: int, n_samples: int) -> int:
    """Samples per chunk so that the largest temporary, ``n_rows × chunk``, stays near 2^25
    elements (n_rows: the larger of the qubits and the summed operator widths)."""
    return int(max(1, min(n_samples, _CHUNK_ELEMENTS // max(1, n_rows))))


def moments_from_signs(
    circuit: IqpCircuit,
    params: jax.Array,
    st: jax.Array,
    supps: list[jax.Array],
    *,
    chunk_size: int | None = None,
    path: str = "auto",
) -> tuple[jax.Array, jax.Array]:
    """Sums ``Σ_z c`` and ``Σ_z c²`` of ``c = cos(phase(a, z))`` over the samples ``st``.

    Args:
        st: signs ``(n_qubits, n_samples)`` (see :func:`draw_signs`).
        supps: padded supports, a list of ``(c_b, w_b)`` int arrays (padding ``n_qubits``);
            operators of similar weight share a bucket so little work goes to padding.
        chunk_size: samples per chunk (memory only: the samples are drawn before chunking).
        path: ``"pairwise"``, ``"generic"``, ``"table"`` (through the phase table), or
            ``"auto"``: the cheapest by :func:`iqpgen.costs.path_costs`. Every path computes
            the same phases from the same samples; they differ in cost only.

    Returns:
        ``(s1, s2)`` for the concatenated operators, with the spin_sym factor ``[|a| even]``.
    """
    n = circuit.n_qubits
    n_samples = st.shape[1]
    n_ops = sum(s.shape[0] for s in supps)
    width_sum = sum(s.shape[0] * s.shape[1] for s in supps)
    if path == "auto":
        path = choose_path(circuit, n_ops, n_samples)
    if path not in PATHS:
        raise ValueError(f"path must be 'auto' or one of {PATHS}, got {path!r}.")
    if path == "pairwise" and not circuit.is_pairwise:
        raise ValueError(
            f"the pairwise path needs generators of weight <= 2; this circuit has weight "
            f"{circuit.max_weight}. Use expval_generic or expval."
        )
    if path == "table" and n > MAX_TABLE_QUBITS:
        raise ValueError(f"the table path holds at most {MAX_TABLE_QUBITS} qubits, got {n}.")
    # The linear term as a dense product costs n_ops * n per sample; gathering the supports'
    # rows costs about _GATHER_COST flops-equivalents per support entry per sample.
    gather = path == "pairwise" and n * n_ops > _GATHER_COST * width_sum
    a_dense = None if gather or path == "table" else dense_ops(supps, n, st.dtype)
    n_rows = max(n, width_sum, n_ops)
    chunk = chunk_size or auto_chunk(n_rows, n_samples)
    n_chunks = -(-n_samples // chunk)
    pad = n_chunks * chunk - n_samples
    st_p = jnp.concatenate([st, jnp.ones((n, pad), st.dtype)], axis=1)
    mask = (jnp.arange(n_chunks * chunk) < n_samples).astype(st.dtype)

    # Built once for all chunks: they do not depend on the samples.
    pair_terms = _pair_terms(circuit, params, supps) if path == "pairwise" else None
    if path == "table":
        table = phase_table(circuit, params)
        masks = jnp.concatenate([support_masks(s, n) for s in supps])

    def per_chunk(args):
        st_c, m_c = args
        if path == "pairwise":
            phase = _pairwise_phases(circuit, params, st_c, supps, a_dense, pair_terms)
        elif path == "table":
            phase = table_phases(table, sample_indices(st_c), masks)
        else:
            phase = _generic_phases(circuit, params, st_c, a_dense)
        c = _cos(phase) * m_c
        return jnp.sum(c, axis=1), jnp.sum(c * c, axis=1)

    if n_chunks == 1:
        s1, s2 = per_chunk((st_p, mask))
    else:
        st_c = st_p.reshape(n, n_chunks, chunk).transpose(1, 0, 2)
        s1, s2 = jax.lax.map(jax.checkpoint(per_chunk), (st_c, mask.reshape(n_chunks, chunk)))
        s1, s2 = s1.sum(0), s2.sum(0)
    if circuit.spin_sym:
        supp = jnp.concatenate([jnp.sum(s < n, axis=1) for s in supps])
        even = (supp % 2 == 0).astype(s1.dtype)
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
    """:func:`moments_from_signs` with samples drawn from ``key``, for one support array."""
    st = draw_signs(key, n_samples, circuit.n_qubits, circuit.spin_sym, params.dtype)
    return moments_from_signs(circuit, params, st, [supp], chunk_size=chunk_size, path=path)


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
        chunk_size: samples processed at once (memory only; default: automatic).

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


def expval_phase_table(
    circuit: IqpCircuit,
    params: Any,
    ops: Any,
    *,
    key: jax.Array,
    n_samples: int = 1000,
    chunk_size: int | None = None,
) -> Estimate:
    """:func:`expval` through the phase table (any generator weight, up to 30 qubits).

    The phase of every (operator, sample) is ``½(Θ̂(z) − Θ̂(z ⊕ a))`` from one
    Walsh–Hadamard transform of the generator angles (:func:`iqpgen.walsh.phase_table`): a
    cost of ``O(n 2^n)`` plus two look-ups per (operator, sample), whatever the number of
    gates. Same samples and statistics as the other paths for the same key.

    Example:
        >>> import jax, jax.numpy as jnp, iqpgen
        >>> c = iqpgen.IqpCircuit(3, [[[0, 1, 2]], [[0]]])
        >>> iqpgen.expval_phase_table(c, jnp.array([0.2, 0.1]), [[1, 0, 0]],
        ...                           key=jax.random.key(1)).mean.shape
        (1,)
    """
    return _expval(circuit, params, ops, key, n_samples, chunk_size, "table")
