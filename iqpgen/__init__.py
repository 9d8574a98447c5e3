"""iqpgen: train IQP circuits as generative models on classical hardware, deploy on quantum.

Importing iqpgen imports JAX and NumPy only; scikit-learn loads with ``IqpModel``, and
PennyLane, optax, networkx and plotting libraries when a function that needs them is called.
JAX's global configuration is never changed.
"""

from . import (
    bitflip,
    costs,
    datasets,
    exact,
    export,
    gates,
    init,
    kernel,
    mmd,
    parallel,
    symmetry,
    train,
    walsh,
)
from ._version import __version__
from .circuit import IqpCircuit
from .estimator import Estimate, expval, expval_generic, expval_pairwise, expval_phase_table
from .mmd import mmd_loss

__all__ = [
    "__version__",
    "IqpCircuit",
    "IqpModel",
    "Estimate",
    "expval",
    "expval_generic",
    "expval_pairwise",
    "expval_phase_table",
    "mmd_loss",
    "bitflip",
    "costs",
    "datasets",
    "exact",
    "export",
    "gates",
    "init",
    "kernel",
    "mmd",
    "parallel",
    "symmetry",
    "train",
    "walsh",
]


def __getattr__(name: str):
    # IqpModel derives from scikit-learn's BaseEstimator: import it (and sklearn) on first use.
    if name == "IqpModel":
        from .model import IqpModel

        return IqpModel
    raise AttributeError(f"module 'iqpgen' has no attribute {name!r}")
