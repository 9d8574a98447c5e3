"""Small circuits: exact and Monte Carlo MMD² value-and-gradient steps, path beside path.

For each size ``n`` and gate set (every gate of weight ≤ w, ``gates.local_circuit(n, w)``),
in one run of this script, each measurement in its own subprocess (peak memory is that of the
measurement alone), at the paper's 16-bit bandwidths σ = [0.6, 1.3]:

* ``exact``: ``jax.value_and_grad`` of :func:`iqpgen.mmd.exact_from_table` (noise-free);
* ``table``, ``generic``, ``pairwise``: :func:`iqpgen.mmd.loss_from_packed` with
  ``n_ops = n_samples = 1000`` per bandwidth on each Monte Carlo path (``generic`` where its
  cost model says under a minute, ``pairwise`` for weight ≤ 2); ``auto`` names the path
  ``mmd_loss`` picks and :func:`iqpgen.fitplan.choose_estimator`'s choice;
* ``pennylane``: ``qml.qnn.iqp_expval`` with an MMD² written on top, jit-compiled (weight ≤ 2
  up to 16 qubits);
* ``matmul``: ``jnp.dot`` with the FLOP count of the dense contraction
  ``(n_ops × n_gens)·(n_gens × n_samples)`` of the generic path.

Usage::

    python benchmarks/bench_exact.py --out benchmarks/results-cpu-2core-exact.json \\
        --plot benchmarks/results-cpu-2core-exact.png
    python benchmarks/bench_exact.py --quick
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from bench_mmd import _timed, machine, peak_gb

N_OPS = 1000
N_SAMPLES = 1000
SIGMAS = (0.6, 1.3)
# Skip a Monte Carlo path whose cost model predicts more than this many seconds a step.
MAX_PREDICTED_S = 60.0


def _setup(n: int, w: int):
    import jax
    import numpy as np

    import iqpgen

    circuit = jax.device_put(iqpgen.gates.local_circuit(n, w))
    X = np.asarray(jax.random.bernoulli(jax.random.key(1), 0.3, (5000, n)), np.uint8)
    params = iqpgen.init.from_data(circuit, X, scale=1e-2)
    return circuit, X, params


def run(kind: str, n: int, w: int, repeats: int) -> dict:
    import functools

    import jax
    import jax.numpy as jnp

    from iqpgen import costs, fitplan, mmd

    circuit, X, params = _setup(n, w)
    out = {"gates": circuit.n_params}
    if kind == "exact":
        loss = functools.partial(mmd.exact_from_table, sigmas=SIGMAS)
        args = (circuit, params, mmd.data_table(X))
        out["predicted_s"] = costs.exact_step_cost(n, len(SIGMAS)) / 1e9
    elif kind == "matmul":
        k = circuit.n_generators
        a = jnp.ones((len(SIGMAS) * N_OPS, k), jnp.float32)
        b = jnp.ones((k, N_SAMPLES), jnp.float32)
        _, t = _timed(jax.jit(jnp.dot), (a, b), repeats)
        out.update(step_s=t, gflops=2.0 * a.shape[0] * k * N_SAMPLES / t / 1e9)
        return out
    elif kind == "pennylane":
        return out | run_pennylane(circuit, X, repeats)
    else:
        path = costs.choose_path(circuit, len(SIGMAS) * N_OPS, N_SAMPLES)
        out["auto_path"] = path
        out["auto_estimator"] = fitplan.choose_estimator(circuit, len(SIGMAS), N_OPS, N_SAMPLES)
        loss = functools.partial(
            mmd.loss_from_packed,
            sigmas=SIGMAS,
            n_ops=N_OPS,
            n_samples=N_SAMPLES,
            path=path if kind == "auto" else kind,
        )
        args = (circuit, params, mmd.pack_data(X), jax.random.key(0))
        predicted = costs.path_costs(circuit, len(SIGMAS) * N_OPS, N_SAMPLES)
        out["predicted_s"] = predicted[path if kind == "auto" else kind] / 1e9
    step = jax.jit(jax.value_and_grad(loss, argnums=1))
    compile_s, step_s = _timed(step, args, repeats)
    return out | {"compile_s": compile_s, "step_s": step_s}


def run_pennylane(circuit, X, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import pennylane as qml

    import iqpgen

    n = circuit.n_qubits
    pattern = [[list(g) for g in gate] for gate in circuit.gates]
    ops, targets = [], []
    for s in SIGMAS:
        p = iqpgen.mmd.op_probability(s)
        o = np.asarray(jax.random.bernoulli(jax.random.key(2), p, (N_OPS, n)), np.int32)
        ops.append(o)
        targets.append((1 - 2 * ((X.astype(np.int64) @ o.T) % 2)).mean(0))
    ops, targets = np.concatenate(ops), jnp.asarray(np.concatenate(targets))

    def loss(weights, key):
        model, _ = qml.qnn.iqp_expval(ops, weights, pattern, n, N_SAMPLES, key)
        return jnp.mean((model - targets) ** 2)

    step = jax.jit(jax.value_and_grad(loss))
    compile_s, step_s = _timed(step, (jnp.full(len(pattern), 0.01), jax.random.key(0)), repeats)
    return {"compile_s": compile_s, "step_s": step_s}


def jobs(sizes: list[int], weights: list[int], pennylane_max: int) -> list[tuple[str, int, int]]:
    import iqpgen
    from iqpgen import costs

    out = []
    cases = [(n, w) for n in sizes for w in weights if w <= n]
    if 16 in sizes:
        cases.append((16, 6))  # the paper's 8-blobs model: 14,892 gates
    for n, w in sorted(set(cases)):
        c = iqpgen.gates.local_circuit(n, w)
        predicted = costs.path_costs(c, len(SIGMAS) * N_OPS, N_SAMPLES)
        kinds = ["exact", "auto", "table", "matmul"]
        if predicted["generic"] / 1e9 < MAX_PREDICTED_S:
            kinds.append("generic")
        if w <= 2:
            kinds.append("pairwise")
            if n <= pennylane_max:
                kinds.append("pennylane")
        out += [(k, n, w) for k in kinds]
    return out


def spawn(kind: str, n: int, w: int, args) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--n", str(n), "--w", str(w)]
    cmd += ["--repeats", str(args.repeats)]
    base = {"kind": kind, "n": n, "w": w}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return base | {"error": f"over {args.timeout} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return base | {"error": err[:200]}


def table(results: list[dict]) -> str:
    rows: dict = {}
    for r in results:
        rows.setdefault((r["n"], r["w"]), {})[r["kind"]] = r
    lines = [
        "| qubits | weight ≤ | gates | exact (ms) | MC table (ms) | MC generic (ms) | "
        "MC pairwise (ms) | auto path | auto estimator | matmul FLOPs (ms) | PennyLane (ms) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (n, w), k in sorted(rows.items()):

        def ms(kind, k=k):
            r = k.get(kind, {})
            return f"{1e3 * r['step_s']:.3g}" if "step_s" in r else r.get("error", "—")

        auto = k.get("auto", {})
        gates = next((r["gates"] for r in k.values() if "gates" in r), 0)
        lines.append(
            f"| {n} | {w} | {gates:,} | {ms('exact')} | {ms('table')} | {ms('generic')} | "
            f"{ms('pairwise')} | {auto.get('auto_path', '—')} | "
            f"{auto.get('auto_estimator', '—')} | {ms('matmul')} | {ms('pennylane')} |"
        )
    return "\n".join(lines)


def plot(results: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    weights = sorted({r["w"] for r in results if r["w"] != 6})
    fig, axes = plt.subplots(1, len(weights), figsize=(5 * len(weights), 4), squeeze=False)
    for ax, w in zip(axes[0], weights, strict=True):
        for kind, label in [
            ("exact", "exact MMD²"),
            ("table", "Monte Carlo, phase table"),
            ("generic", "Monte Carlo, generic"),
            ("pairwise", "Monte Carlo, pairwise"),
            ("pennylane", "PennyLane iqp_expval"),
            ("matmul", "dense-contraction FLOPs (matmul)"),
        ]:
            pts = sorted(
                (r["n"], r["step_s"])
                for r in results
                if r["kind"] == kind and r["w"] == w and "step_s" in r
            )
            if pts:
                ax.semilogy(*zip(*pts, strict=True), "o-", label=label)
        ax.set_title(f"every gate of weight ≤ {w}")
        ax.set_xlabel("qubits")
        ax.set_ylabel("seconds per value-and-gradient step")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[8, 12, 16, 20, 22, 24])
    ap.add_argument("--weights", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--pennylane-max", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--plot", default=None)
    ap.add_argument("--child", default=None)
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--w", type=int, default=2)
    args = ap.parse_args()
    if args.child:
        out = run(args.child, args.n, args.w, args.repeats)
        out.update(kind=args.child, n=args.n, w=args.w, peak_gb=peak_gb())
        print("RESULT " + json.dumps(out), flush=True)
        return
    if args.quick:
        args.sizes, args.weights, args.pennylane_max = [8, 12], [2], 8
    results = []
    for kind, n, w in jobs(args.sizes, args.weights, args.pennylane_max):
        r = spawn(kind, n, w, args)
        print(json.dumps(r), flush=True)
        results.append(r)
    print(table(results))
    report = {"machine": machine(), "n_ops": N_OPS, "n_samples": N_SAMPLES, "sigmas": SIGMAS}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report | {"results": results}, f, indent=1)
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
