"""Validation at the public boundary: clear errors that name the argument and say what to do."""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .circuit import IqpCircuit


def one_line(text: Any) -> str:
    """An error's text on one line (for messages that quote another error)."""
    return " ".join(part.strip() for part in str(text).splitlines() if part.strip())


def is_concrete(x: Any) -> bool:
    return not isinstance(x, jax.core.Tracer)


def check_circuit(circuit: Any) -> IqpCircuit:
    if not isinstance(circuit, IqpCircuit):
        raise TypeError(
            f"circuit must be an iqpgen.IqpCircuit, got {type(circuit).__name__}; build one "
            "with iqpgen.IqpCircuit(n_qubits, gates)."
        )
    return circuit


def check_int(name: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r}).")
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}.")
    return int(value)


def check_number(name: str, value: Any, *, low: float, low_open: bool = True, high=None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {value!r}.")
    v = float(value)
    bad = not math.isfinite(v) or (v <= low if low_open else v < low)
    if high is not None and v >= high:
        bad = True
    if bad:
        rng = f"({low}, {high})" if high is not None else (f"> {low}" if low_open else f">= {low}")
        raise ValueError(f"{name} must be {rng}, got {value!r}.")
    return v


def refuse_unused(owner: Any, names: tuple[str, ...], why: str) -> None:
    """A ``ValueError`` for the first of ``names`` that is set away from its default in
    ``type(owner).__init__`` where another option makes it unused (``why`` says so), instead
    of accepting and ignoring it."""
    import inspect

    params = inspect.signature(type(owner).__init__).parameters
    for name in names:
        value, default = getattr(owner, name), params[name].default
        try:
            same = value is default or (not hasattr(value, "shape") and bool(value == default))
        except (TypeError, ValueError):
            same = False
        if not same:
            raise ValueError(f"{name}={value!r} is not used: {why} (leave {name} at {default!r}).")


def check_key(key: Any, name: str = "key") -> jax.Array:
    if key is None:
        raise TypeError(f"{name} is required: pass a JAX key, e.g. {name}=jax.random.key(0).")
    if isinstance(key, int | np.integer):
        raise TypeError(
            f"{name} must be a JAX PRNG key, got the int {key}; use jax.random.key({key})."
        )
    if isinstance(key, jax.Array) and jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return key
    arr = jnp.asarray(key)
    if arr.dtype == jnp.uint32 and arr.shape == (2,):
        return jax.random.wrap_key_data(arr)
    raise TypeError(f"{name} must be a JAX PRNG key (jax.random.key(seed)), got {key!r}.")


def float_dtype(params: Any) -> jnp.dtype:
    """float64 when params are float64 (and x64 is enabled), else float32."""
    dt = jnp.result_type(params)
    if jnp.issubdtype(dt, jnp.floating) and jnp.finfo(dt).bits == 64:
        return jnp.dtype(jnp.float64) if jax.config.jax_enable_x64 else jnp.dtype(jnp.float32)
    return jnp.dtype(jnp.float32)


def check_params(circuit: IqpCircuit, params: Any) -> jax.Array:
    if isinstance(params, list | tuple):
        params = np.asarray(params)
    shape = getattr(params, "shape", None)
    if shape is None:
        raise TypeError(f"params must be an array of shape ({circuit.n_params},), got {params!r}.")
    if tuple(shape) != (circuit.n_params,):
        raise ValueError(
            f"params has shape {tuple(shape)} but the circuit has {circuit.n_params} gates; "
            f"pass one angle per gate, shape ({circuit.n_params},)."
        )
    dt = jnp.result_type(params)
    if not (jnp.issubdtype(dt, jnp.floating) or jnp.issubdtype(dt, jnp.integer)):
        raise TypeError(f"params must hold real numbers, got dtype {dt}.")
    if is_concrete(params) and not np.isfinite(np.asarray(params)).all():
        raise ValueError("params contains NaN or infinity; check the optimiser's learning rate.")
    return jnp.asarray(params, dtype=float_dtype(params))


def is_tabular(x: Any) -> bool:
    """Whether ``x`` is data (an array, a DataFrame, a sparse matrix, anything with
    ``__array__``) rather than a model."""
    return isinstance(x, np.ndarray | list | tuple) or hasattr(x, "__array__") or _is_sparse(x)


def _is_sparse(x: Any) -> bool:
    import scipy.sparse

    return scipy.sparse.issparse(x)


def as_array(name: str, x: Any) -> np.ndarray:
    """A NumPy array from an array, a pandas DataFrame (numeric or boolean columns), a SciPy
    sparse matrix (made dense) or anything else with ``__array__``."""
    if _is_sparse(x):
        if x.ndim != 2:
            raise ValueError(f"{name} must be a 2-D sparse matrix, got {x.ndim}-D.")
        return np.asarray(x.toarray())
    if isinstance(x, np.ndarray):
        return x
    if not hasattr(x, "__array__"):
        raise TypeError(
            f"{name} must be a 2-D array of 0/1 values (a NumPy array, a pandas DataFrame, a SciPy "
            f"sparse matrix or a list of rows), got {type(x).__name__}."
        )
    dtypes = getattr(x, "dtypes", None)  # a DataFrame: one dtype per column
    if dtypes is not None and not isinstance(dtypes, np.dtype):
        cols = list(getattr(x, "columns", range(len(dtypes))))
        bad = [
            str(c)
            for c, dt in zip(cols, dtypes, strict=True)
            if getattr(dt, "kind", "O") not in "biuf"
        ]
        if bad:
            raise TypeError(
                f"{name} must hold numbers 0/1 or booleans; column(s) {', '.join(bad[:5])} "
                "do not. Convert them first, e.g. X.astype('uint8')."
            )
        if not all(isinstance(dt, np.dtype) for dt in dtypes):  # nullable columns: NA -> NaN
            return np.asarray(x.to_numpy(dtype=np.float64, na_value=np.nan))
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} could not be read as an array of 0/1 values: {one_line(err)}"
        ) from err


