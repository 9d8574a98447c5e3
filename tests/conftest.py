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
