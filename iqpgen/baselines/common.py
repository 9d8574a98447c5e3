"""Shared parts of the baselines: the operator-based MMD² estimate and the estimator base class.

:func:`per_sigma` draws the operators of :func:`iqpgen.mmd_loss` for the same key and combines
any model's ``(q̂_a, q̂_a²)`` with the data's parity sums; :func:`exact_terms` and
:func:`sample_terms` give those terms for models with exact expectations and for models given
by samples. :class:`MmdBaseline` is the scikit-learn plumbing (validation, bandwidths, keys,
``mmd`` and ``score``) of every baseline; :mod:`iqpgen.evaluate` uses the same interface.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator, DensityMixin

from .. import _checks, kernel, mmd, operators

__all__ = ["per_sigma", "per_sigma_jit", "exact_terms", "sample_terms", "rng_from", "MmdBaseline"]


def per_sigma(
    terms_fn: Callable,
    state: Any,
    data: mmd.PackedData,
    key: jax.Array,
    *,
    n_wires: int,
    sigmas: tuple[float, ...],
    n_ops: int,
) -> jax.Array:
    """Unbiased MMD² estimate per bandwidth, shape ``(len(sigmas),)``.

    ``terms_fn(state, supp)`` returns the model's ``(q̂_a, q̂_a²)`` for padded supports ``supp``.
    Operators are drawn exactly as :func:`iqpgen.mmd.loss_from_packed` draws them
    (:func:`iqpgen.operators.draw_operators`); every bandwidth's are then padded to one width
    and evaluated together (one small graph to compile instead of one per bucket; the padding
    costs little next to the model term).
    """
    _, k_ops = jax.random.split(key)
    wires = jnp.arange(n_wires, dtype=jnp.int32)
    ops = operators.draw_operators(k_ops, wires, sigmas, n_ops, n_wires)
    each = operators.expand(ops, len(sigmas), n_wires)
    if not ops.supports:  # every operator has weight 0: every model agrees with the data on them
        return jnp.zeros((len(sigmas),), jnp.float32)
    width = max(s.shape[1] for s in each)
    supp = jnp.concatenate(
        [jnp.pad(s, ((0, 0), (0, width - s.shape[1])), constant_values=n_wires) for s in each]
    )
    q_mean, q_sq = terms_fn(state, supp)
    F = mmd.data_sums(data, supp).astype(q_mean.dtype)
    m = data.n_rows.astype(q_mean.dtype)
    terms = q_sq - 2.0 * q_mean * F / m + (F * F - m) / (m * (m - 1.0))
    ends = np.cumsum([s.shape[0] for s in each])[:-1].tolist()
    # Strata of weight 0 are not evaluated; they count in the average with a zero term.
    return jnp.stack([jnp.sum(t) / n_ops for t in jnp.split(terms, ends)])


#: :func:`per_sigma` jit-compiled (``terms_fn`` and the sizes static).
per_sigma_jit = jax.jit(
    per_sigma, static_argnums=(0,), static_argnames=("n_wires", "sigmas", "n_ops")
)


@functools.cache
def exact_terms(expval_fn: Callable) -> Callable:
    """``terms_fn`` for a model with exact expectations ``expval_fn(state, supp)``."""

    def terms(state, supp):
        q = expval_fn(state, supp)
        return q, q * q

    return terms


def sample_terms(samples: mmd.PackedData, supp: jax.Array):
    """``terms_fn`` for a model given by ``N`` samples: mean and U-statistic of the square."""
    n = samples.n_rows.astype(jnp.float32)
    fs = mmd.data_sums(samples, supp)
    return fs / n, (fs * fs - n) / (n * (n - 1.0))


def rng_from(key: jax.Array) -> np.random.Generator:
    """A NumPy generator seeded from a JAX key (no global NumPy state)."""
    return np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())


class MmdBaseline(DensityMixin, BaseEstimator):
    """Shared plumbing: validation, bandwidths, keys, ``mmd`` and ``score``."""

    def check_fitted(self) -> None:
        """Raise ``ValueError`` unless the model is fitted."""
        if not hasattr(self, "n_features_in_"):
            name = type(self).__name__
            raise ValueError(f"this {name} is not fitted yet; call fit(X) first.")

    def _check_X(self, X: Any, name: str = "X", min_rows: int = 2) -> np.ndarray:
        return _checks.check_rows(self, name, X, min_rows=min_rows)

    def _check_common(self) -> None:
        _checks.check_int("n_ops", self.n_ops, minimum=1)
        if isinstance(self.sigma, str):
            if self.sigma != "auto":
                raise ValueError(
                    f"sigma must be 'auto', a float > 0 or a list, got {self.sigma!r}."
                )
        else:
            kernel.as_sigmas(self.sigma)
        _checks.key_from(self.random_state)  # validates

    def _resolve_sigma(self, X: np.ndarray) -> tuple[float, ...]:
        if isinstance(self.sigma, str):
            return tuple(kernel.sigma_heuristic(X))
        return kernel.as_sigmas(self.sigma)

    def _eval_key(self, random_state: Any, tag: int) -> jax.Array:
        if random_state is None:
            random_state = self.random_state if self.random_state is not None else 0
        return jax.random.fold_in(_checks.key_from(random_state), tag)

    def mmd_terms(self, key: jax.Array) -> tuple[Callable, Any]:
        """``(terms_fn, state)`` of the fitted model for :func:`per_sigma` (``key``: for models
        that draw samples). Each baseline implements it."""
        raise NotImplementedError

    def mmd_per_sigma(self, X: Any, sigma: Any = None, *, random_state: Any = None) -> np.ndarray:
        """Unbiased MMD² estimates to ``X``, one per bandwidth (``sigma_`` by default)."""
        self.check_fitted()
        X = self._check_X(X)
        sigmas = self.sigma_ if sigma is None else kernel.as_sigmas(sigma)
        key = self._eval_key(random_state, 1)
        terms_fn, state = self.mmd_terms(jax.random.fold_in(key, 1))
        per = per_sigma_jit(
            terms_fn,
            state,
            mmd.pack_data(X),
            key,
            n_wires=self.n_features_in_,
            sigmas=tuple(sigmas),
            n_ops=int(self.n_ops),
        )
        return np.asarray(per, np.float64)

    def mmd(self, X: Any, sigma: Any = None, *, random_state: Any = None) -> float:
        """Unbiased MMD² estimate to ``X``, averaged over the bandwidths (``sigma_`` by default).

        With the same ``random_state`` and ``n_ops`` the operators are those of
        :meth:`iqpgen.IqpModel.mmd`.
        """
        return float(np.mean(self.mmd_per_sigma(X, sigma, random_state=random_state)))

    def score(self, X: Any, y: Any = None) -> float:
        """``−MMD²`` estimate on ``X`` at ``sigma_``: higher is better."""
        return -self.mmd(X)
