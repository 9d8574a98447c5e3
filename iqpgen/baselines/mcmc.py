r"""Sampling the energy-based baselines (RBM, DeepEBM): chains that cross barriers, with
convergence diagnostics, and exact sampling by enumeration for small models.

A model gives two functions of its parameters, both compiled into one loop:

* ``log_weight(static, params, x, beta)``: the unnormalised log-probability of 0/1 rows ``x`` at
  inverse temperature ``beta`` (for an energy model ``−β E(x)``; for an RBM ``−β F_β(x)`` with
  ``F_β`` the free energy of the visible units at that temperature);
* ``local(static, params, x, beta, key)``: one sweep of a move that leaves ``exp(log_weight)``
  invariant (block Gibbs for an RBM, ``n`` single-bit Metropolis flips for an energy model).

:func:`run_chains` starts ``n_chains`` chains from uniformly random rows and after every sweep
adds two Metropolis–Hastings moves that local moves cannot make:

* a **global flip** ``x → 1 − x``, accepted with ``min(1, p(1 − x)/p(x))``: it crosses, in one
  step, the barrier between the two halves of a (nearly) flip-symmetric distribution, where
  local moves would have to pass through every state of high energy in between;
* **parallel tempering**: with ``n_temperatures = R > 1`` each chain is a ladder of ``R``
  replicas at ``β_k = β_min^{k/(R−1)}`` that attempt swaps of neighbouring rungs (even and odd
  pairs in turn); the hot rungs cross barriers of any shape and pass their states down.

Both moves keep the target distribution exactly. After ``burn_in`` sweeps every chain keeps a
draw every ``thinning`` sweeps; the kept draws of the ``β = 1`` rung are the samples, and their
free energy and magnetisation give split-R̂ and ESS across chains
(:func:`iqpgen.datasets.series_diagnostics`). While R̂ is above its target the chains run on
from where they are, as :func:`iqpgen.datasets.sample_ising` does, up to ``max_sweeps``; then a
:class:`~iqpgen.datasets.ConvergenceWarning` gives the numbers.

Models of at most :data:`EXACT_MAX_BITS` bits are sampled exactly instead
(:func:`enumerate_log_weights`: the log-probability of all ``2ⁿ`` rows), unless MCMC is asked for.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from ..datasets import convergence
from ..datasets.convergence import RHAT_TARGET, series_diagnostics, warn_unconverged
from ..exact import all_bitstrings

__all__ = [
    "EXACT_MAX_BITS",
    "SAMPLERS",
    "McmcSettings",
    "Chains",
    "run_chains",
    "ladder",
    "advance",
    "enumerate_log_weights",
    "sample_exact",
    "mean_log_prob",
    "check_sampler",
    "check_settings",
    "use_enumeration",
]

#: Models with at most this many bits are sampled exactly by enumeration (``sampler="auto"``).
EXACT_MAX_BITS = 16
#: The values of the baselines' ``sampler=`` option.
SAMPLERS = ("auto", "exact", "mcmc")


class McmcSettings(NamedTuple):
    """How a model's chains run (see the module)."""

    burn_in: int  # sweeps before the first kept draw
    thinning: int = 10  # sweeps between kept draws of one chain
    n_chains: int | None = None  # default: n_samples // 10, between 2 and 1,000
    global_flip: bool = True
    n_temperatures: int = 1
    min_beta: float = 0.3  # coldest rung β = 1, hottest β_min
    rhat_target: float | None = RHAT_TARGET
    max_sweeps: int | None = None  # default: 16 times the first run's sweeps


class Chains(NamedTuple):
    """Samples and how they were drawn."""

    samples: np.ndarray  # (n_samples, n) uint8
    convergence: convergence.Convergence | None  # None for exact samples
    flip_rate: float  # acceptance of the global flip at β = 1 (nan when off)
    swap_rate: float  # mean acceptance of the tempering swaps (nan without tempering)


