"""The fit plan: an :class:`~iqpgen.IqpModel`'s hyperparameters and its training data resolved
into what one fit runs — the circuit, the loss (exact or Monte Carlo) and its options, the
bandwidths and their weights, the validation rows, the starting angles and the optimizer.

The model checks ``X`` once and hands it here; each data set is packed once.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks, costs, exact, init, kernel, mmd, parallel
from .circuit import IqpCircuit
from .estimator import VARIANCE_REDUCTIONS, antithetic_applies, check_variance_reduction
from .noise import readout_array
from .objective import (
    ESTIMATORS,
    adam,
    check_gate_options,
    circuit_for,
    exact_loss_function,
    loss_function,
)
from .symmetry import resolve_symmetry

__all__ = ["FitPlan", "make_plan", "validate", "choose_estimator"]


# Adam's step size for learning_rate="auto": on the 8-blobs and 2D Ising models of the paper
# (16 qubits, 2,000 steps) 1e-2 gave the lowest exact test MMD² of 1e-3, 3e-3, 1e-2 and 3e-2
# (3e-2 diverged). On the Monte Carlo loss the peak of the cosine schedule is 2e-3: on the
# 1,000-qubit scale-free data, 1,967 steps from 2e-3 reached the test MMD² of 3,934 steps from
# 1e-3, and a constant 1e-3 (the paper's) ended on a plateau the decay goes below.
_AUTO_LEARNING_RATE = {"exact": 1e-2, "monte_carlo": 2e-3}
_AUTO_SCHEDULE = {"exact": "constant", "monte_carlo": "cosine"}


#: What ``variance_reduction="auto"`` uses on circuits where the antithetic pairing applies
#: (:func:`iqpgen.estimator.antithetic_applies`); elsewhere ``"control"``.
AUTO_VARIANCE_REDUCTION = "control+antithetic"

#: ``sigma_weights="auto"`` weighs bandwidth σ by ``u_σ^(−SIGMA_WEIGHT_EXPONENT)``, ``u_σ`` the
#: data's MMD² to uniform bits (:func:`iqpgen.kernel.uniform_mmd`). With several bandwidths the
#: plain mean is dominated by the widest ones, whose MMD² is largest, and the narrowest
#: (high-weight correlations) hardly trains. Measured in ``docs/fitting.md``.
SIGMA_WEIGHT_EXPONENT = 3 / 8

#: Values of ``IqpModel``'s ``keep``.
KEEP = ("best", "last")

# validation_fraction="auto": this fraction of the rows is held out when it leaves at least
# _AUTO_MIN_VALIDATION of them; smaller data sets train on every row, without validation.
_AUTO_VALIDATION = 0.1
_AUTO_MIN_VALIDATION = 10


def choose_estimator(circuit: IqpCircuit, n_sigmas: int, n_ops: int, n_samples: int) -> str:
    """What ``estimator="auto"`` trains on: ``"exact"`` where the circuit fits the exact
    engine's memory budget and an exact step (:func:`iqpgen.costs.exact_step_cost`) costs no
    more than the cheapest Monte Carlo step (:func:`iqpgen.costs.path_costs`) with
    ``n_sigmas × n_ops`` operators and ``n_samples`` samples; ``"monte_carlo"`` otherwise.

    Example:
        >>> import iqpgen
        >>> from iqpgen.fitplan import choose_estimator
        >>> choose_estimator(iqpgen.gates.local_circuit(16, 6), 2, 1000, 1000)
        'exact'
    """
    n = circuit.n_qubits
    if n > exact.max_qubits():
        return "monte_carlo"
    mc = min(costs.path_costs(circuit, n_sigmas * n_ops, n_samples).values())
    return "exact" if costs.exact_step_cost(n, n_sigmas) <= mc else "monte_carlo"


#: Values of ``IqpModel``'s ``lr_schedule``.
LR_SCHEDULES = ("auto", "constant", "cosine")


def validate(hp: Any) -> None:
    """Check the hyperparameters of ``hp`` (an :class:`~iqpgen.IqpModel`) before any work."""
    if not isinstance(hp.estimator, str) or hp.estimator not in ESTIMATORS:
        raise ValueError(
            f"estimator must be one of {ESTIMATORS}, got {hp.estimator!r}: 'exact' for the "
            "noise-free loss of small circuits, 'monte_carlo' for any size."
        )
    _checks.check_int("n_ops", hp.n_ops, minimum=1)
    _checks.check_int("n_samples", hp.n_samples, minimum=2)
    _checks.check_int("max_steps", hp.max_steps, minimum=0)
    if hp.patience is not None:
        _checks.check_int("patience", hp.patience, minimum=1)
    check_gate_options(hp)
    if hp.optimizer is None:
        if not (isinstance(hp.learning_rate, str) and hp.learning_rate == "auto"):
            _checks.check_number("learning_rate", hp.learning_rate, low=0.0)
    elif not hasattr(hp.optimizer, "update"):
        raise TypeError(f"optimizer must be an optax transformation, got {hp.optimizer!r}.")
    else:
        _checks.refuse_unused(
            hp,
            ("learning_rate", "lr_schedule"),
            "they set the built-in Adam; with optimizer= set them in the optax transformation",
        )
    if hp.estimator == "exact":
        _checks.refuse_unused(
            hp,
            ("n_ops", "n_samples", "variance_reduction"),
            "they set the Monte Carlo loss, and estimator='exact' has no sampling",
        )
    if not isinstance(hp.init, str):
        _checks.refuse_unused(hp, ("init_scale",), "init= gives the angles themselves")
    if not (isinstance(hp.validation_fraction, str) and hp.validation_fraction == "auto"):
        _checks.check_number(
            "validation_fraction", hp.validation_fraction, low=0.0, low_open=False, high=1.0
        )
    if isinstance(hp.sigma_weights, str) and hp.sigma_weights not in ("auto", "equal"):
        raise ValueError(
            f"sigma_weights must be 'auto', 'equal' or one number per bandwidth, got "
            f"{hp.sigma_weights!r}."
        )
    if hp.lr_schedule not in LR_SCHEDULES:
        raise ValueError(
            f"lr_schedule must be one of {LR_SCHEDULES}, got {hp.lr_schedule!r}: 'cosine' "
            "decays the learning rate to 0 over max_steps."
        )
    if hp.keep not in KEEP:
        raise ValueError(
            f"keep must be 'best' (the parameters of the best validation loss) or 'last', "
            f"got {hp.keep!r}."
        )
    if hp.variance_reduction != "auto" and hp.variance_reduction not in VARIANCE_REDUCTIONS:
        raise ValueError(
            f"variance_reduction must be 'auto' or one of {VARIANCE_REDUCTIONS}, got "
            f"{hp.variance_reduction!r}."
        )
    if hp.init_scale is not None:
        _checks.check_number("init_scale", hp.init_scale, low=0.0, low_open=False)
    if hp.mesh is not None:
        parallel.check_mesh(hp.mesh)
        if hp.estimator == "exact":
            raise ValueError(
                "mesh splits the Monte Carlo loss's circuit samples across devices, and "
                "estimator='exact' has none; use estimator='monte_carlo' or no mesh."
            )
    if not isinstance(hp.sigma, str):
        kernel.as_sigmas(hp.sigma)


def resolve_estimator(hp: Any, circuit: IqpCircuit, n_sigmas: int) -> str:
    if hp.estimator == "exact":
        exact.check_size(circuit.n_qubits, what="estimator='exact'")
        return "exact"
    if hp.estimator == "monte_carlo" or hp.mesh is not None:
        return "monte_carlo"
    return choose_estimator(circuit, n_sigmas, int(hp.n_ops), int(hp.n_samples))


def build_circuit(hp: Any, X: np.ndarray) -> IqpCircuit:
    spin_sym = hp.spin_sym or resolve_symmetry(hp.symmetry, X) == "global_flip"
    return circuit_for(hp.gates, X.shape[1], max_weight=hp.max_weight, spin_sym=spin_sym)


def initial_params(hp: Any, circuit: IqpCircuit, X: np.ndarray, key: jax.Array) -> jax.Array:
    if isinstance(hp.init, str):
        if hp.init == "data":
            return init.from_data(circuit, X, scale=hp.init_scale)
        if hp.init == "moments":
            shrink = 1.0 if hp.init_scale is None else hp.init_scale
            return init.from_moments(circuit, X, shrink=shrink)
        if hp.init == "normal":
            std = 0.01 if hp.init_scale is None else hp.init_scale
            return init.normal(circuit, key=key, std=std)
        raise ValueError(f"init must be 'data', 'moments', 'normal' or an array, got {hp.init!r}.")
    return _checks.check_params(circuit, hp.init).astype(jnp.float32)


def resolve_sigma_weights(
    hp: Any, sigmas: tuple[float, ...], X: np.ndarray, kind: str
) -> tuple[float, ...] | None:
    w = hp.sigma_weights
    if not isinstance(w, str):  # checked even for one bandwidth: nothing is ignored
        w = np.asarray(w, np.float64).ravel()
        if w.size != len(sigmas) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() == 0:
            raise ValueError(
                f"sigma_weights must be 'auto', 'equal' or {len(sigmas)} numbers >= 0 (one "
                f"per bandwidth, not all 0), got {hp.sigma_weights!r}."
            )
    if len(sigmas) == 1 or (isinstance(w, str) and (w == "equal" or kind == "exact")):
        return None
    if isinstance(w, str):  # "auto": validated in validate
        u = np.maximum(kernel.uniform_mmd(X, sigmas), 1e-12)
        w = u ** (-SIGMA_WEIGHT_EXPONENT)
    return tuple(float(v) for v in w / w.mean())


def resolve_variance_reduction(hp: Any, circuit: IqpCircuit) -> str:
    if hp.variance_reduction == "auto":
        return AUTO_VARIANCE_REDUCTION if antithetic_applies(circuit) else "control"
    return check_variance_reduction(circuit, hp.variance_reduction)


def resolve_sigma(sigma: Any, X: np.ndarray) -> tuple[float, ...]:
    if isinstance(sigma, str):
        if sigma != "auto":
            raise ValueError(f"sigma must be 'auto', a float > 0 or a list, got {sigma!r}.")
        return tuple(kernel.sigma_heuristic(X))
    return kernel.as_sigmas(sigma)


class FitPlan(NamedTuple):
    """Everything one fit runs (:func:`make_plan`): the :class:`~iqpgen.IqpCircuit`, the
    loss's kind (``"exact"``/``"monte_carlo"``), bandwidths, weights and options, the loss
    function and optimizer, the starting angles, the training arguments, the validation
    function and arguments, the training key, the checkpoint metadata and ``refit``: the
    starting angles and training arguments on every row, for the exact loss's second run, or
    None."""

    circuit: Any
    kind: str
    sigmas: tuple[float, ...]
    weights: tuple[float, ...] | None
    loss_options: dict
    loss_fn: Any
    optimizer: Any
    params0: jax.Array
    args: tuple
    val_fn: Any
    val_args: tuple
    key: jax.Array
    meta: dict
    refit: tuple | None


def make_plan(hp: Any, X: np.ndarray, X_val: Any = None) -> FitPlan:
    """Resolve the hyperparameters of ``hp`` (validated by :func:`validate`) on the checked
    training rows ``X`` and optional validation rows ``X_val``."""
    key = _checks.key_from(hp.random_state)
    k_split, k_init, k_train, k_val = jax.random.split(key, 4)
    circuit = build_circuit(hp, X)
    readout = readout_array(hp.readout_error, X.shape[1])
    n_sigmas = 3 if isinstance(hp.sigma, str) else len(kernel.as_sigmas(hp.sigma))
    kind = resolve_estimator(hp, circuit, n_sigmas)
    fraction = hp.validation_fraction
    # The exact loss with validation_fraction="auto": the held-out rows choose the number
    # of steps, then the model trains on every row for that many (``refit``).
    refit = False
    if isinstance(fraction, str):
        ok = int(round(_AUTO_VALIDATION * X.shape[0])) >= _AUTO_MIN_VALIDATION
        fraction = _AUTO_VALIDATION if ok else 0.0
        refit = ok and kind == "exact" and X_val is None and hp.keep == "best"
    X_all = X
    if X_val is not None:
        X_val = _checks.check_binary_matrix("X_val", X_val, n_cols=X.shape[1], min_rows=2)
    elif fraction > 0:
        n_val = int(round(fraction * X.shape[0]))
        if n_val < 2 or X.shape[0] - n_val < 2:
            raise ValueError(
                f"validation_fraction={fraction} leaves {n_val} validation "
                f"and {X.shape[0] - n_val} training rows; each needs at least 2."
            )
        perm = np.asarray(jax.random.permutation(k_split, X.shape[0]))
        X_val, X = X[perm[:n_val]], X[perm[n_val:]]
    sigmas = resolve_sigma(hp.sigma, X)
    lr = hp.learning_rate
    if isinstance(lr, str):
        lr = _AUTO_LEARNING_RATE[kind]
    schedule = hp.lr_schedule
    if schedule == "auto":
        schedule = _AUTO_SCHEDULE[kind]
    optimizer = hp.optimizer or adam(float(lr), schedule, int(hp.max_steps))
    options = {
        "n_ops": int(hp.n_ops),
        "n_samples": int(hp.n_samples),
        "variance_reduction": resolve_variance_reduction(hp, circuit),
    }
    weights = resolve_sigma_weights(hp, sigmas, X, kind)
    if kind == "exact":
        loss_fn, prepare = exact_loss_function(sigmas, weights), mmd.data_table
    else:
        loss_fn = loss_function(sigmas, **options, sigma_weights=weights, mesh=hp.mesh)
        prepare = mmd.pack_data
    val_fn, val_args = None, ()
    if X_val is not None:
        # The training loss with one key for every check (comparable checks); the same
        # function object in every fit with these settings, so its compiled program is reused.
        val_fn, val_args = loss_fn, (k_val, circuit, prepare(X_val), readout)
    meta = {
        "estimator": kind,
        "n_qubits": circuit.n_qubits,
        "n_params": circuit.n_params,
        "sigmas": list(sigmas),
        "sigma_weights": None if weights is None else list(weights),
        # A cosine schedule's rates depend on the number of steps; a constant one's not.
        "lr_schedule_steps": (
            int(hp.max_steps) if schedule == "cosine" and hp.optimizer is None else None
        ),
        "n_rows": int(X.shape[0]),
        "data_sum": int(X.sum()),
        "readout_error": None if readout is None else np.asarray(readout).tolist(),
        **options,
    }
    refit_args = None
    if refit:
        refit_args = (
            initial_params(hp, circuit, X_all, k_init),
            (circuit, prepare(X_all), readout),
        )
    return FitPlan(
        circuit=circuit,
        kind=kind,
        sigmas=sigmas,
        weights=weights,
        loss_options=options,
        loss_fn=loss_fn,
        optimizer=optimizer,
        params0=initial_params(hp, circuit, X, k_init),
        args=(circuit, prepare(X), readout),
        val_fn=val_fn,
        val_args=val_args,
        key=k_train,
        meta=meta,
        refit=refit_args,
    )
