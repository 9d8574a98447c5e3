"""Moments of the cosines over circuit samples on any path, and the public ``expval``."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.ad_checkpoint import checkpoint_name

from .. import _checks
from ..circuit import IqpCircuit
from ..costs import choose_path
from ..noise import check_readout_error, readout_factors
from ..operators import merge_buckets
from ..walsh import MAX_TABLE_QUBITS, phase_table, sample_indices, support_masks, table_phases
from .generic import generic_phases
from .pairwise import dense_ops, pair_terms, pairwise_phases, support_sums
from .sampling import draw_signs, supports_from_ops, traced_supports
from .trig import cos

__all__ = [
    "Estimate",
    "PATHS",
    "VARIANCE_REDUCTIONS",
    "antithetic_applies",
    "check_variance_reduction",
    "single_field",
    "auto_chunk",
    "moments_from_signs",
    "moments",
    "estimate_from_moments",
    "expval",
    "expval_generic",
    "expval_pairwise",
    "expval_phase_table",
]

# Elements of the largest temporary (rows x samples) per sample chunk.
_CHUNK_ELEMENTS = 1 << 25
# Buckets after regrouping (e.g. those of several bandwidths): fewer cost more padding, more
# cost more compile time.
_MAX_GROUPS = 8
# Cost of gathering one support entry of the linear term, in multiply-adds of the dense
# product it replaces (on CPU: 0.13 ns a gathered element beside 0.011 ns a multiply-add).
_GATHER_COST = 12
# Phases (and single-qubit parts) kept across the chunks of one step for the backward pass
# (elements: 1 GiB of float32).
_SAVED = "iqpgen_phase"
_SAVED_ELEMENTS = 2**28


class Estimate(NamedTuple):
    """A Monte Carlo estimate: ``mean`` and its standard error ``stderr``, same shape."""

    mean: jax.Array
    stderr: jax.Array


#: Code paths of :func:`moments_from_signs`.
PATHS = ("pairwise", "generic", "table")

#: Values of ``variance_reduction`` (see :func:`moments_from_signs`).
VARIANCE_REDUCTIONS = ("none", "control", "antithetic", "control+antithetic")


def single_field(circuit: IqpCircuit, params: jax.Array) -> jax.Array:
    """``h_i``: the sum of ``2θ`` over the weight-1 generators on qubit ``i``, shape ``(n,)``."""
    n = circuit.n_qubits
    if circuit.is_all_pairs:  # parameter i is the single on qubit i
        return 2 * params[:n]
    single = jnp.sum(circuit.generators < n, axis=1) == 1
    ang = jnp.where(single, 2 * params[circuit.gate_of], 0)
    return jnp.zeros((n,), params.dtype).at[circuit.generators[:, 0]].add(ang)


def antithetic_applies(circuit: IqpCircuit) -> bool:
    """True when ``z`` and its complement are equally likely and every generator has weight 1
    or 2, so the complement flips exactly the single-qubit terms of the phase."""
    return circuit.is_pairwise and (not circuit.spin_sym or circuit.n_qubits % 2 == 0)


def check_variance_reduction(circuit: IqpCircuit, variance_reduction: str) -> str:
    """Validate ``variance_reduction`` for ``circuit``; returns it."""
    if variance_reduction not in VARIANCE_REDUCTIONS:
        raise ValueError(
            f"variance_reduction must be one of {VARIANCE_REDUCTIONS}, got {variance_reduction!r}."
        )
    if "antithetic" in variance_reduction and not antithetic_applies(circuit):
        raise ValueError(
            "variance_reduction with 'antithetic' needs generators of weight 1 or 2 (and an "
            "even number of qubits with spin_sym); use 'control' or 'none'."
        )
    return variance_reduction


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
    variance_reduction: str = "none",
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
        variance_reduction: what ``c`` is, each with mean ``⟨Z_a⟩``. Split the
            phase into its single-qubit part ``L = Σ_{i∈A} h_i s_i`` (odd in ``s``) and the
            rest ``P``. ``"none"``: ``cos(L + P)``. ``"control"``: ``cos(L + P) − cos L + Π_{i∈A}
            cos h_i`` (``cos L`` is a control variate of known mean; the noise left is that of
            the pair terms, small where pair angles are). ``"antithetic"``: the mean over ``s``
            and ``−s``, ``cos L cos P`` (needs :func:`antithetic_applies`).
            ``"control+antithetic"``: ``cos L (cos P − 1) + Π cos h_i``.

    Returns:
        ``(s1, s2)`` for the concatenated operators, with the spin_sym factor ``[|a| even]``.
    """
    n = circuit.n_qubits
    n_samples = st.shape[1]
    supps, restore = _regroup(supps, n)
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
    variance_reduction = check_variance_reduction(circuit, variance_reduction)
    control = "control" in variance_reduction
    antithetic = "antithetic" in variance_reduction
    # The linear term as a dense product costs n_ops * n per sample; gathering the supports'
    # rows costs about _GATHER_COST flops-equivalents per support entry per sample.
    gather = path == "pairwise" and n * n_ops > _GATHER_COST * width_sum
    # The pairwise path works bucket by bucket (no concatenated (n_ops, N) temporaries, whose
    # copies cost as much as the cosines); the others take every operator at once.
    if path == "pairwise":
        groups = [[s] for s in supps]
    else:
        groups = [supps]
    a_dense = None if gather or path == "table" else [dense_ops(g, n, st.dtype) for g in groups]
    n_rows = max(n, n_ops)
    chunk = chunk_size or auto_chunk(n_rows, n_samples)
    n_chunks = -(-n_samples // chunk)
    pad = n_chunks * chunk - n_samples
    st_p = jnp.concatenate([st, jnp.ones((n, pad), st.dtype)], axis=1)
    mask = (jnp.arange(n_chunks * chunk) < n_samples).astype(st.dtype)

    # Built once for all chunks: they do not depend on the samples.
    pw_terms = pair_terms(circuit, params, supps) if path == "pairwise" else None
    if path == "table":
        table = phase_table(circuit, params)
        masks = jnp.concatenate([support_masks(s, n) for s in supps])
    if control or antithetic:
        h = single_field(circuit, params)
        # E cos L = Π_{i∈A} cos h_i: the signs on A are independent and fair (for spin_sym
        # only while |A| < n; the full-support operator keeps the plain estimate).
        cos_h = jnp.concatenate([jnp.cos(h), jnp.ones((1,), h.dtype)])
        weight = [jnp.concatenate([jnp.sum(s < n, axis=1) for s in g]) for g in groups]
        mu = [jnp.concatenate([jnp.prod(cos_h[s], axis=1) for s in g]) for g in groups]
        on = jnp.ones((), st.dtype) * control
        use_cv = [(w != n).astype(st.dtype) * on if circuit.spin_sym else on for w in weight]

    def per_chunk(args):
        st_c, m_c = args
        t_h = st_c * h[:, None] if control or antithetic else None
        if path == "pairwise":
            phases = pairwise_phases(circuit, params, st_c, supps, a_dense, pw_terms)
        elif path == "table":
            phases = [table_phases(table, sample_indices(st_c), masks)]
        else:
            phases = [generic_phases(circuit, params, st_c, a_dense[0])]
        s1, s2 = [], []
        for g, phase in enumerate(phases):
            phase = checkpoint_name(phase, _SAVED)
            if not (control or antithetic):
                c = cos(phase)
            else:
                if a_dense is None:
                    single = support_sums(t_h, groups[g])
                else:
                    single = a_dense[g] @ t_h
                single = checkpoint_name(single, _SAVED)
                cos_l = cos(single)
                c = cos_l * cos(phase - single) if antithetic else cos(phase)
                c = c - jnp.reshape(use_cv[g], (-1, 1)) * (cos_l - mu[g][:, None])
            c = c * m_c
            s1.append(jnp.sum(c, axis=1))
            s2.append(jnp.sum(c * c, axis=1))
        return jnp.concatenate(s1), jnp.concatenate(s2)

    if n_chunks == 1:
        s1, s2 = per_chunk((st_p, mask))
    else:
        st_c = st_p.reshape(n, n_chunks, chunk).transpose(1, 0, 2)
        # Keep each chunk's phases (n_ops x chunk) for the backward pass and recompute nothing
        # else: the products that made them are linear in the parameters, so their gradients
        # need only the signs. Beyond _SAVED_ELEMENTS the whole chunk is recomputed instead.
        policy = None
        if (2 if control or antithetic else 1) * n_ops * n_chunks * chunk <= _SAVED_ELEMENTS:
            policy = jax.checkpoint_policies.save_only_these_names(_SAVED)
        body = jax.checkpoint(per_chunk, policy=policy)
        s1, s2 = jax.lax.map(body, (st_c, mask.reshape(n_chunks, chunk)))
        s1, s2 = s1.sum(0), s2.sum(0)
    if circuit.spin_sym:
        supp = jnp.concatenate([jnp.sum(s < n, axis=1) for s in supps])
        even = (supp % 2 == 0).astype(s1.dtype)
        s1, s2 = s1 * even, s2 * even
    if restore is not None:
        s1, s2 = s1[restore], s2[restore]
    return s1, s2


def _regroup(supps: list[jax.Array], n: int) -> tuple[list[jax.Array], np.ndarray | None]:
    """Buckets of similar width (e.g. of several bandwidths) padded into a few larger ones
    (:func:`iqpgen.operators.merge_buckets`: fewer loops to compile and run), and the
    permutation that restores the operators' order (None if nothing was merged). Padding
    contributes exact zeros, so the numbers are those of the buckets as given."""
    order = sorted(range(len(supps)), key=lambda b: supps[b].shape[1])
    merged = merge_buckets([supps[b].shape for b in order], _MAX_GROUPS)
    if len(merged) == len(supps):
        return supps, None
    starts = np.cumsum([0] + [s.shape[0] for s in supps])
    out, perm = [], []
    for group in merged:
        members = [order[i] for i in group]
        width = max(supps[b].shape[1] for b in members)
        out.append(
            jnp.concatenate(
                [
                    jnp.pad(supps[b], ((0, 0), (0, width - supps[b].shape[1])), constant_values=n)
                    for b in members
                ]
            )
        )
        perm += [np.arange(starts[b], starts[b + 1]) for b in members]
    return out, np.argsort(np.concatenate(perm))


def moments(
    circuit: IqpCircuit,
    params: jax.Array,
    supp: jax.Array,
    key: jax.Array,
    *,
    n_samples: int,
    chunk_size: int | None = None,
    path: str = "auto",
    variance_reduction: str = "none",
) -> tuple[jax.Array, jax.Array]:
    """:func:`moments_from_signs` with samples drawn from ``key``, for one support array."""
    st = draw_signs(key, n_samples, circuit.n_qubits, circuit.spin_sym, params.dtype)
    return moments_from_signs(
        circuit,
        params,
        st,
        [supp],
        chunk_size=chunk_size,
        path=path,
        variance_reduction=variance_reduction,
    )


def estimate_from_moments(s1: jax.Array, s2: jax.Array, n_samples: int) -> Estimate:
    mean = s1 / n_samples
    var = jnp.maximum(s2 - n_samples * mean * mean, 0.0) / (n_samples - 1)
    return Estimate(mean, jnp.sqrt(var / n_samples))


@functools.partial(
    jax.jit, static_argnames=("n_samples", "chunk_size", "path", "variance_reduction")
)
def _expval_jit(circuit, params, supp, key, n_samples, chunk_size, path, variance_reduction):
    s1, s2 = moments(
        circuit,
        params,
        supp,
        key,
        n_samples=n_samples,
        chunk_size=chunk_size,
        path=path,
        variance_reduction=variance_reduction,
    )
    return estimate_from_moments(s1, s2, n_samples)


def _expval(circuit, params, ops, key, n_samples, chunk_size, path, vr, readout_error) -> Estimate:
    circuit = _checks.check_circuit(circuit)
    readout = check_readout_error(readout_error, circuit.n_qubits)
    vr = check_variance_reduction(circuit, vr)
    params = _checks.check_params(circuit, params)
    key = _checks.check_key(key)
    n_samples = _checks.check_int("n_samples", n_samples, minimum=2)
    if chunk_size is not None:
        chunk_size = _checks.check_int("chunk_size", chunk_size, minimum=1)
    ops = _checks.check_binary_matrix("ops", ops, n_cols=circuit.n_qubits, what="operators")
    if isinstance(ops, jax.core.Tracer):
        supp = traced_supports(ops, circuit.n_qubits)
    else:
        supp = supports_from_ops(ops, circuit.n_qubits)
    est = _expval_jit(circuit, params, supp, key, n_samples, chunk_size, path, vr)
    if readout is None:
        return est
    c = readout_factors(readout, supp).astype(est.mean.dtype)
    return Estimate(c * est.mean, c * est.stderr)


def expval(
    circuit: IqpCircuit,
    params: Any,
    ops: Any,
    *,
    key: jax.Array,
    n_samples: int = 1000,
    chunk_size: int | None = None,
    variance_reduction: str = "none",
    readout_error: Any = None,
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
        variance_reduction: ``"none"``, ``"control"``, ``"antithetic"`` or
            ``"control+antithetic"`` (see :func:`moments_from_signs`): the same mean, a
            smaller standard error where pair angles are small beside single-qubit ones.
        readout_error: a flip probability in ``[0, 0.5)`` for every qubit, or one per qubit:
            estimate ``⟨Z_a⟩`` of the bits such a device reads out, ``Π_{i∈a}(1 − 2p_i)`` times
            the circuit's (exact factor, :mod:`iqpgen.noise`); None for none.

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
    return _expval(
        circuit, params, ops, key, n_samples, chunk_size, "auto", variance_reduction, readout_error
    )


def expval_pairwise(
    circuit: IqpCircuit,
    params: Any,
    ops: Any,
    *,
    key: jax.Array,
    n_samples: int = 1000,
    chunk_size: int | None = None,
    variance_reduction: str = "none",
    readout_error: Any = None,
) -> Estimate:
    """:func:`expval` forced onto the pairwise path (generators of weight ≤ 2 only).

    Example:
        >>> import jax, jax.numpy as jnp, iqpgen
        >>> c = iqpgen.IqpCircuit(2, [[[0]], [[0, 1]]])
        >>> iqpgen.expval_pairwise(c, jnp.array([0.2, 0.3]), [[0, 1]],
        ...                        key=jax.random.key(1)).mean.shape
        (1,)
    """
    return _expval(
        circuit,
        params,
        ops,
        key,
        n_samples,
        chunk_size,
        "pairwise",
        variance_reduction,
        readout_error,
    )


def expval_generic(
    circuit: IqpCircuit,
    params: Any,
    ops: Any,
    *,
    key: jax.Array,
    n_samples: int = 1000,
    chunk_size: int | None = None,
    variance_reduction: str = "none",
    readout_error: Any = None,
) -> Estimate:
    """:func:`expval` on the generic path (any generator weight).

    Example:
        >>> import jax, jax.numpy as jnp, iqpgen
        >>> c = iqpgen.IqpCircuit(3, [[[0, 1, 2]]])
        >>> iqpgen.expval_generic(c, jnp.array([0.2]), [[1, 0, 0]],
        ...                       key=jax.random.key(1)).mean.shape
        (1,)
    """
    return _expval(
        circuit,
        params,
        ops,
        key,
        n_samples,
        chunk_size,
        "generic",
        variance_reduction,
        readout_error,
    )


def expval_phase_table(
    circuit: IqpCircuit,
    params: Any,
    ops: Any,
    *,
    key: jax.Array,
    n_samples: int = 1000,
    chunk_size: int | None = None,
    variance_reduction: str = "none",
    readout_error: Any = None,
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
    return _expval(
        circuit, params, ops, key, n_samples, chunk_size, "table", variance_reduction, readout_error
    )
