r"""Monte Carlo estimates of Z expectation values of IQP circuits.

For an operator :math:`Z_a` (``a`` a 0/1 vector marking its qubits)

.. math::

    \langle Z_a\rangle = \mathbb{E}_{z\sim U\{0,1\}^n}
        \cos\Big(\sum_k 2\theta_k \sum_{g\in G_k} [a\cdot g\ \mathrm{odd}]\,(-1)^{z\cdot g}\Big).

The estimate averages the cosine over ``n_samples`` draws of ``z`` shared by all operators;
it is unbiased and its standard error is the sample standard deviation over
``sqrt(n_samples)``. With ``spin_sym`` the same formula holds with ``z`` drawn uniformly
among even-weight strings, times ``[|a| even]``.

Two code paths compute the phase inside the cosine:

* **generic**: parities of every generator against every operator, contracted with the
  signs ``(-1)^{z·g}`` (any generator weight);
* **pairwise** (all generators of weight 1 or 2): with ``h_i = 2θ`` on singles, ``J_ij = 2θ``
  on pairs and ``s = (-1)^z``, the phase is
  ``Σ_{i∈A} s_i (h_i + (J s)_i) − s_Aᵀ J_AA s_A``: one dense product ``J·S`` shared by every
  operator and a small ``|A|×|A|`` block per operator. Sparse layouts sum ``J s`` over their
  edges and, when large, look the block entries up in their pair generators: no ``n × n``
  matrix.

:func:`expval` picks the pairwise path when it applies. Operators are handled as padded
support lists, in chunks; the chunk size changes memory only, never the random numbers.
"""

# One module per concept: sampling (signs and supports), pairwise and generic (the phase
# builders; the table path is iqpgen.walsh), trig (polynomial cosines), core (moments over the
# samples on any path, and the public expval functions).
from .core import (
    PATHS,
    VARIANCE_REDUCTIONS,
    Estimate,
    antithetic_applies,
    auto_chunk,
    check_variance_reduction,
    estimate_from_moments,
    expval,
    expval_generic,
    expval_pairwise,
    expval_phase_table,
    moments,
    moments_from_signs,
    single_field,
)
from .pairwise import couplings, dense_ops, field_terms
from .sampling import draw_signs, supports_from_ops

__all__ = [
    "Estimate",
    "expval",
    "expval_generic",
    "expval_pairwise",
    "expval_phase_table",
    "PATHS",
    "VARIANCE_REDUCTIONS",
    "antithetic_applies",
    "check_variance_reduction",
    "single_field",
    "draw_signs",
    "supports_from_ops",
    "moments_from_signs",
    "moments",
    "estimate_from_moments",
    "auto_chunk",
    "couplings",
    "dense_ops",
    "field_terms",
]
