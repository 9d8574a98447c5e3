"""A functional training loop over any optax optimizer.

Steps run in compiled chunks (a ``lax.fori_loop`` of up to ``chunk_size`` steps, one program
whatever the number of steps left). The key of step ``t`` is ``fold_in(key, t)``, so a run
interrupted after any step and resumed from its checkpoint ends with exactly the numbers of an
uninterrupted run (same key, versions and sizes). Validation losses drive early
stopping; checkpoints are written atomically.

Example:
    >>> import jax, jax.numpy as jnp, optax, iqpgen
    >>> loss = lambda p, key: jnp.sum((p - 1.0) ** 2)
    >>> res = iqpgen.train.run(loss, jnp.zeros(3), optax.adam(0.1), key=jax.random.key(0),
    ...                        n_steps=200, verbose=False)
    >>> bool(res.history.loss[-1] < 1e-2)
    True
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from . import _checks
from .io import atomic_savez

__all__ = [
    "TrainState",
    "History",
    "TrainResult",
    "NoImprovementWarning",
    "run",
    "save_checkpoint",
    "load_checkpoint",
]

CHECKPOINT_FORMAT = 1


class NoImprovementWarning(UserWarning):
    """Training never improved the validation loss on its starting parameters."""


class TrainState(NamedTuple):
    """The loop's carry: parameters, optimizer state and the index of the next step."""

    params: jax.Array
    opt_state: Any
    step: jax.Array


class History(NamedTuple):
    """What happened: training loss per step, validation loss at each check, the step whose
    parameters were kept (the best validation loss, else the last step)."""

    loss: np.ndarray
    val_step: np.ndarray
    val_loss: np.ndarray
    best_step: int
    stopped_early: bool
    seconds: float

    @property
    def improved(self) -> bool | None:
        """Whether some validation check beat the first one (None with fewer than two)."""
        if len(self.val_loss) < 2:
            return None
        return bool(np.min(self.val_loss[1:], initial=np.inf) < self.val_loss[0])

    def summary(self) -> str:
        """One line: steps, time, and the validation loss from the start to the step kept."""
        line = f"{len(self.loss)} steps in {self.seconds:.1f} s"
        if self.stopped_early:
            line += " (stopped early)"
        if len(self.val_loss):
            line += (
                f"; validation loss {float(self.val_loss[0]):.4g} at step {int(self.val_step[0])}"
            )
            steps = list(self.val_step)
            if self.best_step in steps:
                best = float(self.val_loss[steps.index(self.best_step)])
                line += f", {best:.4g} at step {self.best_step} (kept)"
            else:
                line += f", {float(self.val_loss[-1]):.4g} at step {int(steps[-1])}; last kept"
        elif len(self.loss):
            line += f"; last training loss {float(self.loss[-1]):.4g}"
        return line


class TrainResult(NamedTuple):
    """What :func:`run` returns: the parameters to keep (the best by validation loss when a
    validation function is given, else the last), the final loop state, and the history."""

    params: jax.Array
    state: TrainState
    history: History


@functools.lru_cache(maxsize=16)
def _make_chunk(loss_fn: Callable, optimizer: Any, size: int):
    """One compiled chunk of up to ``size`` steps; the number of steps is an argument, so a
    shorter last chunk reuses the compiled program."""
    import optax

    def body(state: TrainState, key, args):
        k = jax.random.fold_in(key, state.step)
        loss, grads = jax.value_and_grad(loss_fn)(state.params, k, *args)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        return TrainState(params, opt_state, state.step + 1), loss

    def chunk(state, key, args, length):
        def step(i, carry):
            s, losses = carry
            s, loss = body(s, key, args)
            return s, losses.at[i].set(loss)

        losses = jnp.full((size,), jnp.nan, jnp.result_type(float))
        return jax.lax.fori_loop(0, length, step, (state, losses))

    return jax.jit(chunk, donate_argnums=(0,))


# ------------------------------------------------------------------ checkpoints
def save_checkpoint(
    path: str, state: TrainState, history: dict, meta: dict, best_params: Any = None
) -> None:
    """Write ``state`` (params, optimizer state, step), the history so far and the best
    parameters seen by validation, atomically."""
    leaves = jax.tree_util.tree_leaves((state.params, state.opt_state))
    arrays = {f"leaf_{i}": np.asarray(x) for i, x in enumerate(leaves)}
    if best_params is not None:
        for i, x in enumerate(jax.tree_util.tree_leaves(best_params)):
            arrays[f"best_{i}"] = np.asarray(x)
    info = dict(meta, format=CHECKPOINT_FORMAT, n_leaves=len(leaves), step=int(state.step))
    atomic_savez(
        path,
        meta=np.array(json.dumps(info)),
        loss=np.asarray(history["loss"], np.float64),
        val_step=np.asarray(history["val_step"], np.int64),
        val_loss=np.asarray(history["val_loss"], np.float64),
        **arrays,
    )


