"""IqpCircuit structure, validation, and the gate layouts."""

import jax
import networkx as nx
import numpy as np
import pytest

import iqpgen


def test_pattern_is_normalised_and_attributes_set():
    c = iqpgen.IqpCircuit(4, [[[0, 1]], [[2], [3]]])
    assert c.n_qubits == 4 and c.n_params == 2 and c.n_generators == 3
    assert c.gates == [[(0, 1)], [(2,), (3,)]]
    assert c.max_weight == 2 and c.is_pairwise and c.spin_sym is False
    np.testing.assert_array_equal(c.generators, [[0, 1], [2, 4], [3, 4]])
    np.testing.assert_array_equal(c.gate_of, [0, 1, 1])
    assert "n_qubits=4" in repr(c)


def test_numpy_and_tuple_inputs_accepted():
    c = iqpgen.IqpCircuit(np.int64(3), (((np.int32(0), 2),),), spin_sym=True)
    assert c.gates == [[(0, 2)]] and c.spin_sym


@pytest.mark.parametrize(
    "gates",
    [
        [[[0, 1]], [[2], [3, 4]], [[4, 0, 2]]],
        [[(1,)], [(0, 3), (2, 4)]],
        iqpgen.gates.local(6, 2),
        [[[3, 1]]] * 3,
    ],
)
def test_plain_lists_and_arrays_parse_alike(gates):
    """Lists of Python ints take a fast path; NumPy arrays of the same pattern the general
    one: the same generators and gate indices."""
    n = 6
    fast = iqpgen.IqpCircuit(n, gates)
    general = iqpgen.IqpCircuit(n, [[np.asarray(g) for g in gate] for gate in gates])
    np.testing.assert_array_equal(fast.generators, general.generators)
    np.testing.assert_array_equal(fast.gate_of, general.gate_of)
    assert fast.gates == general.gates


def test_immutable():
    c = iqpgen.IqpCircuit(2, [[[0]]])
    with pytest.raises(AttributeError, match="immutable"):
        c._n = 3
    with pytest.raises(AttributeError):
        c.n_qubits = 5


def test_from_arrays_matches_list_form():
    a = iqpgen.IqpCircuit(5, [[(0, 1)], [(2,), (4,)], [(1, 3, 4)]])
    b = iqpgen.IqpCircuit.from_arrays(
        5, np.array([[0, 1, -1], [-1, 2, -1], [4, -1, -1], [1, 3, 4]]), [0, 1, 1, 2]
    )
    assert b.gates == a.gates
    np.testing.assert_array_equal(a.generators, b.generators)


def test_pytree_roundtrip():
    c = iqpgen.IqpCircuit(3, [[(0, 1)], [(2,)]], spin_sym=True)
    leaves, tree = jax.tree_util.tree_flatten(c)
    d = jax.tree_util.tree_unflatten(tree, leaves)
    assert d.gates == c.gates and d.spin_sym and d.n_params == 2


@pytest.mark.parametrize(
    "n,gates,exc,match",
    [
        (0, [[[0]]], ValueError, "n_qubits must be at least 1"),
        (2.0, [[[0]]], TypeError, "n_qubits must be an int"),
        (3, [[[0, 3]]], ValueError, "outside range"),
        (3, [[[-2]]], ValueError, r"generator \[-2\] \(gate 0\) has a negative qubit"),
        # -1 is the padding of the index arrays: it was once read as an empty slot.
        (3, [[[0, -1]]], ValueError, r"generator \[0, -1\] \(gate 0\) has a negative qubit"),
        (3, [[(1,)], [(0,), (2, -1)]], ValueError, r"\[2, -1\] \(gate 1\) has a negative"),
        (3, [[np.array([0, -1])]], ValueError, r"\[0, -1\] \(gate 0\) has a negative qubit"),
        (3, [[[1, 1]]], ValueError, "repeats a qubit"),
        (3, [[[]]], ValueError, "empty generator"),
        (3, [[]], ValueError, "no generators"),
        (3, [], ValueError, "gates is empty"),
        (3, [[0, 1]], TypeError, r"wrap it as \[\[0, 1\]\]"),
        (3, "01", TypeError, "gates must be a list"),
        (3, [[["a"]]], TypeError, "integer qubit indices"),
        (3, [[[0.5]]], TypeError, "integer qubit indices"),
    ],
)
def test_bad_circuits(n, gates, exc, match):
    with pytest.raises(exc, match=match):
        iqpgen.IqpCircuit(n, gates)


