"""Single-bit expectations and pair correlations of models and samples: exact where the model
has them, Monte Carlo for IQP circuits (never sampled), sample averages otherwise."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from ..circuit import IqpCircuit
from ..estimator import couplings, draw_signs, field_terms
from .common import draw_samples, model_kind

__all__ = ["correlations", "model_moments"]

# Elements of one (n_qubits x samples) temporary in the pair-correlator engine.
_PAIR_CHUNK_ELEMENTS = 1 << 22


def _pair_sums(circuit: IqpCircuit, params: jax.Array, st: jax.Array, mask: jax.Array):
    """``Σ_z cos t``, ``Σ_z (C Cᵀ − S Sᵀ)`` and ``Σ_z (sS (sC)ᵀ + sC (sS)ᵀ)`` for one chunk."""
    J, h = couplings(circuit, params)
    t = field_terms(circuit, params, J, h, st)  # (n, N): phase of Z_i
    C, S = jnp.cos(t) * mask, jnp.sin(t) * mask
    sC, sS = st * C, st * S
    return C.sum(axis=1), C @ C.T - S @ S.T, sS @ sC.T + sC @ sS.T


@functools.partial(jax.jit, static_argnames=("n_samples", "chunk"))
def _pair_moments_jit(circuit, params, key, *, n_samples: int, chunk: int):
    """Monte Carlo ``⟨Z_i⟩`` ``(n,)`` and ``⟨Z_i Z_j⟩`` ``(n, n)`` of a pairwise circuit.

    For ``a = {i, j}`` the phase is ``t_i + t_j − 2 J_ij s_i s_j`` with ``t = s ∘ (h + J s)``
    (DESIGN §3), so ``cos(phase) = cos(2J_ij) cos(t_i + t_j) + sin(2J_ij) s_i s_j sin(t_i + t_j)``
    and both terms expand into products of ``cos t`` and ``sin t``: every pair at once costs
    four ``n × n × N`` matrix products.
    """
    n = circuit.n_qubits
    st = draw_signs(key, n_samples, n, circuit.spin_sym, params.dtype)
    n_chunks = -(-n_samples // chunk)
    pad = n_chunks * chunk - n_samples
    st_p = jnp.concatenate([st, jnp.ones((n, pad), st.dtype)], axis=1)
    mask = (jnp.arange(n_chunks * chunk) < n_samples).astype(st.dtype)

    def body(acc, xs):
        st_c, m_c = xs
        out = _pair_sums(circuit, params, st_c, m_c)
        return jax.tree_util.tree_map(jnp.add, acc, out), None

    zero = (
        jnp.zeros((n,), st.dtype),
        jnp.zeros((n, n), st.dtype),
        jnp.zeros((n, n), st.dtype),
    )
    xs = (st_p.reshape(n, n_chunks, chunk).transpose(1, 0, 2), mask.reshape(n_chunks, chunk))
    (c1, e1, e2), _ = jax.lax.scan(body, zero, xs)
    two_j = 2.0 * couplings(circuit, params)[0]
    zz = (jnp.cos(two_j) * e1 + jnp.sin(two_j) * e2) / n_samples
    z = c1 / n_samples
    if circuit.spin_sym:
        z = jnp.zeros_like(z)
    return z, zz


def _all_pair_ops(n: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.triu_indices(n, 1)
    return i, j


def model_moments(
    source: Any, *, key: jax.Array | None, n_samples: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """``⟨Z_i⟩`` ``(n,)``, ``⟨Z_i Z_j⟩`` ``(n, n)`` (diagonal 1) and how they were obtained."""
    kind = model_kind(source)
    if kind == "samples":
        X = _checks.check_binary_matrix("samples", source, min_rows=1)
        return (*_sample_moments(X), "samples")
    if kind == "iqp":
        key = _checks.check_key(key)
        circuit, params = source.circuit_, source.params_
        n = circuit.n_qubits
        if circuit.is_pairwise:
            chunk = int(max(1, min(n_samples, _PAIR_CHUNK_ELEMENTS // n)))
            z, zz = _pair_moments_jit(circuit, params, key, n_samples=n_samples, chunk=chunk)
            z, zz = np.asarray(z, np.float64), np.asarray(zz, np.float64)
        else:
            z, zz = _generic_moments(circuit, params, key, n_samples)
        np.fill_diagonal(zz, 1.0)
        return z, zz, "expectation"
    if kind == "exact":
        fn, state = source._expval_supports()
        n = source.n_features_in_
        singles = jnp.arange(n, dtype=jnp.int32)[:, None]
        z = np.asarray(fn(state, singles), np.float64)
        i, j = _all_pair_ops(n)
        zz = np.eye(n)
        step = 1 << 18
        for s in range(0, len(i), step):
            supp = jnp.asarray(np.stack([i[s : s + step], j[s : s + step]], axis=1), jnp.int32)
            v = np.asarray(fn(state, supp), np.float64)
            zz[i[s : s + step], j[s : s + step]] = v
            zz[j[s : s + step], i[s : s + step]] = v
        return z, zz, "exact"
    X = draw_samples(source, n_samples, _checks.check_key(key))
    return (*_sample_moments(X), "samples")


def _sample_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    Z = 1.0 - 2.0 * X.astype(np.float64)
    return Z.mean(axis=0), (Z.T @ Z) / X.shape[0]


def _generic_moments(circuit: IqpCircuit, params, key, n_samples):
    from ..estimator import expval

    n = circuit.n_qubits
    i, j = _all_pair_ops(n)
    ops = np.zeros((n + len(i), n), np.uint8)
    ops[np.arange(n), np.arange(n)] = 1
    ops[n + np.arange(len(i)), i] = 1
    ops[n + np.arange(len(i)), j] = 1
    vals = []
    step = max(1, (1 << 22) // max(1, n * 8))
    for s in range(0, ops.shape[0], step):
        vals.append(
            np.asarray(
                expval(circuit, params, ops[s : s + step], key=key, n_samples=n_samples).mean
            )
        )
    v = np.concatenate(vals).astype(np.float64)
    zz = np.eye(n)
    zz[i, j] = zz[j, i] = v[n:]
    return v[:n], zz


def correlations(
    source: Any, *, key: jax.Array | None = None, n_samples: int = 10_000
) -> np.ndarray:
    r"""Pearson correlation matrix ``(n, n)`` of the bits of a model or of samples.

    From :math:`\langle Z_i\rangle` and :math:`\langle Z_iZ_j\rangle`:
    :math:`\rho_{ij} = (\langle Z_iZ_j\rangle - \langle Z_i\rangle\langle Z_j\rangle)
    / \sqrt{(1-\langle Z_i\rangle^2)(1-\langle Z_j\rangle^2)}` (the bits' and the spins'
    correlations are equal). Routes:

    * :class:`~iqpgen.IqpModel`: Monte Carlo estimates of every ``⟨Z_i⟩`` and ``⟨Z_iZ_j⟩`` from
      ``n_samples`` draws of ``z`` — unbiased for each expectation, the circuit is never
      sampled. For circuits with generators of weight ≤ 2 all pairs cost four
      ``n × n × n_samples`` matrix products (about 2 s at 1,000 qubits and 10,000 samples).
    * :class:`~iqpgen.baselines.IndependentBits` / :class:`~iqpgen.baselines.BitflipModel`:
      exact expectations.
    * a 0/1 matrix: its sample correlations; other models: ``n_samples`` of their samples.

    A bit that never varies has no correlation: its row and column are 0 (diagonal 1).

    Args:
        source: a fitted model or a 0/1 sample matrix.
        key: JAX key (required unless ``source`` is a matrix or has exact expectations).
        n_samples: Monte Carlo samples (IQP) or model samples (sampled models).

    Example:
        >>> import numpy as np
        >>> from iqpgen.evaluate import correlations
        >>> X = np.array([[0, 0, 1], [1, 1, 0], [0, 0, 0], [1, 1, 1]])
        >>> correlations(X).round(2).tolist()
        [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    n_samples = _checks.check_int("n_samples", n_samples, minimum=2)
    z, zz, _ = model_moments(source, key=key, n_samples=n_samples)
    var = np.clip(1.0 - z * z, 0.0, None)
    cov = zz - np.outer(z, z)
    denom = np.sqrt(np.outer(var, var))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(denom > 1e-12, cov / np.where(denom > 0, denom, 1.0), 0.0)
    corr = np.clip(corr, -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)
    return corr
