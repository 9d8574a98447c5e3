"""The pairwise path: phases of circuits whose generators have weight 1 or 2.

With ``h_i = 2θ`` on singles, ``J_ij = 2θ`` on pairs and ``s = (−1)^z``, the phase is
``Σ_{i∈A} s_i (h_i + (J s)_i) − s_Aᵀ J_AA s_A``: one dense product ``J·S`` shared by every
operator and a small ``|A|×|A|`` block per operator. Sparse layouts sum ``J s`` over their
edges and, when large, look the block entries up in their pair generators: no ``n × n``
matrix."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from ..circuit import IqpCircuit, pair_offset
from ..costs import dense_pairs

__all__ = ["couplings", "dense_ops", "field_terms"]

# Elements of (operators x width x samples) per step of the block-term loop on CPU.
_BLOCK_ELEMENTS = 1 << 20
# Largest n for which the all-pairs layout's int32 flat indices into J (n^2) stay exact.
_ALL_PAIRS_MAX_QUBITS = 46_000
# From this n on, on CPU, J of the all-pairs layout is built (and its gradient packed) one row
# at a time; below it, and on accelerators (where a loop of n small steps costs more than one
# gather), by index arithmetic over all n^2 entries.
_ROW_LOOP_MIN_QUBITS = 3_000
# From this n on, sparse pairwise circuits look their block entries up in the sorted pair
# generators instead of building the dense n x n J (faster below it, while J fits in cache).
_LOOKUP_MIN_QUBITS = 3_000


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
            r = jax.lax.dynamic_slice(params, (pair_offset(i + 1, n),), (n,))
            return None, jnp.where(col > i, 2 * r, 0)

        _, upper = jax.lax.scan(row, None, col)
        J = upper + upper.T
    else:
        i = jax.lax.broadcasted_iota(jnp.int32, (n, n), 0)
        j = jax.lax.broadcasted_iota(jnp.int32, (n, n), 1)
        lo, hi, off_diag = jnp.minimum(i, j), jnp.maximum(i, j), i != j
        k = jnp.where(off_diag, n + pair_offset(lo, n) + hi - lo - 1, 0)
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
            return jax.lax.dynamic_update_slice(out, 2 * r, (pair_offset(i + 1, n) + 1,))

        out = jnp.zeros((n + n * (n - 1) // 2,), g.dtype).at[:n].set(2 * h_bar)
        return jax.lax.fori_loop(0, n - 1, row, out).astype(j_bar.dtype), None
    k = jnp.arange(n * (n - 1) // 2, dtype=jnp.int32)
    i = _pair_rows(k, n)
    j = k - pair_offset(i, n) + i + 1
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
        i = jnp.where(pair_offset(i + 1, n) <= k, i + 1, i)
        i = jnp.where(pair_offset(i, n) > k, i - 1, i)
    return i


_all_pairs_couplings.defvjp(_all_pairs_couplings_fwd, _all_pairs_couplings_bwd)


def field_terms(circuit: IqpCircuit, params: jax.Array, J: Any, h: Any, st: jax.Array):
    """``t = s ∘ (h + J s)`` for every sample, shape ``(n, n_samples)``; sparse circuits
    scatter ``J s`` over their generators (``J`` and ``h`` unused, may be None)."""
    n = circuit.n_qubits
    if dense_pairs(circuit):
        return st * (J @ st + h[:, None])
    gens = circuit.generators
    i = gens[:, 0]
    j = gens[:, 1] if gens.shape[1] == 2 else jnp.full_like(i, n)
    ang = (2 * params[circuit.gate_of])[:, None]
    st1 = jnp.concatenate([st, jnp.ones((1, st.shape[1]), st.dtype)])
    m = jnp.zeros((n + 1, st.shape[1]), st.dtype).at[i].add(ang * st1[j]).at[j].add(ang * st1[i])
    return st * m[:n]


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


def support_sums(t: jax.Array, supps: list[jax.Array]) -> jax.Array:
    """``Σ_{i∈A} t_i`` per operator, ``(n_ops, N)``, from rows of ``t`` ``(n, N)``: a loop over
    the supports' width gathering one row per operator at a time (in cache; gathering every
    entry at once is memory-bound and 8x slower on CPU)."""
    tp = jnp.concatenate([t, jnp.zeros((1, t.shape[1]), t.dtype)])
    out = []
    for supp in supps:
        acc0 = jnp.zeros((supp.shape[0], t.shape[1]), t.dtype)
        acc, _ = jax.lax.scan(lambda acc, col: (acc + tp[col], None), acc0, supp.T)
        out.append(acc)
    return jnp.concatenate(out)


def pair_terms(circuit, params, supps):
    """``(J, h, blocks)``: the couplings (None for large sparse circuits, whose fields are
    scattered over the generators) and the ``J_AA`` blocks of each bucket, ``(c, w, w)``.
    (Per bucket: concatenating the index arrays costs more than gathering them on CPU.)"""
    n = circuit.n_qubits
    if dense_pairs(circuit) or n < _LOOKUP_MIN_QUBITS:
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


def pairwise_phases(circuit, params, st, supps, a_dense, pair_terms):
    """Phases ``(c_b, N)`` of each bucket: ``A (s ∘ (h + J s)) − s_Aᵀ J_AA s_A`` (DESIGN §3).
    ``a_dense``: each bucket's 0/1 operator matrix, or None to gather the supports' rows."""
    J, h, blocks = pair_terms
    t = field_terms(circuit, params, J, h, st)  # (n, N): s_i (h_i + (J s)_i)
    s8 = jnp.concatenate([st.astype(jnp.int8), jnp.zeros((1, st.shape[1]), jnp.int8)])
    out = []
    for b, (j_aa, supp) in enumerate(zip(blocks, supps, strict=True)):
        lin = support_sums(t, [supp]) if a_dense is None else a_dense[b] @ t
        out.append(lin - _quadratic_form(j_aa, s8, supp))  # s_Aᵀ J_AA s_A per operator
    return out
