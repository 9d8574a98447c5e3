"""IqpModel: learning a known distribution, reproducibility, persistence, bad input."""

import json
import os
import zipfile

import jax
import numpy as np
import optax
import pytest

import iqpgen
from iqpgen import IqpModel


def ising_chain(n=14, seed=1, m=5000):
    """A 1-D Ising chain with random couplings: exact probabilities and samples from them."""
    rng = np.random.default_rng(seed)
    J = rng.uniform(0.5, 1.5, n - 1) * rng.choice([-1, 1], n - 1)
    h = rng.normal(0, 0.3, n)
    xs = iqpgen.exact.all_bitstrings(n)
    s = 1 - 2 * xs.astype(float)
    p = np.exp((s[:, :-1] * s[:, 1:]) @ J + s @ h)
    p /= p.sum()
    idx = np.asarray(jax.random.choice(jax.random.key(seed), 2**n, (m,), p=p))
    return xs[idx], p


@pytest.fixture(scope="module")
def chain():
    return ising_chain()


@pytest.fixture(scope="module")
def small_fit():
    X, _ = ising_chain(n=6, m=400, seed=2)
    return X, IqpModel(max_steps=30, n_ops=64, n_samples=64, random_state=0, verbose=False).fit(X)


@pytest.mark.slow
def test_default_settings_fit_beats_product_of_marginals(chain):
    """Every default (bandwidths, operators, samples, Adam's step, data init) but the step
    count: 600 steps already bring the exact MMD² to about 0.14 of independent bits'."""
    X, p_true = chain
    model = IqpModel(random_state=0, verbose=False, max_steps=600).fit(X)
    q = model.probs()
    xs = iqpgen.exact.all_bitstrings(X.shape[1])
    m = X.mean(0)
    p_ind = np.prod(np.where(xs == 1, m, 1 - m), axis=1)
    for sigma in model.sigma_:
        iqp = iqpgen.mmd.exact_between_distributions(q, p_true, sigma)
        ind = iqpgen.mmd.exact_between_distributions(p_ind, p_true, sigma)
        assert iqp < 0.3 * ind, (sigma, iqp, ind)
    assert model.history_.loss[-100:].mean() < model.history_.loss[:100].mean()


def test_fitted_attributes_and_sklearn_api(small_fit):
    from sklearn.base import clone

    X, model = small_fit
    assert model.n_features_in_ == 6 and model.params_.shape == (21,)
    assert model.circuit_.n_qubits == 6 and len(model.sigma_) == 3
    assert model.history_.loss.shape == (30,)
    assert clone(model).get_params()["max_steps"] == 30
    assert model.probs().shape == (64,)
    x = model.sample(5)
    assert x.shape == (5, 6) and set(np.unique(x)) <= {0, 1}
    assert isinstance(model.score(X), float) and isinstance(model.mmd(X, sigma=1.0), float)
    est = model.expval(np.eye(6, dtype=int), n_samples=2000)
    np.testing.assert_allclose(
        est.mean,
        iqpgen.exact.expval(model.circuit_, model.params_, np.eye(6, dtype=int)),
        atol=5 * float(est.stderr.max()),
    )


def test_random_state_makes_fit_reproducible():
    X, _ = ising_chain(n=5, m=200, seed=3)
    kw = dict(max_steps=15, n_ops=32, n_samples=32, verbose=False, init="normal")
    a = IqpModel(random_state=7, **kw).fit(X)
    b = IqpModel(random_state=7, **kw).fit(X)
    c = IqpModel(random_state=8, **kw).fit(X)
    np.testing.assert_array_equal(a.params_, b.params_)
    assert not np.array_equal(a.params_, c.params_)


def test_moments_init_is_used_and_shrunk_by_init_scale():
    X, _ = ising_chain(n=5, m=200, seed=6)
    kw = dict(max_steps=1, learning_rate=1e-12, n_ops=16, n_samples=16, verbose=False,
              validation_fraction=0.0)  # fmt: skip
    model = IqpModel(init="moments", **kw).fit(X)
    expected = iqpgen.init.from_moments(model.circuit_, X)
    np.testing.assert_allclose(model.params_, expected, atol=1e-6)
    shrunk = IqpModel(init="moments", init_scale=0.5, **kw).fit(X)
    assert np.abs(shrunk.params_[5:]).sum() < np.abs(model.params_[5:]).sum()


