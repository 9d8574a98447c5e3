"""Monte Carlo expval against the exact state vector, across paths, chunks and keys."""

import math
import sys
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import iqpgen
from conftest import random_params, tied_circuit
from iqpgen.estimator import draw_signs

# 5 sigma per estimate: with ~100 estimates per test the chance of a false failure is ~6e-5.
K_SIGMA = 5.0


@pytest.mark.parametrize("spin_sym", [False, True])
@pytest.mark.parametrize("max_weight,seed", [(2, 0), (3, 1), (4, 2)])
def test_expval_matches_state_vector(max_weight, seed, spin_sym, all_ops):
    n = 6
    c = tied_circuit(n, max_weight, seed=seed, spin_sym=spin_sym)
    params = random_params(c, seed)
    ops = all_ops(n)
    exact = iqpgen.exact.expval(c, params, ops)
    est = iqpgen.expval(c, params, ops, key=jax.random.key(seed), n_samples=4000)
    mean, se = np.asarray(est.mean), np.asarray(est.stderr)
    if spin_sym:
        odd = ops.sum(1) % 2 == 1
        assert np.all(mean[odd] == 0) and np.allclose(exact[odd], 0, atol=1e-12)
        ok = ~odd
    else:
        ok = np.ones(len(ops), bool)
    assert np.all(np.abs(mean[ok] - exact[ok]) <= K_SIGMA * se[ok] + 1e-6)


def _exact_cos_std(c, params, ops):
    """Standard deviation of cos(phase(a, z)) over the exact z distribution (brute force)."""
    n = c.n_qubits
    z = iqpgen.exact.all_bitstrings(n).astype(np.int64)
    if c.spin_sym:
        z = z[z.sum(1) % 2 == 0]
    zp = np.concatenate([z, np.zeros((len(z), 1), np.int64)], 1)
    gens = np.asarray(c.generators)
    signs = 1 - 2 * (zp[:, gens].sum(-1) % 2)  # (Z, G)
    opp = np.concatenate([ops, np.zeros((len(ops), 1), np.uint8)], 1).astype(np.int64)
    odd = opp[:, gens].sum(-1) % 2  # (ops, G)
    theta = 2 * np.asarray(params, np.float64)[np.asarray(c.gate_of)]
    phase = (odd * theta) @ signs.T
    return np.cos(phase).std(axis=1)


@pytest.mark.parametrize("spin_sym", [False, True])
def test_stderr_is_honest(spin_sym, all_ops):
    n, n_samples = 5, 400
    c = tied_circuit(n, 3, seed=7, spin_sym=spin_sym)
    params = random_params(c, 7)
    ops = all_ops(n)
    if spin_sym:
        ops = ops[ops.sum(1) % 2 == 0]
    exact = iqpgen.exact.expval(c, params, ops)
    true_se = _exact_cos_std(c, params, ops) / np.sqrt(n_samples)
    means, ses = [], []
    for seed in range(40):
        e = iqpgen.expval(c, params, ops, key=jax.random.key(100 + seed), n_samples=n_samples)
        means.append(np.asarray(e.mean))
        ses.append(np.asarray(e.stderr))
    means, ses = np.array(means), np.array(ses)
    # The reported stderr estimates the true one: mean over 40 runs within 5%.
    keep = true_se > 1e-3
    np.testing.assert_allclose(ses.mean(0)[keep], true_se[keep], rtol=0.05)
    # Standardised errors have unit variance: chi2 with 40*len(ops) dof, 5 sigma band.
    zs = ((means - exact) / true_se)[:, keep]
    dof = zs.size
    assert abs((zs**2).sum() - dof) < 5 * np.sqrt(2 * dof)


