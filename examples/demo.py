"""Demo: train an IQP circuit on a built-in dataset and compare it with independent bits.

What ``make demo`` runs. It generates 16-bit data (:func:`iqpgen.datasets.blobs`: noisy copies
of 8 peak bitstrings, or ``--dataset lattice_ising``: a 4x4 Ising spin glass), splits it into
training and test rows, trains an :class:`iqpgen.IqpModel` (all gates of weight 1 and 2) by
minimising MMD², and prints the test MMD² at the model's bandwidths for the IQP model and for
the independent-bits baseline (the product of the training marginals) side by side: the mean
and standard error of unbiased estimates over a few independent keys, and, since 16 qubits fit
in a state vector, the exact value. Lower is better.

It writes into ``--out`` (default ``runs/demo``): ``iqp_model.npz`` (the trained model,
:meth:`iqpgen.IqpModel.load` reads it; so does ``iqpgen sample``), ``demo.png`` (training loss
and the MMD² comparison) and ``results.json``.

    python examples/demo.py              # about a minute on a 2-core CPU
    python examples/demo.py --quick      # small settings, seconds (used by the tests)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any

import jax
import numpy as np

import iqpgen
from iqpgen import datasets, exact, kernel, mmd
from iqpgen.cli import nonnegative_int
from iqpgen.io import check_writable

#: Settings of the full demo and of ``--quick``.
FULL = dict(n_rows=3000, test_fraction=1 / 3, steps=600, n_ops=500, n_samples=500, repeats=5)
QUICK = dict(n_rows=400, test_fraction=1 / 4, steps=30, n_ops=200, n_samples=200, repeats=5)
LEARNING_RATE = 0.01


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The demo's command line (``--help`` lists it)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=os.path.join("runs", "demo"), help="output folder")
    p.add_argument("--quick", action="store_true", help="small settings: a few seconds")
    p.add_argument(
        "--dataset", choices=("blobs", "lattice_ising"), default="blobs", help="16-bit dataset"
    )
    p.add_argument(
        "--seed", type=nonnegative_int, default=0, help="seed of data, training and evaluation"
    )
    p.add_argument(
        "--steps", type=nonnegative_int, default=None, help="training steps (default 600)"
    )
    args = p.parse_args(argv)
    try:  # before any work
        check_writable(args.out, "--out", folder=True)
    except ValueError as err:
        p.error(str(err))
    return args


def make_data(name: str, n_rows: int, *, key: jax.Array) -> np.ndarray:
    """``n_rows`` rows of the 16-bit dataset ``name`` (``uint8`` 0/1)."""
    if name == "blobs":
        return datasets.blobs(n_rows, key=key, n_bits=16, n_blobs=8, flip_prob=0.05)
    return datasets.lattice_ising(4, 4, n_samples=n_rows, key=key, temperature=3.0)


def split(X: np.ndarray, test_fraction: float, *, key: jax.Array) -> tuple[np.ndarray, ...]:
    """Shuffle the rows with ``key``; return ``(X_train, X_test)``."""
    order = np.asarray(jax.random.permutation(key, X.shape[0]))
    n_test = int(round(test_fraction * X.shape[0]))
    return X[order[n_test:]], X[order[:n_test]]


def iqp_test_mmd(
    model: iqpgen.IqpModel, X_test: np.ndarray, keys: list[jax.Array]
) -> tuple[np.ndarray, np.ndarray]:
    """Test MMD² of the IQP model at each of its bandwidths: ``(mean, stderr)`` over ``keys``."""
    values = np.array([[model.mmd(X_test, s, random_state=k) for k in keys] for s in model.sigma_])
    return _mean_stderr(values)


def independent_test_mmd(
    X_train: np.ndarray,
    X_test: np.ndarray,
    sigmas: tuple[float, ...],
    keys: list[jax.Array],
    *,
    n_ops: int,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Test MMD² of independent bits fitted to ``X_train``: ``(mean, stderr, method)``.

    Uses :class:`iqpgen.baselines.IndependentBits` (exact ⟨Z_a⟩, the operators of
    :meth:`iqpgen.IqpModel.mmd` for the same key) when the installed iqpgen has it; otherwise
    draws as many samples as there are test rows from the marginals for each key and compares
    them with :func:`iqpgen.kernel.between_samples`.
    """
    try:
        from iqpgen.baselines import IndependentBits
    except ImportError:
        IndependentBits = None
    if IndependentBits is not None:
        base = IndependentBits(sigma=list(sigmas), n_ops=n_ops).fit(X_train)
        values = np.stack([base.mmd_per_sigma(X_test, random_state=k) for k in keys], axis=1)
        return (*_mean_stderr(values), "IndependentBits (exact <Z_a>)")
    probs = X_train.mean(axis=0)
    values = np.empty((len(sigmas), len(keys)))
    for j, k in enumerate(keys):
        samples = np.asarray(jax.random.bernoulli(k, probs, X_test.shape), np.uint8)
        values[:, j] = [kernel.between_samples(samples, X_test, s) for s in sigmas]
    return (*_mean_stderr(values), "samples of the marginals, kernel sums")


