"""Tests of iqpgen.export: the exported circuit must reproduce iqpgen.exact.probs.

Oracles: iqpgen.exact (state vector), PennyLane's default.qubit and lightning.qubit, a small
independent OpenQASM 2.0 interpreter (below; ``qml.from_qasm`` needs pennylane-qiskit), and
PennyLane's own decomposition and depth count (``qml.transforms.decompose`` + ``qml.specs``).
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import time

import jax
import numpy as np
import pennylane as qml
import pytest

import iqpgen
from iqpgen import export

ATOL = 1e-10  # float64 state vectors of at most 2^6 amplitudes


def exact_probs(circuit: iqpgen.IqpCircuit, theta) -> np.ndarray:
    """iqpgen.exact.probs in float64 (JAX x64 enabled for the call)."""
    with jax.enable_x64(True):
        return np.asarray(iqpgen.exact.probs(circuit, np.asarray(theta, np.float64)))


def tied_circuit(n: int, seed: int, *, spin_sym: bool, max_weight: int = 4) -> iqpgen.IqpCircuit:
    """Random circuit: 2n gates, each owning 1-3 distinct generators of weight 1..max_weight."""
    rng = np.random.default_rng(seed)
    gates = []
    for _ in range(2 * n):
        gens: set[tuple[int, ...]] = set()
        for _ in range(int(rng.integers(1, 4))):
            w = int(rng.integers(1, min(max_weight, n) + 1))
            gens.add(tuple(int(q) for q in rng.choice(n, size=w, replace=False)))
        gates.append([list(g) for g in gens])
    return iqpgen.IqpCircuit(n, gates, spin_sym=spin_sym)


def random_params(circuit: iqpgen.IqpCircuit, seed: int) -> np.ndarray:
    """Angles in [-π, π), float64 but exactly representable in float32.

    Float32-exact angles make the comparison at 1e-10 independent of the package's
    float32/float64 policy; :func:`exact_probs` runs the oracle in float64.
    """
    rng = np.random.default_rng(seed)
    theta = rng.uniform(-np.pi, np.pi, circuit.n_params)
    return theta.astype(np.float32).astype(np.float64)


CASES = [(n, seed, spin) for n, seed in [(3, 0), (4, 1), (5, 2), (6, 3)] for spin in (False, True)]


def op_names(qfunc) -> list[str]:
    return [op.name for op in qml.tape.make_qscript(qfunc)().operations]


@pytest.fixture
def explicit(monkeypatch):
    """Force the explicit H / MultiRZ / H sequence instead of qml.IQP."""
    monkeypatch.setattr(export.pennylane, "native_iqp", lambda: False)


# ------------------------------------------------------------------------------ PennyLane


def test_import_does_not_load_pennylane():
    code = "import sys, iqpgen, iqpgen.export; assert 'pennylane' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("n, seed, spin_sym", CASES)
def test_probs_match_exact_both_paths(n, seed, spin_sym, monkeypatch):
    circuit = tied_circuit(n, seed, spin_sym=spin_sym)
    theta = random_params(circuit, seed)
    expected = exact_probs(circuit, theta)

    native = export.qnode(circuit, theta, device="default.qubit")()
    np.testing.assert_allclose(native, expected, rtol=0, atol=ATOL)

    # A permuted wire order takes the explicit path; probs are returned in qubit order.
    perm = [int(w) for w in np.random.default_rng(seed).permutation(n)]
    permuted = export.qnode(circuit, theta, device="default.qubit", wires=perm)()
    np.testing.assert_allclose(permuted, expected, rtol=0, atol=ATOL)

    monkeypatch.setattr(export.pennylane, "native_iqp", lambda: False)
    forced = export.qnode(circuit, theta, device="default.qubit")()
    np.testing.assert_allclose(forced, expected, rtol=0, atol=ATOL)
    np.testing.assert_allclose(forced, native, rtol=0, atol=ATOL)


def test_template_used_when_available_and_explicit_otherwise(monkeypatch):
    circuit = tied_circuit(3, 7, spin_sym=True)
    theta = random_params(circuit, 7)
    if export.pennylane.native_iqp():
        assert op_names(export.to_pennylane(circuit, theta)) == ["IQP"]
    names = op_names(export.to_pennylane(circuit, theta, wires=["a", "b", "c"]))
    assert set(names) == {"Hadamard", "CNOT", "MultiRZ"}
    monkeypatch.setattr(export.pennylane, "native_iqp", lambda: False)
    assert op_names(export.to_pennylane(circuit, theta)) == names


def test_params_are_plain_float64(explicit):
    circuit = iqpgen.IqpCircuit(2, [[[0, 1]], [[0]]])
    theta = np.array([0.1, 1 / 3])  # not representable in float32
    tape = qml.tape.make_qscript(export.to_pennylane(circuit, theta))()
    angles = [op.data[0] for op in tape.operations if op.name == "MultiRZ"]
    assert angles == [0.2, 2 / 3]
    assert all(type(a) is float for a in angles)
    # The function keeps its own copy: later changes to the array do not leak in.
    qfunc = export.to_pennylane(circuit, theta)
    theta[0] = 5.0
    assert qml.tape.make_qscript(qfunc)().operations[2].data[0] == 0.2


def test_jax_params_accepted():
    circuit = tied_circuit(4, 11, spin_sym=False)
    theta = random_params(circuit, 11)
    probs = export.qnode(circuit, jax.numpy.asarray(theta), device="default.qubit")()
    np.testing.assert_allclose(probs, exact_probs(circuit, theta), rtol=0, atol=ATOL)


def test_device_object_with_labelled_wires():
    circuit = tied_circuit(4, 5, spin_sym=True)
    theta = random_params(circuit, 5)
    dev = qml.device("default.qubit", wires=["w", "x", "y", "z", "spare"])
    probs = export.qnode(circuit, theta, device=dev)()  # default: first 4 device wires
    np.testing.assert_allclose(probs, exact_probs(circuit, theta), rtol=0, atol=ATOL)
    probs = export.qnode(circuit, theta, device=dev, wires=["z", "spare", "w", "y"])()
    np.testing.assert_allclose(probs, exact_probs(circuit, theta), rtol=0, atol=ATOL)


@pytest.mark.parametrize("n, spin_sym", [(4, False), (5, True)])
def test_lightning_samples_match_exact(n, spin_sym):
    """Per-bitstring counts within 5σ (+2 counts for discreteness) of N·p.

    With 32 bitstrings the chance that a correct sampler fails is below 32 × 6e-7 ≈ 2e-5
    (normal approximation); the seed is fixed, so the outcome is reproducible.
    """
    circuit = tied_circuit(n, 20 + n, spin_sym=spin_sym)
    theta = random_params(circuit, 20 + n)
    shots = 20_000
    samples = export.qnode(circuit, theta, device="lightning.qubit", shots=shots, seed=1234)()
    assert samples.shape == (shots, n)
    assert np.issubdtype(samples.dtype, np.integer)
    assert set(np.unique(samples).tolist()) <= {0, 1}
    index = samples @ (1 << np.arange(n - 1, -1, -1))
    counts = np.bincount(index, minlength=2**n)
    p = exact_probs(circuit, theta)
    sigma = np.sqrt(shots * p * (1 - p))
    assert np.all(np.abs(counts - shots * p) <= 5 * sigma + 2)
    if spin_sym:  # the distribution is invariant under flipping every bit
        assert np.allclose(p, p[::-1], atol=ATOL)


def test_seeded_samples_reproducible():
    circuit = tied_circuit(3, 4, spin_sym=False)
    theta = random_params(circuit, 4)
    a = export.qnode(circuit, theta, device="default.qubit", shots=50, seed=7)()
    b = export.qnode(circuit, theta, device="default.qubit", shots=50, seed=7)()
    np.testing.assert_array_equal(a, b)
    assert a.shape == (50, 3)


# ---------------------------------------------------------------------------- OpenQASM 2

# OpenQASM 2.0 real literal (a decimal point is required), with an optional unary minus.
REAL = r"-?(?:[0-9]+\.[0-9]*|[0-9]*\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
STATEMENTS = {
    "qreg": re.compile(r"qreg q\[(\d+)\];"),
    "creg": re.compile(r"creg c\[(\d+)\];"),
    "h": re.compile(r"h q\[(\d+)\];"),
    "rz": re.compile(rf"rz\(({REAL})\) q\[(\d+)\];"),
    "cx": re.compile(r"cx q\[(\d+)\],q\[(\d+)\];"),
    "measure": re.compile(r"measure q\[(\d+)\] -> c\[(\d+)\];"),
}


def run_qasm(program: str) -> tuple[np.ndarray, list[float]]:
    """Simulate a program of h / rz / cx / measure; return (probabilities, rz angles).

    Accepts exactly the subset of OpenQASM 2.0 that to_qasm may write; any other
    statement fails the test. Qubit 0 is the most significant bit, as in iqpgen.
    """
    lines = program.splitlines()
    assert lines[:2] == ["OPENQASM 2.0;", 'include "qelib1.inc";']
    psi = None
    n = 0
    angles: list[float] = []
    measured: list[tuple[int, int]] = []
    hadamard = np.array([[1, 1], [1, -1]]) / np.sqrt(2)
    for line in lines[2:]:
        if line.startswith("//"):
            continue
        kind, match = next(
            ((k, m) for k, r in STATEMENTS.items() if (m := r.fullmatch(line))), (None, None)
        )
        assert kind is not None, f"unsupported statement: {line!r}"
        args = match.groups()
        assert not measured or kind == "measure", "gate after measurement"
        if kind == "qreg":
            n = int(args[0])
            psi = np.zeros((2,) * n, dtype=np.complex128)
            psi[(0,) * n] = 1.0
        elif kind == "creg":
            assert int(args[0]) == n
        elif kind == "h":
            q = int(args[0])
            psi = np.moveaxis(np.tensordot(hadamard, psi, axes=(1, q)), 0, q)
        elif kind == "rz":
            phi, q = float(args[0]), int(args[1])
            angles.append(phi)
            phase = np.exp(np.array([-0.5j, 0.5j]) * phi).reshape(
                [2 if a == q else 1 for a in range(n)]
            )
            psi = psi * phase
        elif kind == "cx":
            c, t = int(args[0]), int(args[1])
            assert c != t
            psi = np.moveaxis(psi, (c, t), (0, 1)).copy()
            psi[1] = psi[1, ::-1].copy()
            psi = np.moveaxis(psi, (0, 1), (c, t))
        else:
            measured.append((int(args[0]), int(args[1])))
    assert measured == [(i, i) for i in range(n)]
    return np.abs(psi.reshape(-1)) ** 2, angles


@pytest.mark.parametrize("n, seed, spin_sym", CASES)
def test_qasm_matches_exact(n, seed, spin_sym):
    circuit = tied_circuit(n, seed, spin_sym=spin_sym)
    theta = random_params(circuit, seed)
    program = export.to_qasm(circuit, theta)
    assert "gate " not in program and "opaque" not in program
    probs, angles = run_qasm(program)
    np.testing.assert_allclose(probs, exact_probs(circuit, theta), rtol=0, atol=ATOL)
    assert len(angles) == circuit.n_generators
    expected = [2 * theta[k] for k, gate in enumerate(circuit.gates) for _ in gate]
    assert angles == expected  # written in full precision, read back bit for bit


def test_qasm_full_precision_literals():
    circuit = iqpgen.IqpCircuit(3, [[[0]], [[1, 2]], [[2]], [[0, 1, 2]]])
    theta = np.array([1 / 3, 5e-6, -2.5e-300, 1e20])
    program = export.to_qasm(circuit, theta)
    _, angles = run_qasm(program)  # every literal matches the OpenQASM 2 grammar
    assert angles == (2 * theta).tolist()
    assert "rz(1.0e-05) q[2];" in program  # repr '1e-05' gets the required decimal point


def test_qasm_gate_sequence():
    circuit = iqpgen.IqpCircuit(3, [[[0, 1, 2]]], spin_sym=True)
    program = export.to_qasm(circuit, np.array([0.5]))
    body = [ln for ln in program.splitlines() if ln[:2] in ("h ", "rz", "cx")]
    assert body == [
        "h q[0];",
        "cx q[0],q[1];",
        "cx q[0],q[2];",
        "h q[0];",
        "h q[1];",
        "h q[2];",
        "cx q[0],q[1];",
        "cx q[1],q[2];",
        "rz(1.0) q[2];",
        "cx q[1],q[2];",
        "cx q[0],q[1];",
        "h q[0];",
        "h q[1];",
        "h q[2];",
    ]


# ------------------------------------------------------------------------------ resources

PL_NAMES = {"Hadamard": "h", "RZ": "rz", "CNOT": "cx"}


def pennylane_resources(qfunc, n: int) -> tuple[dict[str, int], int]:
    """Gate counts and depth that PennyLane reports after decomposing to {H, RZ, CNOT}."""

    def measured():
        qfunc()
        return qml.probs(wires=range(n))

    node = qml.QNode(measured, qml.device("default.qubit", wires=n))
    node = qml.transforms.decompose(node, gate_set=set(PL_NAMES))
    res = qml.specs(node)().resources
    counts = {name: 0 for name in PL_NAMES.values()}
    for name, count in res.gate_types.items():
        counts[PL_NAMES[name]] += count
    return counts, res.depth


def reordered(circuit: iqpgen.IqpCircuit, order: np.ndarray) -> iqpgen.IqpCircuit:
    gens = np.asarray(circuit.generators)[order]
    return iqpgen.IqpCircuit.from_arrays(
        circuit.n_qubits,
        np.where(gens == circuit.n_qubits, -1, gens),
        np.asarray(circuit.gate_of)[order],
        n_params=circuit.n_params,
        spin_sym=circuit.spin_sym,
    )


@pytest.mark.parametrize("n, seed, spin_sym", CASES)
def test_resources_match_pennylane_decomposition(n, seed, spin_sym, monkeypatch):
    circuit = tied_circuit(n, seed, spin_sym=spin_sym)
    theta = random_params(circuit, seed)
    res = export.resources(circuit, diagonal_layers=True)

    if not spin_sym and export.pennylane.native_iqp():  # qml.IQP's own decomposition: same counts
        counts, _ = pennylane_resources(export.to_pennylane(circuit, theta), n)
        assert counts == res.counts

    monkeypatch.setattr(export.pennylane, "native_iqp", lambda: False)
    counts, depth = pennylane_resources(export.to_pennylane(circuit, theta), n)
    assert res.counts == counts
    assert res.depth == depth
    assert res.n_gates == sum(counts.values())
    assert res.n_two_qubit == counts["cx"]

    # The layer schedule: disjoint generators within a layer, and its depth is the depth
    # PennyLane finds for the circuit with its generators sorted by layer.
    assert res.layer_of.shape == (circuit.n_generators,)
    assert res.n_layers == res.layer_of.max() + 1
    gens = np.asarray(circuit.generators)
    for layer in range(res.n_layers):
        qubits = [int(q) for row in gens[res.layer_of == layer] for q in row if q < n]
        assert len(qubits) == len(set(qubits))
    layered = reordered(circuit, np.argsort(res.layer_of, kind="stable"))
    np.testing.assert_allclose(exact_probs(layered, theta), exact_probs(circuit, theta), atol=ATOL)
    _, layered_depth = pennylane_resources(export.to_pennylane(layered, theta), n)
    assert res.layered_depth == layered_depth <= res.depth


def test_resources_without_layers():
    circuit = iqpgen.IqpCircuit(4, [[[0, 1, 2, 3]], [[1]], [[2], [3]]], spin_sym=True)
    res = export.resources(circuit)
    assert res.counts == {"h": 9, "rz": 4, "cx": 6 + 3}
    assert (res.layer_of, res.n_layers, res.layered_depth) == (None, None, None)


def test_resources_all_pairs_1000_qubits_is_fast():
    n = 1000
    pairs = np.stack(np.triu_indices(n, 1), axis=1)
    gens = np.concatenate([np.stack([np.arange(n), np.full(n, -1)], axis=1), pairs])
    circuit = iqpgen.IqpCircuit.from_arrays(n, gens)
    assert circuit.n_generators == 500_500
    start = time.perf_counter()
    res = export.resources(circuit, diagonal_layers=True)
    elapsed = time.perf_counter() - start
    assert elapsed < 20, f"resources took {elapsed:.1f} s"  # ~2 s; guards against O(n^2 n_gen)
    assert res.counts == {"h": 2000, "rz": 500_500, "cx": 2 * 499_500}
    # Valid schedule: no (layer, qubit) pair twice. K_1000 needs at least 999 layers.
    real = circuit.generators < n
    layer_qubit = np.repeat(res.layer_of, real.sum(axis=1)) * n + circuit.generators[real]
    assert np.unique(layer_qubit).size == layer_qubit.size
    assert 999 <= res.n_layers <= 1100
    assert res.layered_depth <= 3 * res.n_layers + 2
    assert res.layered_depth < res.depth


# --------------------------------------------------------------------------------- errors


@pytest.fixture
def small():
    circuit = iqpgen.IqpCircuit(4, [[[0, 1]], [[2], [3]]])
    return circuit, np.array([0.2, -0.4])


@pytest.mark.parametrize(
    "name, package",
    [
        ("qiskit.aer", "pennylane-qiskit"),
        ("braket.local.qubit", "amazon-braket-pennylane-plugin"),
        ("lightning.gpu", "pennylane-lightning-gpu"),
        ("no.such.device", "plugin that provides it"),
    ],
)
def test_uninstalled_plugin(small, name, package):
    if name in qml.plugin_devices:
        pytest.skip(f"{name} is installed here")
    with pytest.raises(ValueError, match=re.escape(package)):
        export.qnode(*small, device=name, shots=10)


def test_device_with_too_few_wires(small):
    with pytest.raises(ValueError, match="device has 2 wires but the circuit needs 4"):
        export.qnode(*small, device=qml.device("default.qubit", wires=2))


def test_device_without_requested_wires(small):
    dev = qml.device("default.qubit", wires=["a", "b", "c", "d"])
    with pytest.raises(ValueError, match=r"wires \[0, 1, 2, 3\] are not wires of the device"):
        export.qnode(*small, device=dev, wires=[0, 1, 2, 3])


@pytest.mark.parametrize("shots", [0, -5])
def test_shots_not_positive(small, shots):
    with pytest.raises(ValueError, match="shots must be at least 1"):
        export.qnode(*small, device="default.qubit", shots=shots)


def test_shots_not_int(small):
    with pytest.raises(TypeError, match="shots must be an int"):
        export.qnode(*small, device="default.qubit", shots=100.0)


def test_device_not_a_device(small):
    with pytest.raises(TypeError, match="device must be a PennyLane device name"):
        export.qnode(*small, device=3)


def test_seed_or_kwargs_with_device_object(small):
    dev = qml.device("default.qubit", wires=4)
    with pytest.raises(ValueError, match="seed only apply when device is a name"):
        export.qnode(*small, device=dev, seed=1)
    with pytest.raises(ValueError, match="max_workers only apply when device is a name"):
        export.qnode(*small, device=dev, max_workers=2)


def test_seed_on_device_without_seed(small):
    with pytest.raises(ValueError, match="'null.qubit' takes no seed"):
        export.qnode(*small, device="null.qubit", shots=5, seed=0)


def test_bad_seed(small):
    with pytest.raises(ValueError, match="seed must be at least 0"):
        export.qnode(*small, device="default.qubit", seed=-1)


@pytest.mark.parametrize(
    "call",
    [
        lambda c, p: export.to_pennylane(c, p),
        lambda c, p: export.qnode(c, p, device="default.qubit"),
        lambda c, p: export.to_qasm(c, p),
    ],
)
def test_wrong_params(small, call):
    circuit, _ = small
    with pytest.raises(ValueError, match=r"params has shape \(3,\) but the circuit has 2 gates"):
        call(circuit, np.zeros(3))
    with pytest.raises(ValueError, match="params contains NaN"):
        call(circuit, np.array([0.1, np.nan]))
    with pytest.raises(TypeError, match="params must be an array"):
        call(circuit, 0.5)
    with pytest.raises(TypeError, match="circuit must be an iqpgen.IqpCircuit"):
        call("circuit", np.zeros(2))


def test_traced_params(small):
    circuit, theta = small
    with pytest.raises(TypeError, match="params is a JAX tracer"):
        jax.jit(lambda p: export.to_qasm(circuit, p))(theta)


@pytest.mark.parametrize(
    "wires, error, match",
    [
        ([0, 1, 2], ValueError, "wires has 3 labels but the circuit has 4 qubits"),
        ([0, 1, 2, 1], ValueError, "wires must be distinct; wire 1 appears more than once"),
        ("abcd", TypeError, "wires must be a sequence of 4 wire labels"),
        (4, TypeError, "wires must be a sequence of 4 wire labels"),
        ([[0], [1], [2], [3]], TypeError, "wires must hold hashable labels"),
    ],
)
def test_bad_wires(small, wires, error, match):
    with pytest.raises(error, match=match):
        export.to_pennylane(*small, wires=wires)
    with pytest.raises(error, match=match):
        export.qnode(*small, device="default.qubit", wires=wires)


def test_resources_bad_arguments(small):
    with pytest.raises(TypeError, match="diagonal_layers must be True or False"):
        export.resources(small[0], diagonal_layers="yes")
    with pytest.raises(TypeError, match="circuit must be an iqpgen.IqpCircuit"):
        export.resources([[[0]]])


def test_all_weight_combinations_small():
    """Every generator of weight 1..4 on 4 qubits, one parameter each, both spin settings."""
    gates = [[g] for w in range(1, 5) for g in itertools.combinations(range(4), w)]
    for spin_sym in (False, True):
        circuit = iqpgen.IqpCircuit(4, gates, spin_sym=spin_sym)
        theta = random_params(circuit, 99)
        probs, _ = run_qasm(export.to_qasm(circuit, theta))
        expected = exact_probs(circuit, theta)
        np.testing.assert_allclose(probs, expected, rtol=0, atol=ATOL)
        np.testing.assert_allclose(
            export.qnode(circuit, theta, device="lightning.qubit")(), expected, atol=ATOL
        )
