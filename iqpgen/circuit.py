"""The structure of an IQP circuit: which generators each trainable gate owns.

An IQP circuit on ``n`` qubits prepares ``|0…0⟩`` (or ``(|0…0⟩+|1…1⟩)/√2`` with
``spin_sym``), applies a Hadamard on every qubit, the commuting gates
``MultiRZ(2θ_k)`` on the qubits of each generator of gate ``k``, Hadamards again, and
measures every qubit in Z. Equivalently it applies ``Π_k exp(-iθ_k Σ_{g∈gate k} X_g)``
to the initial state.

:class:`IqpCircuit` holds only the structure. Parameters are a plain array beside it,
one angle per gate. The circuit is a JAX pytree whose index arrays are traced, so one
compiled function serves every circuit of the same shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

__all__ = ["IqpCircuit", "pair_offset"]


def _is_int(x: Any) -> bool:
    return isinstance(x, int | np.integer) and not isinstance(x, bool | np.bool_)


def _parse_gates(n_qubits: int, gates: Any) -> tuple[np.ndarray, np.ndarray]:
    """Turn a PennyLane-style pattern into padded generator and gate-index arrays."""
    if isinstance(gates, str | bytes) or not isinstance(gates, Sequence | np.ndarray):
        raise TypeError(
            "gates must be a list with one entry per trainable gate, each a list of generators "
            f"(e.g. [[[0, 1]], [[2], [3]]]); got {type(gates).__name__}."
        )
    if len(gates) == 0:
        raise ValueError("gates is empty: give at least one gate, e.g. iqpgen.gates.local(n, 2).")
    plain = _parse_plain(gates)
    if plain is not None:
        return plain
    flat: list[Sequence[int]] = []
    gate_of: list[int] = []
    for k, gate in enumerate(gates):
        if isinstance(gate, str | bytes) or not isinstance(gate, Sequence | np.ndarray):
            raise TypeError(f"gates[{k}] must be a list of generators, got {gate!r}.")
        if len(gate) == 0:
            raise ValueError(f"gates[{k}] has no generators; every gate needs at least one.")
        for j, gen in enumerate(gate):
            if _is_int(gen):
                raise TypeError(
                    f"gates[{k}] = {gate!r} is a list of qubit indices, not of generators; "
                    f"wrap it as [{list(gate)!r}] for one generator on those qubits."
                )
            if isinstance(gen, str | bytes) or not isinstance(gen, Sequence | np.ndarray):
                raise TypeError(
                    f"gates[{k}][{j}] must be a sequence of qubit indices, got {gen!r}."
                )
            if len(gen) == 0:
                raise ValueError(f"gates[{k}][{j}] is an empty generator; give at least one qubit.")
            flat.append(gen)
            gate_of.append(k)
    width = max(len(g) for g in flat)
    gens = np.full((len(flat), width), -1, dtype=np.int64)
    for r, gen in enumerate(flat):
        if not all(_is_int(q) for q in gen):
            raise TypeError(f"generator {list(gen)!r} must hold integer qubit indices.")
        gens[r, : len(gen)] = gen
        if min(gen) < 0:
            _negative_qubit(gen, gate_of[r])
    return gens, np.asarray(gate_of, dtype=np.int64)


def _parse_plain(gates: Sequence) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_parse_gates` for the common form, lists or tuples of lists or tuples of Python
    ints, with exact type tests instead of the abstract ones (a 400,000-gate pattern: 0.3 s
    instead of 2 s); None for anything else, which the general loop checks and reports."""
    plain = (list, tuple)
    if not all(type(gate) in plain and gate for gate in gates):
        return None
    flat = [gen for gate in gates for gen in gate]
    if not all(type(gen) in plain and gen and all(type(q) is int for q in gen) for gen in flat):
        return None
    sizes = np.fromiter(map(len, gates), np.int64, len(gates))
    gate_of = np.repeat(np.arange(len(gates), dtype=np.int64), sizes)
    lens = np.fromiter(map(len, flat), np.int64, len(flat))
    gens = np.full((len(flat), int(lens.max())), -1, dtype=np.int64)
    for w in np.unique(lens).tolist():
        rows = np.flatnonzero(lens == w)
        gens[rows, :w] = np.array([flat[r] for r in rows.tolist()], dtype=np.int64)
        if gens[rows, :w].min() < 0:
            r = int(rows[np.argmax((gens[rows, :w] < 0).any(axis=1))])
            _negative_qubit(flat[r], gate_of[r])
    return gens, gate_of


def _negative_qubit(gen: Sequence[int], gate: int) -> None:
    """Refuse a negative qubit index (in the padded arrays -1 marks an empty slot)."""
    raise ValueError(
        f"generator {[int(q) for q in gen]} (gate {int(gate)}) has a negative qubit; qubits are "
        "numbered from 0."
    )


