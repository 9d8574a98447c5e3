# ruff: noqa: E402  (imports after the XLA setting below)
import os

# The suite compiles hundreds of small XLA programs and runs most of them a few times: at
# optimisation level 1 they compile faster than at the default level and run nearly as fast
# (level 0 compiles faster still but makes the MCMC samplers 6x slower). The numbers agree with
# the default build's up to rounding, and no test depends on rounding. Subprocesses (examples,
# docs pages) inherit it.
if "--xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = " ".join(
        filter(None, [os.environ.get("XLA_FLAGS"), "--xla_backend_optimization_level=1"])
    )

import jax
import numpy as np
import pytest

import iqpgen


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace.update(iqpgen=iqpgen, np=np, jax=jax)
