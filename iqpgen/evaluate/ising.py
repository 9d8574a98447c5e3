"""Energy and magnetisation statistics of samples or models under an Ising model."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import numpy as np

from .. import _checks
from .common import draw_samples, model_kind
from .moments import model_moments

__all__ = ["IsingStats", "ising_energy_stats"]


class IsingStats(NamedTuple):
    """Energy and magnetisation statistics, per spin (``s = 2x − 1``, ``m = mean_i s_i``).

    ``energy``: mean of ``E(s)/n``; ``energy_std``: its standard deviation over samples;
    ``magnetisation``: mean of ``m``; ``magnetisation_sq``: mean of ``m²``;
    ``abs_magnetisation``: mean of ``|m|``. Statistics that need samples are ``nan`` when
    the source was evaluated through expectation values.
    """

    energy: float
    energy_std: float
    magnetisation: float
    magnetisation_sq: float
    abs_magnetisation: float


def ising_energy_stats(
    source: Any,
    J: Any,
    h: Any,
    *,
    key: jax.Array | None = None,
    n_samples: int = 10_000,
) -> IsingStats:
    r"""Energy and magnetisation statistics of samples or a model under the Ising model ``(J, h)``.

    Energies are :func:`iqpgen.datasets.ising_energy`, ``E(s) = −½ sᵀJs − h·s``.
    Models with expectation values are not sampled: the mean energy and ``⟨m²⟩`` are linear in
    :math:`\langle Z_iZ_j\rangle` and :math:`\langle Z_i\rangle` (``s_i = −Z_i``), so they
    come from the expectations of :func:`correlations` — Monte Carlo estimates (unbiased) for
    an :class:`~iqpgen.IqpModel`, exact values for
    :class:`~iqpgen.baselines.IndependentBits` and :class:`~iqpgen.baselines.BitflipModel` —
    and ``energy_std`` and ``abs_magnetisation`` are ``nan``. Other models are sampled
    (``n_samples`` rows); a 0/1 matrix is used as it is.

    Args:
        source: 0/1 samples, or a fitted model.
        J: couplings, dense ``(n, n)`` or ``(edges, weights)``.
        h: fields ``(n,)``.
        key: JAX key (for models).
        n_samples: samples or Monte Carlo samples.

    Example:
        >>> import numpy as np
        >>> from iqpgen.evaluate import ising_energy_stats
        >>> J = np.array([[0.0, 1.0], [1.0, 0.0]])
        >>> ising_energy_stats(np.array([[1, 1], [0, 0]]), J, np.zeros(2)).energy
        -0.5
    """
    from ..datasets import ising_energy, parse_model

    n_samples = _checks.check_int("n_samples", n_samples, minimum=2)
    n, i, j, w, hv = parse_model(J, h)
    kind = model_kind(source)
    if kind in ("iqp", "exact"):
        if source.n_features_in_ != n:
            raise ValueError(
                f"the model has {source.n_features_in_} bits but the Ising model has {n} spins."
            )
        z, zz, _ = model_moments(source, key=key, n_samples=n_samples)
        energy = (-(zz[i, j] @ w) + z @ hv) / n
        mag_sq = (n + (zz.sum() - np.trace(zz))) / (n * n)
        return IsingStats(float(energy), np.nan, float(-z.mean()), float(mag_sq), np.nan)
    if kind == "samples":
        X = _checks.check_binary_matrix("source", source, n_cols=n, min_rows=1)
    else:
        X = draw_samples(source, n_samples, _checks.check_key(key))
    e = ising_energy(X, J, h) / n
    m = (2.0 * X.astype(np.float64) - 1.0).mean(axis=1)
    return IsingStats(
        float(e.mean()),
        float(e.std(ddof=1)) if len(e) > 1 else np.nan,
        float(m.mean()),
        float((m * m).mean()),
        float(np.abs(m).mean()),
    )
