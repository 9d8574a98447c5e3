r"""Evaluating generative models of bitstrings: MMD² across bandwidths, correlations, Ising
statistics, and plots.

Every function takes an IQP model, a baseline (:mod:`iqpgen.baselines`), any object with a
``sample(n_samples, random_state=...)`` method, or a 0/1 matrix of samples, and uses the
cheapest unbiased route that model offers:

* :class:`~iqpgen.IqpModel`: Monte Carlo expectation values of the circuit (the circuit is
  never sampled, so this works at 1,000 qubits and beyond);
* :class:`~iqpgen.baselines.IndependentBits`, :class:`~iqpgen.baselines.BitflipModel`: exact
  expectation values;
* anything else: its samples.

:func:`verify_samples` checks a device's samples against the circuit they should follow.

Plots use matplotlib's object-oriented API (``matplotlib.figure.Figure``, no pyplot and no
global backend change); matplotlib is imported when a plot is made.
"""

from ..verify import verify_samples
from .common import model_kind
from .ising import IsingStats, ising_energy_stats
from .mmd_sigma import mmd_vs_sigma
from .moments import correlations, model_moments
from .paper import PAPER_N_CHUNKS, paper_bandwidths, paper_mmd, random_rows
from .plots import plot_correlations, plot_loss, plot_mmd_vs_sigma

__all__ = [
    "mmd_vs_sigma",
    "verify_samples",
    "paper_mmd",
    "paper_bandwidths",
    "random_rows",
    "PAPER_N_CHUNKS",
    "correlations",
    "model_moments",
    "model_kind",
    "IsingStats",
    "ising_energy_stats",
    "plot_loss",
    "plot_mmd_vs_sigma",
    "plot_correlations",
]
