"""Deploy a trained IQP circuit: PennyLane quantum functions and QNodes, OpenQASM 2.0, resources.

A trained model is ``(circuit, params)``. The exported circuit prepares ``|0…0⟩`` (or
``(|0…0⟩+|1…1⟩)/√2`` with ``spin_sym``), applies a Hadamard on every qubit,
``MultiRZ(2θ_k)`` on the qubits of every generator of gate ``k``, Hadamards again, and
measures every qubit in Z. Its exact output distribution equals :func:`iqpgen.exact.probs`
(qubit ``i`` of the circuit is wire ``wires[i]``, qubit 0 the most significant bit).

Decomposed to the gate set {h, rz, cx} (the sequence :func:`to_qasm` writes and
:func:`resources` counts), ``MultiRZ(φ)`` on qubits ``(q_1, …, q_k)`` is the CNOT ladder
``cx q_1,q_2; …; cx q_{k-1},q_k``, then ``rz(φ) q_k``, then the ladder undone; the
``spin_sym`` preparation is ``h q_0`` followed by a doubling tree of ``n - 1`` CNOTs
(depth ``⌈log2 n⌉``), which makes the GHZ state ``(|0…0⟩+|1…1⟩)/√2``.

PennyLane is imported only when a function here that needs it is called.
"""

from .counts import Resources, resources
from .pennylane import qnode, to_pennylane
from .qasm import to_qasm
from .qiskit import AerRun, Routing, routing, sample_aer, to_qiskit, transpile

__all__ = [
    "Resources",
    "qnode",
    "resources",
    "to_pennylane",
    "to_qasm",
    "to_qiskit",
    "transpile",
    "routing",
    "Routing",
    "sample_aer",
    "AerRun",
]
