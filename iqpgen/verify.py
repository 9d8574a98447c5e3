"""Check samples from a device against the circuit they were meant to come from, at any size.

Sampling an IQP circuit is hard, but its ``⟨Z_a⟩`` are classically estimable at any size, so
the MMD² between the circuit's distribution and a device's samples can be estimated without
sampling the circuit classically: the device's samples enter as data, the circuit through the
Monte Carlo estimator (:func:`iqpgen.mmd.loss_from_packed`). The estimate is unbiased, so
samples that follow the circuit give a value within a few standard errors of 0, and a
device whose samples follow another distribution gives a positive one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks, kernel, mmd
from .circuit import IqpCircuit
from .estimator import Estimate, check_variance_reduction
from .noise import check_readout_error

__all__ = ["verify_samples"]


def verify_samples(
    circuit: IqpCircuit,
    params: Any,
    samples: Any,
    *,
    sigma: float | Sequence[float],
    key: jax.Array,
    n_ops: int = 1000,
    n_samples: int = 1000,
    n_repeats: int = 10,
    readout_error: Any = None,
    variance_reduction: str = "none",
) -> Estimate:
    """Unbiased MMD² between the circuit's output distribution and ``samples``, ± its
    standard error: the check of a device run.

    ``samples`` are split into ``n_repeats`` disjoint groups (in their order). Repeat ``r``
    compares group ``r`` with the circuit through fresh operators and circuit samples
    (key ``fold_in(key, r)``; the data term is a U-statistic, so each repeat is unbiased).
    The result is the mean over repeats and ``std/√n_repeats``, a standard error that counts
    both the estimator's noise and the finite number of device samples. Samples from the
    circuit itself give a mean within a few standard errors of 0; samples from another
    distribution give a mean above 0 by more than that once there are enough of them.

    Args:
        circuit: the circuit the device was meant to run.
        params: its angles ``(n_params,)``.
        samples: 0/1 matrix ``(m, n_qubits)``, column ``i`` the bit of qubit ``i``, with at
            least ``2 · n_repeats`` rows.
        sigma: a kernel bandwidth, or a list of them.
        key: JAX key.
        n_ops: operators per bandwidth per repeat.
        n_samples: Monte Carlo samples of the circuit per repeat.
        n_repeats: independent repeats, at least 2.
        readout_error: compare with the distribution of the bits a device with this readout
            error reads out (a probability, or one per qubit, in ``[0, 0.5)``;
            :mod:`iqpgen.noise`): what remains is the rest of the device's noise.
        variance_reduction: the estimator of each ``⟨Z_a⟩``
            (:func:`iqpgen.estimator.moments_from_signs`).

    Returns:
        :class:`iqpgen.Estimate` of floats for one bandwidth, of ``(len(sigma),)`` arrays for
        a list.

    Raises:
        TypeError, ValueError: bad circuit, angles, samples (not 0/1, wrong width, too few
            rows), bandwidths, sizes or readout error; the message names the argument.

    Example:
        >>> import jax, numpy as np, iqpgen
        >>> from iqpgen.evaluate import verify_samples
        >>> c = iqpgen.IqpCircuit(4, iqpgen.gates.local(4, 2))
        >>> theta = np.linspace(0.1, 0.5, c.n_params)
        >>> shots = iqpgen.exact.sample(c, theta, 2000, key=jax.random.key(1))
        >>> est = verify_samples(c, theta, shots, sigma=1.0, key=jax.random.key(2))
        >>> bool(abs(est.mean) < 4 * est.stderr)
        True
    """
    circuit = _checks.check_circuit(circuit)
    params = _checks.check_params(circuit, params)
    key = _checks.check_key(key)
    n_ops = _checks.check_int("n_ops", n_ops, minimum=1)
    n_samples = _checks.check_int("n_samples", n_samples, minimum=2)
    n_repeats = _checks.check_int("n_repeats", n_repeats, minimum=2)
    sigmas = kernel.as_sigmas(sigma)
    n = circuit.n_qubits
    samples = _checks.check_binary_matrix(
        "samples", samples, n_cols=n, min_rows=2 * n_repeats, what="rows (two per repeat)"
    )
    readout = check_readout_error(readout_error, n)
    variance_reduction = check_variance_reduction(circuit, variance_reduction)
    groups = np.array_split(np.asarray(samples), n_repeats)
    values = mmd.per_sigma_map(
        circuit,
        params,
        mmd.stack_packed([mmd.pack_data(g) for g in groups]),
        jax.vmap(lambda r: jax.random.fold_in(key, r))(jnp.arange(n_repeats)),
        sigmas=sigmas,
        n_ops=n_ops,
        n_samples=n_samples,
        variance_reduction=variance_reduction,
        readout_error=None if readout is None else jnp.asarray(readout, jnp.float32),
    )
    values = np.asarray(values, np.float64)
    mean, stderr = values.mean(axis=0), values.std(axis=0, ddof=1) / np.sqrt(n_repeats)
    if isinstance(sigma, Sequence | np.ndarray):
        return Estimate(mean=mean, stderr=stderr)
    return Estimate(mean=float(mean[0]), stderr=float(stderr[0]))
