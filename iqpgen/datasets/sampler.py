"""The Ising-model sampler behind the datasets: parallel Gibbs / Metropolis sweeps over a colouring
of the coupling graph, with parallel tempering.

The model on ``n`` spins ``s = 2x − 1 ∈ {−1, +1}^n`` (bit ``x_i = 1`` is spin ``+1``) is

    p(x) ∝ exp(−E(s) / T),    E(s) = −½ sᵀ J s − h·s = −Σ_{i<j} J_ij s_i s_j − Σ_i h_i s_i,

with ``J`` symmetric and zero on the diagonal. :func:`sample_ising` draws from it by Gibbs (or
Metropolis) sweeps over a greedy colouring of the coupling graph: spins of one colour share no
coupling, so they are conditionally independent given the rest and are all updated at once,
exactly. Thousands of chains run side by side as the columns of one array (spins as rows,
grouped by colour) in one compiled JAX loop. With ``n_replicas > 1`` each chain is a ladder of
replicas at temperatures from ``temperature`` up to ``t_high`` that exchange configurations
(parallel tempering), which is what makes low temperatures reachable.

Couplings are given either as a dense ``(n, n)`` array or, for sparse graphs, as a pair
``(edges, weights)``: ``edges`` an ``(m, 2)`` integer array listing each coupled pair once (in
either order) and ``weights`` the ``m`` values ``J_ij``. The number of spins is ``len(h)``.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .. import _checks
from .convergence import RHAT_TARGET, Convergence, chain_diagnostics, warn_unconverged

__all__ = ["sample_ising", "ising_energy", "parse_model", "check_temperature", "coupling_strength"]


# ---------------------------------------------------------------------------------------------
# Validation of the model
# ---------------------------------------------------------------------------------------------


def _check_real_array(name: str, x: Any) -> np.ndarray:
    if isinstance(x, str | bytes) or x is None:
        raise TypeError(f"{name} must be an array of real numbers, got {type(x).__name__}.")
    try:
        arr = np.asarray(x)
    except ValueError as err:
        raise ValueError(f"{name} must be a rectangular array of real numbers.") from err
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating)
        or np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}.")
    arr = arr.astype(np.float64)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinity; all values must be finite.")
    return arr


def check_temperature(name: str, value: Any) -> float:
    """A temperature: a finite number > 0 (``TypeError`` or ``ValueError`` naming ``name``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a positive number, got {type(value).__name__}.")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(
            f"{name} must be positive and finite, got {value}; for samples near the ground state "
            "use a small positive temperature with n_replicas > 1 (parallel tempering)."
        )
    return value


