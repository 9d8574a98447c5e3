"""Tests of iqpgen.datasets: the Ising sampler against exact enumeration, generators, loaders.

Statistical checks use fixed keys and independent chains: each chain's time average is one
independent draw, and the standard error comes from the spread between chains, so correlated
samples inside a chain cannot make the tolerance look tighter than it is.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import jax
import networkx as nx
import numpy as np
import pytest

import iqpgen
import iqpgen.datasets as ds
from iqpgen.datasets import _cache, ising, sampler

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference-data"


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("IQPGEN_CACHE", str(tmp_path / "cache"))


# ---------------------------------------------------------------------------------------------
# sample_ising against the exact Boltzmann distribution
# ---------------------------------------------------------------------------------------------


def _exact_moments(J: np.ndarray, h: np.ndarray, temperature: float):
    """⟨s_i⟩ and ⟨s_i s_j⟩ by enumerating all 2^n states."""
    n = len(h)
    s = 2.0 * np.array(list(itertools.product([0, 1], repeat=n))) - 1.0
    energy = -0.5 * np.einsum("ki,ij,kj->k", s, J, s) - s @ h
    p = np.exp(-(energy - energy.min()) / temperature)
    p /= p.sum()
    return p @ s, np.einsum("k,ki,kj->ij", p, s, s)


def _dense_model():
    """7 spins, every pair coupled: J ~ U(-1, 1), h ~ U(-0.5, 0.5)."""
    rng = np.random.default_rng(7)
    J = np.triu(rng.uniform(-1, 1, (7, 7)), 1)
    return J + J.T, rng.uniform(-0.5, 0.5, 7)


def _sparse_model():
    """10 spins on a ring with three chords, as an edge list; J ~ U(-1.5, 1.5)."""
    rng = np.random.default_rng(10)
    edges = np.array([(i, (i + 1) % 10) for i in range(10)] + [(0, 5), (2, 7), (3, 8)])
    weights = rng.uniform(-1.5, 1.5, len(edges))
    J = np.zeros((10, 10))
    J[edges[:, 0], edges[:, 1]] = weights
    J[edges[:, 1], edges[:, 0]] = weights
    return (edges, weights), J, rng.uniform(-0.5, 0.5, 10)


# k = 4.5 standard errors: a correct sampler fails one observable with probability ~7e-6 under
# the normal approximation, about 3e-3 over the ~450 observables below; keys are fixed, so the
# outcome is deterministic. The floor of 2e-3 covers observables that are almost certain.
K_SIGMA = 4.5


@pytest.mark.parametrize(
    ("model", "kernel", "temperature", "n_replicas", "method"),
    [
        ("dense", "matrix", 3.0, None, "gibbs"),
        ("sparse", "edges", 3.0, None, "gibbs"),
        ("dense", "edges", 0.5, None, "gibbs"),
        ("sparse", "matrix", 0.5, None, "gibbs"),
        ("dense", "matrix", 0.5, 5, "gibbs"),
        ("sparse", "edges", 0.5, 5, "gibbs"),
        ("sparse", "edges", 0.5, None, "metropolis"),
        ("dense", "matrix", 3.0, 3, "metropolis"),
    ],
)
def test_sample_ising_matches_exact_moments(
    monkeypatch, model, kernel, temperature, n_replicas, method
):
    if model == "dense":
        J, h = _dense_model()
        J_arg = J
    else:
        J_arg, J, h = _sparse_model()
    # Force the kernel so that both run on every kind of model (the choice is a cost estimate).
    monkeypatch.setattr(sampler, "_use_dense", lambda *args: kernel == "matrix")
    n_chains, n_keep = 128, 80
    x = ds.sample_ising(
        J_arg,
        h,
        n_samples=n_chains * n_keep,
        key=jax.random.key(3),
        temperature=temperature,
        n_chains=n_chains,
        burn_in=100,
        thinning=2,
        n_replicas=n_replicas,
        method=method,
        rhat_target=None,  # this checks the kernels; per-chain means are independent anyway
    )
    n = len(h)
    assert x.shape == (n_chains * n_keep, n) and x.dtype == np.uint8
    s = 2.0 * x.reshape(n_keep, n_chains, n) - 1.0  # row r is chain r % n_chains
    mag_c = s.mean(axis=0)  # (chains, n): one independent estimate per chain
    corr_c = np.einsum("kci,kcj->cij", s, s) / n_keep
    exact_mag, exact_corr = _exact_moments(J, h, temperature)
    iu = np.triu_indices(n, 1)
    for est, exact in ((mag_c, exact_mag), (corr_c[:, iu[0], iu[1]], exact_corr[iu])):
        mean = est.mean(axis=0)
        stderr = est.std(axis=0, ddof=1) / np.sqrt(n_chains)
        tol = K_SIGMA * np.maximum(stderr, 2e-3)
        assert np.all(np.abs(mean - exact) <= tol), np.max(np.abs(mean - exact) / tol)


def _glass(seed: int, n: int = 10):
    """A frustrated glass: Gaussian couplings of std 0.7 on about half the pairs, fields of
    std 0.5 (the fields break the ±s symmetry, so chains must find the right mode)."""
    rng = np.random.default_rng(seed)
    J = np.triu(rng.normal(0, 0.7, (n, n)) * (rng.random((n, n)) < 0.5), 1)
    return J + J.T, rng.normal(0, 0.5, n)


@pytest.mark.parametrize(
    ("seed", "temperature"), [(0, 1.0), (1, 1.0), (2, 1.0), (3, 1.0), (3, 2.0)]
)
def test_sample_ising_defaults_converge_or_warn_on_glasses(seed, temperature):
    # With default arguments the sampler either returns samples whose moments match
    # enumeration or says it has not converged. Glass 3 at T = 1 was 0.16 off before the
    # sampler ran its chains on until R̂ < 1.01.
    J, h = _glass(seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x, diag = ds.sample_ising(
            J, h, n_samples=10_000, key=jax.random.key(seed), temperature=temperature,
            return_diagnostics=True,
        )  # fmt: skip
    warned = [w for w in caught if issubclass(w.category, ds.ConvergenceWarning)]
    assert len(warned) == len(caught)
    if warned:
        assert "split-R̂" in str(warned[0].message) and not diag.converged()
        return
    assert diag.converged() and diag.n_chains == 1000 and diag.n_draws == 10
    s = 2.0 * x.reshape(10, 1000, 10) - 1.0
    chain_means = s.mean(axis=0)  # independent chains: one estimate each
    exact_mag, _ = _exact_moments(J, h, temperature)
    stderr = chain_means.std(axis=0, ddof=1) / np.sqrt(1000)
    assert np.all(np.abs(chain_means.mean(axis=0) - exact_mag) <= K_SIGMA * stderr + 2e-3)


def test_sample_ising_warns_with_the_numbers_when_chains_stay_apart():
    J, h = _glass(3)  # at T = 0.5 two modes with barriers the chains do not cross
    with pytest.warns(ds.ConvergenceWarning, match=r"split-R̂ [0-9.]+ \(energy\)") as rec:
        ds.sample_ising(J, h, n_samples=2000, key=jax.random.key(0), temperature=0.5)
    assert "n_replicas" in str(rec[0].message)
    # Parallel tempering crosses the barriers.
    _, diag = ds.sample_ising(
        J, h, n_samples=2000, key=jax.random.key(0), temperature=0.5, n_replicas=6,
        return_diagnostics=True,
    )  # fmt: skip
    assert diag.converged()


def test_chain_diagnostics():
    rng = np.random.default_rng(0)
    edges, w, h = np.array([[0, 1], [1, 2]]), np.array([0.5, -0.3]), np.zeros(3)
    iid = ds.chain_diagnostics(
        rng.integers(0, 2, (200, 8, 3), dtype=np.uint8), edges, w, h, sweeps=7
    )
    assert iid.converged() and abs(iid.rhat - 1) < 0.02 and iid.ess_energy > 800
    assert iid.sweeps == 7 and iid.n_chains == 8 and iid.n_draws == 200
    apart = np.zeros((200, 8, 3), dtype=np.uint8)
    apart[:, :4] = 1  # half the chains all up, half all down, with some noise
    apart ^= (rng.random(apart.shape) < 0.1).astype(np.uint8)
    bad = ds.chain_diagnostics(apart, edges, w, h, sweeps=1)
    assert bad.rhat_magnetisation > 2 and not bad.converged()
    const = ds.chain_diagnostics(np.ones((10, 4, 3), dtype=np.uint8), edges, w, h, sweeps=1)
    assert const.rhat == 1.0 and const.converged()
    few = ds.chain_diagnostics(np.ones((3, 4, 3), dtype=np.uint8), edges, w, h, sweeps=1)
    assert not few.diagnosable and not few.converged()
    # Noise-aware threshold: 2 chains of 10 draws cannot resolve 1.01.
    assert 1.1 < ds.Convergence(1, 1, 1, 1, 2, 10, 1).threshold() < 1.5


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"rhat_target": 1.0}, "rhat_target must be > 1"), ({"max_sweeps": 10}, "max_sweeps")],
)
def test_sample_ising_rejects_bad_convergence_settings(kwargs, match):
    J, h = _dense_model()
    with pytest.raises(ValueError, match=match):
        ds.sample_ising(J, h, n_samples=100, key=jax.random.key(0), **kwargs)


def test_parallel_tempering_reduces_the_error_at_low_temperature():
    # Chains that swap with hot replicas cross barriers: the chain-to-chain spread shrinks.
    J, h = _dense_model()
    spreads = []
    for n_replicas in (None, 5):
        x = ds.sample_ising(
            2 * J, h, n_samples=64 * 40, key=jax.random.key(5), temperature=0.5,
            n_chains=64, burn_in=50, thinning=2, n_replicas=n_replicas, rhat_target=None,
        )  # fmt: skip
        chain_means = (2.0 * x.reshape(40, 64, 7) - 1).mean(axis=0)
        spreads.append(chain_means.std(axis=0).mean())
    assert spreads[1] < 0.6 * spreads[0]


def test_sample_ising_is_reproducible_and_compiles_once():
    J, h = _dense_model()
    kw = dict(n_samples=300, temperature=1.0, burn_in=10, thinning=1, n_chains=30, rhat_target=None)
    a = ds.sample_ising(J, h, key=jax.random.key(0), **kw)
    b = ds.sample_ising(J, h, key=jax.random.key(0), **kw)
    c = ds.sample_ising(J, h, key=jax.random.key(1), **kw)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    size = sampler._run._cache_size()
    ds.sample_ising(0.5 * J, -h, key=jax.random.key(2), **kw)  # new numbers, same shapes
    assert sampler._run._cache_size() == size
    # n_samples need not be a multiple of n_chains: the last kept step is cut short.
    x = ds.sample_ising(J, h, key=jax.random.key(0), **{**kw, "n_samples": 299})
    assert x.shape == (299, 7)
    # Old-style raw uint32 keys are accepted too.
    raw = ds.sample_ising(J, h, key=jax.random.key_data(jax.random.key(0)), **kw)
    np.testing.assert_array_equal(raw, a)


def test_dense_and_edge_list_inputs_agree():
    (edges, weights), J, h = _sparse_model()
    kw = dict(
        n_samples=200, key=jax.random.key(4), n_chains=20, burn_in=5, thinning=1, rhat_target=None
    )
    np.testing.assert_array_equal(
        ds.sample_ising(J, h, **kw), ds.sample_ising((edges, weights), h, **kw)
    )
    # Edges may be listed in either orientation.
    np.testing.assert_array_equal(
        ds.sample_ising(J, h, **kw), ds.sample_ising((edges[:, ::-1], weights), h, **kw)
    )


def test_ising_energy():
    (edges, weights), J, h = _sparse_model()
    x = ds.blobs(50, key=jax.random.key(0), n_bits=10)
    s = 2.0 * x - 1
    expected = -0.5 * np.einsum("ki,ij,kj->k", s, J, s) - s @ h
    np.testing.assert_allclose(ds.ising_energy(x, J, h), expected, rtol=1e-12)
    np.testing.assert_allclose(ds.ising_energy(x, (edges, weights), h), expected, rtol=1e-12)
    with pytest.raises(ValueError, match="x has 16 columns"):
        ds.ising_energy(ds.blobs(5, key=jax.random.key(0)), J, h)


def test_uncoupled_spins_follow_their_fields():
    h = np.array([0.0, 1.0, -2.0])
    x = ds.sample_ising(np.zeros((3, 3)), h, n_samples=20000, key=jax.random.key(0), burn_in=1)
    expected = 1 / (1 + np.exp(-2 * h))  # P(bit = 1) = σ(2h/T)
    np.testing.assert_allclose(x.mean(axis=0), expected, atol=0.015)


_J_OK = np.array([[0.0, 1.0], [1.0, 0.0]])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"temperature": 0.0}, ValueError, "temperature must be positive"),
        ({"temperature": -1.0}, ValueError, "temperature must be positive"),
        ({"temperature": float("nan")}, ValueError, "temperature must be positive"),
        ({"temperature": "hot"}, TypeError, "temperature must be a positive number"),
        ({"J": np.array([[0.0, 1.0], [0.5, 0.0]])}, ValueError, "symmetric"),
        ({"J": np.array([[1.0, 1.0], [1.0, 0.0]])}, ValueError, "zero diagonal"),
        ({"J": np.zeros((3, 3))}, ValueError, r"shape \(n, n\) = \(2, 2\)"),
        ({"J": np.array([[0.0, np.inf], [np.inf, 0.0]])}, ValueError, "NaN or infinity"),
        ({"J": np.array([["a", "b"], ["c", "d"]])}, TypeError, "real numbers"),
        ({"h": np.zeros((2, 1))}, ValueError, "h must be 1-D"),
        ({"h": np.array([0.0, np.nan])}, ValueError, "h contains NaN"),
        ({"h": np.zeros(0), "J": np.zeros((0, 0))}, ValueError, "h is empty"),
        ({"J": (np.array([[0, 2]]), np.ones(1))}, ValueError, "outside range"),
        ({"J": (np.array([[1, 1]]), np.ones(1))}, ValueError, "self-coupling"),
        ({"J": (np.array([[0, 1], [1, 0]]), np.ones(2))}, ValueError, "more than once"),
        ({"J": (np.array([[0, 1]]), np.ones(2))}, ValueError, r"weights \(J\[1\]\) must have"),
        ({"J": (np.array([[0.0, 1.0]]), np.ones(1))}, TypeError, "integer array"),
        ({"J": (np.array([[0, 1, 2]]), np.ones(1))}, ValueError, r"shape \(m, 2\)"),
        ({"J": (np.array([[0, 1]]), np.array([np.nan]))}, ValueError, "NaN or infinity"),
        ({"key": 0}, TypeError, r"jax.random.key\(0\)"),
        ({"key": None}, TypeError, "key is required"),
        ({"n_samples": 0}, ValueError, "n_samples must be at least 1"),
        ({"n_samples": 2.5}, TypeError, "n_samples must be an int"),
        ({"thinning": 0}, ValueError, "thinning must be at least 1"),
        ({"burn_in": -1}, ValueError, "burn_in must be at least 0"),
        ({"n_chains": 0}, ValueError, "n_chains must be at least 1"),
        ({"n_replicas": 0}, ValueError, "n_replicas must be at least 1"),
        ({"method": "wolff"}, ValueError, "method must be 'gibbs' or 'metropolis'"),
        ({"n_replicas": 4, "t_high": 0.5}, ValueError, "t_high must exceed temperature"),
        ({"n_replicas": 4, "t_high": -1.0}, ValueError, "t_high must be positive"),
        ({"t_high": 5.0}, ValueError, "also pass n_replicas > 1"),
    ],
)
def test_sample_ising_rejects_bad_input(kwargs, error, match):
    args = {"J": _J_OK, "h": np.zeros(2), "n_samples": 10, "key": jax.random.key(0)}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        ds.sample_ising(args.pop("J"), args.pop("h"), **args)


# ---------------------------------------------------------------------------------------------
# Generators
# ---------------------------------------------------------------------------------------------


def test_scale_free_model_and_samples():
    key = jax.random.key(0)
    edges, weights, h = ds.scale_free_model(key=key, n_nodes=60, m=2, coupling_seed=None)
    assert edges.shape == ((60 - 2) * 2, 2) and np.all(edges[:, 0] < edges[:, 1])
    assert np.all((weights > 0) & (weights < 1))
    graph = nx.Graph(edges.tolist())
    degree = np.array([graph.degree(i) for i in range(60)])
    np.testing.assert_allclose(h, -0.01 * degree)
    script = dict(m=2, temperature=1.0, coupling_seed=None)  # the paper's script's settings
    x = ds.scale_free(100, key=key, n_nodes=60, sampler="tempering", cache=False, **script)
    assert x.shape == (100, 60) and x.dtype == np.uint8 and set(np.unique(x)) <= {0, 1}
    # The fields favour spin -1. On 60 nodes the all-up state still has a weight of about
    # e^(-2 Σ|h| / T) ≈ 1%; tempering chains follow the field.
    assert x.mean() < 0.2 and (x.mean(axis=1) > 0.5).mean() < 0.05
    np.testing.assert_array_equal(
        x, ds.scale_free(100, key=key, n_nodes=60, sampler="tempering", cache=False, **script)
    )
    # A graph of your own; columns follow graph.nodes.
    star = nx.star_graph(["hub", "a", "b", "c"])
    e2, _, h2 = ds.scale_free_model(key=key, graph=star)
    np.testing.assert_allclose(h2, [-0.03, -0.01, -0.01, -0.01])
    assert ds.scale_free(30, key=key, graph=star, cache=False).shape == (30, 4)


def test_scale_free_coupling_seed_is_numpys_legacy_stream():
    # The paper's generator: numpy.random.seed(666); J = A * np.random.rand(n, n), upper
    # triangle mirrored. Drawn here in blocks of rows (2 blocks at n = 2,100).
    graph = nx.barabasi_albert_graph(2100, 1, seed=3)
    edges, weights, _ = ds.scale_free_model(key=jax.random.key(0), graph=graph, coupling_seed=666)
    full = np.random.RandomState(666).rand(2100, 2100)
    np.testing.assert_array_equal(weights, full[edges[:, 0], edges[:, 1]])
    for bad, error, match in [(-1, ValueError, "at least 0"), (2**32, ValueError, "below 2"),
                              (True, TypeError, "an int")]:  # fmt: skip
        with pytest.raises(error, match=f"coupling_seed must be {match}"):
            ds.scale_free_model(key=jax.random.key(0), n_nodes=10, coupling_seed=bad)
    # The cache tells the two coupling draws apart.
    a = ds.scale_free(16, key=jax.random.key(0), n_nodes=30, sampler="tempering")
    b = ds.scale_free(16, key=jax.random.key(0), n_nodes=30, sampler="tempering", coupling_seed=1)
    assert not np.array_equal(a, b)


def test_read_graph_orders_nodes_and_rejects_bad_files(tmp_path):
    graph = nx.relabel_nodes(nx.path_graph(5), {0: 3, 1: 0, 2: 4, 3: 1, 4: 2})
    nx.write_adjlist(graph, tmp_path / "g.adjlist")
    back = ds.read_graph(tmp_path / "g.adjlist")
    assert list(back.nodes) == [0, 1, 2, 3, 4] and nx.utils.graphs_equal(back, nx.Graph(graph))
    (tmp_path / "names.adjlist").write_text("a b\n")
    with pytest.raises(ValueError, match="integer node labels"):
        ds.read_graph(tmp_path / "names.adjlist")
    (tmp_path / "loop.adjlist").write_text("0 0 1\n")
    with pytest.raises(ValueError, match="self-loops"):
        ds.read_graph(tmp_path / "loop.adjlist")
    (tmp_path / "empty.adjlist").write_text("# nothing\n")
    with pytest.raises(ValueError, match="no nodes"):
        ds.read_graph(tmp_path / "empty.adjlist")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ds.read_graph(tmp_path / "missing.adjlist")
    with pytest.raises(TypeError, match="path must be a file path"):
        ds.read_graph(3)


@pytest.mark.skipif(not (REFERENCE / "graph.adjlist").is_file(), reason="reference data absent")
def test_scale_free_on_the_papers_graph():
    graph = ds.read_graph(REFERENCE / "graph.adjlist")
    assert list(graph.nodes) == list(range(1000))
    edges, weights, h = ds.scale_free_model(key=jax.random.key(0), graph=graph, coupling_seed=666)
    # 2,991 edges: a Barabási–Albert graph with m = 3 (the paper's script says m = 2).
    assert edges.shape == (2991, 2) and h.shape == (1000,)
    np.testing.assert_allclose(h, [-0.01 * graph.degree(v) for v in range(1000)])
    assert weights[0] == np.random.RandomState(666).rand(1, 2)[0, 1]  # edge (0, 1) comes first
    x = ds.scale_free(40, key=jax.random.key(0), graph=graph, sampler="tempering", cache=False)
    assert x.shape == (40, 1000) and x.mean(axis=1).max() < 0.2


def test_scale_free_paper_sampler_keeps_its_frozen_chains():
    # The paper's sampler: 8 Metropolis chains, 10,000 burn-in sweeps, a row every 200 sweeps,
    # shuffled. Chains that froze into the all-up state stay there, so the rows are a mixture
    # of two modes, far from converged.
    key = jax.random.key(1)
    script = dict(m=2, temperature=1.0, coupling_seed=None)  # the paper's script's settings
    x = ds.scale_free(80, key=key, n_nodes=200, cache=False, **script)
    assert ising.SCALE_FREE_PAPER_MCMC == {
        "method": "metropolis", "n_chains": 8, "burn_in": 10_000, "thinning": 200
    }  # fmt: skip
    ones = x.mean(axis=1)
    assert np.all((ones < 0.3) | (ones > 0.7))  # every row is in one of the two modes
    assert 0 < (ones > 0.5).mean() < 0.6
    # The same rows in chain order, before the shuffle, have a huge split-R̂.
    edges, weights, h = ds.scale_free_model(key=key, n_nodes=200, m=2, coupling_seed=None)
    k_sample, k_shuffle = jax.random.split(jax.random.split(key, 3)[2])
    chains = np.empty_like(x)
    chains[np.asarray(jax.random.permutation(k_shuffle, 80))] = x
    diag = ds.chain_diagnostics(chains.reshape(10, 8, 200), edges, weights, h, sweeps=12_000)
    assert diag.rhat_magnetisation > 1.2 and not diag.converged()
    # The mixture of modes is what lowers the MMD² of uniform bits to the data at the smallest
    # bandwidth (at 1,000 nodes, to within 25% of the paper's "Random" row; at equilibrium
    # it is 2-3 times that).
    tempered = ds.scale_free(80, key=key, n_nodes=200, sampler="tempering", cache=False, **script)
    sigma = iqpgen.kernel.sigma_heuristic(tempered)[-1]
    uniform = np.random.default_rng(0).integers(0, 2, (80, 200))
    fp_paper = iqpgen.kernel.between_samples_each(uniform, x, [sigma])[0]
    fp_tempered = iqpgen.kernel.between_samples_each(uniform, tempered, [sigma])[0]
    assert fp_paper < 0.95 * fp_tempered, (fp_paper, fp_tempered)


def test_scale_free_defaults_are_the_paper_matched_stand_in():
    """m = 3, the paper's RandomState(666) couplings and T = 1.7 unless told otherwise."""
    key = jax.random.key(0)
    edges, weights, _ = ds.scale_free_model(key=key, n_nodes=50)
    assert len(edges) == (50 - 3) * 3
    np.testing.assert_array_equal(
        weights, np.random.RandomState(666).rand(50, 50)[edges[:, 0], edges[:, 1]]
    )
    explicit = dict(m=3, temperature=1.7, coupling_seed=666, sampler="tempering", cache=False)
    default = ds.scale_free(20, key=key, n_nodes=50, sampler="tempering", cache=False)
    np.testing.assert_array_equal(default, ds.scale_free(20, key=key, n_nodes=50, **explicit))
    cold = ds.scale_free(20, key=key, n_nodes=50, **{**explicit, "temperature": 1.0})
    drawn = ds.scale_free_model(key=key, n_nodes=50, coupling_seed=None)[1]
    assert not np.array_equal(cold, default) and not np.array_equal(drawn, weights)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"graph": nx.path_graph(4), "m": 2}, ValueError, "either graph or m/n_nodes"),
        ({"graph": nx.DiGraph([(0, 1)])}, ValueError, "undirected"),
        ({"graph": nx.MultiGraph([(0, 1)])}, ValueError, "multigraph"),
        ({"graph": nx.Graph([(0, 0), (0, 1)])}, ValueError, "self-loops"),
        ({"graph": nx.Graph()}, ValueError, "no nodes"),
        ({"graph": [(0, 1)]}, TypeError, "networkx graph"),
        ({"m": 5, "n_nodes": 5}, ValueError, "m must be smaller than n_nodes"),
        ({"n_nodes": 1}, ValueError, "n_nodes must be at least 2"),
        ({"temperature": 0}, ValueError, "temperature must be positive"),
        ({"cache": "yes"}, TypeError, "cache must be True or False"),
        ({"key": 3}, TypeError, "jax.random.key"),
        ({"sampler": "gibbs"}, ValueError, "sampler must be 'paper' or 'tempering'"),
    ],
)
def test_scale_free_rejects_bad_input(kwargs, error, match):
    args = {"key": jax.random.key(0)}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        ds.scale_free(10, **args)


