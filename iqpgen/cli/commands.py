"""The commands of the ``iqpgen`` command line: ``fit``, ``evaluate``, ``sample``, ``export``,
``data``; each takes the parsed arguments and returns an exit status."""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Any

import numpy as np

from .. import _checks
from ..io import check_writable, read_bits, rows_text, write_bits

__all__ = ["UsageError", "DATASETS"]

DATASETS = ("lattice_ising", "blobs", "dwave_like", "scale_free", "digits")


class UsageError(Exception):
    """A command line that cannot be run as given (exit status 2)."""


# ------------------------------------------------------------------------------- files


def load_model(path: str):
    """:meth:`IqpModel.load`, after checks that explain what else the file might be."""
    import zipfile

    from ..model import IqpModel

    if os.path.exists(path) and not os.path.isdir(path):
        hint = "models are the .npz files that 'iqpgen fit --out MODEL' writes"
        if not zipfile.is_zipfile(path):
            raise ValueError(f"{path!r} is not an iqpgen model file (not an .npz archive); {hint}.")
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
        if "meta.npy" not in names:
            raise ValueError(
                f"{path!r} is an .npz archive but not an iqpgen model (it has no 'meta' entry); "
                f"{hint}."
            )
    return IqpModel.load(path)


def fresh_seed() -> int:
    """A random seed for runs without ``--seed`` (printed, so the run can be repeated)."""
    return int(np.random.SeedSequence().entropy % (2**31))


def resolve_sigma(values: list[float | str] | None) -> Any:
    if values is None:
        return None
    if "auto" in values:
        if len(values) > 1:
            raise UsageError("--sigma takes either 'auto' or one or more numbers, not both.")
        return "auto"
    return [float(v) for v in values]


def seed_or_fresh(seed: int | None) -> int:
    return fresh_seed() if seed is None else seed


# ------------------------------------------------------------------------------ commands


# Set in every process of a SLURM or Open MPI launch, where JAX finds the coordinator itself.
_LAUNCHER_VARIABLES = ("SLURM_JOB_ID", "OMPI_COMM_WORLD_SIZE")


def _fit_mesh(args: argparse.Namespace) -> Any:
    """The device mesh of ``iqpgen fit --devices/--distributed`` (None: one device). Joins
    the multi-process run first, before anything starts JAX's backend."""
    from .. import parallel

    launched = {"--coordinator": args.coordinator, "--num-processes": args.num_processes,
                "--process-id": args.process_id}  # fmt: skip
    given = [name for name, value in launched.items() if value is not None]
    if given and not args.distributed:
        raise UsageError(f"{', '.join(given)} configure --distributed; add --distributed.")
    if args.distributed:
        if args.seed is None:
            raise UsageError(
                "--distributed needs --seed: every process must draw the same samples."
            )
        if args.coordinator is None and not any(
            os.environ.get(v) for v in (parallel.ENV_COORDINATOR, *_LAUNCHER_VARIABLES)
        ):
            raise UsageError(
                "--distributed needs the coordinator (process 0's host:port): give "
                "--coordinator, --num-processes and --process-id, set JAX_COORDINATOR_ADDRESS, "
                "JAX_NUM_PROCESSES and JAX_PROCESS_ID, or launch under SLURM or Open MPI."
            )
        parallel.initialize_distributed(
            coordinator_address=args.coordinator,
            num_processes=args.num_processes,
            process_id=args.process_id,
        )
    if args.devices is None:
        return parallel.device_mesh() if args.distributed else None
    import jax

    local = jax.local_devices()
    if args.devices > len(local):
        hint = ""
        if local[0].platform == "cpu":
            hint = ("; for N CPU devices set XLA_FLAGS=--xla_force_host_platform_device_count=N "
                    "before the command")  # fmt: skip
        raise UsageError(
            f"--devices {args.devices}: this process has {len(local)} {local[0].platform} "
            f"device{'s' * (len(local) != 1)}{hint}."
        )
    if args.distributed:  # the first N devices of every process
        taken: dict[int, int] = {}
        devices = []
        for d in jax.devices():
            if taken.get(d.process_index, 0) < args.devices:
                taken[d.process_index] = taken.get(d.process_index, 0) + 1
                devices.append(d)
        return parallel.device_mesh(devices)
    return parallel.device_mesh(local[: args.devices])


