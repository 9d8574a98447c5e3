"""Independent bits with the data's marginals: the product-distribution baseline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .common import MmdBaseline, exact_terms

__all__ = ["IndependentBits", "Uniform"]


def _independent_expval(probs: jax.Array, supp: jax.Array) -> jax.Array:
    """``Π_{i∈a} (1 − 2 p_i)`` for padded supports (padding index ``n`` contributes 1)."""
    z = jnp.concatenate([1.0 - 2.0 * probs, jnp.ones((1,), probs.dtype)])
    return jnp.prod(z[supp], axis=1)


_independent_expval_jit = jax.jit(_independent_expval)


class IndependentBits(MmdBaseline):
    """Independent bits with the data's marginals: ``P(x) = Π_i p_i^{x_i}(1 − p_i)^{1−x_i}``.

    Args:
        sigma: bandwidth(s) for :meth:`mmd` and :meth:`score`, or ``"auto"``
            (:func:`iqpgen.kernel.sigma_heuristic` on the training data).
        n_ops: operators per bandwidth in :meth:`mmd`.
        random_state: int seed, JAX key or None (sampling and MMD operators).

    Fitted attributes: ``probs_`` (``(n,)``, the mean of each column), ``sigma_``,
    ``n_features_in_``.

    Example:
        >>> import numpy as np
        >>> from iqpgen.baselines import IndependentBits
        >>> X = np.array([[0, 1], [1, 1], [0, 1], [0, 0]])
        >>> model = IndependentBits(sigma=1.0, random_state=0).fit(X)
        >>> model.probs_.tolist(), model.expval([[1, 1]]).round(3).tolist()
        ([0.25, 0.75], [-0.25])
        >>> model.sample(3).shape
        (3, 2)
    """

    def __init__(self, sigma: Any = "auto", n_ops: int = 1000, random_state: Any = None) -> None:
        self.sigma = sigma
        self.n_ops = n_ops
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> IndependentBits:
        """Store the column means of the 0/1 matrix ``X`` (at least 2 rows); returns ``self``."""
        self._check_common()
        if hasattr(self, "n_features_in_"):
            del self.n_features_in_
        X = self._check_X(X)
        self.probs_ = X.mean(axis=0, dtype=np.float64)
        self.sigma_ = self._resolve_sigma(X)
        self.n_features_in_ = X.shape[1]
        return self

    def expval(self, ops: Any) -> np.ndarray:
        """Exact ``⟨Z_a⟩ = Π_{i∈a}(1 − 2 p_i)`` for each row ``a`` of the 0/1 matrix ``ops``."""
        self.check_fitted()
        ops = _checks.check_binary_matrix("ops", ops, n_cols=self.n_features_in_, what="operators")
        z = 1.0 - 2.0 * self.probs_
        return np.prod(np.where(ops == 1, z[None, :], 1.0), axis=1)

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """Exact samples ``(n_samples, n)`` of 0/1 (uint8)."""
        self.check_fitted()
        n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
        key = self._eval_key(random_state, 3)
        p = jnp.asarray(self.probs_, jnp.float32)
        return np.asarray(jax.random.bernoulli(key, p, (n_samples, p.shape[0])), np.uint8)

    def mmd_terms(self, key):
        return exact_terms(_independent_expval), jnp.asarray(self.probs_, jnp.float32)

    def _expval_supports(self) -> tuple[Callable, Any]:
        """``(fn, state)`` with ``fn(state, supp)`` the exact ``⟨Z_a⟩`` of padded supports."""
        return _independent_expval_jit, jnp.asarray(self.probs_, jnp.float32)


class Uniform(IndependentBits):
    """Uniformly random bits: the paper's "Random" row, ``⟨Z_a⟩ = 0`` for every ``a ≠ 0``.

    :meth:`fit` records only the width of ``X`` (and the bandwidths for ``sigma="auto"``); the
    MMD² to data is exact in the model term, as for :class:`IndependentBits`.

    Example:
        >>> import numpy as np
        >>> from iqpgen.baselines import Uniform
        >>> model = Uniform(sigma=1.0, random_state=0).fit(np.zeros((4, 3), np.uint8))
        >>> model.expval([[1, 0, 1]]).tolist(), model.sample(2).shape
        ([0.0], (2, 3))
    """

    def fit(self, X: Any, y: Any = None) -> Uniform:
        """Record the width of the 0/1 matrix ``X`` (at least 2 rows); returns ``self``."""
        super().fit(X)
        self.probs_ = np.full(self.n_features_in_, 0.5)
        return self
