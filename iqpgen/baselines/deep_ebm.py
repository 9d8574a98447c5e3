r"""A deep energy-based model baseline: an MLP energy in Flax NNX, trained by persistent
contrastive divergence and sampled by Metropolis MCMC in JAX.

The model is :math:`p(x) \propto e^{-E_\theta(x)}` on bitstrings, with
:math:`E_\theta` a multilayer perceptron with ``tanh`` activations and a scalar output (the
paper's DeepEBM; its widths: ``[100]`` for 8 blobs, ``[16, 4, 2]`` for 2D Ising, ``[484]`` for
D-Wave). Persistent contrastive divergence follows the gradient of the log-likelihood,

.. math::

    \nabla_\theta \log p(x) = -\nabla_\theta E_\theta(x)
        + \mathbb{E}_{x'\sim p_\theta} \nabla_\theta E_\theta(x'),

with the model expectation over persistent Metropolis chains that advance a few single-bit
flips per update instead of restarting.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks, mmd
from .common import MmdBaseline, sample_terms

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
            self.out = nnx.Linear(sizes[-1], 1, rngs=rngs)

        def __call__(self, x: jax.Array) -> jax.Array:
            return self.post(self.pre(x))

        def pre(self, x: jax.Array) -> jax.Array:
            """First-layer pre-activations of spins ``2x − 1`` (the energy of a bit pattern,
            centred); linear in the spins, so a flip changes them by one row of the kernel."""
            return self.layers[0](2.0 * x - 1.0)

        def post(self, a: jax.Array) -> jax.Array:
            """The energy from first-layer pre-activations ``a``."""
            h = jnp.tanh(a)
            for layer in self.layers[1:]:
                h = jnp.tanh(layer(h))
            return self.out(h)[..., 0]

    return Energy


def _energy_module(n: int, hidden: tuple[int, ...], seed: int):
    """The MLP energy ``x ↦ E(x)`` with weights initialised from ``seed``."""
    from flax import nnx

    return _energy_class()(n, hidden, nnx.Rngs(seed))


def _metropolis(model, x: jax.Array, key: jax.Array, n_steps: int) -> jax.Array:
    """``n_steps`` single-bit-flip Metropolis steps on every row of ``x`` (float 0/1).

    The first layer's pre-activations are carried along: flipping bit ``i`` of spin ``s_i``
    changes them by ``−2 s_i W[i]``, so a step costs the layers after the first, not a full
    forward pass (``n`` times cheaper for one hidden layer).
    """
    kernel = model.layers[0].kernel[...]  # (n, H1)

    def step(carry, k):
        x, a, e = carry
        k_site, k_acc = jax.random.split(k)
        site = jax.random.randint(k_site, (x.shape[0],), 0, x.shape[1])
        bit = jnp.take_along_axis(x, site[:, None], axis=1)  # (rows, 1)
        a_y = a - 2.0 * (2.0 * bit - 1.0) * kernel[site]
        e_y = model.post(a_y)
        accept = jnp.log(jax.random.uniform(k_acc, e.shape)) < e - e_y
        rows = jnp.arange(x.shape[0])
        x = x.at[rows, site].set(jnp.where(accept, 1.0 - bit[:, 0], bit[:, 0]))
        return (x, jnp.where(accept[:, None], a_y, a), jnp.where(accept, e_y, e)), None

    a0 = model.pre(x)
    (x, _, _), _ = jax.lax.scan(step, (x, a0, model.post(a0)), jax.random.split(key, n_steps))
    return x


@functools.lru_cache(maxsize=16)
def _trainer(graphdef, learning_rate: float, batch_size: int, mcmc_steps: int, l2: float):
    """Adam and one compiled chunk of PCD updates, ``(state, opt_state, chains, key, data)``;
    cached per setting, so repeated fits of the same shape reuse the compiled chunk."""
    import optax
    from flax import nnx

    optimizer = optax.adam(learning_rate)

    def energy_of(state):
        return lambda x: nnx.merge(graphdef, state)(x)

    def update(carry, key, data):
        state, opt_state, chains = carry
        k_batch, k_mcmc = jax.random.split(key)
        batch = data[jax.random.randint(k_batch, (batch_size,), 0, data.shape[0])]
        chains = _metropolis(nnx.merge(graphdef, state), chains, k_mcmc, mcmc_steps)

        def loss(st):
            e_data, e_model = energy_of(st)(batch), energy_of(st)(chains)
            # The PCD surrogate, plus a small penalty that keeps the energies bounded.
            return e_data.mean() - e_model.mean() + l2 * ((e_data**2).mean() + (e_model**2).mean())

        value, grads = jax.value_and_grad(loss)(state)
        updates, opt_state = optimizer.update(grads, opt_state, state)
        return (optax.apply_updates(state, updates), opt_state, chains), value

    @functools.partial(jax.jit, static_argnames=("length",))
    def chunk(state, opt_state, chains, key, data, *, length):
        keys = jax.random.split(key, length)
        return jax.lax.scan(lambda c, k: update(c, k, data), (state, opt_state, chains), keys)

    return optimizer, chunk


@functools.partial(jax.jit, static_argnames=("graphdef", "n_steps"))
def _sample_jit(graphdef, state, key, x0, *, n_steps):
    from flax import nnx

    return _metropolis(nnx.merge(graphdef, state), x0, key, n_steps)


class DeepEBM(MmdBaseline):
    """An MLP energy-based model (Flax NNX) trained by persistent contrastive divergence.

    Training runs ``n_steps`` Adam updates; each draws a batch of data rows and advances
    ``n_chains`` persistent chains by ``mcmc_steps`` single-bit Metropolis flips (default five
    per bit: with fewer, chains cross slowly between states that differ in correlated bits,
    and the model's marginals come out biased). :meth:`sample` runs ``burn_in`` flips (default
    ``200·n``, the paper's) from uniformly random states, one chain per sample. :meth:`mmd`
    compares ``n_samples`` such samples with the data through the operators of the other
    models (unbiased).

    Args:
        hidden: widths of the hidden layers (tanh).
        learning_rate: Adam's step size.
        n_steps: training updates.
        batch_size: data rows per update.
        n_chains: persistent chains.
        mcmc_steps: Metropolis flips per chain per update; None means ``5·n``.
        burn_in: Metropolis flips per sample in :meth:`sample`; None means ``200·n``.
        l2: weight of the energy penalty ``mean(E²)`` (stability).
        sigma, n_ops, n_samples, random_state: as for the other baselines.

    Fitted attributes: ``graphdef_`` and ``state_`` (the Flax NNX split of the energy module),
    ``loss_`` (the PCD objective per update), ``sigma_``, ``n_features_in_``.

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
        batch_size: int = 256,
        n_chains: int = 1000,
        mcmc_steps: int | None = None,
        burn_in: int | None = None,
        l2: float = 1e-3,
        sigma: Any = "auto",
        n_ops: int = 1000,
        n_samples: int = 1000,
        random_state: Any = None,
    ) -> None:
        self.hidden = hidden
        self.learning_rate = learning_rate
        self.n_steps = n_steps
        self.batch_size = batch_size
        self.n_chains = n_chains
        self.mcmc_steps = mcmc_steps
        self.burn_in = burn_in
        self.l2 = l2
        self.sigma = sigma
        self.n_ops = n_ops
        self.n_samples = n_samples
        self.random_state = random_state

    def _check_hyperparameters(self) -> tuple[int, ...]:
        self._check_common()
        hidden = self.hidden
        if isinstance(hidden, int | np.integer) or not isinstance(hidden, Sequence):
            raise TypeError(f"hidden must be a list of layer widths, e.g. (100,), got {hidden!r}.")
        if len(hidden) == 0:
            raise ValueError("hidden is empty; give at least one layer width, e.g. (100,).")
        for w in hidden:
            _checks.check_int("hidden width", w, minimum=1)
        _checks.check_number("learning_rate", self.learning_rate, low=0.0)
        _checks.check_int("n_steps", self.n_steps, minimum=1)
        _checks.check_int("batch_size", self.batch_size, minimum=1)
        _checks.check_int("n_chains", self.n_chains, minimum=1)
        for name in ("mcmc_steps", "burn_in"):
            if getattr(self, name) is not None:
                _checks.check_int(name, getattr(self, name), minimum=1)
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
        k_init, k_chains, k_train = jax.random.split(key, 3)
        seed = int(jax.random.randint(k_init, (), 0, 2**31 - 1))
        graphdef, state = nnx.split(_energy_module(n, hidden, seed))
        mcmc_steps = 5 * n if self.mcmc_steps is None else int(self.mcmc_steps)
        optimizer, chunk = _trainer(
            graphdef, float(self.learning_rate), int(self.batch_size), mcmc_steps, float(self.l2)
        )
        opt_state = optimizer.init(state)
        chains = jax.random.bernoulli(k_chains, 0.5, (int(self.n_chains), n)).astype(jnp.float32)
        data = jnp.asarray(X, jnp.float32)
        losses = []
        done, total = 0, int(self.n_steps)
        while done < total:  # compiled chunks of at most 500 updates
            length = min(500, total - done)
            (state, opt_state, chains), values = chunk(
                state, opt_state, chains, jax.random.fold_in(k_train, done), data, length=length
            )
            losses.append(np.asarray(values))
            done += length
        loss = np.concatenate(losses)
        if not np.isfinite(loss).all():
            raise FloatingPointError("DeepEBM training diverged; lower learning_rate.")
        self.graphdef_, self.state_ = graphdef, state
        self.loss_ = loss
        self.sigma_ = self._resolve_sigma(X)
        self.n_features_in_ = n
        return self

    def energy(self, X: Any) -> np.ndarray:
        """``E(x)`` for each row of the 0/1 matrix ``X`` (lower is more probable)."""
        from flax import nnx

        self.check_fitted()
        X = self._check_X(X, min_rows=1)
        model = nnx.merge(self.graphdef_, self.state_)
        return np.asarray(model(jnp.asarray(X, jnp.float32)), np.float64)

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """``(n_samples, n)`` 0/1 samples (uint8): ``burn_in`` Metropolis flips per chain
        from uniformly random states."""
        self.check_fitted()
        n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
        n = self.n_features_in_
        k0, k1 = jax.random.split(self._eval_key(random_state, 3))
        x0 = jax.random.bernoulli(k0, 0.5, (n_samples, n)).astype(jnp.float32)
        steps = 200 * n if self.burn_in is None else int(self.burn_in)
        x = _sample_jit(self.graphdef_, self.state_, k1, x0, n_steps=steps)
        return np.asarray(x, np.uint8)

    def mmd_terms(self, key):
        samples = self.sample(int(self.n_samples), random_state=key)
        return sample_terms, mmd.pack_data(samples)
