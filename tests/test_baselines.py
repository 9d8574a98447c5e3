"""Baselines: independent bits, the bitflip model and the RBM, against exact oracles."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from sklearn.base import clone

import iqpgen
from conftest import random_params, tied_circuit
from iqpgen.baselines import (
    RBM,
    BitflipModel,
    DeepEBM,
    IndependentBits,
    Uniform,
    bitflip_loss,
    common,
)
from iqpgen.baselines import bitflip_model as B
from iqpgen.estimator import supports_from_ops


def _data(n=5, m=300, seed=0):
    """Bits with marginals away from 1/2, bit 1 a noisy copy of bit 0."""
    rng = np.random.default_rng(seed)
    X = (rng.random((m, n)) < np.linspace(0.15, 0.4, n)).astype(np.uint8)
    X[:, 1] = X[:, 0] ^ (rng.random(m) < 0.05)
    return X


def _u_stat_oracle(q_all, X, sigma):
    """Σ_a π_σ(a) (q_a² − 2 q_a F_a/m + (F_a² − m)/(m(m−1))) over all 2^n operators."""
    n, m = X.shape[1], X.shape[0]
    ops = iqpgen.exact.all_bitstrings(n)
    F = (1 - 2 * ((X.astype(np.int64) @ ops.T) % 2)).sum(axis=0).astype(np.float64)
    terms = q_all**2 - 2 * q_all * F / m + (F * F - m) / (m * (m - 1))
    p = iqpgen.mmd.op_probability(sigma)
    w = ops.sum(axis=1)
    return float((p**w * (1 - p) ** (n - w)) @ terms)


def _losses(fn, n_keys):
    return np.array([float(fn(jax.random.key(k))) for k in range(n_keys)])


# ------------------------------------------------------------------- independent bits
def test_independent_expval_is_the_product_of_marginals():
    X = _data()
    model = IndependentBits(sigma=1.0).fit(X)
    np.testing.assert_allclose(model.probs_, X.mean(0))
    ops = iqpgen.exact.all_bitstrings(5)
    z = 1 - 2 * X.mean(0)
    expected = np.array([np.prod(z[a == 1]) for a in ops])
    np.testing.assert_allclose(model.expval(ops), expected, atol=1e-12)
    # The traced path used inside losses agrees.
    fn, state = model._expval_supports()
    got = fn(state, jnp.asarray(supports_from_ops(ops, 5)))
    np.testing.assert_allclose(np.asarray(got), expected, atol=1e-6)


def test_independent_sampling_statistics():
    X = _data()
    model = IndependentBits(random_state=3).fit(X)
    S = model.sample(20_000)
    assert S.dtype == np.uint8 and S.shape == (20_000, 5)
    se = np.sqrt(model.probs_ * (1 - model.probs_) / 20_000)
    assert np.all(np.abs(S.mean(0) - model.probs_) < 5 * se)
    # Independence: the empirical correlation of bits 0 and 1 is ~0 (they are correlated in X).
    assert abs(np.corrcoef(S[:, 0], S[:, 1])[0, 1]) < 5 / np.sqrt(20_000)
    np.testing.assert_array_equal(model.sample(7, random_state=1), model.sample(7, random_state=1))
    assert not np.array_equal(model.sample(50, random_state=1), model.sample(50, random_state=2))


def test_independent_mmd_is_unbiased():
    """Mean over keys within 4 standard errors of the exact value (fixed keys: deterministic;
    the chance that a correct estimator lands outside is about 6e-5)."""
    X = _data(m=200, seed=1)
    model = IndependentBits(sigma=0.9, n_ops=50).fit(X[:100])
    q_all = model.expval(iqpgen.exact.all_bitstrings(5))
    exact = _u_stat_oracle(q_all, X[100:], 0.9)
    vals = np.array([model.mmd(X[100:], random_state=k) for k in range(40)])
    assert abs(vals.mean() - exact) < 4 * vals.std(ddof=1) / np.sqrt(len(vals)) + 1e-6
    assert model.score(X[100:]) == -model.mmd(X[100:])


# ------------------------------------------------------------------------- bitflip
def _brute_bitflip(circuit, params, ops):
    """⟨Z_a⟩ = Π_g cos(2θ_g)^[a·g odd] and its gradient by the product rule, in float64."""
    n = circuit.n_qubits
    gens = np.asarray(circuit.generators)
    member = np.zeros((gens.shape[0], n + 1))
    member[np.arange(gens.shape[0])[:, None], gens] = 1
    odd = (ops @ member[:, :n].T) % 2 == 1  # (n_ops, n_gens)
    theta = np.asarray(params, np.float64)[np.asarray(circuit.gate_of)]
    f, df = np.cos(2 * theta), -2 * np.sin(2 * theta)
    factors = np.where(odd, f, 1.0)
    value = factors.prod(axis=1)
    grad = np.zeros((ops.shape[0], circuit.n_params))
    for g in range(gens.shape[0]):
        others = np.delete(factors, g, axis=1).prod(axis=1)
        grad[:, circuit.gate_of[g]] += np.where(odd[:, g], df[g] * others, 0.0)
    if circuit.spin_sym:
        even = ops.sum(axis=1) % 2 == 0
        value, grad = value * even, grad * even[:, None]
    return value, grad


@pytest.mark.parametrize("spin_sym", [False, True])
def test_pairwise_bitflip_expval_matches_the_product_formula(spin_sym):
    c = tied_circuit(6, 2, seed=4, spin_sym=spin_sym)
    params = random_params(c, 4, scale=1.0)
    # Angles where cos 2θ is 0 and -1 (signs and zeros are the delicate part).
    params = params.at[0].set(np.pi / 4).at[1].set(np.pi / 2).at[2].set(-np.pi / 2)
    ops = iqpgen.exact.all_bitstrings(6)[1:]
    supp = jnp.asarray(supports_from_ops(ops, 6))
    value, grad = _brute_bitflip(c, params, ops)
    fast = B._pairwise_bitflip_expval(c, params, supp)
    np.testing.assert_allclose(np.asarray(fast), value, atol=2e-6)
    # Reverse mode of a weighted sum, as in training (the cotangents of all operators meet).
    w = np.linspace(-1.0, 1.0, ops.shape[0])
    g = jax.grad(lambda p: jnp.sum(w * B._pairwise_bitflip_expval(c, p, supp)))(params)
    np.testing.assert_allclose(np.asarray(g), w @ grad, atol=2e-5)


@pytest.mark.parametrize("spin_sym", [False, True])
def test_bitflip_table_matches_the_product_formula(spin_sym):
    """Every ⟨Z_a⟩ of the Walsh–Hadamard table against the product over generators, and its
    gradient against the product rule (weights up to 3, gates of several generators, cosines
    of 0 and −1)."""
    c = tied_circuit(6, 3, seed=5, spin_sym=spin_sym)
    params = random_params(c, 6, scale=1.0)
    params = params.at[0].set(np.pi / 4).at[1].set(np.pi / 2).at[2].set(-np.pi / 2)
    ops = iqpgen.exact.all_bitstrings(6)
    value, grad = _brute_bitflip(c, params, ops)
    if spin_sym:
        even = (ops.sum(axis=1) % 2 == 0)[:, None]
        value, grad = value * even[:, 0], grad * even
    table = iqpgen.bitflip.expval_table(c, params)
    np.testing.assert_allclose(np.asarray(table), value, atol=2e-6)
    w = np.linspace(-1.0, 1.0, ops.shape[0])
    g = jax.grad(lambda p: jnp.sum(w * iqpgen.bitflip.expval_table_of(c, p)))(params)
    np.testing.assert_allclose(np.asarray(g), w @ grad, atol=2e-5)


def test_exact_bitflip_fit_trains_on_every_operator():
    """estimator="auto" is exact at 16 bits and fewer: the loss it minimises is the U-statistic
    MMD² over all 2^n operators (the oracle below), its gradient that of finite differences;
    Monte Carlo beyond, or when asked; bad values are refused."""
    X = _data(m=150, seed=2)
    model = BitflipModel(max_weight=2, sigma=[0.8, 2.0], max_steps=30, verbose=False).fit(X)
    assert model.estimator_ == "exact"
    loss = B._exact_loss_function((0.8, 2.0))
    table = iqpgen.mmd.data_table(X)
    c = model.circuit_
    with jax.enable_x64(True):
        params = jnp.asarray(model.params_, jnp.float64)
        q_all = np.asarray(iqpgen.bitflip.expval_table(c, params))
        oracle = np.mean([_u_stat_oracle(q_all, X, s) for s in (0.8, 2.0)])
        value_and_grad = jax.jit(jax.value_and_grad(loss))
        value, g = value_and_grad(params, None, c, table)
        assert float(value) == pytest.approx(oracle, abs=1e-12)
        d = np.random.default_rng(0).normal(size=params.shape)
        # Central differences err by O(eps²) here: 2.5e-7 relative at 1e-5, 3e-10 at 1e-6.
        eps = 1e-6
        fd = [float(value_and_grad(params + e * d, None, c, table)[0]) for e in (eps, -eps)]
        np.testing.assert_allclose(np.asarray(g) @ d, (fd[0] - fd[1]) / (2 * eps), rtol=1e-6)
        start = iqpgen.init.from_data(c, X).astype(jnp.float64)
        assert float(value) < float(value_and_grad(start, None, c, table)[0])
    mc = BitflipModel(estimator="monte_carlo", max_steps=2, sigma=1.0, verbose=False).fit(X)
    assert mc.estimator_ == "monte_carlo"
    wide = np.random.default_rng(0).integers(0, 2, (20, 17))
    assert BitflipModel(max_steps=0, sigma=1.0, verbose=False).fit(wide).estimator_ == "monte_carlo"
    with pytest.raises(ValueError, match="estimator must be one of"):
        BitflipModel(estimator="state_vector").fit(X)
    with pytest.raises(ValueError, match="estimator='exact'"):
        BitflipModel(estimator="exact", sigma=1.0).fit(np.zeros((4, 40), np.uint8))


def test_bitflip_loss_is_unbiased_for_the_exact_mmd():
    """Per-bandwidth means over 40 keys within 4 standard errors of the exact values."""
    X = _data(m=150, seed=2)
    c = tied_circuit(5, 2, seed=1)
    params = random_params(c, 1)
    q_all = np.asarray(iqpgen.bitflip.expval(c, params, iqpgen.exact.all_bitstrings(5)))
    packed = iqpgen.mmd.pack_data(X)
    terms = common.exact_terms(B._bitflip_expval)
    kw = dict(n_wires=5, sigmas=(0.8, 2.0), n_ops=40)
    keys = [jax.random.key(k) for k in range(40)]
    per = np.array([common.per_sigma_jit(terms, (c, params), packed, k, **kw) for k in keys])
    for col, sigma in enumerate((0.8, 2.0)):
        exact = _u_stat_oracle(q_all.astype(np.float64), X, sigma)
        se = per[:, col].std(ddof=1) / np.sqrt(40)
        assert abs(per[:, col].mean() - exact) < 4 * se + 1e-6, (sigma, per[:, col].mean(), exact)
    # The public loss averages the bandwidths' losses (same key, same operators).
    loss = bitflip_loss(c, params, X, key=jax.random.key(39), sigma=[0.8, 2.0], n_ops=40)
    np.testing.assert_allclose(float(loss), per[-1].mean(), rtol=1e-6)


def test_bitflip_loss_draws_the_operators_of_mmd_loss():
    """Same key, same operators: a circuit of single-qubit gates with angles 0 is the point
    distribution on 0…0 for both models, where the IQP estimate has no Monte Carlo noise."""
    X = _data(m=120, seed=3)
    c = iqpgen.IqpCircuit(5, [[[i]] for i in range(5)])
    p = jnp.zeros(5)
    key = jax.random.key(11)
    a = bitflip_loss(c, p, X, key=key, sigma=0.7, n_ops=30)
    b = iqpgen.mmd_loss(c, p, X, key=key, sigma=0.7, n_ops=30, n_samples=8)
    np.testing.assert_allclose(float(a), float(b), rtol=1e-5, atol=1e-7)


def test_bitflip_loss_gradient_matches_finite_differences():
    X = _data(m=100, seed=4)
    with jax.enable_x64(True):
        c = tied_circuit(5, 2, seed=2)
        params = np.asarray(random_params(c, 2), np.float64)
        key = jax.random.key(3)

        def f(p):
            return bitflip_loss(c, p, X, key=key, sigma=0.9, n_ops=30)

        g = np.asarray(jax.grad(f)(jnp.asarray(params)))
        rng = np.random.default_rng(0)
        for _ in range(3):
            d = rng.normal(size=params.shape)
            eps = 1e-5
            fd = (float(f(params + eps * d)) - float(f(params - eps * d))) / (2 * eps)
            np.testing.assert_allclose(g @ d, fd, rtol=1e-6, atol=1e-10)


P_MARGINAL = np.linspace(0.15, 0.4, 4)


def _true_probs():
    """The distribution _data(n=4) samples: independent bits, bit 1 = bit 0 flipped w.p. 0.05."""
    x = iqpgen.exact.all_bitstrings(4)
    p = np.where(x[:, 0] == 1, P_MARGINAL[0], 1 - P_MARGINAL[0])
    p = p * np.where(x[:, 1] != x[:, 0], 0.05, 0.95)
    for i in (2, 3):
        p = p * np.where(x[:, i] == 1, P_MARGINAL[i], 1 - P_MARGINAL[i])
    return p


@pytest.fixture(scope="module")
def fitted_bitflip():
    X = _data(n=4, m=3000, seed=5)
    model = BitflipModel(
        sigma=[0.8, 1.6], n_ops=64, learning_rate=0.03, max_steps=150, random_state=0,
        verbose=False,
    ).fit(X)  # fmt: skip
    return X, model


def test_bitflip_fit_learns_the_correlation(fitted_bitflip):
    X, model = fitted_bitflip
    assert model.params_.shape == (10,) and model.history_.loss.shape == (150,)
    assert model.n_features_in_ == 4 and model.sigma_ == (0.8, 1.6)
    # Initial parameters reproduce the marginals (singles arcsin√mean).
    init = iqpgen.init.from_data(model.circuit_, X)
    np.testing.assert_allclose(np.sin(np.asarray(init[:4])) ** 2, X.mean(0), atol=1e-6)
    # Bits 0 and 1 are noisy copies: pair flips learn it, independent bits cannot. Exact MMD²
    # to the distribution the data were drawn from.
    ops = iqpgen.exact.all_bitstrings(4)
    z_true = iqpgen.exact.walsh_hadamard(_true_probs())
    q_ind = IndependentBits().fit(X).expval(ops)
    q = model.expval(ops)
    for s in (0.8, 1.6):
        w = iqpgen.mmd._op_weights(4, s)
        d_model, d_ind = w @ (q - z_true) ** 2, w @ (q_ind - z_true) ** 2
        assert d_model < 0.1 * d_ind, (s, d_model, d_ind)
    assert model.history_.loss[-20:].mean() < model.history_.loss[:20].mean()


def test_bitflip_samples_match_exact_expectations(fitted_bitflip):
    _, model = fitted_bitflip
    S = model.sample(20_000, random_state=2)
    assert S.dtype == np.uint8 and S.shape == (20_000, 4)
    ops = iqpgen.exact.all_bitstrings(4)[1:]
    emp = (1 - 2 * ((S.astype(np.int64) @ ops.T) % 2)).mean(axis=0)
    q = model.expval(ops)
    se = np.sqrt(np.maximum(1 - q**2, 1e-12) / 20_000)
    assert np.all(np.abs(emp - q) < 5 * se + 1e-9)
    # A longer draw extends a shorter one with the same random_state.
    np.testing.assert_array_equal(model.sample(5, random_state=2), S[:5])


def test_bitflip_fit_is_reproducible_and_clonable(fitted_bitflip):
    X, model = fitted_bitflip
    again = clone(model).fit(X)
    np.testing.assert_array_equal(np.asarray(again.params_), np.asarray(model.params_))
    assert clone(model).get_params() == model.get_params()


def test_bitflip_custom_gates_and_generic_path():
    X = _data(n=4, m=100, seed=6)
    model = BitflipModel(
        gates=[[[0, 1, 2]], [[3]], [[1], [2]]], max_steps=3, sigma=1.0, verbose=False
    ).fit(X)
    assert model.params_.shape == (3,) and not model.circuit_.is_pairwise
    q = model.expval(iqpgen.exact.all_bitstrings(4))
    np.testing.assert_allclose(
        q,
        np.asarray(
            iqpgen.bitflip.expval(model.circuit_, model.params_, iqpgen.exact.all_bitstrings(4))
        ),
        atol=1e-6,
    )


# ----------------------------------------------------------------------------- RBM
@pytest.fixture(scope="module")
def fitted_rbm():
    rng = np.random.default_rng(7)
    X = (rng.random((600, 6)) < np.array([0.9, 0.1, 0.8, 0.2, 0.5, 0.5])).astype(np.uint8)
    X[:, 5] = X[:, 4]
    model = RBM(sigma=[1.0, 2.0], n_ops=100, n_samples=500, random_state=0)
    return X, model.fit(X)


def test_rbm_learns_marginals_and_samples(fitted_rbm):
    """The copied pair is learned (agreement 0.93-0.94 over seeds 0-3 here, bound 0.85)."""
    X, model = fitted_rbm
    assert model.n_components_ == 12  # min(256, 2n)
    assert model.symmetry_ is None  # marginals far from 1/2
    assert model.n_epochs_ == 100 and len(model.validation_) == 101  # the start, then epochs
    assert model.validation_[model.best_epoch_] == model.validation_.max()
    for sampler in ("exact", "mcmc"):
        S = model.set_params(sampler=sampler).sample(3000, random_state=1)
        assert S.dtype == np.uint8 and S.shape == (3000, 6) and set(np.unique(S)) <= {0, 1}
        assert np.all(np.abs(S.mean(0)[:4] - X.mean(0)[:4]) < 0.1), S.mean(0)
        assert (S[:, 4] == S[:, 5]).mean() > 0.85
    model.set_params(sampler="auto")
    np.testing.assert_array_equal(model.sample(5, random_state=4), model.sample(5, random_state=4))
    assert not np.array_equal(model.sample(40, random_state=4), model.sample(40, random_state=5))


def test_rbm_mmd_is_finite_and_beats_a_bad_model(fitted_rbm):
    X, model = fitted_rbm
    per = model.mmd_per_sigma(X)
    assert per.shape == (2,) and np.all(np.isfinite(per))
    assert model.score(X) == -per.mean()
    assert model.mmd(X) < model.mmd(1 - X)  # the mirrored data are far from the model
    assert RBM(n_components=3, n_iter=1).fit(X).n_components_ == 3


def test_uniform_is_the_random_row():
    """Uniform bits: ⟨Z_a⟩ = 0 for a ≠ 0, samples with mean 1/2, and an unbiased MMD² to data
    (the paper's "Random" row) within 4 standard errors of the exact value."""
    X = _data(m=200, seed=2)
    model = Uniform(sigma=1.2, n_ops=50).fit(X)
    ops = iqpgen.exact.all_bitstrings(5)
    q_all = model.expval(ops)
    np.testing.assert_array_equal(q_all, np.eye(1, 32)[0])  # 1 for a = 0, else 0
    S = model.sample(20_000, random_state=1)
    assert np.all(np.abs(S.mean(0) - 0.5) < 5 * 0.5 / np.sqrt(20_000))
    exact = _u_stat_oracle(q_all, X, 1.2)
    vals = np.array([model.mmd(X, random_state=k) for k in range(40)])
    assert abs(vals.mean() - exact) < 4 * vals.std(ddof=1) / np.sqrt(len(vals)) + 1e-6


# -------------------------------------------------------------------------- DeepEBM
def _noisy_pairs(m=2000):
    """Two noisily correlated pairs on 30% marginals (bit 1 ≈ bit 0, bit 4 ≈ not bit 3, 5%
    noise): a finite energy, so single-bit chains can move between the patterns."""
    rng = np.random.default_rng(0)
    X = (rng.random((m, 6)) < 0.3).astype(np.uint8)
    X[:, 1] = X[:, 0] ^ (rng.random(m) < 0.05)
    X[:, 4] = (1 - X[:, 3]) ^ (rng.random(m) < 0.05)
    return X


@pytest.mark.parametrize("training, sampler", [("exact", "exact"), ("pcd", "mcmc")])
def test_deep_ebm_learns_correlations_independent_bits_cannot(training, sampler):
    """The energy model's samples reproduce both pairs and come much closer to the data (MMD²
    between samples) than independent bits. Margin measured over seeds 0-4 with 500 updates
    on an AVX2 machine, starting from independent bits: the ratio was -0.04 to 0.05 (exact
    training and sampling) and -0.03 to 0.05 (PCD and MCMC), against the bound 0.3, and both
    pairs agreed in 0.914-0.956 of the samples (bound 0.9); with 1,000 updates, -0.04 to 0.05
    and 0.919-0.959."""
    X = _noisy_pairs()
    kw = dict(hidden=(16,), n_steps=500, learning_rate=3e-3, eval_every=100)
    kw |= dict(training=training, sampler=sampler) | (
        {"mcmc_steps": 30} if training == "pcd" else {}
    )
    model = DeepEBM(sigma=1.0, n_ops=200, n_samples=500, random_state=0, **kw)
    model.fit(X)
    assert model.symmetry_ is None and model.loss_.shape == (500,)
    assert model.validation_.shape == (6,) and 0 < model.best_step_ <= 500  # 6: the start
    S = model.sample(2000, random_state=1)
    assert S.dtype == np.uint8 and S.shape == (2000, 6)
    assert (S[:, 0] == S[:, 1]).mean() > 0.9 and (S[:, 3] != S[:, 4]).mean() > 0.9
    ind = IndependentBits(random_state=0).fit(X).sample(2000, random_state=1)
    ebm_mmd = iqpgen.kernel.between_samples(S[:1000], X[:1000], 1.0)
    assert ebm_mmd < 0.3 * iqpgen.kernel.between_samples(ind[:1000], X[:1000], 1.0)
    assert np.isfinite(model.mmd(X)) and model.mmd(X) < model.mmd(1 - X)
    # Lower energy where the data are: a pattern the data hold against one they never do.
    e = model.energy(np.array([[1, 1, 0, 0, 1, 0], [1, 0, 0, 1, 1, 0]]))
    assert e[0] < e[1]
    # Seeded draws repeat (500: the shape that mmd already compiled).
    np.testing.assert_array_equal(
        model.sample(500, random_state=4), model.sample(500, random_state=4)
    )


@pytest.mark.parametrize("make", ["RBM", "DeepEBM"])
def test_energy_models_start_from_independent_bits(make):
    """Both energy models start from independent bits with the data's marginals (half a count
    added to either value): with a negligible learning rate the fitted model's exact
    probabilities are the product's (the RBM's random weights, N(0, 0.01), move its
    log-probabilities by a few hundredths), far from uniform bits'."""
    rng = np.random.default_rng(0)
    X = (rng.random((400, 6)) < [0.1, 0.9, 0.2, 0.8, 0.5, 0.05]).astype(np.uint8)
    kw = dict(learning_rate=1e-12, validation_fraction=0.0, random_state=0)
    if make == "RBM":
        model, tol = RBM(n_components=4, n_iter=1, symmetry=None, **kw), 0.1
    else:
        model, tol = DeepEBM(hidden=(8,), n_steps=1, symmetry=None, **kw), 1e-5
    log_p = model.fit(X).log_prob_table()
    p = (X.sum(0) + 0.5) / (len(X) + 1.0)
    rows = iqpgen.exact.all_bitstrings(6)
    expected = (rows * np.log(p) + (1 - rows) * np.log1p(-p)).sum(1)
    np.testing.assert_allclose(log_p, expected, atol=tol)
    assert np.abs(expected + 6 * np.log(2)).max() > 5  # far from uniform bits


def test_deep_ebm_chains_start_from_its_starting_model():
    """PCD's persistent chains start as exact draws of the starting model, and the start is
    the first held-out candidate. With a negligible learning rate the first update's PCD
    objective (data energy minus chain energy) is that of two samples of one distribution
    (seeds 0-4: |loss| ≤ 0.13, about one standard error; chains started at uniform bits
    instead: −1.61 to −1.77), and so is each held-out −MMD² (the start's included)."""
    rng = np.random.default_rng(1)
    X = (rng.random((400, 8)) < 0.2).astype(np.uint8)
    kw = dict(hidden=(4,), n_steps=1, eval_every=1, n_chains=500, mcmc_steps=1, training="pcd")
    kw |= dict(selection="mmd", sigma=1.0, validation_fraction=0.25, symmetry=None, l2=0.0)
    model = DeepEBM(learning_rate=1e-12, random_state=0, **kw).fit(X)
    assert abs(model.loss_[0]) < 0.6  # 5 standard errors of the difference of mean energies
    assert len(model.validation_) == 2 and np.all(np.abs(model.validation_) < 0.03)


def test_deep_ebm_reuses_its_compiled_step():
    from iqpgen.baselines.deep_ebm import _trainer

    X = _noisy_pairs(200)
    kw = dict(hidden=(8,), n_steps=20, eval_every=10, mcmc_steps=5, training="pcd")
    kw |= dict(random_state=0)
    again = DeepEBM(**kw).fit(X)
    compiled = _trainer.cache_info().currsize
    same = DeepEBM(**kw).fit(X)
    np.testing.assert_array_equal(again.loss_, same.loss_)
    assert _trainer.cache_info().currsize == compiled  # the second fit reuses the first's step


def _two_modes(m: int, n: int = 20, seed: int = 0) -> np.ndarray:
    """Rows near one of two opposite bit patterns (5% of bits flipped): beyond the enumerable
    sizes, with two modes."""
    rng = np.random.default_rng(seed)
    proto = rng.integers(0, 2, n)
    X = np.where(rng.random(m)[:, None] < 0.5, proto, 1 - proto)
    return (X ^ (rng.random((m, n)) < 0.05)).astype(np.uint8)


@pytest.mark.parametrize("model", ["RBM", "DeepEBM"])
def test_held_out_mmd_selects_the_step_beyond_enumerable_sizes(model):
    """selection="auto" beyond 16 bits scores each evaluation by −MMD² of the chains to the
    held-out rows (values in [−2, 2], unlike a pseudo-log-likelihood of ~−n·log 2), keeps the
    best evaluation, and "likelihood" keeps the pseudo-likelihood."""
    X = _two_modes(300)
    if model == "RBM":
        kw = dict(n_components=8, n_iter=3, n_chains=200, random_state=0)
        make = RBM
    else:
        kw = dict(hidden=(8,), n_steps=30, eval_every=10, n_chains=100, mcmc_steps=20)
        kw |= dict(random_state=0)
        make = DeepEBM
    fitted = make(**kw).fit(X)
    scores = fitted.validation_
    if model == "RBM":  # the start, then epochs 1, 2, 3
        assert len(scores) == 4 and fitted.best_epoch_ == int(np.argmax(scores))
    else:  # the start, then updates 10, 20, 30
        assert len(scores) == 4 and fitted.best_step_ == 10 * int(np.argmax(scores))
    assert np.all(np.abs(scores) <= 2)
    pseudo = make(selection="likelihood", **kw).fit(X).validation_
    assert np.all(pseudo < -2)  # log-likelihood of 20 bits: far below the MMD² range


def test_deep_ebm_held_out_mmd_with_exact_training():
    """selection="mmd" with exact training and sampling by chains (accepted since the held-out
    chains are not the PCD chains): the start and each evaluation are scored on the model's
    own chains."""
    X = np.random.default_rng(0).integers(0, 2, (60, 6))
    kw = dict(hidden=(4,), n_steps=2, eval_every=1, selection="mmd", sigma=1.0, random_state=0)
    kw |= dict(training="exact", sampler="mcmc")
    model = DeepEBM(**kw).fit(X)
    assert len(model.validation_) == 3 and np.all(np.abs(model.validation_) <= 2)
    assert model.best_step_ == int(np.argmax(model.validation_))


# ------------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "make, call, err, match",
    [
        (IndependentBits, lambda m: m.sample(2), ValueError, "not fitted"),
        (BitflipModel, lambda m: m.expval([[1, 0]]), ValueError, "not fitted"),
        (RBM, lambda m: m.score([[0, 1], [1, 0]]), ValueError, "not fitted"),
        (lambda: IndependentBits(sigma="median"), lambda m: m.fit([[0], [1]]), ValueError,
         "sigma must be 'auto'"),
        (lambda: IndependentBits(sigma=-1.0), lambda m: m.fit([[0], [1]]), ValueError,
         "sigma must be > 0"),
        (lambda: IndependentBits(n_ops=0), lambda m: m.fit([[0], [1]]), ValueError,
         "n_ops must be at least 1"),
        (lambda: IndependentBits(random_state="x"), lambda m: m.fit([[0], [1]]), TypeError,
         "random_state must be"),
        (IndependentBits, lambda m: m.fit([[0, 1]]), ValueError, "at least 2 rows"),
        (IndependentBits, lambda m: m.fit([[-1, 1], [1, 1]]), ValueError, "±1 spins"),
        (IndependentBits, lambda m: m.fit([[0, 2], [1, 1]]), ValueError, "only 0 and 1"),
        (lambda: BitflipModel(learning_rate=-1.0), lambda m: m.fit([[0, 1], [1, 0]]),
         ValueError, "learning_rate must be"),
        (lambda: BitflipModel(max_weight=3), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "max_weight=3 exceeds"),
        (lambda: BitflipModel(gates=iqpgen.gates.local_circuit(3)),
         lambda m: m.fit([[0, 1], [1, 0]]), ValueError, "gates is a circuit on 3 qubits"),
        (lambda: BitflipModel(spin_sym="yes"), lambda m: m.fit([[0, 1], [1, 0]]), TypeError,
         "spin_sym must be True or False"),
        (lambda: BitflipModel(optimizer="adam"), lambda m: m.fit([[0, 1], [1, 0]]), TypeError,
         "optimizer must be an optax"),
        (lambda: RBM(n_components=0), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "n_components must be at least 1"),
        (lambda: RBM(burn_in=0), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "burn_in must be at least 1"),
        (lambda: RBM(n_samples=1), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "n_samples must be at least 2"),
        (DeepEBM, lambda m: m.sample(2), ValueError, "not fitted"),
        (lambda: DeepEBM(hidden=8), lambda m: m.fit([[0, 1], [1, 0]]), TypeError,
         "hidden must be a list"),
        (lambda: DeepEBM(hidden=()), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "hidden is empty"),
        (lambda: DeepEBM(hidden=(0,)), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "hidden width must be at least 1"),
        (lambda: DeepEBM(learning_rate=0.0), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "learning_rate must be"),
        (lambda: DeepEBM(mcmc_steps=0), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "mcmc_steps must be at least 1"),
        (lambda: DeepEBM(symmetry="mirror"), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "symmetry must be 'auto'"),
        (lambda: RBM(symmetry=True), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "symmetry must be 'auto'"),
        (lambda: IndependentBits(symmetry="flip"), lambda m: m.fit([[0, 1], [1, 0]]),
         ValueError, "symmetry must be 'auto'"),
        (lambda: BitflipModel(symmetry="auto", spin_sym=True), lambda m: m.fit([[0, 1], [1, 0]]),
         ValueError, "give symmetry or spin_sym=True, not both"),
        (lambda: RBM(sampler="gibbs"), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "sampler must be 'auto'"),
        (lambda: RBM(n_temperatures=0), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "n_temperatures must be at least 1"),
        (lambda: DeepEBM(training="cd"), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "training must be 'auto'"),
        (lambda: DeepEBM(global_flip="yes"), lambda m: m.fit([[0, 1], [1, 0]]), TypeError,
         "global_flip must be True or False"),
        (lambda: RBM(validation_fraction=1.5), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "validation_fraction must be"),
        (lambda: RBM(validation_fraction=0.9), lambda m: m.fit([[0, 1], [1, 0], [1, 1]]),
         ValueError, "leaves fewer than 2"),
        (lambda: RBM(patience=0), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "patience must be at least 1"),
        (lambda: DeepEBM(l2=-1.0), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "l2 must be"),
        (DeepEBM, lambda m: m.fit([[0, 2], [1, 1]]), ValueError, "only 0 and 1"),
        (lambda: RBM(selection="bic"), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "selection must be one of"),
        (lambda: DeepEBM(validation_fraction=0.0, selection="mmd"),
         lambda m: m.fit([[0, 1], [1, 0]]), ValueError, "selection='mmd' is not used"),
        # Options that another makes unused are refused, not ignored.
        (lambda: RBM(validation_fraction=0.0, patience=3), lambda m: m.fit([[0, 1], [1, 0]]),
         ValueError, "patience=3 is not used: .*validation_fraction=0"),
        (lambda: RBM(sampler="exact", burn_in=50), lambda m: m.fit([[0, 1], [1, 0]]),
         ValueError, "burn_in=50 is not used: .*sampler='exact'"),
        (lambda: DeepEBM(sampler="exact", n_temperatures=4), lambda m: m.fit([[0, 1], [1, 0]]),
         ValueError, "n_temperatures=4 is not used"),
        # sampler="auto" samples up to 16 bits exactly: the chains' options are then unused,
        # and so are PCD's where training is exact.
        (lambda: RBM(burn_in=50), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "burn_in=50 is not used: sampler='auto' samples a model of 2 bits exactly.*"
         "sampler='mcmc'"),
        (lambda: RBM(n_chains=100), lambda m: m.fit([[0, 1], [1, 0]]), ValueError,
         "n_chains=100 is not used: sampler='auto'"),
        (lambda: RBM(sampler="exact", n_chains=100), lambda m: m.fit([[0, 1], [1, 0]]),
         ValueError, "n_chains=100 is not used: sampler='exact'"),
        (lambda: DeepEBM(training="pcd", max_sweeps=500), lambda m: m.fit([[0, 1], [1, 0]]),
         ValueError, "max_sweeps=500 is not used: sampler='auto'"),
        (lambda: DeepEBM(sampler="mcmc", mcmc_steps=5), lambda m: m.fit([[0, 1], [1, 0]]),
         ValueError, "mcmc_steps=5 is not used: .*training is exact.*training='pcd'"),
        (lambda: DeepEBM(sampler="mcmc", training="exact", n_chains=10),
         lambda m: m.fit([[0, 1], [1, 0]]), ValueError, "n_chains=10 is not used"),
        (lambda: BitflipModel(gates=[[[0]]], max_weight=3), lambda m: m.fit([[0, 1], [1, 0]]),
         ValueError, "max_weight=3 is not used: gates="),
        (lambda: BitflipModel(optimizer=optax.sgd(0.1), learning_rate=0.5),
         lambda m: m.fit([[0, 1], [1, 0]]), ValueError, "learning_rate=0.5 is not used"),
    ],
)  # fmt: skip
def test_bad_input(make, call, err, match):
    with pytest.raises(err, match=match):
        call(make())


