"""Train a 484-qubit IQP model on D-Wave-like Ising samples and compare it with baselines.

The data are :func:`iqpgen.datasets.dwave_like`: Boltzmann samples of a 22×22 spin glass with
nearest and diagonal neighbours (the shape of the paper's D-Wave dataset; not the D-Wave
data, which :func:`iqpgen.datasets.load_dwave` reads). The IQP model has every gate of weight
1 and 2 (117,370 gates), is trained by Adam on MMD² at the paper's bandwidths, and is compared
with independent bits, its bitflip counterpart and an RBM: test MMD² per bandwidth, pair
correlations and Ising energy statistics. Outputs go to ``--out`` (default ``runs/dwave``):
the trained model (``iqp_model.npz``), its OpenQASM 2.0 export, plots, ``results.json``.

    python examples/dwave.py            # full size: 5,000 rows, 2,000 steps, ~12 min
    python examples/dwave.py --quick    # small settings, about a minute
"""

from __future__ import annotations

import jax
import numpy as np
from _common import Timer, parser, run_experiment, settings

from iqpgen import datasets


def main(argv: list[str] | None = None) -> dict:
    args = parser(__doc__.splitlines()[0], "dwave").parse_args(argv)
    cfg = settings(args, full_steps=2000)
    timer = Timer()
    with timer.phase("data"):
        X = datasets.dwave_like(
            cfg["n_train"] + cfg["n_test"],
            key=jax.random.key(args.seed),
            cache=not args.no_cache,
        )
    edges, weights = datasets.dwave_like_couplings()
    h = np.zeros(X.shape[1])
    return run_experiment("dwave_like", X, args, cfg, timer, ising=((edges, weights), h))


if __name__ == "__main__":
    main()
