r"""The global-flip symmetry of binary data: a test from the data's odd-order moments, the
``symmetry=`` option every model shares, and exact symmetrisation of samples.

A distribution is symmetric under flipping every bit when ``p(x) = p(1 − x)`` (zero-field Ising
models, for example). Then every odd-order parity vanishes, ``⟨Z_a⟩ = 0`` for ``|a|`` odd, and a
model that lacks the symmetry pays for it at every such operator of the MMD² loss. A model
declares the symmetry with ``symmetry="global_flip"`` (an IQP circuit through ``spin_sym``; a
sampled model as the mixture ``½(p(x) + p(1 − x))``), or lets ``symmetry="auto"`` decide from
the training data with :func:`flip_test`.

:func:`flip_test` computes, for a set of odd-order operators (every single bit, the total
magnetisation, and up to ``n_triples`` bit triples drawn with a fixed seed), the z-score of the
operator's mean over the rows, ``z_a = \bar v_a / (s_a / \sqrt m)`` with ``v = Π_{i∈a}(1 − 2x_i)``.
Under the symmetry each ``z_a`` is approximately standard normal; the data count as symmetric
when the largest ``|z_a|`` stays below the Bonferroni bound of a two-sided test at family-wise
level ``alpha`` (default 10⁻³). Rows are taken as independent draws: rows from a strongly
correlated Markov chain give larger z-scores than their number suggests.
"""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import jax
import numpy as np

from . import _checks

__all__ = [
    "SYMMETRIES",
    "SymmetryWarning",
    "FlipTest",
    "flip_test",
    "check_symmetry",
    "resolve_symmetry",
    "symmetrise",
]

#: The values of ``symmetry=`` every model takes.
SYMMETRIES = ("auto", "global_flip", None)


class SymmetryWarning(UserWarning):
    """A model was told the data are flip-symmetric, but the data's odd moments say otherwise."""


class FlipTest(NamedTuple):
    """The result of :func:`flip_test`."""

    max_abs_z: float  # largest |z| over the odd-order operators tested
    threshold: float  # the Bonferroni bound it is compared with
    n_operators: int  # operators tested
    worst: str  # the operator with the largest |z|, e.g. "bit 3" or "bits (0, 4, 9)"
    magnetisation: float  # mean of (1 − 2x) over rows and bits

    @property
    def symmetric(self) -> bool:
        """Whether the data are consistent with the global-flip symmetry."""
        return bool(self.max_abs_z < self.threshold)

    def summary(self) -> str:
        """One line with the numbers."""
        return (
            f"largest |z| of {self.n_operators} odd-order moments is {self.max_abs_z:.1f} "
            f"({self.worst}) against {self.threshold:.1f} for symmetric data; mean spin "
            f"{self.magnetisation:+.4f}"
        )


def flip_test(X: Any, *, alpha: float = 1e-3, n_triples: int = 1000) -> FlipTest:
    """Test 0/1 rows ``X`` ``(m, n)`` for the global-flip symmetry ``p(x) = p(1 − x)``.

    See the module for the statistic. Deterministic: the triples come from a fixed seed.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> X = rng.integers(0, 2, (2000, 8))
        >>> flip_test(X).symmetric, flip_test((rng.random((2000, 8)) < 0.4)).symmetric
        (True, False)
    """
    from scipy.stats import norm

    X = _checks.check_binary_matrix("X", X, min_rows=2)
    alpha = _checks.check_number("alpha", alpha, low=0.0, high=1.0)
    n_triples = _checks.check_int("n_triples", n_triples, minimum=0)
    m, n = X.shape
    s = 1.0 - 2.0 * X.astype(np.float64)
    columns = [s, s.mean(axis=1, keepdims=True)]
    names = [f"bit {i}" for i in range(n)] + ["the total magnetisation"]
    if n >= 3 and n_triples:
        rng = np.random.default_rng(0)
        triples = np.sort(np.argsort(rng.random((n_triples, n)), axis=1)[:, :3], axis=1)
        triples = np.unique(triples, axis=0)
        columns.append(s[:, triples[:, 0]] * s[:, triples[:, 1]] * s[:, triples[:, 2]])
        names += [f"bits {tuple(int(i) for i in t)}" for t in triples]
    v = np.concatenate(columns, axis=1)
    mean, std = v.mean(axis=0), v.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, np.abs(mean) * np.sqrt(m) / std, np.where(mean != 0, np.inf, 0.0))
    worst = int(np.argmax(z))
    k = v.shape[1]
    return FlipTest(
        max_abs_z=float(z[worst]),
        threshold=float(norm.isf(alpha / (2 * k))),
        n_operators=k,
        worst=names[worst],
        magnetisation=float(s.mean()),
    )


def check_symmetry(symmetry: Any) -> str | None:
    """Validate a ``symmetry=`` value: ``"auto"``, ``"global_flip"`` or ``None``."""
    if symmetry is not None and (not isinstance(symmetry, str) or symmetry not in SYMMETRIES):
        raise ValueError(
            f"symmetry must be 'auto' (decided from the training data), 'global_flip' (a model "
            f"invariant under flipping every bit) or None, got {symmetry!r}."
        )
    return symmetry


def resolve_symmetry(symmetry: Any, X: Any, *, stacklevel: int = 3) -> str | None:
    """The symmetry a model fitted on ``X`` takes: ``"global_flip"`` or ``None``.

    ``"auto"`` is ``"global_flip"`` when :func:`flip_test` finds ``X`` symmetric; a declared
    ``"global_flip"`` is kept, with a :class:`SymmetryWarning` giving the numbers when the data
    clearly lack the symmetry.

    Example:
        >>> import numpy as np
        >>> X = np.random.default_rng(0).integers(0, 2, (1000, 6))
        >>> resolve_symmetry("auto", X), resolve_symmetry(None, X)
        ('global_flip', None)
    """
    symmetry = check_symmetry(symmetry)
    if symmetry is None:
        return None
    test = flip_test(X)
    if symmetry == "auto":
        return "global_flip" if test.symmetric else None
    if not test.symmetric:
        warnings.warn(
            f"symmetry='global_flip' was given, but the data are not symmetric under flipping "
            f"every bit: {test.summary()}. The model will be symmetric all the same; use "
            "symmetry='auto' or None to let it follow the data.",
            SymmetryWarning,
            stacklevel=stacklevel,
        )
    return "global_flip"


def symmetrise(samples: Any, *, key: jax.Array) -> np.ndarray:
    """Flip each row of ``samples`` whole with probability ½: exact samples of
    ``½(p(x) + p(1 − x))`` from samples of ``p``.

    Example:
        >>> import jax, numpy as np
        >>> x = symmetrise(np.zeros((1000, 3), np.uint8), key=jax.random.key(0))
        >>> 0.45 < x[:, 0].mean() < 0.55 and bool((x == x[:, :1]).all())
        True
    """
    samples = _checks.check_binary_matrix("samples", samples, min_rows=0)
    flip = np.asarray(jax.random.bernoulli(_checks.check_key(key), 0.5, (samples.shape[0], 1)))
    return np.where(flip, 1 - samples, samples).astype(np.uint8)
