"""iqpgen: train IQP circuits as generative models on classical hardware, deploy on quantum.

Importing iqpgen imports JAX, NumPy and scikit-learn's base classes only; PennyLane, optax,
Flax and plotting libraries load when a function that needs them is called. JAX's global
configuration is never changed.
"""

from . import bitflip, exact, gates, init, mmd, parallel, train
from ._version import __version__
from .circuit import IqpCircuit
from .estimator import Estimate, expval, expval_generic, expval_pairwise
from .mmd import mmd_loss
from .model import IqpModel

__all__ = [
    "__version__",
    "IqpCircuit",
    "IqpModel",
    "Estimate",
    "expval",
    "expval_generic",
    "expval_pairwise",
    "mmd_loss",
    "bitflip",
    "exact",
    "gates",
    "init",
    "mmd",
    "parallel",
    "train",
]
