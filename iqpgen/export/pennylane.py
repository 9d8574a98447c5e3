"""PennyLane: the circuit as a quantum function, and as a QNode on any PennyLane device.

PennyLane is imported only when a function here runs.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from .. import _checks
from ..circuit import IqpCircuit
from .sequence import check_wires, concrete_params, generator_rows, ghz_pairs

__all__ = ["qnode", "to_pennylane"]

# pip package that provides the PennyLane devices whose names start with each prefix.
_PLUGINS = {
    "qiskit.": "pennylane-qiskit",
    "braket.": "amazon-braket-pennylane-plugin",
    "cirq.": "pennylane-cirq",
    "lightning.gpu": "pennylane-lightning-gpu",
    "lightning.kokkos": "pennylane-lightning-kokkos",
    "ionq.": "pennylane-ionq",
    "qulacs.": "pennylane-qulacs",
    "qrack.": "pennylane-qrack",
    "quantinuum.": "pennylane-quantinuum",
    "aqt.": "pennylane-aqt",
    "rigetti.": "pennylane-rigetti",
}


def native_iqp() -> bool:
    """True when the installed PennyLane has ``qml.IQP(weights, num_wires, pattern, spin_sym)``."""
    import pennylane as qml

    template = getattr(qml, "IQP", None)
    if template is None:
        return False
    try:
        names = inspect.signature(template.__init__).parameters
    except (TypeError, ValueError):
        return False
    return {"weights", "num_wires", "pattern", "spin_sym"} <= set(names)


def to_pennylane(circuit: IqpCircuit, params: Any, *, wires: Any = None) -> Callable[[], None]:
    """The circuit as a PennyLane quantum function with no arguments.

    Calling the returned function inside a QNode (or any PennyLane queuing context) queues the
    circuit; it returns nothing, so add your own measurements. With the default wires and a
    PennyLane whose ``qml.IQP`` takes ``(weights, num_wires, pattern, spin_sym)``, it queues
    ``qml.IQP``; otherwise it queues the explicit sequence: (for ``spin_sym``) ``H`` on the
    first wire and a tree of CNOTs, then ``H`` on every wire, ``MultiRZ(2θ_k)`` on each
    generator of gate ``k``, ``H`` on every wire. Both prepare the same state. The MultiRZ
    wires are listed last qubit first, so that PennyLane's own decomposition of each one is
    exactly the CNOT ladder that :func:`to_qasm` writes and :func:`resources` counts.

    Args:
        circuit: the circuit structure.
        params: ``(n_params,)`` real angles, one per gate; copied as NumPy float64.
        wires: PennyLane wire of each qubit (``wires[i]`` for qubit ``i``), ``n_qubits``
            distinct labels; default ``range(n_qubits)``.

    Returns:
        A function of no arguments that queues the circuit's operations.

    Raises:
        TypeError: ``circuit`` is not an :class:`~iqpgen.IqpCircuit`, ``params`` not an array
            of reals, or ``wires`` not a sequence of hashable labels.
        ValueError: ``params`` has the wrong length or non-finite entries, or ``wires`` has
            the wrong length or repeats a label.

    Example:
        >>> import numpy as np, pennylane as qml, iqpgen
        >>> from iqpgen.export import to_pennylane
        >>> c = iqpgen.IqpCircuit(2, [[[0, 1]], [[0], [1]]])
        >>> body = to_pennylane(c, np.array([0.3, 0.1]))
        >>> @qml.qnode(qml.device("default.qubit", wires=2))
        ... def run():
        ...     body()
        ...     return qml.probs()
        >>> bool(np.allclose(run(), iqpgen.exact.probs(c, np.array([0.3, 0.1]))))
        True
    """
    circuit = _checks.check_circuit(circuit)
    theta = concrete_params(circuit, params)
    wires = check_wires(circuit, wires)
    n = circuit.n_qubits
    spin_sym = circuit.spin_sym

    if wires == list(range(n)) and native_iqp():
        pattern = [[list(gen) for gen in gate] for gate in circuit.gates]

        def iqp_circuit() -> None:
            import pennylane as qml

            qml.IQP(weights=theta.copy(), num_wires=n, pattern=pattern, spin_sym=spin_sym)

        return iqp_circuit

    diagonal = [
        (float(2.0 * theta[k]), [wires[q] for q in reversed(gen)])
        for k, gen in generator_rows(circuit)
    ]

    def iqp_circuit() -> None:
        import pennylane as qml

        if spin_sym:
            qml.Hadamard(wires=wires[0])
            for a, b in ghz_pairs(n):
                qml.CNOT(wires=[wires[a], wires[b]])
        for w in wires:
            qml.Hadamard(wires=w)
        for angle, gen_wires in diagonal:
            qml.MultiRZ(angle, wires=gen_wires)
        for w in wires:
            qml.Hadamard(wires=w)

    return iqp_circuit


def _plugin_hint(name: str) -> str:
    for prefix, package in _PLUGINS.items():
        if name.startswith(prefix):
            return f"install its plugin with `pip install {package}`"
    return "install the PennyLane plugin that provides it"


def _accepts_seed(qml: Any, name: str) -> bool:
    try:
        cls = qml.plugin_devices[name].load()
        return "seed" in inspect.signature(cls.__init__).parameters
    except (ImportError, AttributeError, TypeError, ValueError):
        return False


def _device_by_name(name: str, wires: list[Any], seed: Any, kwargs: dict[str, Any]) -> Any:
    import pennylane as qml

    if name not in qml.plugin_devices:
        raise ValueError(
            f"device {name!r} is not installed: {_plugin_hint(name)}. Installed PennyLane "
            f"devices: {', '.join(sorted(qml.plugin_devices))}."
        )
    if seed is not None:
        if not _accepts_seed(qml, name):
            raise ValueError(
                f"device {name!r} takes no seed argument; leave seed=None, or pass the "
                "device's own seeding option as a keyword argument."
            )
        kwargs = {**kwargs, "seed": seed}
    return qml.device(name, wires=wires, **kwargs)


def qnode(
    circuit: IqpCircuit,
    params: Any,
    *,
    device: Any = "lightning.qubit",
    shots: int | None = None,
    seed: int | None = None,
    wires: Any = None,
    **device_kwargs: Any,
) -> Any:
    """A PennyLane QNode with no arguments that runs the circuit.

    With ``shots`` the QNode returns samples: a 0/1 integer array of shape
    ``(shots, n_qubits)``, column ``i`` for qubit ``i``. Without, it returns the exact
    probabilities of all ``2^n`` bitstrings (qubit 0 most significant), which on a
    state-vector simulator equal :func:`iqpgen.exact.probs`. Shots are set on the QNode (the
    device-level ``shots`` is deprecated in PennyLane).

    Args:
        circuit: the circuit structure.
        params: ``(n_params,)`` real angles, one per gate.
        device: a PennyLane device name (created with ``wires`` and ``device_kwargs``) or a
            device object with at least ``n_qubits`` wires.
        shots: number of samples, at least 1; ``None`` for exact probabilities.
        seed: integer seed for a device created by name (for devices whose constructor
            takes ``seed``, such as ``default.qubit`` and ``lightning.qubit``); ``None``
            keeps the device's default.
        wires: wire of each qubit, as in :func:`to_pennylane`; default ``range(n_qubits)``,
            or the first ``n_qubits`` wires of a device object.
        **device_kwargs: further keyword arguments for ``qml.device`` (name only).

    Returns:
        A ``qml.QNode`` taking no arguments.

    Raises:
        TypeError: bad ``circuit``, ``params``, ``wires``, ``shots`` or ``seed`` type, or
            ``device`` neither a name nor a PennyLane device.
        ValueError: ``shots`` below 1; a device name whose plugin is not installed (the
            message names the package to install); a device object with too few wires or
            without the requested ones; ``seed`` or ``device_kwargs`` with a device object;
            and the errors of :func:`to_pennylane`.

    Example:
        >>> import numpy as np, iqpgen
        >>> from iqpgen.export import qnode
        >>> c = iqpgen.IqpCircuit(3, iqpgen.gates.local(3, 2))
        >>> theta = np.linspace(0.1, 0.6, c.n_params)
        >>> qnode(c, theta, shots=4, seed=0)().shape
        (4, 3)
        >>> bool(np.allclose(qnode(c, theta)(), iqpgen.exact.probs(c, theta)))
        True
    """
    circuit = _checks.check_circuit(circuit)
    theta = concrete_params(circuit, params)
    if shots is not None:
        shots = _checks.check_int("shots", shots, minimum=1)
    if seed is not None:
        seed = _checks.check_int("seed", seed, minimum=0)
    n = circuit.n_qubits

    import pennylane as qml

    if isinstance(device, str):
        wires = check_wires(circuit, wires)
        dev = _device_by_name(device, wires, seed, device_kwargs)
    else:
        device_types = (
            qml.devices.Device,
            getattr(qml.devices, "LegacyDevice", qml.devices.Device),
        )
        if not isinstance(device, device_types):
            raise TypeError(
                "device must be a PennyLane device name such as 'lightning.qubit' or a device "
                f"object from qml.device(...), got {type(device).__name__}."
            )
        if seed is not None or device_kwargs:
            given = ["seed"] * (seed is not None) + sorted(device_kwargs)
            raise ValueError(
                f"{', '.join(given)} only apply when device is a name; the device object is "
                "already built, so create it with those options, e.g. "
                "qml.device('default.qubit', seed=0)."
            )
        dev = device
        dev_wires = None if dev.wires is None else list(dev.wires)
        if dev_wires is not None and len(dev_wires) < n:
            raise ValueError(
                f"the device has {len(dev_wires)} wires but the circuit needs {n}; create it "
                f"with qml.device(..., wires={n}) or more."
            )
        if wires is None and dev_wires is not None:
            wires = dev_wires[:n]
        wires = check_wires(circuit, wires)
        if dev_wires is not None:
            missing = [w for w in wires if w not in dev_wires]
            if missing:
                raise ValueError(
                    f"wires {missing!r} are not wires of the device (device wires: "
                    f"{dev_wires!r}); pass wires that the device has."
                )

    body = to_pennylane(circuit, theta, wires=wires)

    def iqp_circuit() -> Any:
        body()
        if shots is None:
            return qml.probs(wires=wires)
        return qml.sample(wires=wires)

    return qml.QNode(iqp_circuit, dev, shots=shots)
