"""The argument parser of the ``iqpgen`` command line, its argument types and its one-line usage
errors."""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

from .._version import __version__
from .commands import UsageError, cmd_data, cmd_evaluate, cmd_export, cmd_fit, cmd_sample

__all__ = ["build_parser", "positive_int", "nonnegative_int", "positive_float"]


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


# ------------------------------------------------------------------------- argument types


def positive_int(text: str) -> int:
    """An ``argparse`` type: a whole number >= 1 (also used by the example scripts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    """An ``argparse`` type: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    """An ``argparse`` type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _learning_rate(text: str) -> float | str:
    return text if text == "auto" else positive_float(text)


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
        return positive_float(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected 'auto' or numbers > 0, got {text!r}") from None


# -------------------------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    """The ``argparse`` parser of the ``iqpgen`` command (subcommands and their options).

    Returns:
        The parser; :func:`main` runs it.
    """
    from ..model import IqpModel

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
        "--max-steps", type=nonnegative_int, default=default["max_steps"], help="Adam steps"
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
        "--n-ops", type=positive_int, default=default["n_ops"], help="operators per estimate"
    )
    f.add_argument(
        "--n-samples",
        type=positive_int,
        default=default["n_samples"],
        help="circuit samples per estimate",
    )
    f.add_argument(
        "--max-weight",
        type=positive_int,
        default=default["max_weight"],
        help="largest gate weight",
    )
    f.add_argument("--spin-sym", action="store_true", help="start from (|0...0>+|1...1>)/sqrt(2)")
    f.add_argument(
        "--lr-schedule",
        choices=("auto", "constant", "cosine"),
        default=default["lr_schedule"],
        help="learning rate over the steps; 'auto': cosine decay on the Monte Carlo loss",
    )
    f.add_argument(
        "--variance-reduction",
        choices=("auto", "none", "control", "antithetic", "control+antithetic"),
        default=default["variance_reduction"],
        help="Monte Carlo estimator of each <Z_a>; 'auto': antithetic samples where they apply",
    )
    f.add_argument(
        "--validation-fraction",
        type=_fraction,
        default=None,
        metavar="F",
        help="share of rows held out to pick the best parameters and stop early "
        "(default: a tenth when that is at least 10 rows)",
    )
    f.add_argument(
        "--keep",
        choices=("best", "last"),
        default=default["keep"],
        help="parameters kept: the best on the validation rows, or the last step's",
    )
    f.add_argument(
        "--patience", type=positive_int, default=None, help="stop after N steps without gain"
    )
    f.add_argument("--seed", type=nonnegative_int, default=None, help="seed (default: random)")
    f.add_argument(
        "--checkpoint",
        metavar="FILE",
        default=None,
        help="checkpoint file; rerunning an interrupted command resumes from it",
    )
    f.add_argument(
        "--devices",
        type=positive_int,
        default=None,
        metavar="N",
        help="split the circuit samples across the first N local devices (default: one)",
    )
    f.add_argument(
        "--distributed",
        action="store_true",
        help="join a multi-process run (coordinator from the options below, JAX_* variables, "
        "SLURM or Open MPI) and split the samples across every process's devices",
    )
    f.add_argument("--coordinator", metavar="HOST:PORT", default=None, help="process 0's address")
    f.add_argument("--num-processes", type=positive_int, default=None, help="processes in the run")
    f.add_argument("--process-id", type=nonnegative_int, default=None, help="this process's index")
    f.add_argument("--quiet", "-q", action="store_true", help="no progress bar or header")
    f.set_defaults(func=cmd_fit)

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
    e.add_argument("--repeats", type=positive_int, default=1, help="independent estimates")
    e.add_argument("--n-ops", type=positive_int, default=None, help="operators per estimate")
    e.add_argument(
        "--n-samples", type=positive_int, default=None, help="circuit samples per estimate"
    )
    e.add_argument("--seed", type=nonnegative_int, default=None, help="seed (default: random)")
    e.set_defaults(func=cmd_evaluate)

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
    s.add_argument("--shots", type=positive_int, required=True, help="number of samples")
    s.add_argument("--device", metavar="NAME", default=None, help="PennyLane device name")
    s.add_argument("--seed", type=nonnegative_int, default=None, help="seed (default: random)")
    s.add_argument("--out", "-o", metavar="FILE", default=None, help="write to FILE (.npy or CSV)")
    s.set_defaults(func=cmd_sample)

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
    x.set_defaults(func=cmd_export)

    # data
    d = sub.add_parser(
        "data",
        help="generate a built-in dataset",
        description="Generate one of the built-in datasets (iqpgen.datasets) and write it as "
        "CSV or .npy. Run 'iqpgen data NAME --help' for each dataset's options.",
    )
    d.set_defaults(func=cmd_data)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--out", "-o", required=True, metavar="FILE", help="file (.npy or CSV)")
    common.add_argument("--n-samples", type=positive_int, default=1000, help="number of rows")
    common.add_argument("--seed", type=nonnegative_int, default=None, help="seed (default: random)")
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
    lat.add_argument("--rows", type=positive_int, default=4, help="lattice rows")
    lat.add_argument("--cols", type=positive_int, default=4, help="lattice columns")
    lat.add_argument("--temperature", type=positive_float, default=3.0, help="T > 0")
    lat.add_argument("--open", action="store_true", help="open instead of periodic boundaries")
    lat.add_argument("--couplings", choices=("random", "ferro"), default="random")
    lat.set_defaults(dataset="lattice_ising")

    bl = names.add_parser(
        "blobs",
        help="noisy copies of a few peak bitstrings",
        description="Noisy copies of random peak bitstrings.",
        **kw,
    )
    bl.add_argument("--n-bits", type=positive_int, default=16, help="bits per row")
    bl.add_argument("--n-blobs", type=positive_int, default=8, help="number of peaks")
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
    sf.add_argument("--n-nodes", type=positive_int, default=None, help="nodes (default 1000)")
    sf.add_argument("--m", type=positive_int, default=None, help="edges per new node (3)")
    sf.add_argument("--temperature", type=positive_float, default=1.7, help="T > 0 (1.7)")
    sf.add_argument(
        "--sampler",
        choices=("paper", "tempering"),
        default="paper",
        help="the paper's 8 Metropolis chains, or parallel tempering (equilibrium)",
    )
    sf.set_defaults(dataset="scale_free")

    dg = names.add_parser(
        "digits",
        help="binarised 8x8 handwritten digits (64 bits, 1797 rows)",
        description="scikit-learn's 8x8 digits, a pixel 1 when its intensity >= --threshold, "
        "shuffled; --n-samples takes the first rows (at most 1797).",
        **kw,
    )
    dg.add_argument(
        "--threshold", type=positive_float, default=8.0, help="intensity (0-16) for a 1"
    )
    dg.set_defaults(dataset="digits")
    return p