@pytest.mark.parametrize("spin_sym", [False, True])
def test_paths_agree_for_the_same_key(spin_sym, all_ops):
    """Pairwise, generic and phase-table paths compute the same phases from the same samples;
    "auto" runs the one choose_path picks."""
    from iqpgen.costs import choose_path

    c = tied_circuit(7, 2, seed=3, spin_sym=spin_sym)
    params = random_params(c, 3)
    ops = all_ops(7)
    key = jax.random.key(11)
    a = iqpgen.expval_pairwise(c, params, ops, key=key, n_samples=300)
    b = iqpgen.expval_generic(c, params, ops, key=key, n_samples=300)
    t = iqpgen.expval_phase_table(c, params, ops, key=key, n_samples=300)
    auto = iqpgen.expval(c, params, ops, key=key, n_samples=300)
    for other in (b, t):
        np.testing.assert_allclose(a.mean, other.mean, atol=2e-5)
        np.testing.assert_allclose(a.stderr, other.stderr, atol=2e-5)
    chosen = {"pairwise": a, "generic": b, "table": t}[choose_path(c, len(ops), 300)]
    np.testing.assert_array_equal(auto.mean, chosen.mean)


@pytest.mark.parametrize("spin_sym", [False, True])
def test_phase_table_path_matches_generic_and_state_vector(spin_sym, all_ops):
    """Heavy tied generators: the table path equals the generic one for the same key, is
    within 5σ of the state vector, and its gradient equals the generic path's."""
    from iqpgen import estimator

    n = 6
    c = tied_circuit(n, 5, seed=12, spin_sym=spin_sym)
    params = random_params(c, 12)
    ops = all_ops(n)
    key = jax.random.key(5)
    t = iqpgen.expval_phase_table(c, params, ops, key=key, n_samples=3000)
    g = iqpgen.expval_generic(c, params, ops, key=key, n_samples=3000)
    np.testing.assert_allclose(t.mean, g.mean, atol=2e-5)
    exact = np.asarray(iqpgen.exact.expval(c, params, ops))
    assert np.all(np.abs(np.asarray(t.mean) - exact) <= K_SIGMA * np.asarray(t.stderr) + 1e-6)
    supp = estimator.supports_from_ops(ops, n)

    def grad(path):
        def loss(p):
            st = estimator.draw_signs(jax.random.key(1), 200, n, c.spin_sym, p.dtype)
            s1, s2 = estimator.moments_from_signs(c, p, st, [supp], path=path)
            return jnp.mean((s1 / 200) ** 2 + s2 / 200**2)

        return jax.jit(jax.grad(loss))(params)

    np.testing.assert_allclose(grad("table"), grad("generic"), rtol=1e-4, atol=1e-6)


def _sparse_test_circuit():
    """A cycle on 60 qubits (sparse: fields by scatters) with a repeated pair generator and a
    gate shared by a pair and a single."""
    import networkx as nx

    from iqpgen.costs import dense_pairs

    gates = iqpgen.gates.graph(nx.cycle_graph(60)) + [[(0, 1)], [(2, 5), (7,)]]
    c = iqpgen.IqpCircuit(60, gates)
    assert not dense_pairs(c)
    return c


def test_large_sparse_circuits_take_the_pairwise_path():
    """A sparse circuit's pairwise path scatters over its generators (cost ∝ edges), so a
    large graph circuit must not be sent to the generic path (cost ∝ operators × generators)."""
    import networkx as nx

    from iqpgen.costs import choose_path, path_costs

    c = iqpgen.IqpCircuit(5000, iqpgen.gates.graph(nx.cycle_graph(5000)))
    assert choose_path(c, 1000, 1000) == "pairwise"
    costs = path_costs(c, 1000, 1000)
    assert costs["generic"] > 2 * costs["pairwise"]


def test_pair_lookup_equals_the_dense_couplings():
    from iqpgen.estimator.pairwise import _pair_lookup, couplings

    c = _sparse_test_circuit()
    params = random_params(c, 1)
    u, v = (x.reshape(-1) for x in jnp.meshgrid(jnp.arange(61), jnp.arange(61), indexing="ij"))
    found = jax.jit(lambda p: _pair_lookup(c, p, u, v))(params).reshape(61, 61)
    J, _ = couplings(c, params)
    np.testing.assert_array_equal(found[:60, :60], J)
    assert not np.any(found[60]) and not np.any(found[:, 60])  # the padding index reads 0
    assert J[0, 1] != 0 and J[2, 5] != 0


