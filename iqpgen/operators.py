r"""The random operators of the Monte Carlo MMD²: stratified weights in buckets of one width.

An operator ``a`` of bandwidth σ has independent Bernoulli(``p_σ``) bits, so its weight is
Binomial(n, p_σ) and, given the weight, its support is a uniformly random subset.

**Stratified weights.** Operator ``o`` of ``n_ops`` takes its weight from the ``o``-th of
``n_ops`` equal-probability strata of the weight distribution: the inverse CDF at
``u_o = (o + U_o)/n_ops`` with ``U_o`` uniform. Every stratum has probability ``1/n_ops``, so
the average is unbiased with less variance than independent draws, and the weights are known
per stratum before sampling: operators are bucketed by weight into arrays of fixed width
(:func:`operator_plan`), and almost no work goes to padding. The top stratum is capped at a
weight whose tail probability is below 1e-12 (the bias is below that).

:func:`draw_operators` draws every bandwidth's buckets for one key: the operators of
:func:`iqpgen.mmd_loss`, of the baselines' MMD² and of :mod:`iqpgen.evaluate`.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "op_probability",
    "operator_plan",
    "merge_buckets",
    "sample_supports",
    "Operators",
    "draw_operators",
    "by_sigma",
    "expand",
]

_TAIL = 1e-12
_MAX_BUCKETS = 4
# Fixed cost of a bucket, in units of (operators x width^2) of padded work.
_BUCKET_OVERHEAD = 40_000


def op_probability(sigma: float) -> float:
    """Probability ``p_σ = (1 − e^{−1/(2σ²)})/2`` that an operator acts on a given qubit."""
    return (1.0 - math.exp(-1.0 / (2.0 * sigma * sigma))) / 2.0


@functools.lru_cache(maxsize=256)
def _binomial_cdf(n: int, p: float) -> np.ndarray:
    k = np.arange(n + 1)
    lg = np.array([math.lgamma(i + 1) for i in range(n + 1)])
    logpmf = lg[n] - lg - lg[::-1] + k * math.log(p) + (n - k) * math.log1p(-p)
    pmf = np.exp(logpmf - logpmf.max())
    return np.minimum(np.cumsum(pmf) / pmf.sum(), 1.0)


@functools.lru_cache(maxsize=256)
def operator_plan(n_wires: int, sigma: float, n_ops: int) -> tuple[tuple[int, int, int], ...]:
    """The stratified operators of one bandwidth: buckets ``(first stratum, n strata, width)``
    of the ``n_ops`` strata (see the module docstring) sharing a padded width, for operators on
    ``n_wires`` qubits. Strata whose weight is always 0 are left out (they contribute exactly
    0 to MMD²). Cached; :func:`sample_supports` draws each bucket's operators.

    Example:
        >>> import iqpgen
        >>> plan = iqpgen.operators.operator_plan(16, 1.0, 1000)
        >>> sum(count for _, count, _ in plan) <= 1000
        True
    """
    cdf = _binomial_cdf(n_wires, op_probability(sigma))
    cap = int(np.searchsorted(cdf, 1.0 - _TAIL)) if cdf[-1] > 1.0 - _TAIL else n_wires
    cap = max(min(cap, n_wires), 1)
    upper = np.arange(1, n_ops + 1) / n_ops
    widths = np.minimum(np.searchsorted(cdf, upper - 1e-15), cap)
    widths[-1] = cap
    groups: list[list[int]] = []  # [start, count, width]
    for o, w in enumerate(widths.tolist()):
        if w == 0:
            continue
        if groups and groups[-1][2] == w:
            groups[-1][1] += 1
        else:
            groups.append([o, 1, w])
    merged = merge_buckets([(c, w) for _, c, w in groups])
    groups = [[groups[m[0]][0], sum(groups[i][1] for i in m), groups[m[-1]][2]] for m in merged]
    return tuple((s, c, w) for s, c, w in groups)


def merge_buckets(
    buckets: list[tuple[int, int]], max_buckets: int = _MAX_BUCKETS
) -> list[list[int]]:
    """Groups of adjacent buckets ``(count, width)``, listed by increasing width, to pad to one
    width: merges the adjacent pair whose merge adds the least padded work (operators x
    width²) as long as that work is below the fixed cost of one more bucket, or while there
    are more than ``max_buckets``. Returns the indices of each group's buckets."""
    groups = [[i] for i in range(len(buckets))]
    count = [c for c, _ in buckets]
    width = [w for _, w in buckets]
    while len(groups) > 1:
        costs = [count[i] * (width[i + 1] ** 2 - width[i] ** 2) for i in range(len(groups) - 1)]
        i = int(np.argmin(costs))
        if len(groups) <= max_buckets and costs[i] > _BUCKET_OVERHEAD:
            break
        groups[i] += groups.pop(i + 1)
        count[i] += count.pop(i + 1)
        width[i] = width.pop(i + 1)
    return groups