@pytest.mark.parametrize("estimator", ["exact", "monte_carlo"])
def test_fit_resumes_from_checkpoint(tmp_path, estimator):
    X, _ = ising_chain(n=5, m=200, seed=4)
    ckpt = str(tmp_path / "fit.npz")
    # No validation split: the stand-in interruption (a run of 25 steps) validates at its last
    # step, which an uninterrupted run does not, and may keep another best step.
    kw = dict(verbose=False, random_state=1, estimator=estimator, lr_schedule="constant",
              validation_fraction=0.0)  # fmt: skip
    if estimator == "monte_carlo":
        kw |= dict(n_ops=32, n_samples=32)
    full = IqpModel(max_steps=60, **kw).fit(X)
    IqpModel(max_steps=25, **kw).fit(X, checkpoint=ckpt, checkpoint_every=10)
    resumed = IqpModel(max_steps=60, **kw).fit(X, checkpoint=ckpt)
    np.testing.assert_allclose(resumed.params_, full.params_, rtol=1e-6, atol=1e-7)
    assert resumed.estimator_ == full.estimator_ == estimator
    # A checkpoint of one estimator is not resumed by the other.
    other = "exact" if estimator == "monte_carlo" else "monte_carlo"
    swapped = {k: v for k, v in kw.items() if k not in ("n_ops", "n_samples")}
    with pytest.raises(ValueError, match="belongs to another run .estimator"):
        IqpModel(max_steps=70, **(swapped | dict(estimator=other))).fit(X, checkpoint=ckpt)
    # A cosine schedule depends on max_steps: a checkpoint of another length is refused.
    cos = kw | dict(lr_schedule="cosine")
    IqpModel(max_steps=20, **cos).fit(X, checkpoint=str(tmp_path / "cos.npz"))
    with pytest.raises(ValueError, match="belongs to another run .lr_schedule_steps"):
        IqpModel(max_steps=30, **cos).fit(X, checkpoint=str(tmp_path / "cos.npz"))


def test_exact_estimator_trains_on_the_noise_free_loss():
    """The exact training loss is mmd.exact at each step's parameters (no key dependence),
    validation and early stopping run on it, and auto picks it for small circuits."""
    X, _ = ising_chain(n=6, m=400, seed=7)
    kw = dict(max_steps=40, sigma=[0.8, 1.6], verbose=False, random_state=0)
    model = IqpModel(validation_fraction=0.25, patience=20, **kw).fit(X)
    assert model.estimator_ == "exact"
    plain = dict(validation_fraction=0.0, sigma_weights="equal")  # the loss is mmd.exact
    a = IqpModel(estimator="exact", max_weight=3, **plain, **kw).fit(X)
    start = iqpgen.init.from_data(a.circuit_, X)
    first = float(iqpgen.mmd.exact(a.circuit_, start, X, [0.8, 1.6]))
    assert a.history_.loss[0] == pytest.approx(first, rel=1e-5, abs=1e-7)
    assert a.history_.loss[-1] < a.history_.loss[0]
    assert a.mmd(X) == pytest.approx(float(iqpgen.mmd.exact(a.circuit_, a.params_, X, a.sigma_)))
    assert a.mmd(X, random_state=1) == a.mmd(X, random_state=2)  # no noise
    mc = IqpModel(estimator="monte_carlo", max_weight=3, **kw).fit(X)
    assert mc.estimator_ == "monte_carlo" and mc.mmd(X, random_state=1) != mc.mmd(X, random_state=2)


