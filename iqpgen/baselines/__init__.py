r"""Classical models to compare a trained IQP model with, as scikit-learn style estimators.

* :class:`IndependentBits`: the product of the data's marginals. Its expectation values are
  exact, :math:`\langle Z_a\rangle = \prod_{i\in a}(1-2p_i)`, and so is its sampling.
* :class:`Uniform`: uniformly random bits (the paper's "Random" row), exact as well.
* :class:`BitflipModel`: the classical counterpart of an IQP circuit (see
  :mod:`iqpgen.bitflip`): the same gates, each flipping the bits of its generators with
  probability :math:`\sin^2\theta_k`. It is trained like :class:`~iqpgen.IqpModel`, by
  minimising MMD², but the model term of the loss is exact instead of a Monte Carlo estimate;
  it samples exactly at any size. An IQP model that beats it uses interference.
* :class:`RBM`: a restricted Boltzmann machine (scikit-learn's ``BernoulliRBM``), its best
  held-out epoch kept, sampled exactly up to 16 bits and beyond by block Gibbs chains with
  global-flip moves and optional parallel tempering, with convergence diagnostics.
* :class:`DeepEBM`: the paper's strongest classical model, an MLP energy (Flax NNX) trained
  on the exact likelihood gradient up to 16 bits and by persistent contrastive divergence
  beyond, sampled like the RBM (Metropolis sweeps instead of Gibbs).

The RBM and the DeepEBM take the data's global-flip symmetry when it is there
(``symmetry="auto"``, :mod:`iqpgen.symmetry`); :mod:`.mcmc` holds their samplers.

All of them have ``fit(X)``, ``sample(n_samples, random_state=None)`` returning ``uint8`` rows,
``mmd(X)`` and ``score(X) = −mmd(X)`` (higher is better, as :meth:`iqpgen.IqpModel.score`).
The MMD² estimates use the operators of :func:`iqpgen.mmd_loss` (stratified, unbiased):

.. math::

    \widehat{\mathrm{MMD}^2} = \frac{1}{n_{ops}}\sum_a \Big(\widehat{q_a^2}
        - 2\,\hat q_a\,\frac{F_a}{m} + \frac{F_a^2-m}{m(m-1)}\Big),

with :math:`F_a=\sum_x(-1)^{a\cdot x}` over the ``m`` data rows. Models with exact
expectations use :math:`\hat q_a = q_a` and :math:`\widehat{q_a^2}=q_a^2`; the sampled models
(RBM, DeepEBM) use ``N`` of their samples, :math:`\hat q_a = F^{(s)}_a/N` and the U-statistic
:math:`\widehat{q_a^2} = (F^{(s)2}_a - N)/(N(N-1))`. Either way the estimate is unbiased.
For the same key the operators are those :func:`iqpgen.mmd_loss` draws, so models compared with
one key are compared on the same operators.
"""

# One module per model (independent, bitflip_model, rbm, deep_ebm in Flax NNX), their shared
# MMD² machinery (common, also used by iqpgen.evaluate), and what the energy models share
# (energy: symmetry, held-out rows, sampling; mcmc: the chains and exact enumeration).
from .bitflip_model import BitflipModel, bitflip_loss
from .deep_ebm import DeepEBM
from .independent import IndependentBits, Uniform
from .rbm import RBM

__all__ = ["IndependentBits", "Uniform", "BitflipModel", "RBM", "DeepEBM", "bitflip_loss"]
