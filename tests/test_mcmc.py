"""The baselines' samplers and the global-flip symmetry, against enumeration."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import iqpgen
from iqpgen import datasets
from iqpgen.baselines import RBM, BitflipModel, DeepEBM, IndependentBits, mcmc, rbm
from iqpgen.symmetry import SymmetryWarning, flip_test, resolve_symmetry, symmetrise


def _two_mode_rbm(n=10, asymmetric=0.0):
    """One hidden unit that switches all visible bits on: modes 0…0 and 1…1, separated by a
    barrier of height ~6 per bit that single Gibbs sweeps do not cross. ``asymmetric`` tilts
    the visible biases (a field)."""
    W = jnp.full((1, n), 6.0)
    return W, jnp.full((n,), -3.0 + asymmetric), jnp.asarray([-3.0 * n])


def _exact_moments(logp, n):
    """⟨Z_a⟩ of every operator from an enumerated distribution (rows in all_bitstrings order)."""
    rows = iqpgen.exact.all_bitstrings(n).astype(np.int64)
    p = np.exp(logp)
    return (1 - 2 * ((rows @ rows.T) % 2)) @ p  # operator a = rows[i]


def _sample_moments(samples):
    rows = iqpgen.exact.all_bitstrings(samples.shape[1]).astype(np.int64)
    return (1 - 2 * ((samples.astype(np.int64) @ rows.T) % 2)).mean(axis=0)


def _settings(**kw):
    base = dict(burn_in=200, thinning=5, n_chains=200, rhat_target=None)
    return mcmc.McmcSettings(**(base | kw))


def test_stuck_chains_warn_and_a_global_flip_frees_them():
    """Without the global flip the chains stay in the mode they fell into: R̂ of the
    magnetisation is far above 1 and a ConvergenceWarning gives the numbers. With it every
    chain visits both modes and the sample is balanced within 5σ."""
    params = _two_mode_rbm()
    run = dict(n=10, n_samples=2000, key=jax.random.key(0))
    with pytest.warns(datasets.ConvergenceWarning, match="magnetisation"):
        stuck = mcmc.run_chains(
            rbm._gibbs, rbm._log_weight, None, params,
            settings=_settings(global_flip=False, rhat_target=1.01, max_sweeps=1000), **run,
        )  # fmt: skip
    assert stuck.convergence.rhat_magnetisation > 1.5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        free = mcmc.run_chains(
            rbm._gibbs, rbm._log_weight, None, params,
            settings=_settings(global_flip=True, rhat_target=1.01), **run,
        )  # fmt: skip
    assert free.convergence.converged() and free.flip_rate > 0.9
    ones = (free.samples.mean(axis=1) > 0.5).mean()
    assert abs(ones - 0.5) < 5 * 0.5 / np.sqrt(2000)


def test_parallel_tempering_crosses_an_asymmetric_barrier():
    """Tilted modes (the global flip is rejected): tempering swaps carry states across, and the
    weight of the mode of all ones matches enumeration within 5σ."""
    params = _two_mode_rbm(n=8, asymmetric=0.15)
    logp = mcmc.enumerate_log_weights(rbm._log_weight, None, params, 8)
    p_ones = float(np.exp(logp[iqpgen.exact.all_bitstrings(8).sum(axis=1) >= 5]).sum())
    assert 0.6 < p_ones < 0.95  # both modes matter
    chains = mcmc.run_chains(
        rbm._gibbs, rbm._log_weight, None, params, n=8, n_samples=4000,
        key=jax.random.key(1), settings=_settings(n_temperatures=6, min_beta=0.05, thinning=10),
    )  # fmt: skip
    got = (chains.samples.sum(axis=1) >= 5).mean()
    assert chains.swap_rate > 0.1
    assert abs(got - p_ones) < 5 * np.sqrt(p_ones * (1 - p_ones) / 4000)


@pytest.mark.parametrize("make", ["rbm", "ebm"])
def test_chains_match_enumeration(make):
    """Every ⟨Z_a⟩ (63 operators) of MCMC samples of a fitted 6-bit model agrees with the
    enumerated distribution within 5 standard errors (n_eff = half the samples, allowing for
    correlation within chains): a false failure has probability below 1e-4."""
    rng = np.random.default_rng(3)
    X = (rng.random((1000, 6)) < np.array([0.2, 0.3, 0.7, 0.5, 0.5, 0.6])).astype(np.uint8)
    X[:, 4] = X[:, 3] ^ (rng.random(1000) < 0.1)
    if make == "rbm":
        model = RBM(n_iter=20, sampler="mcmc", burn_in=100, random_state=0).fit(X)
    else:
        model = DeepEBM(hidden=(8,), n_steps=300, eval_every=100, sampler="mcmc", burn_in=50)
        model.set_params(random_state=0).fit(X)
    assert model.symmetry_ is None
    chains = model.sample_chains(4000, random_state=2)
    assert chains.convergence.converged()
    q_exact = _exact_moments(model.log_prob_table(), 6)[1:]
    q_mcmc = _sample_moments(chains.samples)[1:]
    se = np.sqrt(np.maximum(1 - q_exact**2, 1e-3) / 2000)
    assert np.all(np.abs(q_mcmc - q_exact) < 5 * se), np.abs(q_mcmc - q_exact) / se


@pytest.fixture(scope="module")
def zero_field_ising():
    """A ferromagnetic 8-spin ring at low temperature, no field: two halves, p(x) = p(1 − x)."""
    J = np.zeros((8, 8))
    for i in range(8):
        J[i, (i + 1) % 8] = J[(i + 1) % 8, i] = 1.0
    X = datasets.sample_ising(
        J, np.zeros(8), n_samples=3000, key=jax.random.key(0), temperature=1.2, n_replicas=4
    )
    return X


@pytest.mark.parametrize("make", ["rbm", "ebm", "independent", "bitflip"])
def test_symmetric_models_sample_both_halves(zero_field_ising, make):
    """On zero-field Ising data, symmetry='auto' finds the symmetry and every model samples the
    two halves equally (within 5σ); the sampled models' exact tables are mirror-symmetric."""
    X = zero_field_ising
    assert flip_test(X).symmetric
    model = {
        "rbm": lambda: RBM(n_iter=10, random_state=0),
        "ebm": lambda: DeepEBM(hidden=(8,), n_steps=200, eval_every=100, random_state=0),
        "independent": lambda: IndependentBits(symmetry="auto", random_state=0),
        "bitflip": lambda: BitflipModel(symmetry="auto", max_steps=20, verbose=False),
    }[make]().fit(X)
    if make == "bitflip":
        assert model.circuit_.spin_sym
    else:
        assert model.symmetry_ == "global_flip"
    S = model.sample(4000, random_state=1)
    ones = (S.sum(axis=1) > 4).mean()
    zeros = (S.sum(axis=1) < 4).mean()
    assert abs(ones - zeros) < 5 * np.sqrt((ones + zeros) / 4000)
    if make in ("rbm", "ebm"):
        table = model.log_prob_table()
        np.testing.assert_allclose(table, table[::-1], atol=1e-5)
        assert np.isclose(np.logaddexp.reduce(table), 0.0, atol=1e-6)
    if make == "independent":  # odd moments vanish, even ones are the product's
        ops = iqpgen.exact.all_bitstrings(8)
        q = model.expval(ops)
        assert np.all(q[ops.sum(axis=1) % 2 == 1] == 0)


