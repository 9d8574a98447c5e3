"""Exact state-vector simulation of small IQP circuits, in JAX (DESIGN §8).

The circuit is ``H^n · D · H^n`` on the initial state, with the diagonal
``D|z⟩ = exp(−i Θ̂(z)/2)`` and ``Θ̂`` the phase table of :mod:`iqpgen.walsh` (one transform of
the generator angles, whatever the number or weight of the gates). The Hadamard layers are
Walsh–Hadamard transforms, so the state costs ``O(n 2^n)``: real and imaginary parts are two
real transforms, the probabilities their squares, and every ``⟨Z_a⟩`` one more transform.

Everything is jit-compiled and differentiable in the parameters, on any JAX backend: float32
by default, float64 (complex128 states) when the parameters are float64 and
``jax_enable_x64`` is on. The size limit is a memory budget (:func:`max_qubits`), not a fixed
number of qubits. Bitstring index convention as in PennyLane: qubit 0 is the most significant
bit.
"""

from __future__ import annotations

import functools
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks
from .circuit import IqpCircuit
from .noise import check_readout_error, readout_factors
from .walsh import MAX_TABLE_QUBITS, phase_table, support_masks, walsh_hadamard

__all__ = [
    "state",
    "probs",
    "expval",
    "expval_table",
    "sample",
    "max_qubits",
    "memory_budget",
    "check_size",
    "all_bitstrings",
    "walsh_hadamard",
]

# Tables of 2^n numbers alive at once in the largest computation, the value and gradient of
# the exact MMD² at three bandwidths: XLA's memory analysis gives 17 temporary float tables at
# 16 and 20 qubits, plus the int32 data table; with a margin.
_LIVE_TABLES = 24
# Fraction of a device's memory (or of a CPU host's physical memory) the tables may use.
_MEMORY_FRACTION = 0.5


def memory_budget(backend: str | None = None) -> int:
    """Bytes the exact engine may use on ``backend``'s first device (default backend if None):
    half of an accelerator's memory limit, or half of the host's physical memory on CPU."""
    device = jax.devices(backend)[0]
    limit = None
    if device.platform != "cpu":
        stats = device.memory_stats() or {}
        limit = stats.get("bytes_limit")
    if limit is None:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return int(_MEMORY_FRACTION * limit)


def max_qubits(dtype: Any = jnp.float32, *, backend: str | None = None) -> int:
    """Largest circuit the exact engine accepts within :func:`memory_budget` (at most 30).

    Example:
        >>> import iqpgen
        >>> iqpgen.exact.max_qubits() >= 20
        True
    """
    item = jnp.dtype(dtype).itemsize
    budget = memory_budget(backend)
    n = 1
    while n < MAX_TABLE_QUBITS and _LIVE_TABLES * item * 2 ** (n + 1) <= budget:
        n += 1
    return n


def check_size(n_qubits: int, dtype: Any = jnp.float32, *, what: str = "exact simulation"):
    """Raise a ``ValueError`` naming the budget and the alternatives when ``n_qubits`` exceeds
    :func:`max_qubits`."""
    limit = max_qubits(dtype)
    if n_qubits > limit:
        need = _LIVE_TABLES * jnp.dtype(dtype).itemsize * 2**n_qubits
        raise ValueError(
            f"{what} needs tables of 2^n numbers: about {need / 2**30:.3g} GiB at "
            f"n_qubits={n_qubits}, over this device's budget of {memory_budget() / 2**30:.3g} GiB "
            f"(at most {limit} qubits in {jnp.dtype(dtype).name}). Use iqpgen.expval or "
            "iqpgen.mmd_loss (Monte Carlo, any size) for expectation values and losses, or "
            "iqpgen.export.qnode to sample on a quantum device or simulator."
        )