def independent_as_circuit(X_train: np.ndarray) -> tuple[iqpgen.IqpCircuit, np.ndarray]:
    """Independent bits as an IQP circuit: one single-qubit gate per bit.

    ``H RZ(2θ) H |0⟩`` gives the bit 1 with probability ``sin²θ``, so ``θ_i = arcsin √p_i``
    reproduces the marginals ``p_i`` exactly; :func:`iqpgen.mmd.exact` then gives the exact
    test MMD² of the baseline.
    """
    n = X_train.shape[1]
    circuit = iqpgen.IqpCircuit(n, [[[i]] for i in range(n)])
    return circuit, np.arcsin(np.sqrt(X_train.mean(axis=0)))


def _ratio(a: float, b: float) -> str:
    """``a / b`` to one decimal, or ``-`` when ``b`` is not positive (a noisy estimate)."""
    return f"{a / b:.1f}" if b > 0 else "-"


def _mean_stderr(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error along the last axis (the keys)."""
    return values.mean(axis=-1), values.std(axis=-1, ddof=1) / math.sqrt(values.shape[-1])


def plot(path: str, model: iqpgen.IqpModel, sigmas, results: dict[str, Any]) -> None:
    """Loss curve (left) and test MMD² per bandwidth for both models (right), as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4), layout="constrained")
    FigureCanvasAgg(fig)
    ax_loss, ax_mmd = fig.subplots(1, 2)

    loss = np.asarray(model.history_.loss)
    steps = np.arange(1, loss.size + 1)
    ax_loss.plot(steps, loss, lw=0.6, alpha=0.5, color="C0", label="training loss (per step)")
    window = max(1, min(25, loss.size // 5))
    if loss.size >= window > 1:
        smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax_loss.plot(steps[window - 1 :], smooth, color="C0", label=f"mean of {window} steps")
    ax_loss.axhline(0.0, color="grey", lw=0.5)
    ax_loss.set_xlabel("step")
    ax_loss.set_ylabel("MMD² estimate (training data)")
    ax_loss.set_title("IQP model training")
    ax_loss.legend()

    x = np.arange(len(sigmas))
    width = 0.38
    for i, (name, res) in enumerate(results.items()):
        pos = x + (i - 0.5) * width
        ax_mmd.bar(pos, res["mean"], width, yerr=res["stderr"], capsize=3, label=name)
        if res.get("exact") is not None:
            label = "exact" if i == 0 else None
            ax_mmd.plot(pos, res["exact"], "k_", ms=14, mew=2, label=label)
    ax_mmd.set_xticks(x, [f"σ = {s:.3g}" for s in sigmas])
    ax_mmd.set_ylabel("test MMD² (lower is better)")
    ax_mmd.set_title("Test MMD², mean ± standard error over keys")
    ax_mmd.legend()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the demo; returns the results written to ``results.json``.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).

    Returns:
        A dict with the settings, timings, test MMD² per bandwidth for both models and the
        paths of the files written.
    """
    args = parse_args(argv)
    cfg = dict(QUICK if args.quick else FULL)
    if args.steps is not None:
        cfg["steps"] = args.steps
    key = jax.random.key(args.seed)
    k_data, k_split, k_train, k_eval = jax.random.split(key, 4)
    times: dict[str, float] = {}
    t_start = time.perf_counter()

    # 1. Data.
    t0 = time.perf_counter()
    X = make_data(args.dataset, cfg["n_rows"], key=k_data)
    X_train, X_test = split(X, cfg["test_fraction"], key=k_split)
    times["data"] = time.perf_counter() - t0
    print(
        f"data: {args.dataset}, {X_train.shape[0]} training and {X_test.shape[0]} test rows of "
        f"{X.shape[1]} bits ({times['data']:.1f} s)",
        flush=True,
    )

    # 2. Training. The quick run uses one bandwidth (one compiled loss instead of three).
    sigma: Any = "auto"
    if args.quick:
        auto = kernel.sigma_heuristic(X_train)
        sigma = [auto[len(auto) // 2]]
    model = iqpgen.IqpModel(
        max_weight=2,
        sigma=sigma,
        n_ops=cfg["n_ops"],
        n_samples=cfg["n_samples"],
        learning_rate=LEARNING_RATE,
        max_steps=cfg["steps"],
        random_state=k_train,
        verbose=True,
    )
    t0 = time.perf_counter()
    model.fit(X_train)
    times["training"] = time.perf_counter() - t0
    loss = model.history_.loss
    k = max(1, min(50, loss.size // 5))
    head, tail = loss[:k], loss[-k:]
    print(
        f"training: {model.circuit_.n_params} gates, {loss.size} Adam steps in "
        f"{times['training']:.1f} s (compilation included); training loss "
        f"{head.mean():.4g} -> {tail.mean():.4g} (means of the first and last {k} steps)",
        flush=True,
    )

    # 3. Test MMD² at the model's bandwidths: IQP model and independent bits, same keys.
    t0 = time.perf_counter()
    sigmas = tuple(model.sigma_)
    keys = [jax.random.fold_in(k_eval, r) for r in range(cfg["repeats"])]
    iqp_mean, iqp_se = iqp_test_mmd(model, X_test, keys)
    ind_mean, ind_se, ind_method = independent_test_mmd(
        X_train, X_test, sigmas, keys, n_ops=model.n_ops
    )
    iqp_exact = ind_exact = None
    if X.shape[1] <= exact.max_qubits():
        iqp_exact = [float(mmd.exact(model.circuit_, model.params_, X_test, s)) for s in sigmas]
        circ, theta = independent_as_circuit(X_train)
        ind_exact = [float(mmd.exact(circ, theta, X_test, s)) for s in sigmas]
    times["evaluation"] = time.perf_counter() - t0

    results = {
        "IQP model": {"mean": iqp_mean, "stderr": iqp_se, "exact": iqp_exact},
        "independent bits": {"mean": ind_mean, "stderr": ind_se, "exact": ind_exact},
    }
    print(
        f"\ntest MMD² on {X_test.shape[0]} rows (mean ± standard error over {len(keys)} keys; "
        "'exact' from the state vector; lower is better):"
    )
    head = f"{'sigma':>8}  {'IQP model':>22}  {'independent bits':>22}  {'ratio':>6}"
    if iqp_exact is not None:
        head += f"  {'exact IQP':>10}  {'exact indep':>11}"
    print(head)
    for i, s in enumerate(sigmas):
        line = (
            f"{s:>8.3g}  {iqp_mean[i]:>10.3e} ± {iqp_se[i]:<9.1e}  "
            f"{ind_mean[i]:>10.3e} ± {ind_se[i]:<9.1e}  {_ratio(ind_mean[i], iqp_mean[i]):>6}"
        )
        if iqp_exact is not None:
            line += f"  {iqp_exact[i]:>10.3e}  {ind_exact[i]:>11.3e}"
        print(line)
    print(f"(independent bits evaluated with {ind_method})")

    # 4. Files.
    model_path = os.path.join(args.out, "iqp_model.npz")
    plot_path = os.path.join(args.out, "demo.png")
    json_path = os.path.join(args.out, "results.json")
    model.save(model_path)
    plot(plot_path, model, sigmas, results)
    times["total"] = time.perf_counter() - t_start
    summary = {
        "dataset": args.dataset,
        "quick": args.quick,
        "seed": args.seed,
        "settings": {**cfg, "learning_rate": LEARNING_RATE},
        "n_train": int(X_train.shape[0]),
        "n_test": int(X_test.shape[0]),
        "n_bits": int(X.shape[1]),
        "sigmas": list(sigmas),
        "test_mmd2": {
            name: {k: None if v is None else np.asarray(v, float).tolist() for k, v in r.items()}
            for name, r in results.items()
        },
        "final_training_loss": float(tail.mean()),
        "seconds": times,
        "files": {"model": model_path, "plot": plot_path, "results": json_path},
    }
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    print(f"\nwrote {model_path}, {plot_path} and {json_path}")
    print(
        f"time: {times['total']:.1f} s (data {times['data']:.1f}, training "
        f"{times['training']:.1f}, evaluation {times['evaluation']:.1f})"
    )
    print(
        f"try: iqpgen sample {model_path} --shots 5    or    iqpgen export {model_path} --resources"
    )
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