def test_dwave_like_energy_window_and_balance():
    edges, weights = ds.dwave_like_couplings()
    assert edges.shape == (1806, 2) and weights.shape == (1806,)
    assert np.all(np.abs(weights) <= 1)
    np.testing.assert_array_equal(weights, ds.dwave_like_couplings()[1])  # a fixed instance
    degree = np.bincount(edges.ravel(), minlength=484).reshape(22, 22)
    assert degree[0, 0] == 3 and degree[0, 5] == 5 and degree[5, 5] == 8
    # 200 rows: keys 0, 1, 2 gave mean energies -1.0831 / -1.0839 / -1.0830 (standard error
    # 0.0007), |ones - 0.5| <= 0.0052 and fingerprints 1.04-1.18: the bounds are 7σ and more.
    x = ds.dwave_like(200, key=jax.random.key(0), cache=False)
    assert x.shape == (200, 484) and x.dtype == np.uint8
    energy = ds.ising_energy(x, (edges, weights), np.zeros(484)) / 484
    assert -1.09 <= energy.mean() <= -1.078, energy.mean()  # -1.084 on 4,000 rows
    assert abs(x.mean() - 0.5) < 0.025
    # The fingerprint: MMD² of uniform bits to the data near the paper's "Random" row at its
    # three plotted bandwidths (1.12 / 1.14 / 1.10 times it on 4,000 rows; on 200 rows the
    # estimate scatters by about 0.07 between keys, so the bound is 0.75-1.45).
    sig = [3.928, 6.058, 7.762]
    uniform = np.random.default_rng(0).integers(0, 2, (200, 484))
    fp = iqpgen.kernel.between_samples_each(uniform, x, sig) / np.array([1.06e-2, 4.27e-2, 4.86e-2])
    assert np.all((0.75 < fp) & (fp < 1.45)), fp
    np.testing.assert_allclose(iqpgen.kernel.sigma_heuristic(x), [7.762, 6.151, 3.928], rtol=0.1)


