"""The gate sequence every exporter writes, and the checks of what it is given.

:func:`generator_rows` is the order of the diagonal gates; :func:`ghz_pairs` the CNOT tree of
the ``spin_sym`` preparation; :func:`concrete_params` and :func:`check_wires` validate the
arguments of the export functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

from .. import _checks
from ..circuit import IqpCircuit


def concrete_params(circuit: IqpCircuit, params: Any) -> np.ndarray:
    """Validated parameters as a plain NumPy float64 array (never downcast to float32)."""
    if isinstance(params, jax.core.Tracer):
        raise TypeError(
            "params is a JAX tracer; export needs concrete numbers. Call the export functions "
            "outside jax.jit / jax.grad, on the trained parameters."
        )
    _checks.check_params(circuit, params)
    return np.array(params, dtype=np.float64)


def check_wires(circuit: IqpCircuit, wires: Any) -> list[Any]:
    """``wires[i]`` is the wire of qubit ``i``; default ``0..n-1``."""
    n = circuit.n_qubits
    if wires is None:
        return list(range(n))
    if isinstance(wires, str | bytes) or not isinstance(wires, Sequence | np.ndarray | range):
        raise TypeError(
            f"wires must be a sequence of {n} wire labels (wire of qubit i at position i), "
            f"got {type(wires).__name__} ({wires!r})."
        )
    out = [w.item() if isinstance(w, np.generic) else w for w in wires]
    if len(out) != n:
        raise ValueError(
            f"wires has {len(out)} labels but the circuit has {n} qubits; give exactly one "
            "wire per qubit."
        )
    try:
        distinct = len(set(out)) == n
    except TypeError as err:
        raise TypeError(f"wires must hold hashable labels (ints or strings), got {out!r}.") from err
    if not distinct:
        dup = next(w for i, w in enumerate(out) if w in out[:i])
        raise ValueError(f"wires must be distinct; wire {dup!r} appears more than once.")
    return out


def ghz_pairs(n: int) -> list[tuple[int, int]]:
    """CNOTs of the doubling tree that spreads qubit 0 to all ``n`` qubits (``n - 1`` of them)."""
    pairs = []
    step = 1
    while step < n:
        pairs.extend((i, i + step) for i in range(min(step, n - step)))
        step *= 2
    return pairs


def generator_rows(circuit: IqpCircuit) -> list[tuple[int, list[int]]]:
    """``(gate index, qubits)`` of every generator, in the order of ``circuit.generators``.

    This is the order in which the explicit sequence, :func:`to_qasm` and :func:`resources`
    apply the diagonal gates (for a circuit built from a pattern: gate by gate).
    """
    weights = circuit.weights().tolist()
    rows = np.asarray(circuit.generators).tolist()
    gate_of = np.asarray(circuit.gate_of).tolist()
    return [(k, row[:w]) for k, row, w in zip(gate_of, rows, weights, strict=True)]


def first_fit_layers(rows: list[list[int]], weights: list[int], n: int) -> np.ndarray:
    """Greedy colouring: heaviest generators first, each into the lowest layer free on its
    qubits. Layers used by each qubit are kept as bits of a Python int."""
    used = [0] * n
    layer = np.empty(len(rows), dtype=np.int64)
    order = np.argsort(-np.asarray(weights), kind="stable").tolist()
    for g in order:
        qs = rows[g][: weights[g]]
        busy = 0
        for q in qs:
            busy |= used[q]
        free = ~busy & (busy + 1)  # lowest zero bit of busy
        for q in qs:
            used[q] |= free
        layer[g] = free.bit_length() - 1
    return layer


def layered_rows(circuit: IqpCircuit) -> list[tuple[int, list[int]]]:
    """:func:`generator_rows` reordered layer by layer (:func:`first_fit_layers`): the diagonal
    gates commute, so the distribution is unchanged, and generators that share no qubit sit
    next to each other, which is what a compiler needs to run them in parallel."""
    rows = generator_rows(circuit)
    layer = first_fit_layers([r for _, r in rows], [len(r) for _, r in rows], circuit.n_qubits)
    return [rows[i] for i in np.argsort(layer, kind="stable").tolist()]
