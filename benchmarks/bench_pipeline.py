"""Each phase of the paper's four experiments, timed in one run.

Runs ``examples/paper.py`` on 8blobs, ising, dwave and scale_free one after the other, each in
its own process (imports and compilations included, as a user runs it), and tabulates the
phase times the script records (``times_s`` in its ``results.json``: data, each model's fit,
the evaluation of each model, sampling, correlations, plots) and each process's wall time.

Usage::

    python benchmarks/bench_pipeline.py --quick \
        --out benchmarks/results-cpu-2core-pipeline-quick.json
    python benchmarks/bench_pipeline.py --out results.json    # full size: hours on 2 cores
    python benchmarks/bench_pipeline.py --experiments 8blobs ising   # a subset
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_mmd import machine  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXPERIMENTS = ("8blobs", "ising", "dwave", "scale_free")


def run_experiment(name: str, quick: bool, out_dir: str) -> dict:
    """Wall time and recorded phase times of one ``paper.py`` run."""
    cmd = [sys.executable, os.path.join(ROOT, "examples", "paper.py"), name, "--out", out_dir]
    if quick:
        cmd.append("--quick")
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"paper.py {name} failed:\n{(proc.stdout + proc.stderr)[-3000:]}")
    with open(os.path.join(out_dir, "results.json")) as fh:
        times = json.load(fh)["times_s"]
    return {"wall_s": wall, "phases_s": {k.strip(): v for k, v in times.items()}}


def table(results: dict) -> str:
    names = list(results)
    phases: list[str] = []
    for r in results.values():
        phases += [p for p in r["phases_s"] if p not in phases]
    rows = ["| phase | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for p in phases:
        cells = [results[n]["phases_s"].get(p) for n in names]
        rows.append(
            f"| {p} | " + " | ".join("—" if c is None else f"{c:.1f}" for c in cells) + " |"
        )
    rows.append("| **process wall time** | " + " | ".join(
        f"**{results[n]['wall_s']:.1f}**" for n in names) + " |")  # fmt: skip
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="paper.py --quick (small sizes)")
    ap.add_argument("--experiments", nargs="+", choices=EXPERIMENTS, default=list(EXPERIMENTS))
    ap.add_argument("--out", default=None, help="JSON file for the results")
    args = ap.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.experiments:
            results[name] = run_experiment(name, args.quick, os.path.join(tmp, name))
            print(f"{name}: {results[name]['wall_s']:.1f} s", flush=True)
    print(table(results))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"machine": machine(), "quick": args.quick, "results": results}, fh, indent=2)


if __name__ == "__main__":
    main()