def check_sampler(sampler: Any) -> str:
    """Validate a ``sampler=`` value (one of :data:`SAMPLERS`)."""
    if not isinstance(sampler, str) or sampler not in SAMPLERS:
        raise ValueError(
            f"sampler must be 'auto' (exact up to {EXACT_MAX_BITS} bits, MCMC beyond), 'exact' "
            f"or 'mcmc', got {sampler!r}."
        )
    return sampler


def use_enumeration(option: str, n: int, *, name: str, instead: str) -> bool:
    """Whether a model of ``n`` bits enumerates its ``2ⁿ`` rows for ``name=option`` (``"auto"``:
    up to :data:`EXACT_MAX_BITS` bits; ``"exact"``: up to 4 more, else a ``ValueError``)."""
    if option == "exact":
        if n > EXACT_MAX_BITS + 4:
            raise ValueError(
                f"{name}='exact' enumerates 2^n rows; n = {n} is too large (at most "
                f"{EXACT_MAX_BITS + 4}); use {name}='{instead}'."
            )
        return True
    return option == "auto" and n <= EXACT_MAX_BITS


def check_settings(s: McmcSettings) -> McmcSettings:
    """Validate the settings (argument names as the models spell them)."""
    _checks.check_int("burn_in", s.burn_in, minimum=1)
    _checks.check_int("thinning", s.thinning, minimum=1)
    if s.n_chains is not None:
        _checks.check_int("n_chains", s.n_chains, minimum=2)
    if not isinstance(s.global_flip, bool | np.bool_):
        raise TypeError(f"global_flip must be True or False, got {s.global_flip!r}.")
    _checks.check_int("n_temperatures", s.n_temperatures, minimum=1)
    _checks.check_number("min_beta", s.min_beta, low=0.0, high=1.0)
    if s.rhat_target is not None:
        _checks.check_number("rhat_target", s.rhat_target, low=1.0)
    if s.max_sweeps is not None:
        _checks.check_int("max_sweeps", s.max_sweeps, minimum=1)
    return s


def _sweep(local, log_weight, static, params, x, betas, key, *, global_flip, parity):
    """One sweep of every rung, then a global-flip proposal and tempering swaps. ``x`` is
    ``(R, C, n)``; returns the new ``x`` and the acceptance indicators."""
    n_rungs = x.shape[0]
    k_local, k_flip, k_swap = jax.random.split(key, 3)
    x = jax.vmap(lambda xr, b, k: local(static, params, xr, b, k))(
        x, betas, jax.random.split(k_local, n_rungs)
    )
    lw = jax.vmap(lambda xr, b: log_weight(static, params, xr, b))
    flipped = jnp.zeros(x.shape[1], x.dtype)
    if global_flip:
        log_ratio = lw(1.0 - x, betas) - lw(x, betas)
        accept = jnp.log(jax.random.uniform(k_flip, log_ratio.shape)) < log_ratio
        x = jnp.where(accept[..., None], 1.0 - x, x)
        flipped = accept[0].astype(x.dtype)
    swapped = jnp.zeros((max(n_rungs - 1, 1), x.shape[1]), x.dtype)
    if n_rungs > 1:
        lo, hi = x[:-1], x[1:]
        b_lo, b_hi = betas[:-1], betas[1:]
        log_ratio = lw(hi, b_lo) + lw(lo, b_hi) - lw(lo, b_lo) - lw(hi, b_hi)  # (R - 1, C)
        pair = (jnp.arange(n_rungs - 1) % 2 == parity)[:, None]
        accept = pair & (jnp.log(jax.random.uniform(k_swap, log_ratio.shape)) < log_ratio)
        down = jnp.concatenate([accept, jnp.zeros_like(accept[:1])])[..., None]  # r takes r+1
        up = jnp.concatenate([jnp.zeros_like(accept[:1]), accept])[..., None]  # r takes r-1
        x_next = jnp.concatenate([x[1:], x[-1:]])
        x_prev = jnp.concatenate([x[:1], x[:-1]])
        x = jnp.where(down, x_next, jnp.where(up, x_prev, x))
        swapped = jnp.where(pair, accept.astype(x.dtype), jnp.nan)
    return x, flipped, swapped