def test_ising_2d_couplings_follow_the_paper_recipe():
    edges, weights = ds.ising_2d_couplings()
    assert edges.shape == (32, 2) and weights.shape == (32,)
    u = np.random.RandomState(666).rand(16, 16)  # noqa: NPY002 (the paper's legacy stream)
    i, j = edges[:, 0], edges[:, 1]
    np.testing.assert_allclose(weights, u[i, j] + u[j, i], rtol=1e-15)  # (2u_ij + 2u_ji) / 2
    assert not np.allclose(ds.ising_2d_couplings(seed=1)[1], weights)


@pytest.mark.skipif(not REFERENCE.exists(), reason="the paper's reference files are absent")
def test_ising_2d_reproduces_the_paper_files():
    """Samples of ising_2d against the paper's own 2D Ising training file: MMD² at the paper's
    bandwidths within the noise of two halves of that file (other couplings: 50x larger), and
    the same mean energy within 5 standard errors."""
    ref = np.loadtxt(REFERENCE / "ising_4_4_T_3_train.csv", delimiter=",", dtype=np.uint8)
    X = ds.ising_2d(3000, key=jax.random.key(0), cache=False)
    edges, w = ds.ising_2d_couplings()

    def energy(x):
        s = 2.0 * x - 1.0
        return -(s[:, edges[:, 0]] * s[:, edges[:, 1]]) @ w

    e_ours, e_ref = energy(X), energy(ref)
    se = np.hypot(e_ours.std() / np.sqrt(len(e_ours)), e_ref.std() / np.sqrt(len(e_ref)))
    assert abs(e_ours.mean() - e_ref.mean()) < 5 * se
    for sigma in (0.6, 1.3):
        assert abs(iqpgen.kernel.between_samples(X[:2000], ref[:2000], sigma)) < 1e-3
    other = ds.sample_ising(
        ds.ising_2d_couplings(seed=1), np.zeros(16), n_samples=2000, key=jax.random.key(1),
        temperature=3.0,
    )  # fmt: skip
    assert iqpgen.kernel.between_samples(other, ref[:2000], 0.6) > 5e-3