def test_symmetric_mixture_of_independent_bits_against_enumeration():
    rng = np.random.default_rng(0)
    p = np.array([0.1, 0.2, 0.85, 0.3])
    base = (rng.random((6000, 4)) < p).astype(np.uint8)
    X = symmetrise(base, key=jax.random.key(0))
    model = IndependentBits(symmetry="global_flip").fit(X)
    got = model.probs_ if model.probs_[0] < 0.5 else 1 - model.probs_  # p and 1 − p: one model
    np.testing.assert_allclose(got, p, atol=0.02)
    rows = iqpgen.exact.all_bitstrings(4)
    prod = lambda x: np.prod(np.where(x == 1, model.probs_, 1 - model.probs_), axis=1)  # noqa: E731
    probs = 0.5 * (prod(rows) + prod(1 - rows))
    ops = iqpgen.exact.all_bitstrings(4)
    exact = (1 - 2 * ((ops.astype(int) @ rows.T.astype(int)) % 2)) @ probs
    np.testing.assert_allclose(model.expval(ops), exact, atol=1e-12)


def test_flip_test_and_declared_symmetry():
    rng = np.random.default_rng(1)
    sym = rng.integers(0, 2, (3000, 10))
    biased = (rng.random((3000, 10)) < 0.45).astype(np.uint8)
    assert flip_test(sym).symmetric and not flip_test(biased).symmetric
    assert resolve_symmetry("auto", sym) == "global_flip"
    assert resolve_symmetry("auto", biased) is None
    with pytest.warns(SymmetryWarning, match=r"largest \|z\|.*mean spin"):
        assert resolve_symmetry("global_flip", biased) == "global_flip"
    with pytest.raises(ValueError, match="symmetry must be 'auto'"):
        resolve_symmetry("yes", sym)
    with pytest.warns(SymmetryWarning):
        RBM(n_iter=1, symmetry="global_flip").fit(biased)


