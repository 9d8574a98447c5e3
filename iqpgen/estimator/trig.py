"""Cosines and sines of float32 phases by polynomials (faster than XLA's CPU ``cos``)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = []

# cos and sin of float32 phases by polynomials: XLA's CPU cos/sin call libm once per element,
# about 6 ns each against under 1 ns here, and a step takes a million of each. The argument
# is reduced by k·π/2 with π/2 in three parts (the first two short enough that k times them is
# exact for |x| < 12,800), then least-squares fits on [-π/4, π/4] (error below 3e-9). Far
# beyond that the reduction loses digits as fast as x's own float32 ulp grows (above 10^7 it
# is noise, clipped to [-1, 1], as x itself then holds no digits below ±1).
_HALF_PI = (1.5703125, 4.837512969970703e-4, 7.549790126404332e-8)
_SIN = (-0.16666655, 8.3322e-3, -1.952e-4)
_COS = (4.16666468e-2, -1.3887365e-3, 2.44382321e-5)


def sincos(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(cos x, sin x)``: polynomials for float32, ``jnp.cos``/``jnp.sin`` otherwise."""
    if x.dtype != jnp.float32:
        return jnp.cos(x), jnp.sin(x)
    k = jnp.round(x * np.float32(2 / np.pi))
    r = x
    for part in _HALF_PI:
        r = r - k * np.float32(part)
    r2 = r * r
    s = r + r * r2 * (_SIN[0] + r2 * (_SIN[1] + r2 * _SIN[2]))
    c = 1 - r2 / 2 + r2 * r2 * (_COS[0] + r2 * (_COS[1] + r2 * _COS[2]))
    q = k.astype(jnp.int32)  # x = r + q π/2: quadrant q mod 4 picks and signs c and s
    odd = (q & 1) == 1
    cos = jnp.where(odd, s, c) * jnp.where(((q + 1) & 2) == 2, -1, 1).astype(x.dtype)
    sin = jnp.where(odd, c, s) * jnp.where((q & 2) == 2, -1, 1).astype(x.dtype)
    return jnp.clip(cos, -1, 1), jnp.clip(sin, -1, 1)


@jax.custom_jvp
def cos(x: jax.Array) -> jax.Array:
    return sincos(x)[0]


@cos.defjvp
def _cos_jvp(primals, tangents):
    c, s = sincos(primals[0])
    return c, -s * tangents[0]
