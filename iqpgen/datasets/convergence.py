"""Convergence diagnostics of the Ising sampler's chains: rank-normalised split-R̂ and bulk
effective sample size (Vehtari et al. 2021, computed by ArviZ's ``arviz-stats``) of the energy
and the magnetisation, across chains.

Both are computed on the draws as :func:`~iqpgen.datasets.sample_ising` keeps them, an array
``(n_draws, n_chains, n)`` of bits. R̂ compares the spread between chains (and between the two
halves of each chain) with the spread within them: it is near 1 when every chain has forgotten
its start and explores the same distribution, and well above 1 when chains sit in different
modes or still drift. The usual threshold is R̂ < 1.01.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "Convergence",
    "ConvergenceWarning",
    "chain_diagnostics",
    "series_diagnostics",
    "warn_unconverged",
    "RHAT_TARGET",
]

#: R̂ below which chains count as converged (Vehtari et al. 2021).
RHAT_TARGET = 1.01


class ConvergenceWarning(UserWarning):
    """MCMC chains did not reach ``R̂ < rhat_target`` within the sweeps allowed."""


class Convergence(NamedTuple):
    """Diagnostics of a set of chains (``nan`` where there are too few draws to tell)."""

    rhat_energy: float
    rhat_magnetisation: float
    ess_energy: float
    ess_magnetisation: float
    n_chains: int
    n_draws: int  # kept draws per chain
    sweeps: int  # sweeps each chain ran, burn-in included

    @property
    def rhat(self) -> float:
        """The larger of the two R̂ (``nan`` if either is)."""
        return max(self.rhat_energy, self.rhat_magnetisation)

    @property
    def diagnosable(self) -> bool:
        """Whether there were enough chains and draws (2 and 4) to compute R̂."""
        return bool(np.isfinite(self.rhat))

    @property
    def rhat_noise(self) -> float:
        """Standard deviation of split-R̂ for independent draws with these many chains and
        draws, ``√(2/(M − 1)) / (2N)`` for ``M = 2·n_chains`` half-chains of ``N`` draws (from
        ``R̂² ≈ 1 − 1/N + χ²_{M−1}/((M − 1)N)``): R̂ cannot be read more finely than this."""
        m, d = 2 * self.n_chains, self.n_draws // 2
        return math.sqrt(2.0 / (m - 1)) / (2.0 * d) if m > 1 and d > 0 else float("nan")

    def threshold(self, target: float = RHAT_TARGET) -> float:
        """``target``, or 4 noise levels above 1 where R̂ is too noisy to resolve ``target``
        (few chains or draws): independent draws exceed it with probability ~3e-5."""
        return max(target, 1.0 + 4.0 * self.rhat_noise)

    def converged(self, target: float = RHAT_TARGET) -> bool:
        """Both R̂ below :meth:`threshold` ``(target)``."""
        return self.diagnosable and self.rhat < self.threshold(target)

    def summary(self) -> str:
        """One line with the numbers."""
        return (
            f"split-R̂ {self.rhat_energy:.4f} (energy), {self.rhat_magnetisation:.4f} "
            f"(magnetisation); bulk ESS {self.ess_energy:.0f} / {self.ess_magnetisation:.0f} of "
            f"{self.n_chains * self.n_draws} draws ({self.n_chains} chains × {self.n_draws}, "
            f"{self.sweeps} sweeps each)"
        )


def _rhat_ess(series: np.ndarray) -> tuple[float, float]:
    """R̂ and bulk ESS of a ``(n_chains, n_draws)`` series; a constant series is converged."""
    from arviz_stats.base import array_stats

    if np.ptp(series) == 0:
        return 1.0, float(series.size)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        # A chain that is constant while others move gives 0/0 inside; R̂ is then inf.
        warnings.simplefilter("ignore", RuntimeWarning)
        rhat = float(array_stats.rhat(series, chain_axis=0, draw_axis=1, method="rank"))
        ess = float(array_stats.ess(series, chain_axis=0, draw_axis=1, method="bulk"))
    return (rhat if np.isfinite(rhat) else float("inf")), ess


def chain_diagnostics(
    draws: np.ndarray, edges: np.ndarray, weights: np.ndarray, h: np.ndarray, *, sweeps: int
) -> Convergence:
    """Split-R̂ and bulk ESS of the energy and magnetisation of ``draws``.

    Args:
        draws: bits, shape ``(n_draws, n_chains, n)``, draw ``d`` of chain ``c`` at ``[d, c]``.
        edges: ``(m, 2)`` coupled pairs; ``weights`` their couplings ``J_ij``; ``h`` the fields
            (as returned by :func:`~iqpgen.datasets.parse_model`).
        sweeps: sweeps each chain ran (reported, not used).

    Returns:
        A :class:`Convergence`; R̂ and ESS are ``nan`` with fewer than 2 chains or 4 draws each.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> draws = rng.integers(0, 2, (100, 4, 3), dtype=np.uint8)  # independent draws
        >>> d = chain_diagnostics(draws, np.array([[0, 1]]), np.array([0.5]), np.zeros(3), sweeps=1)
        >>> d.converged(), d.n_chains, d.n_draws
        (True, 4, 100)
    """
    n_draws, n_chains, n = draws.shape
    if n_chains < 2 or n_draws < 4:
        nan = float("nan")
        return Convergence(nan, nan, nan, nan, n_chains, n_draws, sweeps)
    i, j = np.asarray(edges[:, 0]), np.asarray(edges[:, 1])
    energy = np.empty((n_draws, n_chains))
    magnet = np.empty((n_draws, n_chains))
    rows = max(1, 2**22 // max(n, 1))  # bounded memory: about 4 M spins at a time
    for start in range(0, n_draws, max(1, rows // n_chains)):
        s = 2.0 * draws[start : start + max(1, rows // n_chains)].astype(np.float32) - 1.0
        energy[start : start + len(s)] = -((s[..., i] * s[..., j]) @ weights) - s @ h
        magnet[start : start + len(s)] = s.mean(axis=-1)
    return series_diagnostics(energy, magnet, sweeps=sweeps)


def series_diagnostics(
    energy: np.ndarray, magnetisation: np.ndarray, *, sweeps: int
) -> Convergence:
    """Split-R̂ and bulk ESS of given energy and magnetisation series, each
    ``(n_draws, n_chains)`` (draw ``d`` of chain ``c`` at ``[d, c]``): the diagnostics of any
    sampler whose energy is not an Ising model's (e.g. the free energy of a baseline model).

    Example:
        >>> import numpy as np
        >>> e = np.random.default_rng(0).normal(size=(50, 4))
        >>> stuck = np.repeat([[1.0, 1.0, -1.0, -1.0]], 50, axis=0)  # two chains in each mode
        >>> series_diagnostics(e, stuck + 0.01 * e, sweeps=50).converged()
        False
    """
    energy = np.asarray(energy, np.float64)
    magnetisation = np.asarray(magnetisation, np.float64)
    if energy.shape != magnetisation.shape or energy.ndim != 2:
        raise ValueError(
            f"energy and magnetisation must both have shape (n_draws, n_chains), got "
            f"{energy.shape} and {magnetisation.shape}."
        )
    n_draws, n_chains = energy.shape
    if n_chains < 2 or n_draws < 4:
        nan = float("nan")
        return Convergence(nan, nan, nan, nan, n_chains, n_draws, sweeps)
    r_e, ess_e = _rhat_ess(energy.T)
    r_m, ess_m = _rhat_ess(magnetisation.T)
    return Convergence(r_e, r_m, ess_e, ess_m, n_chains, n_draws, sweeps)


def warn_unconverged(diag: Convergence, target: float, advice: Any) -> None:
    """Issue a :class:`ConvergenceWarning` with the numbers and ``advice``."""
    warnings.warn(
        f"MCMC chains have not converged (R̂ ≥ {diag.threshold(target):.4f}): {diag.summary()}. "
        f"The samples may be biased; {advice}",
        ConvergenceWarning,
        stacklevel=3,
    )
