"""The paper's own trained 16-bit DeepEBM and RBM, for the exact comparison in ``baselines.py``.

The paper's repository (XanaduAI/scaling-gqml) ships its trained baselines as pickles in
``paper/training/trained_parameters``: the DeepEBM as Flax parameters (JAX arrays of an older
JAX) of an MLP energy ``E(x)`` of 0/1 rows with tanh hidden layers, ``p(x) ∝ exp(−E(x))``, and
the RBM as its scikit-learn ``BernoulliRBM`` subclass. They are read here without that code:
the unpickler accepts only numpy arrays, those JAX arrays (read as numpy) and the RBM's
attributes, and refuses anything else a pickle could name. At 16 bits both models are
enumerated, so their MMD² to the whole test set is exact, as ours is.
"""

from __future__ import annotations

import os
import pickle
from typing import Any

import numpy as np

from iqpgen.exact import all_bitstrings

#: experiment -> the paper's dataset name in its file names.
DATASETS = {"8blobs": "8_blobs", "ising": "2D_ising"}
MODELS = {"DeepEBM": "DeepEBM", "RBM": "RestrictedBoltzmannMachine"}


def paths(folder: str, experiment: str) -> dict[str, str]:
    """The pickle of each model of ``experiment`` in ``folder``."""
    name = DATASETS[experiment]
    return {k: os.path.join(folder, f"params_{v}_{name}.pkl") for k, v in MODELS.items()}


class _Attributes:
    """What the pickled RBM object was: its attributes, nothing else."""


def _array(fun: Any, args: tuple, arr_state: Any, aval_state: Any) -> np.ndarray:
    # An old JAX array pickles as a numpy array (its data) and an abstract value (shape,
    # dtype, and keywords that newer JAX versions no longer accept): keep the data.
    a = fun(*args)
    a.__setstate__(arr_state)
    return np.asarray(a)


def _allowed() -> dict[tuple[str, str], Any]:
    import numpy.random._pickle as random_pickle

    reconstruct = np.ndarray.__reduce__(np.zeros(1))[0]  # numpy's own array rebuilder
    allowed = {
        ("jax._src.array", "_reconstruct_array"): _array,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
        ("numpy.random._pickle", "__generator_ctor"): random_pickle.__generator_ctor,
        ("numpy.random._pickle", "__bit_generator_ctor"): random_pickle.__bit_generator_ctor,
        ("qml_benchmarks.models.energy_based_model", "RestrictedBoltzmannMachine"): _Attributes,
    }
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = reconstruct
    return allowed


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        found = _allowed().get((module, name))
        if found is None:
            raise pickle.UnpicklingError(
                f"{module}.{name} is not one of the things a trained-parameters file holds"
            )
        return found


def load(path: str) -> Any:
    """One pickle of the paper's trained parameters (see the module docstring)."""
    with open(path, "rb") as f:
        return _Unpickler(f).load()


def mlp_energy(params: dict, x: np.ndarray) -> np.ndarray:
    """The paper's DeepEBM energy of 0/1 rows ``x``: Dense layers ``Dense_0, Dense_1, …``
    with tanh between them, one output."""
    layers = sorted(params, key=lambda k: int(k.rsplit("_", 1)[1]))
    h = np.asarray(x, np.float64)
    for i, name in enumerate(layers):
        h = h @ np.asarray(params[name]["kernel"], np.float64) + params[name]["bias"]
        if i < len(layers) - 1:
            h = np.tanh(h)
    return h[:, 0]


def rbm_log_weight(rbm: Any, x: np.ndarray) -> np.ndarray:
    """An RBM's unnormalised ``log p(v) = b·v + Σ_j softplus(c_j + W_j·v)``."""
    W = np.asarray(rbm.components_, np.float64)
    return x @ rbm.intercept_visible_ + np.logaddexp(0.0, x @ W.T + rbm.intercept_hidden_).sum(1)


def log_prob_tables(folder: str, experiment: str, n: int = 16) -> dict[str, np.ndarray]:
    """``log p(x)`` of every row (bit 0 the most significant) of the paper's trained DeepEBM
    and RBM of ``experiment``."""
    x = all_bitstrings(n)
    files = paths(folder, experiment)
    weights = {
        "DeepEBM": -mlp_energy(load(files["DeepEBM"])["params"], x),
        "RBM": rbm_log_weight(load(files["RBM"]), x),
    }
    return {k: w - np.logaddexp.reduce(w) for k, w in weights.items()}
