r"""Evaluating generative models of bitstrings: MMD² across bandwidths, correlations, Ising
statistics, and plots.

Every function takes an IQP model, a baseline (:mod:`iqpgen.baselines`), any object with a
``sample(n_samples, random_state=...)`` method, or a 0/1 matrix of samples, and uses the
cheapest unbiased route that model offers:

* :class:`~iqpgen.IqpModel`: Monte Carlo expectation values of the circuit (the circuit is
  never sampled, so this works at 1,000 qubits and beyond);
* :class:`~iqpgen.baselines.IndependentBits`, :class:`~iqpgen.baselines.BitflipModel`: exact
  expectation values;
* anything else: its samples.

Plots use matplotlib's object-oriented API (``matplotlib.figure.Figure``, no pyplot and no
global backend change); matplotlib is imported when a plot is made.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks, baselines, mmd
from .baselines.common import MmdBaseline, per_sigma_jit, sample_terms
from .circuit import IqpCircuit
from .estimator import Estimate, couplings, draw_signs, field
from .model import IqpModel

__all__ = [
    "mmd_vs_sigma",
    "correlations",
    "IsingStats",
    "ising_energy_stats",
    "plot_loss",
    "plot_mmd_vs_sigma",
    "plot_correlations",
]

# Elements of one (n_qubits x samples) temporary in the pair-correlator engine.
_PAIR_CHUNK_ELEMENTS = 1 << 22
# fold_in tag of the key that draws a sampled model's samples (repeats use tags 0, 1, ...).
_DRAW_TAG = 2**31 - 1


# --------------------------------------------------------------------------- helpers
def _kind(model: Any) -> str:
    """'iqp', 'exact' (exact expectations), 'samples' (an array) or 'sampler'."""
    if isinstance(model, IqpModel):
        model.check_fitted()
        return "iqp"
    if isinstance(model, baselines.IndependentBits | baselines.BitflipModel):
        model.check_fitted()
        return "exact"
    if isinstance(model, np.ndarray | list | tuple) or (
        hasattr(model, "shape") and hasattr(model, "dtype")
    ):
        return "samples"
    if callable(getattr(model, "sample", None)):
        if isinstance(model, MmdBaseline):
            model.check_fitted()
        return "sampler"
    raise TypeError(
        f"model must be an IqpModel, an iqpgen baseline, an object with a sample(n_samples, "
        f"random_state=...) method or a 0/1 matrix of samples, got {type(model).__name__}."
    )


def _n_features(model: Any) -> int | None:
    return getattr(model, "n_features_in_", None)


def _seed(key: jax.Array) -> int:
    """An int seed derived from a key, for models that take ``random_state`` ints."""
    return int(jax.random.randint(key, (), 0, np.iinfo(np.int32).max))


def _draw(model: Any, n_samples: int, key: jax.Array) -> np.ndarray:
    samples = model.sample(n_samples, random_state=_seed(key))
    return _checks.check_binary_matrix("samples", samples, min_rows=1)


# ---------------------------------------------------------------------- MMD vs sigma
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
    :func:`iqpgen.mmd.between_samples`, because it costs ``O(n_ops · |a| · rows/32)`` word
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
    kind = _kind(model)
    key = _checks.check_key(key)
    n_ops = _checks.check_int("n_ops", n_ops, minimum=1)
    n_samples = _checks.check_int("n_samples", n_samples, minimum=2)
    n_repeats = _checks.check_int("n_repeats", n_repeats, minimum=2)
    sig = mmd.as_sigmas(sigmas)
    X_test = _checks.check_binary_matrix("X_test", X_test, n_cols=_n_features(model), min_rows=2)
    n = X_test.shape[1]
    data = mmd.pack_data(X_test)
    rows = []
    if kind == "iqp":
        kw = dict(sigmas=sig, n_ops=n_ops, n_samples=n_samples, return_terms=True)
        for r in range(n_repeats):
            k = jax.random.fold_in(key, r)
            _, per = mmd.loss_jit(model.circuit_, model.params_, data, k, **kw)
            rows.append([float(jnp.sum(t)) / n_ops for t in per])
    else:
        if kind == "exact":
            groups = [model.mmd_terms(key)] * n_repeats
        else:
            if kind == "samples":
                samples = _checks.check_binary_matrix("model", model, n_cols=n, min_rows=1)
                if samples.shape[0] < 2 * n_repeats:
                    raise ValueError(
                        f"model (a sample matrix) has {samples.shape[0]} rows; n_repeats="
                        f"{n_repeats} groups need at least 2 rows each."
                    )
            else:
                samples = _draw(model, n_repeats * n_samples, jax.random.fold_in(key, _DRAW_TAG))
                if samples.shape != (n_repeats * n_samples, n):
                    raise ValueError(
                        f"model.sample returned shape {samples.shape}; expected "
                        f"({n_repeats * n_samples}, {n})."
                    )
            parts = np.array_split(samples, n_repeats)
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


# ----------------------------------------------------------------- pair correlators
def _pair_sums(circuit: IqpCircuit, params: jax.Array, st: jax.Array, mask: jax.Array):
    """``Σ_z cos t``, ``Σ_z (C Cᵀ − S Sᵀ)`` and ``Σ_z (sS (sC)ᵀ + sC (sS)ᵀ)`` for one chunk."""
    J, h = couplings(circuit, params)
    t = st * field(circuit, params, J, h, st)  # (n, N): phase of Z_i
    C, S = jnp.cos(t) * mask, jnp.sin(t) * mask
    sC, sS = st * C, st * S
    return C.sum(axis=1), C @ C.T - S @ S.T, sS @ sC.T + sC @ sS.T


@functools.partial(jax.jit, static_argnames=("n_samples", "chunk"))
def _pair_moments_jit(circuit, params, key, *, n_samples: int, chunk: int):
    """Monte Carlo ``⟨Z_i⟩`` ``(n,)`` and ``⟨Z_i Z_j⟩`` ``(n, n)`` of a pairwise circuit.

    For ``a = {i, j}`` the phase is ``t_i + t_j − 2 J_ij s_i s_j`` with ``t = s ∘ (h + J s)``
    (DESIGN §3), so ``cos(phase) = cos(2J_ij) cos(t_i + t_j) + sin(2J_ij) s_i s_j sin(t_i + t_j)``
    and both terms expand into products of ``cos t`` and ``sin t``: every pair at once costs
    four ``n × n × N`` matrix products.
    """
    n = circuit.n_qubits
    st = draw_signs(key, n_samples, n, circuit.spin_sym, params.dtype)
    n_chunks = -(-n_samples // chunk)
    pad = n_chunks * chunk - n_samples
    st_p = jnp.concatenate([st, jnp.ones((n, pad), st.dtype)], axis=1)
    mask = (jnp.arange(n_chunks * chunk) < n_samples).astype(st.dtype)

    def body(acc, xs):
        st_c, m_c = xs
        out = _pair_sums(circuit, params, st_c, m_c)
        return jax.tree_util.tree_map(jnp.add, acc, out), None

    zero = (
        jnp.zeros((n,), st.dtype),
        jnp.zeros((n, n), st.dtype),
        jnp.zeros((n, n), st.dtype),
    )
    xs = (st_p.reshape(n, n_chunks, chunk).transpose(1, 0, 2), mask.reshape(n_chunks, chunk))
    (c1, e1, e2), _ = jax.lax.scan(body, zero, xs)
    two_j = 2.0 * couplings(circuit, params)[0]
    zz = (jnp.cos(two_j) * e1 + jnp.sin(two_j) * e2) / n_samples
    z = c1 / n_samples
    if circuit.spin_sym:
        z = jnp.zeros_like(z)
    return z, zz


def _all_pair_ops(n: int) -> tuple[np.ndarray, np.ndarray]:
    i, j = np.triu_indices(n, 1)
    return i, j


def _moments(
    source: Any, *, key: jax.Array | None, n_samples: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """``⟨Z_i⟩`` ``(n,)``, ``⟨Z_i Z_j⟩`` ``(n, n)`` (diagonal 1) and how they were obtained."""
    kind = _kind(source)
    if kind == "samples":
        X = _checks.check_binary_matrix("samples", source, min_rows=1)
        return (*_sample_moments(X), "samples")
    if kind == "iqp":
        key = _checks.check_key(key)
        circuit, params = source.circuit_, source.params_
        n = circuit.n_qubits
        if circuit.is_pairwise:
            chunk = int(max(1, min(n_samples, _PAIR_CHUNK_ELEMENTS // n)))
            z, zz = _pair_moments_jit(circuit, params, key, n_samples=n_samples, chunk=chunk)
            z, zz = np.asarray(z, np.float64), np.asarray(zz, np.float64)
        else:
            z, zz = _generic_moments(circuit, params, key, n_samples)
        np.fill_diagonal(zz, 1.0)
        return z, zz, "expectation"
    if kind == "exact":
        fn, state = source._expval_supports()
        n = source.n_features_in_
        singles = jnp.arange(n, dtype=jnp.int32)[:, None]
        z = np.asarray(fn(state, singles), np.float64)
        i, j = _all_pair_ops(n)
        zz = np.eye(n)
        step = 1 << 18
        for s in range(0, len(i), step):
            supp = jnp.asarray(np.stack([i[s : s + step], j[s : s + step]], axis=1), jnp.int32)
            v = np.asarray(fn(state, supp), np.float64)
            zz[i[s : s + step], j[s : s + step]] = v
            zz[j[s : s + step], i[s : s + step]] = v
        return z, zz, "exact"
    X = _draw(source, n_samples, _checks.check_key(key))
    return (*_sample_moments(X), "samples")


def _sample_moments(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    Z = 1.0 - 2.0 * X.astype(np.float64)
    return Z.mean(axis=0), (Z.T @ Z) / X.shape[0]


def _generic_moments(circuit: IqpCircuit, params, key, n_samples):
    from .estimator import expval

    n = circuit.n_qubits
    i, j = _all_pair_ops(n)
    ops = np.zeros((n + len(i), n), np.uint8)
    ops[np.arange(n), np.arange(n)] = 1
    ops[n + np.arange(len(i)), i] = 1
    ops[n + np.arange(len(i)), j] = 1
    vals = []
    step = max(1, (1 << 22) // max(1, n * 8))
    for s in range(0, ops.shape[0], step):
        vals.append(
            np.asarray(
                expval(circuit, params, ops[s : s + step], key=key, n_samples=n_samples).mean
            )
        )
    v = np.concatenate(vals).astype(np.float64)
    zz = np.eye(n)
    zz[i, j] = zz[j, i] = v[n:]
    return v[:n], zz


def correlations(
    source: Any, *, key: jax.Array | None = None, n_samples: int = 10_000
) -> np.ndarray:
    r"""Pearson correlation matrix ``(n, n)`` of the bits of a model or of samples.

    From :math:`\langle Z_i\rangle` and :math:`\langle Z_iZ_j\rangle`:
    :math:`\rho_{ij} = (\langle Z_iZ_j\rangle - \langle Z_i\rangle\langle Z_j\rangle)
    / \sqrt{(1-\langle Z_i\rangle^2)(1-\langle Z_j\rangle^2)}` (the bits' and the spins'
    correlations are equal). Routes:

    * :class:`~iqpgen.IqpModel`: Monte Carlo estimates of every ``⟨Z_i⟩`` and ``⟨Z_iZ_j⟩`` from
      ``n_samples`` draws of ``z`` — unbiased for each expectation, the circuit is never
      sampled. For circuits with generators of weight ≤ 2 all pairs cost four
      ``n × n × n_samples`` matrix products (about 2 s at 1,000 qubits and 10,000 samples).
    * :class:`~iqpgen.baselines.IndependentBits` / :class:`~iqpgen.baselines.BitflipModel`:
      exact expectations.
    * a 0/1 matrix: its sample correlations; other models: ``n_samples`` of their samples.

    A bit that never varies has no correlation: its row and column are 0 (diagonal 1).

    Args:
        source: a fitted model or a 0/1 sample matrix.
        key: JAX key (required unless ``source`` is a matrix or has exact expectations).
        n_samples: Monte Carlo samples (IQP) or model samples (sampled models).

    Example:
        >>> import numpy as np
        >>> from iqpgen.evaluate import correlations
        >>> X = np.array([[0, 0, 1], [1, 1, 0], [0, 0, 0], [1, 1, 1]])
        >>> correlations(X).round(2).tolist()
        [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    n_samples = _checks.check_int("n_samples", n_samples, minimum=2)
    z, zz, _ = _moments(source, key=key, n_samples=n_samples)
    var = np.clip(1.0 - z * z, 0.0, None)
    cov = zz - np.outer(z, z)
    denom = np.sqrt(np.outer(var, var))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.where(denom > 1e-12, cov / np.where(denom > 0, denom, 1.0), 0.0)
    corr = np.clip(corr, -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)
    return corr


# ------------------------------------------------------------------------ Ising stats
class IsingStats(NamedTuple):
    """Energy and magnetisation statistics, per spin (``s = 2x − 1``, ``m = mean_i s_i``).

    ``energy``: mean of ``E(s)/n``; ``energy_std``: its standard deviation over samples;
    ``magnetisation``: mean of ``m``; ``magnetisation_sq``: mean of ``m²``;
    ``abs_magnetisation``: mean of ``|m|``. Statistics that need samples are ``nan`` when
    the source was evaluated through expectation values.
    """

    energy: float
    energy_std: float
    magnetisation: float
    magnetisation_sq: float
    abs_magnetisation: float


def ising_energy_stats(
    source: Any,
    J: Any,
    h: Any,
    *,
    key: jax.Array | None = None,
    n_samples: int = 10_000,
) -> IsingStats:
    r"""Energy and magnetisation statistics of samples or a model under the Ising model ``(J, h)``.

    Energies are :func:`iqpgen.datasets.ising_energy`, ``E(s) = −½ sᵀJs − h·s``.
    Models with expectation values are not sampled: the mean energy and ``⟨m²⟩`` are linear in
    :math:`\langle Z_iZ_j\rangle` and :math:`\langle Z_i\rangle` (``s_i = −Z_i``), so they
    come from the expectations of :func:`correlations` — Monte Carlo estimates (unbiased) for
    an :class:`~iqpgen.IqpModel`, exact values for
    :class:`~iqpgen.baselines.IndependentBits` and :class:`~iqpgen.baselines.BitflipModel` —
    and ``energy_std`` and ``abs_magnetisation`` are ``nan``. Other models are sampled
    (``n_samples`` rows); a 0/1 matrix is used as it is.

    Args:
        source: 0/1 samples, or a fitted model.
        J: couplings, dense ``(n, n)`` or ``(edges, weights)``.
        h: fields ``(n,)``.
        key: JAX key (for models).
        n_samples: samples or Monte Carlo samples.

    Example:
        >>> import numpy as np
        >>> from iqpgen.evaluate import ising_energy_stats
        >>> J = np.array([[0.0, 1.0], [1.0, 0.0]])
        >>> ising_energy_stats(np.array([[1, 1], [0, 0]]), J, np.zeros(2)).energy
        -0.5
    """
    from .datasets import ising_energy, parse_model

    n_samples = _checks.check_int("n_samples", n_samples, minimum=2)
    n, i, j, w, hv = parse_model(J, h)
    kind = _kind(source)
    if kind in ("iqp", "exact"):
        if source.n_features_in_ != n:
            raise ValueError(
                f"the model has {source.n_features_in_} bits but the Ising model has {n} spins."
            )
        z, zz, _ = _moments(source, key=key, n_samples=n_samples)
        energy = (-(zz[i, j] @ w) + z @ hv) / n
        mag_sq = (n + (zz.sum() - np.trace(zz))) / (n * n)
        return IsingStats(float(energy), np.nan, float(-z.mean()), float(mag_sq), np.nan)
    if kind == "samples":
        X = _checks.check_binary_matrix("source", source, n_cols=n, min_rows=1)
    else:
        X = _draw(source, n_samples, _checks.check_key(key))
    e = ising_energy(X, J, h) / n
    m = (2.0 * X.astype(np.float64) - 1.0).mean(axis=1)
    return IsingStats(
        float(e.mean()),
        float(e.std(ddof=1)) if len(e) > 1 else np.nan,
        float(m.mean()),
        float((m * m).mean()),
        float(np.abs(m).mean()),
    )


# ----------------------------------------------------------------------------- plots
def _figure(figsize: tuple[float, float]):
    from matplotlib.figure import Figure

    return Figure(figsize=figsize, layout="constrained")


def _save(fig, path: str | os.PathLike | None) -> None:
    if path is not None:
        directory = os.path.dirname(os.path.abspath(os.fspath(path)))
        os.makedirs(directory, exist_ok=True)
        fig.savefig(os.fspath(path), dpi=120)


def plot_loss(source: Any, *, path: str | os.PathLike | None = None, log: bool = False):
    """Training loss per step (and validation loss, if any) of a fitted model or a History.

    Args:
        source: a model with ``history_`` (:class:`~iqpgen.IqpModel`,
            :class:`~iqpgen.baselines.BitflipModel`), a :class:`iqpgen.train.History`, or a
            mapping ``{label: model or History}`` to overlay several curves.
        path: save the figure there (format from the extension).
        log: logarithmic y axis (non-positive losses are not drawn).

    Returns:
        The matplotlib ``Figure``.

    Example:
        >>> import numpy as np
        >>> from iqpgen.evaluate import plot_loss
        >>> from iqpgen.train import History
        >>> hist = History(np.linspace(1, 0, 20), np.zeros(0, int), np.zeros(0), 20, False, 0.0)
        >>> plot_loss(hist).axes[0].get_xlabel()
        'step'
    """
    items = source.items() if isinstance(source, Mapping) else [(None, source)]
    fig = _figure((6.0, 4.0))
    ax = fig.add_subplot()
    for label, item in items:
        hist = getattr(item, "history_", item)
        if not hasattr(hist, "loss"):
            raise TypeError(
                f"plot_loss needs a fitted model with history_ or a History, got "
                f"{type(item).__name__}."
            )
        loss = np.asarray(hist.loss)
        line = ax.plot(np.arange(1, len(loss) + 1), loss, lw=1, label=label or "training loss")
        if len(hist.val_step):
            ax.plot(
                hist.val_step,
                hist.val_loss,
                "o-",
                color=line[0].get_color(),
                ms=3,
                label=f"{label} (validation)" if label else "validation loss",
            )
    ax.set_xlabel("step")
    ax.set_ylabel("MMD² estimate")
    if log:
        ax.set_yscale("log", nonpositive="mask")
    ax.legend()
    _save(fig, path)
    return fig


def plot_mmd_vs_sigma(
    sigmas: Sequence[float],
    results: Mapping[str, Estimate],
    *,
    path: str | os.PathLike | None = None,
    log: bool = True,
):
    """Test MMD² against bandwidth, one line with error bars (±1 standard error) per model.

    Args:
        sigmas: the bandwidths.
        results: ``{model name: Estimate}`` as returned by :func:`mmd_vs_sigma`.
        path: save the figure there.
        log: logarithmic axes (non-positive estimates are not drawn on a log y axis).

    Returns:
        The matplotlib ``Figure``.

    Example:
        >>> import numpy as np, iqpgen
        >>> from iqpgen.evaluate import plot_mmd_vs_sigma
        >>> est = iqpgen.Estimate(np.array([0.1, 0.05]), np.array([0.01, 0.01]))
        >>> len(plot_mmd_vs_sigma([1.0, 2.0], {"model": est}).axes)
        1
    """
    sig = np.asarray(mmd.as_sigmas(sigmas))
    fig = _figure((6.0, 4.0))
    ax = fig.add_subplot()
    for name, est in results.items():
        mean, err = np.asarray(est.mean, float), np.asarray(est.stderr, float)
        if mean.shape != sig.shape or err.shape != sig.shape:
            raise ValueError(
                f"results[{name!r}] has {mean.shape} estimates but there are {len(sig)} sigmas."
            )
        ax.errorbar(sig, mean, yerr=err, marker="o", capsize=3, label=name)
    ax.set_xlabel("σ (kernel bandwidth)")
    ax.set_ylabel("test MMD²")
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log", nonpositive="mask")
    ax.legend()
    _save(fig, path)
    return fig


def plot_correlations(
    matrices: Mapping[str, Any], *, path: str | os.PathLike | None = None, vmax: float | None = None
):
    """Correlation matrices side by side on one colour scale (diagonals blanked).

    Args:
        matrices: ``{title: (n, n) matrix}``, e.g. ``{"data": correlations(X), "IQP": ...}``.
        path: save the figure there.
        vmax: colour scale ``[−vmax, vmax]``; default the largest off-diagonal magnitude.

    Returns:
        The matplotlib ``Figure``.

    Example:
        >>> import numpy as np
        >>> from iqpgen.evaluate import plot_correlations
        >>> fig = plot_correlations({"a": np.eye(3), "b": np.eye(3)})
        >>> len(fig.axes)
        3
    """
    if not matrices:
        raise ValueError("matrices is empty; give at least one {title: matrix}.")
    mats = {}
    for name, m in matrices.items():
        m = np.array(m, dtype=np.float64)
        if m.ndim != 2 or m.shape[0] != m.shape[1]:
            raise ValueError(f"matrices[{name!r}] must be square, got shape {m.shape}.")
        np.fill_diagonal(m, np.nan)
        mats[name] = m
    if vmax is None:
        vals = [np.nanmax(np.abs(m)) for m in mats.values() if np.isfinite(m).any()]
        vmax = max(vals) if vals and max(vals) > 0 else 1.0
    k = len(mats)
    fig = _figure((3.6 * k + 0.8, 3.6))
    axes = fig.subplots(1, k, squeeze=False)[0]
    image = None
    for ax, (name, m) in zip(axes, mats.items(), strict=True):
        image = ax.imshow(m, cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest")
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="correlation")
    _save(fig, path)
    return fig
