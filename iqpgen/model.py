"""``IqpModel``: the scikit-learn style front door (fit / score / sample / save / load / export)."""

from __future__ import annotations

import os
import warnings
from typing import Any

import jax
import numpy as np
from sklearn.base import BaseEstimator, DensityMixin

from . import _checks, exact, kernel, mmd, noise, persist, train
from .estimator import Estimate, expval
from .fitplan import make_plan, validate
from .noise import readout_array
from .objective import ESTIMATORS
from .persist import MODEL_FORMAT
from .verify import verify_samples

__all__ = ["IqpModel", "MODEL_FORMAT", "ESTIMATORS"]


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
            (:func:`iqpgen.fitplan.choose_estimator`). Training, validation and :meth:`mmd`
            use it.
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

    def _readout(self, n: int) -> jax.Array | None:
        """``readout_error`` as float32 flip probabilities ``(n,)``, or None."""
        return readout_array(self.readout_error, n)

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
        validate(self)
        for attr in ("n_features_in_", "params_", "loss_options_"):
            if hasattr(self, attr):
                delattr(self, attr)
        plan = make_plan(self, self._check_X(X), X_val)
        result = train.run(
            plan.loss_fn,
            plan.params0,
            plan.optimizer,
            key=plan.key,
            n_steps=int(self.max_steps),
            args=plan.args,
            val_fn=plan.val_fn,
            val_args=plan.val_args,
            patience=self.patience,
            checkpoint=checkpoint,
            checkpoint_every=checkpoint_every,
            checkpoint_meta=plan.meta,
            callback=callback,
            verbose=bool(self.verbose),
        )
        history = result.history
        if plan.kind == "exact" and plan.val_fn is None and len(history.loss) > 1:
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
        if plan.refit is not None:  # every row, for the number of steps the held-out rows chose
            params0, args = plan.refit
            params = train.run(
                plan.loss_fn,
                params0,
                plan.optimizer,
                key=plan.key,
                n_steps=int(history.best_step),
                args=args,
                verbose=False,
            ).state.params
        self.circuit_ = plan.circuit
        self.params_ = params
        self.sigma_ = plan.sigmas
        self.sigma_weights_ = plan.weights
        self.estimator_ = plan.kind
        self.loss_options_ = plan.loss_options
        self.history_ = history
        self.n_features_in_ = plan.circuit.n_qubits
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
