r"""A deep energy-based model baseline: an MLP energy in Flax NNX, trained on the exact
likelihood gradient (small models) or by persistent contrastive divergence, and sampled exactly
or by Metropolis MCMC in JAX (:mod:`iqpgen.baselines.mcmc`).

The model is :math:`p(x) \propto e^{-E_\theta(x)}` on bitstrings, with
:math:`E_\theta(x) = \mathrm{MLP}(s) - h\cdot s` of the spins :math:`s = 2x - 1`: a
multilayer perceptron with ``tanh`` activations and a scalar output (the paper's DeepEBM; its
widths: ``[100]`` for 8 blobs, ``[16, 4, 2]`` for 2D Ising, ``[484]`` for D-Wave) and per-bit
fields :math:`h`. Training starts from independent bits with the data's marginals (the
network's output layer at zero, :math:`h_i = \operatorname{atanh}(2p_i - 1)`) and follows the
gradient of the log-likelihood,

.. math::

    \nabla_\theta \log p(x) = -\nabla_\theta E_\theta(x)
        + \mathbb{E}_{x'\sim p_\theta} \nabla_\theta E_\theta(x'),

with the model expectation over all ``2ⁿ`` rows up to
:data:`~iqpgen.baselines.mcmc.EXACT_MAX_BITS` bits, and beyond over persistent Metropolis
chains that advance a few single-bit flips per update instead of restarting (persistent
contrastive divergence).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from ..exact import all_bitstrings
from . import mcmc
from .energy import EnergyBaseline, log_odds

__all__ = ["DeepEBM"]


@functools.cache
def _energy_class():
    """The Flax NNX module of the MLP energy (defined on first use: importing iqpgen does not
    import Flax; defined once, so the graphs of equal shapes compare equal and compiled steps
    are reused)."""
    from flax import nnx

    class Energy(nnx.Module):
        def __init__(self, n: int, hidden: tuple[int, ...], rngs: nnx.Rngs) -> None:
            sizes = [n, *hidden]
            self.layers = nnx.List(
                [nnx.Linear(a, b, rngs=rngs) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
            )
            # The network's output starts at zero and the fields at zero: a fit sets the
            # fields to the data's, so training starts from independent bits.
            self.out = nnx.Linear(sizes[-1], 1, kernel_init=nnx.initializers.zeros, rngs=rngs)
            self.field = nnx.Param(jnp.zeros((n,)))

        def __call__(self, x: jax.Array) -> jax.Array:
            return self.post(self.pre(x)) - self.linear(x)

        def linear(self, x: jax.Array) -> jax.Array:
            """The fields' term ``h·s`` of spins ``s = 2x − 1`` (enters the energy as ``−h·s``)."""
            return (2.0 * x - 1.0) @ self.field[...]

        def pre(self, x: jax.Array) -> jax.Array:
            """First-layer pre-activations of spins ``2x − 1`` (the energy of a bit pattern,
            centred); linear in the spins, so a flip changes them by one row of the kernel."""
            return self.layers[0](2.0 * x - 1.0)

        def post(self, a: jax.Array) -> jax.Array:
            """The network's part of the energy from first-layer pre-activations ``a``."""
            h = jnp.tanh(a)
            for layer in self.layers[1:]:
                h = jnp.tanh(layer(h))
            return self.out(h)[..., 0]

    return Energy


def _energy_module(n: int, hidden: tuple[int, ...], seed: int, field: np.ndarray):
    """The energy ``E(x) = MLP(s) − h·s`` of spins ``s = 2x − 1``, the network's weights
    initialised from ``seed`` and its output layer at zero, the fields ``h`` given: at the
    start ``E`` is the product distribution with ``⟨s_i⟩ = tanh(h_i)``."""
    from flax import nnx

    module = _energy_class()(n, hidden, nnx.Rngs(seed))
    module.field[...] = jnp.asarray(field, jnp.float32)
    return module


