"""``IqpModel``: the scikit-learn style front door (fit / score / sample / save / load / export)."""

from __future__ import annotations

import functools
import json
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator, DensityMixin

from . import _checks, costs, exact, gates, init, mmd, train
from ._version import __version__
from .circuit import IqpCircuit
from .estimator import Estimate, expval
from .io import atomic_savez

__all__ = ["IqpModel", "MODEL_FORMAT", "ESTIMATORS", "choose_estimator"]

#: Version of the model file format written by :meth:`IqpModel.save`.
MODEL_FORMAT = 1
_KIND = "iqpgen.IqpModel"


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


@functools.lru_cache(maxsize=32)
def _loss_function(sigmas: tuple[float, ...], n_ops: int, n_samples: int):
    """One loss function object per setting, so repeated fits reuse the compiled step."""

    def loss_fn(params, key, circuit, data):
        return mmd.loss_from_packed(
            circuit, params, data, key, sigmas=sigmas, n_ops=n_ops, n_samples=n_samples
        )

    return loss_fn


@functools.lru_cache(maxsize=32)
def _exact_loss_function(sigmas: tuple[float, ...]):
    """The exact MMD² as a training loss (the key is unused: the loss has no noise)."""

    def loss_fn(params, key, circuit, data):
        return mmd.exact_from_table(circuit, params, data, sigmas=sigmas)

    return loss_fn


# Adam's step size for learning_rate="auto": on the 8-blobs and 2D Ising models of the paper
# (16 qubits, 2,000 steps) 1e-2 gave the lowest exact test MMD² of 1e-3, 3e-3, 1e-2 and 3e-2
# (3e-2 diverged); Monte Carlo keeps the paper's 1e-3.
_AUTO_LEARNING_RATE = {"exact": 1e-2, "monte_carlo": 1e-3}

#: Values of ``IqpModel``'s ``estimator``.
ESTIMATORS = ("auto", "exact", "monte_carlo")


def choose_estimator(circuit: IqpCircuit, n_sigmas: int, n_ops: int, n_samples: int) -> str:
    """What ``estimator="auto"`` trains on: ``"exact"`` where the circuit fits the exact
    engine's memory budget and an exact step (:func:`iqpgen.costs.exact_step_cost`) costs no
    more than the cheapest Monte Carlo step (:func:`iqpgen.costs.path_costs`) with
    ``n_sigmas × n_ops`` operators and ``n_samples`` samples; ``"monte_carlo"`` otherwise.

    Example:
        >>> import iqpgen
        >>> from iqpgen.model import choose_estimator
        >>> choose_estimator(iqpgen.gates.local_circuit(16, 6), 2, 1000, 1000)
        'exact'
    """
    n = circuit.n_qubits
    if n > exact.max_qubits():
        return "monte_carlo"
    mc = min(costs.path_costs(circuit, n_sigmas * n_ops, n_samples).values())
    return "exact" if costs.exact_step_cost(n, n_sigmas) <= mc else "monte_carlo"


@functools.lru_cache(maxsize=32)
def _adam(learning_rate: float):
    import optax

    return optax.adam(learning_rate)


