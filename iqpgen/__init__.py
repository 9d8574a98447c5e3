"""iqpgen: train IQP circuits as generative models on classical hardware, deploy on quantum.

Importing iqpgen imports JAX and NumPy only; PennyLane, Flax and plotting libraries load when
a function that needs them is called. JAX's global configuration is never changed.
"""

from . import bitflip, exact, gates
from ._version import __version__
from .circuit import IqpCircuit
from .estimator import Estimate, expval, expval_generic, expval_pairwise

__all__ = [
    "__version__",
    "IqpCircuit",
    "Estimate",
    "expval",
    "expval_generic",
    "expval_pairwise",
    "bitflip",
    "exact",
    "gates",
]
