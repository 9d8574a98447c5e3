"""Saving and loading a fitted :class:`~iqpgen.IqpModel`: one ``.npz`` file of arrays and JSON
(no pickle), written atomically; :meth:`IqpModel.save <iqpgen.IqpModel.save>` and
:meth:`IqpModel.load <iqpgen.IqpModel.load>` call these.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from . import _checks, train
from ._version import __version__
from .circuit import IqpCircuit
from .io import atomic_savez
from .objective import ESTIMATORS

__all__ = ["save_model", "load_model"]

#: Version of the model file format written by :func:`save_model`.
MODEL_FORMAT = 1
_KIND = "iqpgen.IqpModel"


def save_model(model: Any, path: str | os.PathLike) -> None:
    """Write the fitted model to one ``.npz`` file (arrays plus JSON; no pickle), atomically."""
    model.check_fitted()
    params = model.get_params()
    params["optimizer"] = None if model.optimizer is None else repr(model.optimizer)
    params["init"] = model.init if isinstance(model.init, str) else "array"
    params["mesh"] = None  # this run's devices, not the model's
    params["random_state"] = (
        model.random_state if isinstance(model.random_state, int | type(None)) else None
    )
    if params["gates"] is not None:
        params["gates"] = "circuit"
    if params["readout_error"] is not None:
        params["readout_error"] = np.asarray(params["readout_error"], np.float64).tolist()
    meta = {
        "kind": _KIND,
        "format": MODEL_FORMAT,
        "iqpgen_version": __version__,
        "n_qubits": model.circuit_.n_qubits,
        "n_params": model.circuit_.n_params,
        "spin_sym": model.circuit_.spin_sym,
        "layout": "all_pairs" if model.circuit_.is_all_pairs else "arrays",
        "sigma_": list(model.sigma_),
        "sigma_weights_": getattr(model, "sigma_weights_", None),
        "estimator_": model.estimator_,
        "loss_options_": model.loss_options_,
        "n_features_in_": int(model.n_features_in_),
        "feature_names_in_": (
            None
            if getattr(model, "feature_names_in_", None) is None
            else [str(c) for c in model.feature_names_in_]
        ),
        "hyperparameters": params,
        "history": {
            "best_step": model.history_.best_step,
            "stopped_early": model.history_.stopped_early,
            "seconds": model.history_.seconds,
        },
    }
    atomic_savez(
        os.fspath(path),
        meta=np.array(json.dumps(meta)),
        params=np.asarray(model.params_),
        **_circuit_arrays(model.circuit_),
        loss=model.history_.loss,
        val_step=model.history_.val_step,
        val_loss=model.history_.val_loss,
    )


def _circuit_arrays(circuit: IqpCircuit) -> dict[str, np.ndarray]:
    """The index arrays to save (none for the all-pairs layout, rebuilt from its size)."""
    if circuit.is_all_pairs:
        return {}
    return {"generators": np.asarray(circuit.generators), "gate_of": np.asarray(circuit.gate_of)}


def load_model(cls: type, path: str | os.PathLike) -> Any:
    """Read a model written by :meth:`save`."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no model file at {path!r}.")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        meta = json.loads(str(arrays["meta"]))
    except Exception as err:
        raise ValueError(f"{path!r} is not a readable iqpgen model file ({err}).") from err
    if not isinstance(meta, dict) or meta.get("kind") != _KIND:
        raise ValueError(f"{path!r} is not an iqpgen model file (wrong kind).")
    if meta.get("format") != MODEL_FORMAT:
        raise ValueError(
            f"{path!r} has model format {meta.get('format')}; this iqpgen reads format "
            f"{MODEL_FORMAT}."
        )
    try:
        n = int(meta["n_qubits"])
        if meta.get("layout", "arrays") == "arrays":
            gens = arrays["generators"].astype(np.int64)
            circuit = IqpCircuit.from_arrays(
                n,
                np.where(gens >= n, -1, gens),
                arrays["gate_of"],
                n_params=int(meta["n_params"]),
                spin_sym=bool(meta["spin_sym"]),
            )
        else:  # the all-pairs layout, saved by its size
            circuit = IqpCircuit.all_pairs(n, spin_sym=bool(meta["spin_sym"]))
        params = _checks.check_params(circuit, arrays["params"])
        hp = dict(meta["hyperparameters"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{path!r} is a corrupt iqpgen model file ({err}).") from err
    hp["optimizer"] = None
    if hp.get("init") == "array":
        hp["init"] = "data"
    hp["gates"] = circuit
    model = cls(**hp)
    model.circuit_ = circuit
    model.params_ = params
    model.sigma_ = tuple(meta["sigma_"])
    w = meta.get("sigma_weights_")
    model.sigma_weights_ = None if w is None else tuple(float(v) for v in w)
    model.estimator_ = str(meta.get("estimator_", "monte_carlo"))
    if model.estimator_ not in ESTIMATORS[1:]:
        raise ValueError(f"{path!r} is a corrupt iqpgen model file (estimator_).")
    model.n_features_in_ = int(meta["n_features_in_"])
    names = meta.get("feature_names_in_")
    if names is not None:
        if not isinstance(names, list) or len(names) != model.n_features_in_:
            raise ValueError(f"{path!r} is a corrupt iqpgen model file (feature_names_in_).")
        model.feature_names_in_ = np.asarray([str(c) for c in names], dtype=object)
    model.loss_options_ = meta.get("loss_options_") or {
        "n_ops": int(model.n_ops),
        "n_samples": int(model.n_samples),
        "variance_reduction": "none",
    }
    h = meta.get("history", {})
    model.history_ = train.History(
        loss=arrays.get("loss", np.zeros(0)),
        val_step=arrays.get("val_step", np.zeros(0, np.int64)),
        val_loss=arrays.get("val_loss", np.zeros(0)),
        best_step=int(h.get("best_step", 0)),
        stopped_early=bool(h.get("stopped_early", False)),
        seconds=float(h.get("seconds", 0.0)),
    )
    return model