def feature_names(x: Any) -> np.ndarray | None:
    """Column names of a DataFrame whose names are all strings (as scikit-learn keeps them),
    else None."""
    cols = getattr(x, "columns", None)
    if cols is None or _is_sparse(x):
        return None
    names = list(cols)
    if not names or not all(isinstance(c, str) for c in names):
        return None
    return np.asarray(names, dtype=object)


def check_rows(owner: Any, name: str, X: Any, *, min_rows: int = 2) -> np.ndarray:
    """A model's input rows, the scikit-learn way: before the model is fitted (in ``fit``) the
    column names of a DataFrame are recorded as ``owner.feature_names_in_``; afterwards ``X``
    must have the fitted number of columns and, if it has names, the fitted names in order."""
    names = feature_names(X)
    arr = check_binary_matrix(name, X, min_rows=min_rows, what="rows")
    n = getattr(owner, "n_features_in_", None)
    if n is None:  # fitting
        if names is None:
            owner.__dict__.pop("feature_names_in_", None)
        else:
            owner.feature_names_in_ = names
        return arr
    if arr.shape[1] != n:
        raise ValueError(f"{name} has {arr.shape[1]} columns but the model was fitted on {n}.")
    fitted = getattr(owner, "feature_names_in_", None)
    if names is not None and fitted is not None and list(names) != list(fitted):
        raise ValueError(
            f"{name}'s column names differ from those seen in fit ({', '.join(fitted[:5])}"
            f"{', ...' if len(fitted) > 5 else ''}); select them in order, "
            f"e.g. {name}[model.feature_names_in_]."
        )
    return arr


def check_binary_matrix(
    name: str, x: Any, *, n_cols: int | None = None, min_rows: int = 1, what: str = "rows"
) -> Any:
    """A 2-D 0/1 matrix; returns a NumPy uint8 array (or the tracer unchanged)."""
    if isinstance(x, jax.core.Tracer):
        if x.ndim != 2 or (n_cols is not None and x.shape[1] != n_cols):
            raise ValueError(f"{name} must have shape (n, {n_cols}), got {x.shape}.")
        return x
    if isinstance(x, list | tuple):
        try:
            x = np.asarray(x)
        except ValueError as err:
            raise ValueError(f"{name} must be a rectangular 2-D array of 0/1 values.") from err
    x = as_array(name, x)
    if x.dtype == object or not (
        np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must hold numbers 0/1, got dtype {x.dtype}.")
    if x.ndim != 2:
        hint = " (for one row use x[None, :])" if x.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (n_{what}, n_qubits), got shape {x.shape}{hint}.")
    if n_cols is not None and x.shape[1] != n_cols:
        raise ValueError(f"{name} has {x.shape[1]} columns but the circuit has {n_cols} qubits.")
    if x.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} {what}, got {x.shape[0]}.")
    if np.issubdtype(x.dtype, np.floating) and np.isnan(x).any():
        raise ValueError(f"{name} contains NaN; remove or impute the missing values first.")
    if x.dtype == np.bool_ or x.size == 0:
        binary = True
    elif x.dtype == np.uint8:  # the form every check returns: one pass, no temporaries
        binary = x.max() <= 1
    else:
        binary = np.isin(x, (0, 1)).all()
    if not binary:
        if np.isin(x, (-1, 1)).all():
            raise ValueError(
                f"{name} holds ±1 spins; iqpgen expects 0/1 bits. Convert with (1 - x) // 2 "
                "(spin +1 -> 0) or (x + 1) // 2 (spin +1 -> 1)."
            )
        bad = x[~np.isin(x, (0, 1))].ravel()[0].item()
        raise ValueError(f"{name} must hold only 0 and 1, found {bad!r}.")
    return x.astype(np.uint8)


def key_from(random_state: Any) -> jax.Array:
    """A JAX key from a ``random_state``: None (fresh entropy), an int seed >= 0 or a key."""
    if random_state is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
        return jax.random.key(seed)
    if isinstance(random_state, int | np.integer) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be >= 0, got {random_state}.")
        return jax.random.key(int(random_state))
    try:
        return check_key(random_state, "random_state")
    except TypeError:
        raise TypeError(
            f"random_state must be None, an int seed or a JAX key, got {random_state!r}."
        ) from None