def test_chain_options_are_used_where_chains_sample():
    """The options refused on small data are taken where chains train or sample: beyond 16
    bits with sampler="auto", and with sampler="mcmc" or training="pcd" at any size."""
    X = np.random.default_rng(0).integers(0, 2, (40, 17))
    big = RBM(n_iter=1, validation_fraction=0.0, burn_in=7, n_chains=20).fit(X)
    assert big._settings().burn_in == 7 and not big._exact()
    small = DeepEBM(hidden=(4,), n_steps=2, eval_every=1, training="pcd", n_chains=8)
    small.set_params(mcmc_steps=3, sampler="mcmc", burn_in=5).fit(X[:, :4])
    assert not small._exact() and small.loss_.shape == (2,)


def test_bad_input_after_fit():
    X = _data(n=3, m=20)
    model = IndependentBits(sigma=1.0).fit(X)
    with pytest.raises(ValueError, match="has 2 columns but the model was fitted on 3"):
        model.mmd(X[:, :2])
    with pytest.raises(ValueError, match="n_samples must be at least 1"):
        model.sample(0)
    with pytest.raises(TypeError, match="n_samples must be an int"):
        model.sample(2.5)
    with pytest.raises(ValueError, match="ops has 2 columns"):
        model.expval([[1, 0]])
    c = iqpgen.gates.local_circuit(3)
    with pytest.raises(TypeError, match="key is required"):
        bitflip_loss(c, jnp.zeros(6), X, key=None, sigma=1.0)
    with pytest.raises(ValueError, match="params has shape"):
        bitflip_loss(c, jnp.zeros(5), X, key=jax.random.key(0), sigma=1.0)
    with pytest.raises(ValueError, match="data has 2 columns"):
        bitflip_loss(c, jnp.zeros(6), X[:, :2], key=jax.random.key(0), sigma=1.0)
