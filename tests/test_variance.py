"""Variance reduction of the Monte Carlo estimators: every choice unbiased against the exact
state vector, and the variance it removes (gradients against finite differences: test_mmd)."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import iqpgen
from conftest import random_params, tied_circuit
from iqpgen import mmd
from iqpgen.estimator import VARIANCE_REDUCTIONS

PAIRWISE = VARIANCE_REDUCTIONS  # every choice applies to weight <= 2 circuits


def _data(n, m=60, seed=3, p=0.3):
    return np.asarray(jax.random.bernoulli(jax.random.key(seed), p, (m, n)), np.uint8)


def _init_like(circuit, seed, pair_scale=0.05):
    """Large single-qubit angles, small pair angles: the data-dependent start's regime."""
    w = np.zeros(circuit.n_params)
    w[np.asarray(circuit.gate_of)] = circuit.weights()
    u = np.random.default_rng(seed).uniform(0.2, 1.3, circuit.n_params)
    g = np.random.default_rng(seed + 1).normal(0, pair_scale, circuit.n_params)
    return jnp.asarray(np.where(w == 1, u, g), jnp.float32)


@pytest.mark.parametrize(
    "path, vr, spin_sym",
    [("pairwise", vr, s) for vr in PAIRWISE[1:] for s in (False, True)]
    + [("generic", "control+antithetic", True), ("table", "control+antithetic", False)],
)
def test_expval_is_unbiased_on_every_path(path, vr, spin_sym, all_ops):
    c = iqpgen.IqpCircuit(6, iqpgen.gates.local(6, 2), spin_sym=spin_sym)
    p = random_params(c, 3, scale=0.5)
    ops = all_ops(6)
    exact = np.asarray(iqpgen.exact.expval(c, p, ops))
    f = {
        "pairwise": iqpgen.expval_pairwise,
        "generic": iqpgen.expval_generic,
        "table": iqpgen.expval_phase_table,
    }[path]
    est = f(c, p, ops, key=jax.random.key(5), n_samples=4000, variance_reduction=vr)
    se = np.maximum(np.asarray(est.stderr), 1e-6)
    assert np.max(np.abs(np.asarray(est.mean) - exact) / se) < 4.5


def test_control_variate_on_heavier_generators_and_spin_sym_full_support(all_ops):
    # Weight-3 generators: the control variate applies (antithetic does not); with spin_sym
    # the all-ones operator keeps the plain estimate.
    c = tied_circuit(5, 3, seed=2, spin_sym=True)
    p = random_params(c, 2)
    ops = all_ops(5)
    exact = np.asarray(iqpgen.exact.expval(c, p, ops))
    est = iqpgen.expval(
        c, p, ops, key=jax.random.key(1), n_samples=4000, variance_reduction="control"
    )
    se = np.maximum(np.asarray(est.stderr), 1e-6)
    assert np.max(np.abs(np.asarray(est.mean) - exact) / se) < 4.5
    with pytest.raises(ValueError, match="antithetic"):
        iqpgen.expval(c, p, ops, key=jax.random.key(1), variance_reduction="antithetic")
    odd = iqpgen.IqpCircuit(5, iqpgen.gates.local(5, 2), spin_sym=True)
    with pytest.raises(ValueError, match="even number of qubits"):
        iqpgen.expval(
            odd,
            jnp.zeros(odd.n_params),
            ops,
            key=jax.random.key(1),
            variance_reduction="control+antithetic",
        )
    with pytest.raises(ValueError, match="variance_reduction must be one of"):
        iqpgen.expval(
            odd, jnp.zeros(odd.n_params), ops, key=jax.random.key(1), variance_reduction="cv"
        )


@pytest.mark.parametrize("vr", PAIRWISE[1:])
def test_mmd_loss_is_unbiased_with_variance_reduction(vr):
    c = iqpgen.IqpCircuit(6, iqpgen.gates.local(6, 2))
    p = random_params(c, 1)
    X = _data(6)
    exact = mmd.exact(c, p, X, [0.7, 1.5])
    f = jax.jit(
        functools.partial(
            mmd.loss_from_packed, sigmas=(0.7, 1.5), n_ops=100, n_samples=100, variance_reduction=vr
        )
    )
    data = mmd.pack_data(X)
    vals = np.array([float(f(c, p, data, jax.random.key(i))) for i in range(40)])
    assert abs(vals.mean() - exact) < 4.5 * vals.std(ddof=1) / np.sqrt(len(vals))


def test_variance_reduction_removes_most_of_the_noise_near_the_data_start():
    # 12 qubits, every pair, pair angles ~0.05 beside single angles ~1 (the data start's
    # regime). Same samples: the control variate with the antithetic pairing leaves under a
    # tenth of the variance of each <Z_a> estimate; the antithetic pairing alone under a third
    # of the variance of the pair-angle gradient (the single-angle gradient's noise is the
    # operators', which neither touches). Their cost per step: benchmarks/README.md.
    c = iqpgen.gates.local_circuit(12, 2)
    p = _init_like(c, 0)
    ops = np.asarray(jax.random.bernoulli(jax.random.key(3), 0.2, (300, 12)), np.uint8)
    var = {
        vr: np.mean(
            np.asarray(
                iqpgen.expval(
                    c, p, ops, key=jax.random.key(1), n_samples=2000, variance_reduction=vr
                ).stderr
            )
            ** 2
        )
        for vr in ("none", "control+antithetic")
    }
    assert var["control+antithetic"] < 0.1 * var["none"]
    data = mmd.pack_data(_data(12, m=400, seed=2))
    pair = c.weights() == 2  # one generator per gate: parameter k is generator k
    gvar = {}
    for vr in ("none", "antithetic"):
        f = jax.jit(
            jax.grad(
                functools.partial(
                    mmd.loss_from_packed,
                    c,
                    sigmas=(1.0, 2.0),
                    n_ops=200,
                    n_samples=200,
                    variance_reduction=vr,
                )
            )
        )
        G = np.stack([np.asarray(f(p, data, jax.random.key(i))) for i in range(24)])
        gvar[vr] = G.var(axis=0, ddof=1)[pair].mean()
    assert gvar["antithetic"] < 0.3 * gvar["none"]
