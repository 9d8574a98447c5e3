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
    while len(groups) > 1:
        # Merge the adjacent pair whose merge adds the least padded work, as long as that
        # work is below the fixed cost of one more bucket (or there are too many buckets).
        costs = [
            groups[i][1] * (groups[i + 1][2] ** 2 - groups[i][2] ** 2)
            for i in range(len(groups) - 1)
        ]
        i = int(np.argmin(costs))
        if len(groups) <= _MAX_BUCKETS and costs[i] > _BUCKET_OVERHEAD:
            break
        a, b = groups[i], groups.pop(i + 1)
        a[1] += b[1]
        a[2] = b[2]
    return tuple((s, c, w) for s, c, w in groups)


def _weights(u: jax.Array, n_w: int, p: float, width: int) -> jax.Array:
    """Stratified weights: the inverse Binomial(n_w, p) CDF at ``u``, at most ``width``."""
    cdf = jnp.asarray(_binomial_cdf(n_w, p), jnp.float32)
    return jnp.minimum(jnp.searchsorted(cdf, u), width).astype(jnp.int32)


def _floyd(key: jax.Array, weight: jax.Array, width: int, n_w: int) -> jax.Array:
    """A uniformly random subset of ``range(n_w)`` of each size in ``weight``, padded to
    ``width`` with ``n_w``: step i < weight draws t uniform in [0, j] with
    j = n_w − weight + i and keeps t, or j if t is already taken (Floyd's algorithm; work and
    random numbers scale with the width, not with n_w)."""
    count = weight.shape[0]
    top = n_w - weight[None, :] + jnp.arange(1, width + 1, dtype=jnp.int32)[:, None]  # j + 1
    draws = jax.random.randint(key, (width, count), 0, top, jnp.int32)

    def step(chosen, x):
        i, t = x
        j = n_w - weight + i
        pick = jnp.where(jnp.any(chosen == t[:, None], axis=1), j, t)
        return chosen.at[:, i].set(jnp.where(i < weight, pick, n_w).astype(jnp.int32)), None

    chosen = jnp.full((count, width), n_w, jnp.int32)  # n_w: padding, never drawn
    chosen, _ = jax.lax.scan(step, chosen, (jnp.arange(width, dtype=jnp.int32), draws))
    return chosen


def _on_wires(chosen: jax.Array, wires: jax.Array, n: int) -> jax.Array:
    wires_p = jnp.concatenate([wires, jnp.full((1,), n, wires.dtype)])
    return wires_p[chosen].astype(jnp.int32)


def _points(key: jax.Array, start: int, count: int, n_ops: int) -> jax.Array:
    return (start + jnp.arange(count) + jax.random.uniform(key, (count,))) / n_ops


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
    then a uniformly random subset of that size."""
    k_u, k_pick = jax.random.split(key)
    weight = _weights(_points(k_u, start, count, n_ops), wires.shape[0], p, width)
    return _on_wires(_floyd(k_pick, weight, width, wires.shape[0]), wires, n)


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
    distinct qubits of ``range(n)``), padded with ``n``; bandwidth ``s``'s bucket ``b`` from
    ``fold_in(fold_in(key, s), b)``.

    Example:
        >>> import jax, jax.numpy as jnp, iqpgen
        >>> ops = iqpgen.operators.draw_operators(jax.random.key(0), jnp.arange(50),
        ...                                       (2.0, 4.0), 100, 50)
        >>> ops.owners  # one bucket of each bandwidth
        (0, 1)
    """
    supps, owners = [], []
    for si, sigma in enumerate(sigmas):
        p = op_probability(sigma)
        for bi, (start, count, width) in enumerate(operator_plan(wires.shape[0], sigma, n_ops)):
            kb = jax.random.fold_in(jax.random.fold_in(key, si), bi)
            supps.append(sample_supports(kb, wires, p, n_ops, start, count, width, n))
            owners.append(si)
    return Operators(tuple(supps), tuple(owners))


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
