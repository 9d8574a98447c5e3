"""MMD² estimator against the exact state vector; gradients against finite differences."""

import functools

import jax
import jax.numpy as jnp
import networkx as nx
import numpy as np
import pytest

import iqpgen
from conftest import random_params, statevector_probs, tied_circuit
from iqpgen import kernel, mmd


def _data(n, m=60, seed=3, p=0.3):
    return np.asarray(jax.random.bernoulli(jax.random.key(seed), p, (m, n)), np.uint8)


@pytest.mark.parametrize("spin_sym", [False, True])
@pytest.mark.parametrize("sigma", [0.8, 2.0, [0.7, 1.5]])
def test_mmd_loss_is_unbiased_against_exact(sigma, spin_sym):
    c = tied_circuit(6, 2, seed=1, spin_sym=spin_sym)
    p = random_params(c, 1)
    X = _data(6)
    exact = mmd.exact(c, p, X, sigma)
    vals = np.array(
        [
            float(
                iqpgen.mmd_loss(
                    c, p, X, key=jax.random.key(i), sigma=sigma, n_ops=200, n_samples=200
                )
            )
            for i in range(40)
        ]
    )
    se = vals.std(ddof=1) / np.sqrt(len(vals))
    assert abs(vals.mean() - exact) < 5 * se


def test_mmd_loss_generic_path_is_unbiased():
    c = tied_circuit(5, 3, seed=2)
    p = random_params(c, 2)
    X = _data(5, seed=4)
    exact = mmd.exact(c, p, X, 1.0)
    vals = np.array(
        [
            float(
                iqpgen.mmd_loss(c, p, X, key=jax.random.key(i), sigma=1.0, n_ops=100, n_samples=100)
            )
            for i in range(40)
        ]
    )
    assert abs(vals.mean() - exact) < 5 * vals.std(ddof=1) / np.sqrt(len(vals))


def test_wires_give_the_marginal_mmd():
    c = tied_circuit(6, 2, seed=5)
    p = random_params(c, 5)
    X = _data(6, seed=6)
    wires = [0, 2, 3]
    # Exact MMD of the marginal on `wires`: marginalise both distributions.
    q = statevector_probs(c, p).reshape([2] * 6).sum(axis=(1, 4, 5)).ravel()
    idx = X[:, wires].astype(int) @ np.array([4, 2, 1])
    F = iqpgen.exact.walsh_hadamard(np.bincount(idx, minlength=8).astype(float))
    zq = iqpgen.exact.walsh_hadamard(q)
    m = len(X)
    w = mmd._op_weights(3, 1.0)
    exact = w @ (zq * zq - 2 * zq * F / m + (F * F - m) / (m * (m - 1)))
    assert float(mmd.exact(c, p, X, 1.0, wires=wires)) == pytest.approx(exact, abs=1e-6)
    vals = np.array(
        [
            float(
                iqpgen.mmd_loss(
                    c, p, X, key=jax.random.key(i), sigma=1.0, n_ops=100, n_samples=200, wires=wires
                )
            )
            for i in range(40)
        ]
    )
    assert abs(vals.mean() - exact) < 5 * vals.std(ddof=1) / np.sqrt(len(vals))


@pytest.mark.parametrize("vr", ["none", "control+antithetic"])
def test_gradient_matches_finite_differences(vr):
    c = tied_circuit(5, 2, seed=7)
    p = random_params(c, 7)
    X = _data(5, seed=8)
    f = jax.jit(
        functools.partial(
            mmd.loss_from_packed, sigmas=(1.0,), n_ops=300, n_samples=300, variance_reduction=vr
        ),
    )
    data = mmd.pack_data(X)
    key = jax.random.key(9)
    g = jax.grad(lambda q: f(c, q, data, key))(p)
    eps = 1e-2
    for i in range(c.n_params):
        d = jnp.zeros_like(p).at[i].set(eps)
        fd = (f(c, p + d, data, key) - f(c, p - d, data, key)) / (2 * eps)
        assert abs(float(g[i]) - float(fd)) < 1e-3 + 2e-2 * abs(float(fd))


