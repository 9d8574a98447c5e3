"""OpenQASM 2.0: the circuit with ``qelib1.inc`` gates h, rz and cx only."""

from __future__ import annotations

from typing import Any

from .. import _checks
from ..circuit import IqpCircuit
from .sequence import concrete_params, generator_rows, ghz_pairs

__all__ = ["to_qasm"]


def _qasm_real(x: float) -> str:
    """Full-precision real literal valid in OpenQASM 2.0 (which requires a decimal point)."""
    text = repr(float(x))
    if "e" in text and "." not in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}.0e{exponent}"
    return text


def to_qasm(circuit: IqpCircuit, params: Any) -> str:
    """The circuit as an OpenQASM 2.0 program using only ``qelib1.inc`` gates h, rz and cx.

    The program declares ``qreg q[n]`` and ``creg c[n]``, applies the sequence described in
    the module docstring (``MultiRZ(2θ_k)`` as a CNOT ladder onto the generator's last qubit,
    ``rz(2θ_k)``, the ladder undone), and measures ``q[i] -> c[i]``. No custom gates are
    defined. Angles are written in full precision (``repr`` of the float), so the program
    reproduces the exact distribution of :func:`iqpgen.exact.probs` up to rounding.

    Args:
        circuit: the circuit structure.
        params: ``(n_params,)`` real angles, one per gate.

    Returns:
        The program text, one statement per line, ending with a newline.

    Raises:
        TypeError: ``circuit`` is not an :class:`~iqpgen.IqpCircuit` or ``params`` not an
            array of reals.
        ValueError: ``params`` has the wrong length or non-finite entries.

    Example:
        >>> import numpy as np, iqpgen
        >>> c = iqpgen.IqpCircuit(2, [[[0, 1]]])
        >>> print(iqpgen.export.to_qasm(c, np.array([0.25])))
        OPENQASM 2.0;
        include "qelib1.inc";
        // IQP circuit exported by iqpgen: n_qubits=2, n_params=1, spin_sym=False
        qreg q[2];
        creg c[2];
        h q[0];
        h q[1];
        cx q[0],q[1];
        rz(0.5) q[1];
        cx q[0],q[1];
        h q[0];
        h q[1];
        measure q[0] -> c[0];
        measure q[1] -> c[1];
        <BLANKLINE>
    """
    circuit = _checks.check_circuit(circuit)
    theta = concrete_params(circuit, params)
    n = circuit.n_qubits
    qubit = [f"q[{i}]" for i in range(n)]
    hadamards = [f"h {q};" for q in qubit]
    lines = [
        "OPENQASM 2.0;",
        'include "qelib1.inc";',
        f"// IQP circuit exported by iqpgen: n_qubits={n}, n_params={circuit.n_params}, "
        f"spin_sym={circuit.spin_sym}",
        f"qreg q[{n}];",
        f"creg c[{n}];",
    ]
    if circuit.spin_sym:
        lines.append(f"h {qubit[0]};")
        lines.extend(f"cx {qubit[a]},{qubit[b]};" for a, b in ghz_pairs(n))
    lines.extend(hadamards)
    angles = [f"rz({_qasm_real(2.0 * t)}) " for t in theta.tolist()]
    for k, gen in generator_rows(circuit):
        ladder = [f"cx {qubit[a]},{qubit[b]};" for a, b in zip(gen[:-1], gen[1:], strict=True)]
        lines.extend(ladder)
        lines.append(angles[k] + qubit[gen[-1]] + ";")
        lines.extend(reversed(ladder))
    lines.extend(hadamards)
    lines.extend(f"measure q[{i}] -> c[{i}];" for i in range(n))
    return "\n".join(lines) + "\n"