def test_exact_fit_chooses_its_steps_on_held_out_rows_then_trains_on_every_row():
    """validation_fraction='auto' on the exact loss: a tenth of the rows chooses the number of
    steps (history_ is that run's), and the parameters are those of a fit on every row for
    that many steps."""
    X, _ = ising_chain(n=6, m=400, seed=7)
    kw = dict(max_steps=60, sigma=[0.8, 1.6], learning_rate=0.05, verbose=False, random_state=0)
    auto = IqpModel(**kw).fit(X)
    assert auto.estimator_ == "exact" and len(auto.history_.val_loss) > 0
    steps = auto.history_.best_step
    assert 0 < steps <= 60
    again = IqpModel(**(kw | dict(max_steps=steps, validation_fraction=0.0))).fit(X)
    np.testing.assert_allclose(np.asarray(auto.params_), np.asarray(again.params_), atol=1e-6)
    # An explicit fraction keeps the best held-out parameters without training again.
    held = IqpModel(**(kw | dict(validation_fraction=0.1))).fit(X)
    assert held.history_.best_step == steps
    assert not np.allclose(np.asarray(held.params_), np.asarray(auto.params_))


def test_auto_estimator_follows_the_cost_model():
    from iqpgen.fitplan import choose_estimator

    small = iqpgen.gates.local_circuit(16, 6)
    assert choose_estimator(small, 2, 1000, 1000) == "exact"
    assert choose_estimator(iqpgen.gates.local_circuit(22, 2), 3, 1000, 1000) == "monte_carlo"
    big = iqpgen.IqpCircuit(40, iqpgen.gates.local(40, 1))
    assert choose_estimator(big, 1, 10, 10) == "monte_carlo"


def test_validation_and_explicit_gates():
    X, _ = ising_chain(n=5, m=300, seed=5)
    pattern = iqpgen.gates.lattice(1, 5)
    model = IqpModel(
        gates=pattern,
        max_steps=40,
        n_ops=32,
        n_samples=32,
        validation_fraction=0.2,
        patience=20,
        random_state=0,
        verbose=False,
        sigma=[1.0, 2.0],
    ).fit(X)
    assert model.circuit_.n_params == len(pattern) and model.sigma_ == (1.0, 2.0)
    assert len(model.history_.val_loss) >= 1


def test_save_load_roundtrip(small_fit, tmp_path):
    X, model = small_fit
    path = tmp_path / "model.iqp"
    model.save(path)
    assert path.exists() and not any(p.name.startswith(".tmp-") for p in tmp_path.iterdir())
    loaded = IqpModel.load(path)
    np.testing.assert_array_equal(loaded.params_, model.params_)
    assert loaded.circuit_.gates == model.circuit_.gates
    assert loaded.sigma_ == model.sigma_ and loaded.n_features_in_ == 6
    assert loaded.estimator_ == model.estimator_
    np.testing.assert_array_equal(loaded.history_.loss, model.history_.loss)
    assert loaded.score(X) == pytest.approx(model.score(X))
    np.testing.assert_array_equal(loaded.sample(4, random_state=1), model.sample(4, random_state=1))


def test_load_errors(tmp_path, small_fit):
    with pytest.raises(FileNotFoundError, match="no model file"):
        IqpModel.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="not a readable iqpgen model"):
        IqpModel.load(junk)
    other = tmp_path / "other.npz"
    np.savez(other, meta=np.array(json.dumps({"kind": "something else"})))
    with pytest.raises(ValueError, match="wrong kind"):
        IqpModel.load(other)
    # A model file with an array missing.
    _, model = small_fit
    good = tmp_path / "good.npz"
    model.save(good)
    with zipfile.ZipFile(good) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    damaged = tmp_path / "damaged.npz"
    with zipfile.ZipFile(damaged, "w") as z:
        for name, data in parts.items():
            if name != "params.npy":
                z.writestr(name, data)
    with pytest.raises(ValueError, match="corrupt"):
        IqpModel.load(damaged)


def test_large_models_refuse_exact_sampling_and_training():
    n = iqpgen.exact.max_qubits() + 1
    X = np.zeros((3, n), np.uint8)
    X[1, ::2] = 1
    kw = dict(max_weight=1, max_steps=1, n_ops=8, n_samples=8, verbose=False)
    model = IqpModel(**kw).fit(X)
    assert model.estimator_ == "monte_carlo"
    with pytest.raises(ValueError, match="device="):
        model.sample(2)
    with pytest.raises(ValueError, match="estimator='exact' needs .* budget"):
        IqpModel(estimator="exact", max_weight=1, max_steps=1, verbose=False).fit(X)