def test_lattice_ising():
    x = ds.lattice_ising(4, 4, n_samples=100, key=jax.random.key(0), cache=False)
    assert x.shape == (100, 16) and x.dtype == np.uint8
    # A cold ferromagnet is ordered: each sample is almost all 0 or all 1, and each chain
    # stays in one of the two, which the diagnostics report.
    with pytest.warns(ds.ConvergenceWarning, match="magnetisation"):
        cold = ds.lattice_ising(
            3, 5, n_samples=200, key=jax.random.key(1), temperature=0.8, couplings="ferro",
            periodic=False, cache=False,
        )  # fmt: skip
    assert np.abs(2 * cold.mean(axis=1) - 1).mean() > 0.9
    assert len(ising.lattice_edges(4, 4, periodic=True, diagonal=False)) == 32
    assert len(ising.lattice_edges(3, 3, periodic=False, diagonal=False)) == 12
    assert len(ising.lattice_edges(2, 2, periodic=True, diagonal=False)) == 4  # no double bonds
    assert ds.lattice_ising(1, 1, n_samples=5, key=jax.random.key(0), cache=False).shape == (5, 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"couplings": "glass"}, ValueError, "couplings must be 'random' or 'ferro'"),
        ({"rows": 0}, ValueError, "rows must be at least 1"),
        ({"temperature": -3.0}, ValueError, "temperature must be positive"),
        ({"periodic": 1}, TypeError, "periodic must be True or False"),
    ],
)
def test_lattice_ising_rejects_bad_input(kwargs, error, match):
    args = {"rows": 3, "cols": 3, "n_samples": 10, "key": jax.random.key(0)}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        ds.lattice_ising(args.pop("rows"), args.pop("cols"), **args)


