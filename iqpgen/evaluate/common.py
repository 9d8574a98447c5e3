"""What the evaluation functions share: how a model is evaluated (its kind), and drawing samples
from models that have a ``sample`` method."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from .. import _checks, baselines
from ..baselines.common import MmdBaseline
from ..model import IqpModel

__all__ = [
    "model_kind",
    "n_features",
    "seed_of",
    "draw_samples",
    "sample_groups",
    "DRAW_TAG",
]

#: ``fold_in`` tag of the key that draws a sampled model's samples (repeats use tags 0, 1, ...).
DRAW_TAG = 2**31 - 1


def model_kind(model: Any) -> str:
    """'iqp', 'exact' (exact expectations), 'samples' (an array) or 'sampler'."""
    if isinstance(model, IqpModel):
        model.check_fitted()
        return "iqp"
    if isinstance(model, baselines.IndependentBits | baselines.BitflipModel):
        model.check_fitted()
        return "exact"
    if _checks.is_tabular(model):  # arrays, DataFrames, sparse matrices: never a model
        return "samples"
    if callable(getattr(model, "sample", None)):
        if isinstance(model, MmdBaseline):
            model.check_fitted()
        return "sampler"
    raise TypeError(
        f"model must be an IqpModel, an iqpgen baseline, an object with a sample(n_samples, "
        f"random_state=...) method or a 0/1 matrix of samples, got {type(model).__name__}."
    )


def n_features(model: Any) -> int | None:
    """The fitted width of a model (``None`` for sample matrices)."""
    return getattr(model, "n_features_in_", None)


def seed_of(key: jax.Array) -> int:
    """An int seed derived from a key, for models that take ``random_state`` ints."""
    return int(jax.random.randint(key, (), 0, np.iinfo(np.int32).max))


def draw_samples(model: Any, n_samples: int, key: jax.Array) -> np.ndarray:
    """``model.sample(n_samples, random_state=...)``, checked to be a 0/1 matrix."""
    samples = model.sample(n_samples, random_state=seed_of(key))
    return _checks.check_binary_matrix("samples", samples, min_rows=1)


def sample_groups(
    model: Any, kind: str, n: int, n_groups: int, n_draw: int, key: jax.Array
) -> list[np.ndarray]:
    """The samples of a sampled model (``kind`` ``"samples"``: the matrix itself; otherwise
    ``n_draw`` rows drawn with ``fold_in(key, DRAW_TAG)``), checked to be ``n`` bits wide and
    split into ``n_groups`` groups of at least 2 rows."""
    if kind == "samples":
        samples = _checks.check_binary_matrix("model", model, n_cols=n, min_rows=1)
        if samples.shape[0] < 2 * n_groups:
            raise ValueError(
                f"model (a sample matrix) has {samples.shape[0]} rows; {n_groups} groups need "
                "at least 2 rows each."
            )
    else:
        samples = draw_samples(model, n_draw, jax.random.fold_in(key, DRAW_TAG))
        if samples.shape != (n_draw, n):
            raise ValueError(
                f"model.sample returned shape {samples.shape}; expected ({n_draw}, {n})."
            )
    return np.array_split(samples, n_groups)
