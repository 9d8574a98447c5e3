"""The generic path: phases by explicit generator parities, for any generator weight."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = []

# Elements of (operators x generators x width) per generator chunk on the generic path.
_GEN_CHUNK_ELEMENTS = 1 << 23


def generic_phases(circuit, params, st, a_dense):
    """Phases ``(n_ops, N)`` by explicit generator parities, chunked over generators."""
    n = circuit.n_qubits
    n_ops, n_samples = a_dense.shape[0], st.shape[1]
    sp1 = jnp.concatenate([st, jnp.ones((1, n_samples), st.dtype)])
    a_pad = jnp.concatenate([a_dense, jnp.zeros((n_ops, 1), a_dense.dtype)], axis=1)
    gens = circuit.generators
    w = gens.shape[1]
    g_chunk = max(1, min(gens.shape[0], _GEN_CHUNK_ELEMENTS // max(1, (n_ops + n_samples) * w)))
    n_chunks = -(-gens.shape[0] // g_chunk)
    pad = n_chunks * g_chunk - gens.shape[0]
    gens_p = jnp.concatenate([gens, jnp.full((pad, w), n, gens.dtype)])
    ang = 2 * params[circuit.gate_of]
    ang_p = jnp.concatenate([ang, jnp.zeros((pad,), ang.dtype)]).reshape(n_chunks, g_chunk)

    @jax.checkpoint
    def body(acc, chunk):
        g, a = chunk
        parity = jnp.sum(a_pad[:, g], axis=-1) % 2  # (n_ops, g_chunk)
        signs = jnp.prod(sp1[g], axis=1)  # (g_chunk, N)
        return acc + (parity * a) @ signs, None

    init = jnp.zeros((n_ops, n_samples), st.dtype)
    acc, _ = jax.lax.scan(body, init, (gens_p.reshape(n_chunks, g_chunk, w), ang_p))
    return acc