@pytest.mark.parametrize("m", [1, 31, 32, 77])
def test_packed_data_on_the_host_and_traced_agree_with_the_parities(m):
    """pack_data packs on the host (concrete rows) or in JAX (traced rows, inside a caller's
    jit) to the same words, and the parity sums they give match the rows directly; the
    data table's sums match them too."""
    X = np.asarray(jax.random.bernoulli(jax.random.key(m), 0.4, (m, 9)), np.uint8)
    Xi = X.astype(np.int64)
    host = mmd.pack_data(X)
    traced = jax.jit(mmd.pack_data)(X)
    assert host.bits.dtype == traced.bits.dtype == jnp.uint32
    np.testing.assert_array_equal(host.bits, traced.bits)
    assert int(host.n_rows) == int(traced.n_rows) == m
    supp = np.array([[0, 9, 9], [2, 5, 9], [1, 3, 8]])  # padding index 9
    par = np.array([(1 - 2 * (Xi[:, [q for q in r if q < 9]].sum(1) % 2)).sum() for r in supp])
    np.testing.assert_array_equal(mmd.data_sums(host, jnp.asarray(supp)), par)
    table = mmd.data_table(X)
    masks = [sum(1 << (8 - q) for q in row if q < 9) for row in supp]
    np.testing.assert_array_equal(np.asarray(table.sums)[masks], par)
    assert int(table.n_rows) == m


def test_jit_with_bound_integers_and_no_retrace():
    c = iqpgen.IqpCircuit(4, iqpgen.gates.local(4, 2))
    X = _data(4)
    traces = []

    def loss(circuit, params, data, *, key):
        traces.append(1)
        return iqpgen.mmd_loss(circuit, params, data, key=key, sigma=1.0, n_ops=50, n_samples=50)

    f = jax.jit(loss)
    a = f(c, jnp.zeros(10, jnp.float32), X, key=jax.random.key(0))
    b = f(c, jnp.full(10, 0.1, jnp.float32), X, key=jax.random.key(1))
    assert len(traces) == 1 and a.shape == () and b.shape == ()
    g = jax.grad(lambda q: f(c, q, X, key=jax.random.key(0)))(jnp.full(10, 0.1))
    assert g.shape == (10,)


def test_chunk_size_does_not_change_loss():
    c = tied_circuit(6, 2, seed=3)
    p = random_params(c, 3)
    X = _data(6)
    kw = dict(key=jax.random.key(2), sigma=[1.0, 2.0], n_ops=100, n_samples=64)
    ref = iqpgen.mmd_loss(c, p, X, **kw)
    for chunk in (1, 13):
        np.testing.assert_allclose(iqpgen.mmd_loss(c, p, X, chunk_size=chunk, **kw), ref, atol=1e-6)