def all_bitstrings(n: int) -> np.ndarray:
    """All ``2^n`` bitstrings as rows of a ``uint8`` matrix, qubit 0 most significant."""
    idx = np.arange(2**n, dtype=np.int64)
    return ((idx[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.uint8)


def _parts(circuit: IqpCircuit, params: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Real and imaginary parts of the output state."""
    n = circuit.n_qubits
    half = 0.5 * phase_table(circuit, params)
    dim = 2**n
    # Amplitudes after the first Hadamard layer: uniform, or on even weights with spin_sym.
    if circuit.spin_sym:
        z = jnp.arange(dim, dtype=jnp.int32)
        even = (jax.lax.population_count(z) & 1) == 0
        amp = jnp.where(even, np.sqrt(2.0 / dim), 0.0).astype(params.dtype)
    else:
        amp = jnp.asarray(1.0 / np.sqrt(dim), params.dtype)
    scale = np.float64(1.0 / np.sqrt(dim)).astype(params.dtype)
    re = walsh_hadamard(amp * jnp.cos(half)) * scale
    im = walsh_hadamard(-amp * jnp.sin(half)) * scale
    return re, im


@jax.jit
def _state_jit(circuit, params):
    re, im = _parts(circuit, params)
    return jax.lax.complex(re, im)


def probs_of(circuit: IqpCircuit, params: jax.Array) -> jax.Array:
    """:func:`probs` without validation: the jit-able, differentiable core."""
    re, im = _parts(circuit, params)
    return re * re + im * im


def expval_table_of(circuit: IqpCircuit, params: jax.Array) -> jax.Array:
    """:func:`expval_table` without validation: the jit-able, differentiable core."""
    return walsh_hadamard(probs_of(circuit, params))


_probs_jit = jax.jit(probs_of)
_table_jit = jax.jit(expval_table_of)


def _checked(circuit: Any, params: Any) -> tuple[IqpCircuit, jax.Array]:
    circuit = _checks.check_circuit(circuit)
    params = _checks.check_params(circuit, params)
    check_size(circuit.n_qubits, params.dtype)
    return circuit, params


def state(circuit: IqpCircuit, params: Any) -> jax.Array:
    """The output state vector, length ``2^n`` (complex64, or complex128 for float64 params).

    Example:
        >>> import numpy as np, iqpgen
        >>> c = iqpgen.IqpCircuit(1, [[[0]]])
        >>> psi = iqpgen.exact.state(c, np.array([np.pi / 4]))  # e^{-iθX}|0⟩
        >>> np.round(np.asarray(psi), 4) + 0  # + 0: no signed zeros
        array([0.7071+0.j    , 0.    -0.7071j], dtype=complex64)
    """
    return _state_jit(*_checked(circuit, params))


def probs(circuit: IqpCircuit, params: Any) -> jax.Array:
    """Output probabilities of all ``2^n`` bitstrings (qubit 0 most significant).

    Example:
        >>> import numpy as np, iqpgen
        >>> c = iqpgen.IqpCircuit(2, [[[0]], [[0, 1]]])
        >>> p = iqpgen.exact.probs(c, np.array([0.3, 0.2]))
        >>> p.shape, round(float(p.sum()), 6)
        ((4,), 1.0)
    """
    return _probs_jit(*_checked(circuit, params))


def expval_table(circuit: IqpCircuit, params: Any) -> jax.Array:
    """``⟨Z_a⟩`` for every operator ``a`` at once, length ``2^n`` (index as for bitstrings).

    Example:
        >>> import numpy as np, iqpgen
        >>> c = iqpgen.IqpCircuit(2, [[[0]]])
        >>> t = iqpgen.exact.expval_table(c, np.array([0.5]))  # a = 00, 01, 10, 11
        >>> np.round(np.asarray(t), 6)  # 1, Z_1, Z_0, Z_0 Z_1
        array([1.      , 1.      , 0.540302, 0.540302], dtype=float32)
    """
    return _table_jit(*_checked(circuit, params))


@jax.jit
def _expval_jit(circuit, params, masks):
    return expval_table_of(circuit, params)[masks]


def expval(circuit: IqpCircuit, params: Any, ops: Any, *, readout_error: Any = None) -> jax.Array:
    """Exact ``⟨Z_a⟩`` for every row of the 0/1 matrix ``ops``, shape ``(n_ops,)``.

    ``readout_error``: a flip probability in ``[0, 0.5)`` for every qubit, or one per qubit;
    the values are then those of the bits such a device reads out (:mod:`iqpgen.noise`).

    Example:
        >>> import numpy as np, iqpgen
        >>> c = iqpgen.IqpCircuit(1, [[[0]]])
        >>> round(float(iqpgen.exact.expval(c, np.array([0.25]), [[1]])[0]), 5)  # cos(2θ)
        0.87758
    """
    circuit, params = _checked(circuit, params)
    n = circuit.n_qubits
    ops = _checks.check_binary_matrix("ops", ops, n_cols=n, what="operators")
    readout = check_readout_error(readout_error, n)
    cols = jnp.where(jnp.asarray(ops) > 0, jnp.arange(n, dtype=jnp.int32), n)
    values = _expval_jit(circuit, params, support_masks(cols, n))
    if readout is None:
        return values
    return values * readout_factors(readout, cols).astype(values.dtype)


@functools.partial(jax.jit, static_argnames=("n_samples",))
def _sample_jit(circuit, params, key, n_samples):
    # Qubit by qubit from the pyramid of marginal sums (pairwise sums keep float32 accurate,
    # where one cumulative sum over 2^n entries would not): step q picks bit q given bits < q.
    n = circuit.n_qubits
    levels = [probs_of(circuit, params)]
    for _ in range(n - 1):
        levels.append(levels[-1].reshape(-1, 2).sum(axis=1))
    levels = levels[::-1]  # levels[q] has 2^(q+1) entries: marginals of bits 0..q
    u = jax.random.uniform(key, (n, n_samples), levels[0].dtype)
    node = jnp.zeros((n_samples,), jnp.int32)
    bits = []
    for q in range(n):
        left, right = levels[q][2 * node], levels[q][2 * node + 1]
        bit = (u[q] * (left + right) >= left).astype(jnp.int32)
        node = 2 * node + bit
        bits.append(bit)
    return jnp.stack(bits, axis=1).astype(jnp.uint8)


def sample(circuit: IqpCircuit, params: Any, n_samples: int, *, key: jax.Array) -> jax.Array:
    """Exact samples from the circuit's output distribution, ``(n_samples, n)`` uint8.

    Example:
        >>> import jax, numpy as np, iqpgen
        >>> c = iqpgen.IqpCircuit(3, iqpgen.gates.local(3, 1))
        >>> iqpgen.exact.sample(c, np.ones(3) * 0.4, 5, key=jax.random.key(0)).shape
        (5, 3)
    """
    n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
    key = _checks.check_key(key)
    return _sample_jit(*_checked(circuit, params), key, n_samples)


def __getattr__(name: str):
    if name == "MAX_QUBITS":
        import warnings

        warnings.warn(
            "iqpgen.exact.MAX_QUBITS is deprecated: the limit is a memory budget now; use "
            "iqpgen.exact.max_qubits().",
            DeprecationWarning,
            stacklevel=2,
        )
        return max_qubits()
    raise AttributeError(f"module 'iqpgen.exact' has no attribute {name!r}")
