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
from .circuit import IqpCircuit

__all__ = ["from_data", "normal", "default_scale"]


def default_scale(circuit: IqpCircuit) -> float:
    """Largest pair angle, in units of π, used when ``scale`` is not given.

    Chosen so that the pair angles' sum of squares is about ``n`` / (number of pair gates)
    per gate on average — small at large n — and at most 0.02 π.
    """
    n_pairs = int(np.sum(circuit.weights() == 2))
    if n_pairs == 0:
        return 0.0
    return min(0.02, math.sqrt(circuit.n_qubits / n_pairs) / math.pi)


def from_data(
    circuit: IqpCircuit,
    X: Any,
    *,
    scale: float | None = None,
    noise: float = 0.0,
    key: jax.Array | None = None,
) -> jax.Array:
    r"""Parameters that reproduce the data's marginals and lean pair gates on its covariance.

    * weight-1 generator on qubit ``i``: :math:`\theta = \arcsin\sqrt{\bar x_i}`, so that a
      circuit of single-qubit gates alone reproduces every marginal exactly;
    * weight-2 generator on ``(i, j)``: :math:`\theta = \mathrm{scale}\cdot\pi\cdot C_{ij}/\max|C|`,
      ``C`` the covariance of the ±1 data with zeroed diagonal;
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
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale >= 0:
        raise ValueError(f"scale must be a number >= 0, got {scale!r}.")
    if isinstance(noise, bool) or not isinstance(noise, int | float) or not noise >= 0:
        raise ValueError(f"noise must be a number >= 0, got {noise!r}.")
    n = circuit.n_qubits
    gens = np.asarray(circuit.generators)
    weights = circuit.weights()
    mean = X.mean(axis=0, dtype=np.float64)
    theta_gen = np.zeros(gens.shape[0])
    singles = weights == 1
    theta_gen[singles] = np.arcsin(np.sqrt(mean[gens[singles, 0]]))
    pairs = weights == 2
    if pairs.any() and scale > 0:
        s = 1.0 - 2.0 * X.astype(np.float32)
        C = np.cov(s, rowvar=False).reshape(n, n) if X.shape[0] > 1 else np.zeros((n, n))
        np.fill_diagonal(C, 0.0)
        cmax = np.abs(C).max()
        if cmax > 0:
            theta_gen[pairs] = scale * np.pi * C[gens[pairs, 0], gens[pairs, 1]] / cmax
    gate_of = np.asarray(circuit.gate_of)
    sums = np.bincount(gate_of, weights=theta_gen, minlength=circuit.n_params)
    counts = np.bincount(gate_of, minlength=circuit.n_params)
    params = jnp.asarray(sums / counts, jnp.float32)
    if noise > 0:
        key = _checks.check_key(key)
        params = params + noise * jax.random.normal(key, params.shape, params.dtype)
    return params


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
