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
import warnings
from collections.abc import Iterator
from typing import Any

import jax
import numpy as np

import iqpgen
from iqpgen import evaluate
from iqpgen.baselines import RBM, BitflipModel, DeepEBM, IndependentBits
from iqpgen.baselines.mcmc import EXACT_MAX_BITS
from iqpgen.cli import nonnegative_int, positive_float, positive_int
from iqpgen.io import check_writable

__all__ = ["nonnegative_int", "positive_float", "positive_int"]  # the CLI's argument types


def parser(description: str, name: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--quick", action="store_true", help="a small run (seconds to a minute)")
    p.add_argument("--out", default=os.path.join("runs", name), help="output folder")
    p.add_argument(
        "--seed", type=nonnegative_int, default=0, help="seed of data, training and evaluation"
    )
    p.add_argument(
        "--steps", type=nonnegative_int, default=None, help="Adam steps (IQP and bitflip)"
    )
    p.add_argument(
        "--lr",
        type=positive_float,
        default=None,
        help="IQP learning rate (default: the experiment's)",
    )
    p.add_argument("--no-cache", action="store_true", help="regenerate the dataset")
    p.add_argument(
        "--corr-samples",
        type=positive_int,
        default=None,
        help="samples (or IQP Monte Carlo samples) for the correlations and Ising statistics "
        "(default 10,000; 200 with --quick, as many as the quick evaluation draws)",
    )
    return p


def add_budget_args(p: argparse.ArgumentParser) -> None:
    """``--rbm-epochs`` and ``--ebm-steps``: the baselines' training budgets."""
    p.add_argument(
        "--rbm-epochs",
        type=positive_int,
        default=None,
        help="RBM epochs (default: the experiment's)",
    )
    p.add_argument(
        "--ebm-steps",
        type=positive_int,
        default=None,
        help="DeepEBM updates (default: the experiment's)",
    )


def budgets(args: argparse.Namespace, rbm: dict[str, Any], ebm: dict[str, Any]) -> tuple:
    """Copies of the RBM and DeepEBM options with ``--rbm-epochs`` and ``--ebm-steps``
    applied."""
    rbm, ebm = dict(rbm), dict(ebm)
    if args.rbm_epochs is not None:
        rbm["n_iter"] = args.rbm_epochs
    if args.ebm_steps is not None:
        ebm["n_steps"] = args.ebm_steps
    return rbm, ebm


def check_out(p: argparse.ArgumentParser, args: argparse.Namespace) -> str:
    """Make the ``--out`` folder and check that it takes files, before any work; otherwise end
    with the parser's one-line error (exit status 2)."""
    try:
        return check_writable(args.out, "--out", folder=True)
    except ValueError as err:
        p.error(str(err))


def run_script(main: Any) -> None:
    """``main(sys.argv[1:])`` as a script: an error from the library (a bad file, a value it
    refuses) ends in one line, ``<script>: error: ...``, exit status 1, as the ``iqpgen``
    command does (``IQPGEN_TRACEBACK=1`` shows the traceback instead)."""
    try:
        main(sys.argv[1:])
    except (ValueError, TypeError, OSError) as err:
        if os.environ.get("IQPGEN_TRACEBACK"):
            raise
        text = " ".join(str(err).split())
        print(f"{os.path.basename(sys.argv[0])}: error: {text}", file=sys.stderr)
        raise SystemExit(1) from None


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


def settings(args: argparse.Namespace, *, n_train: int, n_test: int, steps: int) -> dict[str, Any]:
    """Sizes of a full run (the paper's protocol) or a ``--quick`` one."""
    if args.quick:
        cfg = dict(
            n_train=300, n_test=400, steps=20, chunks=4, eval_ops=100, eval_samples=100,
            model_samples=200, rbm_iter=2, rbm_burn_in=20, ebm_steps=20,
            corr_samples=200,
        )  # fmt: skip
    else:
        cfg = dict(
            n_train=n_train, n_test=n_test, steps=steps, chunks=20, eval_ops=3000,
            eval_samples=3000, model_samples=5000, rbm_iter=50, rbm_burn_in=1000,
            ebm_steps=2000, corr_samples=10_000,
        )  # fmt: skip
    if args.steps is not None:
        cfg["steps"] = args.steps
    if getattr(args, "n_test", None) is not None:  # --n-test, with --quick too
        cfg["n_test"] = args.n_test
    if getattr(args, "corr_samples", None) is not None:
        cfg["corr_samples"] = args.corr_samples
    return cfg


def chain_options(n_bits: int, **options: Any) -> dict[str, Any]:
    """``options`` of the RBM's or DeepEBM's sampling chains where chains sample a model of
    ``n_bits`` bits; none where it is sampled exactly (the models refuse unused options)."""
    return options if n_bits > EXACT_MAX_BITS else {}


def split(X: np.ndarray, n_test: int, key: jax.Array) -> tuple[np.ndarray, np.ndarray]:
    """Training and test rows of ``X``, ``n_test`` test rows after a shuffle by ``key``."""
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


def train_models(
    X_train: np.ndarray,
    sigmas: tuple[float, ...],
    args: argparse.Namespace,
    cfg: dict[str, Any],
    timer: Timer,
    *,
    iqp_options: dict[str, Any],
    bitflip_options: dict[str, Any],
    rbm_options: dict[str, Any],
    ebm_options: dict[str, Any],
) -> dict[str, Any]:
    """IQP (trained and at its data-dependent start), bitflip, independent bits, RBM, DeepEBM."""
    seed = args.seed
    iqp_kw = dict(iqp_options)
    given = args.quick or args.steps is not None
    iqp_kw["max_steps"] = cfg["steps"] if given else iqp_kw.get("max_steps")
    if args.quick and X_train.shape[1] > 16:
        # Small Monte Carlo estimates for the large circuits (16 bits train on the exact loss).
        iqp_kw.update(n_ops=cfg["eval_ops"], n_samples=cfg["eval_samples"])
    if args.lr is not None:
        iqp_kw["learning_rate"] = args.lr
    iqp_kw = {k: v for k, v in iqp_kw.items() if v is not None}
    iqp = iqpgen.IqpModel(sigma=list(sigmas), random_state=seed, verbose=True, **iqp_kw)
    with timer.phase("train IQP"):
        iqp.fit(X_train)
    print(f"  IQP: {iqp.circuit_.n_params} gates, {iqp.estimator_} loss; {iqp.history_.summary()}")
    init = iqpgen.IqpModel(
        sigma=list(sigmas), random_state=seed, verbose=False, **{**iqp_kw, "max_steps": 0}
    ).fit(X_train)
    bf_kw = dict(bitflip_options)
    bf_kw["max_steps"] = cfg["steps"] if given else bf_kw.get("max_steps")
    if args.quick:
        bf_kw["n_ops"] = cfg["eval_ops"]
    with timer.phase("train bitflip"):
        bitflip = BitflipModel(sigma=list(sigmas), random_state=seed, verbose=False, **bf_kw)
        bitflip.fit(X_train)
    with timer.phase("train independent"):
        independent = IndependentBits(sigma=list(sigmas), random_state=seed).fit(X_train)
    with timer.phase("train RBM"):
        n = X_train.shape[1]
        rbm_kw = {"n_iter": cfg["rbm_iter"], **chain_options(n, burn_in=cfg["rbm_burn_in"])}
        rbm_kw |= rbm_options
        if args.quick:  # fewer held-out MMD² chains too
            rbm_kw |= {"n_iter": cfg["rbm_iter"], **chain_options(n, n_chains=100)}
        rbm = RBM(sigma=list(sigmas), random_state=seed, **rbm_kw).fit(X_train)
    print(f"  RBM: {rbm.n_components_} hidden units")
    with timer.phase("train DeepEBM"):
        ebm_kw = {"n_steps": cfg["ebm_steps"], **ebm_options}
        if args.quick:  # the quick budget, not the experiment's, and fewer chains
            ebm_kw |= {
                "n_steps": cfg["ebm_steps"],
                **chain_options(n, n_chains=100, burn_in=cfg["rbm_burn_in"]),
            }
        ebm = DeepEBM(sigma=list(sigmas), random_state=seed, **ebm_kw).fit(X_train)
    print(f"  DeepEBM: hidden layers {list(ebm.hidden)}, {len(ebm.loss_)} updates")
    return {
        "IQP": iqp,
        "IQP init": init,
        "bitflip": bitflip,
        "independent": independent,
        "RBM": rbm,
        "DeepEBM": ebm,
    }


@contextlib.contextmanager
def reported_warnings(store: list[str]) -> Iterator[None]:
    """Print the samplers' convergence and symmetry warnings as they come and keep their
    messages in ``store`` (for ``results.json``) instead of stopping the run: an unconverged
    baseline is a finding to report beside its row."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", iqpgen.datasets.ConvergenceWarning)
        warnings.simplefilter("always", iqpgen.symmetry.SymmetryWarning)
        yield
    for w in caught:
        if issubclass(
            w.category, iqpgen.datasets.ConvergenceWarning | iqpgen.symmetry.SymmetryWarning
        ):
            print(f"  warning: {w.message}", flush=True)
            store.append(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def evaluate_paper_protocol(
    models: dict[str, Any],
    X_train: np.ndarray,
    X_test: np.ndarray,
    eval_sigmas: list[float],
    cfg: dict[str, Any],
    timer: Timer,
    key: jax.Array,
) -> dict[str, iqpgen.Estimate]:
    """Every model, uniform bits and the training set, in the paper's protocol."""
    k_eval, k_random = jax.random.split(key)
    sources = dict(models)
    sources["uniform"] = evaluate.random_rows(len(X_train), X_train.shape[1], key=k_random)
    sources["train set"] = X_train
    results = {}
    with timer.phase("evaluate MMD"):
        for label, model in sources.items():
            with timer.phase(f"  evaluate {label}"):
                results[label] = evaluate.paper_mmd(
                    model,
                    X_test,
                    eval_sigmas,
                    key=k_eval,
                    n_chunks=cfg["chunks"],
                    n_ops=cfg["eval_ops"],
                    n_samples=cfg["eval_samples"],
                    n_model_samples=cfg["model_samples"],
                )
    return results


def run_experiment(
    name: str,
    X_train: np.ndarray,
    X_test: np.ndarray,
    args: argparse.Namespace,
    cfg: dict[str, Any],
    timer: Timer,
    *,
    sigmas: tuple[float, ...],
    ising: tuple[Any, Any] | None = None,
    iqp_options: dict[str, Any] | None = None,
    bitflip_options: dict[str, Any] | None = None,
    rbm_options: dict[str, Any] | None = None,
    ebm_options: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """Train the IQP model and the baselines, evaluate them in the paper's protocol at its ten
    bandwidths; write the model and plots. Returns the summary (for ``results.json``) and the
    table, for :func:`write_results`."""
    key = jax.random.key(args.seed)
    k_eval, k_corr = jax.random.split(jax.random.fold_in(key, 1))
    n = X_train.shape[1]
    eval_sigmas = evaluate.paper_bandwidths(sigmas)
    print(f"{name}: {n} bits, {len(X_train)} training and {len(X_test)} test rows")
    print(f"training bandwidths σ = {', '.join(f'{s:.3f}' for s in sigmas)}")
    sampler_warnings: list[str] = []
    with reported_warnings(sampler_warnings):
        models = train_models(
            X_train,
            sigmas,
            args,
            cfg,
            timer,
            iqp_options=iqp_options or {},
            bitflip_options=bitflip_options or {},
            rbm_options=rbm_options or {},
            ebm_options=ebm_options or {},
        )
        results = evaluate_paper_protocol(models, X_train, X_test, eval_sigmas, cfg, timer, k_eval)
    iqp = models["IQP"]
    table = format_table(eval_sigmas, results)
    print(f"\ntest MMD² (mean ± standard error over {cfg['chunks']} test chunks)")
    print(table + "\n")

    # Sampled models are sampled once for the correlations and the Ising statistics.
    with timer.phase("sample RBM and DeepEBM"), reported_warnings(sampler_warnings):
        drawn = {
            label: models[label].sample(cfg["corr_samples"], random_state=args.seed)
            for label in ("RBM", "DeepEBM")
        }
    with timer.phase("correlations"):
        corr = {"data (test)": evaluate.correlations(X_test)}
        for label in ("IQP", "bitflip", "RBM", "DeepEBM"):
            corr[label] = evaluate.correlations(
                drawn.get(label, models[label]), key=k_corr, n_samples=cfg["corr_samples"]
            )
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
            sources = {"data (test)": X_test}
            sources.update({k: models[k] for k in ("IQP", "bitflip", "independent")})
            sources.update(drawn)
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
        evaluate.plot_loss(
            {"IQP": iqp, "bitflip": models["bitflip"]}, path=os.path.join(out, "loss.png")
        )
        evaluate.plot_mmd_vs_sigma(eval_sigmas, results, path=os.path.join(out, "mmd_vs_sigma.png"))
        evaluate.plot_correlations(corr, path=os.path.join(out, "correlations.png"))

    summary = {
        "dataset": name,
        "n_bits": n,
        "n_train": len(X_train),
        "n_test": len(X_test),
        "quick": bool(args.quick),
        "settings": dict(cfg, seed=args.seed),
        "training_sigmas": list(sigmas),
        "sigmas": eval_sigmas,
        "iqp": {
            "estimator": iqp.estimator_,
            "gates": iqp.circuit_.n_params,
            "steps": len(iqp.history_.loss),
            "best_step": int(iqp.history_.best_step),
            "learning_rate": iqp.get_params()["learning_rate"],
            "lr_schedule": iqp.get_params()["lr_schedule"],
            "sigma_weights": iqp.sigma_weights_,
            "loss_options": iqp.loss_options_,
            "train_seconds": round(float(iqp.history_.seconds), 1),
            "history": iqp.history_.summary(),
        },
        "mmd": {
            k: {"mean": v.mean.tolist(), "stderr": v.stderr.tolist()} for k, v in results.items()
        },
        "correlation_rms_error": corr_err,
        "ising": {k: _finite(v._asdict()) for k, v in stats.items()},
        "resources": {"counts": res.counts, "n_two_qubit": res.n_two_qubit, "depth": res.depth},
        "rbm_components": models["RBM"].n_components_,
        "baselines": {
            label: {
                "symmetry": models[label].symmetry_,
                **(
                    {"best_epoch": models[label].best_epoch_}
                    if label == "RBM"
                    else {"best_step": models[label].best_step_}
                ),
            }
            for label in ("RBM", "DeepEBM")
        },
        "sampler_warnings": sampler_warnings,
        **(extra or {}),
    }
    return summary, table


def write_results(out: str, summary: dict[str, Any], table: str, timer: Timer) -> None:
    """``results.json`` and ``table.txt`` in ``out``, then the phase times."""
    summary["times_s"] = timer.times
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(summary, f, indent=2, default=_json_default)
    with open(os.path.join(out, "table.txt"), "w") as f:
        f.write(table + "\n")
    print(timer.report())
    print(f"wrote {', '.join(sorted(os.listdir(out)))} to {out}")
    sys.stdout.flush()


def _finite(d: dict[str, float]) -> dict[str, float | None]:
    return {k: (float(v) if math.isfinite(v) else None) for k, v in d.items()}


def _json_default(x: Any) -> Any:
    if isinstance(x, np.floating | np.integer):
        return x.item()
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")
