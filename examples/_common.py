"""Helpers shared by the example scripts: arguments, timing, training, the results table.

Not part of the iqpgen package; the scripts put this folder on ``sys.path`` by being run
from it (``python examples/dwave.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np

import iqpgen
from iqpgen import evaluate
from iqpgen.baselines import RBM, BitflipModel, IndependentBits

#: Smallest bandwidth of the paper's evaluation at 1,000 qubits; scaled as √(n/1000).
SIGMA_MIN_1000 = 3.825


def paper_sigmas(n: int) -> list[float]:
    """``[σ, 2σ, 4σ]`` with ``σ = 3.825·√(n/1000)``: mean operator weight about 17, 4 and 1
    at 1,000 qubits."""
    s = SIGMA_MIN_1000 * math.sqrt(n / 1000)
    return [s, 2 * s, 4 * s]


def parser(description: str, name: str, *, lr: float = 1e-3) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a small run (seconds to a minute)")
    p.add_argument("--out", default=os.path.join("runs", name), help="output folder")
    p.add_argument("--seed", type=int, default=0, help="seed of data, training and evaluation")
    p.add_argument("--steps", type=int, default=None, help="Adam steps (IQP and bitflip)")
    p.add_argument(
        "--lr", type=float, default=lr, help=f"Adam learning rate, IQP and bitflip (default {lr:g})"
    )
    p.add_argument("--no-cache", action="store_true", help="regenerate the dataset")
    return p


class Timer:
    """Prints each phase as it starts and ends; keeps the durations."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.start = time.perf_counter()

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        print(f"[{name}] ...", flush=True)
        t0 = time.perf_counter()
        yield
        dt = time.perf_counter() - t0
        self.times[name] = self.times.get(name, 0.0) + dt
        print(f"[{name}] done in {dt:.1f} s", flush=True)

    def report(self) -> str:
        total = time.perf_counter() - self.start
        width = max(len(k) for k in self.times) if self.times else 5
        lines = ["phase times:"]
        lines += [f"  {k:<{width}}  {v:8.1f} s" for k, v in self.times.items()]
        lines.append(f"  {'total':<{width}}  {total:8.1f} s")
        return "\n".join(lines)


def settings(args: argparse.Namespace, *, full_steps: int) -> dict[str, Any]:
    """Sizes of a full or a ``--quick`` run."""
    if args.quick:
        cfg = dict(
            n_train=300, n_test=200, steps=20, n_ops=64, n_samples=64, eval_ops=100,
            eval_samples=100, repeats=3, rbm_iter=2, rbm_burn_in=20, model_samples=300,
            corr_samples=500,
        )  # fmt: skip
    else:
        cfg = dict(
            n_train=5000, n_test=1000, steps=full_steps, n_ops=1000, n_samples=1000,
            eval_ops=1000, eval_samples=1000, repeats=5, rbm_iter=50, rbm_burn_in=1000,
            model_samples=5000, corr_samples=10_000,
        )  # fmt: skip
    if args.steps is not None:
        cfg["steps"] = args.steps
    return cfg


def split(X: np.ndarray, n_test: int, key: jax.Array) -> tuple[np.ndarray, np.ndarray]:
    order = np.asarray(jax.random.permutation(key, X.shape[0]))
    return X[order[n_test:]], X[order[:n_test]]


def format_table(sigmas: list[float], results: dict[str, iqpgen.Estimate]) -> str:
    """Test MMD² per model (rows) and bandwidth (columns), ``mean ± stderr``."""
    head = ["model"] + [f"σ = {s:.3f}" for s in sigmas]
    rows = [
        [name] + [f"{m:.3e} ± {e:.1e}" for m, e in zip(est.mean, est.stderr, strict=True)]
        for name, est in results.items()
    ]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*head), fmt.format(*["-" * w for w in widths])]
    lines += [fmt.format(*r) for r in rows]
    return "\n".join(lines)


