"""The whole job around one step, timed in one run at 1,000 qubits and beyond.

What a user waits for besides a single one-bandwidth step, each as a same-run ratio:

* ``bandwidths``: one training step at three bandwidths (11.169, 8.348, 3.825) with
  ``control+antithetic`` estimates against one bandwidth (3.825) with plain estimates;
  1,000 qubits, all pairs, 4,000 data rows, ``n_ops = n_samples = 1000`` per bandwidth;
* ``fit``: ``IqpModel.fit`` with those three bandwidths, its time per step (the difference
  between fits of ``--steps`` and ``3 × --steps`` steps, so set-up and compilation cancel)
  against the three-bandwidth step;
* ``build``: ``gates.local_circuit(10_000, 2)``;
* ``sparse``: one step of a 100,000-qubit Barabási–Albert (m = 3) circuit against the
  1,000-qubit all-pairs step (``bench_mmd.py``'s settings: one bandwidth 3.825·√(n/1000),
  1,000 data rows);
* ``evaluation``: ``evaluate.paper_mmd`` of the fitted model on 2,000 test rows (the paper's
  ten bandwidths, 20 chunks) against 100 fit steps.

Usage::

    python benchmarks/bench_job.py --out benchmarks/results-cpu-2core-job.json
    python benchmarks/bench_job.py --quick      # small sizes, a check that it runs
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import jax
import jax.numpy as jnp
import numpy as np

import iqpgen
from iqpgen import evaluate, mmd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_mmd import _timed, machine, run_iqpgen  # noqa: E402

THREE = (11.169, 8.348, 3.825)


def step_times(n: int, rows: int, repeats: int) -> dict:
    """Median step of one plain bandwidth and of three with control+antithetic estimates."""
    circuit = jax.device_put(iqpgen.gates.local_circuit(n, 2))
    X = np.random.default_rng(0).integers(0, 2, (rows, n))
    data = mmd.pack_data(X)
    params = jnp.asarray(iqpgen.init.from_data(circuit, X))
    out = {}
    for name, sigmas, vr in [("one", (3.825,), "none"), ("three", THREE, "control+antithetic")]:

        def loss(p, key, c, sigmas=sigmas, vr=vr):
            kw = dict(sigmas=sigmas, n_ops=1000, n_samples=1000, variance_reduction=vr)
            return mmd.loss_from_packed(c, p, data, key, **kw)

        step = jax.jit(jax.value_and_grad(loss))
        compile_s, step_s = _timed(step, (params, jax.random.key(0), circuit), repeats)
        out[name] = {"compile_s": compile_s, "step_s": step_s}
    out["ratio"] = out["three"]["step_s"] / out["one"]["step_s"]
    return out


def fit_times(n: int, rows: int, test_rows: int, steps: int) -> dict:
    """Per-step time of ``IqpModel.fit`` and the paper-protocol evaluation of its model."""
    rng = np.random.default_rng(1)
    X = (rng.random((rows + test_rows, n)) < 0.3).astype(np.uint8)
    kw = dict(sigma=list(THREE), variance_reduction="control+antithetic", random_state=0)
    walls = {}
    for k in (steps, 3 * steps):
        model = iqpgen.IqpModel(max_steps=k, verbose=False, **kw)
        t0 = time.perf_counter()
        with warnings.catch_warnings():  # random bits: no validation gain to report
            warnings.simplefilter("ignore", iqpgen.train.NoImprovementWarning)
            model.fit(X[:rows])
        walls[k] = time.perf_counter() - t0
    per_step = (walls[3 * steps] - walls[steps]) / (2 * steps)
    sigmas = evaluate.paper_bandwidths(THREE)
    t0 = time.perf_counter()
    evaluate.paper_mmd(model, X[rows:], sigmas, key=jax.random.key(0))
    eval_s = time.perf_counter() - t0
    return {
        "fit_s": walls,
        "fit_step_s": per_step,
        "paper_mmd_s": eval_s,
        "paper_mmd_over_100_steps": eval_s / (100 * per_step),
    }


def build_time(n: int) -> float:
    t0 = time.perf_counter()
    iqpgen.gates.local_circuit(n, 2)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if args.quick:
        n, rows, test_rows, steps, build_n, sparse_n = 100, 400, 200, 10, 1000, 2000
    else:
        n, rows, test_rows, steps, build_n, sparse_n = 1000, 4000, 2000, 50, 10_000, 100_000
    result = {"machine": machine(), "qubits": n}
    result["bandwidths"] = step_times(n, rows, args.repeats)
    b = result["bandwidths"]
    print(
        f"{n} qubits: one bandwidth {b['one']['step_s']:.3f} s, three with control+antithetic "
        f"{b['three']['step_s']:.3f} s: {b['ratio']:.2f}x",
        flush=True,
    )
    result["fit"] = fit_times(n, rows, test_rows, steps)
    f = result["fit"]
    print(
        f"fit: {f['fit_step_s']:.3f} s a step, {f['fit_step_s'] / b['three']['step_s']:.2f}x "
        f"the three-bandwidth step; paper_mmd {f['paper_mmd_s']:.1f} s = "
        f"{f['paper_mmd_over_100_steps']:.2f}x 100 fit steps",
        flush=True,
    )
    result["build_s"] = build_time(build_n)
    print(f"local_circuit({build_n}, 2): {result['build_s']:.2g} s", flush=True)
    dense = run_iqpgen(n, "all-pairs", args.repeats)
    sparse = run_iqpgen(sparse_n, "sparse", 1)
    result["sparse"] = {
        "dense": dense,
        "sparse": sparse,
        "ratio": sparse["step_s"] / dense["step_s"],
    }
    print(
        f"{sparse_n}-qubit graph step {sparse['step_s']:.2f} s vs {n}-qubit all-pairs "
        f"{dense['step_s']:.3f} s: {result['sparse']['ratio']:.1f}x",
        flush=True,
    )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=2, default=str)


if __name__ == "__main__":
    main()
