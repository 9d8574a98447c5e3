"""``IqpModel``: the scikit-learn style front door (fit / score / sample / save / load / export)."""

from __future__ import annotations

import os
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator, DensityMixin

from . import _checks, costs, exact, init, kernel, mmd, noise, parallel, persist, train
from .circuit import IqpCircuit
from .estimator import (
    VARIANCE_REDUCTIONS,
    Estimate,
    antithetic_applies,
    check_variance_reduction,
    expval,
)
from .noise import readout_array
from .objective import (
    ESTIMATORS,
    adam,
    check_gate_options,
    circuit_for,
    exact_loss_function,
    loss_function,
)
from .persist import MODEL_FORMAT
from .symmetry import resolve_symmetry
from .verify import verify_samples

__all__ = ["IqpModel", "MODEL_FORMAT", "ESTIMATORS", "choose_estimator"]


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
        >>> from iqpgen.model import choose_estimator
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


class IqpModel(DensityMixin, BaseEstimator):
    """An IQP circuit trained as a generative model of binary data by minimising MMD².

    Args:
        gates: a gate pattern (see :class:`iqpgen.IqpCircuit`); ``None`` means
            ``iqpgen.gates.local(n, max_weight)`` with ``n`` from the data.
        max_weight: largest generator weight when ``gates`` is None.
        spin_sym: start from ``(|0…0⟩+|1…1⟩)/√2`` (for data symmetric under a global flip).
        symmetry: ``"auto"`` sets ``spin_sym`` when the training data are flip-symmetric
            (:func:`iqpgen.symmetry.flip_test`), ``"global_flip"`` always (warning when the
            data clearly are not), ``None`` leaves ``spin_sym`` as given. Circuits of
            even-weight generators alone are not flip-symmetric (they conserve the parity of
            the output instead), so ``spin_sym`` is the way to the symmetry.
        sigma: kernel bandwidth, a list of them (losses averaged), or ``"auto"``
            (:func:`iqpgen.kernel.sigma_heuristic` on the training data).
        sigma_weights: how the bandwidths' losses are averaged in training and validation:
            ``"auto"`` weighs each by ``u_σ^(−3/8)``, ``u_σ`` the data's MMD² to uniform bits
            (:func:`iqpgen.kernel.uniform_mmd`), so the narrow bandwidths (high-order
            correlations), whose MMD² is orders of magnitude smaller, still train;
            ``"equal"`` is the plain mean (the paper's, and ``"auto"`` on the exact loss);
            or one number per bandwidth.
            :meth:`mmd` always reports the plain mean.
        estimator: what the loss is computed with: ``"exact"`` (the noise-free MMD² from the
            state vector, :func:`iqpgen.mmd.exact`; small circuits), ``"monte_carlo"``
            (:func:`iqpgen.mmd_loss`, any size), or ``"auto"``: exact wherever it fits the
            memory budget and a step is no dearer than a Monte Carlo one
            (:func:`choose_estimator`). Training, validation and :meth:`mmd` use it.
        n_ops, n_samples: operators and circuit samples per Monte Carlo loss estimate.
        variance_reduction: the Monte Carlo estimator of each ``⟨Z_a⟩``
            (:func:`iqpgen.estimator.moments_from_signs`): ``"auto"`` is
            ``"control+antithetic"`` (every circuit sample paired with its complement, and the
            single-qubit part as a control variate) where the pairing applies (gates of
            weight ≤ 2), ``"control"`` elsewhere; or ``"none"``, ``"control"``,
            ``"antithetic"``, ``"control+antithetic"``. All are unbiased.
        learning_rate: Adam's step size (ignored when ``optimizer`` is given); ``"auto"``:
            1e-2 on the exact loss, whose gradients have no noise, 2e-3 (the peak of the
            cosine schedule) on the Monte Carlo one.
        lr_schedule: ``"constant"``, ``"cosine"`` (decayed to 0 over ``max_steps``, which
            lets the noisy Monte Carlo steps settle) or ``"auto"``: cosine on the Monte Carlo
            loss, constant on the exact one.
        optimizer: an optax ``GradientTransformation``.
        max_steps: training steps.
        patience: early stopping after this many steps without improvement.
        validation_fraction: fraction of ``X`` held out for validation (early stopping and
            best-parameter selection); ``"auto"``: a tenth when that is at least 10 rows, else
            none. On the exact loss ``"auto"`` uses the held-out tenth to choose the number
            of steps (the exact training loss keeps falling after the held-out loss turns
            up), then trains again on every row for that many steps; ``history_`` is the
            first run's.
        keep: ``"best"``: the parameters with the best validation loss, the starting ones
            included, so a fit never ends worse on held-out data than its start (a
            :class:`iqpgen.train.NoImprovementWarning` says when no step beat the start);
            ``"last"``: the last step's.
        init: ``"data"`` (:func:`iqpgen.init.from_data`), ``"moments"``
            (:func:`iqpgen.init.from_moments`), ``"normal"``, or an array of angles.
        init_scale: ``scale`` of the data init, ``shrink`` of the moments init (default 1),
            or ``std`` of the normal one (default 0.01).
        readout_error: None, or a flip probability in ``[0, 0.5)`` for every qubit, or one per
            qubit: the model is then the distribution of the bits a device with that readout
            error returns (:mod:`iqpgen.noise`). Training fits the circuit so that the device's
            read-out bits match the data; :meth:`mmd`, :meth:`score`, :meth:`expval`,
            :meth:`probs` and :meth:`sample` (without ``device``) include the flips. The
            exported circuit is the ideal one: the device adds its own readout error.
        mesh: None (one device), or a one-axis ``jax.sharding.Mesh``
            (:func:`iqpgen.parallel.device_mesh`): the Monte Carlo loss's circuit samples
            are split across its devices, in this process and, after
            :func:`iqpgen.parallel.initialize_distributed`, in every process of the run; the
            numbers are the one-device ones up to rounding. ``estimator="auto"`` is then
            Monte Carlo; ``estimator="exact"`` is refused (it has no samples to split). Not
            saved with the model (a mesh names this run's devices).
        random_state: int seed, JAX key or None; a seed makes ``fit`` reproducible.
        verbose: progress bar on a terminal.

    Fitted attributes: ``circuit_``, ``params_``, ``sigma_`` (tuple of floats),
    ``sigma_weights_`` (tuple, or None for the plain mean), ``estimator_`` (``"exact"`` or
    ``"monte_carlo"``), ``loss_options_`` (``n_ops``, ``n_samples``, ``variance_reduction``
    as used), ``history_`` (:class:`iqpgen.train.History`: losses, validation checks, the
    step kept; ``history_.summary()`` in one line), ``n_features_in_``.

    Example:
        >>> import numpy as np, iqpgen
        >>> X = np.random.default_rng(0).integers(0, 2, (200, 6))
        >>> X[:, 1] = X[:, 0]  # a correlation to learn
        >>> model = iqpgen.IqpModel(max_steps=20, random_state=0, verbose=False).fit(X)
        >>> model.sample(3).shape
        (3, 6)
    """

    def __init__(
        self,
        gates: Any = None,
        max_weight: int = 2,
        spin_sym: bool = False,
        symmetry: str | None = None,
        sigma: Any = "auto",
        sigma_weights: Any = "auto",
        estimator: str = "auto",
        n_ops: int = 1000,
        n_samples: int = 1000,
        learning_rate: float | str = "auto",
        lr_schedule: str = "auto",
        optimizer: Any = None,
        max_steps: int = 2000,
        patience: int | None = None,
        validation_fraction: float | str = "auto",
        keep: str = "best",
        variance_reduction: str = "auto",
        init: Any = "data",
        init_scale: float | None = None,
        readout_error: Any = None,
        mesh: Any = None,
        random_state: Any = None,
        verbose: bool = True,
    ) -> None:
        self.gates = gates
        self.max_weight = max_weight
        self.spin_sym = spin_sym
        self.symmetry = symmetry
        self.sigma = sigma
        self.sigma_weights = sigma_weights
        self.estimator = estimator
        self.n_ops = n_ops
        self.n_samples = n_samples
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.optimizer = optimizer
        self.max_steps = max_steps
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.keep = keep
        self.variance_reduction = variance_reduction
        self.init = init
        self.init_scale = init_scale
        self.readout_error = readout_error
        self.mesh = mesh
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------------ helpers
    def check_fitted(self) -> None:
        """Raise ``ValueError`` unless the model is fitted (or loaded)."""
        if not hasattr(self, "params_"):
            raise ValueError("this IqpModel is not fitted yet; call fit(X) or IqpModel.load(path).")

    def _check_X(self, X: Any, name: str = "X", min_rows: int = 2) -> np.ndarray:
        return _checks.check_rows(self, name, X, min_rows=min_rows)

    def _resolve_sigma(self, sigma: Any, X: np.ndarray) -> tuple[float, ...]:
        if isinstance(sigma, str):
            if sigma != "auto":
                raise ValueError(f"sigma must be 'auto', a float > 0 or a list, got {sigma!r}.")
            return tuple(kernel.sigma_heuristic(X))
        return kernel.as_sigmas(sigma)

    def _validate_hyperparameters(self) -> None:
        if not isinstance(self.estimator, str) or self.estimator not in ESTIMATORS:
            raise ValueError(
                f"estimator must be one of {ESTIMATORS}, got {self.estimator!r}: 'exact' for the "
                "noise-free loss of small circuits, 'monte_carlo' for any size."
            )
        _checks.check_int("n_ops", self.n_ops, minimum=1)
        _checks.check_int("n_samples", self.n_samples, minimum=2)
        _checks.check_int("max_steps", self.max_steps, minimum=0)
        if self.patience is not None:
            _checks.check_int("patience", self.patience, minimum=1)
        check_gate_options(self)
        if self.optimizer is None:
            if not (isinstance(self.learning_rate, str) and self.learning_rate == "auto"):
                _checks.check_number("learning_rate", self.learning_rate, low=0.0)
        elif not hasattr(self.optimizer, "update"):
            raise TypeError(f"optimizer must be an optax transformation, got {self.optimizer!r}.")
        else:
            _checks.refuse_unused(
                self,
                ("learning_rate", "lr_schedule"),
                "they set the built-in Adam; with optimizer= set them in the optax transformation",
            )
        if self.estimator == "exact":
            _checks.refuse_unused(
                self,
                ("n_ops", "n_samples", "variance_reduction"),
                "they set the Monte Carlo loss, and estimator='exact' has no sampling",
            )
        if not isinstance(self.init, str):
            _checks.refuse_unused(self, ("init_scale",), "init= gives the angles themselves")
        if not (isinstance(self.validation_fraction, str) and self.validation_fraction == "auto"):
            _checks.check_number(
                "validation_fraction", self.validation_fraction, low=0.0, low_open=False, high=1.0
            )
        if isinstance(self.sigma_weights, str) and self.sigma_weights not in ("auto", "equal"):
            raise ValueError(
                f"sigma_weights must be 'auto', 'equal' or one number per bandwidth, got "
                f"{self.sigma_weights!r}."
            )
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}: 'cosine' "
                "decays the learning rate to 0 over max_steps."
            )
        if self.keep not in KEEP:
            raise ValueError(
                f"keep must be 'best' (the parameters of the best validation loss) or 'last', "
                f"got {self.keep!r}."
            )
        if self.variance_reduction != "auto" and self.variance_reduction not in VARIANCE_REDUCTIONS:
            raise ValueError(
                f"variance_reduction must be 'auto' or one of {VARIANCE_REDUCTIONS}, got "
                f"{self.variance_reduction!r}."
            )
        if self.init_scale is not None:
            _checks.check_number("init_scale", self.init_scale, low=0.0, low_open=False)
        if self.mesh is not None:
            parallel.check_mesh(self.mesh)
            if self.estimator == "exact":
                raise ValueError(
                    "mesh splits the Monte Carlo loss's circuit samples across devices, and "
                    "estimator='exact' has none; use estimator='monte_carlo' or no mesh."
                )
        if not isinstance(self.sigma, str):
            kernel.as_sigmas(self.sigma)

    def _readout(self, n: int) -> jax.Array | None:
        """``readout_error`` as float32 flip probabilities ``(n,)``, or None."""
        return readout_array(self.readout_error, n)

    def _resolve_estimator(self, circuit: IqpCircuit, n_sigmas: int) -> str:
        if self.estimator == "exact":
            exact.check_size(circuit.n_qubits, what="estimator='exact'")
            return "exact"
        if self.estimator == "monte_carlo" or self.mesh is not None:
            return "monte_carlo"
        return choose_estimator(circuit, n_sigmas, int(self.n_ops), int(self.n_samples))

    def _build_circuit(self, X: np.ndarray) -> IqpCircuit:
        spin_sym = self.spin_sym or resolve_symmetry(self.symmetry, X) == "global_flip"
        return circuit_for(self.gates, X.shape[1], max_weight=self.max_weight, spin_sym=spin_sym)

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

    def _resolve_sigma_weights(
        self, sigmas: tuple[float, ...], X: np.ndarray, kind: str
    ) -> tuple[float, ...] | None:
        w = self.sigma_weights
        if not isinstance(w, str):  # checked even for one bandwidth: nothing is ignored
            w = np.asarray(w, np.float64).ravel()
            if w.size != len(sigmas) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() == 0:
                raise ValueError(
                    f"sigma_weights must be 'auto', 'equal' or {len(sigmas)} numbers >= 0 (one "
                    f"per bandwidth, not all 0), got {self.sigma_weights!r}."
                )
        if len(sigmas) == 1 or (isinstance(w, str) and (w == "equal" or kind == "exact")):
            return None
        if isinstance(w, str):  # "auto": validated in _validate_hyperparameters
            u = np.maximum(kernel.uniform_mmd(X, sigmas), 1e-12)
            w = u ** (-SIGMA_WEIGHT_EXPONENT)
        return tuple(float(v) for v in w / w.mean())

    def _resolve_variance_reduction(self, circuit: IqpCircuit) -> str:
        if self.variance_reduction == "auto":
            return AUTO_VARIANCE_REDUCTION if antithetic_applies(circuit) else "control"
        return check_variance_reduction(circuit, self.variance_reduction)

    def _loss_kwargs(self, sigmas: tuple[float, ...]) -> dict:
        """The Monte Carlo loss's settings: those of the fit once fitted, else the
        hyperparameters'."""
        opts = getattr(self, "loss_options_", None) or {
            "n_ops": int(self.n_ops),
            "n_samples": int(self.n_samples),
            "variance_reduction": "none",
        }
        return dict(sigmas=sigmas, **opts)

    # ---------------------------------------------------------------------- fit
    def fit(
        self,
        X: Any,
        X_val: Any = None,
        *,
        checkpoint: str | None = None,
        checkpoint_every: int = 100,
        callback: Any = None,
    ) -> IqpModel:
        """Train on the 0/1 matrix ``X`` ``(m, n)``; returns ``self``.

        Args:
            X: training data, 0/1, at least 2 rows.
            X_val: validation data (overrides ``validation_fraction``).
            checkpoint: path of a checkpoint file; an interrupted fit called again with the
                same path, data and settings resumes where it stopped and ends with the same
                parameters as an uninterrupted one.
            checkpoint_every: steps between checkpoints.
            callback: ``callback(step, params)`` after every chunk of steps (see
                :func:`iqpgen.train.run`), e.g. to evaluate the model along the way.
        """
        self._validate_hyperparameters()
        for attr in ("n_features_in_", "params_", "loss_options_"):
            if hasattr(self, attr):
                delattr(self, attr)
        X = self._check_X(X)
        key = _checks.key_from(self.random_state)
        k_split, k_init, k_train, k_val = jax.random.split(key, 4)
        circuit = self._build_circuit(X)
        readout = self._readout(X.shape[1])
        n_sigmas = 3 if isinstance(self.sigma, str) else len(kernel.as_sigmas(self.sigma))
        kind = self._resolve_estimator(circuit, n_sigmas)
        fraction = self.validation_fraction
        # The exact loss with validation_fraction="auto": the held-out rows choose the number
        # of steps, then the model trains on every row for that many (``refit``).
        refit = False
        if isinstance(fraction, str):
            ok = int(round(_AUTO_VALIDATION * X.shape[0])) >= _AUTO_MIN_VALIDATION
            fraction = _AUTO_VALIDATION if ok else 0.0
            refit = ok and kind == "exact" and X_val is None and self.keep == "best"
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
        sigmas = self._resolve_sigma(self.sigma, X)
        params0 = self._initial_params(circuit, X, k_init)
        lr = self.learning_rate
        if isinstance(lr, str):
            lr = _AUTO_LEARNING_RATE[kind]
        schedule = self.lr_schedule
        if schedule == "auto":
            schedule = _AUTO_SCHEDULE[kind]
        optimizer = self.optimizer or adam(float(lr), schedule, int(self.max_steps))
        self.loss_options_ = {
            "n_ops": int(self.n_ops),
            "n_samples": int(self.n_samples),
            "variance_reduction": self._resolve_variance_reduction(circuit),
        }
        kw = self._loss_kwargs(sigmas)
        weights = self._resolve_sigma_weights(sigmas, X, kind)
        if kind == "exact":
            loss_fn, prepare = exact_loss_function(sigmas, weights), mmd.data_table
        else:
            loss_fn, prepare = (
                loss_function(**kw, sigma_weights=weights, mesh=self.mesh),
                mmd.pack_data,
            )

        val_fn = val_args = None
        if X_val is not None:

            def val_fn(params, circ, data, readout):  # one key for every check: comparable
                return loss_fn(params, k_val, circ, data, readout)

            val_args = (circuit, prepare(X_val), readout)
        meta = {
            "estimator": kind,
            "n_qubits": circuit.n_qubits,
            "n_params": circuit.n_params,
            "sigmas": list(sigmas),
            "sigma_weights": None if weights is None else list(weights),
            # A cosine schedule's rates depend on the number of steps; a constant one's not.
            "lr_schedule_steps": (
                int(self.max_steps) if schedule == "cosine" and self.optimizer is None else None
            ),
            "n_rows": int(X.shape[0]),
            "data_sum": int(X.sum()),
            "readout_error": None if readout is None else np.asarray(readout).tolist(),
            **self.loss_options_,
        }
        result = train.run(
            loss_fn,
            params0,
            optimizer,
            key=k_train,
            n_steps=int(self.max_steps),
            args=(circuit, prepare(X), readout),
            val_fn=val_fn,
            val_args=val_args or (),
            patience=self.patience,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            checkpoint_meta=meta,
            callback=callback,
            verbose=bool(self.verbose),
        )
        history = result.history
        if kind == "exact" and X_val is None and len(history.loss) > 1:
            if history.loss[-1] > history.loss[0]:
                warnings.warn(
                    f"the exact training loss ended above its start "
                    f"({history.loss[-1]:.4g} > {history.loss[0]:.4g}); lower the learning_rate.",
                    train.NoImprovementWarning,
                    stacklevel=2,
                )
        if history.improved is False and len(history.loss):
            kept = "keeps them" if self.keep == "best" else "keeps the last ones (keep='last')"
            warnings.warn(
                f"the validation loss never improved on the starting parameters in "
                f"{len(history.loss)} steps ({history.summary()}); the model {kept}. Try "
                "a lower learning_rate, larger n_ops / n_samples, or more steps.",
                train.NoImprovementWarning,
                stacklevel=2,
            )
        if self.keep == "last":
            history = history._replace(best_step=len(history.loss))
        params = result.params if self.keep == "best" else result.state.params
        if refit:
            params = train.run(
                loss_fn,
                self._initial_params(circuit, X_all, k_init),
                optimizer,
                key=k_train,
                n_steps=int(history.best_step),
                args=(circuit, prepare(X_all), readout),
                verbose=False,
            ).state.params
        self.circuit_ = circuit
        self.params_ = params
        self.sigma_ = sigmas
        self.sigma_weights_ = weights
        self.estimator_ = kind
        self.history_ = history
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
        sigmas = self.sigma_ if sigma is None else kernel.as_sigmas(sigma)
        readout = self._readout(self.n_features_in_)
        if self.estimator_ == "exact":
            return float(mmd.exact(self.circuit_, self.params_, X, sigmas, readout_error=readout))
        loss = mmd.loss_jit(
            self.circuit_,
            self.params_,
            mmd.pack_data(X),
            self._eval_key(random_state, 1),
            **self._loss_kwargs(tuple(sigmas)),
            readout_error=readout,
            mesh=self.mesh,
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
            readout_error=self._readout(self.n_features_in_),
        )

    def verify_samples(
        self,
        samples: Any,
        *,
        sigma: Any = None,
        n_repeats: int = 10,
        readout_error: Any = "model",
        random_state: Any = None,
    ) -> Estimate:
        """Unbiased MMD² between the model and a device's ``samples`` (± standard error): the
        check that a device ran this circuit (:func:`iqpgen.evaluate.verify_samples`), at
        ``sigma_`` by default, with the model's ``n_ops``, ``n_samples`` and variance
        reduction. ``readout_error``: ``"model"`` (the model's own, None if it has none), None,
        or a probability (or one per qubit) to compare with the read-out bits of such a device.
        """
        self.check_fitted()
        if isinstance(readout_error, str) and readout_error == "model":
            readout_error = self.readout_error
        opts = self._loss_kwargs(())
        return verify_samples(
            self.circuit_,
            self.params_,
            samples,
            sigma=list(self.sigma_) if sigma is None else sigma,
            key=self._eval_key(random_state, 4),
            n_ops=opts["n_ops"],
            n_samples=opts["n_samples"],
            n_repeats=n_repeats,
            readout_error=readout_error,
            variance_reduction=opts["variance_reduction"],
        )

    def probs(self) -> np.ndarray:
        """Exact output probabilities (up to :func:`iqpgen.exact.max_qubits`), of the read-out
        bits when ``readout_error`` is set."""
        self.check_fitted()
        probs = np.asarray(exact.probs(self.circuit_, self.params_))
        readout = self._readout(self.n_features_in_)
        return probs if readout is None else noise.apply_to_probs(probs, np.asarray(readout))

    def sample(
        self,
        n_samples: int = 1,
        random_state: Any = None,
        *,
        device: Any = None,
        **device_kwargs: Any,
    ) -> np.ndarray:
        """Draw samples ``(n_samples, n)`` of 0/1.

        Without ``device``: exact sampling from the state vector (up to
        :func:`iqpgen.exact.max_qubits`), with the bits flipped as ``readout_error`` says. With
        ``device`` (a PennyLane device name or object, e.g. ``"lightning.qubit"`` or a hardware
        plugin's device): samples from the exported circuit run there, with the device's own
        noise only.
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
            key = self._eval_key(random_state, 3)
            bits = np.asarray(exact.sample(self.circuit_, self.params_, n_samples, key=key))
            readout = self._readout(self.n_features_in_)
            if readout is None:
                return bits
            return noise.flip_bits(bits, np.asarray(readout), key=jax.random.fold_in(key, 1))
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
        persist.save_model(self, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> IqpModel:
        """Read a model written by :meth:`save`."""
        return persist.load_model(cls, path)