def parse_model(J: Any, h: Any) -> tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate an Ising model ``(J, h)`` (``J`` dense ``(n, n)`` or ``(edges, weights)``, see
    the module docstring); return ``n``, edge endpoints ``i < j``, weights and fields as NumPy
    arrays. Errors name the argument and say what to pass."""
    h = _check_real_array("h", h)
    if h.ndim != 1:
        raise ValueError(f"h must be 1-D with one field per spin, shape (n,), got {h.shape}.")
    n = h.shape[0]
    if n == 0:
        raise ValueError("h is empty; the model needs at least one spin.")
    if isinstance(J, tuple) and len(J) == 2 and np.ndim(J[0]) == 2:
        edges = np.asarray(J[0])
        if edges.dtype == object or not np.issubdtype(edges.dtype, np.integer):
            if edges.size == 0:
                edges = edges.astype(np.int64).reshape(0, 2)
            else:
                raise TypeError(
                    f"edges (J[0]) must be an integer array of shape (m, 2), got dtype "
                    f"{edges.dtype}."
                )
        if edges.ndim != 2 or edges.shape[1] != 2:
            raise ValueError(f"edges (J[0]) must have shape (m, 2), got {edges.shape}.")
        w = _check_real_array("weights (J[1])", J[1])
        if w.shape != (edges.shape[0],):
            raise ValueError(
                f"weights (J[1]) must have shape ({edges.shape[0]},), one per edge, got {w.shape}."
            )
        if edges.size and (edges.min() < 0 or edges.max() >= n):
            raise ValueError(
                f"edges (J[0]) refer to spins outside range(n={n}) (n is len(h)); spins are "
                f"numbered 0..{n - 1}."
            )
        if (edges[:, 0] == edges[:, 1]).any():
            k = int(np.argmax(edges[:, 0] == edges[:, 1]))
            raise ValueError(
                f"edges (J[0]) has a self-coupling {edges[k].tolist()}: J must have a zero "
                "diagonal (s_i² = 1 only shifts the energy); drop that edge."
            )
        i = np.minimum(edges[:, 0], edges[:, 1]).astype(np.int64)
        j = np.maximum(edges[:, 0], edges[:, 1]).astype(np.int64)
        flat = i * n + j
        uniq, counts = np.unique(flat, return_counts=True)
        if (counts > 1).any():
            d = int(uniq[np.argmax(counts > 1)])
            raise ValueError(
                f"edges (J[0]) lists the pair ({d // n}, {d % n}) more than once; list each "
                "coupled pair once (sum duplicate weights)."
            )
    else:
        J = _check_real_array("J", J)
        if J.shape != (n, n):
            raise ValueError(
                f"J must have shape (n, n) = ({n}, {n}) to match len(h) = {n}, got {J.shape}."
            )
        if not np.allclose(J, J.T, rtol=1e-6, atol=1e-9):
            raise ValueError(
                "J must be symmetric (J[i, j] == J[j, i]); symmetrise it with (J + J.T) / 2."
            )
        if np.any(np.diag(J) != 0):
            raise ValueError(
                "J must have a zero diagonal (s_i² = 1 only shifts the energy); set "
                "np.fill_diagonal(J, 0)."
            )
        i, j = np.nonzero(np.triu(J, k=1))
        w = J[i, j]
    keep = w != 0
    return n, i[keep], j[keep], w[keep], h


# ---------------------------------------------------------------------------------------------
# Structure: colouring and the tables the compiled sampler reads
# ---------------------------------------------------------------------------------------------


class _Edges(NamedTuple):
    """Directed edges into each colour class, padded to a common length ``E``.

    ``dst`` is the target's index ``k`` in its class for a back edge (neighbour of a lower
    colour) and ``S + k`` for a forward edge; it is sorted, padding uses ``2S − 1`` and weight 0.
    """

    src: jax.Array  # (C, E) int32: position of the neighbour
    dst: jax.Array  # (C, E) int32: segment of the edge, sorted ascending
    w: jax.Array  # (C, E) float32: coupling


class _Tables(NamedTuple):
    """The model laid out for the compiled sampler (a pytree of traced arrays).

    Spins are stored colour by colour: position ``c·S + k`` holds the ``k``-th spin of colour
    ``c`` (``S`` is the largest class); positions past a class's end are padding spins with no
    couplings and no field, updated like the others but never read. The local field of a spin
    of colour ``c`` is split into the part from lower colours (``back``) and from higher ones:
    when colour ``c`` is updated its back neighbours are final for this sweep, so
    ``Σ_c Σ_{i∈c} −s_i (back_i + h_i)`` is the energy at the end of the sweep, each coupling
    counted once. ``J`` is an :class:`_Edges` table (edge-list kernel) or the rows of ``J``
    for the matrix kernel, shape ``(C, 2S, C·S)``: back rows then forward rows of each class.
    """

    pos: jax.Array  # (n,) int32: position of spin i
    fields: jax.Array  # (C, S) float32: h by position
    J: _Edges | jax.Array


def _colouring(n: int, i: np.ndarray, j: np.ndarray) -> list[np.ndarray]:
    """Greedy colouring (largest degree first) of the coupling graph: lists of spin indices."""
    import networkx as nx

    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(i.tolist(), j.tolist(), strict=True))
    colour = nx.greedy_color(graph, strategy="largest_first")
    c = np.array([colour[v] for v in range(n)], dtype=np.int64)
    return [np.flatnonzero(c == k) for k in range(int(c.max()) + 1)]


def _use_dense(n_positions: int, size: int, n_colours: int, n_edges: int) -> bool:
    """Pick the kernel with the smaller estimated cost per sweep on a CPU.

    The matrix kernel does ``C·S·(C·S)`` multiply-adds per chain; the edge kernel ``2m``
    gathers and scatter-adds, each about 15 times as costly as a multiply-add in a matmul.
    """
    return n_colours * size * n_positions <= 15 * max(2 * n_edges, 1)


def _build_tables(
    n: int, i: np.ndarray, j: np.ndarray, w: np.ndarray, h: np.ndarray, *, dense: bool | None
) -> _Tables:
    classes = _colouring(n, i, j)
    n_col = len(classes)
    size = max(len(c) for c in classes)
    n_pos = n_col * size
    if dense is None:
        dense = _use_dense(n_pos, size, n_col, len(w))
    pos = np.empty(n, dtype=np.int64)
    for c, members in enumerate(classes):
        pos[members] = c * size + np.arange(len(members))
    fields = np.zeros(n_pos, dtype=np.float32)
    fields[pos] = h
    pi, pj = pos[i], pos[j]
    # Directed edges target <- source.
    tgt = np.concatenate([pi, pj])
    srcs = np.concatenate([pj, pi])
    ww = np.concatenate([w, w]).astype(np.float32)
    colour = tgt // size
    # Segment of each directed edge within its target's class: back edges first.
    segment = tgt - colour * size + np.where(srcs // size < colour, 0, size)
    if dense:
        rows = np.zeros((n_col, 2 * size, n_pos), dtype=np.float32)
        rows[colour, segment, srcs] = ww
        table: _Edges | np.ndarray = rows
    else:
        per = [np.flatnonzero(colour == c) for c in range(n_col)]
        e_max = max(1, max(len(p) for p in per))
        src = np.zeros((n_col, e_max), dtype=np.int32)
        dst = np.full((n_col, e_max), 2 * size - 1, dtype=np.int32)
        wt = np.zeros((n_col, e_max), dtype=np.float32)
        for c, p in enumerate(per):
            order = p[np.argsort(segment[p], kind="stable")]
            src[c, : len(p)] = srcs[order]
            dst[c, : len(p)] = segment[order]
            wt[c, : len(p)] = ww[order]
        table = _Edges(src, dst, wt)
    return _Tables(
        pos=jnp.asarray(pos.astype(np.int32)),
        fields=jnp.asarray(fields.reshape(n_col, size)),
        J=jax.tree.map(jnp.asarray, table),
    )


# ---------------------------------------------------------------------------------------------
# The compiled sampler
# ---------------------------------------------------------------------------------------------


def _split_field(t: _Tables, flat: jax.Array, c: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Local fields of colour ``c``'s spins from lower and from higher colours, ``(S, cols)``."""
    size = t.fields.shape[1]
    if isinstance(t.J, _Edges):
        contrib = t.J.w[c][:, None] * flat[t.J.src[c]]
        both = jax.ops.segment_sum(
            contrib, t.J.dst[c], num_segments=2 * size, indices_are_sorted=True
        )
    else:
        both = t.J[c] @ flat
    return both[:size], both[size:]