def run_experiment(
    name: str,
    X: np.ndarray,
    args: argparse.Namespace,
    cfg: dict[str, Any],
    timer: Timer,
    *,
    ising: tuple[Any, Any] | None = None,
    spin_sym: bool = False,
    iqp_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train the IQP model and the baselines on ``X``, evaluate them, write everything."""
    os.makedirs(args.out, exist_ok=True)
    key = jax.random.key(args.seed)
    k_split, k_eval, k_corr = jax.random.split(key, 3)
    X_train, X_test = split(X, cfg["n_test"], k_split)
    n = X.shape[1]
    sigmas = paper_sigmas(n)
    print(f"{name}: {n} bits, {len(X_train)} training and {len(X_test)} test rows")
    print(
        f"bandwidths σ = {', '.join(f'{s:.3f}' for s in sigmas)}; {cfg['steps']} Adam steps "
        f"at learning rate {args.lr:g}"
    )

    iqp = iqpgen.IqpModel(
        spin_sym=spin_sym,
        sigma=sigmas,
        n_ops=cfg["n_ops"],
        n_samples=cfg["n_samples"],
        learning_rate=args.lr,
        max_steps=cfg["steps"],
        random_state=args.seed,
        verbose=True,
        **(iqp_options or {}),
    )
    with timer.phase("train IQP"):
        iqp.fit(X_train)
    hist = iqp.history_
    print(f"  IQP: {iqp.circuit_.n_params} gates, final loss {hist.loss[-1]:.4g}")
    if len(hist.val_step):
        print(
            f"  IQP: kept the parameters of step {hist.best_step} (validation MMD² "
            f"{hist.val_loss.min():.4g}; {hist.val_loss[0]:.4g} at the start)"
        )
    with timer.phase("train bitflip"):
        bitflip = BitflipModel(
            spin_sym=spin_sym,
            sigma=sigmas,
            n_ops=cfg["n_ops"],
            learning_rate=args.lr,
            max_steps=cfg["steps"],
            random_state=args.seed,
        ).fit(X_train)
    with timer.phase("train independent"):
        independent = IndependentBits(sigma=sigmas, random_state=args.seed).fit(X_train)
    with timer.phase("train RBM"):
        rbm = RBM(n_iter=cfg["rbm_iter"], burn_in=cfg["rbm_burn_in"], random_state=args.seed)
        rbm.fit(X_train)
    print(f"  RBM: {rbm.n_components_} hidden units")
    with timer.phase("sample RBM"):
        rbm_samples = rbm.sample(cfg["model_samples"], random_state=args.seed)

    models = {"IQP": iqp, "bitflip": bitflip, "independent": independent, "RBM": rbm_samples}
    results = {}
    with timer.phase("evaluate MMD"):
        for label, model in models.items():
            results[label] = evaluate.mmd_vs_sigma(
                model,
                X_test,
                sigmas,
                key=k_eval,
                n_ops=cfg["eval_ops"],
                n_samples=cfg["eval_samples"],
                n_repeats=cfg["repeats"],
            )
    table = format_table(sigmas, results)
    print("\ntest MMD² (mean ± standard error over repeats)")
    print(table + "\n")

    with timer.phase("correlations"):
        corr = {
            "data (test)": evaluate.correlations(X_test),
            "IQP": evaluate.correlations(iqp, key=k_corr, n_samples=cfg["corr_samples"]),
            "bitflip": evaluate.correlations(bitflip),
            "RBM": evaluate.correlations(rbm_samples),
        }
    iu = np.triu_indices(n, 1)
    corr_err = {
        k: float(np.sqrt(np.mean((v[iu] - corr["data (test)"][iu]) ** 2)))
        for k, v in corr.items()
        if k != "data (test)"
    }
    print("RMS difference of pair correlations to the test data: ", end="")
    print(", ".join(f"{k} {v:.4f}" for k, v in corr_err.items()))

    stats = {}
    if ising is not None:
        J, h = ising
        with timer.phase("Ising statistics"):
            sources = {
                "data (test)": X_test,
                "IQP": iqp,
                "bitflip": bitflip,
                "independent": independent,
                "RBM": rbm_samples,
            }
            for label, source in sources.items():
                stats[label] = evaluate.ising_energy_stats(
                    source, J, h, key=k_corr, n_samples=cfg["corr_samples"]
                )
        print("\nIsing statistics per spin (IQP from expectation values, others from samples)")
        print(f"  {'source':<12} {'E/n':>9} {'std E/n':>9} {'<m>':>8} {'<m^2>':>8} {'<|m|>':>8}")
        for label, s in stats.items():
            print(
                f"  {label:<12} {s.energy:9.4f} {s.energy_std:9.4f} {s.magnetisation:8.4f} "
                f"{s.magnetisation_sq:8.4f} {s.abs_magnetisation:8.4f}"
            )

    with timer.phase("export"):
        out = args.out
        iqp.save(os.path.join(out, "iqp_model.npz"))
        with open(os.path.join(out, "iqp_model.qasm"), "w") as f:
            f.write(iqp.to_qasm())
        res = iqpgen.export.resources(iqp.circuit_)
        print(
            f"circuit resources: {res.counts}, {res.n_two_qubit} two-qubit gates, depth {res.depth}"
        )
    with timer.phase("plots"):
        evaluate.plot_loss({"IQP": iqp, "bitflip": bitflip}, path=os.path.join(out, "loss.png"))
        evaluate.plot_mmd_vs_sigma(sigmas, results, path=os.path.join(out, "mmd_vs_sigma.png"))
        evaluate.plot_correlations(corr, path=os.path.join(out, "correlations.png"))

    summary = {
        "dataset": name,
        "n_bits": n,
        "n_train": len(X_train),
        "n_test": len(X_test),
        "quick": bool(args.quick),
        "settings": dict(cfg, learning_rate=args.lr, seed=args.seed),
        "sigmas": sigmas,
        "mmd": {
            k: {"mean": v.mean.tolist(), "stderr": v.stderr.tolist()} for k, v in results.items()
        },
        "correlation_rms_error": corr_err,
        "ising": {k: _finite(v._asdict()) for k, v in stats.items()},
        "resources": {"counts": res.counts, "n_two_qubit": res.n_two_qubit, "depth": res.depth},
        "times_s": timer.times,
        "rbm_components": rbm.n_components_,
    }
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(summary, f, indent=2, default=_json_default)
    with open(os.path.join(out, "table.txt"), "w") as f:
        f.write(table + "\n")
    print(timer.report())
    print(f"wrote {', '.join(sorted(os.listdir(out)))} to {out}")
    sys.stdout.flush()
    return summary


def _finite(d: dict[str, float]) -> dict[str, float | None]:
    return {k: (float(v) if math.isfinite(v) else None) for k, v in d.items()}


def _json_default(x: Any) -> Any:
    if isinstance(x, np.floating | np.integer):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