def _check_arrays(n_qubits: int, gens: np.ndarray, gate_of: np.ndarray) -> None:
    valid = gens >= 0
    bad = (gens >= n_qubits) | (gens < -1)
    if bad.any():
        r = int(np.argwhere(bad)[0, 0])
        raise ValueError(
            f"generator {gens[r][valid[r]].tolist()} (gate {int(gate_of[r])}) has a qubit "
            f"outside range(n_qubits={n_qubits}); qubits are numbered 0..{n_qubits - 1}."
        )
    if not valid.any(axis=1).all():
        r = int(np.argwhere(~valid.any(axis=1))[0, 0])
        raise ValueError(f"generator {r} (gate {int(gate_of[r])}) is empty.")
    if gens.shape[1] == 2:
        dup = valid[:, 1] & (gens[:, 0] == gens[:, 1])
    elif gens.shape[1] > 2:
        s = np.sort(np.where(valid, gens, -1 - np.arange(gens.shape[1])), axis=1)
        dup = (s[:, 1:] == s[:, :-1]).any(axis=1)
    if gens.shape[1] > 1:
        if dup.any():
            r = int(np.argwhere(dup)[0, 0])
            raise ValueError(
                f"generator {gens[r][valid[r]].tolist()} (gate {int(gate_of[r])}) repeats a "
                "qubit; list each qubit of a generator once (X_q X_q is the identity)."
            )


