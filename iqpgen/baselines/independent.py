"""Independent bits with the data's marginals: the product-distribution baseline."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from ..symmetry import check_symmetry, resolve_symmetry, symmetrise
from .common import MmdBaseline, exact_terms

__all__ = ["IndependentBits", "Uniform"]


def _independent_expval(state: tuple[jax.Array, bool], supp: jax.Array) -> jax.Array:
    """``Π_{i∈a} (1 − 2 p_i)`` for padded supports (padding index ``n`` contributes 1); zero
    for odd ``|a|`` when the model is the flip-symmetric mixture."""
    probs, symmetric = state
    n = probs.shape[0]
    z = jnp.concatenate([1.0 - 2.0 * probs, jnp.ones((1,), probs.dtype)])
    q = jnp.prod(z[supp], axis=1)
    return jnp.where(symmetric & (jnp.sum(supp < n, axis=1) % 2 == 1), 0.0, q)


def _mirrored_product(X: np.ndarray, n_iter: int = 200) -> np.ndarray:
    """Marginals ``p`` of the mixture ``½(P_p(x) + P_p(1 − x))`` of a product distribution
    and its mirror image, by expectation–maximisation from the rows aligned with the leading
    principal direction of the spins."""
    s = 1.0 - 2.0 * X.astype(np.float64)
    _, _, vt = np.linalg.svd(s, full_matrices=False)
    sign = np.where(s @ vt[0] >= 0, 1.0, -1.0)
    p = np.clip(((1.0 - sign[:, None] * s) / 2.0).mean(axis=0), 1e-6, 1 - 1e-6)
    for _ in range(n_iter):
        log_p, log_q = np.log(p), np.log1p(-p)
        a = X @ log_p + (1 - X) @ log_q  # log P(x)
        b = X @ log_q + (1 - X) @ log_p  # log P(1 − x)
        r = 1.0 / (1.0 + np.exp(np.clip(b - a, -700, 700)))
        new = np.clip((r[:, None] * X + (1 - r[:, None]) * (1 - X)).mean(axis=0), 1e-6, 1 - 1e-6)
        if np.max(np.abs(new - p)) < 1e-10:
            return new
        p = new
    return p


_independent_expval_jit = jax.jit(_independent_expval)


class IndependentBits(MmdBaseline):
    """Independent bits with the data's marginals: ``P(x) = Π_i p_i^{x_i}(1 − p_i)^{1−x_i}``.

    With ``symmetry="global_flip"`` (or ``"auto"`` on flip-symmetric data, see
    :mod:`iqpgen.symmetry`) the model is ``½(P(x) + P(1 − x))``, its marginals ``probs_`` fitted
    by expectation–maximisation; ``⟨Z_a⟩`` is then the product for even ``|a|`` and 0 for odd.

    Args:
        symmetry: ``"auto"``, ``"global_flip"`` or ``None`` (default: the plain product).
        sigma: bandwidth(s) for :meth:`mmd` and :meth:`score`, or ``"auto"``
            (:func:`iqpgen.kernel.sigma_heuristic` on the training data).
        n_ops: operators per bandwidth in :meth:`mmd`.
        random_state: int seed, JAX key or None (sampling and MMD operators).

    Fitted attributes: ``probs_`` (``(n,)``, the mean of each column, or the mixture's
    marginals), ``symmetry_``, ``sigma_``, ``n_features_in_``.

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

    def __init__(
        self,
        symmetry: str | None = None,
        sigma: Any = "auto",
        n_ops: int = 1000,
        random_state: Any = None,
    ) -> None:
        self.symmetry = symmetry
        self.sigma = sigma
        self.n_ops = n_ops
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> IndependentBits:
        """Store the column means of the 0/1 matrix ``X`` (at least 2 rows); returns ``self``."""
        self._check_common()
        check_symmetry(self.symmetry)
        if hasattr(self, "n_features_in_"):
            del self.n_features_in_
        X = self._check_X(X)
        self.symmetry_ = resolve_symmetry(self.symmetry, X)
        if self.symmetry_ == "global_flip":
            self.probs_ = _mirrored_product(X)
        else:
            self.probs_ = X.mean(axis=0, dtype=np.float64)
        self.sigma_ = self._resolve_sigma(X)
        self.n_features_in_ = X.shape[1]
        return self

    def expval(self, ops: Any) -> np.ndarray:
        """Exact ``⟨Z_a⟩ = Π_{i∈a}(1 − 2 p_i)`` for each row ``a`` of the 0/1 matrix ``ops``."""
        self.check_fitted()
        ops = _checks.check_binary_matrix("ops", ops, n_cols=self.n_features_in_, what="operators")
        z = 1.0 - 2.0 * self.probs_
        q = np.prod(np.where(ops == 1, z[None, :], 1.0), axis=1)
        if self.symmetry_ == "global_flip":
            q = np.where(ops.sum(axis=1) % 2 == 1, 0.0, q)
        return q

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """Exact samples ``(n_samples, n)`` of 0/1 (uint8)."""
        self.check_fitted()
        n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
        key, k_sym = jax.random.split(self._eval_key(random_state, 3))
        p = jnp.asarray(self.probs_, jnp.float32)
        x = np.asarray(jax.random.bernoulli(key, p, (n_samples, p.shape[0])), np.uint8)
        return symmetrise(x, key=k_sym) if self.symmetry_ == "global_flip" else x

    def _state(self) -> tuple[jax.Array, jax.Array]:
        return jnp.asarray(self.probs_, jnp.float32), jnp.asarray(self.symmetry_ is not None)

    def mmd_terms(self, key):
        return exact_terms(_independent_expval), self._state()

    def _expval_supports(self) -> tuple[Callable, Any]:
        """``(fn, state)`` with ``fn(state, supp)`` the exact ``⟨Z_a⟩`` of padded supports."""
        return _independent_expval_jit, self._state()


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

    def __init__(self, sigma: Any = "auto", n_ops: int = 1000, random_state: Any = None) -> None:
        self.sigma = sigma
        self.n_ops = n_ops
        self.random_state = random_state

    @property
    def symmetry(self) -> None:
        """Uniform bits are flip-symmetric by construction: no option to set."""
        return None

    def fit(self, X: Any, y: Any = None) -> Uniform:
        """Record the width of the 0/1 matrix ``X`` (at least 2 rows); returns ``self``."""
        super().fit(X)
        self.probs_ = np.full(self.n_features_in_, 0.5)
        return self
