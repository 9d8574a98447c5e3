"""Exact state-vector simulation of small IQP circuits (the test oracle).

The circuit is ``H^n · D · H^n`` on the initial state, with ``D`` diagonal:
``D|z⟩ = exp(-i Σ_k θ_k Σ_{g∈G_k} (-1)^{z·g}) |z⟩`` (``MultiRZ(2θ)`` on each generator).
Hadamard layers are fast Walsh–Hadamard transforms, so a state costs ``O(n 2^n)``.
Computed in float64 with NumPy on the host. Bitstring index convention as in PennyLane:
qubit 0 is the most significant bit.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from . import _checks
from .circuit import IqpCircuit

__all__ = ["MAX_QUBITS", "probs", "expval", "sample", "all_bitstrings", "walsh_hadamard"]

#: Largest circuit the exact simulator accepts (a 2^n float64 state).
MAX_QUBITS = 20


def _check_size(circuit: IqpCircuit) -> None:
    if circuit.n_qubits > MAX_QUBITS:
        raise ValueError(
            f"exact simulation needs 2^n amplitudes; n_qubits={circuit.n_qubits} exceeds "
            f"{MAX_QUBITS}. Use iqpgen.expval (Monte Carlo, any size) for expectation values, or "
            "iqpgen.export.qnode to sample on a quantum device or simulator."
        )


def all_bitstrings(n: int) -> np.ndarray:
    """All ``2^n`` bitstrings as rows of a ``uint8`` matrix, qubit 0 most significant."""
    idx = np.arange(2**n, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.uint8)


def walsh_hadamard(v: np.ndarray) -> np.ndarray:
    """Unnormalised Walsh–Hadamard transform ``(Hv)[a] = Σ_x (-1)^{a·x} v[x]`` (length 2^n)."""
    v = np.array(v, copy=True)
    n = int(np.log2(v.shape[0]))
    for q in range(n):
        v = v.reshape(2**q, 2, -1)
        v = np.stack([v[:, 0] + v[:, 1], v[:, 0] - v[:, 1]], axis=1)
    return v.reshape(-1)


def _phases(circuit: IqpCircuit, params: np.ndarray) -> np.ndarray:
    """``Σ_k θ_k Σ_g (-1)^{z·g}`` for every z (length 2^n)."""
    n = circuit.n_qubits
    z = all_bitstrings(n).astype(np.int8)
    zp = np.concatenate([z, np.zeros((z.shape[0], 1), np.int8)], axis=1)
    gens = np.asarray(circuit.generators)
    theta = params[np.asarray(circuit.gate_of)]
    out = np.zeros(2**n)
    for start in range(0, gens.shape[0], 256):
        g = gens[start : start + 256]
        parity = zp[:, g].sum(axis=2) % 2  # (2^n, chunk)
        out += (1 - 2 * parity) @ theta[start : start + 256]
    return out


def state(circuit: IqpCircuit, params: Any) -> np.ndarray:
    """The output state vector (complex128, length 2^n)."""
    circuit = _checks.check_circuit(circuit)
    _check_size(circuit)
    _checks.check_params(circuit, params)
    params = np.asarray(params, dtype=np.float64)  # the oracle keeps full precision
    n = circuit.n_qubits
    init = np.zeros(2**n, dtype=np.complex128)
    init[0] = 1.0
    if circuit.spin_sym:
        init[0] = init[-1] = 1 / np.sqrt(2)
    psi = walsh_hadamard(init) / np.sqrt(2**n)
    psi = psi * np.exp(-1j * _phases(circuit, params))
    return walsh_hadamard(psi) / np.sqrt(2**n)


def probs(circuit: IqpCircuit, params: Any) -> np.ndarray:
    """Output probabilities of all ``2^n`` bitstrings (qubit 0 most significant).

    Example:
        >>> import numpy as np, iqpgen
        >>> c = iqpgen.IqpCircuit(2, [[[0]], [[0, 1]]])
        >>> p = iqpgen.exact.probs(c, np.array([0.3, 0.2]))
        >>> p.shape, round(float(p.sum()), 12)
        ((4,), 1.0)
    """
    p = np.abs(state(circuit, params)) ** 2
    return p / p.sum()


def expval(circuit: IqpCircuit, params: Any, ops: Any) -> np.ndarray:
    """Exact ``⟨Z_a⟩`` for every row of the 0/1 matrix ``ops`` (float64, shape ``(n_ops,)``).

    Example:
        >>> import numpy as np, iqpgen
        >>> c = iqpgen.IqpCircuit(1, [[[0]]])
        >>> round(float(iqpgen.exact.expval(c, np.array([0.25]), [[1]])[0]), 6)  # cos(2θ)
        0.877583
    """
    circuit = _checks.check_circuit(circuit)
    ops = _checks.check_binary_matrix("ops", ops, n_cols=circuit.n_qubits, what="operators")
    table = walsh_hadamard(probs(circuit, params))
    n = circuit.n_qubits
    index = ops.astype(np.int64) @ (1 << np.arange(n - 1, -1, -1, dtype=np.int64))
    return table[index]


def sample(circuit: IqpCircuit, params: Any, n_samples: int, *, key: jax.Array) -> np.ndarray:
    """Exact samples from the circuit's output distribution, ``(n_samples, n)`` uint8.

    Example:
        >>> import jax, numpy as np, iqpgen
        >>> c = iqpgen.IqpCircuit(3, iqpgen.gates.local(3, 1))
        >>> iqpgen.exact.sample(c, np.ones(3) * 0.4, 5, key=jax.random.key(0)).shape
        (5, 3)
    """
    n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
    key = _checks.check_key(key)
    p = probs(circuit, params)
    idx = np.asarray(jax.random.choice(key, p.shape[0], (n_samples,), p=p))
    n = circuit.n_qubits
    return ((idx[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.uint8)
