"""Time and memory of one MMD² value-and-gradient step, iqpgen against two references.

For each size, in one run of this script (each measurement in its own subprocess, so that
peak memory is that of the measurement alone):

* ``iqpgen``: ``jax.value_and_grad`` of :func:`iqpgen.mmd.loss_from_packed`, jit-compiled, all
  weight-1/2 gates (``gates.local_circuit(n, 2)``) or a sparse Barabási–Albert layout;
* ``pennylane``: ``qml.qnn.iqp_expval`` with an MMD² written on top, jit-compiled the way a
  user would (where it fits in the time limit);
* ``matmul``: a plain ``jnp.dot`` with the FLOP count of the dense contraction
  ``(n_ops × n_gens)·(n_gens × n_samples)``: timed directly where both matrices fit in memory,
  else its time is the FLOP count divided by the rate measured on the largest that fits.

Times are medians of at least ``--repeats`` runs after compilation (fast steps repeat until
2 s are timed); memory is the subprocess's peak resident set. Usage::

    python benchmarks/bench_mmd.py --sizes 100 300 1000 3000 10000 --out benchmarks/results.json
    python benchmarks/bench_mmd.py --quick        # 100 and 300 qubits, seconds
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

N_OPS = 1000
N_SAMPLES = 1000


def paper_sigma(n: int) -> float:
    """The paper's smallest bandwidth, 3.825 at 1,000 qubits, scaled as sqrt(n / 1000)."""
    return 3.825 * (n / 1000) ** 0.5


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


# Fast steps are repeated until this much time is spent (at most _MAX_REPEATS runs): the
# median of 3 steps of 0.1 s moves by 20-30% on a shared machine.
_MIN_TIMED_SECONDS = 2.0
_MAX_REPEATS = 51