def test_dwave_like_rejects_bad_input():
    with pytest.raises(ValueError, match="n_samples must be at least 1"):
        ds.dwave_like(0, key=jax.random.key(0))
    with pytest.raises(TypeError, match="key is required"):
        ds.dwave_like(5, key=None)


def test_blobs():
    x = ds.blobs(4000, key=jax.random.key(0))
    assert x.shape == (4000, 16) and x.dtype == np.uint8
    rows, counts = np.unique(x, axis=0, return_counts=True)
    # Each peak survives unflipped with probability 0.95^16 ≈ 0.44: ~220 copies each; any other
    # row is at least one flip away from every peak (at most ~12 copies).
    assert np.sum(counts > 100) == 8
    exact = ds.blobs(300, key=jax.random.key(1), n_bits=5, n_blobs=32, flip_prob=0.0)
    assert len(np.unique(exact, axis=0)) == 32  # distinct peaks, even when they fill the space
    assert ds.blobs(10, key=jax.random.key(0), n_bits=40).shape == (10, 40)
    np.testing.assert_array_equal(x, ds.blobs(4000, key=jax.random.key(0)))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"flip_prob": 1.5}, ValueError, r"flip_prob must lie in \[0.0, 1.0\]"),
        ({"n_bits": 3, "n_blobs": 9}, ValueError, "exceeds the 8 distinct bitstrings"),
        ({"n_blobs": 0}, ValueError, "n_blobs must be at least 1"),
        ({"key": 1}, TypeError, "jax.random.key"),
    ],
)
def test_blobs_rejects_bad_input(kwargs, error, match):
    args = {"key": jax.random.key(0)}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        ds.blobs(10, **args)