def test_bad_spin_sym_and_from_arrays():
    with pytest.raises(TypeError, match="spin_sym"):
        iqpgen.IqpCircuit(2, [[[0]]], spin_sym="yes")
    with pytest.raises(ValueError, match="gate_of must be an integer array"):
        iqpgen.IqpCircuit.from_arrays(3, np.array([[0, 1]]), [0, 1])
    with pytest.raises(ValueError, match="at least one generator"):
        iqpgen.IqpCircuit.from_arrays(3, np.array([[0, 1]]), [1])
    with pytest.raises(ValueError, match="2-D integer array"):
        iqpgen.IqpCircuit.from_arrays(3, np.array([[0.0, 1.0]]))


# ------------------------------------------------------------------ gate layouts
def test_local():
    g = iqpgen.gates.local(5, 2)
    assert len(g) == 15 and g[0] == [(0,)] and g[5] == [(0, 1)] and g[-1] == [(3, 4)]
    assert len(iqpgen.gates.local(6, 3)) == 6 + 15 + 20
    with pytest.raises(ValueError, match="exceeds n_qubits"):
        iqpgen.gates.local(2, 3)


def test_graph_and_distance_and_weight():
    G = nx.path_graph(4)
    assert iqpgen.gates.graph(G) == [[(i,)] for i in range(4)] + [[(0, 1)], [(1, 2)], [(2, 3)]]
    d2 = iqpgen.gates.graph(G, distance=2)
    assert [(0, 2)] in d2 and [(0, 3)] not in d2
    w3 = iqpgen.gates.graph(nx.complete_graph(4), max_weight=3)
    assert len(w3) == 4 + 6 + 4
    labelled = iqpgen.gates.graph(nx.relabel_nodes(nx.path_graph(3), {0: "a", 1: "b", 2: "c"}))
    assert labelled[-1] == [(1, 2)]
    assert iqpgen.gates.graph([[0, 1]]) == [[(0,)], [(1,)], [(0, 1)]]  # a coupling map
    assert iqpgen.gates.graph(((1, 0),)) == iqpgen.gates.graph([[0, 1]])
    with pytest.raises(TypeError, match="networkx graph"):
        iqpgen.gates.graph({0: [1]})


@pytest.mark.parametrize(
    "G",
    [
        nx.barabasi_albert_graph(200, 2, seed=1),
        nx.relabel_nodes(nx.cycle_graph(6), {i: "abcdef"[i] for i in range(6)}),
        nx.MultiGraph([(0, 1), (1, 0), (1, 2), (2, 2)]),  # repeated edges and a self-loop
        nx.DiGraph([(0, 1), (1, 0), (2, 1)]),  # both directions of one pair
        nx.Graph([(3, 1), (1, 2), (0, 3)]),  # nodes not in order
        nx.empty_graph(3),
    ],
)
def test_graph_pairs_read_from_the_edges_equal_the_simple_graph(G):
    """distance=1 pairs come straight from the edges; they are those of the simple undirected
    graph without self-loops (what distance > 1 builds), sorted."""
    index = {v: i for i, v in enumerate(G.nodes)}
    if sorted(G.nodes) == list(range(len(G))):
        index = {v: v for v in G.nodes}
    H = nx.relabel_nodes(nx.Graph(G), index)
    H.remove_edges_from(nx.selfloop_edges(H))
    pairs = sorted(tuple(sorted(e)) for e in H.edges)
    assert iqpgen.gates.graph(G) == [[(i,)] for i in range(len(G))] + [[p] for p in pairs]


def test_lattice():
    assert len(iqpgen.gates.lattice(3, 3)) == 9 + 12
    assert len(iqpgen.gates.lattice(3, 3, diagonal=True)) == 9 + 12 + 8
    assert len(iqpgen.gates.lattice(3, 3, periodic=True)) == 9 + 18
    dw = iqpgen.gates.lattice(22, 22, diagonal=True)
    assert len(dw) == 484 + 2 * 22 * 21 + 2 * 21 * 21