def _timed(f, args, repeats):
    """``(compile seconds, median step seconds)`` over at least ``repeats`` runs."""
    import jax

    t0 = time.perf_counter()
    jax.block_until_ready(f(*args))
    compile_s = time.perf_counter() - t0
    times = []
    while len(times) < repeats or (sum(times) < _MIN_TIMED_SECONDS and len(times) < _MAX_REPEATS):
        t0 = time.perf_counter()
        jax.block_until_ready(f(*args))
        times.append(time.perf_counter() - t0)
    times.sort()
    return compile_s, times[len(times) // 2]


def _data(n: int, m: int = 1000):
    import jax
    import numpy as np

    return np.asarray(jax.random.bernoulli(jax.random.key(1), 0.3, (m, n)), np.uint8)


def run_iqpgen(n: int, layout: str, repeats: int) -> dict:
    import functools

    import jax
    import jax.numpy as jnp

    import iqpgen
    from iqpgen.mmd import loss_from_packed, pack_data

    t0 = time.perf_counter()
    if layout == "all-pairs":
        circuit = iqpgen.gates.local_circuit(n, 2)
    else:
        import networkx as nx

        G = nx.barabasi_albert_graph(n, 3, seed=0)
        circuit = iqpgen.IqpCircuit(n, iqpgen.gates.graph(G))
    build_s = time.perf_counter() - t0
    circuit = jax.device_put(circuit)  # once, as a training loop holds it
    X = _data(n)
    data = pack_data(X)
    params = iqpgen.init.from_data(circuit, X)
    loss = functools.partial(
        loss_from_packed, sigmas=(paper_sigma(n),), n_ops=N_OPS, n_samples=N_SAMPLES
    )
    step = jax.jit(jax.value_and_grad(loss, argnums=1))
    compile_s, step_s = _timed(step, (circuit, params, data, jax.random.key(0)), repeats)
    return {
        "params": circuit.n_params,
        "build_s": build_s,
        "compile_s": compile_s,
        "step_s": step_s,
        "dtype": str(jnp.result_type(params)),
    }


def run_pennylane(n: int, repeats: int) -> dict:
    import jax
    import jax.numpy as jnp
    import numpy as np
    import pennylane as qml

    import iqpgen

    pattern = [[list(g) for g in gate] for gate in iqpgen.gates.local(n, 2)]
    X = _data(n)
    p = iqpgen.mmd.op_probability(paper_sigma(n))
    ops = np.asarray(jax.random.bernoulli(jax.random.key(2), p, (N_OPS, n)), np.int32)
    data_expvals = jnp.asarray((1 - 2 * ((X.astype(np.int64) @ ops.T) % 2)).mean(0))

    def loss(weights, key):
        model, _ = qml.qnn.iqp_expval(ops, weights, pattern, n, N_SAMPLES, key)
        return jnp.mean((model - data_expvals) ** 2)

    step = jax.jit(jax.value_and_grad(loss))
    weights = jnp.full(len(pattern), 0.01)
    compile_s, step_s = _timed(step, (weights, jax.random.key(0)), repeats)
    return {"params": len(pattern), "compile_s": compile_s, "step_s": step_s}


def run_matmul(n: int, repeats: int, max_bytes: float) -> dict:
    import jax
    import jax.numpy as jnp

    n_gens = n * (n + 1) // 2
    flops = 2.0 * N_OPS * n_gens * N_SAMPLES
    k = n_gens
    if 4 * k * (N_OPS + N_SAMPLES) > max_bytes:  # too big: time the largest that fits
        k = int(max_bytes // (4 * (N_OPS + N_SAMPLES)))
    a = jnp.ones((N_OPS, k), jnp.float32)
    b = jnp.ones((k, N_SAMPLES), jnp.float32)
    _, t = _timed(jax.jit(jnp.dot), (a, b), repeats)
    rate = 2.0 * N_OPS * k * N_SAMPLES / t
    return {"flops": flops, "step_s": flops / rate, "gflops": rate / 1e9, "measured": k == n_gens}


def child(kind: str, n: int, layout: str, repeats: int, max_bytes: float) -> None:
    if kind == "iqpgen":
        out = run_iqpgen(n, layout, repeats)
    elif kind == "pennylane":
        out = run_pennylane(n, repeats)
    else:
        out = run_matmul(n, repeats, max_bytes)
    out.update(kind=kind, n=n, layout=layout, peak_gb=peak_gb())
    print("RESULT " + json.dumps(out), flush=True)


def spawn(kind: str, n: int, layout: str, args) -> dict:
    cmd = [
        sys.executable, __file__, "--child", kind, "--n", str(n), "--layout", layout,
        "--repeats", str(args.repeats), "--max-matmul-gb", str(args.max_matmul_gb),
    ]  # fmt: skip
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        return {"kind": kind, "n": n, "layout": layout, "error": f"over {args.timeout} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    err = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"kind": kind, "n": n, "layout": layout, "error": err[:200]}


def machine() -> dict:
    import jax
    import jaxlib

    import iqpgen

    info = {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "iqpgen": iqpgen.__version__,
        "device": str(jax.devices()[0]),
    }
    try:
        import pennylane as qml

        info["pennylane"] = qml.__version__
    except ImportError:
        pass
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as f:
            info["memory_gb"] = round(int(f.readline().split()[1]) / 1e6, 1)
    except OSError:
        pass
    return info


def table(results: list[dict]) -> str:
    rows = {}
    for r in results:
        rows.setdefault((r["n"], r.get("layout", "all-pairs")), {})[r["kind"]] = r
    lines = [
        "| qubits | layout | params | iqpgen step (s) | peak GB | compile (s) | "
        "matmul FLOPs time (s) | ratio to matmul | PennyLane step (s) | speed-up |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (n, layout), kinds in sorted(rows.items()):
        it, mm, pl = kinds.get("iqpgen", {}), kinds.get("matmul", {}), kinds.get("pennylane", {})

        def f(d, key, fmt="{:.3g}"):
            return fmt.format(d[key]) if key in d else d.get("error", "—")

        ratio = f"{it['step_s'] / mm['step_s']:.4f}" if "step_s" in it and "step_s" in mm else "—"
        speed = f"{pl['step_s'] / it['step_s']:.0f}×" if "step_s" in it and "step_s" in pl else "—"
        mm_s = f(mm, "step_s") + ("" if mm.get("measured", True) else " (rate)")
        lines.append(
            f"| {n:,} | {layout} | {it.get('params', '—'):,} | {f(it, 'step_s')} | "
            f"{f(it, 'peak_gb', '{:.2f}')} | {f(it, 'compile_s', '{:.1f}')} | {mm_s} | {ratio} | "
            f"{f(pl, 'step_s')} | {speed} |"
        )
    return "\n".join(lines)


def plot(results: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for kind, layout, label in [
        ("iqpgen", "all-pairs", "iqpgen, all pairs"),
        ("iqpgen", "sparse", "iqpgen, sparse graph"),
        ("pennylane", "all-pairs", "PennyLane iqp_expval"),
        ("matmul", "all-pairs", "dense-contraction FLOPs (matmul)"),
    ]:
        pts = sorted(
            (r["n"], r["step_s"])
            for r in results
            if r["kind"] == kind and r.get("layout") == layout and "step_s" in r
        )
        if pts:
            ax.loglog(*zip(*pts, strict=True), "o-", label=label)
    ax.set_xlabel("qubits")
    ax.set_ylabel("seconds per value-and-gradient step")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000, 3000, 10000])
    ap.add_argument("--sparse-sizes", type=int, nargs="*", default=[1000, 10000, 100000])
    ap.add_argument("--pennylane-sizes", type=int, nargs="*", default=[100, 300])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--max-matmul-gb", type=float, default=6.0)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=None)
    ap.add_argument("--plot", default=None)
    ap.add_argument("--child", default=None)
    ap.add_argument("--n", type=int, default=0)
    ap.add_argument("--layout", default="all-pairs")
    args = ap.parse_args()
    if args.child:
        child(args.child, args.n, args.layout, args.repeats, args.max_matmul_gb * 1e9)
        return
    if args.quick:
        args.sizes, args.sparse_sizes, args.pennylane_sizes = [100, 300], [300], [100]
    jobs = [("matmul", n, "all-pairs") for n in args.sizes]
    jobs += [("iqpgen", n, "all-pairs") for n in args.sizes]
    jobs += [("iqpgen", n, "sparse") for n in args.sparse_sizes]
    jobs += [("pennylane", n, "all-pairs") for n in args.pennylane_sizes]
    results = []
    for kind, n, layout in jobs:
        r = spawn(kind, n, layout, args)
        print(json.dumps(r), flush=True)
        results.append(r)
    report = {"machine": machine(), "n_ops": N_OPS, "n_samples": N_SAMPLES, "results": results}
    print(table(results))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
    if args.plot:
        plot(results, args.plot)


if __name__ == "__main__":
    main()
