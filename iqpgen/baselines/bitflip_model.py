"""The bitflip model as a trained baseline: the classical counterpart of an IQP circuit,
trained by MMD² with an exact model term."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks, bitflip, exact, init, kernel, mmd, objective, train
from ..circuit import IqpCircuit
from ..estimator import supports_from_ops
from ..objective import check_gate_options, circuit_for
from ..symmetry import resolve_symmetry
from .common import MmdBaseline, exact_terms, per_sigma, per_sigma_jit
from .mcmc import EXACT_MAX_BITS

__all__ = ["BitflipModel", "bitflip_loss"]

# Values of BitflipModel(estimator=...).
_ESTIMATORS = ("auto", "exact", "monte_carlo")

# Random flips (samples x generators) drawn per call of iqpgen.bitflip.sample.
_SAMPLE_CHUNK_ELEMENTS = 1 << 24


@jax.custom_vjp
def _odd_sum(mat: jax.Array, supp: jax.Array) -> jax.Array:
    """``Σ_{i∈A} Σ_{j∉A} mat_ij`` for each padded support ``A`` (padding index ``n``), computed
    as ``Σ_{i∈A} (row sum)_i − Σ_{i,j∈A} mat_ij``: a gather of row sums and one ``|A|×|A|``
    block per operator.

    The gradient is written out, ``∂/∂mat_ij = Σ_o g_o [i∈A_o][j∉A_o]``, as one dense product:
    through the row-sum form, automatic differentiation would add and cancel the cotangents
    of every operator on every entry, and the rounding left over is then divided by ``cos 2θ``
    (tiny where a marginal is near ½): gradients off by tens of percent in float32.
    """
    n = mat.shape[0] - 1
    mask = (supp < n).astype(mat.dtype)
    rows = jnp.sum(mat.sum(axis=1)[supp] * mask, axis=1)
    block = mat[supp[:, :, None], supp[:, None, :]] * (mask[:, :, None] * mask[:, None, :])
    return rows - jnp.sum(block, axis=(1, 2))


def _odd_sum_fwd(mat, supp):
    return _odd_sum(mat, supp), (supp, mat)


def _odd_sum_bwd(res, g):
    supp, mat = res
    size, dtype = mat.shape[0], mat.dtype
    rows = jnp.arange(supp.shape[0])[:, None]
    a = jnp.zeros((supp.shape[0], size), dtype).at[rows, supp].set(1).at[:, size - 1].set(0)
    return (a * g[:, None]).T @ (1.0 - a), None


_odd_sum.defvjp(_odd_sum_fwd, _odd_sum_bwd)


def _pairwise_bitflip_expval(circuit: IqpCircuit, params: jax.Array, supp: jax.Array):
    """Exact bitflip ``⟨Z_a⟩`` for circuits whose generators have weight ≤ 2.

    ``log|⟨Z_a⟩| = Σ_g [a·g odd] log|cos 2θ_g|``; a weight-2 generator ``(i, j)`` is odd when
    exactly one of ``i, j`` is in ``A = supp(a)``, a single on ``i`` when ``i ∈ A``. With ``L``
    the symmetric matrix of the logs (singles in the padding column ``n``) the sum is
    :func:`_odd_sum` of ``L``: a gather and a ``|A|×|A|`` block per operator instead of a
    pass over every generator (at 1,000 qubits and all pairs, ~400 times faster than
    :func:`iqpgen.bitflip.expval_from_supports`). The sign is the parity of the number of
    negative cosines among the odd generators, counted the same way. ``|cos 2θ|`` below 1e-30
    counts as 1e-30.
    """
    n = circuit.n_qubits
    gens = circuit.generators
    i = gens[:, 0]
    j = gens[:, 1] if gens.shape[1] == 2 else jnp.full_like(i, n)
    f = jnp.cos(2.0 * params[circuit.gate_of])
    logf = jnp.log(jnp.maximum(jnp.abs(f), bitflip.TINY))
    neg = (f < 0).astype(f.dtype)

    def sym(values):
        mat = jnp.zeros((n + 1, n + 1), f.dtype).at[i, j].add(values)
        return mat + mat.T

    log_abs = _odd_sum(sym(logf), supp)
    n_neg = jnp.round(_odd_sum(sym(neg), supp))
    out = jnp.where(jnp.mod(n_neg, 2.0) == 1.0, -1.0, 1.0) * jnp.exp(log_abs)
    if circuit.spin_sym:
        out = out * (jnp.sum(supp < n, axis=1) % 2 == 0)
    return out


def _bitflip_expval(state: tuple[IqpCircuit, jax.Array], supp: jax.Array) -> jax.Array:
    circuit, params = state
    if circuit.is_pairwise:
        return _pairwise_bitflip_expval(circuit, params, supp)
    return bitflip.expval_from_supports(circuit, params, supp)


_bitflip_expval_jit = jax.jit(_bitflip_expval)


def bitflip_loss(
    circuit: IqpCircuit,
    params: Any,
    data: Any,
    *,
    key: jax.Array,
    sigma: float | list[float],
    n_ops: int = 1000,
) -> jax.Array:
    """Unbiased MMD² estimate between the bitflip model of ``circuit`` and ``data``.

    The operators are drawn as in :func:`iqpgen.mmd_loss` (same key, same operators); the
    model's expectation values are exact (:mod:`iqpgen.bitflip`), the data term is the
    U-statistic. Differentiable in ``params``; its expectation over ``key`` is the exact MMD²
    (with the data term unbiased, as :func:`iqpgen.mmd.exact`). Circuits with generators of
    weight ≤ 2 use a closed form that costs a few gathers per operator.

    Args:
        circuit: the circuit structure.
        params: gate angles ``(n_params,)``.
        data: 0/1 matrix ``(m, n_qubits)``, ``m ≥ 2``.
        key: JAX key; it fixes the operators.
        sigma: bandwidth or list of bandwidths (losses averaged).
        n_ops: operators per bandwidth.

    Example:
        >>> import jax, jax.numpy as jnp, iqpgen
        >>> from iqpgen.baselines import bitflip_loss
        >>> c = iqpgen.gates.local_circuit(3, 2)
        >>> X = [[0, 1, 1], [1, 1, 0], [0, 0, 1]]
        >>> bitflip_loss(c, jnp.full(6, 0.2), X, key=jax.random.key(0), sigma=1.0).shape
        ()
    """
    circuit = _checks.check_circuit(circuit)
    params = _checks.check_params(circuit, params)
    key = _checks.check_key(key)
    n_ops = _checks.check_int("n_ops", n_ops, minimum=1)
    sigmas = kernel.as_sigmas(sigma)
    data = _checks.check_binary_matrix("data", data, n_cols=circuit.n_qubits, min_rows=2)
    per = per_sigma_jit(
        exact_terms(_bitflip_expval),
        (circuit, params),
        mmd.pack_data(data),
        key,
        n_wires=circuit.n_qubits,
        sigmas=sigmas,
        n_ops=n_ops,
    )
    return jnp.mean(per)


@functools.lru_cache(maxsize=32)
def _loss_function(n: int, sigmas: tuple[float, ...], n_ops: int) -> Callable:
    """The bitflip model's training loss, the mean MMD² over ``sigmas`` (one function per
    setting, so repeated fits reuse the compiled training chunk)."""
    terms_fn = exact_terms(_bitflip_expval)

    def loss_fn(params, k, circ, data):
        per = per_sigma(terms_fn, (circ, params), data, k, n_wires=n, sigmas=sigmas, n_ops=n_ops)
        return jnp.mean(per)

    return loss_fn


@functools.lru_cache(maxsize=32)
def _exact_loss_function(sigmas: tuple[float, ...]) -> Callable:
    """The exact training loss from a :class:`iqpgen.mmd.DataTable`: every operator, through
    the model's whole table of expectation values (:func:`iqpgen.bitflip.expval_table_of`)."""

    def loss_fn(params, k, circ, data):
        zq = bitflip.expval_table_of(circ, params)
        return jnp.mean(mmd.per_sigma_from_expvals(zq, data, sigmas=sigmas))

    return loss_fn