@pytest.mark.parametrize("layout", ["sparse", "all-pairs"])
def test_pairwise_code_paths_agree(layout, monkeypatch):
    """The block entries (from a dense J, or looked up in the sorted generators) and the
    linear term (one dense product, or gathered rows): every choice gives the generic path's
    estimates, and the same loss and gradient as the default choice."""
    from iqpgen import estimator
    from iqpgen.mmd import loss_from_packed, pack_data

    c = _sparse_test_circuit() if layout == "sparse" else iqpgen.gates.local_circuit(12, 2)
    n = c.n_qubits
    params = random_params(c, 1)
    data = pack_data(np.asarray(jax.random.bernoulli(jax.random.key(4), 0.3, (60, n)), np.uint8))
    ops = np.asarray(jax.random.bernoulli(jax.random.key(2), 0.1, (50, n)), np.uint8)
    ops[0] = 0
    ops[1, [0, 1, 2, 5, 7]] = 1  # the repeated and the shared generators inside one support
    supp = estimator.supports_from_ops(ops, n)
    generic = iqpgen.expval_generic(c, params, ops, key=jax.random.key(0), n_samples=200)

    def run():  # a new function each time, so the module's settings are read anew
        def loss(p):
            return loss_from_packed(
                c, p, data, jax.random.key(5), sigmas=(2.0,), n_ops=40, n_samples=200
            )

        s1, _ = jax.jit(lambda p: estimator.moments(c, p, supp, jax.random.key(0), n_samples=200))(
            params
        )
        return jax.jit(jax.value_and_grad(loss))(params), s1 / 200

    (ref_value, ref_grad), _ = run()
    for lookup, gather in [(False, True), (True, False), (True, True)]:
        if layout == "all-pairs" and lookup:
            continue  # the all-pairs layout always builds J
        monkeypatch.setattr(estimator.pairwise, "_LOOKUP_MIN_QUBITS", 0 if lookup else 10**9)
        monkeypatch.setattr(estimator.core, "_GATHER_COST", 0 if gather else 10**9)
        (value, grad), mean = run()
        np.testing.assert_allclose(mean, generic.mean, atol=2e-5)
        np.testing.assert_allclose(value, ref_value, rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-4, atol=1e-6 * np.abs(ref_grad).max())


def test_chunk_size_changes_memory_not_numbers(all_ops):
    for mw in (2, 3):
        c = tied_circuit(6, mw, seed=5)
        params = random_params(c, 5)
        ops = all_ops(6)
        key = jax.random.key(3)
        ref = iqpgen.expval(c, params, ops, key=key, n_samples=500)
        for chunk in (1, 7, 64):
            e = iqpgen.expval(c, params, ops, key=key, n_samples=500, chunk_size=chunk)
            np.testing.assert_allclose(e.mean, ref.mean, rtol=0, atol=1e-6)
            np.testing.assert_allclose(e.stderr, ref.stderr, rtol=0, atol=1e-6)


def test_same_key_same_numbers_and_new_key_new_numbers():
    c = iqpgen.IqpCircuit(4, iqpgen.gates.local(4, 2))
    params = jnp.full(c.n_params, 0.3)
    ops = [[1, 1, 0, 0], [0, 1, 1, 1]]
    a = iqpgen.expval(c, params, ops, key=jax.random.key(0))
    b = iqpgen.expval(c, params, ops, key=jax.random.key(0))
    d = iqpgen.expval(c, params, ops, key=jax.random.key(1))
    np.testing.assert_array_equal(a.mean, b.mean)
    assert not np.array_equal(a.mean, d.mean)


def test_spin_sym_samples_have_even_weight():
    s = draw_signs(jax.random.key(0), 1000, 7, True, jnp.float32)
    assert np.all(((1 - np.asarray(s)) / 2).sum(0) % 2 == 0)


def test_float64_params_give_float64_results():
    c = iqpgen.IqpCircuit(3, iqpgen.gates.local(3, 2))
    with jax.enable_x64(True):
        e = iqpgen.expval(c, np.full(6, 0.2), [[1, 0, 1]], key=jax.random.key(0))
        assert e.mean.dtype == jnp.float64
    e = iqpgen.expval(c, jnp.full(6, 0.2), [[1, 0, 1]], key=jax.random.key(0))
    assert e.mean.dtype == jnp.float32


