"""Deploy on a (fake) IBM device: native connectivity, zero SWAPs, noise, verified samples.

1. Takes a fake IBM device of ``qiskit_ibm_runtime.fake_provider`` (default the 127-qubit
   ``FakeSherbrooke``: the coupling map and calibrations of a real device) and a connected
   piece of ``--qubits`` of its qubits (by default all but its broken ones: a qubit whose
   calibrated readout error is 0.25 or more, as one of FakeSherbrooke's is, is left out).
2. Generates data from an Ising model on exactly those couplings (random ``J ~ U(−1, 1)``, a
   field of 0.5 so that the bits lean to 1, ``T = 1``; Gibbs sampling,
   :func:`iqpgen.datasets.sample_ising`) and trains an IQP model whose pair
   gates are the device's native pairs (:func:`iqpgen.gates.coupling_graph`).
3. Routes and compiles it for the device: zero SWAPs (:func:`iqpgen.export.resources` with
   ``backend=``), beside the SWAPs an all-to-all model of the same width would need.
4. Samples it with Qiskit Aer (:func:`iqpgen.export.sample_aer`): ideal; with the device's
   readout errors; and, on pieces of up to 16 qubits, with its whole noise model (gate
   errors, relaxation, readout), which Aer evolves as one density matrix up to 12 qubits
   and samples shot by shot above. Otherwise by state vector up to 20 qubits, by
   matrix-product states beyond (time and largest bond dimension reported).
5. Checks every set of samples against the trained circuit with
   :func:`iqpgen.evaluate.verify_samples` — the unbiased MMD² between the circuit's
   distribution and the samples, ± its standard error, at any size: ideal samples pass, noisy
   ones are flagged, and with the device's readout error modelled (``readout_error=``) what
   remains is the gate noise.

    python examples/hardware.py              # 126 qubits (a few minutes)
    python examples/hardware.py --quick      # 12 qubits, the whole noise model, 8,000 shots
    python examples/hardware.py --qubits 16  # the whole noise model on 16 qubits
"""

from __future__ import annotations

import argparse
import json
import os

import jax
import numpy as np
from _common import Timer, check_out, nonnegative_int, positive_int, run_script

import iqpgen
from iqpgen import datasets, export, gates
from iqpgen.evaluate import verify_samples

STATEVECTOR_MAX = 20  # Aer's state vector up to this width, matrix-product states above
BROKEN = 0.25  # a qubit whose readout error is this large is left out (FakeSherbrooke has one)
FIELD = 0.5  # magnetised data: readout errors then move the distribution visibly
FULL_NOISE_MAX = 16  # the whole noise model (gates, relaxation, readout) up to this width
# Under the whole noise model: one density matrix (4^k entries; any number of shots) up to
# this width, shot-by-shot state vectors above.
DENSITY_MATRIX_MAX = 12


def readout_errors(device) -> np.ndarray:
    """The device's calibrated readout error of every qubit."""
    return np.array([float(device.target["measure"][(q,)].error) for q in range(device.num_qubits)])


