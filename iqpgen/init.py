"""Initial parameters: data-dependent (the default for training) and random.

Starting near the data's marginals keeps gradients away from barren plateaus at large n.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks
from .circuit import IqpCircuit, pair_offset

__all__ = ["from_data", "from_moments", "normal", "default_scale"]


def default_scale(circuit: IqpCircuit) -> float:
    """Largest pair angle, in units of π, used when ``scale`` is not given.

    Chosen so that the pair angles' sum of squares is about ``n`` / (number of pair gates)
    per gate on average — small at large n — and at most 0.02 π.
    """
    n_pairs = int(np.sum(circuit.weights() == 2))
    if n_pairs == 0:
        return 0.0
    return min(0.02, math.sqrt(circuit.n_qubits / n_pairs) / math.pi)


def _pair_means(s: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Mean over the rows of ``s[:, i] * s[:, j]`` for each pair, in bounded memory.

    Rows of the ``n × n`` product are taken a block at a time: one matrix product for a block
    that holds many of the pairs, a gather of the pairs' columns otherwise (no ``n × n``
    matrix for sparse pair sets).
    """
    rows, n = s.shape
    out = np.empty(i.size)
    block = max(1, (1 << 23) // n)
    chunk = max(1, (1 << 23) // rows)
    order = np.argsort(i, kind="stable")
    edges = np.searchsorted(i[order], np.arange(0, n + block, block))
    for r0, a, b in zip(range(0, n, block), edges[:-1], edges[1:], strict=True):
        idx = order[a:b]
        if 64 * idx.size > min(block, n - r0) * n:  # a gathered pair costs ~64 products
            out[idx] = (s[:, r0 : r0 + block].T @ s)[i[idx] - r0, j[idx]]
            continue
        for c in range(0, idx.size, chunk):
            k = idx[c : c + chunk]
            out[k] = np.einsum("ri,ri->i", s[:, i[k]], s[:, j[k]])
    return out / rows


def _singles(circuit: IqpCircuit) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the weight-1 generators and their qubits."""
    if circuit.is_all_pairs:
        return np.arange(circuit.n_qubits), np.arange(circuit.n_qubits)
    rows = np.flatnonzero(circuit.weights() == 1)
    return rows, np.asarray(circuit.generators)[rows, 0]


def _pair_blocks(circuit: IqpCircuit, s: np.ndarray):
    """``(rows, i, j, c)`` per block of the weight-2 generators: their rows (a slice or an
    index array), qubits ``i``, ``j`` and the mean over the data of ``s_i s_j``. The all-pairs
    layout is walked a block of qubit rows at a time (its pairs are contiguous, row-major),
    without index arrays for the whole circuit."""
    if not circuit.is_all_pairs:
        rows = np.flatnonzero(circuit.weights() == 2)
        if rows.size:
            gens = np.asarray(circuit.generators)
            i, j = gens[rows, 0], gens[rows, 1]
            yield rows, i, j, _pair_means(s, i, j)
        return
    n, m = circuit.n_qubits, s.shape[0]
    block = max(1, (1 << 22) // n)
    for r0 in range(0, n - 1, block):
        r1 = min(n - 1, r0 + block)
        upper = np.arange(n)[None, :] > np.arange(r0, r1)[:, None]
        i, j = np.nonzero(upper)
        start = n + int(pair_offset(r0, n))
        yield slice(start, start + i.size), i + r0, j, ((s[:, r0:r1].T @ s) / m)[upper]


def _per_gate(circuit: IqpCircuit, theta_gen: np.ndarray) -> jax.Array:
    """The mean angle of each gate's generators, float32."""
    if circuit.is_all_pairs:  # one generator per gate, in order
        return jnp.asarray(theta_gen, jnp.float32)
    gate_of = np.asarray(circuit.gate_of)
    sums = np.bincount(gate_of, weights=theta_gen, minlength=circuit.n_params)
    counts = np.bincount(gate_of, minlength=circuit.n_params)
    return jnp.asarray(sums / counts, jnp.float32)


def from_data(
    circuit: IqpCircuit,
    X: Any,
    *,
    scale: float | None = None,
    noise: float = 0.0,
    key: jax.Array | None = None,
) -> jax.Array:
    r"""Parameters with the data's marginals (exact without pair gates) and small pair angles.

    * weight-1 generator on qubit ``i``: :math:`\theta = \arcsin\sqrt{\bar x_i}`, so that a
      circuit of single-qubit gates alone reproduces every marginal exactly;
    * weight-2 generator on ``(i, j)``: :math:`\theta = \mathrm{scale}\cdot\pi\cdot C_{ij}/\max|C|`,
      ``C`` the covariance of the ±1 data, the maximum taken over the circuit's pairs
      (no ``n × n`` matrix for sparse circuits). These angles only move the
      start away from zero, where pair gradients vanish: they lower every ``|⟨Z_i⟩|`` by
      ``Π_k cos 2θ_ik`` and their sign has no effect (:func:`from_moments` accounts for both);
    * heavier generators: 0.

    A gate with several generators gets the mean of their angles. ``noise`` adds Gaussian
    noise of that standard deviation to every angle (then ``key`` is required).

    Example:
        >>> import numpy as np, iqpgen
        >>> c = iqpgen.IqpCircuit(2, iqpgen.gates.local(2, 2))
        >>> X = np.array([[0, 0], [1, 1], [1, 1], [0, 1]])
        >>> iqpgen.init.from_data(c, X).shape
        (3,)
    """
    circuit = _checks.check_circuit(circuit)
    X = _checks.check_binary_matrix("X", X, n_cols=circuit.n_qubits, min_rows=2)
    if scale is None:
        scale = default_scale(circuit)
    scale = _checks.check_number("scale", scale, low=0.0, low_open=False)
    noise = _checks.check_number("noise", noise, low=0.0, low_open=False)
    mean = X.mean(axis=0, dtype=np.float64)
    theta_gen = np.zeros(circuit.n_generators)
    rows, q = _singles(circuit)
    theta_gen[rows] = np.arcsin(np.sqrt(mean[q]))
    if scale > 0:
        s = 1.0 - 2.0 * X.astype(np.float64)
        mu, n_rows = s.mean(axis=0), s.shape[0]
        pair_rows, cmax = [], 0.0
        for rows, i, j, c in _pair_blocks(circuit, s):
            C = (c - mu[i] * mu[j]) * n_rows / (n_rows - 1)
            theta_gen[rows] = C
            pair_rows.append(rows)
            cmax = max(cmax, float(np.abs(C).max(initial=0.0)))
        if cmax > 0:
            for rows in pair_rows:
                theta_gen[rows] *= scale * np.pi / cmax
    params = _per_gate(circuit, theta_gen)
    if noise > 0:
        key = _checks.check_key(key)
        params = params + noise * jax.random.normal(key, params.shape, params.dtype)
    return params


def from_moments(
    circuit: IqpCircuit, X: Any, *, shrink: float = 1.0, threshold: float = 3.0
) -> jax.Array:
    r"""Parameters whose circuit reproduces the data's ``⟨Z_i⟩`` and, where it can, ``⟨Z_iZ_j⟩``.

    For a circuit of single and pair gates (one generator each) started in ``|0…0⟩``,

    .. math::

        \langle Z_i\rangle = \cos 2\theta_i \prod_k \cos 2\theta_{ik},\qquad
        \langle Z_iZ_j\rangle = \frac{\langle Z_i\rangle\langle Z_j\rangle}{\cos^2 2\theta_{ij}}
        + (\text{terms with } \sin 2\theta_{ik}\sin 2\theta_{jk}).

    The first identity is exact. The second is exact when no third qubit ``k`` shares pair
    gates with both ``i`` and ``j`` (a triangle-free pair graph: chains, cycles longer than 3,
    square lattices) and holds to leading order otherwise. With ``m`` and ``c`` the data's
    ``⟨Z_i⟩`` and ``⟨Z_iZ_j⟩``:

    * pair generator ``(i, j)``: :math:`\cos^2 2\theta_{ij} = m_im_j/c_{ij}` when that ratio
      lies in ``(0, 1)`` and ``|c_ij| − |m_im_j|`` exceeds ``threshold`` standard errors of
      ``c_ij``; otherwise 0 (a pair gate can only raise ``|⟨Z_iZ_j⟩|`` above
      ``|⟨Z_i⟩⟨Z_j⟩|``, whatever the sign of its angle). Then multiplied by ``shrink``;
    * single generator on ``i``: :math:`\cos 2\theta_i = m_i / \prod_k\cos 2\theta_{ik}`
      (clipped to [−1, 1]), so the marginals stay exact whatever the pair angles unless the
      clip binds (strong correlations with weak magnetisation; ``shrink`` helps);
    * heavier generators: 0.

    ``threshold`` (3 by default) and ``shrink < 1`` keep sampling noise in the data's
    correlations out of the circuit: with all pairs at 1,000 qubits and no threshold, half of
    the 500,000 pairs would get an angle from noise alone. A gate with several generators gets
    the mean of their angles.

    Example:
        >>> import numpy as np, iqpgen
        >>> c = iqpgen.IqpCircuit(2, iqpgen.gates.local(2, 2))
        >>> X = np.array([[0, 0]] * 5 + [[0, 1], [1, 0]] + [[1, 1]] * 3)
        >>> p = iqpgen.init.from_moments(c, X, threshold=0)
        >>> np.round(np.asarray(iqpgen.exact.expval(c, p, [[1, 0], [0, 1], [1, 1]])), 6)
        array([0.2, 0.2, 0.6], dtype=float32)
    """
    circuit = _checks.check_circuit(circuit)
    X = _checks.check_binary_matrix("X", X, n_cols=circuit.n_qubits, min_rows=2)
    shrink = _checks.check_number("shrink", shrink, low=0.0, low_open=False)
    threshold = _checks.check_number("threshold", threshold, low=0.0, low_open=False)
    n = circuit.n_qubits
    s = 1.0 - 2.0 * X.astype(np.float64)
    m = s.mean(axis=0)
    theta_gen = np.zeros(circuit.n_generators)
    log_cos = np.zeros(n + 1)  # Σ_k log cos 2θ_ik per qubit (slot n collects padding)
    for rows, i, j, c in _pair_blocks(circuit, s):
        mm = m[i] * m[j]
        se = np.sqrt(np.maximum(1.0 - c * c, 0.0) / s.shape[0])
        ok = (mm * c > 0) & (np.abs(c) - np.abs(mm) > threshold * se) & (np.abs(c) > np.abs(mm))
        ratio = np.where(ok, mm / np.where(ok, c, 1.0), 1.0)
        theta = shrink * 0.5 * np.arccos(np.sqrt(np.clip(ratio, 0.0, 1.0)))
        theta_gen[rows] = theta
        lc = np.log(np.maximum(np.abs(np.cos(2.0 * theta)), 1e-300))
        log_cos += np.bincount(i, weights=lc, minlength=n + 1) + np.bincount(
            j, weights=lc, minlength=n + 1
        )
    rows, q = _singles(circuit)
    theta_gen[rows] = 0.5 * np.arccos(np.clip(m[q] * np.exp(-log_cos[q]), -1.0, 1.0))
    return _per_gate(circuit, theta_gen)


def normal(circuit: IqpCircuit, *, key: jax.Array, std: float) -> jax.Array:
    """Independent Gaussian angles with standard deviation ``std``.

    Example:
        >>> import jax, iqpgen
        >>> c = iqpgen.IqpCircuit(3, iqpgen.gates.local(3, 2))
        >>> iqpgen.init.normal(c, key=jax.random.key(0), std=0.1).shape
        (6,)
    """
    circuit = _checks.check_circuit(circuit)
    key = _checks.check_key(key)
    if isinstance(std, bool) or not isinstance(std, int | float) or not std >= 0:
        raise ValueError(f"std must be a number >= 0, got {std!r}.")
    return std * jax.random.normal(key, (circuit.n_params,), jnp.float32)
