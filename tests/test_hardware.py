"""Tests of iqpgen.export.qiskit and of device connectivity in iqpgen.gates.

Oracles: Qiskit's own ``Statevector`` of the exported and of the compiled circuit against
iqpgen.exact (state vector); Qiskit's routing on device coupling maps (fake IBM backends of
qiskit-ibm-runtime, which carry real devices' coupling maps and calibrations); Qiskit Aer.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest

import iqpgen
from iqpgen import export, gates
from iqpgen.evaluate import verify_samples

qiskit = pytest.importorskip("qiskit", reason='pip install "iqpgen[hardware]"')
pytest.importorskip("qiskit_aer")
fake_provider = pytest.importorskip("qiskit_ibm_runtime.fake_provider")
from qiskit.quantum_info import Statevector  # noqa: E402
from test_export import exact_probs, random_params, tied_circuit  # noqa: E402


@pytest.fixture(scope="module")
def manila():
    """A 5-qubit fake IBM device: a line 0-1-2-3-4, native gates cx, rz, sx, x."""
    return fake_provider.FakeManilaV2()


def qiskit_probs(qc, qubits) -> np.ndarray:
    """Probabilities of ``qubits`` (qubit 0 of the model first, the most significant bit) from
    Qiskit's Statevector, which orders qubit 0 as the least significant bit."""
    sv = Statevector(qc.remove_final_measurements(inplace=False))
    return sv.probabilities(qargs=list(qubits)[::-1])


@pytest.mark.parametrize("spin_sym", [False, True])
def test_to_qiskit_statevector_matches_exact(spin_sym):
    c = tied_circuit(5, 4, spin_sym=spin_sym)  # weights 1..4, tied gates
    theta = random_params(c, 4)
    qc = export.to_qiskit(c, theta)
    assert qc.num_qubits == qc.num_clbits == 5
    np.testing.assert_allclose(qiskit_probs(qc, range(5)), exact_probs(c, theta), atol=1e-10)
    assert export.to_qiskit(c, theta, measure=False).num_clbits == 0


def test_transpiled_for_a_device_keeps_the_distribution(manila):
    c = iqpgen.IqpCircuit(5, gates.local(5, 2))
    theta = random_params(c, 1)
    compiled = export.transpile(c, theta, manila, seed=3)
    assert set(compiled.count_ops()) <= set(manila.operation_names)
    where = compiled.layout.final_index_layout()  # physical qubit of each model qubit
    np.testing.assert_allclose(qiskit_probs(compiled, where), exact_probs(c, theta), atol=1e-6)
    # A bare coupling map compiles to h, rz, cx.
    bare = export.transpile(c, theta, [(0, 1), (1, 2), (2, 3), (3, 4)], seed=3)
    assert set(bare.count_ops()) <= {"h", "rz", "cx", "measure"}
    where = bare.layout.final_index_layout()
    np.testing.assert_allclose(qiskit_probs(bare, where), exact_probs(c, theta), atol=1e-6)


def test_native_pairs_route_with_zero_swaps():
    """Trained on the device's native pairs, the model routes with no SWAP on a 127-qubit
    device, whole or on a connected subset; all-to-all pairs on a line need SWAPs."""
    device = fake_provider.FakeSherbrooke()
    assert gates.graph(device) == gates.graph(gates.coupling_graph(device))
    subset = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 18]  # a connected piece
    G = gates.coupling_graph(device, subset)
    assert G.number_of_nodes() == 16 and G.number_of_edges() == 15
    X = iqpgen.datasets.blobs(200, key=jax.random.key(0), n_bits=16, n_blobs=2)
    model = iqpgen.IqpModel(gates=gates.graph(G), max_steps=5, random_state=0, verbose=False)
    model.fit(X)
    r = export.routing(model.circuit_, model.params_, device, initial_layout=subset)
    assert r.n_swaps == 0
    assert r.n_two_qubit == 2 * G.number_of_edges()  # each rzz: two native ecr
    res = export.resources(model.circuit_, backend=device, initial_layout=subset)
    assert (res.n_swaps, res.routed_two_qubit) == (0, r.n_two_qubit)
    assert res.routed_two_qubit_depth == r.two_qubit_depth > 0
    # The commuting pair gates go out layer by layer: two native gates per layer at most.
    layers = export.resources(model.circuit_, diagonal_layers=True).n_layers
    assert r.two_qubit_depth <= 2 * layers < 2 * G.number_of_edges()

    line = [(i, i + 1) for i in range(5)]
    dense = iqpgen.IqpCircuit(6, gates.local(6, 2))
    res = export.resources(dense, backend=line, initial_layout=range(6))
    assert res.n_swaps > 0 and res.routed_two_qubit > 2 * 15  # 15 pairs, two cx each
    assert export.resources(dense).n_swaps is None