def test_chunked_gradient_equals_one_chunk(monkeypatch):
    """Chunks keep their phases for the backward pass (or, beyond a memory bound, recompute
    them): either way the gradient is that of one chunk, on a dense and a scattered circuit."""
    import networkx as nx

    from iqpgen.estimator import core

    X = _data(48)
    data = mmd.pack_data(X)
    kw = dict(sigmas=(3.0,), n_ops=16, n_samples=24, variance_reduction="control+antithetic")
    dense = tied_circuit(48, 2, seed=3)
    cases = [  # a dense J s, a scattered one (48 edges), the generic path (the dense circuit)
        (dense, "pairwise"),
        (iqpgen.IqpCircuit(48, iqpgen.gates.graph(nx.cycle_graph(48))), "pairwise"),
        (dense, "generic"),
    ]

    def grads():  # every gradient traced into one program (one compilation)
        out = []
        for c, path in cases:
            p = random_params(c, 4)

            def grad(chunk, c=c, p=p, path=path):
                loss = functools.partial(
                    mmd.loss_from_packed, c, data=data, key=jax.random.key(2), chunk_size=chunk,
                    path=path, **kw,
                )  # fmt: skip
                return jax.grad(loss)(p)

            row = [grad(None), grad(8)]  # one chunk; chunks with their phases saved
            if path != "generic":  # recomputing is the same checkpoint whatever the path
                with monkeypatch.context() as m:
                    m.setattr(core, "_SAVED_ELEMENTS", 0)  # every chunk recomputed
                    row.append(grad(8))
            out.append(row)
        return out

    for one, *chunked in jax.jit(grads)():
        for g in chunked:  # the paths give the same numbers up to rounding
            np.testing.assert_allclose(g, one, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("spin_sym", [False, True])
def test_exact_forms_agree_with_kernel_sums(spin_sym):
    """mmd.exact (float32 and float64) against the kernel form on an independent state vector."""
    c = tied_circuit(4, 3, seed=4, spin_sym=spin_sym)
    p = np.asarray(random_params(c, 4), np.float64)
    X = _data(4, m=30)
    xs = iqpgen.exact.all_bitstrings(4)
    q = statevector_probs(c, p)
    pe = np.bincount(X.astype(int) @ [8, 4, 2, 1], minlength=16) / len(X)
    K = mmd._kernel_matrix(xs, xs, 1.3)
    d = q - pe
    biased = d @ K @ d
    # Unbiased form: the data-data term excludes i == j pairs.
    Kxx = mmd._kernel_matrix(X, X, 1.3)
    m = len(X)
    u = q @ K @ q - 2 * q @ K @ pe + (Kxx.sum() - np.trace(Kxx)) / (m * (m - 1))
    assert mmd.exact_between_distributions(q, pe, 1.3) == pytest.approx(biased, abs=1e-12)
    assert float(mmd.exact(c, p, X, 1.3, unbiased=False)) == pytest.approx(biased, abs=1e-6)
    assert float(mmd.exact(c, p, X, 1.3)) == pytest.approx(u, abs=1e-6)
    with jax.enable_x64(True):
        exact64 = mmd.exact(c, p, X, 1.3, unbiased=False)
        assert exact64.dtype == jnp.float64 and float(exact64) == pytest.approx(biased, abs=1e-13)
        assert float(mmd.exact(c, p, X, 1.3)) == pytest.approx(u, abs=1e-13)


def test_exact_gradient_matches_finite_differences_and_jits():
    c = tied_circuit(5, 4, seed=8, spin_sym=True)
    X = _data(5, seed=9)
    traces = []

    def f(q):
        traces.append(1)
        return mmd.exact(c, q, X, [0.8, 2.0], wires=[0, 1, 3])

    with jax.enable_x64(True):
        p = jnp.asarray(random_params(c, 8), jnp.float64)
        g = jax.jit(jax.grad(f))(p)
        eps = 1e-6
        fd = [(f(p + e) - f(p - e)) / (2 * eps) for e in eps * jnp.eye(c.n_params)]
        np.testing.assert_allclose(g, fd, atol=1e-9)
    fj = jax.jit(f)
    n_traces = len(traces)
    fj(jnp.zeros(c.n_params))
    fj(jnp.ones(c.n_params))
    assert len(traces) == n_traces + 1


def test_uniform_mmd_bad_input():
    with pytest.raises(ValueError, match="X must"):
        kernel.uniform_mmd(np.array([[0, 2], [1, 0]]), 1.0)
    with pytest.raises(ValueError, match="max_rows must be at least 2"):
        kernel.uniform_mmd(np.zeros((4, 3)), 1.0, max_rows=1)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        kernel.uniform_mmd(np.zeros((4, 3)), -1.0)


def test_exact_bad_input():
    c = tied_circuit(4, 2, seed=1)
    p = random_params(c, 1)
    with pytest.raises(ValueError, match="data has 3 columns"):
        mmd.exact(c, p, np.zeros((5, 3)), 1.0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        mmd.exact(c, p, np.zeros((5, 4)), -1.0)
    with pytest.raises(ValueError, match="wires must be distinct"):
        mmd.exact(c, p, np.zeros((5, 4)), 1.0, wires=[0, 0])
    with pytest.raises(TypeError, match="unbiased must be True or False"):
        mmd.exact(c, p, np.zeros((5, 4)), 1.0, unbiased="yes")


def test_between_samples_matches_direct_kernel():
    X, Y = _data(5, m=40, seed=1), _data(5, m=30, seed=2, p=0.6)
    s = 1.7
    d = lambda a, b: np.abs(a[:, None, :].astype(int) - b[None, :, :]).sum(-1)  # noqa: E731
    k = lambda a, b: np.exp(-d(a, b) / (2 * s * s))  # noqa: E731
    kxx, kyy, kxy = k(X, X), k(Y, Y), k(X, Y)
    ref = (
        (kxx.sum() - np.trace(kxx)) / (40 * 39)
        + (kyy.sum() - np.trace(kyy)) / (30 * 29)
        - 2 * kxy.mean()
    )
    assert kernel.between_samples(X, Y, s) == pytest.approx(ref, abs=1e-12)


def test_heuristics():
    X = np.array([[0, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1]])
    assert kernel.median_heuristic(X) == 2.0
    Xl = _data(100, m=50, p=0.5)
    sig = kernel.sigma_heuristic(Xl, n_sigmas=4)
    # The paper's list: sqrt(linspace(σ₂², m_E, k)), descending from the weight-2 bandwidth to
    # the square root of the median Euclidean distance.
    assert len(sig) == 4 and sig == sorted(sig, reverse=True)
    assert mmd.op_probability(sig[0]) * 100 == pytest.approx(2.0, rel=1e-6)
    d = Xl.astype(int) @ (1 - Xl.T.astype(int)) + (1 - Xl.astype(int)) @ Xl.T.astype(int)
    m_e = np.median(np.sqrt(d[np.triu_indices(50, 1)]))
    assert sig[-1] ** 2 == pytest.approx(m_e, rel=1e-9)
    np.testing.assert_allclose(np.diff(np.square(sig)), (m_e - sig[0] ** 2) / 3, rtol=1e-9)
    # The paper's first (weight-2) bandwidths at 484 and 1,000 bits.
    for n, first in [(484, 7.762), (1000, 11.169)]:
        assert round(kernel.sigma_heuristic(_data(n, m=20, p=0.5))[0], 3) == first
    assert kernel.sigma_heuristic(X, n_sigmas=1) == [1.0]  # n <= 4: σ₂ = 1


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(sigma=0.0), ValueError, "sigma must be > 0"),
        (dict(sigma=[]), ValueError, "sigma is empty"),
        (dict(sigma="wide"), TypeError, "sigma must be a float"),
        (dict(n_ops=0), ValueError, "n_ops must be at least 1"),
        (dict(n_samples=1), ValueError, "n_samples must be at least 2"),
        (dict(wires=[0, 9]), ValueError, "wires must be distinct"),
        (dict(data=[[0, 1, 1, 0]]), ValueError, "at least 2 rows"),
        (dict(data=[[0, 1, 1], [1, 1, 1]]), ValueError, "3 columns"),
    ],
)
def test_mmd_loss_bad_input(kwargs, exc, match):
    c = iqpgen.IqpCircuit(4, iqpgen.gates.local(4, 2))
    args = dict(data=_data(4), key=jax.random.key(0), sigma=1.0)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        iqpgen.mmd_loss(c, jnp.zeros(10), args.pop("data"), **args)


