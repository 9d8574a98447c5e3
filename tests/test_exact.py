"""The state-vector oracle against PennyLane, and the bitflip model against its own samples."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import iqpgen
from conftest import random_params, tied_circuit


@pytest.mark.parametrize("spin_sym", [False, True])
@pytest.mark.parametrize("max_weight", [2, 4])
def test_probs_match_pennylane_default_qubit(max_weight, spin_sym):
    import pennylane as qml

    n = 5
    c = tied_circuit(n, max_weight, seed=max_weight, spin_sym=spin_sym)
    params = np.asarray(random_params(c, 1), np.float64)
    pattern = [[list(g) for g in gate] for gate in c.gates]

    @qml.qnode(qml.device("default.qubit", wires=n))
    def circuit():
        qml.IQP(weights=params, num_wires=n, pattern=pattern, spin_sym=spin_sym)
        return qml.probs()

    np.testing.assert_allclose(iqpgen.exact.probs(c, params), circuit(), atol=1e-12)


def test_exact_expval_is_brute_force_parity_average(all_ops):
    c = tied_circuit(4, 3, seed=1)
    p = random_params(c, 1)
    probs = iqpgen.exact.probs(c, p)
    x = iqpgen.exact.all_bitstrings(4).astype(int)
    ops = all_ops(4)
    brute = [(probs * (-1.0) ** (x @ a)).sum() for a in ops.astype(int)]
    np.testing.assert_allclose(iqpgen.exact.expval(c, p, ops), brute, atol=1e-12)


def test_single_qubit_closed_form():
    c = iqpgen.IqpCircuit(1, [[[0]]])
    for t in (0.0, 0.3, 1.1):
        assert iqpgen.exact.expval(c, np.array([t]), [[1]])[0] == pytest.approx(np.cos(2 * t))


def test_exact_sample_frequencies():
    c = tied_circuit(3, 2, seed=4)
    p = random_params(c, 4)
    x = iqpgen.exact.sample(c, p, 20000, key=jax.random.key(0))
    idx = x.astype(int) @ np.array([4, 2, 1])
    freq = np.bincount(idx, minlength=8) / len(x)
    probs = iqpgen.exact.probs(c, p)
    assert np.all(np.abs(freq - probs) <= 5 * np.sqrt(probs * (1 - probs) / len(x)) + 1e-9)


def test_exact_refuses_large_circuits():
    c = iqpgen.IqpCircuit(21, iqpgen.gates.local(21, 1))
    with pytest.raises(ValueError, match="iqpgen.expval"):
        iqpgen.exact.probs(c, np.zeros(21))


@pytest.mark.parametrize("spin_sym", [False, True])
def test_bitflip_expval_matches_its_samples(spin_sym, all_ops):
    c = tied_circuit(6, 3, seed=8, spin_sym=spin_sym)
    p = random_params(c, 8)
    ops = all_ops(6)
    exact = np.asarray(iqpgen.bitflip.expval(c, p, ops))
    n_samples = 40000
    x = np.asarray(iqpgen.bitflip.sample(c, p, n_samples, key=jax.random.key(3))).astype(int)
    signs = (-1.0) ** (x @ ops.T.astype(int))
    mean = signs.mean(0)
    se = np.sqrt(np.maximum(1 - exact**2, 1e-12) / n_samples)
    assert np.all(np.abs(mean - exact) <= 5 * se + 1e-9)


def test_bitflip_equals_iqp_for_single_qubit_gates(all_ops):
    """With only weight-1 generators each Z_a sees independent rotations: both models agree."""
    c = iqpgen.IqpCircuit(4, iqpgen.gates.local(4, 1))
    p = jnp.array([0.1, 0.5, 0.9, 1.3])
    ops = all_ops(4)
    np.testing.assert_allclose(
        iqpgen.bitflip.expval(c, p, ops), iqpgen.exact.expval(c, p, ops), atol=1e-6
    )


def test_bitflip_bad_input():
    c = iqpgen.IqpCircuit(2, [[[0]]])
    with pytest.raises(ValueError, match="n_samples must be at least 1"):
        iqpgen.bitflip.sample(c, np.zeros(1), 0, key=jax.random.key(0))
    with pytest.raises(ValueError, match="params has shape"):
        iqpgen.bitflip.expval(c, np.zeros(2), [[1, 0]])
