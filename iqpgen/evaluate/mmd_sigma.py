"""Unbiased test MMD² of a model at a list of bandwidths, with standard errors over repeats."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks, kernel, mmd
from ..baselines.common import per_sigma_jit, sample_terms
from ..estimator import Estimate
from ..noise import readout_array
from .common import model_kind, n_features, sample_groups

__all__ = ["mmd_vs_sigma"]


def mmd_vs_sigma(
    model: Any,
    X_test: Any,
    sigmas: float | Sequence[float],
    *,
    key: jax.Array,
    n_ops: int = 1000,
    n_samples: int = 1000,
    n_repeats: int = 5,
) -> Estimate:
    """Unbiased MMD² between a model and test data at each bandwidth, with standard errors.

    Each of ``n_repeats`` repeats draws independent operators (and, for the IQP model,
    independent circuit samples ``z``; for sampled models, fresh samples); the result is the
    mean over repeats and its standard error ``std/√n_repeats``. Routes, by model:

    * :class:`~iqpgen.IqpModel`: :func:`iqpgen.mmd.loss_from_packed` with ``n_samples``
      Monte Carlo samples of the circuit per repeat (all bandwidths of one repeat share them).
    * :class:`~iqpgen.baselines.IndependentBits`, :class:`~iqpgen.baselines.BitflipModel`: the
      model term is exact (``n_samples`` is not used).
    * models with a ``sample`` method (e.g. :class:`~iqpgen.baselines.RBM`):
      ``n_repeats × n_samples`` samples, one group of ``n_samples`` per repeat, compared with the
      data through the same operators, with the U-statistic for the model's square term.
    * a 0/1 matrix of samples: split into ``n_repeats`` groups (each needs ≥ 2 rows).

    The operator route is used for samples, rather than the kernel sums of
    :func:`iqpgen.kernel.between_samples`, because it costs ``O(n_ops · |a| · rows/32)`` word
    operations instead of ``O(rows² · n)``: at 1,000 bits and a few thousand rows a repeat
    takes milliseconds instead of minutes. For one key the operators of repeat ``r`` are the
    same for every model, so differences between models are measured on the same operators.

    Args:
        model: a fitted model or a 0/1 sample matrix (see above).
        X_test: 0/1 test data ``(m, n)``, ``m ≥ 2``.
        sigmas: a bandwidth or a list of them.
        key: JAX key; repeat ``r`` uses ``fold_in(key, r)``.
        n_ops: operators per bandwidth per repeat.
        n_samples: Monte Carlo samples of the IQP circuit, or model samples, per repeat.
        n_repeats: independent repeats (at least 2).

    Returns:
        :class:`iqpgen.Estimate` of NumPy arrays ``mean`` and ``stderr``, shape
        ``(len(sigmas),)``.

    Example:
        >>> import jax, numpy as np
        >>> from iqpgen.baselines import IndependentBits
        >>> from iqpgen.evaluate import mmd_vs_sigma
        >>> X = np.random.default_rng(0).integers(0, 2, (200, 5))
        >>> model = IndependentBits(sigma=1.0).fit(X[:100])
        >>> est = mmd_vs_sigma(model, X[100:], [1.0, 2.0], key=jax.random.key(0), n_ops=32)
        >>> est.mean.shape, est.stderr.shape
        ((2,), (2,))
    """
    kind = model_kind(model)
    key = _checks.check_key(key)
    n_ops = _checks.check_int("n_ops", n_ops, minimum=1)
    n_samples = _checks.check_int("n_samples", n_samples, minimum=2)
    n_repeats = _checks.check_int("n_repeats", n_repeats, minimum=2)
    sig = kernel.as_sigmas(sigmas)
    X_test = _checks.check_binary_matrix("X_test", X_test, n_cols=n_features(model), min_rows=2)
    n = X_test.shape[1]
    data = mmd.pack_data(X_test)
    rows = []
    if kind == "iqp":
        readout = readout_array(model.readout_error, model.n_features_in_)
        keys = jax.vmap(lambda r: jax.random.fold_in(key, r))(jnp.arange(n_repeats))
        kw = dict(sigmas=sig, n_ops=n_ops, n_samples=n_samples, readout_error=readout)
        rows = np.asarray(mmd.per_sigma_map(model.circuit_, model.params_, data, keys, **kw))
    else:
        if kind == "exact":
            groups = [model.mmd_terms(key)] * n_repeats
        else:
            parts = sample_groups(model, kind, n, n_repeats, n_repeats * n_samples, key)
            groups = [(sample_terms, mmd.pack_data(g)) for g in parts]
        for r, (terms_fn, state) in enumerate(groups):
            per = per_sigma_jit(
                terms_fn,
                state,
                data,
                jax.random.fold_in(key, r),
                n_wires=n,
                sigmas=sig,
                n_ops=n_ops,
            )
            rows.append(np.asarray(per, np.float64).tolist())
    values = np.asarray(rows, np.float64)
    return Estimate(
        mean=values.mean(axis=0), stderr=values.std(axis=0, ddof=1) / np.sqrt(n_repeats)
    )