class IqpModel(DensityMixin, BaseEstimator):
    """An IQP circuit trained as a generative model of binary data by minimising MMD².

    Args:
        gates: a gate pattern (see :class:`iqpgen.IqpCircuit`); ``None`` means
            ``iqpgen.gates.local(n, max_weight)`` with ``n`` from the data.
        max_weight: largest generator weight when ``gates`` is None.
        spin_sym: start from ``(|0…0⟩+|1…1⟩)/√2`` (for data symmetric under a global flip).
        sigma: kernel bandwidth, a list of them (losses averaged), or ``"auto"``
            (:func:`iqpgen.mmd.sigma_heuristic` on the training data).
        estimator: what the loss is computed with: ``"exact"`` (the noise-free MMD² from the
            state vector, :func:`iqpgen.mmd.exact`; small circuits), ``"monte_carlo"``
            (:func:`iqpgen.mmd_loss`, any size), or ``"auto"``: exact wherever it fits the
            memory budget and a step is no dearer than a Monte Carlo one
            (:func:`choose_estimator`). Training, validation and :meth:`mmd` use it.
        n_ops, n_samples: operators and circuit samples per Monte Carlo loss estimate.
        learning_rate: Adam's step size (ignored when ``optimizer`` is given); ``"auto"``:
            1e-2 on the exact loss, whose gradients have no noise, 1e-3 (the paper's) on the
            Monte Carlo one.
        optimizer: an optax ``GradientTransformation``.
        max_steps: training steps.
        patience: early stopping after this many steps without improvement.
        validation_fraction: fraction of ``X`` held out for validation (early stopping and
            best-parameter selection).
        init: ``"data"`` (:func:`iqpgen.init.from_data`), ``"moments"``
            (:func:`iqpgen.init.from_moments`), ``"normal"``, or an array of angles.
        init_scale: ``scale`` of the data init, ``shrink`` of the moments init (default 1),
            or ``std`` of the normal one (default 0.01).
        random_state: int seed, JAX key or None; a seed makes ``fit`` reproducible.
        verbose: progress bar on a terminal.

    Fitted attributes: ``circuit_``, ``params_``, ``sigma_`` (tuple of floats), ``estimator_``
    (``"exact"`` or ``"monte_carlo"``), ``history_`` (:class:`iqpgen.train.History`),
    ``n_features_in_``.

    Example:
        >>> import numpy as np, iqpgen
        >>> X = np.random.default_rng(0).integers(0, 2, (200, 6))
        >>> model = iqpgen.IqpModel(max_steps=20, random_state=0, verbose=False).fit(X)
        >>> model.sample(3).shape
        (3, 6)
    """

    def __init__(
        self,
        gates: Any = None,
        max_weight: int = 2,
        spin_sym: bool = False,
        sigma: Any = "auto",
        estimator: str = "auto",
        n_ops: int = 1000,
        n_samples: int = 1000,
        learning_rate: float | str = "auto",
        optimizer: Any = None,
        max_steps: int = 2000,
        patience: int | None = None,
        validation_fraction: float = 0.0,
        init: Any = "data",
        init_scale: float | None = None,
        random_state: Any = None,
        verbose: bool = True,
    ) -> None:
        self.gates = gates
        self.max_weight = max_weight
        self.spin_sym = spin_sym
        self.sigma = sigma
        self.estimator = estimator
        self.n_ops = n_ops
        self.n_samples = n_samples
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.max_steps = max_steps
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.init = init
        self.init_scale = init_scale
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ helpers
    def check_fitted(self) -> None:
        """Raise ``ValueError`` unless the model is fitted (or loaded)."""
        if not hasattr(self, "params_"):
            raise ValueError("this IqpModel is not fitted yet; call fit(X) or IqpModel.load(path).")

    def _check_X(self, X: Any, name: str = "X", min_rows: int = 2) -> np.ndarray:
        n = getattr(self, "n_features_in_", None)
        X = _checks.check_binary_matrix(name, X, min_rows=min_rows, what="rows")
        if n is not None and X.shape[1] != n:
            raise ValueError(f"{name} has {X.shape[1]} columns but the model was fitted on {n}.")
        return X

    def _resolve_sigma(self, sigma: Any, X: np.ndarray) -> tuple[float, ...]:
        if isinstance(sigma, str):
            if sigma != "auto":
                raise ValueError(f"sigma must be 'auto', a float > 0 or a list, got {sigma!r}.")
            return tuple(mmd.sigma_heuristic(X))
        return mmd.as_sigmas(sigma)

    def _validate_hyperparameters(self) -> None:
        if not isinstance(self.estimator, str) or self.estimator not in ESTIMATORS:
            raise ValueError(
                f"estimator must be one of {ESTIMATORS}, got {self.estimator!r}: 'exact' for the "
                "noise-free loss of small circuits, 'monte_carlo' for any size."
            )
        _checks.check_int("max_weight", self.max_weight, minimum=1)
        _checks.check_int("n_ops", self.n_ops, minimum=1)
        _checks.check_int("n_samples", self.n_samples, minimum=2)
        _checks.check_int("max_steps", self.max_steps, minimum=0)
        if self.patience is not None:
            _checks.check_int("patience", self.patience, minimum=1)
        if not isinstance(self.spin_sym, bool | np.bool_):
            raise TypeError(f"spin_sym must be True or False, got {self.spin_sym!r}.")
        if self.optimizer is None:
            if not (isinstance(self.learning_rate, str) and self.learning_rate == "auto"):
                _checks.check_number("learning_rate", self.learning_rate, low=0.0)
        elif not hasattr(self.optimizer, "update"):
            raise TypeError(f"optimizer must be an optax transformation, got {self.optimizer!r}.")
        _checks.check_number(
            "validation_fraction", self.validation_fraction, low=0.0, low_open=False, high=1.0
        )
        if self.init_scale is not None:
            _checks.check_number("init_scale", self.init_scale, low=0.0, low_open=False)
        if not isinstance(self.sigma, str):
            mmd.as_sigmas(self.sigma)

    def _resolve_estimator(self, circuit: IqpCircuit, sigmas: tuple[float, ...]) -> str:
        if self.estimator == "exact":
            exact.check_size(circuit.n_qubits, what="estimator='exact'")
            return "exact"
        if self.estimator == "monte_carlo":
            return "monte_carlo"
        return choose_estimator(circuit, len(sigmas), int(self.n_ops), int(self.n_samples))

    def _build_circuit(self, n: int) -> IqpCircuit:
        return circuit_for(self.gates, n, max_weight=self.max_weight, spin_sym=self.spin_sym)

    def _initial_params(self, circuit: IqpCircuit, X: np.ndarray, key: jax.Array) -> jax.Array:
        if isinstance(self.init, str):
            if self.init == "data":
                return init.from_data(circuit, X, scale=self.init_scale)
            if self.init == "moments":
                shrink = 1.0 if self.init_scale is None else self.init_scale
                return init.from_moments(circuit, X, shrink=shrink)
            if self.init == "normal":
                std = 0.01 if self.init_scale is None else self.init_scale
                return init.normal(circuit, key=key, std=std)
            raise ValueError(
                f"init must be 'data', 'moments', 'normal' or an array, got {self.init!r}."
            )
        return _checks.check_params(circuit, self.init).astype(jnp.float32)

    def _loss_kwargs(self, sigmas: tuple[float, ...]) -> dict:
        return dict(sigmas=sigmas, n_ops=int(self.n_ops), n_samples=int(self.n_samples))

    # ---------------------------------------------------------------------- fit
    def fit(
        self,
        X: Any,
        X_val: Any = None,
        *,
        checkpoint: str | None = None,
        checkpoint_every: int = 100,
    ) -> IqpModel:
        """Train on the 0/1 matrix ``X`` ``(m, n)``; returns ``self``.

        Args:
            X: training data, 0/1, at least 2 rows.
            X_val: validation data (overrides ``validation_fraction``).
            checkpoint: path of a checkpoint file; an interrupted fit called again with the
                same path, data and settings resumes where it stopped and ends with the same
                parameters as an uninterrupted one.
            checkpoint_every: steps between checkpoints.
        """
        self._validate_hyperparameters()
        for attr in ("n_features_in_", "params_"):
            if hasattr(self, attr):
                delattr(self, attr)
        X = self._check_X(X)
        key = _checks.key_from(self.random_state)
        k_split, k_init, k_train, k_val = jax.random.split(key, 4)
        if X_val is not None:
            X_val = _checks.check_binary_matrix("X_val", X_val, n_cols=X.shape[1], min_rows=2)
        elif self.validation_fraction > 0:
            n_val = int(round(self.validation_fraction * X.shape[0]))
            if n_val < 2 or X.shape[0] - n_val < 2:
                raise ValueError(
                    f"validation_fraction={self.validation_fraction} leaves {n_val} validation "
                    f"and {X.shape[0] - n_val} training rows; each needs at least 2."
                )
            perm = np.asarray(jax.random.permutation(k_split, X.shape[0]))
            X_val, X = X[perm[:n_val]], X[perm[n_val:]]
        circuit = self._build_circuit(X.shape[1])
        sigmas = self._resolve_sigma(self.sigma, X)
        params0 = self._initial_params(circuit, X, k_init)
        kind = self._resolve_estimator(circuit, sigmas)
        lr = self.learning_rate
        if isinstance(lr, str):
            lr = _AUTO_LEARNING_RATE[kind]
        optimizer = self.optimizer or _adam(float(lr))
        kw = self._loss_kwargs(sigmas)
        if kind == "exact":
            loss_fn, prepare = _exact_loss_function(sigmas), mmd.data_table
        else:
            loss_fn, prepare = _loss_function(**kw), mmd.pack_data

        val_fn = val_args = None
        if X_val is not None:

            def val_fn(params, circ, data):  # one key for every check: comparable values
                return loss_fn(params, k_val, circ, data)

            val_args = (circuit, prepare(X_val))
        meta = {
            "estimator": kind,
            "n_qubits": circuit.n_qubits,
            "n_params": circuit.n_params,
            "sigmas": list(sigmas),
            "n_rows": int(X.shape[0]),
            "data_sum": int(X.sum()),
            "n_ops": int(self.n_ops),
            "n_samples": int(self.n_samples),
        }
        result = train.run(
            loss_fn,
            params0,
            optimizer,
            key=k_train,
            n_steps=int(self.max_steps),
            args=(circuit, prepare(X)),
            val_fn=val_fn,
            val_args=val_args or (),
            patience=self.patience,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            checkpoint_meta=meta,
            verbose=bool(self.verbose),
        )
        self.circuit_ = circuit
        self.params_ = result.params
        self.sigma_ = sigmas
        self.estimator_ = kind
        self.history_ = result.history
        self.n_features_in_ = X.shape[1]
        return self

    # --------------------------------------------------------------- evaluation
    def _eval_key(self, random_state: Any, tag: int) -> jax.Array:
        if random_state is None:
            random_state = self.random_state if self.random_state is not None else 0
        return jax.random.fold_in(_checks.key_from(random_state), tag)

    def mmd(self, X: Any, sigma: Any = None, *, random_state: Any = None) -> float:
        """Unbiased MMD² between the model and ``X`` (at ``sigma_`` by default): exact (from the
        state vector, the data term a U-statistic) when the model trained exactly, else a
        Monte Carlo estimate with ``n_ops`` operators and ``n_samples`` samples."""
        self.check_fitted()
        X = self._check_X(X)
        sigmas = self.sigma_ if sigma is None else mmd.as_sigmas(sigma)
        if self.estimator_ == "exact":
            return float(mmd.exact(self.circuit_, self.params_, X, sigmas))
        loss = mmd.loss_jit(
            self.circuit_,
            self.params_,
            mmd.pack_data(X),
            self._eval_key(random_state, 1),
            **self._loss_kwargs(tuple(sigmas)),
        )
        return float(loss)

    def score(self, X: Any, y: Any = None) -> float:
        """``−MMD²`` estimate on ``X`` at ``sigma_``: higher is better."""
        return -self.mmd(X)

    def expval(self, ops: Any, n_samples: int = 10_000, *, random_state: Any = None) -> Estimate:
        """Monte Carlo ``⟨Z_a⟩`` for each row of the 0/1 matrix ``ops``."""
        self.check_fitted()
        return expval(
            self.circuit_,
            self.params_,
            ops,
            key=self._eval_key(random_state, 2),
            n_samples=n_samples,
        )

    def probs(self) -> np.ndarray:
        """Exact output probabilities (up to :func:`iqpgen.exact.max_qubits`)."""
        self.check_fitted()
        return np.asarray(exact.probs(self.circuit_, self.params_))

    def sample(
        self,
        n_samples: int = 1,
        random_state: Any = None,
        *,
        device: Any = None,
        **device_kwargs: Any,
    ) -> np.ndarray:
        """Draw samples ``(n_samples, n)`` of 0/1.

        Without ``device``: exact sampling from the state vector (up to 20 qubits). With
        ``device`` (a PennyLane device name or object, e.g. ``"lightning.qubit"`` or a hardware
        plugin's device): samples from the exported circuit run there.
        """
        self.check_fitted()
        n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
        if device is None:
            if self.circuit_.n_qubits > exact.max_qubits():
                raise ValueError(
                    f"exact sampling is limited to {exact.max_qubits()} qubits on this machine "
                    f"(a memory budget); this model has "
                    f"{self.circuit_.n_qubits}. Sampling large IQP circuits is what quantum "
                    "hardware is for: use model.sample(n, device=...) with a PennyLane device, or "
                    "export with model.to_pennylane() / model.to_qasm()."
                )
            return np.asarray(
                exact.sample(
                    self.circuit_, self.params_, n_samples, key=self._eval_key(random_state, 3)
                )
            )
        seed = random_state if isinstance(random_state, int | np.integer) else None
        node = self.qnode(device=device, shots=n_samples, seed=seed, **device_kwargs)
        return np.asarray(node(), dtype=np.uint8)

    # -------------------------------------------------------------------- export
    def to_pennylane(self, **kwargs: Any):
        """The trained circuit as a PennyLane quantum function (see :mod:`iqpgen.export`)."""
        from . import export

        self.check_fitted()
        return export.to_pennylane(self.circuit_, self.params_, **kwargs)

    def qnode(self, **kwargs: Any):
        """A QNode of the trained circuit (see :func:`iqpgen.export.qnode`)."""
        from . import export

        self.check_fitted()
        return export.qnode(self.circuit_, self.params_, **kwargs)

    def to_qasm(self) -> str:
        """The trained circuit as an OpenQASM 2.0 program."""
        from . import export

        self.check_fitted()
        return export.to_qasm(self.circuit_, self.params_)

    # -------------------------------------------------------------- save / load
    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model to one ``.npz`` file (arrays plus JSON; no pickle), atomically."""
        self.check_fitted()
        params = self.get_params()
        params["optimizer"] = None if self.optimizer is None else repr(self.optimizer)
        params["init"] = self.init if isinstance(self.init, str) else "array"
        params["random_state"] = (
            self.random_state if isinstance(self.random_state, int | type(None)) else None
        )
        if params["gates"] is not None:
            params["gates"] = "circuit"
        meta = {
            "kind": _KIND,
            "format": MODEL_FORMAT,
            "iqpgen_version": __version__,
            "n_qubits": self.circuit_.n_qubits,
            "n_params": self.circuit_.n_params,
            "spin_sym": self.circuit_.spin_sym,
            "sigma_": list(self.sigma_),
            "estimator_": self.estimator_,
            "n_features_in_": int(self.n_features_in_),
            "hyperparameters": params,
            "history": {
                "best_step": self.history_.best_step,
                "stopped_early": self.history_.stopped_early,
                "seconds": self.history_.seconds,
            },
        }
        atomic_savez(
            os.fspath(path),
            meta=np.array(json.dumps(meta)),
            params=np.asarray(self.params_),
            generators=np.asarray(self.circuit_.generators),
            gate_of=np.asarray(self.circuit_.gate_of),
            loss=self.history_.loss,
            val_step=self.history_.val_step,
            val_loss=self.history_.val_loss,
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> IqpModel:
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
            gens = arrays["generators"].astype(np.int64)
            circuit = IqpCircuit.from_arrays(
                n,
                np.where(gens >= n, -1, gens),
                arrays["gate_of"],
                n_params=int(meta["n_params"]),
                spin_sym=bool(meta["spin_sym"]),
            )
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
        model.estimator_ = str(meta.get("estimator_", "monte_carlo"))
        if model.estimator_ not in ESTIMATORS[1:]:
            raise ValueError(f"{path!r} is a corrupt iqpgen model file (estimator_).")
        model.n_features_in_ = int(meta["n_features_in_"])
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