@pytest.mark.parametrize("limit,tol", [(4.0, 2e-7), (100.0, 2e-7), (12_800.0, 5e-7), (1e5, 2e-6)])
def test_polynomial_cos_and_sin_match_float64(limit, tol):
    """The estimator's float32 cos/sin (polynomials after a three-part reduction by π/2)
    against float64 numpy at the same float32 arguments, all quadrants and signs."""
    from iqpgen.estimator.trig import sincos as _sincos

    x = np.concatenate([
        np.linspace(-limit, limit, 400_001),
        np.random.default_rng(0).uniform(-limit, limit, 100_000),
        np.pi / 4 * np.arange(-8, 9),  # reduction boundaries
    ]).astype(np.float32)  # fmt: skip
    c, s = jax.jit(_sincos)(jnp.asarray(x))
    assert c.dtype == s.dtype == jnp.float32
    np.testing.assert_allclose(c, np.cos(x.astype(np.float64)), rtol=0, atol=tol)
    np.testing.assert_allclose(s, np.sin(x.astype(np.float64)), rtol=0, atol=tol)


def test_polynomial_cos_edge_cases_and_derivative():
    from iqpgen.estimator.trig import cos as _cos
    from iqpgen.estimator.trig import sincos as _sincos

    c, s = _sincos(jnp.array([np.nan, np.inf, -np.inf, 1e9, -3e12], jnp.float32))
    assert np.all(np.isnan(c[:3])) and np.all(np.isnan(s[:3]))
    assert np.all(np.abs(c[3:]) <= 1) and np.all(np.abs(s[3:]) <= 1)  # no digits left, bounded
    x = jnp.linspace(-20.0, 20.0, 101)
    np.testing.assert_allclose(jax.vmap(jax.grad(_cos))(x), -np.sin(np.float64(x)), atol=3e-7)
    with jax.enable_x64(True):  # float64 keeps jnp.cos / jnp.sin
        x64 = jnp.linspace(-20.0, 20.0, 101, dtype=jnp.float64)
        c64, s64 = _sincos(x64)
        np.testing.assert_allclose(c64, np.cos(np.asarray(x64)), rtol=0, atol=1e-15)
        np.testing.assert_allclose(s64, np.sin(np.asarray(x64)), rtol=0, atol=1e-15)


def test_circuit_is_traced_not_baked_in():
    """Two circuits of the same shape share one compilation: their arrays are traced."""
    traces = []

    @jax.jit
    def f(circuit, params):
        traces.append(1)
        ops = jnp.eye(circuit.n_qubits, dtype=jnp.int32)[:2]
        from iqpgen.estimator import estimate_from_moments, moments
        from iqpgen.estimator.sampling import traced_supports as _traced_supports

        s1, s2 = moments(
            circuit,
            params,
            _traced_supports(ops, circuit.n_qubits),
            jax.random.key(0),
            n_samples=100,
        )
        return estimate_from_moments(s1, s2, 100).mean

    a = iqpgen.IqpCircuit(4, [[(0, 1)], [(2,)], [(1, 3)]])
    b = iqpgen.IqpCircuit(4, [[(2, 3)], [(0,)], [(0, 2)]])
    p = jnp.array([0.1, 0.2, 0.3])
    ra, rb = f(a, p), f(b, p)
    assert len(traces) == 1
    assert not np.allclose(ra, rb)
    np.testing.assert_allclose(
        rb,
        iqpgen.expval(b, p, np.eye(4, dtype=int)[:2], key=jax.random.key(0), n_samples=100).mean,
        atol=1e-6,
    )


def test_traced_ops_match_concrete_ops():
    c = tied_circuit(5, 2, seed=9)
    p = random_params(c, 9)
    ops = np.asarray(jax.random.bernoulli(jax.random.key(1), 0.4, (20, 5)), np.uint8)
    key = jax.random.key(4)
    ref = iqpgen.expval(c, p, ops, key=key, n_samples=100)
    traced = jax.jit(lambda o: iqpgen.expval(c, p, o, key=key, n_samples=100).mean)(ops)
    np.testing.assert_allclose(traced, ref.mean, atol=1e-5)