def ladder(settings: McmcSettings) -> jax.Array:
    """Inverse temperatures of the rungs, ``1`` down to ``min_beta`` geometrically."""
    n_rungs = int(settings.n_temperatures)
    return jnp.asarray(settings.min_beta ** (np.arange(n_rungs) / max(n_rungs - 1, 1)), jnp.float32)


@functools.partial(jax.jit, static_argnums=(0, 1, 2), static_argnames=("sweeps", "global_flip"))
def advance(local, log_weight, static, params, x, betas, key, *, sweeps, global_flip):
    """``sweeps`` sweeps of the chains ``x`` ``(rungs, chains, n)`` at inverse temperatures
    ``betas`` (:func:`ladder`): local moves on every rung, the global-flip proposal and swaps
    between rungs, as in :func:`run_chains`; for chains that persist between calls (the held-out
    MMD² of :mod:`.rbm`). Returns the new ``x``."""

    def one(carry, k):
        x, count = carry
        x, _, _ = _sweep(
            local, log_weight, static, params, x, betas, k, global_flip=global_flip,
            parity=count % 2,
        )  # fmt: skip
        return (x, count + 1), None

    (x, _), _ = jax.lax.scan(one, (x, jnp.int32(0)), jax.random.split(key, sweeps))
    return x


@functools.partial(
    jax.jit,
    static_argnums=(0, 1, 2),
    static_argnames=("n_burn", "thinning", "n_keep", "global_flip"),
)
def _run(
    local, log_weight, static, params, x, betas, key, *, n_burn, thinning, n_keep, global_flip
):
    """``n_burn`` sweeps, then ``n_keep`` draws ``thinning`` sweeps apart (rung 0)."""
    sweep = functools.partial(
        _sweep, local, log_weight, static, params, betas=betas, global_flip=global_flip
    )

    def one(carry, k_step):
        x, count = carry
        x, flipped, swapped = sweep(x, key=k_step, parity=count % 2)
        return (x, count + 1), (flipped.mean(), jnp.nanmean(swapped))

    def block(carry, k_block, length):
        carry, rates = jax.lax.scan(one, carry, jax.random.split(k_block, length))
        return carry, rates

    k_burn, k_keep = jax.random.split(key)
    if n_burn:
        x = advance(
            local, log_weight, static, params, x, betas, k_burn, sweeps=n_burn,
            global_flip=global_flip,
        )  # fmt: skip
    carry = (x, jnp.int32(n_burn))

    def keep(carry, k_draw):
        carry, rates = block(carry, k_draw, thinning)
        x0 = carry[0][0]
        return carry, (x0.astype(jnp.uint8), -log_weight(static, params, x0, 1.0), rates)

    carry, (draws, energy, rates) = jax.lax.scan(keep, carry, jax.random.split(k_keep, n_keep))
    flip_rate = jnp.mean(rates[0])
    swap_rate = jnp.mean(rates[1])
    return carry[0], draws, energy, flip_rate, swap_rate