def test_iqp_model_symmetry_sets_spin_sym(zero_field_ising):
    X = zero_field_ising
    kw = dict(max_steps=0, verbose=False, random_state=0)  # the circuit is chosen before training
    assert iqpgen.IqpModel(symmetry="auto", **kw).fit(X).circuit_.spin_sym
    biased = X.copy()
    biased[:, 0] = 0  # a bit that is always 0 breaks the symmetry
    assert not iqpgen.IqpModel(symmetry="auto", **kw).fit(biased).circuit_.spin_sym
    assert not iqpgen.IqpModel(**kw).fit(X).circuit_.spin_sym  # None: spin_sym as given
    with pytest.raises(ValueError, match="give symmetry or spin_sym=True, not both"):
        iqpgen.IqpModel(symmetry="global_flip", spin_sym=True, **kw).fit(X)
    with pytest.raises(ValueError, match="symmetry must be 'auto'"):
        iqpgen.IqpModel(symmetry="flip", **kw).fit(X)


def test_persistent_chains_advance_with_the_global_flip():
    """mcmc.advance on a two-mode RBM (one hidden unit: log p(x) = −a·k + softplus(2a·k − a·n)
    for k ones, the same for k and n − k, about a·|k − n/2| − a·n/2: a barrier of
    a·n/2 = 30 nats between all-zeros and all-ones): block Gibbs sweeps alone leave chains
    started at all-zeros there, while the global flip, always accepted between mirror states,
    puts them on the other side after an odd number of sweeps."""
    n, a = 20, 3.0
    params = (jnp.full((1, n), 2 * a), jnp.full((n,), -a), jnp.full((1,), -a * n))
    x = jnp.zeros((1, 200, n), jnp.float32)
    betas = jnp.ones((1,), jnp.float32)  # one rung at the model's temperature

    def run(global_flip):
        out = mcmc.advance(
            rbm._gibbs, rbm._log_weight, None, params, x, betas, jax.random.key(0),
            sweeps=21, global_flip=global_flip,
        )  # fmt: skip
        return np.asarray(out[0]).mean(axis=1)  # each chain's fraction of ones

    assert np.all(run(False) < 0.5)
    # A flip is accepted unless rounding makes the log ratio (~0 ± 1e-5) negative: allow a few
    # of the 4,200 proposals to fail on another machine.
    assert np.mean(run(True) > 0.5) > 0.95


