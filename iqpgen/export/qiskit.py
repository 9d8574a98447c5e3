"""Qiskit: the circuit as a ``QuantumCircuit``, routed and compiled for a device, and run on
Qiskit Aer.

:func:`to_qiskit` writes the same sequence as the other exporters (Hadamards, the diagonal
gates as ``rz`` / ``rzz`` / a CNOT ladder, Hadamards, and a measurement of qubit ``i`` into
classical bit ``i``). :func:`transpile` routes and compiles it with Qiskit's preset pass
manager for a backend (a Qiskit ``BackendV2``, such as the fake IBM devices of
``qiskit_ibm_runtime.fake_provider``, which carry real devices' coupling maps and
calibrations) or for a bare coupling map. :func:`routing` counts what the routing adds, and
:func:`sample_aer` samples with Qiskit Aer, with the backend's noise model if asked.

Qiskit, Qiskit Aer and the IBM runtime are imported only when a function here runs; install
them with ``pip install "iqpgen[hardware]"``.
"""

from __future__ import annotations

import importlib
import re
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .. import _checks
from ..circuit import IqpCircuit
from ..gates import coupling_edges
from .sequence import concrete_params, generator_rows, ghz_pairs, layered_rows

__all__ = ["AerRun", "Routing", "routing", "sample_aer", "to_qiskit", "transpile"]

#: Gate set of a bare coupling map (no backend): that of :func:`iqpgen.export.to_qasm`.
COUPLING_MAP_BASIS = ("h", "rz", "cx")


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as err:
        raise ImportError(
            f"{module} is not installed; install the hardware extras with "
            '`pip install "iqpgen[hardware]"` (qiskit, qiskit-aer, qiskit-ibm-runtime).'
        ) from err


def to_qiskit(
    circuit: IqpCircuit, params: Any, *, measure: bool = True, layered: bool = True
) -> Any:
    """The circuit as a ``qiskit.QuantumCircuit`` on ``n_qubits`` qubits.

    Qubit ``i`` is Qiskit qubit ``i``; with ``measure``, it is measured into classical bit
    ``i`` (Qiskit writes bit strings with bit 0 last, and :func:`sample_aer` returns column
    ``i`` for qubit ``i``). A generator of weight 1 is ``rz(2θ)``, of weight 2 ``rzz(2θ)``,
    heavier ones the CNOT ladder of :func:`iqpgen.export.to_qasm`; ``spin_sym`` prepares the
    GHZ state with ``h`` and a tree of ``cx``. With ``layered`` (the default) the diagonal
    gates, which commute, are written layer by layer, generators that share no qubit
    together (the order of :func:`iqpgen.export.resources` with ``diagonal_layers=True``), so
    that the compiled circuit runs them in parallel; otherwise in the order of
    ``circuit.generators``. Without measurements its
    ``qiskit.quantum_info.Statevector`` has the probabilities of
    :func:`iqpgen.exact.probs` (in Qiskit's order, qubit 0 the least significant bit).

    Raises:
        TypeError, ValueError: as :func:`iqpgen.export.to_qasm`; ``measure`` not a bool.
        ImportError: Qiskit is not installed.

    Example:
        >>> import numpy as np, iqpgen
        >>> from iqpgen.export import to_qiskit
        >>> qc = to_qiskit(iqpgen.IqpCircuit(2, [[[0, 1]], [[0]]]), np.array([0.3, 0.1]))
        >>> dict(qc.count_ops())
        {'h': 4, 'measure': 2, 'rzz': 1, 'rz': 1}
    """
    circuit = _checks.check_circuit(circuit)
    theta = concrete_params(circuit, params)
    for name, flag in (("measure", measure), ("layered", layered)):
        if not isinstance(flag, bool | np.bool_):
            raise TypeError(f"{name} must be True or False, got {flag!r}.")
    qiskit = _require("qiskit")
    n = circuit.n_qubits
    qc = qiskit.QuantumCircuit(n, n if measure else 0, name="iqp")
    if circuit.spin_sym:
        qc.h(0)
        for a, b in ghz_pairs(n):
            qc.cx(a, b)
    qc.h(range(n))
    for k, gen in layered_rows(circuit) if layered else generator_rows(circuit):
        angle = float(2.0 * theta[k])
        if len(gen) == 1:
            qc.rz(angle, gen[0])
        elif len(gen) == 2:
            qc.rzz(angle, gen[0], gen[1])
        else:
            ladder = list(zip(gen[:-1], gen[1:], strict=True))
            for a, b in ladder:
                qc.cx(a, b)
            qc.rz(angle, gen[-1])
            for a, b in reversed(ladder):
                qc.cx(a, b)
    qc.h(range(n))
    if measure:
        qc.measure(range(n), range(n))
    return qc


