r"""A restricted Boltzmann machine baseline: scikit-learn's ``BernoulliRBM`` trained to
convergence on held-out rows, sampled by chains that mix (or exactly, for small models).

The RBM is :math:`p(v, h) \propto e^{b\cdot v + c\cdot h + h^\top W v}`; its visible units
have the free energy :math:`F(v) = -b\cdot v - \sum_j \mathrm{softplus}(c_j + W_j v)` and, at
inverse temperature :math:`\beta`, :math:`p_\beta(v) \propto e^{\beta b\cdot v}
\prod_j (1 + e^{\beta(c_j + W_j v)})`, the marginal of block Gibbs sampling at that
temperature (what parallel tempering runs on its hot rungs).
"""

from __future__ import annotations

import copy
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from . import mcmc
from .common import rng_from
from .energy import EnergyBaseline, log_odds

__all__ = ["RBM"]


def _log_weight(static, params, x, beta):
    W, b_v, b_h = params
    return beta * (x @ b_v) + jnp.sum(jax.nn.softplus(beta * (x @ W.T + b_h)), axis=-1)


def _gibbs(static, params, x, beta, key):
    """One block Gibbs sweep ``h ~ p_β(h|v)``, ``v ~ p_β(v|h)``."""
    W, b_v, b_h = params
    k_h, k_v = jax.random.split(key)
    h = jax.random.bernoulli(k_h, jax.nn.sigmoid(beta * (x @ W.T + b_h))).astype(x.dtype)
    return jax.random.bernoulli(k_v, jax.nn.sigmoid(beta * (h @ W + b_v))).astype(x.dtype)


