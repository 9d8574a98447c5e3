"""The functional training loop: compile once, resume exactly, early stopping, checkpoints."""

import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import iqpgen
from iqpgen import train


def _quadratic(params, key, target):
    noise = 0.01 * jax.random.normal(key, params.shape)
    return jnp.sum((params - target + noise) ** 2)


def test_step_compiles_once_across_steps_and_chunks():
    """One trace for the chunk (value_and_grad traces the loss once inside it), the shorter
    last chunk included; the chunking does not change the numbers."""
    traces = []

    def loss(params, key, target):
        traces.append(1)
        return _quadratic(params, key, target)

    kw = dict(key=jax.random.key(0), n_steps=90, args=(jnp.ones(4),), verbose=False)
    res = train.run(loss, jnp.zeros(4), optax.adam(0.1), chunk_size=20, **kw)
    assert len(traces) == 1  # chunks of 20, 20, 20, 20 and 10 steps
    assert res.history.loss.shape == (90,)
    assert res.history.loss[-1] < res.history.loss[0]
    whole = train.run(_quadratic, jnp.zeros(4), optax.adam(0.1), chunk_size=90, **kw)
    np.testing.assert_allclose(res.history.loss, whole.history.loss, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(res.params, whole.params, rtol=1e-6, atol=1e-7)


def test_interrupted_run_resumes_to_the_same_result(tmp_path):
    ckpt = str(tmp_path / "run.npz")
    kw = dict(key=jax.random.key(1), args=(jnp.arange(3.0),), verbose=False, chunk_size=7)
    full = train.run(_quadratic, jnp.zeros(3), optax.adam(0.05), n_steps=40, **kw)
    part = train.run(
        _quadratic,
        jnp.zeros(3),
        optax.adam(0.05),
        n_steps=21,
        checkpoint=ckpt,
        checkpoint_every=7,
        **kw,
    )
    assert os.path.exists(ckpt) and part.history.loss.shape == (21,)
    resumed = train.run(
        _quadratic, jnp.zeros(3), optax.adam(0.05), n_steps=40, checkpoint=ckpt, **kw
    )
    np.testing.assert_allclose(resumed.params, full.params, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(resumed.history.loss, full.history.loss, rtol=1e-6, atol=1e-7)
    assert not any(name.startswith(".tmp-") for name in os.listdir(tmp_path))


def test_validation_early_stopping_keeps_best_params():
    target = jnp.ones(2)

    def val(params, target):
        return jnp.sum((params - 0.5 * target) ** 2)  # best halfway to the training target

    res = train.run(
        _quadratic,
        jnp.zeros(2),
        optax.sgd(0.05),
        key=jax.random.key(0),
        n_steps=500,
        args=(target,),
        val_fn=val,
        val_args=(target,),
        val_every=5,
        chunk_size=5,
        patience=30,
        verbose=False,
    )
    assert res.history.stopped_early
    assert len(res.history.loss) < 500
    best = res.history.val_loss.argmin()
    assert res.history.best_step == res.history.val_step[best]
    assert float(val(res.params, target)) == pytest.approx(res.history.val_loss[best], rel=1e-5)


def test_starting_params_are_a_validation_candidate():
    """Training that only moves away from the validation optimum returns the start."""
    start = jnp.array([0.25, -0.5])

    def val(params, best):
        return jnp.sum((params - best) ** 2)

    res = train.run(
        _quadratic,
        start,
        optax.sgd(0.05),
        key=jax.random.key(0),
        n_steps=40,
        args=(jnp.ones(2),),
        val_fn=val,
        val_args=(start,),
        val_every=10,
        chunk_size=10,
        verbose=False,
    )
    assert list(res.history.val_step) == [0, 10, 20, 30, 40]
    assert res.history.best_step == 0 and res.history.val_loss[0] == 0.0
    np.testing.assert_array_equal(res.params, start)
    assert not np.allclose(res.state.params, start)  # training did move


def test_nan_loss_stops_with_a_clear_error():
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        train.run(
            lambda p, k: jnp.sum(jnp.exp(p * 1e3)),
            jnp.ones(2),
            optax.sgd(10.0),
            key=jax.random.key(0),
            n_steps=20,
            chunk_size=5,
            verbose=False,
        )


def test_corrupt_or_foreign_checkpoint(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip file")
    kw = dict(key=jax.random.key(0), n_steps=5, args=(jnp.ones(2),), verbose=False)
    with pytest.raises(ValueError, match="corrupt"):
        train.run(_quadratic, jnp.zeros(2), optax.adam(0.1), checkpoint=str(bad), **kw)
    good = str(tmp_path / "good.npz")
    train.run(
        _quadratic,
        jnp.zeros(2),
        optax.adam(0.1),
        checkpoint=good,
        checkpoint_meta={"run": "a"},
        **kw,
    )
    with pytest.raises(ValueError, match="another run"):
        train.run(
            _quadratic,
            jnp.zeros(2),
            optax.adam(0.1),
            checkpoint=good,
            checkpoint_meta={"run": "b"},
            **kw,
        )
    with pytest.raises(ValueError, match="shapes"):
        train.run(
            _quadratic,
            jnp.zeros(3),
            optax.adam(0.1),
            checkpoint=good,
            checkpoint_meta={"run": "a"},
            **kw,
        )


def test_bad_arguments():
    with pytest.raises(TypeError, match="optax"):
        train.run(_quadratic, jnp.zeros(2), "adam", key=jax.random.key(0), n_steps=1)
    with pytest.raises(ValueError, match="chunk_size must be at least 1"):
        train.run(
            _quadratic,
            jnp.zeros(2),
            optax.adam(0.1),
            key=jax.random.key(0),
            n_steps=1,
            chunk_size=0,
        )
    with pytest.raises(TypeError, match="key is required"):
        train.run(_quadratic, jnp.zeros(2), optax.adam(0.1), key=None, n_steps=1)


def test_mmd_training_step_is_traced_once():
    """The real training step: MMD loss on an IQP circuit compiles once for a whole fit."""
    c = iqpgen.IqpCircuit(5, iqpgen.gates.local(5, 2))
    X = np.asarray(jax.random.bernoulli(jax.random.key(0), 0.3, (50, 5)), np.uint8)
    traces = []

    def loss(params, key, circuit, data):
        traces.append(1)
        return iqpgen.mmd.loss_from_packed(
            circuit, params, data, key, sigmas=(1.0,), n_ops=20, n_samples=20
        )

    res = train.run(
        loss,
        iqpgen.init.from_data(c, X),
        optax.adam(1e-2),
        key=jax.random.key(0),
        n_steps=30,
        chunk_size=10,
        args=(c, iqpgen.mmd.pack_data(X)),
        verbose=False,
    )
    assert len(traces) == 1 and res.history.loss.shape == (30,)