def test_init_from_data_reproduces_marginals():
    X = _data(5, m=400, seed=11, p=0.25)
    c = iqpgen.IqpCircuit(5, iqpgen.gates.local(5, 1))
    p = iqpgen.init.from_data(c, X)
    probs = iqpgen.exact.probs(c, p)
    marg = probs @ iqpgen.exact.all_bitstrings(5)
    np.testing.assert_allclose(marg, X.mean(0), atol=1e-6)


def test_init_from_data_pairs_follow_covariance():
    X = _data(4, m=500, seed=12, p=0.5)
    X[:, 3] = X[:, 0]
    c = iqpgen.IqpCircuit(4, iqpgen.gates.local(4, 2))
    p = np.asarray(iqpgen.init.from_data(c, X, scale=0.01))
    pairs = dict(zip(map(tuple, (g[0] for g in c.gates[4:])), p[4:], strict=True))
    assert pairs[(0, 3)] == pytest.approx(0.01 * np.pi, rel=1e-5)
    assert max(abs(v) for k, v in pairs.items() if k != (0, 3)) < 0.2 * 0.01 * np.pi
    noisy = iqpgen.init.from_data(c, X, noise=0.1, key=jax.random.key(0))
    assert not np.allclose(noisy, p)
    with pytest.raises(TypeError, match="key is required"):
        iqpgen.init.from_data(c, X, noise=0.1)
    with pytest.raises(ValueError, match="scale must be"):
        iqpgen.init.from_data(c, X, scale=-1.0)
    with pytest.raises(ValueError, match="scale must be"):
        iqpgen.init.from_data(c, X, scale=float("inf"))  # would give infinite angles
    with pytest.raises(ValueError, match="noise must be"):
        iqpgen.init.from_data(c, X, noise=float("nan"), key=jax.random.key(0))
    with pytest.raises(TypeError, match="scale must be a number"):
        iqpgen.init.from_data(c, X, scale="0.1")
    # numpy scalars are numbers too (float32 0.01 is 0.01 to 1e-7)
    np.testing.assert_allclose(iqpgen.init.from_data(c, X, scale=np.float32(0.01)), p, rtol=1e-6)
    with pytest.raises(ValueError, match="std must be"):
        iqpgen.init.normal(c, key=jax.random.key(0), std=-1.0)


