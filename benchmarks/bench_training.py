"""Time to quality: test MMD² against training wall time on the full-size paper stand-ins.

For the D-Wave-like (484 bits) and scale-free (1,000 bits) experiments of
``examples/paper.py`` — the same data, split, gates, bandwidths and initialisation — this
trains, in one run and one after the other:

* ``paper``: the paper's recipe, Adam at a constant 1e-3, ``n_ops = n_samples = 1000``,
  plain Monte Carlo estimates, every row trained on, the last parameters kept;
* ``default``: ``IqpModel``'s defaults (learning-rate schedule, variance reduction,
  validation split and best-step selection) with the same step budget;
* any other configuration named in ``CONFIGS`` and passed with ``--configs``.

Every ``--eval-every`` steps the test MMD² at the first, middle and last of the paper's ten
bandwidths is estimated (4 chunks of the test set, 2,000 operators and samples each; the
evaluation time is not counted as training time), and the final parameters are evaluated in the
paper's full protocol (:func:`iqpgen.evaluate.paper_mmd`). Values are reported divided by the
uniform distribution's (the paper's "Random" row), beside the paper's IQP/Random ratios.

Usage::

    python benchmarks/bench_training.py --out benchmarks/results-cpu-2core-training.json \\
        --plot benchmarks/results-cpu-2core-training.png
    python benchmarks/bench_training.py --quick       # tiny sizes, a check that it runs
    python benchmarks/bench_training.py --datasets scale_free --graph graph.adjlist  # paper's
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import jax
import numpy as np

import iqpgen
from iqpgen import datasets, evaluate

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from _experiments import EXPERIMENTS, scale_free_options  # noqa: E402
from bench_mmd import machine  # noqa: E402

#: Each configuration's IqpModel options on top of the experiment's own (gates, init_scale,
#: steps). ``paper`` is the paper's recipe; ``default`` leaves every new choice at its default.
CONFIGS: dict[str, dict] = {
    "paper": dict(
        learning_rate=1e-3,
        lr_schedule="constant",
        n_ops=1000,
        n_samples=1000,
        variance_reduction="none",
        sigma_weights="equal",
        validation_fraction=0.0,
        keep="last",
    ),
    "default": dict(),
    "default, plain estimates": dict(variance_reduction="none"),
    "default, constant rate": dict(lr_schedule="constant"),
    "default, moments init": dict(init="moments"),
    # Bandwidth weights u_σ^(-e) for other exponents e than the default's 3/8 (u_σ: the
    # training rows' MMD² to uniform bits).
    "default, weights u^-1/3": dict(weight_exponent=1 / 3),
    "default, weights u^-1/2": dict(weight_exponent=1 / 2),
}
PAPER_RATIO = {"dwave": (0.39, 0.19, 0.156), "scale_free": (0.64, 0.085, 0.075)}
# Test rows: the paper's 60,000 D-Wave test rows would take the stand-in's sampler about 20
# minutes; 10,000 (20 chunks of 500) is what `examples/dwave.py --n-test 10000` uses too.
N_TEST = {"dwave": 10_000}


def load(name: str, args) -> tuple[np.ndarray, np.ndarray]:
    """Training and test rows as ``examples/paper.py`` makes them (its seeds and split; for
    scale_free, its ``--graph``, ``--coupling-seed``, ``--temperature`` and ``--data-seed``)."""
    exp = EXPERIMENTS[name]
    quick = args.quick
    n_train, n_test = (300, 400) if quick else (exp.n_train, N_TEST.get(name, exp.n_test))
    seed = 0 if quick or exp.data_seed is None else exp.data_seed
    key = jax.random.key(seed if args.data_seed is None else args.data_seed)
    if name == "dwave":
        return np.split(datasets.dwave_like(n_train + n_test, key=key), [n_train])
    model = scale_free_options(
        exp,
        quick=quick,
        graph=args.graph,
        temperature=args.temperature,
        coupling_seed=args.coupling_seed,
    )
    X = datasets.scale_free(n_train + n_test, key=key, **model)
    return X[:n_train], X[n_train:]


def run_config(name, label, X_train, X_test, sig3, uniform, args) -> dict:
    exp = EXPERIMENTS[name]
    opts = {**exp.iqp, **CONFIGS[label]}
    if "weight_exponent" in opts:
        u = iqpgen.kernel.uniform_mmd(X_train, exp.sigmas)
        opts["sigma_weights"] = tuple((u ** -opts.pop("weight_exponent")).tolist())
    if args.quick:
        opts["max_steps"] = 20
    circuit = iqpgen.gates.local_circuit(X_train.shape[1], opts.get("max_weight", 2))
    probe = iqpgen.IqpModel()
    probe.circuit_, probe.estimator_, probe.n_features_in_ = (
        circuit,
        "monte_carlo",
        X_train.shape[1],
    )
    chunks, ops = (2, 200) if args.quick else (4, 2000)
    curve = []
    t_start = time.perf_counter()
    t_eval = 0.0

    def evaluate_now(step, params):
        nonlocal t_eval
        t0 = time.perf_counter()
        probe.params_ = jax.numpy.array(params)
        est = evaluate.paper_mmd(probe, X_test, sig3, key=jax.random.key(7), n_chunks=chunks,
                                 n_ops=ops, n_samples=ops)  # fmt: skip
        ratio = (np.asarray(est.mean) / uniform).tolist()
        curve.append({"step": step, "seconds": round(t0 - t_start - t_eval, 2), "ratio": ratio})
        t_eval += time.perf_counter() - t0
        print(f"  {label:<28} step {step:>5}  {curve[-1]['seconds']:7.1f} s  "
              + " / ".join(f"{r:.3f}" for r in ratio), flush=True)  # fmt: skip

    every = args.eval_every

    def callback(step, params):
        if step % every == 0 or step == opts["max_steps"]:
            evaluate_now(step, params)

    model = iqpgen.IqpModel(sigma=list(exp.sigmas), random_state=0, verbose=False, **opts)
    if opts.get("init") == "moments":
        start = iqpgen.init.from_moments(circuit, X_train)
    else:
        start = iqpgen.init.from_data(circuit, X_train, scale=opts.get("init_scale"))
    evaluate_now(0, start)
    model.fit(X_train, callback=callback)
    n_chunks, n_eval = (4, 200) if args.quick else (20, 3000)
    final = evaluate.paper_mmd(model, X_test, sig3, key=jax.random.key(1), n_chunks=n_chunks,
                               n_ops=n_eval, n_samples=n_eval)  # fmt: skip
    h = model.history_
    rec = {
        "config": label,
        "options": {k: v for k, v in opts.items()},
        "train_seconds": round(h.seconds, 1),
        "steps": int(len(h.loss)),
        "best_step": int(h.best_step),
        "loss_options": model.loss_options_,
        "final_mmd": np.asarray(final.mean).tolist(),
        "final_stderr": np.asarray(final.stderr).tolist(),
        "final_ratio": (np.asarray(final.mean) / uniform).tolist(),
        "curve": curve,
    }
    print(f"  {label}: final ratio "
          + " / ".join(f"{r:.3f}" for r in rec["final_ratio"])
          + f" in {rec['train_seconds']} s (kept step {rec['best_step']})", flush=True)  # fmt: skip
    return rec


def plot(report: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(report["datasets"])
    fig, axes = plt.subplots(len(names), 3, figsize=(12, 3.4 * len(names)), squeeze=False)
    for r, name in enumerate(names):
        d = report["datasets"][name]
        for c in range(3):
            ax = axes[r, c]
            for rec in d["configs"]:
                t = [p["seconds"] for p in rec["curve"]]
                ax.plot(t, [p["ratio"][c] for p in rec["curve"]], marker=".", label=rec["config"])
            ax.axhline(PAPER_RATIO[name][c], color="k", ls="--", lw=1, label="paper's IQP")
            ax.set_title(f"{name}, σ = {d['sigmas'][c]}")
            ax.set_xlabel("training time (s)")
            ax.set_ylabel("test MMD² / uniform")
        axes[r, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--datasets", nargs="+", default=["dwave", "scale_free"])
    ap.add_argument("--configs", nargs="+", default=["paper", "default"])
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--plot", default=None)
    ap.add_argument("--data-seed", type=int, default=None, help="as in examples/paper.py")
    ap.add_argument("--graph", default=None, help="scale_free: an adjacency-list file")
    ap.add_argument("--coupling-seed", type=int, default=None, help="scale_free: NumPy seed")
    ap.add_argument("--temperature", type=float, default=None, help="scale_free: T")
    args = ap.parse_args()
    for c in args.configs:
        if c not in CONFIGS:
            ap.error(f"unknown config {c!r}; choose from {list(CONFIGS)}")
    report = {"machine": machine(), "datasets": {}}
    for name in args.datasets:
        X_train, X_test = load(name, args)
        sig = evaluate.paper_bandwidths(EXPERIMENTS[name].sigmas)
        sig3 = [sig[0], sig[len(sig) // 2], sig[-1]]
        rand = evaluate.random_rows(len(X_train), X_train.shape[1], key=jax.random.key(2))
        uniform = np.asarray(evaluate.paper_mmd(rand, X_test, sig3, key=jax.random.key(1)).mean)
        print(f"{name}: σ {sig3}, uniform {uniform.tolist()}", flush=True)
        recs = [run_config(name, c, X_train, X_test, sig3, uniform, args) for c in args.configs]
        report["datasets"][name] = {"sigmas": sig3, "uniform": uniform.tolist(),
                                    "paper_ratio": PAPER_RATIO[name], "configs": recs}  # fmt: skip
    report["data"] = {k: getattr(args, k) for k in ("data_seed", "graph", "coupling_seed",
                                                    "temperature")}  # fmt: skip
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
    if args.plot:
        plot(report, args.plot)


if __name__ == "__main__":
    main()
