"""Tests of readout error (iqpgen.noise and the readout_error arguments) and of
iqpgen.evaluate.verify_samples.

Oracles: PennyLane's default.mixed with bit-flip channels before measurement; the exact state
vector (iqpgen.exact); the MMD² between exact distributions; finite differences.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pennylane as qml
import pytest

import iqpgen
from iqpgen import export, noise
from iqpgen.evaluate import verify_samples

P = np.array([0.03, 0.1, 0.0, 0.2])  # one flip probability per qubit


@pytest.fixture(scope="module")
def small():
    c = iqpgen.IqpCircuit(4, iqpgen.gates.local(4, 2))
    theta = np.asarray(jax.random.normal(jax.random.key(0), (c.n_params,))) * 0.5
    ops = iqpgen.exact.all_bitstrings(4)[1:]
    return c, theta.astype(np.float32), ops


def test_readout_matches_default_mixed(small):
    c, theta, ops = small
    body = export.to_pennylane(c, theta)
    dev = qml.device("default.mixed", wires=4)

    @qml.qnode(dev)
    def noisy_probs():
        body()
        for q in range(4):
            qml.BitFlip(float(P[q]), wires=q)
        return qml.probs()

    ref = np.asarray(noisy_probs())
    ideal = np.asarray(iqpgen.exact.probs(c, theta), np.float64)
    np.testing.assert_allclose(noise.apply_to_probs(ideal, P), ref, atol=2e-6)
    # ⟨Z_a⟩ of the read-out bits, from the noisy distribution: the exact factor Π(1 − 2p_i).
    bits = iqpgen.exact.all_bitstrings(4).astype(np.int64)
    signs = 1 - 2 * ((bits @ ops.T.astype(np.int64)) % 2)
    np.testing.assert_allclose(
        iqpgen.exact.expval(c, theta, ops, readout_error=P), ref @ signs, atol=2e-6
    )


@pytest.mark.parametrize("fn", ["expval_pairwise", "expval_generic", "expval_phase_table"])
def test_monte_carlo_paths_with_readout(small, fn):
    c, theta, ops = small
    est = getattr(iqpgen.estimator, fn)(
        c, theta, ops, key=jax.random.key(1), n_samples=4000, readout_error=P
    )
    want = np.asarray(iqpgen.exact.expval(c, theta, ops, readout_error=P))
    assert np.all(np.abs(np.asarray(est.mean) - want) <= 4.5 * np.asarray(est.stderr) + 1e-6)


def test_mmd_with_readout_exact_and_unbiased(small):
    c, theta, _ = small
    X = iqpgen.exact.sample(c, theta + 0.3, 60, key=jax.random.key(2))
    sig = [1.0, 2.0]
    noisy = noise.apply_to_probs(np.asarray(iqpgen.exact.probs(c, theta), np.float64), P)
    emp = np.bincount(np.asarray(X) @ (1 << np.arange(3, -1, -1)), minlength=16) / 60
    want = iqpgen.mmd.exact_between_distributions(noisy, emp, sig)
    got = iqpgen.mmd.exact(c, theta, X, sig, unbiased=False, readout_error=P)
    np.testing.assert_allclose(float(got), want, rtol=1e-4, atol=1e-7)
    exact = float(iqpgen.mmd.exact(c, theta, X, sig, readout_error=P))
    vals = [
        float(iqpgen.mmd_loss(c, theta, X, key=jax.random.key(k), sigma=sig, readout_error=P))
        for k in range(30)
    ]
    assert abs(np.mean(vals) - exact) <= 4.5 * np.std(vals, ddof=1) / np.sqrt(30)
    assert abs(exact - float(iqpgen.mmd.exact(c, theta, X, sig))) > 1e-3  # the noise matters

    def loss(t):
        return iqpgen.mmd.exact(c, t, X, sig, readout_error=P)

    with jax.enable_x64(True):
        t64 = jnp.asarray(theta, jnp.float64)
        g = np.asarray(jax.grad(loss)(t64))
        e = np.zeros_like(g)
        e[3] = 1e-5
        fd = (float(loss(t64 + e)) - float(loss(t64 - e))) / 2e-5
    np.testing.assert_allclose(g[3], fd, rtol=1e-4, atol=1e-8)


def test_model_with_readout_error(small, tmp_path):
    c, theta, _ = small
    X = np.asarray(iqpgen.exact.sample(c, theta, 400, key=jax.random.key(3)))
    X = noise.flip_bits(X, np.full(4, 0.1), key=jax.random.key(4))  # a device's read-out
    kw = dict(gates=c, sigma=[1.0, 2.0], max_steps=60, random_state=0, verbose=False)
    aware = iqpgen.IqpModel(readout_error=0.1, **kw).fit(X)
    assert aware.history_.loss[-1] < aware.history_.loss[0]
    want = iqpgen.mmd.exact(c, aware.params_, X, [1.0, 2.0], readout_error=0.1)
    assert aware.mmd(X) == pytest.approx(float(want), rel=1e-5)
    probs = aware.probs()
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    ideal = np.asarray(iqpgen.exact.probs(c, aware.params_), np.float64)
    np.testing.assert_allclose(probs, noise.apply_to_probs(ideal, np.full(4, 0.1)), atol=1e-7)
    bits = aware.sample(20000, random_state=0)
    want_mean = probs @ iqpgen.exact.all_bitstrings(4)
    assert np.all(np.abs(bits.mean(axis=0) - want_mean) < 4.5 * 0.5 / np.sqrt(20000))
    aware.save(tmp_path / "m.npz")
    back = iqpgen.IqpModel.load(tmp_path / "m.npz")
    assert back.readout_error == 0.1 and back.mmd(X) == pytest.approx(aware.mmd(X))
    mc = iqpgen.IqpModel(readout_error=list(P), estimator="monte_carlo", **{**kw, "max_steps": 3})
    mc.fit(X)
    assert np.isfinite(mc.mmd(X)) and mc.expval(np.eye(4, dtype=int)).mean.shape == (4,)


@pytest.mark.parametrize(
    "bad, err, match",
    [
        (0.5, ValueError, r"\[0, 0.5\)"),
        (-0.1, ValueError, r"\[0, 0.5\)"),
        (float("nan"), ValueError, r"\[0, 0.5\)"),
        ([0.1, 0.1], ValueError, "one per qubit"),
        ("low", TypeError, "readout_error must be a probability"),
        (True, TypeError, "readout_error must be a probability"),
    ],
)
def test_bad_readout_error(small, bad, err, match):
    c, theta, ops = small
    X = np.zeros((4, 4), np.uint8)
    with pytest.raises(err, match=match):
        iqpgen.expval(c, theta, ops, key=jax.random.key(0), readout_error=bad)
    with pytest.raises(err, match=match):
        iqpgen.mmd_loss(c, theta, X, key=jax.random.key(0), sigma=1.0, readout_error=bad)
    with pytest.raises(err, match=match):
        iqpgen.IqpModel(readout_error=bad, max_steps=1, verbose=False).fit(X)


def test_verify_samples_accepts_the_circuit_and_detects_others():
    n = 10
    c = iqpgen.IqpCircuit(n, iqpgen.gates.local(n, 2))
    theta = np.asarray(jax.random.normal(jax.random.key(0), (c.n_params,))) * 0.3
    shots = np.asarray(iqpgen.exact.sample(c, theta, 4000, key=jax.random.key(1)))
    key = jax.random.key(2)
    sig = [1.0, 3.0]
    ok = verify_samples(c, theta, shots, sigma=sig, key=key)
    assert np.all(np.abs(ok.mean) < 4 * ok.stderr)
    drift = theta + 0.1 * np.asarray(jax.random.normal(jax.random.key(5), theta.shape))
    other = np.asarray(iqpgen.exact.sample(c, drift, 4000, key=jax.random.key(1)))
    bad = verify_samples(c, theta, other, sigma=sig, key=key)
    assert np.all(bad.mean > 4 * bad.stderr)
    flipped = noise.flip_bits(shots, np.full(n, 0.1), key=jax.random.key(4))
    read = verify_samples(c, theta, flipped, sigma=1.0, key=key)
    assert isinstance(read.mean, float) and read.mean > 4 * read.stderr
    modelled = verify_samples(c, theta, flipped, sigma=1.0, key=key, readout_error=0.1)
    assert abs(modelled.mean) < 4 * modelled.stderr


def test_model_verify_samples_and_bad_samples():
    X = iqpgen.datasets.blobs(300, key=jax.random.key(0), n_bits=6, n_blobs=2)
    model = iqpgen.IqpModel(sigma=[1.0, 2.0], max_steps=10, random_state=0, verbose=False).fit(X)
    est = model.verify_samples(model.sample(2000, random_state=1))
    assert est.mean.shape == (len(model.sigma_),)
    assert np.all(np.abs(est.mean) < 4 * est.stderr)
    with pytest.raises(ValueError, match="samples has 5 columns"):
        model.verify_samples(np.zeros((40, 5), np.uint8))
    with pytest.raises(ValueError, match="samples needs at least 20"):
        model.verify_samples(np.zeros((19, 6), np.uint8))
    with pytest.raises(ValueError, match="samples"):
        model.verify_samples(np.full((40, 6), 2))
    with pytest.raises(ValueError, match="n_repeats"):
        model.verify_samples(np.zeros((40, 6), np.uint8), n_repeats=1)
