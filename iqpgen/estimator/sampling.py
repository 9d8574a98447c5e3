"""Circuit samples as signs, and operators as padded support lists."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["draw_signs", "supports_from_ops"]


# ---------------------------------------------------------------------------- sampling
def draw_signs(key: jax.Array, n_samples: int, n_qubits: int, spin_sym: bool, dtype) -> jax.Array:
    """Signs ``s = (-1)^z`` for ``n_samples`` uniform bitstrings, shape ``(n_qubits, n_samples)``.

    With ``spin_sym`` the strings are uniform among those of even weight (the last bit is the
    parity of the others). The same key always gives the same signs, whatever the chunking.
    """
    # 32 fair bits from each random word: cheaper than one draw per bit.
    words = jax.random.bits(key, (n_qubits, -(-n_samples // 32)), jnp.uint32)
    bits = (words[:, :, None] >> jnp.arange(32, dtype=jnp.uint32)) & 1
    z = bits.reshape(n_qubits, -1)[:, :n_samples].astype(bool)
    if spin_sym:
        parity = jnp.bitwise_xor.reduce(z[:-1].astype(jnp.uint8), axis=0).astype(bool)
        z = z.at[-1].set(parity if n_qubits > 1 else False)
    return (1 - 2 * z.astype(jnp.int8)).astype(dtype)


def supports_from_ops(ops: np.ndarray, n_qubits: int, width: int | None = None) -> np.ndarray:
    """Padded support lists of 0/1 rows: ``(n_ops, width)`` int32, padded with ``n_qubits``."""
    weights = ops.sum(axis=1)
    if width is None:
        width = max(int(weights.max(initial=0)), 1)
    order = np.argsort(ops == 0, axis=1, kind="stable")[:, :width]
    supp = np.where(np.arange(width)[None, :] < weights[:, None], order, n_qubits)
    return supp.astype(np.int32)


def traced_supports(ops: jax.Array, n_qubits: int) -> jax.Array:
    return jax.vmap(lambda a: jnp.nonzero(a, size=n_qubits, fill_value=n_qubits)[0])(ops)
