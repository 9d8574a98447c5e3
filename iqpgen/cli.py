"""The ``iqpgen`` command line: train, evaluate, sample and export IQP models; make datasets.

::

    iqpgen data blobs --out train.csv --n-samples 2000 --seed 0
    iqpgen fit train.csv --out model.npz --max-steps 1000 --learning-rate 0.01 --seed 1
    iqpgen evaluate model.npz test.csv --repeats 5
    iqpgen sample model.npz --shots 100 --out samples.npy
    iqpgen sample model.npz --shots 100 --device lightning.qubit
    iqpgen export model.npz --qasm model.qasm --resources

Data files hold one row of 0/1 values per line, separated by commas or whitespace (a header
line is not supported; lines starting with ``#`` are skipped), or a 2-D ``.npy`` array. Files
written by the command line are ``.npy`` when the name ends in ``.npy`` and comma-separated
text otherwise. Models are the ``.npz`` files of :meth:`iqpgen.IqpModel.save`.

Results go to standard output; errors are one line on standard error, ``iqpgen: error: …``,
with exit status 2 for a misused command line, 1 for anything else (a missing or unreadable
file, data that are not 0/1, a file that is not an iqpgen model), and 130 on Ctrl-C. Set the
environment variable ``IQPGEN_TRACEBACK=1`` to see the full traceback instead.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, NoReturn

import numpy as np

from ._version import __version__

__all__ = ["main", "read_bits", "write_bits"]

#: Datasets of ``iqpgen data`` (each also answers to its name with hyphens for underscores).
DATASETS = ("lattice_ising", "blobs", "dwave_like", "scale_free", "digits")


class UsageError(Exception):
    """A command line that cannot be run as given (exit status 2)."""


class _Formatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults in the help, except the uninformative ``None`` and ``False``."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False:
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (``iqpgen: error: …``), not usage + exit."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# ------------------------------------------------------------------------------- files


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def read_bits(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a 0/1 data file: text rows (comma- or whitespace-separated) or a ``.npy`` array.

    Text files hold one row per line; blank lines and lines starting with ``#`` are skipped.
    A header line is not supported.

    Args:
        path: the file; ``.npy`` files are read with ``numpy.load`` (no pickles), any other
            name as text.

    Returns:
        ``uint8`` array ``(rows, columns)`` of 0/1.

    Raises:
        FileNotFoundError: there is no file at ``path``.
        ValueError: the file is not 0/1 rows: a non-numeric entry (such as a header), rows of
            different lengths, a value other than 0 and 1, no rows, or not 2-D. The message
            names the file and, for text, the line.

    Example:
        >>> import pathlib, tempfile
        >>> from iqpgen.cli import read_bits
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
        >>> _ = path.write_text("0,1,1\\n1 0 0\\n")
        >>> read_bits(path).tolist()
        [[0, 1, 1], [1, 0, 0]]
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no data file at {path!r}.")
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a folder; give a .csv, text or .npy data file.")
    if path.lower().endswith(".npy"):
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise ValueError(f"{path!r} is not a readable .npy array ({_one_line(err)}).") from err
        return _check_bits(arr, path)
    return _read_text_bits(path)


def _read_text_bits(path: str) -> np.ndarray:
    rows: list[np.ndarray] = []
    line_of: list[int] = []
    try:
        with open(path, encoding="utf-8") as f:
            for lineno, raw in enumerate(f, start=1):
                line = raw.strip()
                if not line or line.startswith("#"):
                    continue
                tokens = [t.strip() for t in line.split(",")] if "," in line else line.split()
                try:
                    row = np.array(tokens, dtype=np.float64)
                except ValueError:
                    bad = next(t for t in tokens if not _is_number(t))
                    raise ValueError(
                        f"{path}:{lineno}: {bad[:40]!r} is not a number; data files hold 0/1 "
                        "values only, one row per line, and a header line is not supported "
                        "(remove it)."
                    ) from None
                if rows and row.shape[0] != rows[0].shape[0]:
                    raise ValueError(
                        f"{path}:{lineno}: this row has {row.shape[0]} values but the first row "
                        f"(line {line_of[0]}) has {rows[0].shape[0]}; every row needs the same "
                        "number of columns."
                    )
                rows.append(row)
                line_of.append(lineno)
    except UnicodeDecodeError:
        raise ValueError(
            f"{path!r} is not a text file of 0/1 rows; give comma- or whitespace-separated "
            "text, or a .npy array."
        ) from None
    if not rows:
        raise ValueError(f"{path!r} holds no rows of data.")
    arr = np.stack(rows)
    bad = ~np.isin(arr, (0.0, 1.0))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(
            f"{path}:{line_of[r]}: value {_fmt_value(arr[r, c])} in column {c + 1} is not 0 or 1; "
            f"{_bits_hint(arr)}"
        )
    return arr.astype(np.uint8)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _fmt_value(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(float(v))


def _bits_hint(arr: np.ndarray) -> str:
    if np.isin(arr, (-1.0, 1.0)).all():
        return "these look like -1/+1 spins: convert them to 0/1 bits with (x + 1) / 2 first."
    return "iqpgen models binary data: every value must be 0 or 1."


def _check_bits(arr: np.ndarray, path: str) -> np.ndarray:
    if not (np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)):
        raise ValueError(f"{path!r} holds {arr.dtype} values; expected a 2-D array of 0/1.")
    if arr.ndim != 2:
        raise ValueError(
            f"{path!r} holds an array of shape {arr.shape}; expected 2-D (rows, bits)."
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{path!r} holds an empty array of shape {arr.shape}.")
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise ValueError(
            f"{path!r}: value {_fmt_value(arr[r, c])} at row {r}, column {c} is not 0 or 1; "
            f"{_bits_hint(arr.astype(np.float64))}"
        )
    return arr.astype(np.uint8)


def write_bits(path: str | os.PathLike[str], X: Any) -> None:
    """Write a 0/1 matrix: ``.npy`` when ``path`` ends in ``.npy``, comma-separated text else.

    Parent folders are created. :func:`read_bits` reads both back.

    Args:
        path: the file to write (replaced if it exists).
        X: 0/1 matrix ``(rows, columns)``.

    Example:
        >>> import pathlib, tempfile, numpy as np
        >>> from iqpgen.cli import read_bits, write_bits
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.csv"
        >>> write_bits(path, np.eye(2, dtype=np.uint8))
        >>> path.read_text()
        '1,0\\n0,1\\n'
    """
    path = os.fspath(path)
    X = np.asarray(X, dtype=np.uint8)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    if path.lower().endswith(".npy"):
        with open(path, "wb") as f:
            np.save(f, X, allow_pickle=False)
    else:
        with open(path, "w", encoding="utf-8") as f:
            _write_rows(f, X)


def _write_rows(f: Any, X: np.ndarray) -> None:
    for row in X:
        f.write(",".join("1" if v else "0" for v in row.tolist()) + "\n")


def _load_model(path: str):
    """:meth:`IqpModel.load`, after checks that explain what else the file might be."""
    import zipfile

    from .model import IqpModel

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


def _fresh_seed() -> int:
    """A random seed for runs without ``--seed`` (printed, so the run can be repeated)."""
    return int(np.random.SeedSequence().entropy % (2**31))


# ------------------------------------------------------------------------- argument types


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def _nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _learning_rate(text: str) -> float | str:
    return text if text == "auto" else _positive_float(text)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}")
    return value


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}")
    return value


def _sigma(text: str) -> float | str:
    if text == "auto":
        return "auto"
    try:
        return _positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or numbers > 0, got {text!r}") from None


def _resolve_sigma(values: list[float | str] | None) -> Any:
    if values is None:
        return None
    if "auto" in values:
        if len(values) > 1:
            raise UsageError("--sigma takes either 'auto' or one or more numbers, not both.")
        return "auto"
    return [float(v) for v in values]


def _seed_or_fresh(seed: int | None) -> int:
    return _fresh_seed() if seed is None else seed


# ------------------------------------------------------------------------------ commands


def _cmd_fit(args: argparse.Namespace) -> int:
    from .model import IqpModel

    X = read_bits(args.data)
    sigma = _resolve_sigma(args.sigma) or "auto"
    seed = _seed_or_fresh(args.seed)
    model = IqpModel(
        max_weight=args.max_weight,
        spin_sym=args.spin_sym,
        sigma=sigma,
        n_ops=args.n_ops,
        n_samples=args.n_samples,
        learning_rate=args.learning_rate,
        estimator=args.estimator,
        max_steps=args.max_steps,
        patience=args.patience,
        validation_fraction=args.validation_fraction,
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
        best = int(np.argmin(hist.val_loss))
        print(
            f"validation: loss {hist.val_loss[best]:.4g} at step {hist.val_step[best]} "
            "(the parameters kept)"
        )
    print(f"saved model to {args.out}")
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    import jax

    model = _load_model(args.model)
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
    sigma = _resolve_sigma(args.sigma)
    if sigma == "auto":
        from . import mmd

        sigmas = tuple(mmd.sigma_heuristic(X))
    else:
        sigmas = tuple(model.sigma_) if sigma is None else tuple(sigma)
    seed = _seed_or_fresh(args.seed)
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


def _cmd_sample(args: argparse.Namespace) -> int:
    model = _load_model(args.model)
    seed = args.seed
    if args.device is None:
        samples = model.sample(args.shots, random_state=_seed_or_fresh(seed))
    else:
        samples = _device_samples(model, args.shots, args.device, seed)
    if args.out is None:
        _write_rows(sys.stdout, samples)
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
        raise ValueError(f"device {device!r} failed: {_one_line(err)}") from err


def _cmd_export(args: argparse.Namespace) -> int:
    from . import export

    if args.qasm is None and not args.resources:
        raise UsageError("nothing to do: give --qasm FILE, --resources, or both.")
    model = _load_model(args.model)
    if args.qasm is not None:
        program = model.to_qasm()
        if args.qasm == "-":
            sys.stdout.write(program)
        else:
            parent = os.path.dirname(os.path.abspath(args.qasm))
            os.makedirs(parent, exist_ok=True)
            with open(args.qasm, "w", encoding="utf-8") as f:
                f.write(program)
            print(f"wrote OpenQASM 2.0 ({program.count(chr(10))} lines) to {args.qasm}")
    if args.resources:
        c = model.circuit_
        r = export.resources(c, diagonal_layers=args.layers)
        counts = ", ".join(f"{k} {v}" for k, v in r.counts.items())
        print(
            f"circuit: {c.n_qubits} qubits, {c.n_params} parameters, "
            f"{np.asarray(c.generators).shape[0]} generators{', spin_sym' if c.spin_sym else ''}"
        )
        print(f"gates ({{h, rz, cx}}): {counts}; total {r.n_gates}, two-qubit {r.n_two_qubit}")
        print(f"depth: {r.depth} (all-to-all connectivity, generators in stored order)")
        if args.layers:
            print(
                f"depth with the diagonal gates in {r.n_layers} parallel layers: {r.layered_depth}"
            )
    return 0


def _cmd_data(args: argparse.Namespace) -> int:
    import jax

    from . import datasets

    seed = _seed_or_fresh(args.seed)
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


# -------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The ``argparse`` parser of the ``iqpgen`` command (subcommands and their options).

    Returns:
        The parser; :func:`main` runs it.
    """
    from .model import IqpModel

    fmt = _Formatter
    default = IqpModel().get_params()
    p = _Parser(
        prog="iqpgen",
        description="Train IQP circuits as generative models of 0/1 data; deploy them with "
        "PennyLane or OpenQASM.",
        epilog="Run 'iqpgen COMMAND --help' for the options of each command.",
    )
    p.add_argument("--version", action="version", version=f"iqpgen {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", required=True)

    # fit
    f = sub.add_parser(
        "fit",
        help="train a model on a data file",
        description="Train an IQP model on 0/1 data by minimising MMD^2; save it with "
        "IqpModel.save. DATA is a .npy array or text with one row of 0/1 per line (comma or "
        "whitespace separated, no header).",
        formatter_class=fmt,
    )
    f.add_argument("data", metavar="DATA", help="training data (.csv/.txt or .npy)")
    f.add_argument("--out", "-o", required=True, metavar="MODEL", help="model file to write")
    f.add_argument(
        "--max-steps", type=_nonnegative_int, default=default["max_steps"], help="Adam steps"
    )
    f.add_argument(
        "--learning-rate",
        type=_learning_rate,
        default=default["learning_rate"],
        help="Adam step size; 'auto': 1e-2 on the exact loss, 1e-3 on the Monte Carlo one",
    )
    f.add_argument(
        "--estimator",
        choices=("auto", "exact", "monte_carlo"),
        default=default["estimator"],
        help="exact MMD^2 (small circuits), Monte Carlo (any size), or the cheaper that fits",
    )
    f.add_argument(
        "--sigma",
        type=_sigma,
        nargs="+",
        metavar="S",
        help="kernel bandwidth(s), losses averaged; default 'auto' (three from the data)",
    )
    f.add_argument(
        "--n-ops", type=_positive_int, default=default["n_ops"], help="operators per estimate"
    )
    f.add_argument(
        "--n-samples",
        type=_positive_int,
        default=default["n_samples"],
        help="circuit samples per estimate",
    )
    f.add_argument(
        "--max-weight",
        type=_positive_int,
        default=default["max_weight"],
        help="largest gate weight",
    )
    f.add_argument("--spin-sym", action="store_true", help="start from (|0...0>+|1...1>)/sqrt(2)")
    f.add_argument(
        "--validation-fraction",
        type=_fraction,
        default=0.0,
        metavar="F",
        help="share of rows held out to pick the best parameters and stop early",
    )
    f.add_argument(
        "--patience", type=_positive_int, default=None, help="stop after N steps without gain"
    )
    f.add_argument("--seed", type=_nonnegative_int, default=None, help="seed (default: random)")
    f.add_argument(
        "--checkpoint",
        metavar="FILE",
        default=None,
        help="checkpoint file; rerunning an interrupted command resumes from it",
    )
    f.add_argument("--quiet", "-q", action="store_true", help="no progress bar or header")
    f.set_defaults(func=_cmd_fit)

    # evaluate
    e = sub.add_parser(
        "evaluate",
        help="MMD^2 between a model and data, per bandwidth",
        description="Unbiased MMD^2 estimates between a saved model and a data file, one per "
        "bandwidth (the model's by default), with standard errors over --repeats keys.",
        formatter_class=fmt,
    )
    e.add_argument("model", metavar="MODEL", help="model file (from iqpgen fit)")
    e.add_argument("data", metavar="DATA", help="data (.csv/.txt or .npy), e.g. a test set")
    e.add_argument(
        "--sigma", type=_sigma, nargs="+", metavar="S", help="bandwidths (default: the model's)"
    )
    e.add_argument("--repeats", type=_positive_int, default=1, help="independent estimates")
    e.add_argument("--n-ops", type=_positive_int, default=None, help="operators per estimate")
    e.add_argument(
        "--n-samples", type=_positive_int, default=None, help="circuit samples per estimate"
    )
    e.add_argument("--seed", type=_nonnegative_int, default=None, help="seed (default: random)")
    e.set_defaults(func=_cmd_evaluate)

    # sample
    s = sub.add_parser(
        "sample",
        help="draw samples from a model",
        description="Draw samples: exactly from the state vector (up to a memory budget: 26 "
        "qubits on 24 GB) or, with --device, by running the circuit on a PennyLane device "
        "(a simulator such as lightning.qubit, or hardware through its plugin). Rows are "
        "printed as CSV unless --out is given.",
        formatter_class=fmt,
    )
    s.add_argument("model", metavar="MODEL", help="model file (from iqpgen fit)")
    s.add_argument("--shots", type=_positive_int, required=True, help="number of samples")
    s.add_argument("--device", metavar="NAME", default=None, help="PennyLane device name")
    s.add_argument("--seed", type=_nonnegative_int, default=None, help="seed (default: random)")
    s.add_argument("--out", "-o", metavar="FILE", default=None, help="write to FILE (.npy or CSV)")
    s.set_defaults(func=_cmd_sample)

    # export
    x = sub.add_parser(
        "export",
        help="write OpenQASM 2.0, count gates",
        description="Export a model's circuit as OpenQASM 2.0 (gates h, rz, cx) and/or print "
        "its gate counts and depth.",
        formatter_class=fmt,
    )
    x.add_argument("model", metavar="MODEL", help="model file (from iqpgen fit)")
    x.add_argument("--qasm", metavar="FILE", default=None, help="OpenQASM file ('-': print it)")
    x.add_argument("--resources", action="store_true", help="print gate counts and depth")
    x.add_argument(
        "--layers", action="store_true", help="with --resources: depth of parallel layers too"
    )
    x.set_defaults(func=_cmd_export)

    # data
    d = sub.add_parser(
        "data",
        help="generate a built-in dataset",
        description="Generate one of the built-in datasets (iqpgen.datasets) and write it as "
        "CSV or .npy. Run 'iqpgen data NAME --help' for each dataset's options.",
    )
    d.set_defaults(func=_cmd_data)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", "-o", required=True, metavar="FILE", help="file (.npy or CSV)")
    common.add_argument("--n-samples", type=_positive_int, default=1000, help="number of rows")
    common.add_argument(
        "--seed", type=_nonnegative_int, default=None, help="seed (default: random)"
    )
    common.add_argument(
        "--test-out",
        metavar="FILE",
        default=None,
        help="also split off a test set into FILE (rows drawn at random)",
    )
    common.add_argument(
        "--test-fraction",
        type=_fraction,
        default=0.2,
        metavar="F",
        help="share of rows in --test-out",
    )
    ising_cache = argparse.ArgumentParser(add_help=False)
    ising_cache.add_argument(
        "--no-cache", action="store_true", help="regenerate instead of reading the disk cache"
    )
    names = d.add_subparsers(dest="dataset", metavar="NAME", required=True)
    kw = dict(formatter_class=fmt, parents=[common])

    lat = names.add_parser(
        "lattice_ising",
        aliases=["lattice-ising"],
        help="2D Ising model on a rows x cols lattice",
        description="Samples of a 2D nearest-neighbour Ising model (zero field).",
        parents=[common, ising_cache],
        formatter_class=fmt,
    )
    lat.add_argument("--rows", type=_positive_int, default=4, help="lattice rows")
    lat.add_argument("--cols", type=_positive_int, default=4, help="lattice columns")
    lat.add_argument("--temperature", type=_positive_float, default=3.0, help="T > 0")
    lat.add_argument("--open", action="store_true", help="open instead of periodic boundaries")
    lat.add_argument("--couplings", choices=("random", "ferro"), default="random")
    lat.set_defaults(dataset="lattice_ising")

    bl = names.add_parser(
        "blobs",
        help="noisy copies of a few peak bitstrings",
        description="Noisy copies of random peak bitstrings.",
        **kw,
    )
    bl.add_argument("--n-bits", type=_positive_int, default=16, help="bits per row")
    bl.add_argument("--n-blobs", type=_positive_int, default=8, help="number of peaks")
    bl.add_argument(
        "--flip-prob", type=_probability, default=0.05, help="probability of flipping each bit"
    )
    bl.set_defaults(dataset="blobs")

    dw = names.add_parser(
        "dwave_like",
        aliases=["dwave-like"],
        help="484-spin stand-in for the D-Wave dataset (slow)",
        description="Boltzmann samples of a 22x22 spin glass shaped like the paper's D-Wave "
        "data (parallel tempering; minutes for a few thousand rows).",
        parents=[common, ising_cache],
        formatter_class=fmt,
    )
    dw.set_defaults(dataset="dwave_like")

    sf = names.add_parser(
        "scale_free",
        aliases=["scale-free"],
        help="Ising model on a scale-free graph",
        description="Ising samples on a Barabasi-Albert graph (the paper's scale-free recipe).",
        parents=[common, ising_cache],
        formatter_class=fmt,
    )
    sf.add_argument("--n-nodes", type=_positive_int, default=None, help="nodes (default 1000)")
    sf.add_argument("--m", type=_positive_int, default=None, help="edges per new node (3)")
    sf.add_argument("--temperature", type=_positive_float, default=1.0, help="T > 0")
    sf.set_defaults(dataset="scale_free")

    dg = names.add_parser(
        "digits",
        help="binarised 8x8 handwritten digits (64 bits, 1797 rows)",
        description="scikit-learn's 8x8 digits, a pixel 1 when its intensity >= --threshold, "
        "shuffled; --n-samples takes the first rows (at most 1797).",
        **kw,
    )
    dg.add_argument(
        "--threshold", type=_positive_float, default=8.0, help="intensity (0-16) for a 1"
    )
    dg.set_defaults(dataset="digits")
    return p


