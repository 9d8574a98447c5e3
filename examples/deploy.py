"""Train on classical, deploy on quantum: a small IQP model run on a PennyLane device.

Trains a 10-qubit IQP model on noisy copies of four bitstrings
(:func:`iqpgen.datasets.blobs`), then

* checks the exported circuit: the device's exact probabilities against iqpgen's state vector;
* samples the circuit on ``lightning.qubit`` (any PennyLane device name works, hardware plugins
  included) and compares the samples' MMD² to the test data
  (:func:`iqpgen.kernel.between_samples`) with the model's own estimate (``model.mmd``, computed
  from expectation values without sampling) and the exact value (state vector);
* writes the OpenQASM 2.0 program (``model.qasm``) and the model (``model.npz``) to ``--out``
  (default ``runs/deploy``);
* prints the resources of a 1,000-qubit model with every gate of weight 1 and 2 — the size
  trained in ``examples/scale_free.py`` — decomposed to h, rz and cx.

    python examples/deploy.py           # 500 steps, 2,000 shots
    python examples/deploy.py --quick   # 60 steps, 300 shots
"""

from __future__ import annotations

import argparse
import os

import jax
import numpy as np
from _common import Timer, check_out, nonnegative_int, positive_int, run_script, split

import iqpgen
from iqpgen import datasets, evaluate


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="a small run (seconds)")
    p.add_argument("--out", default=os.path.join("runs", "deploy"), help="output folder")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--device", default="lightning.qubit", help="PennyLane device name")
    p.add_argument("--qubits", type=positive_int, default=10, help="bits of the dataset")
    args = p.parse_args(argv)
    import pennylane as qml

    try:  # the device exists, before the training
        qml.device(args.device, wires=1)
    except Exception as err:  # PennyLane's DeviceError and plugins' own errors
        p.error(f"--device {args.device!r} cannot be used: {' '.join(str(err).split())}")
    check_out(p, args)
    steps, shots, n_ops = (60, 300, 200) if args.quick else (500, 2000, 1000)
    timer = Timer()
    key = jax.random.key(args.seed)
    k_data, k_split = jax.random.split(key)

    with timer.phase("data"):
        X = datasets.blobs(1500, key=k_data, n_bits=args.qubits, n_blobs=4, flip_prob=0.05)
        X_train, X_test = split(X, 500, k_split)
    sigmas = iqpgen.kernel.sigma_heuristic(X_train)
    print(f"blobs: {args.qubits} bits; σ = {', '.join(f'{s:.2f}' for s in sigmas)}")

    model = iqpgen.IqpModel(
        sigma=sigmas,
        n_ops=n_ops,
        n_samples=n_ops,
        learning_rate=0.02,
        max_steps=steps,
        random_state=args.seed,
    )
    with timer.phase("train"):
        model.fit(X_train)
    print(f"  {model.circuit_.n_params} gates; loss {model.history_.loss[:10].mean():.4f} "
          f"(first 10 steps) -> {model.history_.loss[-10:].mean():.4f} (last 10)")  # fmt: skip

    with timer.phase("check export"):
        node = model.qnode(device=args.device)  # exact probabilities on the device
        diff = float(np.max(np.abs(np.asarray(node()) - model.probs())))
    print(f"  max |p_device − p_iqpgen| over 2^{args.qubits} bitstrings: {diff:.2e}")

    with timer.phase(f"sample on {args.device}"):
        shots_dev = model.sample(shots, device=args.device, random_state=args.seed)
    print(f"  {shots_dev.shape[0]} shots of {shots_dev.shape[1]} qubits")

    with timer.phase("compare"):
        # The model's own estimate per σ (expectation values, no sampling), ± standard error.
        est = evaluate.mmd_vs_sigma(
            model,
            X_test,
            sigmas,
            key=jax.random.key(args.seed),
            n_ops=n_ops,
            n_samples=n_ops,
            n_repeats=10,
        )
        rows = [
            (
                s,
                f"{m:.3e} ± {e:.0e}",
                float(iqpgen.mmd.exact(model.circuit_, model.params_, X_test, s)),
                iqpgen.kernel.between_samples(shots_dev, X_test, s),
                iqpgen.kernel.between_samples(X_train[:shots], X_test, s),
            )
            for s, m, e in zip(sigmas, est.mean, est.stderr, strict=True)
        ]
        own = model.mmd(X_test)  # what model.score reports (averaged over sigma_)
    print("\nMMD² to the test data")
    head = ("σ", "model estimate", "exact", f"{args.device} shots", "training data")
    print("  ".join(f"{h:>20}" for h in head))
    for r in rows:
        print("  ".join(f"{v:>20}" if isinstance(v, str) else f"{v:20.3e}" for v in r))
    avg = [np.mean([r[i] for r in rows]) for i in (2, 3, 4)]
    print(f"{'average':>20}  {own:20.3e}  {avg[0]:20.3e}  {avg[1]:20.3e}  {avg[2]:20.3e}")
    print("(model estimate per σ: iqpgen.evaluate.mmd_vs_sigma; average: model.mmd(X_test))")

    with timer.phase("export"):
        model.save(os.path.join(args.out, "model.npz"))
        qasm = model.to_qasm()
        with open(os.path.join(args.out, "model.qasm"), "w") as f:
            f.write(qasm)
    print(f"  model.qasm: {len(qasm.splitlines())} lines")

    with timer.phase("resources at 1,000 qubits"):
        big = iqpgen.gates.local_circuit(1000, 2)
        res = iqpgen.export.resources(big, diagonal_layers=True)
    print(f"  1,000 qubits, {big.n_params:,} gates of weight 1 and 2: {res.counts}")
    print(f"  two-qubit gates {res.n_two_qubit:,}; depth {res.depth:,} in generator order, "
          f"{res.layered_depth:,} with the diagonal gates packed into {res.n_layers} "
          "layers (all-to-all connectivity)")  # fmt: skip
    print(timer.report())
    return {"rows": rows, "model_mmd": own, "max_prob_diff": diff, "resources": res}


if __name__ == "__main__":
    run_script(main)