def _sweep(t: _Tables, s: jax.Array, beta: jax.Array, key: jax.Array, metropolis: bool):
    """One pass over all colours of ``s`` (shape ``(C, S, n_columns)``); ``beta`` per column.

    Returns the new state and the energy of every column after the sweep.
    """
    n_cols = s.shape[-1]

    def colour(carry, c):
        s, energy = carry
        back, fwd = _split_field(t, s.reshape(-1, n_cols), c)
        back = back + t.fields[c][:, None]
        f = back + fwd
        u = jax.random.uniform(jax.random.fold_in(key, c), f.shape, dtype=s.dtype)
        if metropolis:
            old = s[c]
            # Flip with probability min(1, exp(−2β s_i f_i)).
            new = jnp.where(u < jnp.exp(-2.0 * beta * old * f), -old, old)
        else:
            new = jnp.where(u < jax.nn.sigmoid(2.0 * beta * f), 1.0, -1.0).astype(s.dtype)
        energy = energy - jnp.sum(new * back, axis=0)
        return (s.at[c].set(new), energy), None

    energy0 = jnp.zeros(n_cols, dtype=s.dtype)
    (s, energy), _ = jax.lax.scan(colour, (s, energy0), jnp.arange(s.shape[0]))
    return s, energy


def _exchange(s, energy, betas: jax.Array, key: jax.Array, parity: jax.Array, n_chains: int):
    """Replica exchange between neighbouring rungs ``(k, k+1)`` with ``k % 2 == parity``."""
    n_rep = betas.shape[0]
    energy = energy.reshape(n_rep, n_chains)
    k = jnp.arange(n_rep)
    lower = (k % 2 == parity) & (k < n_rep - 1)
    upper = jnp.concatenate([jnp.zeros(1, bool), lower[:-1]])
    partner = jnp.where(lower, k + 1, jnp.where(upper, k - 1, k))
    first = jnp.minimum(k, partner)
    log_u = jnp.log(jax.random.uniform(key, (n_rep, n_chains), dtype=s.dtype))
    # Swap x_k and x_{k+1} with probability min(1, exp((β_k − β_{k+1})(E_k − E_{k+1}))).
    log_ratio = (betas - betas[partner])[:, None] * (energy - energy[partner])
    accept = (lower | upper)[:, None] & (log_u[first] < log_ratio)
    s4 = s.reshape(*s.shape[:2], n_rep, n_chains)
    s4 = jnp.where(accept, s4[:, :, partner, :], s4)
    return s4.reshape(s.shape)