def load_checkpoint(path: str, template: TrainState, meta: dict) -> tuple[TrainState, dict, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` into the structure of ``template``.

    Returns the state, the history lists and the best parameters (or None).
    """
    try:
        with np.load(path, allow_pickle=False) as f:
            info = json.loads(str(f["meta"]))
            leaves = [f[f"leaf_{i}"] for i in range(int(info["n_leaves"]))]
            hist = {k: f[k].tolist() for k in ("loss", "val_step", "val_loss")}
            n_best = len(jax.tree_util.tree_leaves(template.params))
            best = [f[f"best_{i}"] for i in range(n_best)] if "best_0" in f.files else None
    except FileNotFoundError:
        raise
    except Exception as err:
        raise ValueError(
            f"checkpoint {path!r} is unreadable or corrupt ({err}); delete it to start afresh."
        ) from err
    if info.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"checkpoint {path!r} has format {info.get('format')}, expected 1.")
    for k, v in meta.items():
        if info.get(k) != v:
            raise ValueError(
                f"checkpoint {path!r} belongs to another run ({k}={info.get(k)!r}, this run "
                f"has {v!r}); use another checkpoint path or delete the file."
            )
    tmpl_leaves, treedef = jax.tree_util.tree_flatten((template.params, template.opt_state))
    if len(leaves) != len(tmpl_leaves) or any(
        a.shape != np.shape(b) for a, b in zip(leaves, tmpl_leaves, strict=True)
    ):
        raise ValueError(f"checkpoint {path!r} does not match this model's shapes.")
    leaves = [
        jnp.asarray(a, dtype=jnp.result_type(b)) for a, b in zip(leaves, tmpl_leaves, strict=True)
    ]
    params, opt_state = jax.tree_util.tree_unflatten(treedef, leaves)
    if best is not None:
        p_def = jax.tree_util.tree_structure(template.params)
        best = jax.tree_util.tree_unflatten(p_def, [jnp.asarray(b) for b in best])
    return TrainState(params, opt_state, jnp.asarray(info["step"], jnp.int32)), hist, best


# --------------------------------------------------------------------- the loop
def run(
    loss_fn: Callable[..., jax.Array],
    params: jax.Array,
    optimizer: Any,
    *,
    key: jax.Array,
    n_steps: int,
    args: tuple = (),
    val_fn: Callable[..., jax.Array] | None = None,
    val_args: tuple = (),
    val_every: int = 50,
    patience: int | None = None,
    chunk_size: int = 50,
    checkpoint: str | None = None,
    checkpoint_every: int = 100,
    checkpoint_meta: dict | None = None,
    callback: Callable[[int, Any], None] | None = None,
    verbose: bool = True,
) -> TrainResult:
    """Minimise ``loss_fn(params, key, *args)`` with an optax optimizer.

    Args:
        loss_fn: scalar loss; ``args`` are passed through as traced arguments (pass data and
            circuits here rather than closing over them, so they are not compiled in).
        params: initial parameters (any pytree of arrays).
        optimizer: an ``optax.GradientTransformation``.
        key: JAX key; step ``t`` uses ``fold_in(key, t)``.
        n_steps: total number of steps (a resumed run counts the steps already done).
        val_fn: optional ``val_fn(params, *val_args)`` evaluated at the start and every
            ``val_every`` steps (rounded up to whole chunks); the parameters with the best
            validation loss are returned, which may be the starting ones.
        patience: stop when the monitored loss (validation if given, else the mean training
            loss of each chunk) has not improved for this many steps.
        chunk_size: steps per compiled chunk (changes speed and progress granularity only).
        checkpoint: path of an ``.npz`` checkpoint; if it exists the run resumes from it.
        checkpoint_every: steps between checkpoints (rounded up to whole chunks).
        checkpoint_meta: JSON-able facts a checkpoint must match to be resumed.
        callback: ``callback(step, params)`` after every chunk, for monitoring; the time it
            takes is not counted in ``History.seconds``.
        verbose: tqdm progress bar on a terminal.

    Returns:
        :class:`TrainResult` ``(params, state, history)``.
    """
    import optax  # noqa: F401  (fail early if missing)

    key = _checks.check_key(key)
    n_steps = _checks.check_int("n_steps", n_steps, minimum=0)
    chunk_size = _checks.check_int("chunk_size", chunk_size, minimum=1)
    val_every = _checks.check_int("val_every", val_every, minimum=1)
    checkpoint_every = _checks.check_int("checkpoint_every", checkpoint_every, minimum=1)
    if patience is not None:
        patience = _checks.check_int("patience", patience, minimum=1)
    if not hasattr(optimizer, "init") or not hasattr(optimizer, "update"):
        raise TypeError(f"optimizer must be an optax GradientTransformation, got {optimizer!r}.")

    # Chunks donate their input state; work on a copy so the caller's arrays stay valid.
    params = jax.tree_util.tree_map(jnp.array, params)
    state = TrainState(params, optimizer.init(params), jnp.asarray(0, jnp.int32))
    hist: dict[str, list] = {"loss": [], "val_step": [], "val_loss": []}
    meta = dict(checkpoint_meta or {})
    best_params = None
    if checkpoint is not None and os.path.exists(checkpoint):
        state, hist, best_params = load_checkpoint(checkpoint, state, meta)
    val_jit = jax.jit(val_fn) if val_fn is not None else None

    best: tuple[float, int, Any] = (np.inf, int(state.step), None)
    if val_jit is not None and not hist["val_step"]:
        # The starting parameters are a candidate too: training that only makes the
        # validation loss worse returns them.
        v = float(val_jit(state.params, *val_args))
        hist["val_step"].append(int(state.step))
        hist["val_loss"].append(v)
        best_params = jax.tree_util.tree_map(jnp.array, state.params)
    for s, v in zip(hist["val_step"], hist["val_loss"], strict=True):
        if v < best[0]:
            best = (v, s, best_params)
    stopped = False
    t0 = time.perf_counter()
    show = verbose and sys.stderr.isatty()
    from tqdm.auto import tqdm

    bar = tqdm(total=n_steps, initial=int(state.step), disable=not show, unit="step")
    last_ckpt = last_val = int(state.step)
    try:
        while int(state.step) < n_steps and not stopped:
            length = min(chunk_size, n_steps - int(state.step))
            state, losses = _make_chunk(loss_fn, optimizer, chunk_size)(
                state, key, args, jnp.int32(length)
            )
            losses = np.asarray(losses, np.float64)[:length]
            hist["loss"].extend(losses.tolist())
            step = int(state.step)
            bar.update(length)
            monitored = None
            if val_jit is not None and (step - last_val >= val_every or step == n_steps):
                last_val = step
                v = float(val_jit(state.params, *val_args))
                hist["val_step"].append(step)
                hist["val_loss"].append(v)
                monitored = v
                bar.set_postfix(loss=f"{losses.mean():.3g}", val=f"{v:.3g}")
            elif val_jit is None:
                monitored = float(losses.mean())
                bar.set_postfix(loss=f"{monitored:.3g}")
            if monitored is not None:
                if not np.isfinite(monitored):
                    raise FloatingPointError(
                        f"the loss became {monitored} at step {step}; lower the learning rate."
                    )
                if monitored < best[0]:
                    kept = jax.tree_util.tree_map(jnp.array, state.params) if val_jit else None
                    best = (monitored, step, kept)
                elif patience is not None and step - best[1] >= patience:
                    stopped = True
            if checkpoint is not None and (step - last_ckpt >= checkpoint_every or step == n_steps):
                last_ckpt = step
                save_checkpoint(checkpoint, state, hist, meta, best[2])
            if callback is not None:
                t_cb = time.perf_counter()
                callback(step, state.params)
                t0 += time.perf_counter() - t_cb
    finally:
        bar.close()
    params_out = best[2] if (val_jit is not None and best[2] is not None) else state.params
    history = History(
        loss=np.asarray(hist["loss"]),
        val_step=np.asarray(hist["val_step"], np.int64),
        val_loss=np.asarray(hist["val_loss"]),
        best_step=int(best[1]) if val_jit is not None else int(state.step),
        stopped_early=stopped,
        seconds=time.perf_counter() - t0,
    )
    return TrainResult(params_out, state, history)