# ---------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``iqpgen`` command line.

    Args:
        argv: the arguments after the program name; default ``sys.argv[1:]``.

    Returns:
        The exit status: 0 on success, 2 for a misused command line, 1 for other errors, 130
        when interrupted. Errors are printed as one line on standard error.

    Example:
        >>> from iqpgen.cli import main
        >>> main(["--version"])  # doctest: +ELLIPSIS
        iqpgen ...
        0
    """
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as done:  # --help and --version
            return done.code if isinstance(done.code, int) else 0
        return int(args.func(args))
    except UsageError as err:
        _report(err)
        return 2
    except BrokenPipeError:  # e.g. `iqpgen sample ... | head`: the reader has gone
        _silence_stdout()
        return 1
    except KeyboardInterrupt as err:
        detail = f"; {err}" if str(err) else ""
        print(f"iqpgen: interrupted{detail}", file=sys.stderr)
        if argv is None:
            # Run as the program: leave at once. An interrupt that lands while XLA compiles or
            # runs in its own threads can make the interpreter's normal shutdown crash.
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(130)
        return 130
    except (ValueError, TypeError, OSError, FloatingPointError, ImportError) as err:
        _report(err)
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout without a file descriptor
        pass


def _report(err: BaseException) -> None:
    if os.environ.get("IQPGEN_TRACEBACK"):
        raise err
    if isinstance(err, OSError) and err.strerror and err.filename:
        message = f"{err.filename}: {err.strerror}"
    else:
        message = _one_line(err) or type(err).__name__
    print(f"iqpgen: error: {message}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