def _weights(u: jax.Array, n_w: int, p: float, width: int) -> jax.Array:
    """Stratified weights: the inverse Binomial(n_w, p) CDF at ``u``, at most ``width``."""
    cdf = jnp.asarray(_binomial_cdf(n_w, p), jnp.float32)
    return jnp.minimum(jnp.searchsorted(cdf, u), width).astype(jnp.int32)


def _unit_interval(bits: jax.Array) -> jax.Array:
    """Uniform float32 numbers in [0, 1) from uint32 random bits (the top 23 as a mantissa, as
    :func:`jax.random.uniform` makes them)."""
    one = jnp.uint32(0x3F800000)
    return jax.lax.bitcast_convert_type((bits >> 9) | one, jnp.float32) - 1.0


def _below(hi: jax.Array, lo: jax.Array, top: jax.Array) -> jax.Array:
    """Integers uniform in ``[0, top)`` from two uint32 random words, in
    :func:`jax.random.randint`'s arithmetic: ``hi·2³² + lo`` mod ``top`` up to ``top = 2¹⁶``
    (bias below ``top / 2⁶⁴``); beyond, where ``2³² mod top`` wraps to 0 in uint32, ``lo`` mod
    ``top`` (bias below ``top / 2³²``: 2.3·10⁻⁵ at 100,000 qubits)."""
    span = top.astype(jnp.uint32)
    mult = (jnp.uint32(1 << 16) % span) ** 2 % span  # 2³² mod span
    return ((hi % span) * mult + lo % span) % span


def _floyd_draws(bits: jax.Array, weight: jax.Array, width: int, n_w: int) -> jax.Array:
    """The random numbers of :func:`_floyd_pick` from ``2·width·count`` random bits: step i
    draws t uniform in [0, j] with j = n_w − weight + i, shape ``(width, count)``."""
    top = n_w - weight[None, :] + jnp.arange(1, width + 1, dtype=jnp.int32)[:, None]  # j + 1
    hi, lo = bits.reshape(2, width, weight.shape[0])
    return _below(hi, lo, top).astype(jnp.int32)


def _floyd_pick(draws: jax.Array, weight: jax.Array, width: int, n_w: int) -> jax.Array:
    """A uniformly random subset of ``range(n_w)`` of each size in ``weight``, padded to
    ``width`` with ``n_w``, by Floyd's algorithm: step i < weight keeps its draw t, or j if t
    is already taken (work and random numbers scale with the width, not with n_w). Steps
    from ``weight`` on change nothing, whatever their draws."""

    def step(chosen, x):
        i, t = x
        j = n_w - weight + i
        pick = jnp.where(jnp.any(chosen == t[:, None], axis=1), j, t)
        return chosen.at[:, i].set(jnp.where(i < weight, pick, n_w).astype(jnp.int32)), None

    chosen = jnp.full((weight.shape[0], width), n_w, jnp.int32)  # n_w: padding, never drawn
    chosen, _ = jax.lax.scan(step, chosen, (jnp.arange(width, dtype=jnp.int32), draws))
    return chosen