class BitflipModel(MmdBaseline):
    """The bitflip counterpart of an IQP model, trained by MMD² with exact expectations.

    Each generator ``g`` of gate ``k`` flips the bits of its support with probability
    ``sin²θ_k`` (:mod:`iqpgen.bitflip`). Training follows :class:`~iqpgen.IqpModel`: the same
    gates (all of weight ≤ ``max_weight`` by default), the data-dependent initialisation
    (:func:`iqpgen.init.from_data`: single-qubit angles ``arcsin√mean`` reproduce the
    marginals, pair angles small), Adam through :func:`iqpgen.train.run`, and the MMD² loss at
    ``sigma``: up to 16 bits (``estimator="auto"``) the exact MMD², summed over every operator
    by Walsh–Hadamard transforms, as :class:`~iqpgen.IqpModel` trains there; beyond, an
    estimate over ``n_ops`` random operators per bandwidth (:func:`bitflip_loss`: the model
    term exact, so only the operators are random).

    Args:
        gates: a gate pattern or :class:`~iqpgen.IqpCircuit`; ``None`` means
            ``iqpgen.gates.local_circuit(n, max_weight)``.
        max_weight: largest generator weight when ``gates`` is None.
        spin_sym: start from ``0…0`` or ``1…1`` with probability ½ each.
        symmetry: ``"auto"`` sets ``spin_sym`` when the data are flip-symmetric
            (:mod:`iqpgen.symmetry`), ``"global_flip"`` always, ``None`` leaves it as given.
        sigma: bandwidth(s) of the loss, or ``"auto"``.
        n_ops: operators per bandwidth per Monte Carlo step (and in :meth:`mmd`).
        estimator: ``"exact"`` (the loss over every operator: ``2^n`` entries, up to
            :func:`iqpgen.exact.max_qubits` bits), ``"monte_carlo"`` (``n_ops`` random
            operators per bandwidth per step) or ``"auto"``: exact up to 16 bits.
        learning_rate: Adam's step size (ignored when ``optimizer`` is given).
        optimizer: an optax ``GradientTransformation``.
        max_steps: training steps.
        init_scale: largest pair angle in units of π (default :func:`iqpgen.init.default_scale`).
        random_state: int seed, JAX key or None.
        verbose: progress bar on a terminal.

    Fitted attributes: ``circuit_``, ``params_``, ``sigma_``, ``estimator_``, ``history_``,
    ``n_features_in_``.

    Example:
        >>> import numpy as np
        >>> from iqpgen.baselines import BitflipModel
        >>> X = np.random.default_rng(0).integers(0, 2, (100, 4))
        >>> model = BitflipModel(sigma=1.0, n_ops=32, max_steps=10, verbose=False).fit(X)
        >>> model.params_.shape, model.sample(2).shape
        ((10,), (2, 4))
    """

    def __init__(
        self,
        gates: Any = None,
        max_weight: int = 2,
        spin_sym: bool = False,
        symmetry: str | None = None,
        sigma: Any = "auto",
        n_ops: int = 1000,
        estimator: str = "auto",
        learning_rate: float = 1e-3,
        optimizer: Any = None,
        max_steps: int = 2000,
        init_scale: float | None = None,
        random_state: Any = None,
        verbose: bool = True,
    ) -> None:
        self.gates = gates
        self.max_weight = max_weight
        self.spin_sym = spin_sym
        self.symmetry = symmetry
        self.sigma = sigma
        self.n_ops = n_ops
        self.estimator = estimator
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.max_steps = max_steps
        self.init_scale = init_scale
        self.random_state = random_state
        self.verbose = verbose

    def _build_circuit(self, X: np.ndarray) -> IqpCircuit:
        spin_sym = self.spin_sym or resolve_symmetry(self.symmetry, X) == "global_flip"
        return circuit_for(self.gates, X.shape[1], max_weight=self.max_weight, spin_sym=spin_sym)

    def fit(self, X: Any, y: Any = None) -> BitflipModel:
        """Train on the 0/1 matrix ``X`` ``(m, n)``, ``m ≥ 2``; returns ``self``."""
        self._check_common()
        _checks.check_int("max_steps", self.max_steps, minimum=0)
        if self.estimator not in _ESTIMATORS:
            raise ValueError(f"estimator must be one of {_ESTIMATORS}, got {self.estimator!r}.")
        check_gate_options(self)
        if self.optimizer is None:
            _checks.check_number("learning_rate", self.learning_rate, low=0.0)
        elif not hasattr(self.optimizer, "update"):
            raise TypeError(f"optimizer must be an optax transformation, got {self.optimizer!r}.")
        else:
            _checks.refuse_unused(
                self, ("learning_rate",), "it sets the built-in Adam; with optimizer= set it there"
            )
        if self.init_scale is not None:
            _checks.check_number("init_scale", self.init_scale, low=0.0, low_open=False)
        for attr in ("n_features_in_", "params_"):
            if hasattr(self, attr):
                delattr(self, attr)
        X = self._check_X(X)
        circuit = self._build_circuit(X)
        sigmas = self._resolve_sigma(X)
        params0 = init.from_data(circuit, X, scale=self.init_scale)
        optimizer = self.optimizer or objective.adam(float(self.learning_rate))
        n = circuit.n_qubits
        estimator = self.estimator
        if estimator == "auto":
            estimator = "exact" if n <= EXACT_MAX_BITS else "monte_carlo"
        if estimator == "exact":
            exact.check_size(n, what="estimator='exact'")
            loss, data = _exact_loss_function(tuple(sigmas)), mmd.data_table(X)
        else:
            loss, data = _loss_function(n, tuple(sigmas), int(self.n_ops)), mmd.pack_data(X)
        result = train.run(
            loss,
            params0,
            optimizer,
            key=jax.random.fold_in(_checks.key_from(self.random_state), 0),
            n_steps=int(self.max_steps),
            args=(circuit, data),
            verbose=bool(self.verbose),
        )
        self.estimator_ = estimator
        self.circuit_ = circuit
        self.params_ = result.params
        self.sigma_ = sigmas
        self.history_ = result.history
        self.n_features_in_ = X.shape[1]
        return self

    def expval(self, ops: Any) -> np.ndarray:
        """Exact ``⟨Z_a⟩`` of the trained bitflip model for each row of the 0/1 matrix ``ops``."""
        self.check_fitted()
        ops = _checks.check_binary_matrix("ops", ops, n_cols=self.n_features_in_, what="operators")
        supp = jnp.asarray(supports_from_ops(ops, self.n_features_in_))
        return np.asarray(_bitflip_expval_jit((self.circuit_, self.params_), supp), np.float64)

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """Exact samples ``(n_samples, n)`` of 0/1 (uint8), at any size."""
        self.check_fitted()
        n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
        key = self._eval_key(random_state, 3)
        # iqpgen.bitflip.sample draws one flip per (sample, generator): bound that memory by
        # drawing a fixed number of rows per call (so a longer draw extends a shorter one).
        rows = int(np.clip(_SAMPLE_CHUNK_ELEMENTS // self.circuit_.n_generators, 1, 4096))
        parts = [
            np.asarray(
                bitflip.sample(self.circuit_, self.params_, rows, key=jax.random.fold_in(key, c))
            )
            for c in range(-(-n_samples // rows))
        ]
        return np.concatenate(parts)[:n_samples]

    def mmd_terms(self, key):
        return exact_terms(_bitflip_expval), (self.circuit_, self.params_)

    def _expval_supports(self) -> tuple[Callable, Any]:
        """``(fn, state)`` with ``fn(state, supp)`` the exact ``⟨Z_a⟩`` of padded supports."""
        return _bitflip_expval_jit, (self.circuit_, self.params_)
