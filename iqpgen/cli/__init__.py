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

import os
import sys
from collections.abc import Sequence

from .. import _checks
from ..io import read_bits, write_bits
from .commands import DATASETS, UsageError
from .parser import build_parser, nonnegative_int, positive_float, positive_int

__all__ = [
    "main", "read_bits", "write_bits", "build_parser", "UsageError", "DATASETS",
    "positive_int", "nonnegative_int", "positive_float",
]  # fmt: skip

# One module per concept: parser (arguments, types, usage errors), commands (what each
# command does); main and the error reporting here. Bit-matrix files: iqpgen.io.


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
        message = _checks.one_line(err) or type(err).__name__
    print(f"iqpgen: error: {message}", file=sys.stderr)