def connected_piece(device, k: int | None) -> list[int]:
    """``k`` physical qubits (default: as many as there are) of a connected piece of the device
    without its broken qubits (readout error of ``BROKEN`` or more), in breadth-first order
    from the lowest-numbered one."""
    import networkx as nx

    good = np.flatnonzero(readout_errors(device) < BROKEN).tolist()
    G = gates.coupling_graph(device).subgraph(good)
    piece = max(nx.connected_components(G), key=len)
    order = [int(q) for q in nx.bfs_tree(G, min(piece))]
    return order if k is None else order[:k]


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="12 qubits, fewer steps")
    p.add_argument("--out", default=os.path.join("runs", "hardware"), help="output folder")
    p.add_argument("--seed", type=nonnegative_int, default=0)
    p.add_argument("--device", default="FakeSherbrooke", help="a fake_provider backend class")
    p.add_argument("--qubits", type=positive_int, default=None, help="qubits used (default: all)")
    p.add_argument("--shots", type=positive_int, default=None, help="shots per Aer run")
    args = p.parse_args(argv)
    from qiskit_ibm_runtime import fake_provider

    backend = getattr(fake_provider, args.device, None)
    if not (isinstance(backend, type) and args.device.startswith("Fake")):
        p.error(
            f"--device {args.device!r} is not a backend of qiskit_ibm_runtime.fake_provider "
            "(e.g. FakeSherbrooke, FakeTorino)"
        )
    check_out(p, args)
    timer = Timer()
    device = backend()
    shots = args.shots if args.shots is not None else (8000 if args.quick else 4000)
    steps = 200 if args.quick else 1000
    key = jax.random.key(args.seed)
    k_J, k_data, k_verify = jax.random.split(key, 3)

    qubits = connected_piece(device, args.qubits or (12 if args.quick else None))
    k = len(qubits)
    G = gates.coupling_graph(device, qubits)
    edges = np.array(sorted(G.edges), dtype=np.int64)
    broken = np.flatnonzero(readout_errors(device) >= BROKEN).tolist()
    print(f"{device.name}: {device.num_qubits} qubits, broken (readout error ≥ {BROKEN}): "
          f"{broken}; using {k} of them, {len(edges)} couplers")  # fmt: skip

    with timer.phase("data"):
        J = np.asarray(jax.random.uniform(k_J, (len(edges),), minval=-1.0, maxval=1.0))
        h = np.full(k, FIELD)
        X = datasets.sample_ising((edges, J), h, n_samples=3000, key=k_data, temperature=1.0,
                                  burn_in=500, thinning=10)  # fmt: skip
        X_train, X_test = X[:2000], X[2000:]

    with timer.phase("train"):
        model = iqpgen.IqpModel(gates=gates.graph(G), max_steps=steps, random_state=args.seed,
                                verbose=False).fit(X_train)  # fmt: skip
    print(f"  {model.circuit_.n_params} gates ({model.estimator_} loss); "
          f"{model.history_.summary()}")  # fmt: skip
    circuit, params = model.circuit_, model.params_

    with timer.phase("route"):
        native = export.resources(circuit, backend=device, initial_layout=qubits)
        dense = iqpgen.IqpCircuit(k, gates.local(k, 2))
        routed_dense = export.resources(dense, backend=device, initial_layout=qubits)
    print(f"  routed on {device.name}: {native.n_swaps} SWAPs, {native.routed_two_qubit} "
          f"two-qubit gates, two-qubit depth {native.routed_two_qubit_depth}")  # fmt: skip
    print(f"  an all-to-all model of {k} qubits ({dense.n_params} gates) would need "
          f"{routed_dense.n_swaps} SWAPs, {routed_dense.routed_two_qubit} two-qubit gates, "
          f"two-qubit depth {routed_dense.routed_two_qubit_depth}")  # fmt: skip

    # Aer: ideal, with the device's readout errors (applied to the sampled bits: any size),
    # and with its whole noise model (a density matrix, or shot by shot: small pieces only).
    method = "statevector" if k <= STATEVECTOR_MAX else "matrix_product_state"
    plan = [("ideal", False, method), ("readout noise", "readout", method)]
    if k <= FULL_NOISE_MAX:
        full = "density_matrix" if k <= DENSITY_MATRIX_MAX else "statevector"
        plan.append(("device noise", True, full))
    runs = {}
    for name, noise, how in plan:
        with timer.phase(f"aer {name}"):
            runs[name] = export.sample_aer(circuit, params, shots, backend=device, noise=noise,
                                           method=how, initial_layout=qubits,
                                           seed=args.seed)  # fmt: skip
        r = runs[name]
        bond = "" if r.max_bond_dimension is None else f", bond dimension ≤ {r.max_bond_dimension}"
        print(f"  Aer {name}: {shots} shots by {r.method} in {r.seconds:.1f} s{bond}")
    if k > FULL_NOISE_MAX:
        print(f"  (the full noise model is sampled shot by shot: run it with --qubits "
              f"{FULL_NOISE_MAX} or fewer)")  # fmt: skip

    readout = readout_errors(device)[qubits].tolist()
    sig = list(model.sigma_)
    rows = []
    with timer.phase("verify"):
        cases = [
            ("test data (not the circuit)", X_test, None),
            ("Aer ideal", runs["ideal"].samples, None),
        ]
        for name in list(runs)[1:]:
            cases += [(f"Aer {name}", runs[name].samples, None),
                      ("  … readout error modelled", runs[name].samples, readout)]  # fmt: skip
        for label, samples, p_read in cases:
            est = verify_samples(circuit, params, samples, sigma=sig, key=k_verify,
                                 readout_error=p_read)  # fmt: skip
            rows.append((label, est.mean.tolist(), est.stderr.tolist()))
    sig_text = ", ".join(f"{s:.2f}" for s in sig)
    print(f"\nverify_samples: MMD² between the trained circuit and the samples at σ = "
          f"{sig_text} (mean ± standard error; z = mean/stderr)")  # fmt: skip
    for label, mean, err in rows:
        cells = "  ".join(
            f"{m:9.2e} ± {e:7.1e} (z {m / e:5.1f})" for m, e in zip(mean, err, strict=True)
        )
        print(f"  {label:30s} {cells}")
    print(f"  (device readout error: mean {np.mean(readout):.3f}, max {np.max(readout):.3f})")
    print(timer.report())

    result = {
        "device": device.name,
        "qubits": qubits,
        "n_gates": circuit.n_params,
        "train": model.history_.summary(),
        "routing": {
            "native": native._asdict() | {"layer_of": None},
            "all_to_all": routed_dense._asdict() | {"layer_of": None},
        },  # fmt: skip
        "aer": {
            n: {
                "method": r.method,
                "seconds": r.seconds,
                "noise": r.noise,
                "max_bond_dimension": r.max_bond_dimension,
                "truncation": r.truncation,
            }
            for n, r in runs.items()
        },  # fmt: skip
        "verify": [{"samples": lab, "sigma": sig, "mean": m, "stderr": e} for lab, m, e in rows],
    }
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(result, f, indent=1)
    return result


if __name__ == "__main__":
    run_script(main)