def test_digits():
    pytest.importorskip("sklearn")
    train, test = ds.digits(key=jax.random.key(0))
    assert train.shape == (1438, 64) and test.shape == (359, 64)
    assert train.dtype == np.uint8 and set(np.unique(train)) == {0, 1}
    again = ds.digits(key=jax.random.key(0))
    np.testing.assert_array_equal(train, again[0])
    sparse_train, _ = ds.digits(16, key=jax.random.key(0), test_fraction=0.5)
    assert sparse_train.shape == (899, 64) and sparse_train.mean() < train.mean()
    with pytest.raises(ValueError, match=r"threshold must lie in \[0.0, 16.0\]"):
        ds.digits(17, key=jax.random.key(0))
    with pytest.raises(ValueError, match="threshold must be above 0"):
        ds.digits(0, key=jax.random.key(0))
    with pytest.raises(ValueError, match=r"test_fraction must lie in \(0.0, 1.0\)"):
        ds.digits(key=jax.random.key(0), test_fraction=1.0)
    with pytest.raises(TypeError, match="key is required"):
        ds.digits(key=None)


# ---------------------------------------------------------------------------------------------
# Loaders
# ---------------------------------------------------------------------------------------------


def test_load_dwave(tmp_path):
    spins = np.where(np.random.default_rng(0).random((30, 484)) < 0.5, -1, 1).astype(np.int8)
    np.save(tmp_path / "a.npy", spins[:20])
    np.save(tmp_path / "b.npy", spins[20:].reshape(10, 22, 22))  # trailing axes are flattened
    train, test = ds.load_dwave(tmp_path)
    bits = ((spins + 1) // 2).astype(np.uint8)
    np.testing.assert_array_equal(np.concatenate([train, test]), bits)
    assert train.shape == (24, 484) and test.shape == (6, 484)  # the last 20% are the test set
    one_train, one_test = ds.load_dwave(tmp_path / "a.npy", test_fraction=0.5)
    np.testing.assert_array_equal(one_test, bits[10:20])


def test_load_dwave_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist.*Zenodo record 7250436"):
        ds.load_dwave(tmp_path / "missing.npy")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no .npy files"):
        ds.load_dwave(tmp_path / "empty")
    np.save(tmp_path / "bits.npy", np.array([[0, 1], [1, 1]]))
    with pytest.raises(ValueError, match="only -1 and \\+1 spins.*0/1 bits already"):
        ds.load_dwave(tmp_path / "bits.npy")
    (tmp_path / "corrupt.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match="not a readable .npy"):
        ds.load_dwave(tmp_path / "corrupt.npy")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="not a readable .npy"):
        ds.load_dwave(tmp_path / "objects.npy")
    np.save(tmp_path / "flat.npy", np.array([1, -1, 1]))
    with pytest.raises(ValueError, match=r"shape \(n_samples, n_spins\)"):
        ds.load_dwave(tmp_path / "flat.npy")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    np.save(mixed / "a.npy", np.ones((3, 4), dtype=np.int8))
    np.save(mixed / "b.npy", np.ones((3, 5), dtype=np.int8))
    with pytest.raises(ValueError, match="disagree on the number of spins"):
        ds.load_dwave(mixed)
    np.save(tmp_path / "single.npy", np.ones((1, 4), dtype=np.int8))
    with pytest.raises(ValueError, match="at least 2"):
        ds.load_dwave(tmp_path / "single.npy")
    with pytest.raises(TypeError, match="path must be a file or directory path"):
        ds.load_dwave(42)


def test_load_pennylane_offline_error(tmp_path, monkeypatch):
    pytest.importorskip("pennylane")
    # Route all HTTP(S) through a closed local port: no request leaves this machine, online or
    # offline, and the real loader fails exactly as it does without a network.
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    for var in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    start = time.perf_counter()
    with pytest.raises(ConnectionError, match="needs internet access.*load_dwave"):
        ds.load_pennylane("d-wave", folder_path=tmp_path)
    assert time.perf_counter() - start < 30
    with pytest.raises(TypeError, match="non-empty string"):
        ds.load_pennylane("")


# ---------------------------------------------------------------------------------------------
# Cache
# ---------------------------------------------------------------------------------------------


def _cache_files(tmp_path):
    return sorted((tmp_path / "cache").glob("*")) if (tmp_path / "cache").exists() else []


def test_cache_hit_returns_the_stored_array(tmp_path):
    key = jax.random.key(0)
    first = ds.lattice_ising(3, 3, n_samples=20, key=key)
    files = _cache_files(tmp_path)
    assert len(files) == 1 and files[0].name.startswith("lattice_ising-")
    assert files[0].suffix == ".npy"  # written atomically: no temporary files are left
    np.testing.assert_array_equal(np.load(files[0]), first)
    np.testing.assert_array_equal(ds.lattice_ising(3, 3, n_samples=20, key=key), first)
    # Plant a different array: a hit must return the file, not recompute.
    planted = np.ones_like(first)
    np.save(files[0], planted)
    np.testing.assert_array_equal(ds.lattice_ising(3, 3, n_samples=20, key=key), planted)
    np.testing.assert_array_equal(ds.lattice_ising(3, 3, n_samples=20, key=key, cache=False), first)
    # Every parameter and the key are part of the cache key.
    ds.lattice_ising(3, 3, n_samples=20, key=jax.random.key(1))
    ds.lattice_ising(3, 3, n_samples=20, key=key, temperature=2.0)
    ds.lattice_ising(3, 3, n_samples=20, key=key, couplings="ferro")
    assert len(_cache_files(tmp_path)) == 4


def test_cache_repairs_a_corrupt_file(tmp_path):
    key = jax.random.key(2)
    good = ds.lattice_ising(2, 3, n_samples=10, key=key)
    (path,) = _cache_files(tmp_path)
    path.write_bytes(b"truncated")
    np.testing.assert_array_equal(ds.lattice_ising(2, 3, n_samples=10, key=key), good)
    np.testing.assert_array_equal(np.load(path), good)


def test_cache_location_and_unwritable_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("IQPGEN_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ds.cache_dir() == tmp_path / "home" / ".cache" / "iqpgen"
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("IQPGEN_CACHE", str(blocker / "cache"))
    with pytest.warns(RuntimeWarning, match="could not write the dataset cache"):
        x = ds.lattice_ising(2, 2, n_samples=4, key=jax.random.key(0))
    assert x.shape == (4, 4)


def test_cache_key_covers_arrays_and_versions():
    key = jax.random.key(0)
    base = _cache.cache_path("f", {"a": np.arange(3)}, key)
    assert _cache.cache_path("f", {"a": np.arange(3)}, key) == base
    assert _cache.cache_path("f", {"a": np.arange(4)}, key) != base
    assert _cache.cache_path("g", {"a": np.arange(3)}, key) != base
    assert _cache.cache_path("f", {"a": np.arange(3)}, jax.random.key(1)) != base
    assert _cache.cache_path("f", {"a": np.arange(3.0)}, key) != base
    with pytest.raises(TypeError, match="cannot hash"):
        _cache.cache_path("f", {"a": object()}, key)


# ---------------------------------------------------------------------------------------------
# Package hygiene
# ---------------------------------------------------------------------------------------------


def test_import_is_cheap():
    # networkx and PennyLane load only inside the functions that need them. (scikit-learn is
    # not checked: other parts of iqpgen import it.)
    code = (
        "import sys, iqpgen.datasets; "
        "print([m for m in ('networkx', 'pennylane') if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    assert out.stdout.strip() == "[]"


def test_exports():
    for name in ds.__all__:
        assert hasattr(ds, name), name