def _on_wires(chosen: jax.Array, wires: jax.Array, n: int) -> jax.Array:
    wires_p = jnp.concatenate([wires, jnp.full((1,), n, wires.dtype)])
    return wires_p[chosen].astype(jnp.int32)


def sample_supports(
    key: jax.Array,
    wires: jax.Array,
    p: float,
    n_ops: int,
    start: int,
    count: int,
    width: int,
    n: int,
) -> jax.Array:
    """Operators of strata ``start..start+count`` of :func:`operator_plan`, as supports on
    ``wires`` padded to ``width`` with ``n`` (int32 ``(count, width)``): each stratum's weight
    by the inverse binomial CDF at a uniform point inside it (``p`` = :func:`op_probability`),
    then a uniformly random subset of that size. The random numbers are the first
    ``count·(1 + 2·width)`` 32-bit words of ``key``: the points, then Floyd's draws."""
    n_w = wires.shape[0]
    bits = jax.random.bits(key, (count * (1 + 2 * width),), jnp.uint32)
    u = (start + jnp.arange(count) + _unit_interval(bits[:count])) / n_ops
    weight = _weights(u, n_w, p, width)
    draws = _floyd_draws(bits[count:], weight, width, n_w)
    return _on_wires(_floyd_pick(draws, weight, width, n_w), wires, n)


class Operators(NamedTuple):
    """Operators for a list of bandwidths, as padded supports in buckets of one width.

    ``supports``: int32 ``(c_b, w_b)`` per bucket, padded with the qubit count ``n``;
    ``owners``: the index of each bucket's bandwidth (buckets of one bandwidth are adjacent).
    """

    supports: tuple[jax.Array, ...]
    owners: tuple[int, ...]


def draw_operators(
    key: jax.Array, wires: jax.Array, sigmas: tuple[float, ...], n_ops: int, n: int
) -> Operators:
    """The operators of the Monte Carlo MMD² for ``key`` (traceable; ``sigmas``, ``n_ops`` and
    ``n`` static): ``n_ops`` stratified operators of each bandwidth on ``wires`` (int32,
    distinct qubits of ``range(n)``), padded with ``n``; bucket ``b`` (the buckets of every
    bandwidth, in order) is :func:`sample_supports` with ``fold_in(key, b)``.

    Every bucket's random numbers come from its own key, but the weights and the subsets of
    all buckets are computed together (one search, one loop of Floyd's algorithm over the
    largest width), so the program to compile does not grow with the number of buckets and
    bandwidths; the operators are those of :func:`sample_supports`, bucket by bucket.

    Example:
        >>> import jax, jax.numpy as jnp, iqpgen
        >>> draw = jax.jit(iqpgen.operators.draw_operators, static_argnums=(2, 3, 4))
        >>> ops = draw(jax.random.key(0), jnp.arange(50), (2.0, 4.0), 100, 50)
        >>> [int(o) for o in ops.owners]  # one bucket of each bandwidth
        [0, 1]
    """
    n_w = wires.shape[0]
    plan = [
        (si, start, count, width)
        for si, sigma in enumerate(sigmas)
        for start, count, width in operator_plan(n_w, sigma, n_ops)
    ]
    if not plan:
        return Operators((), ())
    n_b = len(plan)
    sig_of = np.array([si for si, *_ in plan])
    counts = np.array([count for *_, count, _ in plan])
    widths = np.array([width for *_, width in plan])
    starts = np.concatenate([[0], np.cumsum(counts)])
    max_w = int(widths.max())
    # The random bits of every bucket in one batched draw, each from its bucket's key:
    # counter-based bits depend only on the key and the flat index, so the first
    # count·(1 + 2·width) of a longer draw are those of the bucket's own draw.
    keys = jax.vmap(lambda b: jax.random.fold_in(key, b))(jnp.arange(n_b, dtype=jnp.uint32))
    length = int(np.max(counts * (1 + 2 * widths)))
    bits = jax.vmap(lambda k: jax.random.bits(k, (length,), jnp.uint32))(keys)
    u = jnp.concatenate(
        [
            (start + jnp.arange(c) + _unit_interval(bits[b, :c])) / n_ops
            for b, (_, start, c, _) in enumerate(plan)
        ]
    )
    # Each operator's weight: the number of entries of its bandwidth's CDF below u (what
    # searchsorted returns), by one binary search for every bucket at once.
    cdfs = np.stack([_binomial_cdf(n_w, op_probability(s)) for s in sigmas])
    weight = _count_below(jnp.asarray(cdfs, jnp.float32), np.repeat(sig_of, counts), u)
    weight = jnp.minimum(weight, np.repeat(widths, counts)).astype(jnp.int32)
    # Floyd's draws of every bucket, rows past a bucket's width padded (they change nothing).
    words = [
        [
            jnp.pad(
                bits[b, off : off + widths[b] * counts[b]].reshape(widths[b], counts[b]),
                ((0, max_w - widths[b]), (0, 0)),
            )
            for off in (counts[b], counts[b] * (1 + widths[b]))
        ]
        for b in range(n_b)
    ]
    hi, lo = (jnp.concatenate([w[h] for w in words], axis=1) for h in (0, 1))
    top = n_w - weight[None, :] + jnp.arange(1, max_w + 1, dtype=jnp.int32)[:, None]  # j + 1
    draws = _below(hi, lo, top).astype(jnp.int32)
    chosen = _on_wires(_floyd_pick(draws, weight, max_w, n_w), wires, n)
    supps = tuple(chosen[starts[b] : starts[b + 1], : widths[b]] for b in range(n_b))
    return Operators(supps, tuple(int(si) for si in sig_of))


