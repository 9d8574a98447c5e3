"""Resources: gate counts and depth of the circuit decomposed to h, rz and cx."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from .. import _checks
from ..circuit import IqpCircuit
from .sequence import first_fit_layers, ghz_pairs

__all__ = ["Resources", "resources"]


class Resources(NamedTuple):
    """Gate counts and depth of the circuit decomposed to {h, rz, cx} (as in :func:`to_qasm`).

    Attributes:
        counts: number of gates of each name, ``{"h": …, "rz": …, "cx": …}``.
        n_gates: total number of gates (measurements excluded).
        n_two_qubit: number of two-qubit gates (the ``cx`` count).
        depth: circuit depth of the decomposed sequence, diagonal gates in the order of
            ``circuit.generators`` (the order :func:`to_qasm` writes), with all-to-all
            connectivity (every gate takes one time step; gates on disjoint qubits run in
            parallel as soon as their qubits are free).
        layer_of: with ``diagonal_layers=True``, ``(n_generators,)`` int array giving the
            parallel layer of each generator (row of ``circuit.generators``); generators in
            one layer share no qubit. ``None`` otherwise.
        n_layers: number of layers, or ``None``.
        layered_depth: depth of the decomposed sequence with the (commuting) diagonal gates
            reordered layer by layer, or ``None``.
        n_swaps: with ``backend``, the SWAPs that routing for it inserted
            (:func:`iqpgen.export.routing`); ``None`` otherwise.
        routed_two_qubit: with ``backend``, the two-qubit gates after routing and compiling.
        routed_two_qubit_depth: with ``backend``, the two-qubit depth after routing.
    """

    counts: dict[str, int]
    n_gates: int
    n_two_qubit: int
    depth: int
    layer_of: np.ndarray | None = None
    n_layers: int | None = None
    layered_depth: int | None = None
    n_swaps: int | None = None
    routed_two_qubit: int | None = None
    routed_two_qubit_depth: int | None = None


def _depth(n: int, rows: list[list[int]], weights: list[int], spin_sym: bool) -> int:
    """ASAP depth of the {h, rz, cx} sequence, by a per-qubit counter of busy time steps."""
    level = [0] * n
    if spin_sym:
        level[0] = 1
        for a, b in ghz_pairs(n):
            level[a] = level[b] = max(level[a], level[b]) + 1
    level = [t + 1 for t in level]  # Hadamard layer
    for row, w in zip(rows, weights, strict=True):
        if w == 1:
            level[row[0]] += 1
        elif w == 2:
            a, b = row[0], row[1]
            t = max(level[a], level[b]) + 3  # cx, rz on b, cx
            level[a] = level[b] = t
        else:
            qs = row[:w]
            for a, b in zip(qs[:-1], qs[1:], strict=True):
                level[a] = level[b] = max(level[a], level[b]) + 1
            level[qs[-1]] += 1
            for a, b in zip(qs[-2::-1], qs[:0:-1], strict=True):
                level[a] = level[b] = max(level[a], level[b]) + 1
    return max(level) + 1  # final Hadamard layer


def resources(
    circuit: IqpCircuit,
    *,
    diagonal_layers: bool = False,
    backend: Any = None,
    initial_layout: Sequence[int] | None = None,
    seed: int = 0,
) -> Resources:
    """Gate counts and depth of the circuit decomposed to h, rz and cx, as :func:`to_qasm`.

    A generator of weight ``w`` costs one ``rz`` and ``2(w - 1)`` ``cx``; the two Hadamard
    layers cost ``2n`` ``h``; ``spin_sym`` adds one ``h`` and ``n - 1`` ``cx``. The depth
    assumes all-to-all connectivity and counts every gate as one time step.

    The diagonal gates all commute, so they may run in any order. With
    ``diagonal_layers=True`` the generators are also packed into parallel layers (greedy
    colouring, heaviest first: no two generators of a layer share a qubit), and the depth of
    that reordered sequence is reported. To export in that order, rebuild the circuit with
    its generators sorted by layer (the distribution is unchanged)::

        order = np.argsort(r.layer_of, kind="stable")
        g = np.asarray(circuit.generators)[order]
        packed = IqpCircuit.from_arrays(n, np.where(g == n, -1, g), circuit.gate_of[order],
                                        n_params=circuit.n_params, spin_sym=circuit.spin_sym)

    Both take a time about linear in the number of generators (about 2 s for 1,000 qubits
    with all 500,500 generators of weight 1 and 2).

    With ``backend`` (a Qiskit backend, a ``CouplingMap`` or a list of qubit pairs; needs
    Qiskit) the circuit is also routed and compiled for it by :func:`iqpgen.export.routing`,
    with ``initial_layout`` and ``seed`` as there and an angle of 0.5 on every gate (routing
    does not depend on the angles; the value only keeps any gate from cancelling), and the
    SWAPs inserted, the two-qubit gates and the two-qubit depth are reported.

    Args:
        circuit: the circuit structure (parameters do not change the resources).
        diagonal_layers: also compute the layer schedule and its depth.

    Returns:
        A :class:`Resources` named tuple.

    Raises:
        TypeError: ``circuit`` is not an :class:`~iqpgen.IqpCircuit` or ``diagonal_layers``
            not a bool; the errors of :func:`iqpgen.export.routing` with ``backend``.

    Example:
        >>> import iqpgen
        >>> c = iqpgen.IqpCircuit(4, [[[0, 1]], [[2, 3]], [[1, 2]]])
        >>> r = iqpgen.export.resources(c, diagonal_layers=True)
        >>> r.counts, r.n_two_qubit, r.depth
        ({'h': 8, 'rz': 3, 'cx': 6}, 6, 8)
        >>> r.layer_of.tolist(), r.n_layers, r.layered_depth
        ([0, 0, 1], 2, 8)
    """
    circuit = _checks.check_circuit(circuit)
    if not isinstance(diagonal_layers, bool | np.bool_):
        raise TypeError(f"diagonal_layers must be True or False, got {diagonal_layers!r}.")
    n = circuit.n_qubits
    gens = np.asarray(circuit.generators)
    weights_arr = circuit.weights()
    counts = {
        "h": 2 * n + int(circuit.spin_sym),
        "rz": int(gens.shape[0]),
        "cx": 2 * int((weights_arr - 1).sum()) + (n - 1) * int(circuit.spin_sym),
    }
    rows = gens.tolist()
    weights = weights_arr.tolist()
    depth = _depth(n, rows, weights, circuit.spin_sym)
    out = Resources(
        counts=counts, n_gates=sum(counts.values()), n_two_qubit=counts["cx"], depth=depth
    )
    if backend is not None:
        from .qiskit import routing

        routed = routing(
            circuit,
            np.full(circuit.n_params, 0.5),
            backend,
            initial_layout=initial_layout,
            seed=seed,
        )
        out = out._replace(
            n_swaps=routed.n_swaps,
            routed_two_qubit=routed.n_two_qubit,
            routed_two_qubit_depth=routed.two_qubit_depth,
        )
    if not diagonal_layers:
        return out
    layer_of = first_fit_layers(rows, weights, n)
    order = np.argsort(layer_of, kind="stable")
    layered = _depth(
        n, [rows[i] for i in order.tolist()], weights_arr[order].tolist(), circuit.spin_sym
    )
    return out._replace(layer_of=layer_of, n_layers=int(layer_of.max()) + 1, layered_depth=layered)
