r"""The MMD² loss between an IQP circuit's distribution and data (MMD² between samples and
the bandwidth heuristics: :mod:`iqpgen.kernel`).

With the Gaussian kernel on bitstrings :math:`k(x,y)=e^{-|x-y|^2/(2\sigma^2)}`, which factorises
over bits,

.. math::

    \mathrm{MMD}^2(q,p) = \mathbb{E}_{a\sim\pi_\sigma}
        \big(\langle Z_a\rangle_q - \langle Z_a\rangle_p\big)^2,
    \qquad \pi_\sigma:\ a_i\sim\mathrm{Bernoulli}(p_\sigma),\ p_\sigma=(1-e^{-1/(2\sigma^2)})/2,

with :math:`\langle Z_a\rangle_p` the data mean of :math:`(-1)^{a\cdot x}`. The estimate draws
``n_ops`` operators and ``n_samples`` circuit samples ``z``; both squares use U-statistics, so
the estimate is unbiased (and can be slightly negative).

The operators are stratified by weight and bucketed by width (:mod:`iqpgen.operators`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks
from .circuit import IqpCircuit
from .estimator import check_variance_reduction, draw_signs, moments_from_signs
from .exact import all_bitstrings, check_size, expval_table_of
from .kernel import as_sigmas, hamming_distances
from .noise import check_readout_error, factor_table, readout_factors

# operator_plan and sample_supports (now in iqpgen.operators) stay importable from here.
from .operators import (  # noqa: F401
    by_sigma,
    draw_operators,
    expand,
    op_probability,
    operator_plan,
    sample_supports,
)
from .walsh import walsh_hadamard

__all__ = [
    "mmd_loss",
    "exact",
    "exact_between_distributions",
    "PackedData",
    "pack_data",
    "DataTable",
    "data_table",
    "exact_from_table",
    "exact_per_sigma",
    "per_sigma_from_expvals",
    "exact_per_sigma_jit",
    "op_weight_table",
    "data_sums",
    "loss_jit",
    "stack_packed",
    "per_sigma_map",
    "exact_jit",
]


# --------------------------------------------------------------------------- data
class PackedData(NamedTuple):
    """0/1 data with its rows packed 32 to a word along the sample axis.

    ``bits``: ``(n_qubits + 1, ceil(m/32))`` uint32 (last row zero, for padded supports);
    ``n_rows``: the number of data rows ``m`` (an int array, so it can be traced).
    """

    bits: jax.Array
    n_rows: jax.Array


def pack_data(X: Any) -> PackedData:
    """Pack a 0/1 matrix ``(m, n)`` (on the host, or in JAX when traced) for fast parities;
    ``(−1)^{a·x}`` summed over rows is ``m − 2·popcount(XOR of the support rows)``."""
    if isinstance(X, jax.core.Tracer):  # inside a caller's jit: the same packing in JAX
        m, n = X.shape
        words = -(-m // 32)
        Xt = jnp.zeros((n + 1, words * 32), jnp.uint32).at[:n, :m].set((X > 0).T)
        bits = jnp.sum(Xt.reshape(n + 1, words, 32) << jnp.arange(32, dtype=jnp.uint32), axis=2)
        return PackedData(bits.astype(jnp.uint32), jnp.asarray(m, jnp.int32))
    X = np.asarray(X)
    m, n = X.shape
    words = -(-m // 32)
    Xt = np.zeros((n + 1, words * 32), np.uint8)
    Xt[:n, :m] = (X > 0).T
    # Row 32w + j of the data is bit j of word w (bytes packed little-endian, read as uint32).
    bits = np.packbits(Xt, axis=1, bitorder="little").view("<u4")
    return PackedData(jnp.asarray(bits, jnp.uint32), jnp.asarray(m, jnp.int32))


def data_sums(data: PackedData, supp: jax.Array) -> jax.Array:
    """``F_a = Σ_x (−1)^{a·x}`` over the packed data for each padded support ``(n_ops, w)``
    (padding index ``n_qubits``), shape ``(n_ops,)`` float32: the data side of every
    operator-based MMD² (this module's loss, the baselines' and evaluation's)."""

    def body(acc, col):
        return acc ^ data.bits[col], None

    acc0 = jnp.zeros((supp.shape[0], data.bits.shape[1]), jnp.uint32)
    acc, _ = jax.lax.scan(body, acc0, supp.T)
    odd = jnp.sum(jax.lax.population_count(acc).astype(jnp.int32), axis=1)
    return (data.n_rows - 2 * odd).astype(jnp.float32)


# ----------------------------------------------------------------- operator plan
# ------------------------------------------------------------------------- loss
def _wires_array(n: int, wires: Any) -> tuple[int, ...]:
    if wires is None:
        return tuple(range(n))
    w = np.asarray(wires)
    if w.ndim != 1 or w.size == 0 or not np.issubdtype(w.dtype, np.integer):
        raise ValueError(f"wires must be a non-empty list of qubit indices, got {wires!r}.")
    if w.min() < 0 or w.max() >= n or len(set(w.tolist())) != w.size:
        raise ValueError(f"wires must be distinct qubit indices in range({n}), got {wires!r}.")
    return tuple(sorted(w.tolist()))


def loss_from_packed(
    circuit: IqpCircuit,
    params: jax.Array,
    data: PackedData,
    key: jax.Array,
    *,
    sigmas: tuple[float, ...],
    n_ops: int,
    n_samples: int,
    wires: tuple[int, ...] | None = None,
    chunk_size: int | None = None,
    return_terms: bool = False,
    mesh: Any = None,
    path: str = "auto",
    variance_reduction: str = "none",
    sigma_weights: tuple[float, ...] | None = None,
    readout_error: jax.Array | None = None,
):
    """MMD² estimate from packed data; the keyword arguments but ``readout_error`` are static.
    The jit-able core.

    With ``mesh`` (a ``jax.sharding.Mesh`` with one axis) the circuit samples are split
    across its devices (see :mod:`iqpgen.parallel`); the result equals the one-device one.
    ``path``: the estimator's code path on one device (see
    :func:`iqpgen.estimator.moments_from_signs`; the same numbers up to rounding on each).
    ``variance_reduction``: the estimator of each ``⟨Z_a⟩`` (see
    :func:`~iqpgen.estimator.moments_from_signs`); every choice leaves the loss unbiased.
    ``sigma_weights``: one weight per bandwidth; the loss is then ``mean_σ(w_σ MMD²_σ)``
    instead of the plain mean. ``readout_error``: ``(n,)`` flip probabilities (validated by
    :func:`iqpgen.noise.check_readout_error`; traced, not static); the model side is then the
    distribution of the bits read out, each circuit sample's ``⟨Z_a⟩`` term times
    ``Π_{i∈a}(1 − 2p_i)``.
    """
    n = circuit.n_qubits
    wires_t = tuple(range(n)) if wires is None else wires
    k_z, k_ops = jax.random.split(key)
    ops = draw_operators(k_ops, jnp.asarray(wires_t, jnp.int32), sigmas, n_ops, n)
    if not ops.supports:  # every operator has weight 0: both distributions agree on all
        zero = jnp.zeros((), params.dtype)
        return (zero, [jnp.zeros((0,), params.dtype)] * len(sigmas)) if return_terms else zero
    st = draw_signs(k_z, n_samples, n, circuit.spin_sym, params.dtype)
    supps = list(ops.supports)
    if mesh is None:
        s1, s2 = moments_from_signs(
            circuit,
            params,
            st,
            supps,
            chunk_size=chunk_size,
            path=path,
            variance_reduction=variance_reduction,
        )
    else:
        from .parallel import sharded_moments

        s1, s2 = sharded_moments(
            circuit,
            params,
            st,
            supps,
            mesh=mesh,
            chunk_size=chunk_size,
            variance_reduction=variance_reduction,
        )
    m = data.n_rows.astype(params.dtype)
    N = float(n_samples)
    per_sigma = []
    S = len(sigmas)
    parts = zip(by_sigma(s1, ops, S), by_sigma(s2, ops, S), expand(ops, S, n), strict=True)
    for s_1, s_2, supp in parts:
        if readout_error is not None:  # scale each sample's value: s1 by c, s2 by c²
            c = readout_factors(readout_error, supp).astype(s_1.dtype)
            s_1, s_2 = c * s_1, c * c * s_2
        F = data_sums(data, supp).astype(params.dtype)
        model_sq = (s_1 * s_1 - s_2) / (N * (N - 1.0))
        data_sq = (F * F - m) / (m * (m - 1.0))
        per_sigma.append(model_sq - 2.0 * (s_1 / N) * (F / m) + data_sq)
    # Strata of weight 0 are not evaluated; they count in the average with a zero term.
    loss = _weighted_mean([jnp.sum(t) / n_ops for t in per_sigma], sigma_weights)
    return (loss, per_sigma) if return_terms else loss


def _weighted_mean(values: list[jax.Array], weights: tuple[float, ...] | None) -> jax.Array:
    v = jnp.stack(values)
    if weights is None:
        return jnp.mean(v)
    if len(weights) != len(values):
        raise ValueError(f"sigma_weights has {len(weights)} entries for {len(values)} bandwidths.")
    return jnp.mean(v * jnp.asarray(weights, v.dtype))


#: :func:`loss_from_packed` jit-compiled with its keyword arguments static.
loss_jit = jax.jit(
    loss_from_packed,
    static_argnames=(
        "sigmas",
        "n_ops",
        "n_samples",
        "wires",
        "chunk_size",
        "return_terms",
        "mesh",
        "path",
        "variance_reduction",
        "sigma_weights",
    ),
)


def stack_packed(datas: Sequence[PackedData]) -> PackedData:
    """Packed data sets stacked along a new first axis, padded to one number of words (zero
    words: rows that count nowhere, since each set keeps its own ``n_rows``)."""
    words = max(d.bits.shape[1] for d in datas)
    bits = [jnp.pad(d.bits, ((0, 0), (0, words - d.bits.shape[1]))) for d in datas]
    return PackedData(jnp.stack(bits), jnp.stack([d.n_rows for d in datas]))


@functools.partial(jax.jit, static_argnames=("sigmas", "n_ops", "n_samples", "variance_reduction"))
def per_sigma_map(
    circuit: IqpCircuit,
    params: jax.Array,
    data: PackedData,
    keys: jax.Array,
    *,
    sigmas: tuple[float, ...],
    n_ops: int,
    n_samples: int,
    readout_error: jax.Array | None = None,
    variance_reduction: str = "none",
) -> jax.Array:
    """MMD² estimates per bandwidth for each of several (data, key) pairs, ``(R, len(sigmas))``:
    row ``r`` is :func:`loss_from_packed` of ``data[r]`` (a :func:`stack_packed` stack, or one
    :class:`PackedData` for all rows) with ``keys[r]``, one bandwidth at a time. One program
    for every row, run one row after another (memory of one row)."""
    shared = data.bits.ndim == 2

    def one(x):
        d, k = (data, x) if shared else (PackedData(*x[0]), x[1])
        _, per = loss_from_packed(
            circuit,
            params,
            d,
            k,
            sigmas=sigmas,
            n_ops=n_ops,
            n_samples=n_samples,
            return_terms=True,
            readout_error=readout_error,
            variance_reduction=variance_reduction,
        )
        return jnp.stack([jnp.sum(t) / n_ops for t in per])

    return jax.lax.map(one, keys if shared else ((data.bits, data.n_rows), keys))


def mmd_loss(
    circuit: IqpCircuit,
    params: Any,
    data: Any,
    *,
    key: jax.Array,
    sigma: float | Sequence[float],
    n_ops: int = 1000,
    n_samples: int = 1000,
    wires: Sequence[int] | None = None,
    chunk_size: int | None = None,
    variance_reduction: str = "none",
    readout_error: Any = None,
) -> jax.Array:
    """Unbiased estimate of MMD² between the circuit's output distribution and ``data``.

    Args:
        circuit: the circuit structure.
        params: gate angles ``(n_params,)``; the loss is differentiable in them.
        data: 0/1 matrix ``(m, n_qubits)``, ``m ≥ 2``.
        key: JAX key; it fixes the operators and the circuit samples.
        sigma: Gaussian-kernel bandwidth, or a list whose losses are averaged (static).
        n_ops: operators per bandwidth (static).
        n_samples: circuit samples ``z``, shared by all operators (static).
        wires: compute MMD² of the marginal on these qubits only.
        chunk_size: circuit samples per chunk (memory only).
        variance_reduction: ``"none"``, ``"control"``, ``"antithetic"`` or
            ``"control+antithetic"``: how each ``⟨Z_a⟩`` is estimated from the samples (see
            :func:`iqpgen.estimator.moments_from_signs`); all unbiased, with less noise in
            the loss and its gradient where pair angles are small.
        readout_error: a flip probability in ``[0, 0.5)`` for every qubit, or one per qubit:
            the MMD² of the bits a device with that readout error returns (see
            :mod:`iqpgen.noise`); training on it fits the circuit so that the device's
            read-out distribution matches ``data``. None for none.

    Returns:
        A scalar; its expectation over ``key`` is the exact MMD².

    ``jax.jit(functools.partial(mmd_loss, sigma=..., n_ops=..., n_samples=...))`` compiles;
    ``jax.grad`` differentiates it in ``params``.

    Example:
        >>> import jax, jax.numpy as jnp, numpy as np, iqpgen
        >>> c = iqpgen.IqpCircuit(4, iqpgen.gates.local(4, 2))
        >>> X = np.array([[0, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1]])
        >>> loss = iqpgen.mmd_loss(c, jnp.zeros(10), X, key=jax.random.key(0), sigma=1.0)
        >>> loss.shape
        ()
    """
    circuit = _checks.check_circuit(circuit)
    params = _checks.check_params(circuit, params)
    key = _checks.check_key(key)
    n_ops = _checks.check_int("n_ops", n_ops, minimum=1)
    n_samples = _checks.check_int("n_samples", n_samples, minimum=2)
    sigmas = as_sigmas(sigma)
    wires_t = _wires_array(circuit.n_qubits, wires)
    data = _checks.check_binary_matrix("data", data, n_cols=circuit.n_qubits, min_rows=2)
    if chunk_size is not None:
        chunk_size = _checks.check_int("chunk_size", chunk_size, minimum=1)
    variance_reduction = check_variance_reduction(circuit, variance_reduction)
    readout = check_readout_error(readout_error, circuit.n_qubits)
    return loss_jit(
        circuit,
        params,
        pack_data(data),
        key,
        sigmas=sigmas,
        n_ops=n_ops,
        n_samples=n_samples,
        wires=None if wires is None else wires_t,
        chunk_size=chunk_size,
        variance_reduction=variance_reduction,
        readout_error=None if readout is None else jnp.asarray(readout, jnp.float32),
    )


# ------------------------------------------------------------------ exact
def _kernel_matrix(X: np.ndarray, Y: np.ndarray, sigma: float) -> np.ndarray:
    return np.exp(-hamming_distances(X, Y).astype(np.float64) / (2.0 * sigma * sigma))


def _op_weights(n: int, sigma: float) -> np.ndarray:
    """``π_σ(a)`` for every operator ``a`` (index order of :func:`iqpgen.exact.all_bitstrings`)."""
    p = op_probability(sigma)
    w = all_bitstrings(n).sum(axis=1)
    return p**w * (1 - p) ** (n - w)


def exact_between_distributions(q: Any, p: Any, sigma: float | Sequence[float]) -> float:
    """Exact MMD² between two distributions given as probability vectors over ``2^n`` strings.

    Computed as ``Σ_a π_σ(a) (⟨Z_a⟩_q − ⟨Z_a⟩_p)²`` with Walsh–Hadamard transforms.

    Example:
        >>> import numpy as np, iqpgen
        >>> q = np.array([0.5, 0.5, 0, 0]); p = np.array([0.25] * 4)
        >>> iqpgen.mmd.exact_between_distributions(q, q, 1.0)
        0.0
    """
    q, p = np.asarray(q, np.float64), np.asarray(p, np.float64)
    if q.shape != p.shape or q.ndim != 1 or q.size & (q.size - 1):
        raise ValueError("q and p must be probability vectors of the same length 2^n.")
    n = q.size.bit_length() - 1
    d = walsh_hadamard(q - p)
    return float(np.mean([_op_weights(n, s) @ (d * d) for s in as_sigmas(sigma)]))


class DataTable(NamedTuple):
    """0/1 data as the parity sums of every operator, for the exact MMD².

    ``sums``: ``F(a) = Σ_x (−1)^{a·x}`` for every ``a`` (length ``2^n``, int32, index as for
    bitstrings); ``n_rows``: the number of data rows ``m`` (an int array, so it can be traced).
    """

    sums: jax.Array
    n_rows: jax.Array


def data_table(X: Any) -> DataTable:
    """The :class:`DataTable` of a 0/1 matrix ``(m, n)``: its histogram over the ``2^n``
    bitstrings and one Walsh–Hadamard transform (exact in int32)."""
    X = np.asarray(X)
    m, n = X.shape
    index = (X > 0).astype(np.int64) @ (1 << np.arange(n - 1, -1, -1, dtype=np.int64))
    counts = np.bincount(index, minlength=2**n).astype(np.int32)
    return DataTable(walsh_hadamard(jnp.asarray(counts)), jnp.asarray(m, jnp.int32))


def op_weight_table(n: int, sigma: float, wires: tuple[int, ...] | None = None, dtype=jnp.float32):
    """``π_σ(a) = p^{|a|}(1 − p)^{|W|−|a|}`` for every ``a ⊆ W`` (0 elsewhere), length ``2^n``;
    ``W`` = ``wires`` (default: every qubit)."""
    wires = tuple(range(n)) if wires is None else wires
    p = op_probability(sigma)
    a = jnp.arange(2**n, dtype=jnp.int32)
    inside = sum(1 << (n - 1 - q) for q in wires)
    w = jax.lax.population_count(a).astype(dtype)
    log_pi = w * math.log(p) + (len(wires) - w) * math.log1p(-p)
    return jnp.where((a & ~inside) == 0, jnp.exp(log_pi), 0).astype(dtype)


def exact_per_sigma(
    circuit: IqpCircuit,
    params: jax.Array,
    data: DataTable,
    *,
    sigmas: tuple[float, ...],
    wires: tuple[int, ...] | None = None,
    unbiased: bool = True,
    readout_error: jax.Array | None = None,
) -> jax.Array:
    """Exact MMD² from a :class:`DataTable` at each of ``sigmas``, shape ``(len(sigmas),)``;
    keyword arguments but ``readout_error`` (the ``(n,)`` flip probabilities, traced) are
    static. The circuit's expectation-value table is computed once for every bandwidth.

    ``Σ_a π_σ(a) (⟨Z_a⟩_q − F(a)/m)²``, plus ``Σ_a π_σ(a) ((F(a)/m)² − 1)/(m − 1)`` for the
    unbiased data term (the U-statistic minus the square of the mean, written without
    cancellation).
    """
    zq = expval_table_of(circuit, params)
    if readout_error is not None:
        zq = zq * factor_table(readout_error).astype(zq.dtype)
    return per_sigma_from_expvals(zq, data, sigmas=sigmas, wires=wires, unbiased=unbiased)


def per_sigma_from_expvals(
    zq: jax.Array,
    data: DataTable,
    *,
    sigmas: tuple[float, ...],
    wires: tuple[int, ...] | None = None,
    unbiased: bool = True,
) -> jax.Array:
    """Exact MMD² at each of ``sigmas`` of any model whose ``⟨Z_a⟩`` for every ``a`` is the
    table ``zq`` (length ``2^n``, as :func:`iqpgen.exact.expval_table`), shape
    ``(len(sigmas),)``: the sums of :func:`exact_per_sigma`. Jit-able and differentiable."""
    f = data.sums.astype(zq.dtype) / data.n_rows.astype(zq.dtype)
    terms = (zq - f) ** 2
    if unbiased:
        terms = terms + (f * f - 1) / (data.n_rows.astype(zq.dtype) - 1)
    n = zq.shape[0].bit_length() - 1
    return jnp.stack([op_weight_table(n, s, wires, zq.dtype) @ terms for s in sigmas])


#: :func:`exact_per_sigma` jit-compiled with its keyword arguments static.
exact_per_sigma_jit = jax.jit(exact_per_sigma, static_argnames=("sigmas", "wires", "unbiased"))


def exact_from_table(
    circuit: IqpCircuit,
    params: jax.Array,
    data: DataTable,
    *,
    sigmas: tuple[float, ...],
    wires: tuple[int, ...] | None = None,
    unbiased: bool = True,
    sigma_weights: tuple[float, ...] | None = None,
    readout_error: jax.Array | None = None,
) -> jax.Array:
    """Exact MMD² from a :class:`DataTable`, :func:`exact_per_sigma` averaged over ``sigmas``
    (weighted by ``sigma_weights`` when given, as in :func:`loss_from_packed`); keyword
    arguments but ``readout_error`` are static. The jit-able, differentiable core of
    :func:`exact`.
    """
    per = exact_per_sigma(
        circuit, params, data, sigmas=sigmas, wires=wires, unbiased=unbiased,
        readout_error=readout_error,
    )  # fmt: skip
    return _weighted_mean(list(per), sigma_weights)


#: :func:`exact_from_table` jit-compiled with its keyword arguments static.
exact_jit = jax.jit(
    exact_from_table, static_argnames=("sigmas", "wires", "unbiased", "sigma_weights")
)


def exact(
    circuit: IqpCircuit,
    params: Any,
    data: Any,
    sigma: float | Sequence[float],
    *,
    unbiased: bool = True,
    wires: Sequence[int] | None = None,
    readout_error: Any = None,
) -> jax.Array:
    """Exact MMD² between the circuit (state vector, small n) and data, averaged over σ.

    A JAX scalar, jit-compiled and differentiable in ``params`` (float32, or float64 with
    float64 parameters under ``jax_enable_x64``), at a cost of a few Walsh–Hadamard transforms
    of length ``2^n`` whatever the number of gates; up to :func:`iqpgen.exact.max_qubits`.

    With ``unbiased=True`` the data term is the U-statistic, as in :func:`mmd_loss`: the
    result is the expectation of :func:`mmd_loss` over its key, an unbiased estimate of MMD² to
    the distribution the data were drawn from. With ``unbiased=False`` it is MMD² to the
    empirical distribution of ``data``. ``wires``: MMD² of the marginal on those qubits, as in
    :func:`mmd_loss`. ``readout_error``: of the bits read out with that readout error, as in
    :func:`mmd_loss`.

    Example:
        >>> import jax, numpy as np, iqpgen
        >>> c = iqpgen.IqpCircuit(2, [[[0]], [[1]]])
        >>> round(float(iqpgen.mmd.exact(c, np.zeros(2), [[0, 0], [0, 0]], 1.0)), 6)
        0.0
        >>> X = np.array([[0, 1], [1, 1], [0, 0]])
        >>> jax.grad(iqpgen.mmd.exact, argnums=1)(c, np.full(2, 0.3), X, 1.0).shape
        (2,)
    """
    circuit = _checks.check_circuit(circuit)
    params = _checks.check_params(circuit, params)
    data = _checks.check_binary_matrix("data", data, n_cols=circuit.n_qubits, min_rows=2)
    if not isinstance(unbiased, bool | np.bool_):
        raise TypeError(f"unbiased must be True or False, got {unbiased!r}.")
    sigmas = as_sigmas(sigma)
    wires_t = None if wires is None else _wires_array(circuit.n_qubits, wires)
    check_size(circuit.n_qubits, params.dtype, what="the exact MMD²")
    readout = check_readout_error(readout_error, circuit.n_qubits)
    return exact_jit(
        circuit,
        params,
        data_table(data),
        sigmas=sigmas,
        wires=wires_t,
        unbiased=bool(unbiased),
        readout_error=None if readout is None else jnp.asarray(readout, jnp.float32),
    )


#: Names that moved to :mod:`iqpgen.kernel` in 0.1.0; importable from here, with a
#: ``DeprecationWarning``, until 0.2.0.
_MOVED_TO_KERNEL = (
    "sigma_heuristic",
    "median_heuristic",
    "between_samples",
    "between_samples_each",
    "uniform_mmd",
)


def __getattr__(name: str):
    if name in _MOVED_TO_KERNEL:
        import warnings

        from . import kernel

        warnings.warn(
            f"iqpgen.mmd.{name} moved to iqpgen.kernel.{name}; the old name goes in 0.2.0.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(kernel, name)
    raise AttributeError(f"module 'iqpgen.mmd' has no attribute {name!r}")