def test_gradient_matches_finite_differences():
    c = tied_circuit(5, 2, seed=2)
    p = random_params(c, 2).astype(jnp.float32)
    ops = np.asarray(jax.random.bernoulli(jax.random.key(3), 0.5, (30, 5)), np.uint8)
    key = jax.random.key(5)

    def f(q):
        return jnp.sum(iqpgen.expval(c, q, ops, key=key, n_samples=200).mean ** 2)

    g = jax.grad(f)(p)
    eps = 1e-2
    for i in range(0, c.n_params, 3):
        d = jnp.zeros_like(p).at[i].set(eps)
        fd = (f(p + d) - f(p - d)) / (2 * eps)
        assert abs(float(g[i]) - float(fd)) < 2e-3 + 2e-2 * abs(float(fd))


def test_import_does_not_load_pennylane_or_flax_or_touch_config():
    import subprocess

    code = (
        "import jax; before = dict(jax.config.values); import iqpgen, sys;"
        "assert 'pennylane' not in sys.modules, 'pennylane';"
        "assert 'flax' not in sys.modules, 'flax';"
        "assert dict(jax.config.values) == before, 'config'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------- bad input
def _c():
    return iqpgen.IqpCircuit(3, iqpgen.gates.local(3, 2))


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(params=np.zeros(5)), ValueError, "params has shape"),
        (dict(params=np.array([np.nan] * 6)), ValueError, "params contains NaN"),
        (dict(ops=[[1, 0]]), ValueError, "ops has 2 columns"),
        (dict(ops=[[1, 0, 2]]), ValueError, "only 0 and 1"),
        (dict(ops=[[1, -1, 1]]), ValueError, "±1 spins"),
        (dict(ops=[1, 0, 1]), ValueError, "must be 2-D"),
        (dict(ops=np.zeros((0, 3))), ValueError, "at least 1 operators"),
        (dict(ops=[["a", "b", "c"]]), TypeError, "numbers"),
        (dict(n_samples=1), ValueError, "n_samples must be at least 2"),
        (dict(n_samples=10.0), TypeError, "n_samples must be an int"),
        (dict(key=0), TypeError, "jax.random.key"),
        (dict(key=None), TypeError, "key is required"),
        (dict(circuit="c"), TypeError, "circuit must be an iqpgen.IqpCircuit"),
    ],
)
def test_expval_bad_input(kwargs, exc, match):
    args = dict(circuit=_c(), params=np.zeros(6), ops=[[1, 0, 1]], key=jax.random.key(0))
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        iqpgen.expval(args.pop("circuit"), args.pop("params"), args.pop("ops"), **args)


def test_pairwise_path_rejects_heavy_generators():
    c = iqpgen.IqpCircuit(3, [[(0, 1, 2)]])
    with pytest.raises(ValueError, match="weight <= 2"):
        iqpgen.expval_pairwise(c, np.zeros(1), [[1, 0, 0]], key=jax.random.key(0))
    wide = iqpgen.IqpCircuit(31, [[(0, 1)]])
    with pytest.raises(ValueError, match="table path holds at most 30 qubits"):
        iqpgen.expval_phase_table(wide, np.zeros(1), np.eye(31)[:1], key=jax.random.key(0))