def _initial_state(t: _Tables, key: jax.Array, n_cols: int) -> jax.Array:
    """Uniformly random spins for every column (chains × rungs)."""
    return jnp.where(jax.random.bernoulli(key, 0.5, (*t.fields.shape, n_cols)), 1.0, -1.0)


@functools.partial(jax.jit, static_argnames=("n_chains", "n_keep", "metropolis"))
def _run(t, betas, key, s0, burn_in, thinning, *, n_chains, n_keep, metropolis):
    """Run every chain from ``s0``: ``burn_in`` sweeps, then ``n_keep`` draws ``thinning`` sweeps
    apart. Returns the draws ``(n_keep, n_chains, n)`` and the final state."""
    n_rep = betas.shape[0]
    n_cols = n_rep * n_chains
    beta_col = jnp.repeat(betas, n_chains)[None, :]  # column r * n_chains + c is rung r

    def step(step_index, s):
        k_sweep, k_swap = jax.random.split(jax.random.fold_in(key, step_index))
        s, energy = _sweep(t, s, beta_col, k_sweep, metropolis)
        if n_rep > 1:
            s = _exchange(s, energy, betas, k_swap, step_index % 2, n_chains)
        return s

    def keep(s, r):
        # Block r runs sweeps [start, stop): the first one includes the burn-in.
        stop = burn_in + (r + 1) * thinning
        start = jnp.where(r == 0, 0, stop - thinning)
        s = jax.lax.fori_loop(start, stop, step, s)
        x = s.reshape(-1, n_cols)[t.pos, :n_chains] > 0
        return s, x.T.astype(jnp.uint8)

    s, out = jax.lax.scan(keep, s0, jnp.arange(n_keep))
    return out, s


def coupling_strength(n: int, i: np.ndarray, j: np.ndarray, w: np.ndarray, h: np.ndarray) -> float:
    """Mean over spins of ``Σ_j |J_ij| + |h_i|`` for the edges ``(i, j)`` with weights ``w``:
    the default top temperature of parallel tempering (hot enough that chains decorrelate
    quickly), and the scale of the recipes' ladders."""
    strength = np.abs(h).copy()
    np.add.at(strength, i, np.abs(w))
    np.add.at(strength, j, np.abs(w))
    return float(max(strength.mean(), 1e-3))


