r"""Classical models to compare a trained IQP model with, as scikit-learn style estimators.

* :class:`IndependentBits`: the product of the data's marginals. Its expectation values are
  exact, :math:`\langle Z_a\rangle = \prod_{i\in a}(1-2p_i)`, and so is its sampling.
* :class:`BitflipModel`: the classical counterpart of an IQP circuit (see
  :mod:`iqpgen.bitflip`): the same gates, each flipping the bits of its generators with
  probability :math:`\sin^2\theta_k`. It is trained like :class:`~iqpgen.IqpModel`, by
  minimising MMD², but the model term of the loss is exact instead of a Monte Carlo estimate;
  it samples exactly at any size. An IQP model that beats it uses interference.
* :class:`RBM`: a restricted Boltzmann machine (scikit-learn's ``BernoulliRBM``) sampled by
  block Gibbs sampling.

All three have ``fit(X)``, ``sample(n_samples, random_state=None)`` returning ``uint8`` rows,
``mmd(X)`` and ``score(X) = −mmd(X)`` (higher is better, as :meth:`iqpgen.IqpModel.score`).
The MMD² estimates use the operators of :func:`iqpgen.mmd_loss` (stratified, unbiased):

.. math::

    \widehat{\mathrm{MMD}^2} = \frac{1}{n_{ops}}\sum_a \Big(\widehat{q_a^2}
        - 2\,\hat q_a\,\frac{F_a}{m} + \frac{F_a^2-m}{m(m-1)}\Big),

with :math:`F_a=\sum_x(-1)^{a\cdot x}` over the ``m`` data rows. Models with exact
expectations use :math:`\hat q_a = q_a` and :math:`\widehat{q_a^2}=q_a^2`; the RBM uses
``N`` of its samples, :math:`\hat q_a = F^{(s)}_a/N` and the U-statistic
:math:`\widehat{q_a^2} = (F^{(s)2}_a - N)/(N(N-1))`. Either way the estimate is unbiased.
For the same key the operators are those :func:`iqpgen.mmd_loss` draws, so models compared with
one key are compared on the same operators.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator, DensityMixin

from . import _checks, bitflip, init, mmd, train
from .circuit import IqpCircuit
from .estimator import supports_from_ops
from .model import _key_from, circuit_for

__all__ = ["IndependentBits", "BitflipModel", "RBM", "bitflip_loss"]

# |cos 2θ| below this counts as this (a log-space product cannot hold an exact zero).
_TINY = 1e-30
# Random flips (samples x generators) drawn per call of iqpgen.bitflip.sample.
_SAMPLE_CHUNK_ELEMENTS = 1 << 24


# ------------------------------------------------------------------------ loss cores
def _per_sigma(
    terms_fn: Callable,
    state: Any,
    data: mmd.PackedData,
    key: jax.Array,
    *,
    n_wires: int,
    sigmas: tuple[float, ...],
    n_ops: int,
) -> jax.Array:
    """Unbiased MMD² estimate per bandwidth, shape ``(len(sigmas),)``.

    ``terms_fn(state, supp)`` returns the model's ``(q̂_a, q̂_a²)`` for padded supports ``supp``.
    Operators are drawn exactly as :func:`iqpgen.mmd.loss_from_packed` draws them; the buckets
    of every bandwidth are then padded to one width and evaluated together (one small graph to
    compile instead of one per bucket; the padding costs little next to the model term).
    """
    _, k_ops = jax.random.split(key)
    wires = jnp.arange(n_wires, dtype=jnp.int32)
    supps, owners = [], []
    for si, sigma in enumerate(sigmas):
        p = mmd.op_probability(sigma)
        for bi, (start, count, width) in enumerate(mmd._plan(n_wires, sigma, n_ops)):
            kb = jax.random.fold_in(jax.random.fold_in(k_ops, si), bi)
            supps.append(mmd._sample_supports(kb, wires, p, n_ops, start, count, width, n_wires))
            owners += [si] * count
    if not supps:  # every operator has weight 0: every model agrees with the data on them
        return jnp.zeros((len(sigmas),), jnp.float32)
    width = max(s.shape[1] for s in supps)
    supp = jnp.concatenate(
        [jnp.pad(s, ((0, 0), (0, width - s.shape[1])), constant_values=n_wires) for s in supps]
    )
    q_mean, q_sq = terms_fn(state, supp)
    F = mmd._data_sums(data, supp).astype(q_mean.dtype)
    m = data.n_rows.astype(q_mean.dtype)
    terms = q_sq - 2.0 * q_mean * F / m + (F * F - m) / (m * (m - 1.0))
    owner = np.asarray(owners)
    # Strata of weight 0 are not evaluated; they count in the average with a zero term.
    return jnp.stack(
        [jnp.sum(terms[np.flatnonzero(owner == si)]) / n_ops for si in range(len(sigmas))]
    )


_per_sigma_jit = jax.jit(
    _per_sigma, static_argnums=(0,), static_argnames=("n_wires", "sigmas", "n_ops")
)


@functools.cache
def _exact_terms(expval_fn: Callable) -> Callable:
    """``terms_fn`` for a model with exact expectations ``expval_fn(state, supp)``."""

    def terms(state, supp):
        q = expval_fn(state, supp)
        return q, q * q

    return terms


def _sample_terms(samples: mmd.PackedData, supp: jax.Array):
    """``terms_fn`` for a model given by ``N`` samples: mean and U-statistic of the square."""
    n = samples.n_rows.astype(jnp.float32)
    fs = mmd._data_sums(samples, supp)
    return fs / n, (fs * fs - n) / (n * (n - 1.0))


# --------------------------------------------------------------------- expectations
def _independent_expval(probs: jax.Array, supp: jax.Array) -> jax.Array:
    """``Π_{i∈a} (1 − 2 p_i)`` for padded supports (padding index ``n`` contributes 1)."""
    z = jnp.concatenate([1.0 - 2.0 * probs, jnp.ones((1,), probs.dtype)])
    return jnp.prod(z[supp], axis=1)


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
    logf = jnp.log(jnp.maximum(jnp.abs(f), _TINY))
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
_independent_expval_jit = jax.jit(_independent_expval)


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
    sigmas = mmd._as_sigmas(sigma)
    data = _checks.check_binary_matrix("data", data, n_cols=circuit.n_qubits, min_rows=2)
    per = _per_sigma_jit(
        _exact_terms(_bitflip_expval),
        (circuit, params),
        mmd.pack_data(data),
        key,
        n_wires=circuit.n_qubits,
        sigmas=sigmas,
        n_ops=n_ops,
    )
    return jnp.mean(per)


# ------------------------------------------------------------------------ estimators
def _rng_from(key: jax.Array) -> np.random.Generator:
    """A NumPy generator seeded from a JAX key (no global NumPy state)."""
    return np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())


class _MmdBaseline(DensityMixin, BaseEstimator):
    """Shared plumbing: validation, bandwidths, keys, ``mmd`` and ``score``."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_features_in_"):
            name = type(self).__name__
            raise ValueError(f"this {name} is not fitted yet; call fit(X) first.")

    def _check_X(self, X: Any, name: str = "X", min_rows: int = 2) -> np.ndarray:
        n = getattr(self, "n_features_in_", None)
        X = _checks.check_binary_matrix(name, X, min_rows=min_rows, what="rows")
        if n is not None and X.shape[1] != n:
            raise ValueError(f"{name} has {X.shape[1]} columns but the model was fitted on {n}.")
        return X

    def _check_common(self) -> None:
        _checks.check_int("n_ops", self.n_ops, minimum=1)
        if isinstance(self.sigma, str):
            if self.sigma != "auto":
                raise ValueError(
                    f"sigma must be 'auto', a float > 0 or a list, got {self.sigma!r}."
                )
        else:
            mmd._as_sigmas(self.sigma)
        _key_from(self.random_state)  # validates

    def _resolve_sigma(self, X: np.ndarray) -> tuple[float, ...]:
        if isinstance(self.sigma, str):
            return tuple(mmd.sigma_heuristic(X))
        return mmd._as_sigmas(self.sigma)

    def _eval_key(self, random_state: Any, tag: int) -> jax.Array:
        if random_state is None:
            random_state = self.random_state if self.random_state is not None else 0
        return jax.random.fold_in(_key_from(random_state), tag)

    def _mmd_terms(self, key: jax.Array) -> tuple[Callable, Any]:
        """``(terms_fn, state)`` for :func:`_per_sigma`."""
        raise NotImplementedError

    def mmd_per_sigma(self, X: Any, sigma: Any = None, *, random_state: Any = None) -> np.ndarray:
        """Unbiased MMD² estimates to ``X``, one per bandwidth (``sigma_`` by default)."""
        self._check_fitted()
        X = self._check_X(X)
        sigmas = self.sigma_ if sigma is None else mmd._as_sigmas(sigma)
        key = self._eval_key(random_state, 1)
        terms_fn, state = self._mmd_terms(jax.random.fold_in(key, 1))
        per = _per_sigma_jit(
            terms_fn,
            state,
            mmd.pack_data(X),
            key,
            n_wires=self.n_features_in_,
            sigmas=tuple(sigmas),
            n_ops=int(self.n_ops),
        )
        return np.asarray(per, np.float64)

    def mmd(self, X: Any, sigma: Any = None, *, random_state: Any = None) -> float:
        """Unbiased MMD² estimate to ``X``, averaged over the bandwidths (``sigma_`` by default).

        With the same ``random_state`` and ``n_ops`` the operators are those of
        :meth:`iqpgen.IqpModel.mmd`.
        """
        return float(np.mean(self.mmd_per_sigma(X, sigma, random_state=random_state)))

    def score(self, X: Any, y: Any = None) -> float:
        """``−MMD²`` estimate on ``X`` at ``sigma_``: higher is better."""
        return -self.mmd(X)