def _metropolis(model, x: jax.Array, key: jax.Array, n_steps: int, beta=1.0) -> jax.Array:
    """``n_steps`` single-bit-flip Metropolis steps at inverse temperature ``beta`` on every row
    of ``x`` (float 0/1).

    The first layer's pre-activations and the fields' term are carried along: flipping bit
    ``i`` of spin ``s_i`` changes them by ``−2 s_i W[i]`` and ``−2 s_i h_i``, so a step costs the
    layers after the first, not a full forward pass (``n`` times cheaper for one hidden layer).
    """
    kernel = model.layers[0].kernel[...]  # (n, H1)
    field = model.field[...]

    def step(carry, k):
        x, a, lin, net = carry
        k_site, k_acc = jax.random.split(k)
        site = jax.random.randint(k_site, (x.shape[0],), 0, x.shape[1])
        spin = 2.0 * jnp.take_along_axis(x, site[:, None], axis=1) - 1.0  # (rows, 1)
        a_y = a - 2.0 * spin * kernel[site]
        lin_y = lin - 2.0 * spin[:, 0] * field[site]
        net_y = model.post(a_y)
        accept = jnp.log(jax.random.uniform(k_acc, lin.shape)) < beta * (
            (net - lin) - (net_y - lin_y)
        )
        rows = jnp.arange(x.shape[0])
        x = x.at[rows, site].set(jnp.where(accept, (1.0 - spin[:, 0]) / 2.0, x[rows, site]))
        a = jnp.where(accept[:, None], a_y, a)
        return (x, a, jnp.where(accept, lin_y, lin), jnp.where(accept, net_y, net)), None

    a0 = model.pre(x)
    carry = (x, a0, model.linear(x), model.post(a0))
    (x, *_), _ = jax.lax.scan(step, carry, jax.random.split(key, n_steps))
    return x


def _global_flip(model, x: jax.Array, key: jax.Array) -> jax.Array:
    """A Metropolis–Hastings proposal ``x → 1 − x`` for every row."""
    accept = jnp.log(jax.random.uniform(key, x.shape[:1])) < model(x) - model(1.0 - x)
    return jnp.where(accept[:, None], 1.0 - x, x)


def _sweep(graphdef, state, x, beta, key):
    """One sweep (``n`` single-bit Metropolis flips) at inverse temperature ``beta``."""
    from flax import nnx

    return _metropolis(nnx.merge(graphdef, state), x, key, x.shape[-1], beta)


def _log_weight(graphdef, state, x, beta):
    from flax import nnx

    return -beta * nnx.merge(graphdef, state)(x)


@functools.lru_cache(maxsize=16)
def _trainer(
    graphdef, learning_rate: float, batch_size: int, mcmc_steps: int, l2: float, exact: bool
):
    """Adam and one compiled chunk of updates, ``(state, opt_state, chains, key, data)``;
    cached per setting, so repeated fits of the same shape reuse the compiled chunk.

    PCD (``exact=False``): ``chains`` are the persistent chains. Exact (``exact=True``):
    ``chains`` is the table of all ``2ⁿ`` rows, and the loss is the batch's exact negative
    log-likelihood ``mean E(x) + log Σ_y e^{−E(y)}``, whose gradient is the exact one."""
    import optax
    from flax import nnx

    optimizer = optax.adam(learning_rate)

    def energy_of(state):
        return lambda x: nnx.merge(graphdef, state)(x)

    def update(carry, key, data):
        state, opt_state, chains = carry
        k_batch, k_mcmc, k_flip = jax.random.split(key, 3)
        batch = data[jax.random.randint(k_batch, (batch_size,), 0, data.shape[0])]
        if not exact:
            model = nnx.merge(graphdef, state)
            chains = _global_flip(model, _metropolis(model, chains, k_mcmc, mcmc_steps), k_flip)

        def loss(st):
            e_data, e_model = energy_of(st)(batch), energy_of(st)(chains)
            # A small penalty on the energies keeps them bounded (and fixes the free constant).
            if exact:
                return e_data.mean() + jax.nn.logsumexp(-e_model) + l2 * (e_data**2).mean()
            # The PCD surrogate.
            return e_data.mean() - e_model.mean() + l2 * ((e_data**2).mean() + (e_model**2).mean())

        value, grads = jax.value_and_grad(loss)(state)
        updates, opt_state = optimizer.update(grads, opt_state, state)
        return (optax.apply_updates(state, updates), opt_state, chains), value

    @functools.partial(jax.jit, static_argnames=("length",))
    def chunk(state, opt_state, chains, key, data, *, length):
        keys = jax.random.split(key, length)
        return jax.lax.scan(lambda c, k: update(c, k, data), (state, opt_state, chains), keys)

    return optimizer, chunk


@functools.partial(jax.jit, static_argnames=("graphdef",))
def _pseudo_likelihood(graphdef, state, x, key):
    """``n · mean_rows log p(x_i | x_−i)`` at one random bit ``i`` per row: an unbiased
    estimate of the mean pseudo-log-likelihood."""
    from flax import nnx

    model = nnx.merge(graphdef, state)
    site = jax.random.randint(key, (x.shape[0],), 0, x.shape[1])
    y = x.at[jnp.arange(x.shape[0]), site].set(1.0 - x[jnp.arange(x.shape[0]), site])
    return x.shape[1] * jnp.mean(-jax.nn.softplus(model(x) - model(y)))


