"""Cost models that choose between the estimator's code paths and between exact and Monte
Carlo training.

Each function estimates the time of one value-and-gradient step in nanoseconds on one core of
the benchmark CPU (2-core AMD EPYC; constants fitted to ``benchmarks/bench_exact.py`` at 8–24
qubits). Only their ratios matter: they pick the cheapest way to compute the same numbers.
"""

from __future__ import annotations

from .circuit import IqpCircuit
from .walsh import MAX_TABLE_QUBITS

__all__ = ["path_costs", "choose_path", "dense_pairs", "exact_step_cost", "BUTTERFLY_COST"]

#: Nanoseconds per butterfly (one entry of one pass) of a float32 Walsh–Hadamard transform.
BUTTERFLY_COST = 0.45
# Per (operator, sample) element on every path (cosine, sums); per element and generator
# qubit on the generic path (its parity contraction); per element on the pairwise path and per
# multiply-add of its dense n x n product; per element gathered from (and, backward,
# scattered into) a phase table that fits the cache. Beyond 2^19 entries every doubling of
# the table doubles the gathers' cost (cache misses: 48 ns an element at 22 qubits, 215 ns at
# 24), and transforms beyond 2^20 entries cost 7% more per qubit.
_ELEMENT = 2.5
_PARITY = 0.004
_PAIRWISE = 10.0
_DENSE = 0.05
_GATHER = 5.5
# Per generator and sample, in multiply-adds of the dense product: the pairwise path's field
# ``J s`` scattered over a sparse circuit's generators instead of an n x n product.
_SCATTER = 20
_GATHER_CACHE_QUBITS = 19
_TRANSFORM_CACHE_QUBITS = 20
_TRANSFORM_SPILL = 0.07
# Transforms of 2^n entries in one value-and-gradient step of the exact MMD² (counted from its
# timing at 16-22 qubits), and the passes over 2^n entries each bandwidth adds.
_EXACT_TRANSFORMS = 12
_SIGMA_PASSES = 8


def path_costs(circuit: IqpCircuit, n_ops: int, n_samples: int) -> dict[str, float]:
    """Estimated step time on each Monte Carlo path that applies (``"generic"`` always,
    ``"pairwise"`` for weights ≤ 2, ``"table"`` up to 30 qubits). ``n_ops``: all operators
    evaluated on the ``n_samples`` samples.

    Example:
        >>> import iqpgen
        >>> costs = iqpgen.costs.path_costs(iqpgen.gates.local_circuit(16, 6), 2000, 1000)
        >>> min(costs, key=costs.get)  # 14,892 gates: the phase table
        'table'
    """
    n, g, w = circuit.n_qubits, circuit.n_generators, circuit.max_weight
    elements = n_ops * n_samples
    costs = {"generic": elements * (_ELEMENT + _PARITY * g * w)}
    if circuit.is_pairwise:
        field = n * n if dense_pairs(circuit) else _SCATTER * g
        costs["pairwise"] = elements * _PAIRWISE + _DENSE * n_samples * field
    if n <= MAX_TABLE_QUBITS:
        # Gathers slow down once the table leaves the cache; two transforms (value, gradient).
        spill = 2.0 ** max(0, n - _GATHER_CACHE_QUBITS)
        costs["table"] = elements * _GATHER * spill + 2 * _butterflies(n) * n
    return costs


def dense_pairs(circuit: IqpCircuit) -> bool:
    """Whether the pairwise path forms ``J s`` as a dense ``n × n`` product (True) or scatters
    it over the generators (False, for circuits with fewer than ``n² / 20`` generators)."""
    return _SCATTER * circuit.n_generators > circuit.n_qubits**2


def _butterflies(n: int) -> float:
    """Time of one pass of a transform over 2^n entries."""
    return BUTTERFLY_COST * 2**n * (1 + _TRANSFORM_SPILL * max(0, n - _TRANSFORM_CACHE_QUBITS))


def choose_path(circuit: IqpCircuit, n_ops: int, n_samples: int) -> str:
    """The cheapest path of :func:`path_costs` (what the estimator's ``path="auto"`` runs)."""
    costs = path_costs(circuit, n_ops, n_samples)
    return min(costs, key=costs.get)


def exact_step_cost(n_qubits: int, n_sigmas: int = 1) -> float:
    """Estimated step time of the exact MMD² (:func:`iqpgen.mmd.exact`) at ``n_sigmas``
    bandwidths: a dozen transforms of ``2^n`` entries, whatever the number of gates.

    Example:
        >>> import iqpgen
        >>> iqpgen.costs.exact_step_cost(16, 2) < 1e7  # under 10 ms
        True
    """
    return _butterflies(n_qubits) * (_EXACT_TRANSFORMS * n_qubits + _SIGMA_PASSES * n_sigmas)