def test_unfitted_model():
    with pytest.raises(ValueError, match="not fitted"):
        IqpModel().score(np.zeros((3, 2)))


BAD_X = [
    (np.array([[1, -1], [-1, 1]]), ValueError, "±1 spins"),
    (np.array([[0, 2], [1, 0]]), ValueError, "only 0 and 1"),
    (np.array([[0, np.nan], [1, 0]]), ValueError, "NaN"),
    (np.zeros((0, 3)), ValueError, "at least 2 rows"),
    (np.zeros((1, 3)), ValueError, "at least 2 rows"),
    (np.zeros(4), ValueError, "must be 2-D"),
    (np.array([["a", "b"], ["c", "d"]]), TypeError, "numbers"),
]


@pytest.mark.parametrize("X,exc,match", BAD_X)
def test_fit_bad_data(X, exc, match):
    with pytest.raises(exc, match=match):
        IqpModel(max_steps=1, verbose=False).fit(X)


@pytest.mark.parametrize("X,exc,match", BAD_X)
def test_score_bad_data(small_fit, X, exc, match):
    with pytest.raises(exc, match=match):
        small_fit[1].score(X)


def test_score_wrong_width(small_fit):
    with pytest.raises(ValueError, match="fitted on 6"):
        small_fit[1].score(np.zeros((4, 5), np.uint8))


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(sigma=0.0), ValueError, "sigma must be > 0"),
        (dict(sigma=-1.0), ValueError, "sigma must be > 0"),
        (dict(sigma="wide"), ValueError, "sigma must be 'auto'"),
        (dict(n_ops=0), ValueError, "n_ops must be at least 1"),
        (dict(n_samples=1), ValueError, "n_samples must be at least 2"),
        (dict(learning_rate=0.0), ValueError, "learning_rate must be"),
        (dict(max_steps=-1), ValueError, "max_steps must be at least 0"),
        (dict(validation_fraction=1.0), ValueError, "validation_fraction must be"),
        (dict(validation_fraction=0.5), ValueError, "leaves"),
        (dict(init="zeros"), ValueError, "init must be"),
        (dict(init=np.zeros(3)), ValueError, "params has shape"),
        (dict(max_weight=5), ValueError, "max_weight=5 exceeds"),
        (dict(optimizer="adam"), TypeError, "optax"),
        (dict(random_state="seed"), TypeError, "random_state"),
        (dict(spin_sym=1), TypeError, "spin_sym"),
        (dict(estimator="state_vector"), ValueError, "estimator must be one of"),
        (dict(estimator=None), ValueError, "estimator must be one of"),
        (dict(validation_fraction="some"), TypeError, "validation_fraction must be a number"),
        (dict(keep="first"), ValueError, "keep must be 'best'"),
        (dict(lr_schedule="step"), ValueError, "lr_schedule must be one of"),
        (dict(variance_reduction="cv"), ValueError, "variance_reduction must be 'auto'"),
        (dict(sigma_weights="large"), ValueError, "sigma_weights must be 'auto'"),
        (dict(sigma=[1.0, 2.0], sigma_weights=[1.0]), ValueError, "one per bandwidth"),
        (dict(sigma=[1.0, 2.0], sigma_weights=[0, 0]), ValueError, "not all 0"),
    ],
)
def test_impossible_hyperparameters(kwargs, exc, match):
    X = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    settings = dict(max_steps=1, verbose=False) | kwargs
    with pytest.raises(exc, match=match):
        IqpModel(**settings).fit(X)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(optimizer=optax.sgd(0.1), learning_rate=0.5), "learning_rate=0.5 is not used"),
        (dict(optimizer=optax.sgd(0.1), lr_schedule="cosine"), "lr_schedule='cosine' is not"),
        (dict(estimator="exact", n_ops=64), "n_ops=64 is not used: .*Monte Carlo"),
        (dict(estimator="exact", n_samples=64), "n_samples=64 is not used"),
        (dict(estimator="exact", variance_reduction="control"), "variance_reduction="),
        (dict(gates=[[0, 1]], max_weight=3), "max_weight=3 is not used: gates="),
        (dict(gates=iqpgen.gates.local_circuit(3, 1), spin_sym=True), "spin_sym=True is not"),
        (dict(init=np.zeros(6), init_scale=0.1), "init_scale=0.1 is not used"),
        (dict(sigma=1.0, sigma_weights=[1.0, 2.0]), "one per bandwidth"),
    ],
)
def test_options_that_another_makes_unused_are_refused(kwargs, match):
    """An option that would be accepted and then ignored is refused, naming it and why."""
    X = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    with pytest.raises(ValueError, match=match):
        IqpModel(**(dict(max_steps=1, verbose=False) | kwargs)).fit(X)


