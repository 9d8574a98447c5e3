"""What the energy-based baselines (RBM, DeepEBM) share: the ``symmetry`` and sampler options,
held-out rows for early stopping, and sampling (exact or by the chains of :mod:`.mcmc`)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks, kernel, mmd
from ..symmetry import check_symmetry, resolve_symmetry, symmetrise
from . import mcmc
from .common import MmdBaseline, sample_terms

__all__ = ["EnergyBaseline", "SELECTIONS"]

#: Values of ``selection``, the held-out criterion that picks the training step to keep.
SELECTIONS = ("auto", "likelihood", "mmd")
# The options of the sampling chains (unused where a model is sampled by enumeration).
_CHAIN_OPTIONS = ("burn_in", "thinning", "global_flip", "n_temperatures", "max_sweeps")
# Held-out rows the MMD² criterion compares the chains with (evenly spaced beyond this), its
# persistent chains (unless n_chains is set) and the sweeps they advance per evaluation.
_SELECTION_ROWS = 2000
_SELECTION_CHAINS = 1000
_SELECTION_SWEEPS = 20


def log_odds(X: np.ndarray) -> np.ndarray:
    """``log(p_i / (1 − p_i))`` of each column's share ``p_i`` of ones in the 0/1 rows ``X``,
    with half a count added to either value (finite for a constant column): the fields of
    independent bits with the data's marginals, where the energy models start."""
    p = (X.sum(axis=0) + 0.5) / (X.shape[0] + 1.0)
    return np.log(p) - np.log1p(-p)