def _layout(initial_layout: Any, n: int) -> list[int] | None:
    if initial_layout is None:
        return None
    if isinstance(initial_layout, str | bytes) or not isinstance(
        initial_layout, Sequence | np.ndarray
    ):
        raise TypeError(
            f"initial_layout must be a list of {n} physical qubits (qubit i runs on "
            f"initial_layout[i]), got {type(initial_layout).__name__}."
        )
    out = [int(q) for q in np.asarray(initial_layout).ravel().tolist()]
    if len(out) != n or len(set(out)) != n or min(out, default=0) < 0:
        raise ValueError(
            f"initial_layout must list {n} distinct physical qubits (one per qubit), got "
            f"{initial_layout!r}."
        )
    return out


def _pass_manager(backend: Any, n: int, initial_layout: Any, optimization_level: int, seed: int):
    transpiler = _require("qiskit.transpiler")
    layout = _layout(initial_layout, n)
    level = _checks.check_int("optimization_level", optimization_level, minimum=0)
    if level > 3:
        raise ValueError(f"optimization_level must be 0, 1, 2 or 3, got {level}.")
    seed = _checks.check_int("seed", seed, minimum=0)
    if hasattr(backend, "target"):  # a BackendV2: its coupling map, gate set and errors
        size = backend.num_qubits
        kwargs = {"backend": backend}
    else:
        edges = coupling_edges(backend)
        size = 1 + max((b for _, b in edges), default=-1)
        both = [list(e) for e in edges] + [[b, a] for a, b in edges]
        kwargs = {
            "coupling_map": transpiler.CouplingMap(both),
            "basis_gates": list(COUPLING_MAP_BASIS),
        }
    if n > size:
        raise ValueError(f"the circuit has {n} qubits but the backend only {size}.")
    if layout is not None and max(layout) >= size:
        raise ValueError(
            f"initial_layout names qubit {max(layout)}; the backend has qubits 0..{size - 1}."
        )
    return transpiler.generate_preset_pass_manager(
        optimization_level=level, initial_layout=layout, seed_transpiler=seed, **kwargs
    )


def transpile(
    circuit: IqpCircuit,
    params: Any,
    backend: Any,
    *,
    initial_layout: Sequence[int] | None = None,
    optimization_level: int = 1,
    seed: int = 0,
) -> Any:
    """The measured circuit routed and compiled for ``backend`` by Qiskit's preset pass manager.

    Args:
        circuit, params: the circuit and its angles.
        backend: a Qiskit ``BackendV2`` (coupling map, native gates and calibrations), or a
            bare coupling map (a ``CouplingMap`` or a list of qubit pairs; compiled to
            :data:`COUPLING_MAP_BASIS`).
        initial_layout: physical qubit of each qubit (``initial_layout[i]`` for qubit ``i``);
            default: Qiskit's layout search. A circuit whose pairs are all edges of the
            device under this layout (for example one built with
            :func:`iqpgen.gates.coupling_graph`) needs no SWAP.
        optimization_level: Qiskit's 0–3.
        seed: the transpiler's seed (layout and routing are randomised).

    Returns:
        The compiled ``QuantumCircuit``; qubit ``i`` is still measured into classical bit ``i``.

    Raises:
        TypeError, ValueError: a bad backend, layout, level or seed (named in the message),
            or a circuit larger than the device.
        ImportError: Qiskit is not installed.

    Example:
        >>> import numpy as np, iqpgen
        >>> from iqpgen.export import transpile
        >>> c = iqpgen.IqpCircuit(3, iqpgen.gates.local(3, 2))
        >>> compiled = transpile(c, np.full(6, 0.2), [(0, 1), (1, 2)])
        >>> sorted(compiled.count_ops())
        ['cx', 'h', 'measure', 'rz']
    """
    qc = to_qiskit(circuit, params)
    pm = _pass_manager(backend, circuit.n_qubits, initial_layout, optimization_level, seed)
    return pm.run(qc)


