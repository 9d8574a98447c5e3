import jax
import numpy as np
import pytest

import iqpgen


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    doctest_namespace.update(iqpgen=iqpgen, np=np, jax=jax)