def _count_below(table: jax.Array, rows: np.ndarray, u: jax.Array) -> jax.Array:
    """``#{j: table[rows[i], j] < u[i]}`` for rows sorted in increasing order (branchless
    binary search; no ``(len(u), row length)`` temporary)."""
    length = table.shape[1]
    flat = table.reshape(-1)
    base = jnp.asarray(rows * length, jnp.int32)
    pos = jnp.zeros(u.shape, jnp.int32)
    for k in reversed(range(length.bit_length())):
        nxt = pos + (1 << k)
        below = flat[base + jnp.minimum(nxt, length) - 1] < u
        pos = jnp.where((nxt <= length) & below, nxt, pos)
    return pos


def by_sigma(x: jax.Array, ops: Operators, n_sigmas: int) -> list[jax.Array]:
    """Split a per-operator array ``(n_ops_total, ...)`` of the concatenated buckets into one
    array per bandwidth (empty where every stratum of a bandwidth has weight 0)."""
    ends = np.cumsum([s.shape[0] for s in ops.supports])
    starts = ends - [s.shape[0] for s in ops.supports]
    out = []
    for si in range(n_sigmas):
        mine = [b for b, o in enumerate(ops.owners) if o == si]
        lo, hi = (int(starts[mine[0]]), int(ends[mine[-1]])) if mine else (0, 0)
        out.append(x[lo:hi])
    return out


def expand(ops: Operators, n_sigmas: int, n: int) -> list[jax.Array]:
    """Each bandwidth's operators as one support array ``(n_ops_s, width)`` padded with ``n``,
    in the order of :func:`by_sigma`."""
    out = []
    for si in range(n_sigmas):
        mine = [s for s, o in zip(ops.supports, ops.owners, strict=True) if o == si]
        if not mine:
            out.append(jnp.zeros((0, 1), jnp.int32))
            continue
        width = max(s.shape[1] for s in mine)
        out.append(
            jnp.concatenate(
                [jnp.pad(s, ((0, 0), (0, width - s.shape[1])), constant_values=n) for s in mine]
            )
        )
    return out