class Routing(NamedTuple):
    """What routing and compiling for a device add (see :func:`routing`).

    Attributes:
        n_swaps: SWAP gates the routing stage inserted.
        n_two_qubit: two-qubit gates of the compiled circuit (native ones: ``ecr``, ``cz``
            or ``cx``).
        two_qubit_depth: depth of the compiled circuit counted in two-qubit gates.
        depth: depth of the compiled circuit (measurements included).
        counts: gate counts of the compiled circuit.
    """

    n_swaps: int
    n_two_qubit: int
    two_qubit_depth: int
    depth: int
    counts: dict[str, int]


def routing(
    circuit: IqpCircuit,
    params: Any,
    backend: Any,
    *,
    initial_layout: Sequence[int] | None = None,
    optimization_level: int = 1,
    seed: int = 0,
) -> Routing:
    """SWAPs inserted, two-qubit gates and two-qubit depth after routing for ``backend``.

    The SWAPs are counted after the layout and routing stages of the same pass manager (same
    seed, hence the same routing) that :func:`transpile` runs in full; the other numbers are
    those of the compiled circuit. Arguments as :func:`transpile`.

    Example:
        >>> import numpy as np, iqpgen
        >>> from iqpgen.export.qiskit import routing
        >>> c = iqpgen.IqpCircuit(3, iqpgen.gates.local(3, 2))  # a triangle of pairs
        >>> routing(c, np.full(6, 0.2), [(0, 1), (1, 2)], initial_layout=[0, 1, 2]).n_swaps
        1
    """
    qc = to_qiskit(circuit, params)
    pm = _pass_manager(backend, circuit.n_qubits, initial_layout, optimization_level, seed)
    transpiler = _require("qiskit.transpiler")
    routed = transpiler.StagedPassManager(
        stages=["init", "layout", "routing"], init=pm.init, layout=pm.layout, routing=pm.routing
    ).run(qc)
    compiled = pm.run(qc)
    counts = {str(k): int(v) for k, v in compiled.count_ops().items()}

    def two(instr: Any) -> bool:
        return instr.operation.num_qubits == 2 and instr.operation.name != "barrier"

    return Routing(
        n_swaps=int(routed.count_ops().get("swap", 0)),
        n_two_qubit=sum(1 for instr in compiled.data if two(instr)),
        two_qubit_depth=int(compiled.depth(two)),
        depth=int(compiled.depth()),
        counts=counts,
    )


class AerRun(NamedTuple):
    """Samples from Qiskit Aer and how they were made (see :func:`sample_aer`).

    Attributes:
        samples: 0/1 ``uint8`` ``(shots, n_qubits)``, column ``i`` for qubit ``i``.
        seconds: wall time of the simulation (transpiling excluded).
        method: the simulation method Aer used (``"statevector"``, ``"density_matrix"``,
            ``"matrix_product_state"``, …).
        noise: ``"ideal"``, the name of the backend whose noise model was applied, or
            ``"readout errors of "`` and that name.
        max_bond_dimension: for an ideal ``"matrix_product_state"`` run, the largest bond
            dimension the state reached; None otherwise.
        truncation: for ``"matrix_product_state"``, Aer's truncation settings
            (``threshold``: Schmidt coefficients below it are dropped; ``max_bond_dimension``:
            the cap, None for none); None for the other methods.
    """

    samples: np.ndarray
    seconds: float
    method: str
    noise: str
    max_bond_dimension: int | None
    truncation: dict[str, Any] | None


_BOND = re.compile(r"BD=\[([0-9 ]*)\]")