def cmd_fit(args: argparse.Namespace) -> int:
    from ..model import IqpModel

    check_writable(args.out, "--out")  # before the training, not after it
    if args.checkpoint:
        check_writable(args.checkpoint, "--checkpoint")
    mesh = _fit_mesh(args)
    X = read_bits(args.data)
    sigma = resolve_sigma(args.sigma) or "auto"
    seed = seed_or_fresh(args.seed)
    fraction = "auto" if args.validation_fraction is None else args.validation_fraction
    model = IqpModel(
        max_weight=args.max_weight,
        spin_sym=args.spin_sym,
        sigma=sigma,
        n_ops=args.n_ops,
        n_samples=args.n_samples,
        learning_rate=args.learning_rate,
        lr_schedule=args.lr_schedule,
        variance_reduction=args.variance_reduction,
        estimator=args.estimator,
        max_steps=args.max_steps,
        patience=args.patience,
        validation_fraction=fraction,
        keep=args.keep,
        mesh=mesh,
        random_state=seed,
        verbose=not args.quiet,
    )
    if not args.quiet:
        print(
            f"training on {X.shape[0]} rows of {X.shape[1]} bits from {args.data} "
            f"({args.max_steps} step{'s' * (args.max_steps != 1)}, seed {seed})",
            flush=True,
        )
    t0 = time.perf_counter()
    try:
        model.fit(X, checkpoint=args.checkpoint)
    except KeyboardInterrupt:
        if args.checkpoint:
            raise KeyboardInterrupt(
                f"run the same command again to resume from {args.checkpoint}"
            ) from None
        raise
    seconds = time.perf_counter() - t0
    if args.distributed:
        import jax

        if jax.process_index() != 0:  # one process writes the model and reports
            return 0
    model.save(args.out)
    hist = model.history_
    loss = np.asarray(hist.loss)
    tail = loss[-min(50, loss.size) :]
    sig = ", ".join(f"{s:.4g}" for s in model.sigma_)
    print(
        f"model: {model.circuit_.n_qubits} qubits, {model.circuit_.n_params} gates "
        f"(max weight {args.max_weight}{', spin_sym' if args.spin_sym else ''}); sigma {sig}"
    )
    if loss.size:
        stop = " (stopped early)" if hist.stopped_early else ""
        print(
            f"steps: {loss.size}{stop} in {seconds:.1f} s; final loss {tail.mean():.4g} "
            f"(mean of the last {tail.size} steps; MMD^2 estimate, lower is better)"
        )
    else:
        print(f"steps: 0 (the initial parameters) in {seconds:.1f} s")
    if len(hist.val_loss):
        print(f"history: {hist.summary()}")
    print(f"saved model to {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    import jax

    model = load_model(args.model)
    X = read_bits(args.data)
    if X.shape[1] != model.n_features_in_:
        raise ValueError(
            f"{args.data} has {X.shape[1]} columns but the model has {model.n_features_in_} "
            "qubits; evaluate on data of the kind it was trained on."
        )
    if args.n_ops is not None:
        model.set_params(n_ops=args.n_ops)
    if args.n_samples is not None:
        model.set_params(n_samples=args.n_samples)
    sigma = resolve_sigma(args.sigma)
    if sigma == "auto":
        from .. import kernel

        sigmas = tuple(kernel.sigma_heuristic(X))
    else:
        sigmas = tuple(model.sigma_) if sigma is None else tuple(sigma)
    seed = seed_or_fresh(args.seed)
    key = jax.random.key(seed)
    values = np.array(
        [
            [model.mmd(X, s, random_state=jax.random.fold_in(key, r)) for r in range(args.repeats)]
            for s in sigmas
        ]
    )
    how = (
        "exact, from the state vector"
        if model.estimator_ == "exact"
        else f"{model.n_ops} operators, {model.n_samples} circuit samples"
    )
    print(
        f"MMD^2 between {args.model} and {X.shape[0]} rows of {args.data} "
        f"({how}, {args.repeats} repeat{'s' * (args.repeats > 1)}, seed {seed})"
    )
    stderr = args.repeats > 1
    print(f"{'sigma':>10}  {'MMD^2':>12}" + (f"  {'stderr':>10}" if stderr else ""))
    for s, row in zip(sigmas, values, strict=True):
        line = f"{s:>10.4g}  {row.mean():>12.4e}"
        if stderr:
            line += f"  {row.std(ddof=1) / math.sqrt(row.size):>10.2e}"
        print(line)
    if len(sigmas) > 1:
        per_repeat = values.mean(axis=0)
        line = f"{'mean':>10}  {per_repeat.mean():>12.4e}"
        if stderr:
            line += f"  {per_repeat.std(ddof=1) / math.sqrt(per_repeat.size):>10.2e}"
        print(line)
    return 0


def cmd_sample(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    if args.out is not None:
        check_writable(args.out, "--out")
    seed = args.seed
    if args.device is None:
        samples = model.sample(args.shots, random_state=seed_or_fresh(seed))
    else:
        samples = _device_samples(model, args.shots, args.device, seed)
    if args.out is None:
        sys.stdout.write(rows_text(samples))
    else:
        write_bits(args.out, samples)
        where = f"device {args.device}" if args.device else "the exact distribution"
        print(
            f"wrote {samples.shape[0]} samples of {samples.shape[1]} bits ({where}) to {args.out}"
        )
    return 0


def _device_samples(model: Any, shots: int, device: str, seed: int | None) -> np.ndarray:
    try:
        from pennylane.exceptions import DeviceError
    except ImportError:  # older PennyLane
        from pennylane import DeviceError
    try:
        return model.sample(shots, random_state=seed, device=device)
    except DeviceError as err:
        raise ValueError(f"device {device!r} failed: {_checks.one_line(err)}") from err


def cmd_export(args: argparse.Namespace) -> int:
    from .. import export

    if args.qasm is None and not args.resources:
        raise UsageError("nothing to do: give --qasm FILE, --resources, or both.")
    model = load_model(args.model)
    if args.qasm not in (None, "-"):
        check_writable(args.qasm, "--qasm")
    if args.qasm is not None:
        program = model.to_qasm()
        if args.qasm == "-":
            sys.stdout.write(program)
        else:
            with open(args.qasm, "w", encoding="utf-8") as f:
                f.write(program)
            print(f"wrote OpenQASM 2.0 ({program.count(chr(10))} lines) to {args.qasm}")
    if args.resources:
        c = model.circuit_
        r = export.resources(c, diagonal_layers=args.layers)
        counts = ", ".join(f"{k} {v}" for k, v in r.counts.items())
        print(
            f"circuit: {c.n_qubits} qubits, {c.n_params} parameters, "
            f"{c.n_generators} generators{', spin_sym' if c.spin_sym else ''}"
        )
        print(f"gates ({{h, rz, cx}}): {counts}; total {r.n_gates}, two-qubit {r.n_two_qubit}")
        print(f"depth: {r.depth} (all-to-all connectivity, generators in stored order)")
        if args.layers:
            print(
                f"depth with the diagonal gates in {r.n_layers} parallel layers: {r.layered_depth}"
            )
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    import jax

    from .. import datasets

    check_writable(args.out, "--out")
    if args.test_out is not None:
        check_writable(args.test_out, "--test-out")
    seed = seed_or_fresh(args.seed)
    key = jax.random.key(seed)
    k_data, k_split = jax.random.split(key)
    n, cache = args.n_samples, not getattr(args, "no_cache", False)
    name = args.dataset
    if name == "lattice_ising":
        X = datasets.lattice_ising(
            args.rows,
            args.cols,
            n_samples=n,
            key=k_data,
            temperature=args.temperature,
            periodic=not args.open,
            couplings=args.couplings,
            cache=cache,
        )
    elif name == "blobs":
        X = datasets.blobs(
            n, key=k_data, n_bits=args.n_bits, n_blobs=args.n_blobs, flip_prob=args.flip_prob
        )
    elif name == "dwave_like":
        X = datasets.dwave_like(n, key=k_data, cache=cache)
    elif name == "scale_free":
        X = datasets.scale_free(
            n,
            key=k_data,
            temperature=args.temperature,
            m=args.m,
            n_nodes=args.n_nodes,
            sampler=args.sampler,
            cache=cache,
        )
    elif name == "digits":
        train, test = datasets.digits(args.threshold, key=k_data)
        X = np.concatenate([train, test])
        if n > X.shape[0]:
            raise UsageError(f"digits has {X.shape[0]} rows; --n-samples {n} asks for more.")
        X = X[:n]
    else:  # pragma: no cover - argparse restricts the choices
        raise UsageError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}.")
    parts = [(args.out, X)]
    if args.test_out is not None:
        n_test = int(round(args.test_fraction * X.shape[0]))
        if n_test < 1 or n_test >= X.shape[0]:
            raise UsageError(
                f"--test-fraction {args.test_fraction} of {X.shape[0]} rows leaves "
                f"{n_test} test rows; each file needs at least one row."
            )
        order = np.asarray(jax.random.permutation(k_split, X.shape[0]))
        parts = [(args.out, X[order[n_test:]]), (args.test_out, X[order[:n_test]])]
    for path, part in parts:
        write_bits(path, part)
        print(f"wrote {part.shape[0]} rows of {part.shape[1]} bits ({name}, seed {seed}) to {path}")
    return 0