class DeepEBM(EnergyBaseline):
    """An MLP energy-based model (Flax NNX) trained by persistent contrastive divergence.

    **Training.** From independent bits with the training rows' marginals (per-bit fields at
    half their log-odds, the network's output at zero), at most ``n_steps`` Adam updates on
    batches of data rows. Up to
    :data:`~iqpgen.baselines.mcmc.EXACT_MAX_BITS` bits (``training="auto"``) each follows the
    exact log-likelihood gradient, the partition function by enumeration; beyond, persistent
    contrastive divergence: each update advances ``n_chains`` persistent chains by
    ``mcmc_steps`` single-bit Metropolis flips (default five per bit) and one global-flip
    proposal. A fraction ``validation_fraction`` of the rows is
    held out; every ``eval_every`` updates the model is scored on them — the exact mean
    log-likelihood up to :data:`~iqpgen.baselines.mcmc.EXACT_MAX_BITS` bits (the partition
    function by enumeration), an unbiased pseudo-likelihood estimate (one bit per row, fixed key)
    beyond (``selection="likelihood"``), or the MMD² to them of ``n_chains`` persistent chains
    of the model (``selection="mmd"``; ``"auto"``: beyond the enumerable sizes), started at
    random as the sampling chains are and advanced 20 sweeps of them (global flips,
    tempering) before each score; not the PCD chains, which lag the model; exact, without
    chains, where the model is sampled by enumeration. The start is the
    first candidate; the best parameters are kept (``best_step_``, 0 for the start), and
    training stops after ``patience`` evaluations without improvement.

    **Symmetry and sampling** as :class:`~iqpgen.baselines.RBM`: ``symmetry="global_flip"``
    (or ``"auto"`` on flip-symmetric data) trains on the rows and their mirror images and flips
    each sample whole with probability ½; sampling is exact up to
    :data:`~iqpgen.baselines.mcmc.EXACT_MAX_BITS` bits, otherwise chains of ``n``-flip
    Metropolis sweeps with global-flip moves and optional parallel tempering, ``burn_in``
    sweeps (default 200, the paper's ``200·n`` flips), diagnosed by split-R̂ and ESS
    (:meth:`sample_chains`).

    Args:
        hidden: widths of the hidden layers (tanh).
        learning_rate: Adam's step size.
        n_steps: most training updates.
        training: ``"exact"`` (the exact likelihood gradient, the partition function by
            enumeration at every update), ``"pcd"`` (persistent contrastive divergence) or
            ``"auto"``: exact up to :data:`~iqpgen.baselines.mcmc.EXACT_MAX_BITS` bits.
        batch_size: data rows per update.
        n_chains: persistent chains in PCD training and in the held-out MMD²; in sampling,
            chains (default ``n_samples // 10``, see :mod:`~iqpgen.baselines.mcmc`) are set
            by ``sample_chains``' own rule.
        mcmc_steps: Metropolis flips per chain per PCD update; None means ``5·n``.
        eval_every: updates between held-out evaluations (one compiled chunk).
        patience: evaluations without improvement before training stops; ``None`` (default):
            train to the end and keep the best (learning curves have long plateaus before a
            correlation is learned, so stopping early is a choice to make per dataset).
        validation_fraction: rows held out for the choice of step (0: keep the last).
        selection: how the held-out rows score a step: ``"likelihood"`` (exact, or the
            pseudo-likelihood beyond :data:`~iqpgen.baselines.mcmc.EXACT_MAX_BITS` bits),
            ``"mmd"`` (``−MMD²`` at ``sigma`` between the held-out rows and persistent chains
            of the model, exact where it is sampled by enumeration), or ``"auto"``: the exact
            likelihood where
            it is enumerable, MMD² beyond (the pseudo-likelihood does not follow MMD² on data
            with several modes).
        symmetry: ``"auto"``, ``"global_flip"`` or ``None``.
        sampler: ``"auto"``, ``"exact"`` or ``"mcmc"``.
        burn_in, thinning, global_flip, n_temperatures, max_sweeps: the sampling chains'
            (:class:`~iqpgen.baselines.mcmc.McmcSettings`; ``burn_in`` in sweeps of ``n`` flips).
        l2: weight of the energy penalty ``mean(E²)`` (stability).
        sigma, n_ops, n_samples, random_state: as for the other baselines.

    Fitted attributes: ``graphdef_`` and ``state_`` (the Flax NNX split of the energy module at
    the best step), ``loss_`` (the PCD objective per update), ``validation_`` (held-out score
    per evaluation, the start's first, higher is better), ``best_step_``, ``symmetry_``,
    ``sigma_``, ``n_features_in_``.

    Example:
        >>> import numpy as np
        >>> from iqpgen.baselines import DeepEBM
        >>> X = np.random.default_rng(0).integers(0, 2, (100, 6))
        >>> model = DeepEBM(hidden=(8,), n_steps=20, random_state=0).fit(X)
        >>> model.sample(4).shape
        (4, 6)
    """

    def __init__(
        self,
        hidden: Sequence[int] = (100,),
        learning_rate: float = 1e-3,
        n_steps: int = 2000,
        training: str = "auto",
        batch_size: int = 256,
        n_chains: int = 1000,
        mcmc_steps: int | None = None,
        eval_every: int = 250,
        patience: int | None = None,
        validation_fraction: float = 0.1,
        selection: str = "auto",
        symmetry: str | None = "auto",
        sampler: str = "auto",
        burn_in: int = 200,
        thinning: int = 10,
        global_flip: bool = True,
        n_temperatures: int = 1,
        max_sweeps: int | None = None,
        l2: float = 1e-3,
        sigma: Any = "auto",
        n_ops: int = 1000,
        n_samples: int = 1000,
        random_state: Any = None,
    ) -> None:
        self.hidden = hidden
        self.learning_rate = learning_rate
        self.n_steps = n_steps
        self.training = training
        self.batch_size = batch_size
        self.n_chains = n_chains
        self.mcmc_steps = mcmc_steps
        self.eval_every = eval_every
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.selection = selection
        self.symmetry = symmetry
        self.sampler = sampler
        self.burn_in = burn_in
        self.thinning = thinning
        self.global_flip = global_flip
        self.n_temperatures = n_temperatures
        self.max_sweeps = max_sweeps
        self.l2 = l2
        self.sigma = sigma
        self.n_ops = n_ops
        self.n_samples = n_samples
        self.random_state = random_state

    def _settings(self) -> mcmc.McmcSettings:
        return super()._settings()._replace(n_chains=None)

    def _check_hyperparameters(self) -> tuple[int, ...]:
        self._check_common()
        self._check_energy_options()
        hidden = self.hidden
        if isinstance(hidden, int | np.integer) or not isinstance(hidden, Sequence):
            raise TypeError(f"hidden must be a list of layer widths, e.g. (100,), got {hidden!r}.")
        if len(hidden) == 0:
            raise ValueError("hidden is empty; give at least one layer width, e.g. (100,).")
        for w in hidden:
            _checks.check_int("hidden width", w, minimum=1)
        _checks.check_number("learning_rate", self.learning_rate, low=0.0)
        _checks.check_int("n_steps", self.n_steps, minimum=1)
        if not isinstance(self.training, str) or self.training not in ("auto", "exact", "pcd"):
            raise ValueError(
                f"training must be 'auto' (exact up to {mcmc.EXACT_MAX_BITS} bits, PCD beyond), "
                f"'exact' or 'pcd', got {self.training!r}."
            )
        _checks.check_int("batch_size", self.batch_size, minimum=1)
        _checks.check_int("n_chains", self.n_chains, minimum=1)
        _checks.check_int("eval_every", self.eval_every, minimum=1)
        if self.mcmc_steps is not None:
            _checks.check_int("mcmc_steps", self.mcmc_steps, minimum=1)
        _checks.check_number("l2", self.l2, low=0.0, low_open=False)
        _checks.check_int("n_samples", self.n_samples, minimum=2)
        return tuple(int(w) for w in hidden)

    def fit(self, X: Any, y: Any = None) -> DeepEBM:
        """Train on the 0/1 matrix ``X`` ``(m, n)``, ``m ≥ 2``; returns ``self``."""
        from flax import nnx

        hidden = self._check_hyperparameters()
        if hasattr(self, "n_features_in_"):
            del self.n_features_in_
        X = self._check_X(X)
        n = X.shape[1]
        key = _checks.key_from(self.random_state)
        k_init, k_chains, k_train, k_split, k_select = jax.random.split(key, 5)
        train, val = self._training_rows(X, k_split)
        seed = int(jax.random.randint(k_init, (), 0, 2**31 - 1))
        field = 0.5 * log_odds(train)  # spins: ⟨s_i⟩ = tanh(h_i) = 2p_i − 1
        graphdef, state = nnx.split(_energy_module(n, hidden, seed, field))
        mcmc_steps = 5 * n if self.mcmc_steps is None else int(self.mcmc_steps)
        exact = mcmc.use_enumeration(self.training, n, name="training", instead="pcd")
        by_mmd = bool(len(val)) and self._selects_by_mmd(n)
        exact_mmd = by_mmd and self._exact_selection(n)
        by_chains = by_mmd and not exact_mmd
        # Held-out MMD² runs chains of the model's own kind (tempering, global flips), or is
        # exact where the model is sampled by enumeration.
        self._refuse_chain_options(n, used=("global_flip", "n_temperatures") if by_chains else ())
        if exact:
            _checks.refuse_unused(
                self,
                ("n_chains", "mcmc_steps"),
                f"they set the persistent chains of PCD training, and training is exact here "
                f"({n} bits, training={self.training!r}); set training='pcd' to train by chains",
            )
        sigmas = self._resolve_sigma(X)
        optimizer, chunk = _trainer(
            graphdef,
            float(self.learning_rate),
            int(self.batch_size),
            mcmc_steps,
            float(self.l2),
            exact,
        )
        opt_state = optimizer.init(state)
        if exact:
            chains = jnp.asarray(all_bitstrings(n), jnp.float32)
        else:
            # Exact draws of the starting model (independent bits).
            p_one = jax.nn.sigmoid(2.0 * jnp.asarray(field, jnp.float32))
            chains = jax.random.bernoulli(k_chains, p_one, (int(self.n_chains), n))
            chains = chains.astype(jnp.float32)
        data = jnp.asarray(train, jnp.float32)
        val = jnp.asarray(val, jnp.float32)
        k_val = jax.random.fold_in(k_split, 1)
        val_rows = np.asarray(val)
        if by_chains:
            parts = (_sweep, _log_weight, graphdef)
            selection, advance = self._selection_chains(parts, n, k_select, self.n_chains)

        def heldout(state, done: int) -> float:
            nonlocal selection
            if not by_mmd:
                return self._heldout_score(graphdef, state, val, k_val)
            if exact_mmd:
                return self._exact_mmd_score((_log_weight, graphdef, state), val_rows, sigmas)
            selection = advance(state, selection, key=jax.random.fold_in(k_select, done))
            return self._mmd_score(np.asarray(selection[0]), val_rows, sigmas)

        # The start (independent bits) is the first candidate.
        losses, scores = [], [heldout(state, 0)] if val.shape[0] else []
        best, best_score, best_step, since = state, (scores or [-np.inf])[0], 0, 0
        done, total = 0, int(self.n_steps)
        while done < total:  # compiled chunks of eval_every updates
            length = min(int(self.eval_every), total - done)
            (state, opt_state, chains), values = chunk(
                state, opt_state, chains, jax.random.fold_in(k_train, done), data, length=length
            )
            losses.append(np.asarray(values))
            done += length
            if not np.isfinite(losses[-1]).all():
                raise FloatingPointError("DeepEBM training diverged; lower learning_rate.")
            if val.shape[0]:
                score = heldout(state, done)
                scores.append(score)
                if score > best_score:
                    best, best_score, best_step, since = state, score, done, 0
                else:
                    since += 1
                    if self.patience is not None and since >= int(self.patience):
                        break
        self.graphdef_ = graphdef
        self.state_ = best if val.shape[0] else state
        self.best_step_ = best_step if val.shape[0] else done
        self.loss_ = np.concatenate(losses)
        self.validation_ = np.asarray(scores, np.float64)
        self.sigma_ = sigmas
        self.n_features_in_ = n
        return self

    @staticmethod
    def _heldout_score(graphdef, state, val: jax.Array, key: jax.Array) -> float:
        if val.shape[1] <= mcmc.EXACT_MAX_BITS:
            return mcmc.mean_log_prob(_log_weight, graphdef, state, val)
        return float(_pseudo_likelihood(graphdef, state, val, key))

    def _chain_parts(self):
        return _sweep, _log_weight, self.graphdef_, self.state_

    def energy(self, X: Any) -> np.ndarray:
        """``E(x)`` for each row of the 0/1 matrix ``X`` (lower is more probable; for a
        flip-symmetric model ``−log(½(e^{−E(x)} + e^{−E(1−x)}))``, the model it samples)."""
        from flax import nnx

        self.check_fitted()
        X = self._check_X(X, min_rows=1)
        model = nnx.merge(self.graphdef_, self.state_)
        e = np.asarray(model(jnp.asarray(X, jnp.float32)), np.float64)
        if self.symmetry_ == "global_flip":
            e_mirror = np.asarray(model(jnp.asarray(1 - X, jnp.float32)), np.float64)
            e = -np.logaddexp(-e, -e_mirror) + np.log(2.0)
        return e