def test_coupling_graph_and_edges():
    assert gates.coupling_edges([(2, 1), (1, 2), (0, 1), (3, 3)]) == [(0, 1), (1, 2)]
    G = gates.coupling_graph([(0, 1), (1, 2)], qubits=[2, 1])
    assert sorted(G.nodes) == [0, 1] and list(G.edges) == [(0, 1)]
    with pytest.raises(TypeError, match="backend must be"):
        gates.coupling_edges("ibm_kyiv")
    with pytest.raises(TypeError, match="two qubit indices"):
        gates.coupling_edges([(0, 1, 2)])
    with pytest.raises(ValueError, match="qubits must be distinct"):
        gates.coupling_graph([(0, 1)], qubits=[0, 5])
    with pytest.raises(TypeError, match="networkx graph or a device"):
        gates.graph("manila")


def test_sample_aer_ideal_noisy_and_verified(manila):
    """Aer samples: ideal ones pass verify_samples, the device's noise model is detected, and
    the noisy samples' distance shrinks once the readout error is modelled."""
    c = iqpgen.IqpCircuit(5, gates.graph(manila))
    theta = random_params(c, 2) * 0.1  # near |0…0⟩: readout error moves ⟨Z_a⟩ most
    key = jax.random.key(7)
    ideal = export.sample_aer(c, theta, 4000, backend=manila, seed=1)
    assert ideal.samples.shape == (4000, 5) and ideal.noise == "ideal"
    noisy = export.sample_aer(c, theta, 4000, backend=manila, noise=True, seed=1)
    assert noisy.noise == "fake_manila" and noisy.method == "density_matrix"
    est = verify_samples(c, theta, ideal.samples, sigma=1.0, key=key)
    assert abs(est.mean) < 4 * est.stderr
    bad = verify_samples(c, theta, noisy.samples, sigma=1.0, key=key)
    assert bad.mean > 4 * bad.stderr
    p = [manila.target["measure"][(q,)].error for q in range(5)]
    fixed = verify_samples(c, theta, noisy.samples, sigma=1.0, key=key, readout_error=p)
    assert fixed.mean < bad.mean / 2

    read = export.sample_aer(c, theta, 4000, backend=manila, noise="readout", seed=1)
    assert read.noise == "readout errors of fake_manila"
    flagged = verify_samples(c, theta, read.samples, sigma=1.0, key=key)
    assert flagged.mean > 4 * flagged.stderr
    passed = verify_samples(c, theta, read.samples, sigma=1.0, key=key, readout_error=p)
    assert abs(passed.mean) < 4 * passed.stderr

    mps = export.sample_aer(c, theta, 200, method="matrix_product_state", seed=1)
    assert mps.method == "matrix_product_state" and 1 <= mps.max_bond_dimension <= 4
    assert mps.truncation == {"threshold": 1e-16, "max_bond_dimension": None}


def test_bad_input(manila):
    c = iqpgen.IqpCircuit(6, gates.local(6, 1))
    theta = np.zeros(6)
    with pytest.raises(ValueError, match="6 qubits but the backend only 5"):
        export.transpile(c, theta, manila)
    small = iqpgen.IqpCircuit(3, gates.local(3, 2))
    with pytest.raises(ValueError, match="initial_layout must list 3 distinct"):
        export.transpile(small, np.zeros(6), manila, initial_layout=[0, 0, 1])
    with pytest.raises(ValueError, match="initial_layout names qubit 9"):
        export.transpile(small, np.zeros(6), manila, initial_layout=[0, 1, 9])
    with pytest.raises(TypeError, match="backend must be"):
        export.transpile(small, np.zeros(6), "fake_manila")
    with pytest.raises(ValueError, match="optimization_level"):
        export.transpile(small, np.zeros(6), manila, optimization_level=4)
    with pytest.raises(ValueError, match="noise=True needs a Qiskit backend"):
        export.sample_aer(small, np.zeros(6), 10, backend=[(0, 1), (1, 2)], noise=True)
    with pytest.raises(ValueError, match="noise must be True, False or 'readout'"):
        export.sample_aer(small, np.zeros(6), 10, backend=manila, noise="gates")
    with pytest.raises(ValueError, match="method must be one of"):
        export.sample_aer(small, np.zeros(6), 10, method="tensor_magic")
    with pytest.raises(ValueError, match="shots"):
        export.sample_aer(small, np.zeros(6), 0)