def test_init_pair_statistics_without_an_n_by_n_matrix():
    """Pair means by block products (many pairs) and by gathers (few) equal the full product;
    from_data's scale is relative to the circuit's own largest pair covariance."""
    import networkx as nx

    from iqpgen.init import _pair_means

    X = _data(200, m=100, seed=13, p=0.4)
    X[:, 9] = X[:, 4]
    s = 1.0 - 2.0 * X
    full = s.T @ s / len(s)
    i, j = np.triu_indices(200, 1)
    edges = np.array(nx.cycle_graph(200).edges())
    for a, b in [(i, j), (edges[:, 0], edges[:, 1])]:
        np.testing.assert_allclose(_pair_means(s, a, b), full[a, b], rtol=0, atol=1e-12)
    c = iqpgen.IqpCircuit(200, iqpgen.gates.graph(nx.cycle_graph(200)))
    p = np.asarray(iqpgen.init.from_data(c, X, scale=0.01))
    C = np.cov(s, rowvar=False)[edges[:, 0], edges[:, 1]]
    np.testing.assert_allclose(p[200:], 0.01 * np.pi * C / np.abs(C).max(), rtol=1e-5, atol=1e-9)


def test_init_from_moments_recovers_an_iqp_circuit():
    """Data with the exact moments of a circuit of singles and pairs on a triangle-free graph:
    from_moments gives a circuit with the same ⟨Z_i⟩ and ⟨Z_iZ_j⟩ on its pairs (state vector),
    and the same |angles|."""
    n = 6
    c = iqpgen.IqpCircuit(n, iqpgen.gates.graph(nx.cycle_graph(n)))
    singles = np.array([len(g[0]) == 1 for g in c.gates])
    rng = np.random.default_rng(3)
    true = np.where(singles, rng.uniform(0.1, 0.4, c.n_params), rng.uniform(-0.3, 0.3, c.n_params))
    probs = iqpgen.exact.probs(c, true)
    X = np.repeat(iqpgen.exact.all_bitstrings(n), np.round(probs * 2_000_000).astype(int), axis=0)
    ops = np.array([[int(q in g[0]) for q in range(n)] for g in c.gates])
    s = 1 - 2 * X.astype(float)
    data_moments = np.prod(np.where(ops[:, None, :] == 1, s[None], 1.0), axis=2).mean(1)
    p = np.asarray(iqpgen.init.from_moments(c, X))
    np.testing.assert_allclose(iqpgen.exact.expval(c, p, ops), data_moments, atol=2e-5)
    np.testing.assert_allclose(np.abs(p), np.abs(true), atol=2e-3)
    # Shrinking the pairs keeps the marginals exact; a high threshold leaves singles only.
    shrunk = np.asarray(iqpgen.init.from_moments(c, X, shrink=0.5))
    np.testing.assert_allclose(np.abs(shrunk[~singles]), 0.5 * np.abs(p[~singles]), rtol=1e-5)
    marginals = iqpgen.exact.expval(c, shrunk, ops[singles])
    np.testing.assert_allclose(marginals, data_moments[singles], atol=2e-5)
    only_singles = np.asarray(iqpgen.init.from_moments(c, X, threshold=1e6))
    assert np.all(only_singles[~singles] == 0)
    with pytest.raises(ValueError, match="shrink must be"):
        iqpgen.init.from_moments(c, X, shrink=-1.0)
    with pytest.raises(ValueError, match="threshold must be"):
        iqpgen.init.from_moments(c, X, threshold=float("nan"))
    with pytest.raises(TypeError, match="shrink must be a number, got '0.5'"):
        iqpgen.init.from_moments(c, X, shrink="0.5")


def test_moved_names_keep_a_deprecated_alias():
    X = np.random.default_rng(0).integers(0, 2, (50, 8))
    with pytest.warns(DeprecationWarning, match="moved to iqpgen.kernel.sigma_heuristic"):
        old = iqpgen.mmd.sigma_heuristic
    assert old(X) == iqpgen.kernel.sigma_heuristic(X)
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        iqpgen.mmd.nothing_here  # noqa: B018