def run_chains(
    local: Callable,
    log_weight: Callable,
    static: Any,
    params: Any,
    *,
    n: int,
    n_samples: int,
    key: jax.Array,
    settings: McmcSettings,
    advice: str = "",
) -> Chains:
    """Draw ``n_samples`` rows of ``n`` bits by the chains of the module, with diagnostics.

    ``local`` and ``log_weight`` (and the hashable ``static``) are static under jit; ``params``
    is traced, so new parameters of the same shapes reuse the compiled loop. Row ``r`` of the
    samples comes from chain ``r % n_chains``. Same key, same samples.
    """
    s = settings
    n_chains = s.n_chains if s.n_chains is not None else min(max(n_samples // 10, 2), 1000)
    n_keep = -(-n_samples // n_chains)
    n_rungs = int(s.n_temperatures)
    betas = ladder(s)
    k_init, k_run = jax.random.split(key)
    x = jax.random.bernoulli(k_init, 0.5, (n_rungs, n_chains, n)).astype(jnp.float32)
    sweeps = s.burn_in + n_keep * s.thinning
    max_sweeps = 16 * sweeps if s.max_sweeps is None else max(int(s.max_sweeps), sweeps)
    run = functools.partial(
        _run, local, log_weight, static, params, betas=betas, n_keep=n_keep,
        global_flip=bool(s.global_flip),
    )  # fmt: skip
    x, draws, energy, flip_rate, swap_rate = run(
        x, key=jax.random.fold_in(k_run, 0), n_burn=s.burn_in, thinning=s.thinning
    )
    diag = _diagnose(draws, energy, sweeps)
    extension = 0
    while s.rhat_target is not None and diag.diagnosable and not diag.converged(s.rhat_target):
        thin = s.thinning * 2 ** (extension + 1)
        if 2 * sweeps + n_keep * thin > max_sweeps:
            hint = "" if n_rungs > 1 else ", or add parallel tempering (n_temperatures > 1)"
            warn_unconverged(
                diag,
                s.rhat_target,
                f"raise burn_in or max_sweeps (now {max_sweeps}){hint}. {advice}",
            )
            break
        extension += 1
        x, draws, energy, flip_rate, swap_rate = run(
            x, key=jax.random.fold_in(k_run, extension), n_burn=sweeps, thinning=thin
        )
        sweeps = 2 * sweeps + n_keep * thin
        diag = _diagnose(draws, energy, sweeps)
    samples = np.asarray(draws).reshape(n_keep * n_chains, n)[:n_samples]
    return Chains(
        samples=samples,
        convergence=diag,
        flip_rate=float(flip_rate) if s.global_flip else float("nan"),
        swap_rate=float(swap_rate) if n_rungs > 1 else float("nan"),
    )


def _diagnose(draws: jax.Array, energy: jax.Array, sweeps: int) -> convergence.Convergence:
    d = np.asarray(draws, np.float32)  # (n_keep, C, n)
    magnet = (2.0 * d - 1.0).mean(axis=-1)
    return series_diagnostics(np.asarray(energy, np.float64), magnet, sweeps=sweeps)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _log_weights(log_weight, static, params, rows):
    return log_weight(static, params, rows, 1.0)


def enumerate_log_weights(log_weight: Callable, static: Any, params: Any, n: int) -> np.ndarray:
    """Normalised log-probabilities of all ``2ⁿ`` rows, float64, in the order of
    :func:`iqpgen.exact.all_bitstrings`."""
    if n > 24:
        raise ValueError(f"enumeration of 2^{n} rows is too large; use sampler='mcmc'.")
    lw = np.asarray(
        _log_weights(log_weight, static, params, jnp.asarray(all_bitstrings(n), jnp.float32)),
        np.float64,
    )
    return lw - np.logaddexp.reduce(lw)


def mean_log_prob(log_weight: Callable, static: Any, params: Any, rows: Any) -> float:
    """Exact mean log-likelihood of 0/1 ``rows`` (``n`` ≤ 24 bits, the partition function by
    enumeration)."""
    rows = np.asarray(rows)
    logp = enumerate_log_weights(log_weight, static, params, rows.shape[1])
    idx = rows.astype(np.int64) @ (1 << np.arange(rows.shape[1] - 1, -1, -1))
    return float(np.mean(logp[idx]))


def sample_exact(log_prob: np.ndarray, n: int, n_samples: int, *, key: jax.Array) -> np.ndarray:
    """``n_samples`` exact draws from the table ``log_prob`` of :func:`enumerate_log_weights`."""
    cdf = np.cumsum(np.exp(log_prob - log_prob.max()))
    u = np.asarray(jax.random.uniform(key, (n_samples,), jnp.float32), np.float64)
    idx = np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(cdf) - 1)
    return ((idx[:, None] >> np.arange(n - 1, -1, -1)) & 1).astype(np.uint8)
