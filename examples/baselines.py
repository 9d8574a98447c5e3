"""Train and evaluate the classical baselines of one of the paper's experiments at full strength,
and print each beside the paper's row as a ratio to uniform bits.

The RBM and the DeepEBM take the data's global-flip symmetry when the training data have it
(``symmetry="auto"``, :mod:`iqpgen.symmetry`), keep the parameters of the best held-out epoch
or update, and are sampled exactly (16 bits, by enumeration) or by chains with global-flip moves
whose split-R̂ and ESS are printed; independent bits take the symmetry too. Evaluation is the
paper's protocol (:func:`iqpgen.evaluate.paper_mmd`, ten bandwidths, 20 test chunks, 5,000
samples). At 16 bits the RBM and DeepEBM are enumerated and their MMD² to the whole test set
is also exact; ``--paper-models`` adds the exact MMD² of the paper's own trained RBM and
DeepEBM (from its repository's pickles, read by ``_paper_models.py``), which the paper's
sample-based rows estimate with noise. Writes ``baselines.json`` to ``--out``.

    python examples/baselines.py ising --train ising_4_4_T_3_train.csv --test ..._test.csv
    python examples/baselines.py 8blobs --paper-models .../paper/training/trained_parameters
    python examples/baselines.py 8blobs --quick
"""

from __future__ import annotations

import json
import os
import time

import _paper_models as paper_models
import jax
import numpy as np
from _common import (
    Timer,
    add_budget_args,
    budgets,
    chain_options,
    check_out,
    nonnegative_int,
    parser,
    positive_int,
    run_script,
    settings,
)
from _experiments import EXPERIMENTS
from paper import load_data

from iqpgen import evaluate, mmd, walsh
from iqpgen.baselines import RBM, DeepEBM, IndependentBits

#: --quick budgets (the full ones are the experiment's, in examples/_experiments.py) and
#: sampling chains' burn-in where chains sample.
QUICK = {"rbm": dict(n_iter=3, eval_every=1), "ebm": dict(n_steps=40, eval_every=20)}
QUICK_BURN_IN = {"rbm": 20, "ebm": 10}


def draw(model, n_samples: int, seed: int) -> tuple[np.ndarray, dict]:
    """Samples of the model and how it was trained and sampled."""
    chains = model.sample_chains(n_samples, random_state=seed)
    out = {"symmetry": model.symmetry_, "exact_sampling": chains.convergence is None}
    if hasattr(model, "best_epoch_"):
        out.update(best_epoch=model.best_epoch_, epochs=model.n_epochs_)
    else:
        out.update(best_step=model.best_step_, steps=len(model.loss_))
    if chains.convergence is not None:
        c = chains.convergence
        out.update(rhat=c.rhat, ess_energy=c.ess_energy, ess_magnetisation=c.ess_magnetisation)
        out.update(sweeps=c.sweeps, flip_rate=chains.flip_rate)
    s = chains.samples
    out["ones"] = float(s.mean())
    out["rows_mostly_ones"] = float((s.mean(axis=1) > 0.5).mean())
    return s, out


def exact_test_mmd(log_prob: np.ndarray, X_test: np.ndarray, sigmas: list[float]) -> list[float]:
    """Unbiased MMD² between an enumerable model (``log p`` of every row, bit 0 the most
    significant) and the whole test set, exactly:
    ``Σ_a π_σ(a)(Q̂_a² − 2 Q̂_a P̂_a + (m P̂_a² − 1)/(m − 1))`` with ``Q̂ = WHT(q)``."""
    n, m = X_test.shape[1], X_test.shape[0]
    q = np.exp(log_prob)
    q_hat = np.asarray(walsh.walsh_hadamard(q), np.float64)
    p_hat = np.asarray(mmd.data_table(X_test).sums, np.float64) / m
    terms = q_hat**2 - 2 * q_hat * p_hat + (m * p_hat**2 - 1) / (m - 1)
    return [float(np.asarray(mmd.op_weight_table(n, s), np.float64) @ terms) for s in sigmas]


