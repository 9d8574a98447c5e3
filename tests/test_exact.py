"""The JAX state vector against an independent one and PennyLane; its transforms, sizes and
gradients; the bitflip model against its own samples."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import iqpgen
from conftest import random_params, statevector_probs, tied_circuit


@pytest.mark.parametrize(
    "n,max_weight,spin_sym",
    # (PennyLane's spin_sym state preparation takes minutes at 12 qubits: 5 is enough there.)
    [(5, 2, False), (5, 2, True), (5, 4, False), (5, 4, True), (12, 3, False)],
)
def test_probs_match_pennylane_default_qubit(n, max_weight, spin_sym):
    import pennylane as qml

    c = tied_circuit(n, max_weight, seed=max_weight, spin_sym=spin_sym)
    params = np.asarray(random_params(c, 1), np.float64)
    pattern = [[list(g) for g in gate] for gate in c.gates]

    @qml.qnode(qml.device("default.qubit", wires=n))
    def circuit():
        qml.IQP(weights=params, num_wires=n, pattern=pattern, spin_sym=spin_sym)
        return qml.probs()

    expected = circuit()
    np.testing.assert_allclose(iqpgen.exact.probs(c, params), expected, atol=2e-6)  # float32
    with jax.enable_x64(True):
        p64 = iqpgen.exact.probs(c, params)
        assert p64.dtype == jnp.float64
        np.testing.assert_allclose(p64, expected, atol=1e-12)


@pytest.mark.parametrize("spin_sym", [False, True])
@pytest.mark.parametrize("n,max_weight,seed", [(1, 1, 0), (3, 3, 1), (6, 2, 2), (7, 5, 3)])
def test_probs_and_state_match_an_independent_state_vector(n, max_weight, seed, spin_sym):
    """Tied parameters, every weight up to n, spin_sym; float32 and float64."""
    c = tied_circuit(n, max_weight, seed=seed, spin_sym=spin_sym)
    params = np.asarray(random_params(c, seed, scale=1.5), np.float64)
    expected = statevector_probs(c, params)
    p32 = iqpgen.exact.probs(c, params)
    assert p32.dtype == jnp.float32 and iqpgen.exact.state(c, params).dtype == jnp.complex64
    np.testing.assert_allclose(p32, expected, atol=2e-6)
    with jax.enable_x64(True):
        psi = iqpgen.exact.state(c, params)
        assert psi.dtype == jnp.complex128
        np.testing.assert_allclose(np.abs(psi) ** 2, expected, atol=1e-13)
        np.testing.assert_allclose(iqpgen.exact.probs(c, params), expected, atol=1e-13)


def test_phase_table_is_the_generator_sum():
    """Θ̂(z) = Σ_k 2θ_k Σ_g (−1)^{z·g} by brute force, and ½(Θ̂(z) − Θ̂(z ⊕ a)) is the
    Monte Carlo phase Σ 2θ [a·g odd] (−1)^{z·g}."""
    c = tied_circuit(5, 4, seed=6)
    params = np.asarray(random_params(c, 6), np.float64)
    z = iqpgen.exact.all_bitstrings(5).astype(np.int64)
    gens = [list(g) for gate in c.gates for g in gate]
    theta = np.concatenate([[params[k]] * len(gate) for k, gate in enumerate(c.gates)])
    signs = np.stack([1 - 2 * (z[:, g].sum(1) % 2) for g in gens], axis=1)  # (2^n, G)
    with jax.enable_x64(True):
        table = np.asarray(iqpgen.walsh.phase_table(c, jnp.asarray(params)))
        np.testing.assert_allclose(table, signs @ (2 * theta), atol=1e-12)
        odd = np.stack([z[:, g].sum(1) % 2 for g in gens], axis=1)  # a as rows of z
        zi, ai = np.arange(32), np.arange(32)
        phases = np.asarray(
            iqpgen.walsh.table_phases(jnp.asarray(table), jnp.asarray(zi), jnp.asarray(ai))
        )
    np.testing.assert_allclose(phases, (odd * 2 * theta) @ signs.T, atol=1e-12)


def test_walsh_hadamard_jax_numpy_and_inverse():
    v = np.random.default_rng(0).normal(size=(64, 3))
    h = iqpgen.walsh.walsh_hadamard(v)
    xs = iqpgen.exact.all_bitstrings(6).astype(int)
    np.testing.assert_allclose(h, (-1.0) ** (xs @ xs.T) @ v, atol=1e-12)
    np.testing.assert_allclose(iqpgen.walsh.walsh_hadamard(h) / 64, v, atol=1e-12)
    hj = jax.jit(iqpgen.walsh.walsh_hadamard)(jnp.asarray(v, jnp.float32))
    np.testing.assert_allclose(hj, h, atol=1e-5)
    # The transform is symmetric, so its vjp is itself.
    g = jax.grad(lambda x: jnp.sum(iqpgen.walsh.walsh_hadamard(x)[:, 0] * jnp.arange(64.0)))(
        jnp.zeros((64, 3))
    )
    np.testing.assert_allclose(g[:, 0], iqpgen.walsh.walsh_hadamard(np.arange(64.0)), atol=1e-4)
    with pytest.raises(ValueError, match="length 2\\^n"):
        iqpgen.walsh.walsh_hadamard(np.ones(6))


def test_exact_expval_is_brute_force_parity_average(all_ops):
    c = tied_circuit(4, 3, seed=1)
    p = random_params(c, 1)
    probs = statevector_probs(c, p)
    x = iqpgen.exact.all_bitstrings(4).astype(int)
    ops = all_ops(4)
    brute = [(probs * (-1.0) ** (x @ a)).sum() for a in ops.astype(int)]
    np.testing.assert_allclose(iqpgen.exact.expval(c, p, ops), brute, atol=2e-6)
    np.testing.assert_allclose(iqpgen.exact.expval_table(c, p)[1:], brute, atol=2e-6)


def test_single_qubit_closed_form():
    c = iqpgen.IqpCircuit(1, [[[0]]])
    for t in (0.0, 0.3, 1.1):
        assert float(iqpgen.exact.expval(c, np.array([t]), [[1]])[0]) == pytest.approx(
            np.cos(2 * t), abs=1e-6
        )


def test_exact_functions_jit_and_differentiate():
    """Jit-able in the parameters (one trace for new values), and ∂⟨Z_a⟩/∂θ against central
    differences in float64."""
    c = tied_circuit(5, 3, seed=9, spin_sym=True)
    ops = np.array([[1, 1, 0, 0, 0], [0, 1, 1, 1, 1]])
    traces = []

    def f(p):
        traces.append(1)
        return iqpgen.exact.expval(c, p, ops)

    fj = jax.jit(f)
    p = random_params(c, 9)
    np.testing.assert_allclose(fj(p), iqpgen.exact.expval(c, p, ops), atol=1e-6)
    fj(p + 0.1)
    assert len(traces) == 1
    with jax.enable_x64(True):
        p64 = jnp.asarray(p, jnp.float64)
        jac = jax.jacobian(f)(p64)
        eps = 1e-6
        for i in range(c.n_params):
            d = jnp.zeros_like(p64).at[i].set(eps)
            fd = (f(p64 + d) - f(p64 - d)) / (2 * eps)
            np.testing.assert_allclose(jac[:, i], fd, atol=1e-8)


def test_exact_sample_frequencies():
    c = tied_circuit(3, 2, seed=4)
    p = random_params(c, 4)
    x = np.asarray(iqpgen.exact.sample(c, p, 20000, key=jax.random.key(0)))
    idx = x.astype(int) @ np.array([4, 2, 1])
    freq = np.bincount(idx, minlength=8) / len(x)
    probs = statevector_probs(c, p)
    assert np.all(np.abs(freq - probs) <= 5 * np.sqrt(probs * (1 - probs) / len(x)) + 1e-9)


def test_22_qubits_exact_against_the_product_formula():
    """Single-qubit gates only: qubit i is 1 with probability sin²θ_i, independently; checked
    on the marginals of the 2^22 probabilities and of 4,000 exact samples."""
    n = 22
    c = iqpgen.IqpCircuit(n, iqpgen.gates.local(n, 1))
    theta = jnp.linspace(0.1, 1.4, n)
    q = iqpgen.exact.probs(c, theta)
    assert q.shape == (2**n,) and float(q.sum()) == pytest.approx(1.0, abs=1e-5)
    marg = np.asarray(q, np.float64).reshape([2] * n)
    ones = np.array([marg.take(1, axis=i).sum() for i in (0, 7, 21)])
    np.testing.assert_allclose(ones, np.sin(np.asarray(theta)[[0, 7, 21]]) ** 2, atol=1e-5)
    x = np.asarray(iqpgen.exact.sample(c, theta, 4000, key=jax.random.key(1)))
    p = np.sin(np.asarray(theta)) ** 2
    assert np.all(np.abs(x.mean(0) - p) <= 5 * np.sqrt(p * (1 - p) / 4000))


def test_exact_refuses_circuits_over_the_memory_budget():
    n = iqpgen.exact.max_qubits() + 1
    assert n >= 25  # at least 24 qubits fit on a 24 GB machine
    c = iqpgen.IqpCircuit(n, iqpgen.gates.local(n, 1))
    for f in (iqpgen.exact.probs, iqpgen.exact.state, iqpgen.exact.expval_table):
        with pytest.raises(ValueError, match="budget of .* GiB .* iqpgen.expval"):
            f(c, np.zeros(n))
    with pytest.raises(ValueError, match="budget"):
        iqpgen.mmd.exact(c, np.zeros(n), np.zeros((2, n), np.uint8), 1.0)
    with pytest.warns(DeprecationWarning, match="max_qubits"):
        assert iqpgen.exact.MAX_QUBITS == n - 1


def test_exact_bad_input():
    c = iqpgen.IqpCircuit(3, [[[0, 1]], [[2]]])
    with pytest.raises(ValueError, match="params has shape"):
        iqpgen.exact.probs(c, np.zeros(3))
    with pytest.raises(ValueError, match="NaN"):
        iqpgen.exact.state(c, np.array([0.1, np.nan]))
    with pytest.raises(ValueError, match="2 columns but the circuit has 3"):
        iqpgen.exact.expval(c, np.zeros(2), [[1, 0]])
    with pytest.raises(ValueError, match="n_samples must be at least 1"):
        iqpgen.exact.sample(c, np.zeros(2), 0, key=jax.random.key(0))
    with pytest.raises(TypeError, match="circuit must be an iqpgen.IqpCircuit"):
        iqpgen.exact.probs("circuit", np.zeros(2))


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