class IndependentBits(_MmdBaseline):
    """Independent bits with the data's marginals: ``P(x) = Π_i p_i^{x_i}(1 − p_i)^{1−x_i}``.

    Args:
        sigma: bandwidth(s) for :meth:`mmd` and :meth:`score`, or ``"auto"``
            (:func:`iqpgen.mmd.sigma_heuristic` on the training data).
        n_ops: operators per bandwidth in :meth:`mmd`.
        random_state: int seed, JAX key or None (sampling and MMD operators).

    Fitted attributes: ``probs_`` (``(n,)``, the mean of each column), ``sigma_``,
    ``n_features_in_``.

    Example:
        >>> import numpy as np
        >>> from iqpgen.baselines import IndependentBits
        >>> X = np.array([[0, 1], [1, 1], [0, 1], [0, 0]])
        >>> model = IndependentBits(sigma=1.0, random_state=0).fit(X)
        >>> model.probs_.tolist(), model.expval([[1, 1]]).round(3).tolist()
        ([0.25, 0.75], [-0.25])
        >>> model.sample(3).shape
        (3, 2)
    """

    def __init__(self, sigma: Any = "auto", n_ops: int = 1000, random_state: Any = None) -> None:
        self.sigma = sigma
        self.n_ops = n_ops
        self.random_state = random_state

    def fit(self, X: Any, y: Any = None) -> IndependentBits:
        """Store the column means of the 0/1 matrix ``X`` (at least 2 rows); returns ``self``."""
        self._check_common()
        if hasattr(self, "n_features_in_"):
            del self.n_features_in_
        X = self._check_X(X)
        self.probs_ = X.mean(axis=0, dtype=np.float64)
        self.sigma_ = self._resolve_sigma(X)
        self.n_features_in_ = X.shape[1]
        return self

    def expval(self, ops: Any) -> np.ndarray:
        """Exact ``⟨Z_a⟩ = Π_{i∈a}(1 − 2 p_i)`` for each row ``a`` of the 0/1 matrix ``ops``."""
        self._check_fitted()
        ops = _checks.check_binary_matrix("ops", ops, n_cols=self.n_features_in_, what="operators")
        z = 1.0 - 2.0 * self.probs_
        return np.prod(np.where(ops == 1, z[None, :], 1.0), axis=1)

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """Exact samples ``(n_samples, n)`` of 0/1 (uint8)."""
        self._check_fitted()
        n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
        key = self._eval_key(random_state, 3)
        p = jnp.asarray(self.probs_, jnp.float32)
        return np.asarray(jax.random.bernoulli(key, p, (n_samples, p.shape[0])), np.uint8)

    def _mmd_terms(self, key):
        return _exact_terms(_independent_expval), jnp.asarray(self.probs_, jnp.float32)

    def _expval_supports(self) -> tuple[Callable, Any]:
        """``(fn, state)`` with ``fn(state, supp)`` the exact ``⟨Z_a⟩`` of padded supports."""
        return _independent_expval_jit, jnp.asarray(self.probs_, jnp.float32)