class EnergyBaseline(MmdBaseline):
    """Plumbing of a model ``p(x) ∝ exp(log_weight(x))`` (see :mod:`.mcmc`).

    Subclasses store the options ``symmetry``, ``sampler``, ``burn_in``, ``thinning``,
    ``n_chains``, ``global_flip``, ``n_temperatures``, ``max_sweeps``, ``validation_fraction``
    and ``patience``, and implement :meth:`_chain_parts`.
    """

    def _chain_parts(self) -> tuple[Callable, Callable, Any, Any]:
        """``(local, log_weight, static, params)`` of the fitted model (see :mod:`.mcmc`)."""
        raise NotImplementedError

    def _settings(self) -> mcmc.McmcSettings:
        return mcmc.McmcSettings(
            burn_in=self.burn_in,
            thinning=self.thinning,
            n_chains=self.n_chains,
            global_flip=self.global_flip,
            n_temperatures=self.n_temperatures,
            max_sweeps=self.max_sweeps,
        )

    def _check_energy_options(self) -> None:
        check_symmetry(self.symmetry)
        mcmc.check_sampler(self.sampler)
        mcmc.check_settings(self._settings())
        _checks.check_number(
            "validation_fraction", self.validation_fraction, low=0.0, low_open=False, high=1.0
        )
        if self.patience is not None:
            _checks.check_int("patience", self.patience, minimum=1)
        if not isinstance(self.selection, str) or self.selection not in SELECTIONS:
            raise ValueError(
                f"selection must be one of {SELECTIONS}, got {self.selection!r}: 'likelihood' "
                "scores held-out rows by (pseudo-)likelihood, 'mmd' by the MMD² of the model to "
                "them (exact, or of chains of the model), 'auto' by the exact likelihood where "
                "it is enumerable, by MMD² beyond."
            )
        if float(self.validation_fraction) == 0:
            _checks.refuse_unused(
                self,
                ("patience", "selection"),
                "it works on held-out rows, and validation_fraction=0 has none",
            )
        if self.sampler == "exact":
            _checks.refuse_unused(
                self,
                _CHAIN_OPTIONS,
                "it sets the sampling chains, and sampler='exact' enumerates every row",
            )

    def _refuse_chain_options(
        self, n: int, extra: tuple[str, ...] = (), used: tuple[str, ...] = ()
    ) -> None:
        """Refuse the sampling chains' options and ``extra`` (options used only by chains)
        set away from their defaults where this model of ``n`` bits is sampled exactly, but
        not those in ``used`` (taken by other chains, e.g. for held-out MMD²)."""
        if self.sampler == "exact":  # the chains' own options are refused before the work
            why = "sampler='exact' enumerates every row"
            names = extra
        elif self.sampler == "auto" and n <= mcmc.EXACT_MAX_BITS:
            why = (
                f"sampler='auto' samples a model of {n} bits exactly, by enumerating its rows "
                f"(up to {mcmc.EXACT_MAX_BITS} bits); set sampler='mcmc' to sample by chains"
            )
            names = _CHAIN_OPTIONS + extra
        else:
            return
        _checks.refuse_unused(self, tuple(x for x in names if x not in used), why)

    def _training_rows(self, X: np.ndarray, key: jax.Array) -> tuple[np.ndarray, np.ndarray]:
        """Resolve the symmetry (``symmetry_``) and split ``X`` into training and held-out rows;
        a flip-symmetric model trains and validates on the rows and their mirror images."""
        self.symmetry_ = resolve_symmetry(self.symmetry, X, stacklevel=4)
        n_val = int(round(float(self.validation_fraction) * X.shape[0]))
        if n_val and X.shape[0] - n_val < 2:
            raise ValueError(
                f"validation_fraction={self.validation_fraction} leaves fewer than 2 of the "
                f"{X.shape[0]} rows to train on; lower it or give more rows."
            )
        perm = np.asarray(jax.random.permutation(key, X.shape[0]))
        train, val = X[perm[n_val:]], X[perm[:n_val]]
        if self.symmetry_ == "global_flip":
            train, val = np.concatenate([train, 1 - train]), np.concatenate([val, 1 - val])
        return train, val

    def _selects_by_mmd(self, n: int) -> bool:
        """Whether held-out rows score the model by MMD² (exact, or of chains of the model)."""
        return self.selection == "mmd" or (self.selection == "auto" and n > mcmc.EXACT_MAX_BITS)

    def _selection_chains(
        self, parts: tuple[Callable, Callable, Any], n: int, key: jax.Array, n_chains: Any = None
    ) -> tuple[jax.Array, Callable]:
        """The held-out MMD² criterion's persistent chains ``(rungs, n_chains, n)`` (default:
        the sampling chains' ``n_chains``, else 1,000), started at uniformly random states as
        the sampling chains are, and the function
        ``(params, chains, key=) → chains`` that advances them by the model's own kind of
        chain (``local``, ``log_weight`` and ``static`` in ``parts``: global flips and
        tempering as set) for a few sweeps before each score, so that the score is of the
        samples the model gives rather than of states that lag it."""
        settings = self._settings()
        n_chains = int(n_chains or settings.n_chains or _SELECTION_CHAINS)
        size = (int(settings.n_temperatures), n_chains, n)
        chains = jax.random.bernoulli(key, 0.5, size).astype(jnp.float32)
        advance = functools.partial(
            mcmc.advance, *parts, betas=mcmc.ladder(settings), sweeps=_SELECTION_SWEEPS,
            global_flip=bool(settings.global_flip),
        )  # fmt: skip
        return chains, advance

    def _exact_selection(self, n: int) -> bool:
        """Whether the held-out MMD² is computed exactly: the model of ``n`` bits is sampled by
        enumerating its rows, so its distribution is what its samples follow."""
        return mcmc.use_enumeration(self.sampler, n, name="sampler", instead="mcmc")

    def _table(self, log_weight: Callable, static: Any, params: Any, n: int) -> np.ndarray:
        """``log p`` of every row for these parameters, the symmetry included."""
        logp = mcmc.enumerate_log_weights(log_weight, static, params, n)
        if self.symmetry_ == "global_flip":  # row 2ⁿ − 1 − i is the mirror image of row i
            logp = np.logaddexp(logp, logp[::-1]) - np.log(2.0)
        return logp

    def _exact_mmd_score(
        self, parts: tuple[Callable, Any, Any], val: np.ndarray, sigmas: tuple[float, ...]
    ) -> float:
        """``−MMD²`` (higher is better) between the model, enumerated (``parts``:
        ``(log_weight, static, params)``), and the held-out rows, exactly, averaged over
        ``sigmas`` (``val`` holds the rows' mirrors for a flip-symmetric model)."""
        n = val.shape[1]
        q = np.exp(self._table(*parts, n))
        idx = np.asarray(val, np.int64) @ (1 << np.arange(n - 1, -1, -1))
        p = np.bincount(idx, minlength=2**n) / len(idx)
        return -mmd.exact_between_distributions(q, p, sigmas)

    def _mmd_score(self, chains: np.ndarray, val: np.ndarray, sigmas: tuple[float, ...]) -> float:
        """``−MMD²`` (higher is better) between the chains' states, the model's samples, and
        the held-out rows, averaged over ``sigmas``: unlike a (pseudo-)likelihood it follows
        the test metric on data with several modes. A flip-symmetric model's states count
        with their mirror images (``val`` already holds the rows' mirrors)."""
        chains = np.asarray(chains, np.uint8)
        if self.symmetry_ == "global_flip":
            chains = np.concatenate([chains, 1 - chains])
        val = np.asarray(val, np.uint8)
        val = val[:: max(1, -(-len(val) // _SELECTION_ROWS))]
        return -kernel.between_samples(chains, val, sigmas)

    def _exact(self) -> bool:
        return mcmc.use_enumeration(
            self.sampler, self.n_features_in_, name="sampler", instead="mcmc"
        )

    def log_prob_table(self) -> np.ndarray:
        """Exact ``log p(x)`` of every row (``2ⁿ``, bit 0 the most significant), the symmetry
        included; for models of at most 20 bits."""
        self.check_fitted()
        n = self.n_features_in_
        if n > mcmc.EXACT_MAX_BITS + 4:
            raise ValueError(f"log_prob_table enumerates 2^n rows; n = {n} is too large.")
        _, log_weight, static, params = self._chain_parts()
        return self._table(log_weight, static, params, n)

    def sample_chains(self, n_samples: int = 1, random_state: Any = None) -> mcmc.Chains:
        """Samples ``(n_samples, n)`` with how they were drawn: exactly (by enumeration) or by
        the chains of :mod:`iqpgen.baselines.mcmc`, with their split-R̂ and ESS; warns with
        :class:`~iqpgen.datasets.ConvergenceWarning` when the chains have not converged. A
        flip-symmetric model flips each sample whole with probability ½ (exact for
        ``½(p(x) + p(1 − x))``)."""
        self.check_fitted()
        n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
        k_draw, k_sym = jax.random.split(self._eval_key(random_state, 3))
        n = self.n_features_in_
        nan = float("nan")
        local, log_weight, static, params = self._chain_parts()
        if self._exact():
            logp = mcmc.enumerate_log_weights(log_weight, static, params, n)
            chains = mcmc.Chains(mcmc.sample_exact(logp, n, n_samples, key=k_draw), None, nan, nan)
        else:
            chains = mcmc.run_chains(
                local,
                log_weight,
                static,
                params,
                n=n,
                n_samples=n_samples,
                key=k_draw,
                settings=self._settings(),
                advice=f"({type(self).__name__}: burn_in, n_temperatures)",
            )
        if self.symmetry_ == "global_flip":
            chains = chains._replace(samples=symmetrise(chains.samples, key=k_sym))
        return chains

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """``(n_samples, n)`` 0/1 samples (uint8); see :meth:`sample_chains`."""
        return self.sample_chains(n_samples, random_state).samples

    def mmd_terms(self, key):
        samples = self.sample(int(self.n_samples), random_state=key)
        return sample_terms, mmd.pack_data(samples)