@pytest.mark.parametrize("rows", [False, True], ids=["index-arithmetic", "row-loop"])
@pytest.mark.parametrize("n", [2, 3, 9, 40])
def test_all_pairs_couplings_equal_the_general_scatter(n, rows, monkeypatch):
    """The couplings of the all-pairs layout, and their gradient, built both ways (all entries
    by index arithmetic, or one row at a time), equal the scatter over generator arrays
    (forced here by numbering the parameters backwards)."""
    from iqpgen import estimator
    from iqpgen.estimator import couplings

    monkeypatch.setattr(estimator.pairwise, "_ROW_LOOP_MIN_QUBITS", 0 if rows else 10**9)

    fast = iqpgen.gates.local_circuit(n, 2)
    gens = np.where(np.asarray(fast.generators) == n, -1, np.asarray(fast.generators))
    general = iqpgen.IqpCircuit.from_arrays(n, gens, np.arange(fast.n_params)[::-1].copy())
    assert fast.is_all_pairs and not general.is_all_pairs
    p = jax.random.normal(jax.random.key(n), (fast.n_params,))
    w_j = jax.random.normal(jax.random.key(1), (n, n))
    w_h = jax.random.normal(jax.random.key(2), (n,))

    # Flat entries of J, in two arrays of different shapes (one repeats an entry).
    blocks = [jnp.array([0, 1, n + 1, n * n - 1, n - 1]), jnp.array([[1, n], [n + 1, 1]])]
    w_b = [jax.random.normal(jax.random.key(3 + i), x.shape) for i, x in enumerate(blocks)]

    def f(c, q):
        J, h, b = couplings(c, q, blocks)
        value = sum(jnp.sum(x * w) for x, w in zip([J, h, *b], [w_j, w_h, *w_b], strict=True))
        return value, (J, h, b)

    (_, (J1, h1, b1)), g1 = jax.jit(jax.value_and_grad(partial(f, fast), has_aux=True))(p)
    (_, (J2, h2, _)), g2 = jax.jit(jax.value_and_grad(lambda q: f(general, q[::-1]), has_aux=True))(
        p
    )
    for x, flat in zip(b1, blocks, strict=True):
        np.testing.assert_array_equal(x, J1.reshape(-1)[flat])
    np.testing.assert_array_equal(J1, J2)
    np.testing.assert_array_equal(h1, h2)
    np.testing.assert_allclose(g1, g2, rtol=1e-6, atol=1e-6)
    assert np.all(np.diag(np.asarray(J1)) == 0) and np.array_equal(J1, J1.T)


@pytest.mark.parametrize("n", [2, 9, 1000, 23_171, 46_000])
def test_pair_rows_are_exact_up_to_the_all_pairs_limit(n):
    """The row of a pair index (the all-pairs gradient's gather, used on accelerators at any
    n up to the layout's int32 limit) against int64 arithmetic, at both ends of the range
    and at random indices. Its former formula overflowed int32 above 23,170 qubits."""
    from iqpgen.estimator.pairwise import _ALL_PAIRS_MAX_QUBITS, _pair_rows

    assert n <= _ALL_PAIRS_MAX_QUBITS
    n_pairs = n * (n - 1) // 2
    ends = np.arange(min(n_pairs, 3000))
    k = np.unique(np.concatenate([
        ends, n_pairs - 1 - ends, np.random.default_rng(n).integers(0, n_pairs, 20_000)
    ]))  # fmt: skip
    offset = np.arange(n, dtype=np.int64) * (2 * n - np.arange(n, dtype=np.int64) - 1) // 2
    rows = jax.jit(lambda q: _pair_rows(q, n))(jnp.asarray(k, jnp.int32))
    np.testing.assert_array_equal(rows, np.searchsorted(offset, k, side="right") - 1)


def test_sampled_supports_are_uniform_subsets():
    """Floyd sampling: distinct qubits, the stratum's weight, every subset equally likely."""
    from iqpgen.mmd import sample_supports

    n, width = 5, 5
    wires = jnp.arange(n, dtype=jnp.int32)
    draw = jax.jit(lambda k: sample_supports(k, wires, 0.4, 20, 0, 20, width, n))
    counts = {}
    for r in range(300):
        for row in np.asarray(draw(jax.random.key(r))):
            sub = tuple(sorted(int(q) for q in row if q < n))
            assert len(set(sub)) == len(sub)
            counts[sub] = counts.get(sub, 0) + 1
    for w in range(1, n):
        c = np.array([v for k, v in counts.items() if len(k) == w], float)
        assert len(c) == math.comb(n, w)
        chi2 = np.sum((c - c.mean()) ** 2 / c.mean())
        assert chi2 < len(c) - 1 + 5 * np.sqrt(2 * (len(c) - 1))  # 5 sigma of chi^2