def sample_aer(
    circuit: IqpCircuit,
    params: Any,
    shots: int,
    *,
    backend: Any = None,
    noise: bool | str = False,
    method: str = "automatic",
    initial_layout: Sequence[int] | None = None,
    seed: int = 0,
    max_bond_dimension: int | None = None,
    optimization_level: int = 1,
) -> AerRun:
    """Sample the circuit with Qiskit Aer, ideal or with a device's noise model.

    Without ``backend`` the circuit of :func:`to_qiskit` runs as it is. With one it is first
    compiled by :func:`transpile` (``initial_layout``, ``optimization_level``, ``seed``).
    With ``noise=True`` (a ``BackendV2`` only) it runs under the noise model Aer builds from
    the backend's calibrations (gate errors, thermal relaxation and readout errors); Aer then
    simulates shot by shot, which at a few dozen qubits and beyond takes long.
    ``noise="readout"`` keeps only the backend's readout errors, which Aer applies to the
    sampled bits, so it costs no more than an ideal run at any size.
    ``method="matrix_product_state"`` simulates beyond state-vector sizes; an ideal run
    reports the largest bond dimension reached (not reported under noise), and the truncation
    settings (``max_bond_dimension`` caps the bond dimension, an approximation).

    Returns:
        :class:`AerRun`.

    Raises:
        TypeError, ValueError: bad shots, method, seed, or ``noise`` without a ``BackendV2``;
            the errors of :func:`transpile`.
        ImportError: Qiskit Aer is not installed.

    Example:
        >>> import numpy as np, iqpgen
        >>> from iqpgen.export import sample_aer
        >>> c = iqpgen.IqpCircuit(3, iqpgen.gates.local(3, 2))
        >>> sample_aer(c, np.full(6, 0.2), 5, seed=1).samples.shape
        (5, 3)
    """
    shots = _checks.check_int("shots", shots, minimum=1)
    seed = _checks.check_int("seed", seed, minimum=0)
    if not (isinstance(noise, bool | np.bool_) or noise == "readout"):
        raise ValueError(f"noise must be True, False or 'readout', got {noise!r}.")
    if not isinstance(method, str):
        raise TypeError(f"method must be an Aer simulation method name, got {method!r}.")
    if max_bond_dimension is not None:
        max_bond_dimension = _checks.check_int("max_bond_dimension", max_bond_dimension, minimum=1)
    aer = _require("qiskit_aer")
    methods = aer.AerSimulator().available_methods()
    if method not in methods:
        raise ValueError(f"method must be one of Aer's {methods}, got {method!r}.")
    if noise and not hasattr(backend, "target"):
        raise ValueError(
            f"noise={noise!r} needs a Qiskit backend with calibrations (e.g. a fake IBM "
            f"device), got {type(backend).__name__}."
        )
    if backend is None:
        qc = to_qiskit(circuit, params)
    else:
        qc = transpile(
            circuit,
            params,
            backend,
            initial_layout=initial_layout,
            optimization_level=optimization_level,
            seed=seed,
        )
    options: dict[str, Any] = {"method": method}
    mps = method == "matrix_product_state"
    if mps:
        options["mps_log_data"] = not noise  # Aer's log is unreadable under a noise model
        if max_bond_dimension is not None:
            options["matrix_product_state_max_bond_dimension"] = max_bond_dimension
    if noise == "readout":
        model = _require("qiskit_aer.noise").NoiseModel.from_backend(
            backend, gate_error=False, thermal_relaxation=False
        )
        sim = aer.AerSimulator(noise_model=model, **options)
    elif noise:
        sim = aer.AerSimulator.from_backend(backend, **options)
    else:
        sim = aer.AerSimulator(**options)
    t0 = time.perf_counter()
    result = sim.run(qc, shots=shots, memory=True, seed_simulator=seed).result()
    seconds = time.perf_counter() - t0
    if not result.success:
        raise RuntimeError(f"Qiskit Aer failed: {result.status}")
    n = circuit.n_qubits
    memory = result.get_memory(0)
    text = np.frombuffer("".join(memory).encode(), np.uint8).reshape(shots, -1) - ord("0")
    samples = text[:, ::-1][:, :n].astype(np.uint8)  # bit string: classical bit 0 is last
    meta = result.results[0].metadata
    used = str(meta.get("method", method))
    bond = truncation = None
    if used == "matrix_product_state":
        dims = [int(d) for m in _BOND.findall(str(meta.get("MPS_log_data", ""))) for d in m.split()]
        bond = max(dims) if dims else None
        truncation = {
            "threshold": float(meta.get("matrix_product_state_truncation_threshold", 1e-16)),
            "max_bond_dimension": max_bond_dimension,
        }
    return AerRun(
        samples=samples,
        seconds=seconds,
        method=used,
        noise=("readout errors of " if noise == "readout" else "")
        + (backend.name if noise else "ideal"),
        max_bond_dimension=bond,
        truncation=truncation,
    )