class BitflipModel(_MmdBaseline):
    """The bitflip counterpart of an IQP model, trained by MMD² with exact expectations.

    Each generator ``g`` of gate ``k`` flips the bits of its support with probability
    ``sin²θ_k`` (:mod:`iqpgen.bitflip`). Training follows :class:`~iqpgen.IqpModel`: the same
    gates (all of weight ≤ ``max_weight`` by default), the data-dependent initialisation
    (:func:`iqpgen.init.from_data`: single-qubit angles ``arcsin√mean`` reproduce the
    marginals, pair angles small), Adam through :func:`iqpgen.train.run`, and the MMD² loss at
    ``sigma`` (:func:`bitflip_loss`: the model term exact, so only the operators are random).

    Args:
        gates: a gate pattern or :class:`~iqpgen.IqpCircuit`; ``None`` means
            ``iqpgen.gates.local_circuit(n, max_weight)``.
        max_weight: largest generator weight when ``gates`` is None.
        spin_sym: start from ``0…0`` or ``1…1`` with probability ½ each.
        sigma: bandwidth(s) of the loss, or ``"auto"``.
        n_ops: operators per bandwidth per step (and in :meth:`mmd`).
        learning_rate: Adam's step size (ignored when ``optimizer`` is given).
        optimizer: an optax ``GradientTransformation``.
        max_steps: training steps.
        init_scale: largest pair angle in units of π (default :func:`iqpgen.init.default_scale`).
        random_state: int seed, JAX key or None.
        verbose: progress bar on a terminal.

    Fitted attributes: ``circuit_``, ``params_``, ``sigma_``, ``history_``, ``n_features_in_``.

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
        sigma: Any = "auto",
        n_ops: int = 1000,
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
        self.sigma = sigma
        self.n_ops = n_ops
        self.learning_rate = learning_rate
        self.optimizer = optimizer
        self.max_steps = max_steps
        self.init_scale = init_scale
        self.random_state = random_state
        self.verbose = verbose

    def _build_circuit(self, n: int) -> IqpCircuit:
        return circuit_for(self.gates, n, max_weight=self.max_weight, spin_sym=self.spin_sym)

    def fit(self, X: Any, y: Any = None) -> BitflipModel:
        """Train on the 0/1 matrix ``X`` ``(m, n)``, ``m ≥ 2``; returns ``self``."""
        self._check_common()
        _checks.check_int("max_weight", self.max_weight, minimum=1)
        _checks.check_int("max_steps", self.max_steps, minimum=0)
        if not isinstance(self.spin_sym, bool | np.bool_):
            raise TypeError(f"spin_sym must be True or False, got {self.spin_sym!r}.")
        if self.optimizer is None:
            _checks.check_number("learning_rate", self.learning_rate, low=0.0)
        elif not hasattr(self.optimizer, "update"):
            raise TypeError(f"optimizer must be an optax transformation, got {self.optimizer!r}.")
        if self.init_scale is not None:
            _checks.check_number("init_scale", self.init_scale, low=0.0, low_open=False)
        for attr in ("n_features_in_", "params_"):
            if hasattr(self, attr):
                delattr(self, attr)
        X = self._check_X(X)
        circuit = self._build_circuit(X.shape[1])
        sigmas = self._resolve_sigma(X)
        params0 = init.from_data(circuit, X, scale=self.init_scale)
        import optax

        optimizer = self.optimizer or optax.adam(float(self.learning_rate))
        terms_fn = _exact_terms(_bitflip_expval)
        n, n_ops = circuit.n_qubits, int(self.n_ops)

        def loss_fn(params, k, circ, data):
            per = _per_sigma(
                terms_fn, (circ, params), data, k, n_wires=n, sigmas=sigmas, n_ops=n_ops
            )
            return jnp.mean(per)

        result = train.run(
            loss_fn,
            params0,
            optimizer,
            key=jax.random.fold_in(_key_from(self.random_state), 0),
            n_steps=int(self.max_steps),
            args=(circuit, mmd.pack_data(X)),
            verbose=bool(self.verbose),
        )
        self.circuit_ = circuit
        self.params_ = result.params
        self.sigma_ = sigmas
        self.history_ = result.history
        self.n_features_in_ = X.shape[1]
        return self

    def expval(self, ops: Any) -> np.ndarray:
        """Exact ``⟨Z_a⟩`` of the trained bitflip model for each row of the 0/1 matrix ``ops``."""
        self._check_fitted()
        ops = _checks.check_binary_matrix("ops", ops, n_cols=self.n_features_in_, what="operators")
        supp = jnp.asarray(supports_from_ops(ops, self.n_features_in_))
        return np.asarray(_bitflip_expval_jit((self.circuit_, self.params_), supp), np.float64)

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """Exact samples ``(n_samples, n)`` of 0/1 (uint8), at any size."""
        self._check_fitted()
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

    def _mmd_terms(self, key):
        return _exact_terms(_bitflip_expval), (self.circuit_, self.params_)

    def _expval_supports(self) -> tuple[Callable, Any]:
        """``(fn, state)`` with ``fn(state, supp)`` the exact ``⟨Z_a⟩`` of padded supports."""
        return _bitflip_expval_jit, (self.circuit_, self.params_)


class RBM(_MmdBaseline):
    """A restricted Boltzmann machine (scikit-learn's ``BernoulliRBM``) as a generative model.

    Trained by persistent contrastive divergence (scikit-learn). :meth:`sample` runs
    ``burn_in`` sweeps of block Gibbs sampling, ``h ~ p(h|v)`` then ``v ~ p(v|h)``, from
    independent uniformly random visible states, one chain per sample, and returns the last
    visible states. :meth:`mmd` compares ``n_samples`` such samples with the data through the
    same operators as the other models (an unbiased estimate; see the module docstring).

    Args:
        n_components: hidden units; ``None`` means ``min(256, 2·n)`` (``n`` the number of bits).
        learning_rate: scikit-learn's ``learning_rate``.
        batch_size: scikit-learn's ``batch_size``.
        n_iter: training epochs.
        burn_in: Gibbs sweeps per sample.
        sigma: bandwidth(s) for :meth:`mmd` and :meth:`score`, or ``"auto"``.
        n_ops: operators per bandwidth in :meth:`mmd`.
        n_samples: model samples drawn by :meth:`mmd`.
        random_state: int seed, JAX key or None.
        verbose: scikit-learn's progress output.

    Fitted attributes: ``rbm_`` (the ``BernoulliRBM``), ``n_components_``, ``sigma_``,
    ``n_features_in_``.

    Example:
        >>> import numpy as np
        >>> from iqpgen.baselines import RBM
        >>> X = np.random.default_rng(0).integers(0, 2, (100, 6))
        >>> model = RBM(n_iter=2, burn_in=10, random_state=0).fit(X)
        >>> model.n_components_, model.sample(4).shape
        (12, (4, 6))
    """

    def __init__(
        self,
        n_components: int | None = None,
        learning_rate: float = 0.05,
        batch_size: int = 16,
        n_iter: int = 100,
        burn_in: int = 1000,
        sigma: Any = "auto",
        n_ops: int = 1000,
        n_samples: int = 1000,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.n_iter = n_iter
        self.burn_in = burn_in
        self.sigma = sigma
        self.n_ops = n_ops
        self.n_samples = n_samples
        self.random_state = random_state
        self.verbose = verbose

    def fit(self, X: Any, y: Any = None) -> RBM:
        """Train on the 0/1 matrix ``X`` ``(m, n)``, ``m ≥ 2``; returns ``self``."""
        from sklearn.neural_network import BernoulliRBM

        self._check_common()
        if self.n_components is not None:
            _checks.check_int("n_components", self.n_components, minimum=1)
        _checks.check_number("learning_rate", self.learning_rate, low=0.0)
        _checks.check_int("batch_size", self.batch_size, minimum=1)
        _checks.check_int("n_iter", self.n_iter, minimum=1)
        _checks.check_int("burn_in", self.burn_in, minimum=1)
        _checks.check_int("n_samples", self.n_samples, minimum=2)
        if hasattr(self, "n_features_in_"):
            del self.n_features_in_
        X = self._check_X(X)
        n = X.shape[1]
        k = min(256, 2 * n) if self.n_components is None else int(self.n_components)
        seed = int(_rng_from(jax.random.fold_in(_key_from(self.random_state), 0)).integers(2**31))
        rbm = BernoulliRBM(
            n_components=k,
            learning_rate=float(self.learning_rate),
            batch_size=int(self.batch_size),
            n_iter=int(self.n_iter),
            verbose=int(bool(self.verbose)),
            random_state=seed,
        )
        rbm.fit(X.astype(np.float64))
        self.rbm_ = rbm
        self.n_components_ = k
        self.sigma_ = self._resolve_sigma(X)
        self.n_features_in_ = n
        return self

    def sample(self, n_samples: int = 1, random_state: Any = None) -> np.ndarray:
        """``(n_samples, n)`` 0/1 samples (uint8): ``burn_in`` Gibbs sweeps from random states."""
        self._check_fitted()
        n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
        rng = _rng_from(self._eval_key(random_state, 3))
        W = self.rbm_.components_.astype(np.float32)  # (k, n)
        b_h = self.rbm_.intercept_hidden_.astype(np.float32)
        b_v = self.rbm_.intercept_visible_.astype(np.float32)
        out = np.empty((n_samples, self.n_features_in_), np.uint8)
        chunk = max(1, min(n_samples, (1 << 22) // max(W.shape[0], W.shape[1])))
        for start in range(0, n_samples, chunk):
            size = min(chunk, n_samples - start)
            v = (rng.random((size, W.shape[1]), dtype=np.float32) < 0.5).astype(np.float32)
            for _ in range(int(self.burn_in)):
                p_h = _sigmoid(v @ W.T + b_h)
                h = (rng.random(p_h.shape, dtype=np.float32) < p_h).astype(np.float32)
                p_v = _sigmoid(h @ W + b_v)
                v = (rng.random(p_v.shape, dtype=np.float32) < p_v).astype(np.float32)
            out[start : start + size] = v
        return out

    def _mmd_terms(self, key):
        samples = self.sample(int(self.n_samples), random_state=key)
        return _sample_terms, mmd.pack_data(samples)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))