@jax.tree_util.register_pytree_node_class
class IqpCircuit:
    """Immutable structure of an IQP circuit.

    Args:
        n_qubits: number of qubits, at least 1.
        gates: one entry per trainable parameter; each entry is a list of generators,
            each generator a sequence of distinct qubit indices. This is PennyLane's
            ``qml.IQP`` ``pattern``: ``[[[0, 1]], [[2], [3]]]`` has two parameters, the
            first on ``X_0 X_1``, the second shared by ``X_2`` and ``X_3``.
        spin_sym: start from ``(|0…0⟩+|1…1⟩)/√2``; the output distribution is then
            invariant under flipping every bit.

    Attributes:
        n_qubits: number of qubits, as given.
        n_params: number of trainable parameters, ``len(gates)``.
        spin_sym: as given.
        n_generators: total number of generators.
        max_weight: largest generator weight (2 or less selects the fast pairwise path).
        is_all_pairs: whether this is :func:`iqpgen.gates.local_circuit`'s ``(n, 2)`` layout,
            held without index arrays (see :meth:`all_pairs`).
        generators: ``(n_generators, max_weight)`` int32 array of qubit indices, padded
            with ``n_qubits`` (built on request for the all-pairs layout).
        gate_of: ``(n_generators,)`` int32 array, the parameter index of each generator.

    Example:
        >>> import iqpgen
        >>> c = iqpgen.IqpCircuit(3, [[[0, 1]], [[2], [1]]])
        >>> c.n_params, c.max_weight
        (2, 2)
        >>> c.gates
        [[(0, 1)], [(2,), (1,)]]
    """

    __slots__ = (
        "_n",
        "_n_params",
        "_spin_sym",
        "_all_pairs",
        "_gens",
        "_gate_of",
        "_gates_cache",
    )

    def __init__(self, n_qubits: int, gates: Any, *, spin_sym: bool = False) -> None:
        n_qubits = _check_n_qubits(n_qubits)
        gens, gate_of = _parse_gates(n_qubits, gates)
        self._setup(n_qubits, gens, gate_of, int(len(gates)), spin_sym)

    @classmethod
    def all_pairs(cls, n_qubits: int, *, spin_sym: bool = False) -> IqpCircuit:
        """Every single and every pair of ``n_qubits ≥ 2`` qubits, one parameter each, in the
        order of :func:`iqpgen.gates.local` ``(n, 2)``, held by its size alone: no index
        arrays (``2·n²`` integers at 10,000 qubits, 600 MB), so its memory is that of its
        parameters. Everything that needs ``generators`` builds them on request; the
        estimator, the initialisations and saving never do.

        Example:
            >>> import iqpgen
            >>> c = iqpgen.IqpCircuit.all_pairs(3)
            >>> c.n_params, c.gates == iqpgen.IqpCircuit(3, iqpgen.gates.local(3, 2)).gates
            (6, True)
        """
        n_qubits = _check_n_qubits(n_qubits)
        if n_qubits < 2:
            raise ValueError(f"the all-pairs layout needs n_qubits >= 2, got {n_qubits}.")
        if not isinstance(spin_sym, bool | np.bool_):
            raise TypeError(f"spin_sym must be True or False, got {spin_sym!r}.")
        self = cls.__new__(cls)
        self._n = n_qubits
        self._n_params = n_qubits + n_qubits * (n_qubits - 1) // 2
        self._spin_sym = bool(spin_sym)
        self._all_pairs = True
        self._gens = None
        self._gate_of = None
        self._gates_cache = None
        return self

    @classmethod
    def from_arrays(
        cls,
        n_qubits: int,
        generators: Any,
        gate_of: Any = None,
        *,
        n_params: int | None = None,
        spin_sym: bool = False,
    ) -> IqpCircuit:
        """Build a circuit from index arrays, without Python lists (for very large circuits).

        Args:
            n_qubits: number of qubits.
            generators: ``(n_generators, w)`` integer array of qubit indices, padded with -1.
            gate_of: ``(n_generators,)`` parameter index of each generator; default: one
                parameter per generator.
            n_params: number of parameters; default ``gate_of.max() + 1``.
            spin_sym: as in the constructor.

        Example:
            >>> import numpy as np, iqpgen
            >>> iqpgen.IqpCircuit.from_arrays(4, np.array([[0, 1], [2, -1]])).n_params
            2
        """
        n_qubits = _check_n_qubits(n_qubits)
        gens = np.asarray(generators)
        if gens.ndim == 1:
            gens = gens[:, None]
        if gens.ndim != 2 or gens.shape[0] == 0 or not np.issubdtype(gens.dtype, np.integer):
            raise ValueError(
                "generators must be a non-empty 2-D integer array (n_generators, width) padded "
                f"with -1; got shape {gens.shape} and dtype {gens.dtype}."
            )
        gens = gens.astype(np.int64)
        if gate_of is None:
            gate_of = np.arange(gens.shape[0])
        gate_of = np.asarray(gate_of)
        if gate_of.shape != (gens.shape[0],) or not np.issubdtype(gate_of.dtype, np.integer):
            raise ValueError(
                f"gate_of must be an integer array of shape ({gens.shape[0]},), got shape "
                f"{gate_of.shape} and dtype {gate_of.dtype}."
            )
        if (gate_of < 0).any():
            raise ValueError("gate_of must hold parameter indices >= 0.")
        if n_params is None:
            n_params = int(gate_of.max()) + 1
        if int(gate_of.max()) >= n_params:
            raise ValueError(f"gate_of refers to parameter {int(gate_of.max())} >= n_params.")
        if np.bincount(gate_of, minlength=n_params).min() == 0:
            raise ValueError("every parameter in range(n_params) needs at least one generator.")
        # Move the padding to the end of each row so the layout matches the list form.
        if gens.shape[1] > 1 and ((gens[:, :-1] < 0) & (gens[:, 1:] >= 0)).any():
            order = np.argsort(gens < 0, axis=1, kind="stable")
            gens = np.take_along_axis(gens, order, axis=1)
        self = cls.__new__(cls)
        self._setup(n_qubits, gens, gate_of.astype(np.int64), int(n_params), spin_sym)
        return self

    def _setup(
        self, n: int, gens: np.ndarray, gate_of: np.ndarray, n_params: int, spin_sym: Any
    ) -> None:
        if not isinstance(spin_sym, bool | np.bool_):
            raise TypeError(f"spin_sym must be True or False, got {spin_sym!r}.")
        _check_arrays(n, gens, gate_of)
        # Trim all-padding columns (rows may be shorter than the widest one given).
        width = int((gens >= 0).sum(axis=1).max())
        gens = np.where(gens[:, :width] < 0, n, gens[:, :width])
        self._n = n
        self._n_params = n_params
        self._spin_sym = bool(spin_sym)
        gens = np.ascontiguousarray(gens, dtype=np.int32)
        gate_of = np.ascontiguousarray(gate_of, dtype=np.int32)
        self._all_pairs = _is_all_pairs(n, gens, gate_of, n_params)
        # The all-pairs layout is held by its size alone (see all_pairs).
        self._gens = None if self._all_pairs else gens
        self._gate_of = None if self._all_pairs else gate_of
        self._gates_cache = None

    # -- pytree protocol: index arrays are leaves (traced under jit); sizes are static.
    def tree_flatten(self):
        aux = (self._n, self._n_params, self._spin_sym, self._all_pairs)
        return (self._gens, self._gate_of), aux

    @classmethod
    def tree_unflatten(cls, aux, children):
        self = cls.__new__(cls)
        self._n, self._n_params, self._spin_sym, self._all_pairs = aux
        self._gens, self._gate_of = children
        self._gates_cache = None
        return self

    # -- read-only attributes
    @property
    def n_qubits(self) -> int:
        return self._n

    @property
    def n_params(self) -> int:
        return self._n_params

    @property
    def spin_sym(self) -> bool:
        return self._spin_sym

    @property
    def generators(self):
        if self._gens is None:
            return _all_pairs_generators(self._n)
        return self._gens

    @property
    def gate_of(self):
        if self._gate_of is None:
            return np.arange(self._n_params, dtype=np.int32)
        return self._gate_of

    @property
    def n_generators(self) -> int:
        return self._n_params if self._gens is None else int(self._gens.shape[0])

    @property
    def max_weight(self) -> int:
        return 2 if self._gens is None else int(self._gens.shape[1])

    @property
    def is_pairwise(self) -> bool:
        """True when every generator acts on one or two qubits (the fast path applies)."""
        return self.max_weight <= 2

    @property
    def is_all_pairs(self) -> bool:
        """True for the layout of :func:`iqpgen.gates.local_circuit` ``(n, 2)``: every single
        and every pair, in that order, one parameter each. Its couplings are then built by
        index arithmetic instead of scatters over the generator arrays."""
        return self._all_pairs

    @property
    def gates(self) -> list[list[tuple[int, ...]]]:
        """The pattern as lists of tuples (built on the host; not available under jit)."""
        if self._gates_cache is None:
            gens = np.asarray(self.generators)
            out: list[list[tuple[int, ...]]] = [[] for _ in range(self._n_params)]
            for row, k in zip(gens.tolist(), np.asarray(self.gate_of).tolist(), strict=True):
                out[k].append(tuple(q for q in row if q != self._n))
            self._gates_cache = out
        return self._gates_cache

    def weights(self) -> np.ndarray:
        """Weight (number of qubits) of each generator, shape ``(n_generators,)``."""
        if self._gens is None:
            n_pairs = self._n_params - self._n
            return np.concatenate([np.ones(self._n, np.int64), np.full(n_pairs, 2)])
        return (np.asarray(self._gens) < self._n).sum(axis=1)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in IqpCircuit.__slots__ and not hasattr(self, name) or name == "_gates_cache":
            object.__setattr__(self, name, value)
        else:
            raise AttributeError("IqpCircuit is immutable; build a new one instead.")

    def __repr__(self) -> str:
        return (
            f"IqpCircuit(n_qubits={self._n}, n_params={self._n_params}, "
            f"n_generators={self.n_generators}, max_weight={self.max_weight}, "
            f"spin_sym={self._spin_sym})"
        )


