"""Gate layouts: lists of gates in PennyLane's ``pattern`` format, one parameter per gate.

Every function returns ``list[list[tuple[int, ...]]]``: ``gates[k]`` is the list of
generators that share parameter ``k``. Pass the result to :class:`iqpgen.IqpCircuit`.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from . import _checks

__all__ = [
    "local",
    "local_circuit",
    "graph",
    "coupling_graph",
    "coupling_edges",
    "lattice",
    "lattice_edges",
    "from_covariance",
    "random",
]

Pattern = list[list[tuple[int, ...]]]


def local(n_qubits: int, max_weight: int) -> Pattern:
    """Every generator of weight ``1..max_weight``, each with its own parameter.

    Singles come first, then pairs ``(i, j)`` with ``i < j`` in lexicographic order, and so on.
    ``local(n, 2)`` has ``n(n+1)/2`` gates: the layout of the paper's large models.

    Example:
        >>> iqpgen.gates.local(3, 2)
        [[(0,)], [(1,)], [(2,)], [(0, 1)], [(0, 2)], [(1, 2)]]
    """
    n_qubits = _checks.check_int("n_qubits", n_qubits, minimum=1)
    max_weight = _checks.check_int("max_weight", max_weight, minimum=1)
    if max_weight > n_qubits:
        raise ValueError(f"max_weight={max_weight} exceeds n_qubits={n_qubits}.")
    return [
        [g] for w in range(1, max_weight + 1) for g in itertools.combinations(range(n_qubits), w)
    ]


def local_circuit(n_qubits: int, max_weight: int = 2, *, spin_sym: bool = False):
    """``IqpCircuit(n_qubits, local(n_qubits, max_weight))`` built from index arrays.

    Same gates in the same order as :func:`local`, without Python lists. With
    ``max_weight=2`` it is :meth:`IqpCircuit.all_pairs`, held without index arrays: 10,000
    qubits (50 million gates) take microseconds and no memory beyond the parameters.

    Example:
        >>> c = iqpgen.gates.local_circuit(4, 2)
        >>> c.gates == iqpgen.IqpCircuit(4, iqpgen.gates.local(4, 2)).gates
        True
    """
    from .circuit import IqpCircuit

    n_qubits = _checks.check_int("n_qubits", n_qubits, minimum=1)
    max_weight = _checks.check_int("max_weight", max_weight, minimum=1)
    if max_weight > n_qubits:
        raise ValueError(f"max_weight={max_weight} exceeds n_qubits={n_qubits}.")
    if max_weight == 2:
        return IqpCircuit.all_pairs(n_qubits, spin_sym=spin_sym)
    blocks = []
    for w in range(1, max_weight + 1):
        if w == 1:
            combos = np.arange(n_qubits, dtype=np.int32)[:, None]
        elif w == 2:
            combos = np.stack(np.triu_indices(n_qubits, 1), axis=1).astype(np.int32)
        else:
            combos = np.array(list(itertools.combinations(range(n_qubits), w)), np.int32)
        blocks.append(np.pad(combos, ((0, 0), (0, max_weight - w)), constant_values=-1))
    return IqpCircuit.from_arrays(n_qubits, np.concatenate(blocks), spin_sym=spin_sym)


def _node_index(G: Any) -> dict[Any, int]:
    nodes = list(G.nodes)
    if all(isinstance(v, int | np.integer) for v in nodes) and sorted(nodes) == list(
        range(len(nodes))
    ):
        return {v: int(v) for v in nodes}
    return {v: i for i, v in enumerate(nodes)}


def coupling_edges(backend: Any) -> list[tuple[int, int]]:
    """The undirected physical qubit pairs ``(a, b)``, ``a < b``, of a backend or coupling map,
    sorted: a Qiskit ``BackendV2``, a ``CouplingMap`` or a sequence of pairs.

    Raises:
        TypeError: ``backend`` is none of these.

    Example:
        >>> iqpgen.gates.coupling_edges([(1, 0), (0, 1), (1, 2)])
        [(0, 1), (1, 2)]
    """
    cmap = getattr(backend, "coupling_map", backend)
    if cmap is None:
        raise TypeError("the backend has no coupling map (all-to-all); nothing to route.")
    if hasattr(cmap, "get_edges"):
        pairs = [tuple(e) for e in cmap.get_edges()]
    elif isinstance(cmap, Sequence) and not isinstance(cmap, str | bytes):
        pairs = list(cmap)
    else:
        raise TypeError(
            "backend must be a Qiskit backend (e.g. a fake IBM device from "
            "qiskit_ibm_runtime.fake_provider), a qiskit CouplingMap or a list of qubit pairs, "
            f"got {type(backend).__name__}."
        )
    out = set()
    for e in pairs:
        if len(e) != 2 or not all(isinstance(q, int | np.integer) and q >= 0 for q in e):
            raise TypeError(f"a coupling map's pairs must be two qubit indices >= 0, got {e!r}.")
        a, b = int(e[0]), int(e[1])
        if a != b:
            out.add((min(a, b), max(a, b)))
    return sorted(out)


def coupling_graph(backend: Any, qubits: Any = None) -> Any:
    """A device's qubit connectivity as a networkx graph on nodes ``0..k-1``.

    ``backend``: a Qiskit backend (its ``coupling_map``), a Qiskit ``CouplingMap`` or a list
    of physical qubit pairs (directions are merged). ``qubits``: the physical qubits to keep,
    node ``i`` being ``qubits[i]``; default all of them, node ``i`` physical qubit ``i``. A
    circuit built on it with :func:`graph` and transpiled with
    ``initial_layout=qubits`` (:func:`iqpgen.export.transpile`) needs no SWAP.

    Example:
        >>> G = iqpgen.gates.coupling_graph([(0, 1), (1, 2), (2, 3)], qubits=[3, 2, 1])
        >>> sorted(G.edges)
        [(0, 1), (1, 2)]
    """
    import networkx as nx

    edges = coupling_edges(backend)
    size = max(getattr(backend, "num_qubits", 0) or 0, 1 + max((b for _, b in edges), default=-1))
    if qubits is None:
        qubits = list(range(size))
    if isinstance(qubits, str | bytes) or not hasattr(qubits, "__len__"):
        raise TypeError(f"qubits must be a list of physical qubit indices, got {qubits!r}.")
    qubits = [_checks.check_int("qubits", q, minimum=0) for q in np.asarray(qubits).ravel()]
    if not qubits or len(set(qubits)) != len(qubits) or max(qubits) >= size:
        raise ValueError(
            f"qubits must be distinct physical qubits in range({size}), at least one, got "
            f"{qubits!r}."
        )
    index = {q: i for i, q in enumerate(qubits)}
    G = nx.Graph()
    G.add_nodes_from(range(len(qubits)))
    G.add_edges_from((index[a], index[b]) for a, b in edges if a in index and b in index)
    return G


def graph(G: Any, distance: int = 1, max_weight: int = 2) -> Pattern:
    """Gates on a graph's neighbourhoods.

    ``G``: a networkx graph, or a device's connectivity (a Qiskit backend, a ``CouplingMap``
    or a list of qubit pairs; :func:`coupling_graph` of all its qubits), so that a model
    trains on the device's native pairs. One single-qubit gate per node, then one gate per set
    of 2..``max_weight`` nodes that lie pairwise within ``distance`` hops of each other (for
    ``max_weight=2``: the edges of the graph's ``distance``-th power). Nodes ``0..n-1`` are
    qubits ``0..n-1``; other node labels are numbered in ``G.nodes`` order.

    Example:
        >>> import networkx as nx
        >>> iqpgen.gates.graph(nx.path_graph(3))
        [[(0,)], [(1,)], [(2,)], [(0, 1)], [(1, 2)]]
    """
    import networkx as nx

    if not isinstance(G, nx.Graph):
        if hasattr(G, "coupling_map") or hasattr(G, "get_edges") or isinstance(G, list | tuple):
            G = coupling_graph(G)
        else:
            raise TypeError(
                "G must be a networkx graph or a device's coupling map (a Qiskit backend, a "
                f"CouplingMap or a list of qubit pairs), got {type(G).__name__}."
            )
    if G.number_of_nodes() == 0:
        raise ValueError("G has no nodes.")
    distance = _checks.check_int("distance", distance, minimum=1)
    max_weight = _checks.check_int("max_weight", max_weight, minimum=1)
    index = _node_index(G)
    out: Pattern = [[(i,)] for i in range(len(index))]
    if max_weight == 1:
        return out
    if distance == 1 and max_weight == 2:  # the edges themselves: no copy of the graph
        pairs = np.array([(index[u], index[v]) for u, v in G.edges()], np.int64).reshape(-1, 2)
        pairs = np.sort(pairs[pairs[:, 0] != pairs[:, 1]], axis=1)
        return out + [[g] for g in map(tuple, np.unique(pairs, axis=0).tolist())]
    H = nx.power(nx.Graph(G), distance) if distance > 1 else nx.Graph(G)
    H.remove_edges_from(nx.selfloop_edges(H))
    H = nx.relabel_nodes(H, index)
    groups: list[tuple[int, ...]] = []
    if max_weight == 2:
        groups = [tuple(sorted(e)) for e in H.edges]
    else:
        for clique in nx.enumerate_all_cliques(H):
            if len(clique) > max_weight:
                break
            if len(clique) >= 2:
                groups.append(tuple(sorted(clique)))
    groups.sort(key=lambda g: (len(g), g))
    return out + [[g] for g in groups]


def lattice(
    rows: int, cols: int, distance: int = 1, periodic: bool = False, diagonal: bool = False
) -> Pattern:
    """Gates on a ``rows × cols`` lattice; qubit ``r * cols + c`` sits at row ``r``, column ``c``.

    ``diagonal`` adds the diagonal neighbours (as in the D-Wave Pegasus-like datasets),
    ``periodic`` wraps the boundaries, ``distance`` counts lattice hops.

    Example:
        >>> len(iqpgen.gates.lattice(2, 2))  # 4 singles + 4 edges
        8
    """
    import networkx as nx

    rows = _checks.check_int("rows", rows, minimum=1)
    cols = _checks.check_int("cols", cols, minimum=1)
    G = nx.Graph()
    G.add_nodes_from(range(rows * cols))
    G.add_edges_from(lattice_edges(rows, cols, periodic=periodic, diagonal=diagonal))
    return graph(G, distance=distance)


def lattice_edges(rows: int, cols: int, *, periodic: bool, diagonal: bool) -> list[tuple]:
    """Edges ``(a, b)``, ``a < b``, of a ``rows × cols`` grid (site ``(r, c)`` is
    ``r·cols + c``), each once, in row-major scan order; with ``diagonal`` also the two
    diagonal neighbours; with ``periodic`` wrapped around (the lattices of
    :func:`lattice` and of the Ising datasets).

    Example:
        >>> iqpgen.gates.lattice_edges(2, 2, periodic=False, diagonal=False)
        [(0, 1), (0, 2), (1, 3), (2, 3)]
    """
    steps = [(0, 1), (1, 0)] + ([(1, 1), (1, -1)] if diagonal else [])
    edges: dict[tuple[int, int], None] = {}
    for r in range(rows):
        for c in range(cols):
            for dr, dc in steps:
                r2, c2 = r + dr, c + dc
                if periodic:
                    r2, c2 = r2 % rows, c2 % cols
                if 0 <= r2 < rows and 0 <= c2 < cols and (r2, c2) != (r, c):
                    a, b = r * cols + c, r2 * cols + c2
                    edges[(min(a, b), max(a, b))] = None
    return list(edges)


def from_covariance(X: Any, n_pairs: int, include_singles: bool = True) -> Pattern:
    """Pair gates on the ``n_pairs`` most strongly correlated pairs of columns of 0/1 data.

    Pairs are ranked by the absolute covariance of the bits; singles on every qubit come first
    when ``include_singles``.

    Example:
        >>> X = np.array([[0, 0, 1], [1, 1, 0], [1, 1, 1], [0, 0, 0]])
        >>> iqpgen.gates.from_covariance(X, 1)
        [[(0,)], [(1,)], [(2,)], [(0, 1)]]
    """
    X = _checks.check_binary_matrix("X", X, min_rows=2)
    n = X.shape[1]
    n_pairs = _checks.check_int("n_pairs", n_pairs, minimum=0)
    if n_pairs > n * (n - 1) // 2:
        raise ValueError(f"n_pairs={n_pairs} exceeds the {n * (n - 1) // 2} pairs of {n} qubits.")
    C = np.abs(np.cov(X.astype(np.float64), rowvar=False).reshape(n, n))
    iu, ju = np.triu_indices(n, 1)
    order = np.argsort(-C[iu, ju], kind="stable")[:n_pairs]
    pairs = sorted(zip(iu[order].tolist(), ju[order].tolist(), strict=True))
    singles = [[(i,)] for i in range(n)] if include_singles else []
    return singles + [[p] for p in pairs]


def random(
    n_qubits: int, n_gates: int, *, key: jax.Array, min_weight: int = 1, max_weight: int = 2
) -> Pattern:
    """``n_gates`` gates, each one generator of uniformly random weight and random qubits.

    Example:
        >>> len(iqpgen.gates.random(5, 7, key=jax.random.key(0), max_weight=3))
        7
    """
    n_qubits = _checks.check_int("n_qubits", n_qubits, minimum=1)
    n_gates = _checks.check_int("n_gates", n_gates, minimum=1)
    min_weight = _checks.check_int("min_weight", min_weight, minimum=1)
    max_weight = _checks.check_int("max_weight", max_weight, minimum=min_weight)
    if max_weight > n_qubits:
        raise ValueError(f"max_weight={max_weight} exceeds n_qubits={n_qubits}.")
    key = _checks.check_key(key)
    k_w, k_q = jax.random.split(key)
    weights = np.asarray(jax.random.randint(k_w, (n_gates,), min_weight, max_weight + 1))
    order = np.asarray(jax.random.uniform(k_q, (n_gates, n_qubits))).argsort(axis=1)
    return [[tuple(sorted(order[k, : weights[k]].tolist()))] for k in range(n_gates)]