class RBM(EnergyBaseline):
    """A restricted Boltzmann machine (scikit-learn's ``BernoulliRBM``) as a generative model.

    **Training.** scikit-learn's persistent contrastive divergence, one ``partial_fit`` per
    mini-batch, for at most ``n_iter`` epochs. A fraction ``validation_fraction`` of the rows is
    held out; every ``eval_every`` epochs the model is scored on them — the exact mean
    log-likelihood up to :data:`~iqpgen.baselines.mcmc.EXACT_MAX_BITS` bits (the partition
    function by enumeration), scikit-learn's pseudo-likelihood (one flipped bit per row, fixed
    seed) beyond (``selection="likelihood"``), or the MMD² of persistent chains to them
    (``selection="mmd"``; ``"auto"``: beyond the enumerable sizes; ``n_chains`` chains, 1,000
    by default, started at random as the sampling chains are and advanced 20 sweeps before
    each score; exact, without chains, where the model is sampled by enumeration) — and the
    best parameters are kept (``best_epoch_``). The visible biases
    start at the training rows' log-odds (nearly independent bits, the weights being
    N(0, 0.01)), and the start is the first candidate. Training stops after ``patience``
    evaluations without improvement.

    **Symmetry.** With ``symmetry="global_flip"`` (or ``"auto"`` on flip-symmetric data, see
    :mod:`iqpgen.symmetry`) the model is ``½(p(x) + p(1 − x))``: trained on the rows and their
    mirror images, each sample flipped whole with probability ½.

    **Sampling.** Exact up to :data:`~iqpgen.baselines.mcmc.EXACT_MAX_BITS` bits (``sampler=
    "auto"``); otherwise :mod:`iqpgen.baselines.mcmc`: ``n_chains`` chains of block Gibbs
    sweeps from uniformly random states with global-flip moves on the free energy and, with
    ``n_temperatures > 1``, parallel tempering; ``burn_in`` sweeps, then a draw every
    ``thinning`` sweeps, with split-R̂ and ESS of the free energy and magnetisation
    (:meth:`sample_chains`); chains that have not converged run on, then warn.

    Args:
        n_components: hidden units; ``None`` means ``min(256, 2·n)`` (``n`` the number of bits).
        learning_rate: scikit-learn's ``learning_rate``.
        batch_size: scikit-learn's ``batch_size``.
        n_iter: most training epochs.
        eval_every: epochs between held-out evaluations.
        patience: evaluations without improvement before training stops; ``None`` (default):
            train to the end and keep the best (learning curves have long plateaus before a
            correlation is learned, so stopping early is a choice to make per dataset).
        validation_fraction: rows held out for the choice of epoch (0: keep the last epoch).
        selection: how the held-out rows score an epoch: ``"likelihood"`` (exact, or the
            pseudo-likelihood beyond :data:`~iqpgen.baselines.mcmc.EXACT_MAX_BITS` bits),
            ``"mmd"`` (``−MMD²`` at ``sigma`` between the held-out rows and persistent block
            Gibbs chains, 1,000 or ``n_chains``, advanced 20 sweeps at each evaluation with the
            sampling chains' global flips and ``n_temperatures`` rungs of tempering; exact where
            the model is sampled by enumeration), or
            ``"auto"``: the exact likelihood where it is enumerable, MMD² beyond.
        symmetry: ``"auto"``, ``"global_flip"`` or ``None`` (see above).
        sampler: ``"auto"``, ``"exact"`` or ``"mcmc"``.
        burn_in, thinning, n_chains, global_flip, n_temperatures, max_sweeps: the chains'
            (:class:`~iqpgen.baselines.mcmc.McmcSettings`).
        sigma: bandwidth(s) for :meth:`mmd` and :meth:`score`, or ``"auto"``.
        n_ops: operators per bandwidth in :meth:`mmd`.
        n_samples: model samples drawn by :meth:`mmd`.
        random_state: int seed, JAX key or None.
        verbose: scikit-learn's progress output.

    Fitted attributes: ``rbm_`` (the ``BernoulliRBM`` at the best epoch), ``n_components_``,
    ``symmetry_``, ``best_epoch_`` (0: the start), ``n_epochs_``, ``validation_`` (the held-out
    score at the start and at each evaluation, higher is better), ``sigma_``,
    ``n_features_in_``.

    Example:
        >>> import numpy as np
        >>> from iqpgen.baselines import RBM
        >>> X = np.random.default_rng(0).integers(0, 2, (100, 6))
        >>> model = RBM(n_iter=2, random_state=0).fit(X)
        >>> model.n_components_, model.symmetry_, model.sample(4).shape
        (12, 'global_flip', (4, 6))
    """

    def __init__(
        self,
        n_components: int | None = None,
        learning_rate: float = 0.05,
        batch_size: int = 16,
        n_iter: int = 100,
        eval_every: int = 1,
        patience: int | None = None,
        validation_fraction: float = 0.1,
        selection: str = "auto",
        symmetry: str | None = "auto",
        sampler: str = "auto",
        burn_in: int = 1000,
        thinning: int = 10,
        n_chains: int | None = None,
        global_flip: bool = True,
        n_temperatures: int = 1,
        max_sweeps: int | None = None,
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
        self.eval_every = eval_every
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.selection = selection
        self.symmetry = symmetry
        self.sampler = sampler
        self.burn_in = burn_in
        self.thinning = thinning
        self.n_chains = n_chains
        self.global_flip = global_flip
        self.n_temperatures = n_temperatures
        self.max_sweeps = max_sweeps
        self.sigma = sigma
        self.n_ops = n_ops
        self.n_samples = n_samples
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X: Any, y: Any = None) -> RBM:
        """Train on the 0/1 matrix ``X`` ``(m, n)``, ``m ≥ 2``; returns ``self``."""
        from sklearn.neural_network import BernoulliRBM

        self._check_common()
        self._check_energy_options()
        if self.n_components is not None:
            _checks.check_int("n_components", self.n_components, minimum=1)
        _checks.check_number("learning_rate", self.learning_rate, low=0.0)
        _checks.check_int("batch_size", self.batch_size, minimum=1)
        _checks.check_int("n_iter", self.n_iter, minimum=1)
        _checks.check_int("eval_every", self.eval_every, minimum=1)
        _checks.check_int("n_samples", self.n_samples, minimum=2)
        if hasattr(self, "n_features_in_"):
            del self.n_features_in_
        X = self._check_X(X)
        n = X.shape[1]
        k = min(256, 2 * n) if self.n_components is None else int(self.n_components)
        key = jax.random.fold_in(_checks.key_from(self.random_state), 0)
        k_split, k_seed = jax.random.split(key)
        train, val = self._training_rows(X, k_split)
        rng = rng_from(k_seed)
        seed, batch = int(rng.integers(2**31)), int(self.batch_size)
        rbm = BernoulliRBM(
            n_components=k,
            learning_rate=float(self.learning_rate),
            batch_size=batch,
            n_iter=1,
            verbose=int(bool(self.verbose)),
            random_state=seed,
        )
        # The start, as scikit-learn's first update makes it (weights N(0, 0.01) from its own
        # random stream, which training continues; it keeps the attributes it finds set) but
        # for the visible biases, at the data's log-odds: nearly independent bits.
        rbm.random_state_ = np.random.RandomState(seed)
        rbm.components_ = np.asarray(rbm.random_state_.normal(0, 0.01, (k, n)), order="F")
        rbm.intercept_hidden_ = np.zeros(k)
        rbm.intercept_visible_ = log_odds(train)
        rbm.h_samples_ = np.zeros((batch, k))
        rbm.n_features_in_ = n
        sigmas = self._resolve_sigma(X)
        by_mmd = bool(len(val)) and self._selects_by_mmd(n)
        exact_mmd = by_mmd and self._exact_selection(n)
        by_chains = by_mmd and not exact_mmd
        # Held-out MMD² runs chains of the model's own kind (tempering, global flips), or is
        # exact where the model is sampled by enumeration.
        selection_options = ("n_chains", "global_flip", "n_temperatures")
        self._refuse_chain_options(n, ("n_chains",), used=selection_options if by_chains else ())
        if by_chains:
            parts = (_gibbs, _log_weight, None)
            chains, advance = self._selection_chains(parts, n, jax.random.fold_in(key, 1))
        train = train.astype(np.float64)
        val = val.astype(np.float64)

        def heldout(epoch: int) -> float:
            nonlocal chains
            if not by_mmd:
                return self._heldout_score(rbm, val, n)
            if exact_mmd:
                return self._exact_mmd_score((_log_weight, None, _params_of(rbm)), val, sigmas)
            chains = advance(_params_of(rbm), chains, key=jax.random.fold_in(key, 2 + epoch))
            return self._mmd_score(np.asarray(chains[0]), val, sigmas)

        # The start is the first candidate.
        scores = [heldout(0)] if len(val) else []
        best, best_score, best_epoch, since = copy.deepcopy(rbm), (scores or [-np.inf])[0], 0, 0
        epoch = 0
        for epoch in range(1, int(self.n_iter) + 1):
            order = rng.permutation(len(train))
            for start in range(0, len(train), batch):
                rbm.partial_fit(train[order[start : start + batch]])
            if len(val) and (epoch % int(self.eval_every) == 0 or epoch == int(self.n_iter)):
                score = heldout(epoch)
                scores.append(score)
                if score > best_score:
                    best, best_score, best_epoch, since = copy.deepcopy(rbm), score, epoch, 0
                else:
                    since += 1
                    if self.patience is not None and since >= int(self.patience):
                        break
        self.rbm_ = best if len(val) else rbm
        self.best_epoch_ = best_epoch if len(val) else epoch
        self.n_epochs_ = epoch
        self.validation_ = np.asarray(scores, np.float64)
        self.n_components_ = k
        self.sigma_ = sigmas
        self.n_features_in_ = n
        return self

    @staticmethod
    def _heldout_score(rbm, val: np.ndarray, n: int) -> float:
        """Mean held-out log-likelihood (exact, small ``n``) or pseudo-likelihood."""
        params = _params_of(rbm)
        if n <= mcmc.EXACT_MAX_BITS:
            return mcmc.mean_log_prob(_log_weight, None, params, val)
        return float(np.mean(rbm.score_samples(val)))  # an int seed: the same flipped bits

    def _chain_parts(self):
        return _gibbs, _log_weight, None, _params_of(self.rbm_)


def _params_of(rbm) -> tuple[jax.Array, jax.Array, jax.Array]:
    return (
        jnp.asarray(rbm.components_, jnp.float32),
        jnp.asarray(rbm.intercept_visible_, jnp.float32),
        jnp.asarray(rbm.intercept_hidden_, jnp.float32),
    )