def test_from_covariance_picks_correlated_pairs():
    key = jax.random.key(0)
    x = np.asarray(jax.random.bernoulli(key, 0.5, (500, 6)), np.uint8)
    x[:, 4] = x[:, 1]
    g = iqpgen.gates.from_covariance(x, 1)
    assert g[-1] == [(1, 4)] and len(g) == 7
    pairs = iqpgen.gates.from_covariance(x, 2, include_singles=False)
    assert len(pairs) == 2 and [(1, 4)] in pairs
    with pytest.raises(ValueError, match="exceeds"):
        iqpgen.gates.from_covariance(x, 100)


def test_random_layout():
    g = iqpgen.gates.random(6, 50, key=jax.random.key(1), min_weight=2, max_weight=4)
    weights = [len(gate[0]) for gate in g]
    assert len(g) == 50 and min(weights) == 2 and max(weights) == 4
    assert g == iqpgen.gates.random(6, 50, key=jax.random.key(1), min_weight=2, max_weight=4)
    iqpgen.IqpCircuit(6, g)
    with pytest.raises(ValueError, match="max_weight must be at least 3"):
        iqpgen.gates.random(6, 5, key=jax.random.key(0), min_weight=3, max_weight=2)
    with pytest.raises(TypeError, match="key is required"):
        iqpgen.gates.random(6, 5, key=None)


def test_all_pairs_layout_is_recognised_only_when_exact():
    n = 6
    assert iqpgen.gates.local_circuit(n, 2).is_all_pairs
    assert iqpgen.IqpCircuit(n, iqpgen.gates.local(n, 2)).is_all_pairs
    swapped = iqpgen.gates.local(n, 2)
    swapped[n], swapped[n + 1] = swapped[n + 1], swapped[n]
    tied = iqpgen.gates.local(n, 2)[:-1]
    tied[-1] = tied[-1] + [(n - 2, n - 1)]
    for gates in (swapped, tied, iqpgen.gates.local(n, 1), iqpgen.gates.local(n, 3)):
        assert not iqpgen.IqpCircuit(n, gates).is_all_pairs
    c = iqpgen.gates.local_circuit(n, 2)
    leaves, tree = jax.tree_util.tree_flatten(c)
    assert jax.tree_util.tree_unflatten(tree, leaves).is_all_pairs


def test_all_pairs_circuit_holds_no_index_arrays():
    """The all-pairs layout is held by its size: no pytree leaves, generators built on request
    and equal to the list form's; 10,000 qubits cost nothing to build."""
    n = 7
    c = iqpgen.IqpCircuit.all_pairs(n, spin_sym=True)
    ref = iqpgen.IqpCircuit(n, iqpgen.gates.local(n, 2), spin_sym=True)
    assert jax.tree_util.tree_leaves(c) == [] == jax.tree_util.tree_leaves(ref)
    np.testing.assert_array_equal(c.generators, np.asarray(ref.generators))
    np.testing.assert_array_equal(c.gate_of, np.arange(c.n_params))
    np.testing.assert_array_equal(c.weights(), [1] * n + [2] * (n * (n - 1) // 2))
    assert (c.n_generators, c.max_weight, c.spin_sym) == (ref.n_generators, 2, True)
    big = iqpgen.gates.local_circuit(10_000, 2)
    assert big.n_params == 50_005_000 and jax.tree_util.tree_leaves(big) == []
    with pytest.raises(ValueError, match="n_qubits >= 2"):
        iqpgen.IqpCircuit.all_pairs(1)


def test_initialisations_of_the_all_pairs_layout_match_the_general_code():
    """from_data and from_moments walk the all-pairs layout in blocks of rows; the same
    generators listed in another order (not recognised as all-pairs) give the same angles."""
    n = 12
    c = iqpgen.gates.local_circuit(n, 2)
    gens = np.asarray(c.generators)
    perm = np.random.default_rng(0).permutation(len(gens))
    other = iqpgen.IqpCircuit.from_arrays(n, np.where(gens[perm] == n, -1, gens[perm]))
    assert not other.is_all_pairs
    X = (np.random.default_rng(1).random((80, n)) < 0.4).astype(np.uint8)
    X[:, 1] = X[:, 0]  # a strong correlation for from_moments to keep
    for init in (iqpgen.init.from_data, iqpgen.init.from_moments):
        a, b = np.asarray(init(c, X)), np.asarray(init(other, X))
        np.testing.assert_allclose(a[perm], b, atol=1e-6)
        assert np.abs(a[n:]).max() > 0
