"""A restricted Boltzmann machine baseline (scikit-learn's ``BernoulliRBM``)."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from .. import _checks, mmd
from .common import MmdBaseline, rng_from, sample_terms

__all__ = ["RBM"]


class RBM(MmdBaseline):
    """A restricted Boltzmann machine (scikit-learn's ``BernoulliRBM``) as a generative model.

    Trained by persistent contrastive divergence (scikit-learn). :meth:`sample` runs
    ``burn_in`` sweeps of block Gibbs sampling, ``h ~ p(h|v)`` then ``v ~ p(v|h)``, from
    independent uniformly random visible states, one chain per sample, and returns the last
    visible states. :meth:`mmd` compares ``n_samples`` such samples with the data through the
    same operators as the other models (an unbiased estimate; see the module docstring).

    Args:
        n_components: hidden units; ``None`` means ``min(256, 2·n)`` (``n`` the number of bits).
        learning_rate: scikit-learn's ``learning_rate``.
        batch_size: scikit-learn's ``batch_size``.
        n_iter: training epochs.
        burn_in: Gibbs sweeps per sample.
        sigma: bandwidth(s) for :meth:`mmd` and :meth:`score`, or ``"auto"``.
        n_ops: operators per bandwidth in :meth:`mmd`.
        n_samples: model samples drawn by :meth:`mmd`.
        random_state: int seed, JAX key or None.
        verbose: scikit-learn's progress output.

    Fitted attributes: ``rbm_`` (the ``BernoulliRBM``), ``n_components_``, ``sigma_``,
    ``n_features_in_``.

    Example:
        >>> import numpy as np
        >>> from iqpgen.baselines import RBM
        >>> X = np.random.default_rng(0).integers(0, 2, (100, 6))
        >>> model = RBM(n_iter=2, burn_in=10, random_state=0).fit(X)
        >>> model.n_components_, model.sample(4).shape
        (12, (4, 6))
    """

    def __init__(
        self,
        n_components: int | None = None,
        learning_rate: float = 0.05,
        batch_size: int = 16,
        n_iter: int = 100,
        burn_in: int = 1000,
        sigma: Any = "auto",
        n_ops: int = 1000,
        n_samples: int = 1000,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.burn_in = burn_in
        self.sigma = sigma
        self.n_ops = n_ops
        self.n_samples = n_samples
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X: Any, y: Any = None) -> RBM:
        """Train on the 0/1 matrix ``X`` ``(m, n)``, ``m ≥ 2``; returns ``self``."""
        from sklearn.neural_network import BernoulliRBM

        self._check_common()
        if self.n_components is not None:
            _checks.check_int("n_components", self.n_components, minimum=1)
        _checks.check_number("learning_rate", self.learning_rate, low=0.0)
        _checks.check_int("batch_size", self.batch_size, minimum=1)
        _checks.check_int("n_iter", self.n_iter, minimum=1)
        _checks.check_int("burn_in", self.burn_in, minimum=1)
        _checks.check_int("n_samples", self.n_samples, minimum=2)
        if hasattr(self, "n_features_in_"):
            del self.n_features_in_
        X = self._check_X(X)
        n = X.shape[1]
        k = min(256, 2 * n) if self.n_components is None else int(self.n_components)
        seed = int(
            rng_from(jax.random.fold_in(_checks.key_from(self.random_state), 0)).integers(2**31)
        )
        rbm = BernoulliRBM(
            n_components=k,
            learning_rate=float(self.learning_rate),
            batch_size=int(self.batch_size),
            n_iter=int(self.n_iter),
            verbose=int(bool(self.verbose)),
            random_state=seed,
        )
        rbm.fit(X.astype(np.float64))
        self.rbm_ = rbm
        self.n_components_ = k
        self.sigma_ = self._resolve_sigma(X)
        self.n_features_in_ = n
        return self

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """``(n_samples, n)`` 0/1 samples (uint8): ``burn_in`` Gibbs sweeps from random states."""
        self.check_fitted()
        n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
        rng = rng_from(self._eval_key(random_state, 3))
        W = self.rbm_.components_.astype(np.float32)  # (k, n)
        b_h = self.rbm_.intercept_hidden_.astype(np.float32)
        b_v = self.rbm_.intercept_visible_.astype(np.float32)
        out = np.empty((n_samples, self.n_features_in_), np.uint8)
        chunk = max(1, min(n_samples, (1 << 22) // max(W.shape[0], W.shape[1])))
        for start in range(0, n_samples, chunk):
            size = min(chunk, n_samples - start)
            v = (rng.random((size, W.shape[1]), dtype=np.float32) < 0.5).astype(np.float32)
            for _ in range(int(self.burn_in)):
                p_h = _sigmoid(v @ W.T + b_h)
                h = (rng.random(p_h.shape, dtype=np.float32) < p_h).astype(np.float32)
                p_v = _sigmoid(h @ W + b_v)
                v = (rng.random(p_v.shape, dtype=np.float32) < p_v).astype(np.float32)
            out[start : start + size] = v
        return out

    def mmd_terms(self, key):
        samples = self.sample(int(self.n_samples), random_state=key)
        return sample_terms, mmd.pack_data(samples)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))