def exact_rows(diag: dict, X_test: np.ndarray, sigmas: list[float], args) -> dict:
    """Exact MMD² to the whole test set of uniform bits, of our enumerable models (from
    ``diag``) and, with ``--paper-models``, of the paper's own trained RBM and DeepEBM."""
    n = X_test.shape[1]
    rows = {"uniform": exact_test_mmd(np.full(2**n, -n * np.log(2.0)), X_test, sigmas)}
    rows |= {label: d["exact_test_mmd"] for label, d in diag.items() if "exact_test_mmd" in d}
    if args.paper_models is not None:
        tables = paper_models.log_prob_tables(args.paper_models, args.experiment, n)
        rows |= {f"paper's {k}": exact_test_mmd(v, X_test, sigmas) for k, v in tables.items()}
    return rows


def main(argv: list[str] | None = None) -> dict:
    p = parser(__doc__.splitlines()[0], "baselines")
    p.add_argument("experiment", help=f"one of {', '.join(EXPERIMENTS)}")
    p.add_argument("--train", default=None, help="training rows (CSV or .npy) instead of ours")
    p.add_argument("--test", default=None, help="test rows (CSV or .npy) instead of ours")
    p.add_argument("--data-seed", type=nonnegative_int, default=None, help="seed of generated data")
    p.add_argument(
        "--n-test",
        type=positive_int,
        default=None,
        help="test rows of generated data (default: the paper's)",
    )
    add_budget_args(p)
    p.add_argument(
        "--selection",
        choices=("auto", "likelihood", "mmd"),
        default="auto",
        help="held-out criterion of the RBM and DeepEBM (see their selection option)",
    )
    p.add_argument(
        "--paper-models",
        default=None,
        metavar="DIR",
        help="the paper's folder of trained models (paper/training/trained_parameters of "
        "XanaduAI/scaling-gqml): also the exact MMD² of its RBM and DeepEBM to the whole test "
        "set (8blobs, ising)",
    )
    args = p.parse_args(argv)
    if args.experiment not in EXPERIMENTS:
        p.error(f"unknown experiment {args.experiment!r}; choose one of {', '.join(EXPERIMENTS)}")
    exp = EXPERIMENTS[args.experiment]
    if args.paper_models is not None:
        if exp.name not in paper_models.DATASETS:
            p.error(
                f"--paper-models applies to {', '.join(paper_models.DATASETS)} (models the "
                f"exact MMD² can enumerate), not {exp.name}"
            )
        if args.train is None or args.test is None:
            p.error(
                "--paper-models compares with models trained on the paper's files: give its "
                "training and test files with --train and --test"
            )
        files = paper_models.paths(args.paper_models, exp.name).values()
        missing = [f for f in files if not os.path.isfile(f)]
        if missing:
            p.error(f"--paper-models: {missing[0]} is not a file")
    if args.out == os.path.join("runs", "baselines"):
        args.out = os.path.join("runs", f"baselines-{exp.name}")
    if args.n_test is not None and args.n_test < 2 * 20:
        p.error(f"--n-test must be at least 40 (20 chunks of 2 rows), got {args.n_test}")
    check_out(p, args)
    for name in ("graph", "temperature", "coupling_seed"):
        setattr(args, name, None)
    cfg = settings(args, n_train=exp.n_train, n_test=args.n_test or exp.n_test, steps=0)
    timer = Timer()
    with timer.phase("data"):
        X_train, X_test, _ = load_data(exp, args, cfg)
    n = X_train.shape[1]
    budget = {"rbm": {}, "ebm": {}}
    if args.quick:
        budget = {k: v | chain_options(n, burn_in=QUICK_BURN_IN[k]) for k, v in QUICK.items()}
    budget = {k: {**v, "selection": args.selection} for k, v in budget.items()}
    budget["rbm"], budget["ebm"] = budgets(args, budget["rbm"], budget["ebm"])
    sig = list(exp.sigmas)
    models, fit_s = {}, {}
    for label, make in (
        ("independent", lambda: IndependentBits(symmetry="auto")),
        ("RBM", lambda: RBM(**(exp.rbm | budget["rbm"]))),
        ("DeepEBM", lambda: DeepEBM(**(exp.ebm | budget["ebm"]))),
    ):
        t0 = time.perf_counter()
        with timer.phase(f"train {label}"):
            models[label] = make().set_params(sigma=sig, random_state=args.seed).fit(X_train)
        fit_s[label] = time.perf_counter() - t0
    key = jax.random.fold_in(jax.random.key(args.seed), 1)
    eval_sigmas = evaluate.paper_bandwidths(exp.sigmas)
    k_eval, k_random = jax.random.split(key)
    sources = dict(models)
    sources["uniform"] = evaluate.random_rows(len(X_train), X_train.shape[1], key=k_random)
    results, diag = {}, {}
    for label, model in sources.items():
        with timer.phase(f"evaluate {label}"):
            if label in ("RBM", "DeepEBM"):  # one draw: its diagnostics are the table's
                model, diag[label] = draw(model, cfg["model_samples"], args.seed)
            results[label] = evaluate.paper_mmd(
                model, X_test, eval_sigmas, key=k_eval, n_chunks=cfg["chunks"],
                n_model_samples=cfg["model_samples"],
            )  # fmt: skip
        if label in diag and X_train.shape[1] <= 16:
            picked = [eval_sigmas[i] for i in (0, len(eval_sigmas) // 2, -1)]
            diag[label]["exact_test_mmd"] = exact_test_mmd(
                models[label].log_prob_table(), X_test, picked
            )
    picks = [0, len(eval_sigmas) // 2, -1]
    uni = results["uniform"].mean[picks]
    paper_uni = np.asarray(exp.paper["uniform"])
    lines = [
        f"{exp.name}: test MMD² / uniform at σ = " + " / ".join(f"{eval_sigmas[i]}" for i in picks)
    ]
    rows = {}
    for label, est in results.items():
        ratio = est.mean[picks] / uni
        err = est.stderr[picks] / uni
        paper = exp.paper.get(label)
        paper_ratio = None if paper is None else (np.asarray(paper) / paper_uni).tolist()
        rows[label] = {
            "mmd": est.mean.tolist(),
            "stderr": est.stderr.tolist(),
            "ratio": ratio.tolist(),
            "paper_ratio": paper_ratio,
            "fit_s": fit_s.get(label),
            **diag.get(label, {}),
        }
        lines.append(
            f"  {label:<12} "
            + " / ".join(f"{r:.4f}±{e:.4f}" for r, e in zip(ratio, err, strict=True))
            + (
                ""
                if paper_ratio is None
                else "   paper " + " / ".join(f"{r:.4f}" for r in paper_ratio)
            )
        )
    for label, d in diag.items():
        lines.append(f"  {label}: {json.dumps(d)}")
    exact = {}
    if X_train.shape[1] <= 16:
        with timer.phase("exact MMD²"):
            exact = exact_rows(diag, X_test, [eval_sigmas[i] for i in picks], args)
        lines.append("exact MMD² to the whole test set / uniform bits' (same bandwidths):")
        lines += [
            f"  {label:<16} "
            + " / ".join(f"{a / u:.4f}" for a, u in zip(v, exact["uniform"], strict=True))
            for label, v in exact.items()
            if label != "uniform"
        ]
    text = "\n".join(lines)
    print(text)
    summary = {"experiment": exp.name, "sigmas": eval_sigmas, "rows": rows, "times_s": timer.times}
    if exact:
        summary["exact_test_mmd"] = {"sigmas": [eval_sigmas[i] for i in picks], **exact}
    with open(os.path.join(args.out, "baselines.json"), "w") as f:
        json.dump(summary, f, indent=2, default=float)
    print(timer.report())
    return summary


if __name__ == "__main__":
    run_script(main)
