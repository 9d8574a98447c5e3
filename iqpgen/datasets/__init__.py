"""Datasets of binary vectors for training and testing IQP generative models.

Every function returns 0/1 ``uint8`` matrices of shape ``(n_samples, n)``. Randomness comes
from a required keyword-only JAX ``key``; the same key, arguments and library versions give the
same data.

* Ising models: :func:`sample_ising` (parallel Gibbs / parallel tempering on any coupling graph),
  :func:`ising_energy`, and the generators :func:`scale_free` (its model:
  :func:`scale_free_model`), :func:`lattice_ising`, :func:`ising_2d` (the paper's 4×4
  lattice; its couplings: :func:`ising_2d_couplings`) and :func:`dwave_like` (its couplings:
  :func:`dwave_like_couplings`).
* Others: :func:`blobs`, :func:`digits`.
* Files and libraries: :func:`load_dwave` (the Zenodo ``.npy`` files), :func:`read_graph` (an
  adjacency-list file, such as the paper's scale-free graph), :func:`load_pennylane`
  (PennyLane's dataset service; needs internet).

Generated Ising datasets are cached on disk, one ``.npy`` file per set of inputs, in
``$IQPGEN_CACHE`` (default ``~/.cache/iqpgen``); pass ``cache=False`` to skip the cache.
Importing this module loads neither networkx, scikit-learn nor PennyLane. One module per
concept: ``sampler`` (the MCMC sampler), ``convergence`` (its R̂ and ESS diagnostics),
``ising`` (the Ising recipes), ``loaders`` (other generators and file loaders), ``_cache``
(the disk cache).
"""

from ._cache import DATA_VERSION, cache_dir
from .convergence import Convergence, ConvergenceWarning, chain_diagnostics, series_diagnostics
from .ising import (
    DWAVE_LIKE_TEMPERATURE,
    dwave_like,
    dwave_like_couplings,
    ising_2d,
    ising_2d_couplings,
    lattice_ising,
    scale_free,
    scale_free_model,
)
from .loaders import blobs, digits, load_dwave, load_pennylane, read_graph
from .sampler import (
    check_temperature,
    coupling_strength,
    ising_energy,
    parse_model,
    sample_ising,
)

__all__ = [
    "sample_ising",
    "Convergence",
    "ConvergenceWarning",
    "chain_diagnostics",
    "series_diagnostics",
    "ising_energy",
    "parse_model",
    "check_temperature",
    "coupling_strength",
    "scale_free",
    "scale_free_model",
    "lattice_ising",
    "ising_2d",
    "ising_2d_couplings",
    "dwave_like",
    "dwave_like_couplings",
    "DWAVE_LIKE_TEMPERATURE",
    "blobs",
    "digits",
    "load_dwave",
    "load_pennylane",
    "read_graph",
    "cache_dir",
    "DATA_VERSION",
]
