import itertools

import jax
import numpy as np
import pytest

import iqpgen


def tied_circuit(n: int, max_weight: int, *, seed: int, spin_sym: bool = False):
    """A random circuit whose gates own 1-3 generators of weight 1..max_weight."""
    rng = np.random.default_rng(seed)
    pool = [g for w in range(1, max_weight + 1) for g in itertools.combinations(range(n), w)]
    rng.shuffle(pool)
    gates, i = [], 0
    while i < len(pool) and len(gates) < 3 * n:
        k = int(rng.integers(1, 4))
        gates.append([list(g) for g in pool[i : i + k]])
        i += k
    return iqpgen.IqpCircuit(n, gates, spin_sym=spin_sym)


def random_params(circuit, seed: int, scale: float = 0.6):
    return jax.random.normal(jax.random.key(seed), (circuit.n_params,)) * scale


@pytest.fixture
def all_ops():
    def make(n):
        return iqpgen.exact.all_bitstrings(n)[1:]

    return make


def statevector_probs(circuit, params) -> np.ndarray:
    """Output probabilities by an independent float64 state vector: the diagonal summed over
    the generators one by one, the Hadamard layers as explicit Kronecker products (n ≤ 10)."""
    n = circuit.n_qubits
    z = iqpgen.exact.all_bitstrings(n).astype(np.int64)
    theta = np.asarray(params, np.float64)
    phase = np.zeros(2**n)
    for gate, gens in enumerate(circuit.gates):
        for g in gens:
            phase += theta[gate] * (1 - 2 * (z[:, list(g)].sum(axis=1) % 2))
    h1 = np.array([[1.0, 1.0], [1.0, -1.0]]) / np.sqrt(2)
    h = np.ones((1, 1))
    for _ in range(n):
        h = np.kron(h, h1)
    psi0 = np.zeros(2**n)
    if circuit.spin_sym:
        psi0[0] = psi0[-1] = 1 / np.sqrt(2)
    else:
        psi0[0] = 1.0
    psi = h @ (np.exp(-1j * phase) * (h @ psi0))
    return np.abs(psi) ** 2


# The slowest files first (about 70-115 s each in make test): with pytest-xdist's
# --dist loadfile each worker takes the next file when it is free, so a long file left to the
# end would keep one worker busy while the other waits.
_SLOW_FIRST = (
    "test_examples.py",
    "test_docs_site.py",
    "test_datasets.py",
    "test_model.py",
    "test_mmd.py",
    "test_baselines.py",
    "test_parallel.py",
    "test_estimator.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item):
        name = item.path.name
        return _SLOW_FIRST.index(name) if name in _SLOW_FIRST else len(_SLOW_FIRST)

    items.sort(key=rank)  # stable: each file keeps its own order