@pytest.mark.parametrize("make", ["RBM", "DeepEBM"])
def test_held_out_mmd_is_exact_where_the_model_is_enumerated(monkeypatch, make):
    """selection="mmd" on a model sampled by enumeration scores it exactly, without chains:
    the kept step's score is minus the MMD² between its distribution and the held-out rows,
    here all one row (whatever the split), in the kernel form Σ (q − p)(x)(q − p)(y) k(x, y)."""

    def no_chains(*args, **kw):
        raise AssertionError("held-out chains advanced")

    monkeypatch.setattr(mcmc, "advance", no_chains)
    row = np.array([1, 0, 1, 1, 0, 0], np.uint8)
    X = np.tile(row, (60, 1))
    X[:30, 5] = 1  # two rows; the held-out tenth holds either or both
    if make == "RBM":
        model = RBM(n_iter=3, eval_every=1, selection="mmd", random_state=0).fit(X)
        best = model.best_epoch_
    else:
        model = DeepEBM(hidden=(4,), n_steps=3, eval_every=1, selection="mmd", random_state=0)
        best = model.fit(X).best_step_
    q = np.exp(model.log_prob_table())
    rows = iqpgen.exact.all_bitstrings(6).astype(np.int64)
    hamming = np.abs(rows[:, None, :] - rows[None, :, :]).sum(-1)
    # The held-out rows are not exposed: the score must be that of one of the mixtures of
    # the two rows the held-out tenth (6 rows) can hold (k of 6 with the last bit set).
    scores = []
    for k in range(7):
        p = np.zeros(64)
        p[int("101100", 2)] += (6 - k) / 6
        p[int("101101", 2)] += k / 6
        d = q - p
        scores.append(-np.mean([d @ np.exp(-hamming / (2 * s * s)) @ d for s in model.sigma_]))
    assert np.min(np.abs(np.array(scores) - model.validation_[best])) < 1e-9
    assert model.validation_[best] == np.max(model.validation_)
    # No chains, so the chains' options are refused as unused.
    with pytest.raises(ValueError, match="n_temperatures"):
        model.set_params(n_temperatures=3).fit(X)


@pytest.mark.parametrize("make", ["RBM", "DeepEBM"])
def test_held_out_mmd_chains_use_the_models_chain_settings(monkeypatch, make):
    """selection="mmd" advances chains of the model's own kind before each score, the start's
    included (the DeepEBM's are not its PCD chains, which lag the model): its tempering rungs
    and its global flip, and scores the chains of the cold rung."""
    calls = []
    real = mcmc.advance

    def spy(*args, **kw):
        calls.append((args[4].shape, np.asarray(kw["betas"]), kw["global_flip"]))
        return real(*args, **kw)

    monkeypatch.setattr(mcmc, "advance", spy)
    X = np.random.default_rng(0).integers(0, 2, (60, 6))
    kw = dict(selection="mmd", sampler="mcmc", n_temperatures=3, global_flip=False, random_state=0)
    if make == "RBM":
        model = RBM(n_iter=2, n_chains=30, **kw).fit(X)  # the start (not exactly a product)
        assert len(calls) == 3 and len(model.validation_) == 3  # and two epochs
        assert calls[0][0] == (3, 30, 6)
    else:  # the start and two evaluations
        model = DeepEBM(hidden=(4,), n_steps=2, eval_every=1, training="pcd", n_chains=30, **kw)
        assert len(model.fit(X).validation_) == 3 and len(calls) == 3
        assert calls[0][0] == (3, 30, 6)  # n_chains, as in PCD
    _, betas, global_flip = calls[0]
    assert global_flip is False
    np.testing.assert_allclose(betas, mcmc.ladder(model._settings()))
    assert betas[0] == 1.0 and np.all(np.diff(betas) < 0)
