"""Evaluation: MMD² across bandwidths, correlations, Ising statistics and plots, on oracles."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import iqpgen
from conftest import random_params, tied_circuit
from iqpgen import evaluate
from iqpgen.baselines import BitflipModel, IndependentBits

SIGMAS = (0.8, 1.6)


def _data(n=5, m=256, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.random((m, n)) < np.linspace(0.2, 0.5, n)).astype(np.uint8)
    X[:, 1] = X[:, 0] ^ (rng.random(m) < 0.1)
    return X


def _iqp(circuit, params, X):
    """An IqpModel holding the given circuit and parameters (fit with 0 steps, then set)."""
    model = iqpgen.IqpModel(gates=circuit, max_steps=0, sigma=1.0, verbose=False).fit(X)
    model.params_ = jnp.asarray(params, jnp.float32)
    return model


def _exact_u_mmd(probs, X, sigma):
    """Exact E[estimate] of MMD² between the distribution ``probs`` and data X (U-statistic)."""
    n, m = X.shape[1], X.shape[0]
    q = iqpgen.exact.walsh_hadamard(np.asarray(probs, np.float64))
    idx = X.astype(np.int64) @ (1 << np.arange(n - 1, -1, -1))
    F = iqpgen.exact.walsh_hadamard(np.bincount(idx, minlength=2**n).astype(np.float64))
    terms = q * q - 2 * q * F / m + (F * F - m) / (m * (m - 1))
    return float(iqpgen.mmd._op_weights(n, sigma) @ terms)


def _within(est, exact, k=4.0):
    """|mean − exact| < k·stderr per bandwidth (with 20 repeats, P(fail) ≈ 1e-3 per entry
    for a correct estimator; the keys are fixed, so the test is deterministic)."""
    mean, se = np.asarray(est.mean), np.asarray(est.stderr)
    assert np.all(np.abs(mean - exact) < k * se + 1e-7), (mean, exact, se)


# ------------------------------------------------------------------------ mmd_vs_sigma
def test_mmd_vs_sigma_iqp_matches_the_state_vector():
    X = _data()
    c = tied_circuit(5, 2, seed=2)
    model = _iqp(c, random_params(c, 2), X)
    est = evaluate.mmd_vs_sigma(
        model, X, SIGMAS, key=jax.random.key(0), n_ops=60, n_samples=60, n_repeats=20
    )
    assert est.mean.shape == est.stderr.shape == (2,) and np.all(est.stderr > 0)
    exact = [iqpgen.mmd.exact(c, model.params_, X, s) for s in SIGMAS]
    _within(est, exact)


def test_mmd_vs_sigma_exact_and_sampled_routes():
    X = _data(seed=1)
    ind = IndependentBits(n_ops=60).fit(X[:128])
    xs = iqpgen.exact.all_bitstrings(5)
    probs = np.prod(np.where(xs == 1, ind.probs_, 1 - ind.probs_), axis=1)
    exact = [_exact_u_mmd(probs, X[128:], s) for s in SIGMAS]
    key = jax.random.key(1)
    est = evaluate.mmd_vs_sigma(ind, X[128:], SIGMAS, key=key, n_ops=60, n_repeats=20)
    _within(est, exact)
    # Samples of the same distribution, as an array and through a sample() method.
    samples = ind.sample(20 * 256, random_state=5)
    est_s = evaluate.mmd_vs_sigma(samples, X[128:], SIGMAS, key=key, n_ops=60, n_repeats=20)
    _within(est_s, exact)

    class Sampler:
        def sample(self, n_samples, random_state=None):
            return ind.sample(n_samples, random_state=random_state)

    est_m = evaluate.mmd_vs_sigma(
        Sampler(), X[128:], SIGMAS, key=key, n_ops=60, n_samples=256, n_repeats=20
    )
    _within(est_m, exact)


def test_mmd_vs_sigma_bitflip_route_is_exact_in_the_model_term():
    X = _data(seed=3)
    model = BitflipModel(max_steps=0, sigma=1.0, n_ops=60, verbose=False).fit(X)
    model.params_ = random_params(model.circuit_, 3)
    q = model.expval(iqpgen.exact.all_bitstrings(5))
    # The distribution from its Walsh–Hadamard transform (a 2^n-point inverse).
    probs = iqpgen.exact.walsh_hadamard(q) / 32
    exact = [_exact_u_mmd(probs, X, s) for s in SIGMAS]
    est = evaluate.mmd_vs_sigma(model, X, SIGMAS, key=jax.random.key(2), n_ops=60, n_repeats=20)
    _within(est, exact)


# ------------------------------------------------------------------------ correlations
def _exact_moments(circuit, params):
    n = circuit.n_qubits
    i, j = np.triu_indices(n, 1)
    ops = np.zeros((n + len(i), n), np.uint8)
    ops[np.arange(n), np.arange(n)] = 1
    ops[n + np.arange(len(i)), i] = 1
    ops[n + np.arange(len(i)), j] = 1
    return ops, i, j


@pytest.mark.parametrize("spin_sym", [False, True])
def test_iqp_pair_moments_equal_the_estimator_on_the_same_samples(spin_sym):
    """Every ⟨Z_i⟩ and ⟨Z_iZ_j⟩ from four matrix products equals iqpgen.expval with the same
    key (same z samples), and the correlations agree with the state vector."""
    X = _data(n=6)
    c = tied_circuit(6, 2, seed=5, spin_sym=spin_sym)
    params = random_params(c, 5)
    model = _iqp(c, params, X)
    key = jax.random.key(7)
    z, zz, how = evaluate.model_moments(model, key=key, n_samples=3000)
    assert how == "expectation"
    ops, i, j = _exact_moments(c, params)
    ref = np.asarray(iqpgen.expval(c, model.params_, ops, key=key, n_samples=3000).mean)
    np.testing.assert_allclose(z, ref[:6], atol=2e-5)
    np.testing.assert_allclose(zz[i, j], ref[6:], atol=2e-5)
    exact = iqpgen.exact.expval(c, model.params_, ops)
    np.testing.assert_allclose(zz[i, j], exact[6:], atol=0.08)
    corr = evaluate.correlations(model, key=key, n_samples=3000)
    assert np.allclose(corr, corr.T) and np.all(np.diag(corr) == 1)


def test_pair_moments_sparse_layout_and_chunks():
    """A chain on 80 qubits takes the sparse field path; chunking over samples changes nothing."""
    n = 80
    gates = [[[q]] for q in range(n)] + [[[q, q + 1]] for q in range(n - 1)]
    c = iqpgen.IqpCircuit(n, gates)
    params = random_params(c, 8, scale=0.4)
    key = jax.random.key(8)
    z, zz = evaluate.moments._pair_moments_jit(c, params, key, n_samples=500, chunk=500)
    z2, zz2 = evaluate.moments._pair_moments_jit(c, params, key, n_samples=500, chunk=96)
    np.testing.assert_allclose(np.asarray(zz), np.asarray(zz2), atol=2e-5)
    ops = np.zeros((5, n), np.uint8)
    ops[0, [3, 4]] = ops[1, [10, 50]] = ops[2, [0, 79]] = ops[3, 0] = ops[4, 40] = 1
    ref = np.asarray(iqpgen.expval(c, params, ops, key=key, n_samples=500).mean)
    np.testing.assert_allclose(np.asarray(zz)[[3, 10, 0], [4, 50, 79]], ref[:3], atol=2e-5)
    np.testing.assert_allclose(np.asarray(z)[[0, 40]], ref[3:], atol=2e-5)


def test_correlations_of_samples_and_exact_baselines():
    X = _data(n=6, m=500)
    X[:, 5] = 0  # a constant bit has no correlation
    corr = evaluate.correlations(X)
    ref = np.corrcoef(X[:, :5], rowvar=False)
    np.testing.assert_allclose(corr[:5, :5], ref, atol=1e-10)
    assert np.all(corr[5, :5] == 0) and corr[5, 5] == 1
    ind = IndependentBits().fit(_data(n=6, m=500))
    np.testing.assert_allclose(evaluate.correlations(ind), np.eye(6), atol=1e-6)
    bf = BitflipModel(max_steps=0, sigma=1.0, verbose=False).fit(_data(n=6, m=500))
    bf.params_ = random_params(bf.circuit_, 4)
    z, zz, how = evaluate.model_moments(bf, key=None, n_samples=2)
    ops, i, j = _exact_moments(bf.circuit_, bf.params_)
    ref = bf.expval(ops)
    assert how == "exact"
    np.testing.assert_allclose(z, ref[:6], atol=1e-6)
    np.testing.assert_allclose(zz[i, j], ref[6:], atol=1e-6)


def test_correlations_non_pairwise_iqp():
    X = _data(n=5)
    c = tied_circuit(5, 3, seed=6)
    model = _iqp(c, random_params(c, 6), X)
    key = jax.random.key(9)
    z, zz, _ = evaluate.model_moments(model, key=key, n_samples=400)
    ops, i, j = _exact_moments(c, model.params_)
    ref = np.asarray(iqpgen.expval(c, model.params_, ops, key=key, n_samples=400).mean)
    np.testing.assert_allclose(zz[i, j], ref[5:], atol=1e-5)


# ------------------------------------------------------------------------ Ising stats
def test_ising_energy_stats_from_expectations_and_samples():
    n = 5
    edges = np.array([[q, (q + 1) % n] for q in range(n)])
    weights = np.linspace(-1.0, 1.0, n)
    h = np.linspace(0.3, -0.2, n)
    X = _data(n=n)
    c = tied_circuit(n, 2, seed=9)
    model = _iqp(c, random_params(c, 9), X)
    stats = evaluate.ising_energy_stats(
        model, (edges, weights), h, key=jax.random.key(3), n_samples=20_000
    )
    probs = iqpgen.exact.probs(c, model.params_)
    xs = iqpgen.exact.all_bitstrings(n)
    e = iqpgen.datasets.ising_energy(xs, (edges, weights), h) / n
    m = (2.0 * xs - 1).mean(axis=1)
    assert abs(stats.energy - probs @ e) < 0.03
    assert abs(stats.magnetisation - probs @ m) < 0.02
    assert abs(stats.magnetisation_sq - probs @ m**2) < 0.02
    assert np.isnan(stats.energy_std) and np.isnan(stats.abs_magnetisation)
    # Samples: plain averages.
    s = evaluate.ising_energy_stats(X, (edges, weights), h)
    e_x = iqpgen.datasets.ising_energy(X, (edges, weights), h) / n
    m_x = (2.0 * X - 1).mean(axis=1)
    np.testing.assert_allclose(
        s, [e_x.mean(), e_x.std(ddof=1), m_x.mean(), (m_x**2).mean(), np.abs(m_x).mean()]
    )
    # Exact baselines go through their expectations.
    ind = IndependentBits().fit(X)
    si = evaluate.ising_energy_stats(ind, (edges, weights), h)
    z = 1 - 2 * ind.probs_
    e_ind = (-(weights * z[edges[:, 0]] * z[edges[:, 1]]).sum() + h @ z) / n
    assert abs(si.energy - e_ind) < 1e-6 and abs(si.magnetisation + z.mean()) < 1e-6


# ------------------------------------------------------------------------------ plots
def test_plots_return_figures_and_save(tmp_path):
    X = _data()

    class Fitted:  # anything with a History in history_
        history_ = iqpgen.train.History(
            np.linspace(0.1, 0.01, 30), np.array([10, 20, 30]), np.ones(3) * 0.02, 30, False, 1.0
        )

    fig = evaluate.plot_loss(Fitted(), path=tmp_path / "loss.png")
    assert len(fig.axes[0].lines) == 2  # training and validation
    assert fig.axes[0].get_xlabel() == "step" and (tmp_path / "loss.png").stat().st_size > 0
    est = iqpgen.Estimate(np.array([0.02, 0.01]), np.array([1e-3, 2e-3]))
    fig = evaluate.plot_mmd_vs_sigma(
        SIGMAS, {"a": est, "b": est}, path=tmp_path / "sub" / "mmd.pdf"
    )
    assert (
        len(fig.axes[0].get_legend().get_texts()) == 2 and (tmp_path / "sub" / "mmd.pdf").exists()
    )
    fig = evaluate.plot_correlations(
        {"data": evaluate.correlations(X), "model": np.eye(5)}, path=tmp_path / "c.png"
    )
    assert len(fig.axes) == 3 and (tmp_path / "c.png").exists()


# -------------------------------------------------------------------------- bad input
# ---------------------------------------------------------------------- paper protocol
def test_paper_bandwidths_are_the_papers_ten():
    # The paper's first / middle / last plotted bandwidths.
    for train, picks in (
        ([0.6, 1.3], [0.6, 0.989, 1.3]),
        ([7.762, 6.151, 3.928], [3.928, 6.058, 7.762]),
        ([11.169, 8.348, 3.825], [3.825, 7.905, 11.169]),
    ):
        sig = evaluate.paper_bandwidths(train)
        assert len(sig) == 10 and [sig[0], sig[5], sig[-1]] == picks


def test_paper_mmd_samples_route_is_the_chunked_u_statistic():
    X = _data(m=400)
    Y = _data(m=200, seed=1)
    est = evaluate.paper_mmd(Y, X, SIGMAS, key=jax.random.key(0), n_chunks=5)
    per = np.array(
        [
            iqpgen.kernel.between_samples_each(g, c, SIGMAS)
            for g, c in zip(np.array_split(Y, 5), np.array_split(X, 5), strict=True)
        ]
    )
    np.testing.assert_allclose(est.mean, per.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(est.stderr, per.std(axis=0, ddof=1) / np.sqrt(5), rtol=1e-12)
    # between_samples_each against the kernel matrices written out.
    K = lambda A, B, s: np.exp(-(np.abs(A[:, None] - B[None]).sum(-1)) / (2 * s * s))  # noqa: E731
    a, b = Y[:40].astype(np.int64), X[:30].astype(np.int64)
    kaa, kbb = K(a, a, 0.8), K(b, b, 0.8)
    direct = (kaa.sum() - 40) / (40 * 39) + (kbb.sum() - 30) / (30 * 29) - 2 * K(a, b, 0.8).mean()
    assert iqpgen.kernel.between_samples_each(a, b, [0.8])[0] == pytest.approx(direct, rel=1e-9)


def test_paper_mmd_iqp_routes_against_the_state_vector():
    X = _data(m=600)
    c = tied_circuit(5, 2, seed=2)
    params = random_params(c, 2)
    exact_model = _iqp(c, params, X)
    assert exact_model.estimator_ == "exact"
    est = evaluate.paper_mmd(exact_model, X, SIGMAS, key=jax.random.key(0), n_chunks=6)
    probs = np.asarray(iqpgen.exact.probs(c, params), np.float64)
    chunks = np.array_split(X, 6)
    oracle = np.array([[_exact_u_mmd(probs, ch, s) for s in SIGMAS] for ch in chunks])
    np.testing.assert_allclose(est.mean, oracle.mean(axis=0), rtol=2e-4, atol=1e-6)
    # Monte Carlo: per chunk an unbiased estimate of the same numbers.
    mc_model = iqpgen.IqpModel(
        gates=c, max_steps=0, sigma=1.0, estimator="monte_carlo", verbose=False
    ).fit(X)
    mc_model.params_ = jnp.asarray(params, jnp.float32)
    mc = evaluate.paper_mmd(
        mc_model, X, SIGMAS, key=jax.random.key(1), n_chunks=6, n_ops=400, n_samples=400
    )
    # The chunk-to-chunk spread includes the Monte Carlo noise, so stderr bounds it too.
    _within(mc, oracle.mean(axis=0), k=4.5)


def _with_readout(probs, n, p):
    """The distribution of bits read out with flip probability ``p`` on every qubit."""
    t = np.asarray(probs, np.float64).reshape((2,) * n)
    for axis in range(n):
        t = (1 - p) * t + p * np.flip(t, axis=axis)
    return t.ravel()


def test_readout_error_reaches_every_evaluation_route():
    """A model fitted with readout_error is evaluated as the distribution of the flipped bits
    by paper_mmd (exact and Monte Carlo) and mmd_vs_sigma, as by model.mmd."""
    c = tied_circuit(5, 2, seed=2)
    params = random_params(c, 2)
    rows = np.random.default_rng(0).choice(32, 600, p=np.asarray(iqpgen.exact.probs(c, params)))
    X = iqpgen.exact.all_bitstrings(5)[rows]  # the ideal circuit's samples: the flips show
    p = 0.2
    noisy = iqpgen.IqpModel(gates=c, max_steps=0, sigma=1.0, readout_error=p, verbose=False)
    noisy.fit(X).params_ = jnp.asarray(params, jnp.float32)
    probs = _with_readout(iqpgen.exact.probs(c, params), 5, p)
    chunks = np.array_split(X, 6)
    oracle = np.array([[_exact_u_mmd(probs, ch, s) for s in SIGMAS] for ch in chunks]).mean(0)
    ideal = np.array(
        [[_exact_u_mmd(iqpgen.exact.probs(c, params), ch, s) for s in SIGMAS] for ch in chunks]
    ).mean(0)
    assert np.all(np.abs(oracle - ideal) > 1e-3)  # ignoring the flips would fail below
    est = evaluate.paper_mmd(noisy, X, SIGMAS, key=jax.random.key(0), n_chunks=6)
    np.testing.assert_allclose(est.mean, oracle, rtol=2e-4, atol=1e-6)
    mc = iqpgen.IqpModel(
        gates=c, max_steps=0, sigma=1.0, estimator="monte_carlo", readout_error=p, verbose=False
    )
    mc.fit(X).params_ = jnp.asarray(params, jnp.float32)
    kw = dict(key=jax.random.key(1), n_ops=400, n_samples=400)
    _within(evaluate.paper_mmd(mc, X, SIGMAS, n_chunks=6, **kw), oracle, k=4.5)
    whole = [_exact_u_mmd(probs, X, s) for s in SIGMAS]
    np.testing.assert_allclose([noisy.mmd(X, s) for s in SIGMAS], whole, rtol=2e-4, atol=1e-6)
    _within(evaluate.mmd_vs_sigma(mc, X, SIGMAS, n_repeats=20, **kw), whole)


def test_paper_mmd_sampled_models_and_reference_rows():
    X = _data(m=2000)
    ind = IndependentBits(sigma=1.0, random_state=0).fit(X)
    est = evaluate.paper_mmd(ind, X, SIGMAS, key=jax.random.key(0), n_model_samples=5000)
    # The independent model's exact MMD² to each chunk, by its product distribution.
    bits = iqpgen.exact.all_bitstrings(5)
    q = np.prod(np.where(bits == 1, ind.probs_, 1 - ind.probs_), axis=1)
    oracle = np.array(
        [[_exact_u_mmd(q, ch, s) for s in SIGMAS] for ch in np.array_split(X, 20)]
    ).mean(axis=0)
    _within(est, oracle, k=4.5)
    uniform = evaluate.random_rows(2000, 5, key=jax.random.key(3))
    assert uniform.shape == (2000, 5) and uniform.dtype == np.uint8
    far = evaluate.paper_mmd(uniform, X, SIGMAS, key=jax.random.key(0))
    same = evaluate.paper_mmd(X[::-1], X, SIGMAS, key=jax.random.key(0))
    assert np.all(far.mean > 10 * far.stderr) and np.all(np.abs(same.mean) < 4.5 * same.stderr)


def test_dataframes_are_samples_and_data_for_every_model():
    """A DataFrame (which has a .sample method) is a matrix of samples, not a model; baselines
    fit on one as on its array."""
    pd = pytest.importorskip("pandas")
    X = _data(m=400)
    key = jax.random.key(0)
    frame, test = pd.DataFrame(X[:200]), pd.DataFrame(X[200:], columns=list("abcde"))
    for fn in (evaluate.paper_mmd, evaluate.mmd_vs_sigma):
        a = fn(frame, test, SIGMAS, key=key)
        b = fn(X[:200], X[200:], SIGMAS, key=key)
        np.testing.assert_array_equal(a.mean, b.mean)
    ind = IndependentBits(sigma=1.0).fit(test)
    assert list(ind.feature_names_in_) == list("abcde")
    np.testing.assert_array_equal(ind.probs_, IndependentBits(sigma=1.0).fit(X[200:]).probs_)
    with pytest.raises(ValueError, match="column names differ"):
        ind.score(test[list("edcba")])


def test_paper_mmd_bad_input():
    X = _data(m=100)
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="20 chunks need at least 2 rows each"):
        evaluate.paper_mmd(X, X[:30], 1.0, key=key)
    with pytest.raises(ValueError, match="groups need at least 2 rows"):
        evaluate.paper_mmd(X[:30], X, 1.0, key=key)
    with pytest.raises(ValueError, match="n_model_samples must be at least 40"):
        evaluate.paper_mmd(X, X, 1.0, key=key, n_model_samples=10)
    with pytest.raises(ValueError, match="n_chunks must be at least 2"):
        evaluate.paper_mmd(X, X, 1.0, key=key, n_chunks=1)
    with pytest.raises(ValueError, match="X_test has 4 columns"):
        evaluate.paper_mmd(IndependentBits(sigma=1.0).fit(X), X[:, :4], 1.0, key=key)


def test_bad_input():
    X = _data()
    ind = IndependentBits(sigma=1.0).fit(X)
    key = jax.random.key(0)
    with pytest.raises(TypeError, match="model must be an IqpModel"):
        evaluate.mmd_vs_sigma(object(), X, 1.0, key=key)
    with pytest.raises(ValueError, match="not fitted"):
        evaluate.mmd_vs_sigma(iqpgen.IqpModel(), X, 1.0, key=key)
    with pytest.raises(ValueError, match="not fitted"):
        evaluate.correlations(BitflipModel())
    with pytest.raises(TypeError, match="key is required"):
        evaluate.mmd_vs_sigma(ind, X, 1.0, key=None)
    with pytest.raises(ValueError, match="n_repeats must be at least 2"):
        evaluate.mmd_vs_sigma(ind, X, 1.0, key=key, n_repeats=1)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        evaluate.mmd_vs_sigma(ind, X, [1.0, -2.0], key=key)
    with pytest.raises(ValueError, match="X_test has 4 columns but the circuit has 5"):
        evaluate.mmd_vs_sigma(ind, X[:, :4], 1.0, key=key)
    with pytest.raises(ValueError, match="groups need at least 2 rows"):
        evaluate.mmd_vs_sigma(X[:5], X, 1.0, key=key, n_repeats=3)
    with pytest.raises(ValueError, match="model has 4 columns"):
        evaluate.mmd_vs_sigma(X[:, :4], X, 1.0, key=key)
    with pytest.raises(TypeError, match="key is required"):
        evaluate.correlations(_iqp(iqpgen.gates.local_circuit(5), np.zeros(15), X))
    with pytest.raises(ValueError, match="the model has 5 bits but the Ising model has 4"):
        evaluate.ising_energy_stats(
            _iqp(iqpgen.gates.local_circuit(5), np.zeros(15), X), np.zeros((4, 4)), np.zeros(4)
        )
    with pytest.raises(ValueError, match="results\\['a'\\] has \\(3,\\) estimates"):
        evaluate.plot_mmd_vs_sigma([1.0, 2.0], {"a": iqpgen.Estimate(np.ones(3), np.ones(3))})
    with pytest.raises(ValueError, match="matrices is empty"):
        evaluate.plot_correlations({})
    with pytest.raises(ValueError, match="must be square"):
        evaluate.plot_correlations({"a": np.ones((2, 3))})
    with pytest.raises(TypeError, match="plot_loss needs a fitted model"):
        evaluate.plot_loss(ind)
