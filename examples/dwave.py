"""Train a 484-qubit IQP model on D-Wave-like Ising samples and compare it with baselines.

The data are :func:`iqpgen.datasets.dwave_like`: Boltzmann samples of a 22×22 spin glass with
nearest and diagonal neighbours (the shape of the paper's D-Wave dataset; not the D-Wave
data, which :func:`iqpgen.datasets.load_dwave` reads and ``--train``/``--test`` accept). This
is ``examples/paper.py dwave``: the IQP model has every gate of weight 1 and 2 (117,370
gates) and is trained by Adam on MMD² at the paper's bandwidths [7.762, 6.151, 3.928]; it is
compared with its untrained start ("IQP init"), its bitflip counterpart, independent bits, an
RBM, a DeepEBM, uniform bits and the training set at the paper's ten evaluation bandwidths, in
its protocol (20 test chunks). Outputs go to ``--out`` (default ``runs/dwave``): the trained
model (``iqp_model.npz``), its OpenQASM 2.0 export, plots, ``table.txt`` and ``results.json``
(``sigmas`` and an ``mmd`` dict of rows ``{"mean": [...], "stderr": [...]}``).

    python examples/dwave.py            # full size: 10,000 / 60,000 rows, 2,500 steps
    python examples/dwave.py --quick    # small settings, about a minute
"""

from __future__ import annotations

import os

import paper


def main(argv: list[str] | None = None) -> dict:
    return paper.main(["dwave", "--out", os.path.join("runs", "dwave"), *(argv or [])])


if __name__ == "__main__":
    from _common import run_script

    run_script(main)
