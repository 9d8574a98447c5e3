"""The operator draw shared by the loss, the baselines and evaluation; regrouped buckets and
batched evaluation give the numbers of their one-at-a-time forms."""

import jax
import jax.numpy as jnp
import numpy as np

import iqpgen
from iqpgen import estimator, mmd, operators
from iqpgen.estimator import core


def test_draw_operators_is_each_buckets_own_draw():
    """All buckets drawn together equal sample_supports with each bucket's key."""
    n, n_ops = 120, 200
    sigmas = (1.5, 2.5, 7.0)
    wires = jnp.arange(n, dtype=jnp.int32)
    key = jax.random.key(5)
    ops = jax.jit(lambda k: operators.draw_operators(k, wires, sigmas, n_ops, n))(key)
    assert len(ops.supports) > len(sigmas)  # several buckets for some bandwidth
    one = jax.jit(operators.sample_supports, static_argnums=(2, 3, 4, 5, 6, 7))
    seen = {}
    for b, (supp, si) in enumerate(zip(ops.supports, ops.owners, strict=True)):
        si = int(si)  # a jit output
        bi = seen[si] = seen.get(si, -1) + 1
        start, count, width = operators.operator_plan(n, sigmas[si], n_ops)[bi]
        p = operators.op_probability(sigmas[si])
        ref = one(jax.random.fold_in(key, b), wires, p, n_ops, start, count, width, n)
        np.testing.assert_array_equal(np.asarray(supp), np.asarray(ref))


def test_draw_operators_on_a_subset_of_wires():
    wires = jnp.array([2, 5, 7, 11], jnp.int32)
    ops = jax.jit(operators.draw_operators, static_argnums=(2, 3, 4))(
        jax.random.key(1), wires, (0.8, 1.6), 50, 12
    )
    for supp in ops.supports:
        vals = set(np.asarray(supp).ravel().tolist())
        assert vals <= {2, 5, 7, 11, 12}  # 12: padding


def test_merge_buckets_keeps_adjacent_groups():
    groups = operators.merge_buckets([(500, 2), (400, 3), (300, 10), (5, 40), (1, 60)], 2)
    # merges by least padded work: (0, 1), then (3, 4), then down to two groups
    assert groups == [[0, 1, 2], [3, 4]]
    assert operators.merge_buckets([(10, 2), (10, 2)]) == [[0, 1]]  # no padded work


def test_regrouped_buckets_give_the_same_moments(monkeypatch):
    """Many buckets of different widths (as several bandwidths give) are padded into a few;
    the moments equal those of each bucket alone, in the original order."""
    n = 40
    c = iqpgen.gates.local_circuit(n, 2)
    p = 0.3 * jax.random.normal(jax.random.key(2), (c.n_params,))
    st = estimator.draw_signs(jax.random.key(3), 64, n, False, jnp.float32)
    draw = jax.jit(operators.draw_operators, static_argnums=(2, 3, 4))  # compiled: 1 s, not 7
    ops = draw(jax.random.key(4), jnp.arange(n), tuple(np.linspace(0.8, 4.0, 10)), 100, n)
    supps = list(ops.supports)
    assert len(supps) > 8  # beyond the regrouping's bucket count

    def moments(*args):
        # A new function each time: jit's cache, keyed by the function, holds no trace made
        # with the other grouping. control+antithetic: every term of the plain estimate and more.
        return jax.jit(lambda *a: estimator.moments_from_signs(*a, variance_reduction=vr))(*args)

    vr = "control+antithetic"
    got = moments(c, p, st, supps)
    with monkeypatch.context() as m:  # every bucket on its own
        m.setattr(core, "merge_buckets", lambda b, _: [[i] for i in range(len(b))])
        ref = moments(c, p, st, supps)
    for g, r in zip(got, ref, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-4)


def test_per_sigma_map_equals_one_loss_per_row():
    n = 10
    c = iqpgen.gates.local_circuit(n, 2)
    p = 0.2 * jax.random.normal(jax.random.key(0), (c.n_params,))
    rng = np.random.default_rng(0)
    chunks = [rng.integers(0, 2, (m, n)) for m in (30, 70)]  # different word counts (1, 3)
    keys = jnp.stack([jax.random.key(i) for i in range(2)])
    sig = (1.0, 2.0)
    got = mmd.per_sigma_map(
        c, p, mmd.stack_packed([mmd.pack_data(x) for x in chunks]), keys,
        sigmas=sig, n_ops=50, n_samples=40,
    )  # fmt: skip
    for r, x in enumerate(chunks):
        _, per = mmd.loss_jit(
            c, p, mmd.pack_data(x), keys[r], sigmas=sig, n_ops=50, n_samples=40, return_terms=True
        )
        np.testing.assert_allclose(got[r], [float(jnp.sum(t)) / 50 for t in per], rtol=1e-5)
    shared = mmd.per_sigma_map(
        c, p, mmd.pack_data(chunks[0]), keys, sigmas=sig, n_ops=50, n_samples=40
    )
    np.testing.assert_allclose(shared[0], got[0], rtol=1e-6)


def test_stratified_weights_follow_the_binomial_distribution():
    """Pooled over keys, the operators' weights are Binomial(n, p_σ) (a uniformly chosen
    stratum at a uniform point inside it is the inverse CDF at a uniform point): χ² within
    5σ; and every weight lies in its own stratum's range of the inverse CDF."""
    import math

    n, n_ops, sigma, keys = 30, 16, 1.2, 400
    p = operators.op_probability(sigma)
    draw = jax.jit(lambda k: operators.draw_operators(k, jnp.arange(n), (sigma,), n_ops, n))
    plan = operators.operator_plan(n, sigma, n_ops)
    first = plan[0][0]  # strata before it have weight 0 whatever the point
    pmf = np.array([math.comb(n, w) * p**w * (1 - p) ** (n - w) for w in range(n + 1)])
    cdf = np.cumsum(pmf)
    lo = np.searchsorted(cdf, np.arange(n_ops) / n_ops - 1e-12)
    hi = np.searchsorted(cdf, np.arange(1, n_ops + 1) / n_ops - 1e-12)
    counts = np.zeros(n + 1)
    for r in range(keys):
        w = np.concatenate(
            [np.sum(np.asarray(s) < n, axis=1) for s in draw(jax.random.key(r)).supports]
        )
        strata = np.arange(first, first + len(w))
        assert np.all((lo[strata] <= w) & (w <= hi[strata]))
        counts += np.bincount(w, minlength=n + 1)
    expected = keys * n_ops * pmf
    seen = expected > 5  # the cells with enough expected counts; weight 0 only where drawn
    seen[0] = False
    chi2 = np.sum((counts[seen] - expected[seen]) ** 2 / expected[seen])
    dof = int(seen.sum())
    assert chi2 < dof + 5 * np.sqrt(2 * dof), (chi2, dof)