def test_dataframes_sparse_matrices_and_feature_names(tmp_path):
    """Tabular input the scikit-learn way: a DataFrame of 0/1 or booleans fits like its
    array and keeps its column names; a sparse matrix is made dense; names must match later."""
    pd = pytest.importorskip("pandas")
    sparse = pytest.importorskip("scipy.sparse")
    X = np.random.default_rng(0).integers(0, 2, (60, 4)).astype(np.uint8)
    cols = ["a", "b", "c", "d"]
    kw = dict(max_steps=3, sigma=1.0, random_state=0, verbose=False)
    ref = IqpModel(**kw).fit(X)
    assert not hasattr(ref, "feature_names_in_")
    for data in (pd.DataFrame(X, columns=cols), pd.DataFrame(X.astype(bool), columns=cols)):
        model = IqpModel(**kw).fit(data)
        np.testing.assert_array_equal(model.params_, ref.params_)
        assert list(model.feature_names_in_) == cols
        assert model.score(data) == model.score(X)
    with pytest.raises(ValueError, match="column names differ .*feature_names_in_"):
        model.score(pd.DataFrame(X, columns=["b", "a", "c", "d"]))
    model.save(tmp_path / "m.npz")
    assert list(IqpModel.load(tmp_path / "m.npz").feature_names_in_) == cols
    np.testing.assert_array_equal(IqpModel(**kw).fit(sparse.csr_matrix(X)).params_, ref.params_)
    with pytest.raises(TypeError, match="column.* b do not"):
        IqpModel(**kw).fit(pd.DataFrame({"a": [0, 1], "b": ["x", "y"]}))
    with pytest.raises(TypeError, match="DataFrame, a SciPy sparse matrix"):
        IqpModel(**kw).fit({"a": [0, 1]})
    assert not hasattr(IqpModel(**kw).fit(data).fit(X), "feature_names_in_")  # refit: dropped


@pytest.mark.slow
def test_thousand_qubit_model_runs_a_few_steps():
    """500,500 parameters on 1,000 rows: a few steps within the CI machine's memory."""
    import resource

    n = 1000
    X = np.asarray(jax.random.bernoulli(jax.random.key(0), 0.3, (1000, n)), np.uint8)
    # Product-distribution rows: the data-dependent start is already near the optimum, so no
    # rows are held out (a validation loss would only say whether 3 noisy steps helped).
    model = IqpModel(max_steps=3, sigma=3.825, validation_fraction=0.0, random_state=0)
    model.set_params(verbose=False).fit(X)
    assert model.params_.shape == (500_500,)
    assert np.isfinite(model.history_.loss).all()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    assert peak_gb < 12, peak_gb
    assert os.environ.get("IQPGEN_SKIP") is None


def test_deploy_methods(small_fit):
    import pennylane as qml

    X, model = small_fit
    qasm = model.to_qasm()
    assert qasm.startswith("OPENQASM 2.0;") and "measure" in qasm
    body = model.to_pennylane()

    @qml.qnode(qml.device("default.qubit", wires=6))
    def probs():
        body()
        return qml.probs()

    np.testing.assert_allclose(probs(), model.probs(), atol=1e-6)
    np.testing.assert_allclose(model.qnode(device="default.qubit")(), model.probs(), atol=1e-6)
    shots = model.sample(4000, device="lightning.qubit", random_state=3)
    assert shots.shape == (4000, 6) and shots.dtype == np.uint8
    # Device samples follow the model: marginals within 5 sigma of the exact ones.
    exact = model.probs() @ iqpgen.exact.all_bitstrings(6)
    se = np.sqrt(exact * (1 - exact) / 4000)
    assert np.all(np.abs(shots.mean(0) - exact) <= 5 * se + 1e-9)


