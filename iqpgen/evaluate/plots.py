"""Plots of training losses, MMD² against bandwidth and correlation matrices (matplotlib's
object-oriented API: no pyplot, no global backend change; imported when a plot is made)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import kernel
from ..estimator import Estimate

__all__ = ["plot_loss", "plot_mmd_vs_sigma", "plot_correlations"]


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
    sig = np.asarray(kernel.as_sigmas(sigmas))
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