def sample_ising(
    J: Any,
    h: Any,
    *,
    n_samples: int,
    key: jax.Array,
    temperature: float = 1.0,
    burn_in: int = 500,
    thinning: int = 10,
    n_chains: int | None = None,
    method: str = "gibbs",
    n_replicas: int | None = None,
    t_high: float | None = None,
    rhat_target: float | None = RHAT_TARGET,
    max_sweeps: int | None = None,
    return_diagnostics: bool = False,
) -> np.ndarray | tuple[np.ndarray, Convergence]:
    r"""Sample bitstrings from an Ising model by parallel MCMC (with optional parallel tempering).

    Draws from ``p(x) ∝ exp(−E(s)/T)`` with ``s = 2x − 1`` and
    ``E(s) = −½ sᵀJs − h·s = −Σ_{i<j} J_ij s_i s_j − Σ_i h_i s_i``. Spins are grouped by a greedy
    colouring of the coupling graph; one sweep updates each colour class at once from its exact
    conditional (Gibbs: ``P(s_i = +1 | rest) = σ(2(Σ_j J_ij s_j + h_i)/T)``), or by single-spin
    Metropolis flips. ``n_chains`` independent chains start from uniformly random states, run
    ``burn_in`` sweeps, then keep one sample every ``thinning`` sweeps until ``n_samples`` rows
    are collected: row ``r`` comes from chain ``r % n_chains`` at its ``r // n_chains``-th kept
    step. With ``n_replicas = R > 1`` every chain is a ladder of ``R`` replicas at temperatures
    ``T_k = T·(t_high/T)^{k/(R−1)}`` that attempt swaps of neighbouring rungs after every sweep
    (alternating even and odd pairs); only the rung at ``temperature`` is returned.

    **Convergence.** The kept draws are checked by rank-normalised split-R̂ of the energy and the
    magnetisation across chains (:func:`~iqpgen.datasets.convergence.chain_diagnostics`). While
    ``R̂ ≥ rhat_target`` the chains run on from where they are: each extension discards
    everything so far (it becomes burn-in), runs as many sweeps again, and draws anew with
    twice the thinning, until R̂ is below the target or ``max_sweeps`` would be exceeded; then
    a :class:`~iqpgen.datasets.convergence.ConvergenceWarning` gives the numbers. R̂ needs at
    least 2 chains and 4 draws per chain; with fewer it is not checked.

    The same key, inputs and library versions give the same samples. Compiled once per shape:
    the couplings are traced arrays, so new weights on a graph of the same shape reuse the
    compiled sampler.

    Args:
        J: couplings, symmetric with zero diagonal: a dense ``(n, n)`` array, or for sparse
            graphs a tuple ``(edges, weights)`` with ``edges`` an ``(m, 2)`` integer array listing
            each coupled pair once and ``weights`` shape ``(m,)``.
        h: fields, shape ``(n,)``; ``n = len(h)`` is the number of spins.
        n_samples: number of rows returned.
        key: JAX PRNG key, e.g. ``jax.random.key(0)``.
        temperature: ``T > 0``.
        burn_in: sweeps discarded before the first kept sample.
        thinning: sweeps between kept samples of one chain (``≥ 1``).
        n_chains: independent chains; default ``n_samples // 10`` (between 1 and 1,000), so that
            each chain gives about 10 draws for the diagnostics.
        method: ``"gibbs"`` (heat bath) or ``"metropolis"`` (single-spin flips), per colour class.
        n_replicas: rungs of the parallel-tempering ladder per chain; ``None`` or 1 turns it
            off. Each rung costs as much as one more chain.
        t_high: hottest rung; default the mean over spins of ``Σ_j |J_ij| + |h_i|`` (at least
            ``2·temperature``). Only used with ``n_replicas > 1``.
        rhat_target: run on until both R̂ are below this (default 1.01; with few chains or
            draws, below the level independent draws stay under, see
            :meth:`~iqpgen.datasets.convergence.Convergence.threshold`); ``None`` turns the
            check and the extensions off.
        max_sweeps: most sweeps a chain may run in all, burn-in included; default 16 times
            the first run's ``burn_in + thinning·draws``.
        return_diagnostics: also return the
            :class:`~iqpgen.datasets.convergence.Convergence` of the draws returned.

    Returns:
        ``uint8`` array of shape ``(n_samples, n)`` with entries 0/1 (bit 1 is spin +1); with
        ``return_diagnostics`` a pair ``(samples, diagnostics)``.

    Raises:
        ValueError: for non-positive or non-finite temperatures, asymmetric ``J``, a non-zero
            diagonal, shapes that do not match, non-finite couplings or fields.
        TypeError: for arguments of the wrong type, e.g. an integer instead of a key.

    Warns:
        ConvergenceWarning: R̂ stayed at or above the target within ``max_sweeps``; the message
            gives both R̂, the effective sample sizes and what to change.

    Example:
        >>> import jax, numpy as np
        >>> J = np.array([[0.0, 1.0], [1.0, 0.0]])  # two ferromagnetically coupled spins
        >>> x = sample_ising(J, np.zeros(2), n_samples=1000, key=jax.random.key(0))
        >>> x.shape, x.dtype
        ((1000, 2), dtype('uint8'))
        >>> bool((x[:, 0] == x[:, 1]).mean() > 0.8)  # aligned with probability 1/(1 + e^-2)
        True
    """
    key = _checks.check_key(key)
    n_samples = _checks.check_int("n_samples", n_samples, minimum=1)
    temperature = check_temperature("temperature", temperature)
    burn_in = _checks.check_int("burn_in", burn_in, minimum=0)
    thinning = _checks.check_int("thinning", thinning, minimum=1)
    if n_chains is None:
        n_chains = min(max(n_samples // 10, 1), 1000)
    n_chains = _checks.check_int("n_chains", n_chains, minimum=1)
    n_replicas = 1 if n_replicas is None else _checks.check_int("n_replicas", n_replicas, minimum=1)
    if method not in ("gibbs", "metropolis"):
        raise ValueError(f"method must be 'gibbs' or 'metropolis', got {method!r}.")
    n, i, j, w, h = parse_model(J, h)
    if n_replicas > 1:
        if t_high is None:
            t_high = max(coupling_strength(n, i, j, w, h), 2.0 * temperature)
        t_high = check_temperature("t_high", t_high)
        if t_high <= temperature:
            raise ValueError(
                f"t_high must exceed temperature ({temperature}), got {t_high}; the ladder runs "
                "from temperature up to t_high."
            )
        temps = temperature * (t_high / temperature) ** (np.arange(n_replicas) / (n_replicas - 1))
    elif t_high is not None:
        raise ValueError("t_high is only used with parallel tempering; also pass n_replicas > 1.")
    else:
        temps = np.array([temperature])
    if rhat_target is not None:
        rhat_target = _checks.check_number("rhat_target", rhat_target, low=1.0)
    tables = _build_tables(n, i, j, w, h, dense=None)
    n_keep = -(-n_samples // n_chains)
    sweeps = burn_in + n_keep * thinning
    max_sweeps = (
        16 * sweeps
        if max_sweeps is None
        else _checks.check_int("max_sweeps", max_sweeps, minimum=sweeps)
    )
    betas = jnp.asarray(1.0 / temps, dtype=jnp.float32)
    run = functools.partial(
        _run, tables, betas, n_chains=n_chains, n_keep=n_keep, metropolis=method == "metropolis"
    )
    k_init, k_run = jax.random.split(key)
    state = _initial_state(tables, k_init, n_replicas * n_chains)
    edges = np.stack([i, j], axis=1)
    out, state = run(jax.random.fold_in(k_run, 0), state, burn_in, thinning)
    diag = chain_diagnostics(np.asarray(out), edges, w, h, sweeps=sweeps)
    extension = 0
    while rhat_target is not None and diag.diagnosable and not diag.converged(rhat_target):
        thin = thinning * 2 ** (extension + 1)
        if 2 * sweeps + n_keep * thin > max_sweeps:
            warn_unconverged(
                diag,
                rhat_target,
                f"raise burn_in, thinning or max_sweeps (now {max_sweeps}), or add parallel "
                "tempering (n_replicas > 1) if chains sit in different modes.",
            )
            break
        extension += 1
        out, state = run(jax.random.fold_in(k_run, extension), state, sweeps, thin)
        sweeps = 2 * sweeps + n_keep * thin
        diag = chain_diagnostics(np.asarray(out), edges, w, h, sweeps=sweeps)
    samples = np.asarray(out).reshape(n_keep * n_chains, n)[:n_samples]
    return (samples, diag) if return_diagnostics else samples


def ising_energy(x: Any, J: Any, h: Any) -> np.ndarray:
    """Energies ``E(s) = −½ sᵀJs − h·s`` of bit rows ``x`` (``s = 2x − 1``), in float64.

    Args:
        x: 0/1 array of shape ``(n_samples, n)``.
        J: couplings, dense ``(n, n)`` or ``(edges, weights)`` as in :func:`sample_ising`.
        h: fields, shape ``(n,)``.

    Returns:
        ``float64`` array of shape ``(n_samples,)``.

    Example:
        >>> import numpy as np
        >>> J = np.array([[0.0, 1.0], [1.0, 0.0]])
        >>> ising_energy(np.array([[1, 1], [0, 1]]), J, np.zeros(2))
        array([-1.,  1.])
    """
    n, i, j, w, h = parse_model(J, h)
    x = _checks.check_binary_matrix("x", x, min_rows=0, what="samples")
    if x.shape[1] != n:
        raise ValueError(f"x has {x.shape[1]} columns but the model has n = len(h) = {n} spins.")
    s = 2.0 * x.astype(np.float64) - 1.0
    return -(s[:, i] * s[:, j]) @ w - s @ h