def pair_offset(i: Any, n: int) -> Any:
    """Index of pair ``(i, i + 1)`` among the pairs ``(i, j)``, ``i < j``, in row-major order
    (numpy or JAX integers): the layout of :func:`iqpgen.gates.local_circuit`'s pair gates.

    Example:
        >>> from iqpgen.circuit import pair_offset
        >>> [pair_offset(i, 4) for i in range(4)]  # pairs 01 02 03 | 12 13 | 23
        [0, 3, 5, 6]
    """
    return i * (2 * n - i - 1) // 2


def _all_pairs_generators(n: int) -> np.ndarray:
    """The generators of :meth:`IqpCircuit.all_pairs`, ``(n + n(n−1)/2, 2)`` int32."""
    i, j = np.triu_indices(n, 1)
    singles = np.stack([np.arange(n), np.full(n, n)], axis=1)
    return np.concatenate([singles, np.stack([i, j], axis=1)]).astype(np.int32)


def _is_all_pairs(n: int, gens: np.ndarray, gate_of: np.ndarray, n_params: int) -> bool:
    """Whether the generators are ``[i]`` for every qubit, then ``[i, j]`` for every ``i < j``
    in row-major order, one parameter each (checked in chunks to bound memory)."""
    n_pairs = n * (n - 1) // 2
    if n < 2 or gens.shape != (n + n_pairs, 2) or n_params != n + n_pairs:
        return False
    if not (np.array_equal(gens[:n, 0], np.arange(n)) and (gens[:n, 1] == n).all()):
        return False
    # Pair k sits in row i with offset(i) <= k < offset(i + 1).
    offset = pair_offset(np.arange(n, dtype=np.int64), n)
    step = 1 << 22
    for a in range(0, n + n_pairs, step):
        k = np.arange(a, min(a + step, n + n_pairs), dtype=np.int64)
        if not np.array_equal(gate_of[a : a + step], k):
            return False
        pairs = k[k >= n] - n
        if pairs.size:
            i = np.searchsorted(offset, pairs, side="right") - 1
            g = gens[n + pairs]
            if not (
                np.array_equal(g[:, 0], i) and np.array_equal(g[:, 1], pairs - offset[i] + i + 1)
            ):
                return False
    return True


def _check_n_qubits(n_qubits: Any) -> int:
    if not _is_int(n_qubits):
        raise TypeError(f"n_qubits must be an int, got {type(n_qubits).__name__}.")
    if n_qubits < 1:
        raise ValueError(f"n_qubits must be at least 1, got {n_qubits}.")
    return int(n_qubits)
