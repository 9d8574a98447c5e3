"""The pieces of a fit that :class:`~iqpgen.IqpModel` assembles: the circuit of its ``gates``
argument, its MMD² training losses (Monte Carlo and exact) and its Adam optimizer.

Each loss function and optimizer is one cached object per setting, so repeated fits reuse the
compiled training step.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from . import _checks, gates, mmd
from .circuit import IqpCircuit
from .symmetry import check_symmetry

__all__ = ["circuit_for", "loss_function", "exact_loss_function", "adam"]

#: Values of ``IqpModel``'s ``estimator``: ``"auto"``, then the two losses a fit trains on.
ESTIMATORS = ("auto", "exact", "monte_carlo")


def circuit_for(gate_spec: Any, n: int, *, max_weight: int, spin_sym: bool) -> IqpCircuit:
    """The circuit of an estimator's ``gates`` argument for ``n`` qubits: all gates of weight
    ≤ ``max_weight`` when ``gate_spec`` is None, else the given pattern or circuit."""
    if gate_spec is None:
        if max_weight > n:
            raise ValueError(f"max_weight={max_weight} exceeds the data's {n} columns.")
        return gates.local_circuit(n, max_weight, spin_sym=bool(spin_sym))
    if isinstance(gate_spec, IqpCircuit):
        if gate_spec.n_qubits != n:
            raise ValueError(f"gates is a circuit on {gate_spec.n_qubits} qubits; X has {n}.")
        return gate_spec
    return IqpCircuit(n, gate_spec, spin_sym=bool(spin_sym))


def check_gate_options(owner: Any) -> None:
    """An estimator's ``gates``, ``max_weight``, ``spin_sym`` and ``symmetry``, validated
    together: with ``gates`` given, ``max_weight`` is unused; a ready-made circuit has its own
    ``spin_sym``; ``symmetry`` and ``spin_sym=True`` say the same thing twice."""
    _checks.check_int("max_weight", owner.max_weight, minimum=1)
    if not isinstance(owner.spin_sym, bool | np.bool_):
        raise TypeError(f"spin_sym must be True or False, got {owner.spin_sym!r}.")
    if check_symmetry(owner.symmetry) is not None and (
        owner.spin_sym or isinstance(owner.gates, IqpCircuit)
    ):
        raise ValueError(
            "symmetry sets the circuit's spin_sym: give symmetry or spin_sym=True, not "
            "both, and with a ready-made IqpCircuit as gates give neither (it has its own "
            "spin_sym)."
        )
    if owner.gates is not None:
        _checks.refuse_unused(owner, ("max_weight",), "gates= gives the gates themselves")
    if isinstance(owner.gates, IqpCircuit):
        _checks.refuse_unused(
            owner, ("spin_sym",), "a ready-made IqpCircuit as gates has its own spin_sym"
        )


@functools.lru_cache(maxsize=32)
def loss_function(
    sigmas: tuple[float, ...],
    n_ops: int,
    n_samples: int,
    variance_reduction: str = "none",
    sigma_weights: tuple[float, ...] | None = None,
    mesh: Any = None,
):
    """One loss function object per setting, so repeated fits reuse the compiled step
    (``mesh``: see :func:`iqpgen.mmd.loss_from_packed`)."""

    def loss_fn(params, key, circuit, data, readout=None):
        return mmd.loss_from_packed(
            circuit,
            params,
            data,
            key,
            sigmas=sigmas,
            n_ops=n_ops,
            n_samples=n_samples,
            variance_reduction=variance_reduction,
            sigma_weights=sigma_weights,
            readout_error=readout,
            mesh=mesh,
        )

    return loss_fn


@functools.lru_cache(maxsize=32)
def exact_loss_function(sigmas: tuple[float, ...], sigma_weights: tuple[float, ...] | None):
    """The exact MMD² as a training loss (the key is unused: the loss has no noise)."""

    def loss_fn(params, key, circuit, data, readout=None):
        return mmd.exact_from_table(
            circuit, params, data, sigmas=sigmas, sigma_weights=sigma_weights, readout_error=readout
        )

    return loss_fn


@functools.lru_cache(maxsize=32)
def adam(learning_rate: float, schedule: str = "constant", n_steps: int = 0):
    """Adam at ``learning_rate``, constant or cosine-decayed to 0 over ``n_steps`` (one object
    per setting, so repeated fits reuse the compiled step)."""
    import optax

    if schedule == "cosine" and n_steps > 0:
        return optax.adam(optax.cosine_decay_schedule(learning_rate, n_steps))
    return optax.adam(learning_rate)