# ------------------------------------------------------------------ what a fit reports
def test_default_fit_holds_out_a_tenth_and_keeps_the_best_step():
    X, _ = ising_chain(n=8, m=600, seed=4)
    steps = []
    model = IqpModel(max_steps=60, estimator="monte_carlo", n_ops=64, n_samples=64,
                     random_state=0, verbose=False)  # fmt: skip
    model.fit(X, callback=lambda step, params: steps.append(step))
    h = model.history_
    assert model.loss_options_ == {"n_ops": 64, "n_samples": 64,
                                   "variance_reduction": "control+antithetic"}  # fmt: skip
    assert len(h.loss) == 60 and steps == [50, 60]
    assert list(h.val_step) == [0, 50, 60]
    assert h.best_step == h.val_step[int(np.argmin(h.val_loss))]
    assert f"{h.best_step} (kept)" in h.summary()
    # 60 of 600 rows were held out: the weights come from the 540 training rows.
    w = model.sigma_weights_
    assert len(w) == 3 and np.isclose(np.mean(w), 1.0) and w[-1] > w[0]  # σ descending
    tiny = IqpModel(max_steps=2, random_state=0, verbose=False).fit(X[:40])
    assert len(tiny.history_.val_loss) == 0  # 4 rows would be too few to validate on


def test_a_fit_that_only_gets_worse_warns_and_keeps_its_start():
    # Independent bits: the data start is already the best circuit; huge steps only hurt.
    X = np.asarray(jax.random.bernoulli(jax.random.key(1), 0.3, (400, 6)), np.uint8)
    kw = dict(max_steps=20, learning_rate=0.5, lr_schedule="constant", random_state=0,
              estimator="monte_carlo", n_ops=64, n_samples=64, verbose=False)  # fmt: skip
    with pytest.warns(iqpgen.train.NoImprovementWarning, match="never improved"):
        model = IqpModel(**kw).fit(X)
    assert model.history_.improved is False and model.history_.best_step == 0
    with pytest.warns(iqpgen.train.NoImprovementWarning, match="keep='last'"):
        last = IqpModel(keep="last", **kw).fit(X)
    assert last.history_.best_step == 20
    assert model.mmd(X) < last.mmd(X)


def test_sigma_weights_and_uniform_mmd_against_enumeration():
    X, _ = ising_chain(n=6, m=300, seed=5)
    sig = [0.6, 1.3]
    xs = iqpgen.exact.all_bitstrings(6).astype(float)
    for s, u in zip(sig, iqpgen.kernel.uniform_mmd(X, sig), strict=True):
        d = ((X[:, None, :] != X[None, :, :]).sum(-1)).astype(float)
        k = np.exp(-d / (2 * s * s))
        data_mean = (k.sum() - len(X)) / (len(X) * (len(X) - 1))
        cross = np.exp(-((X[:, None, :] != xs[None]).sum(-1)) / (2 * s * s)).mean()
        assert u == pytest.approx(data_mean - cross, rel=1e-9)
    kw = dict(sigma=sig, max_steps=0, estimator="monte_carlo", validation_fraction=0.0,
              verbose=False)  # fmt: skip
    auto = IqpModel(**kw).fit(X).sigma_weights_
    u = iqpgen.kernel.uniform_mmd(X, sig)
    expected = u ** (-3 / 8) / np.mean(u ** (-3 / 8))
    assert np.allclose(auto, expected)
    assert IqpModel(sigma_weights="equal", **kw).fit(X).sigma_weights_ is None
    assert IqpModel(**(kw | dict(estimator="exact"))).fit(X).sigma_weights_ is None
    assert IqpModel(sigma_weights=[1, 3], **kw).fit(X).sigma_weights_ == (0.5, 1.5)
