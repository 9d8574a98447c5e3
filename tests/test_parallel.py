"""Sharding the circuit samples across devices and processes (iqpgen.parallel).

JAX fixes its CPU device count when its backend starts, so the multi-device runs happen in
child processes (tests/_parallel_scripts/sharded_loss.py) with
``XLA_FLAGS=--xla_force_host_platform_device_count=K``:

* one process with 4 CPU devices: the loss and gradient with ``mesh=device_mesh()`` equal the
  ones with ``mesh=None`` (one device), for a pairwise and a generic circuit, with a sample
  count that is and one that is not a multiple of 4;
* two processes with 2 CPU devices each, joined by ``initialize_distributed`` on 127.0.0.1 (a
  4-device global mesh, gloo collectives; one process configured by arguments, the other by
  the JAX_* environment variables): both get the one-device numbers of the first run;
* the single-machine example of docs/scaling.md (``iqpgen.train.run`` with a mesh) runs on 4
  devices.

Tolerances: float32; the partial sums are added in another order, so values agree to a few
ulps of the loss (~1e-9 here); 1e-5 is far above that and far below any real discrepancy
(a lost or doubled device would change the loss by ~25%).
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import Mesh

import iqpgen
from iqpgen import estimator, parallel

SCRIPT = Path(__file__).resolve().parent / "_parallel_scripts" / "sharded_loss.py"
ROOT = Path(__file__).resolve().parent.parent
CASES = ("w2_n64", "w3_n66")
TOL = 1e-5
TIMEOUT = 240  # seconds per child; each takes ~10-25 s on 2 cores


def _env(n_devices: int, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    # Optimisation level 0 compiles ~2.5x faster; both sides of every comparison use it.
    env["XLA_FLAGS"] = (
        f"--xla_force_host_platform_device_count={n_devices} --xla_backend_optimization_level=0"
    )
    env["JAX_PLATFORMS"] = "cpu"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


def _cmd(out: Path, *args: str) -> list[str]:
    return [sys.executable, "-W", "error", str(SCRIPT), str(out), *args]


def _check_finished(proc: subprocess.CompletedProcess | subprocess.Popen, output: str) -> None:
    if proc.returncode != 0:
        pytest.fail(f"child exited with {proc.returncode}:\n{output[-4000:]}")


@pytest.fixture(scope="module")
def four_devices(tmp_path_factory) -> dict:
    """Results of one process with 4 CPU devices: sharded, one-device, direct moments."""
    out = tmp_path_factory.mktemp("parallel") / "four.npz"
    proc = subprocess.run(
        _cmd(out, "--reference", "--moments"),
        env=_env(4),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    _check_finished(proc, proc.stdout + proc.stderr)
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


def test_sharded_loss_and_grad_equal_single_device_on_4_devices(four_devices):
    r = four_devices
    assert r["n_devices"] == 4 and r["n_processes"] == 1
    assert r["mesh_size"] == 4 and r["mesh_shape"].tolist() == [4]
    for case in CASES:
        # The sharded program ran on 4 devices and adds across them; the reference on one.
        assert r[f"sharded_devices_{case}"] == 4, case
        assert r[f"sharded_allreduce_{case}"] >= 1, case
        assert r[f"single_devices_{case}"] == 1, case
        assert r[f"single_allreduce_{case}"] == 0, case
        ref_loss, ref_grad = r[f"single_loss_{case}"], r[f"single_grad_{case}"]
        assert np.all(np.isfinite(ref_grad)) and np.abs(ref_grad).max() > 1e-3, case
        np.testing.assert_allclose(r[f"sharded_loss_{case}"], ref_loss, rtol=0, atol=TOL)
        np.testing.assert_allclose(r[f"sharded_grad_{case}"], ref_grad, rtol=0, atol=TOL)


def test_sharded_moments_equal_unsharded_on_4_devices(four_devices):
    # spin_sym (operators of odd weight are zero), fewer samples than devices (whole
    # devices of padding), and chunk_size: padded samples contribute nothing.
    for name in ("spin_sym", "few_samples", "chunked", "control_antithetic", "control"):
        ref, got = four_devices[f"moments_ref_{name}"], four_devices[f"moments_got_{name}"]
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * max(1.0, np.abs(ref).max()))
    # spin_sym: the operator Z0 (weight 1) has expectation exactly 0.
    assert four_devices["moments_got_spin_sym"][:, 0].tolist() == [0.0, 0.0]


def test_model_with_a_mesh_fits_as_on_one_device(four_devices):
    """IqpModel(mesh=...) trains on 4 devices to the one-device parameters (8 Adam steps of
    control+antithetic estimates; the partial sums add in another order, so a few ulps)."""
    r = four_devices
    assert str(r["model_sharded_vr"]) == "control+antithetic"
    np.testing.assert_allclose(r["model_sharded_loss"], r["model_single_loss"], rtol=0, atol=TOL)
    np.testing.assert_allclose(r["model_sharded_params"], r["model_single_params"], atol=1e-5)
    assert np.abs(r["model_single_params"] - r["model_single_params"][0]).max() > 0


def test_model_mesh_is_checked_and_not_saved(tmp_path):
    X = np.random.default_rng(0).integers(0, 2, (40, 5))
    with pytest.raises(TypeError, match="mesh must be a jax.sharding.Mesh"):
        iqpgen.IqpModel(mesh="cpu", max_steps=1).fit(X)
    with pytest.raises(ValueError, match="estimator='exact' has none"):
        iqpgen.IqpModel(mesh=parallel.device_mesh(), estimator="exact").fit(X)
    two_axes = Mesh(np.array(jax.devices()[:1]).reshape(1, 1), ("a", "b"))
    with pytest.raises(ValueError, match="exactly one axis"):
        iqpgen.IqpModel(mesh=two_axes, max_steps=1).fit(X)
    # (equal to the one-device fit: tested on 4 devices above and through the CLI)
    kw = dict(max_steps=1, n_ops=20, n_samples=20, random_state=0, verbose=False)
    model = iqpgen.IqpModel(mesh=parallel.device_mesh(), **kw).fit(X)
    assert model.estimator_ == "monte_carlo"  # "auto" with a mesh
    model.save(tmp_path / "m.npz")
    assert iqpgen.IqpModel.load(tmp_path / "m.npz").mesh is None


def _finish_all(procs: list[subprocess.Popen]) -> None:
    """Wait for every child (killing the rest if one times out) and check each finished."""
    logs = []
    try:
        for p in procs:
            logs.append(p.communicate(timeout=TIMEOUT)[0])
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    for p, log in zip(procs, logs, strict=True):
        _check_finished(p, log)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_processes_give_single_device_numbers(four_devices, tmp_path):
    port = _free_port()
    address = f"127.0.0.1:{port}"
    # Keep the coordinator on the loopback interface (JAX binds all interfaces by default).
    local = {"JAX_COORDINATOR_BIND_ADDRESS": address}
    outs = [tmp_path / "p0.npz", tmp_path / "p1.npz"]
    procs = [
        # Process 0 gets its settings as arguments, process 1 from the environment.
        subprocess.Popen(
            _cmd(
                outs[0],
                "--distributed",
                f"--coordinator={address}",
                "--num-processes=2",
                "--process-id=0",
            ),
            env=_env(2, **local),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ),
        subprocess.Popen(
            _cmd(outs[1], "--distributed"),
            env=_env(
                2,
                **local,
                JAX_COORDINATOR_ADDRESS=address,
                JAX_NUM_PROCESSES="2",
                JAX_PROCESS_ID="1",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ),
    ]
    _finish_all(procs)
    ref = four_devices
    for out in outs:
        with np.load(out) as r:
            assert r["n_processes"] == 2 and r["n_local_devices"] == 2
            assert r["n_devices"] == 4 and r["mesh_size"] == 4
            for case in CASES:
                assert r[f"sharded_devices_{case}"] == 4, case
                np.testing.assert_allclose(
                    r[f"sharded_loss_{case}"], ref[f"single_loss_{case}"], rtol=0, atol=TOL
                )
                np.testing.assert_allclose(
                    r[f"sharded_grad_{case}"], ref[f"single_grad_{case}"], rtol=0, atol=TOL
                )


def test_scaling_doc_single_machine_example_runs_on_4_devices(tmp_path):
    """The first Python block of docs/scaling.md (train.run with mesh=device_mesh())."""
    import re

    text = (ROOT / "docs" / "scaling.md").read_text()
    block = re.findall(r"```python\n(.*?)```", text, flags=re.S)[0]
    proc = subprocess.run(
        [sys.executable, "-W", "error", "-c", block],
        env=_env(4),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    _check_finished(proc, proc.stdout + proc.stderr)
    lines = proc.stdout.splitlines()
    assert lines[0] == "4 devices"
    assert np.isfinite(float(lines[-1]))


# ------------------------------------------------------------- in this process (1 device)
def test_device_mesh_is_one_axis_over_all_devices_and_hashable():
    mesh = parallel.device_mesh()
    assert isinstance(mesh, Mesh)
    assert mesh.axis_names == ("samples",)
    assert mesh.devices.tolist() == jax.devices()
    # A static jit argument: equal meshes hash equal and share one compilation.
    assert mesh == parallel.device_mesh() and hash(mesh) == hash(parallel.device_mesh())
    other = parallel.device_mesh(jax.devices()[:1], axis_name="z")
    assert other.axis_names == ("z",) and other.size == 1


def test_sharded_moments_on_one_device_mesh_match_and_differentiate():
    c = iqpgen.gates.local_circuit(5, 3)
    params = jax.random.normal(jax.random.key(0), (c.n_params,))
    st = estimator.draw_signs(jax.random.key(1), 7, 5, False, jnp.float32)
    supps = [jnp.array([[0, 1, 5], [2, 3, 4]], jnp.int32)]
    mesh = parallel.device_mesh()

    def obj(moments):
        def f(p):
            s1, s2 = moments(c, p, st, supps)
            return jnp.sum(s1 * jnp.array([0.3, -0.5])) + jnp.sum(s2)

        return f

    sharded = jax.jit(jax.value_and_grad(obj(lambda *a: parallel.sharded_moments(*a, mesh=mesh))))
    plain = jax.jit(jax.value_and_grad(obj(estimator.moments_from_signs)))
    (v1, g1), (v0, g0) = sharded(params), plain(params)
    np.testing.assert_allclose(v1, v0, rtol=1e-6)
    np.testing.assert_allclose(g1, g0, atol=1e-5)


def test_sharded_moments_rejects_bad_mesh_and_signs():
    c = iqpgen.gates.local_circuit(3, 2)
    p = jnp.zeros(c.n_params)
    st = jnp.ones((3, 4))
    supps = [jnp.array([[0, 3]], jnp.int32)]
    with pytest.raises(TypeError, match="mesh must be a jax.sharding.Mesh, got str"):
        parallel.sharded_moments(c, p, st, supps, mesh="gpu")
    mesh_2d = Mesh(np.array(jax.devices()[:1]).reshape(1, 1), ("a", "b"))
    with pytest.raises(ValueError, match=r"mesh must have exactly one axis .*\('a', 'b'\)"):
        parallel.sharded_moments(c, p, st, supps, mesh=mesh_2d)
    with pytest.raises(
        ValueError, match=r"st must have shape \(n_qubits=3, n_samples\), got \(4, 3\)"
    ):
        parallel.sharded_moments(c, p, st.T, supps, mesh=parallel.device_mesh())
    with pytest.raises(ValueError, match="chunk_size must be at least 1, got 0"):
        parallel.sharded_moments(c, p, st, supps, mesh=parallel.device_mesh(), chunk_size=0)
    with pytest.raises(TypeError, match="circuit must be an iqpgen.IqpCircuit"):
        parallel.sharded_moments("c", p, st, supps, mesh=parallel.device_mesh())


def test_device_mesh_rejects_bad_input():
    dev = jax.devices()[0]
    with pytest.raises(ValueError, match="devices is empty"):
        parallel.device_mesh([])
    with pytest.raises(TypeError, match="devices must hold JAX devices .*got int"):
        parallel.device_mesh([0, 1])
    with pytest.raises(TypeError, match=r"devices must be a list of devices; for one device"):
        parallel.device_mesh(dev)
    with pytest.raises(ValueError, match="devices repeats a device"):
        parallel.device_mesh([dev, dev])
    with pytest.raises(ValueError, match="axis_name is empty"):
        parallel.device_mesh(axis_name="")
    with pytest.raises(TypeError, match="axis_name must be a str, got int"):
        parallel.device_mesh(axis_name=0)


@pytest.fixture
def no_jax_env(monkeypatch):
    for name in ("JAX_COORDINATOR_ADDRESS", "JAX_NUM_PROCESSES", "JAX_PROCESS_ID"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


# Every case fails validation before jax.distributed.initialize is reached.
@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(num_processes=0), ValueError, "num_processes must be at least 1, got 0"),
        (dict(num_processes=2.0), TypeError, "num_processes must be an int, got float"),
        (dict(process_id=-1), ValueError, "process_id must be at least 0, got -1"),
        (
            dict(num_processes=2, process_id=2),
            ValueError,
            r"process_id must be in range\(num_processes=2\), got 2",
        ),
        (dict(coordinator_address="10.0.0.1"), ValueError, "must be 'host:port'"),
        (dict(coordinator_address=1234), TypeError, "must be a 'host:port' str, got int"),
        (dict(local_device_ids=[0, -1]), ValueError, r"local_device_ids\[1\] must be at least 0"),
        (dict(local_device_ids=-2), ValueError, r"local_device_ids\[0\] must be at least 0"),
    ],
)
def test_initialize_distributed_rejects_bad_arguments(no_jax_env, kwargs, error, match):
    with pytest.raises(error, match=match):
        parallel.initialize_distributed(**kwargs)


def test_initialize_distributed_reads_and_checks_environment(no_jax_env):
    no_jax_env.setenv("JAX_NUM_PROCESSES", "two")
    with pytest.raises(ValueError, match="JAX_NUM_PROCESSES must be an integer, got 'two'"):
        parallel.initialize_distributed()
    no_jax_env.setenv("JAX_NUM_PROCESSES", "2")
    no_jax_env.setenv("JAX_PROCESS_ID", "5")
    with pytest.raises(ValueError, match=r"process_id must be in range\(num_processes=2\), got 5"):
        parallel.initialize_distributed()
    no_jax_env.setenv("JAX_PROCESS_ID", "1")
    no_jax_env.setenv("JAX_COORDINATOR_ADDRESS", "no-port")
    with pytest.raises(ValueError, match="coordinator_address must be 'host:port'.*'no-port'"):
        parallel.initialize_distributed()


def test_cli_fit_distributed_over_two_processes(tmp_path):
    """``iqpgen fit --distributed`` in two processes of 2 CPU devices each: process 0 writes
    the model, process 1 nothing, and the model is the one-device Monte Carlo fit."""
    X = np.random.default_rng(0).integers(0, 2, (200, 8))
    X[:, 1] = X[:, 0]
    np.savetxt(tmp_path / "train.csv", X, fmt="%d", delimiter=",")
    argv = [sys.executable, "-m", "iqpgen.cli", "fit", str(tmp_path / "train.csv")]
    argv += ["--max-steps", "5", "--n-ops", "64", "--n-samples", "66", "--sigma", "1.5"]
    argv += ["--seed", "3", "--quiet", "--estimator", "monte_carlo"]
    address = f"127.0.0.1:{_free_port()}"
    local = {"JAX_COORDINATOR_BIND_ADDRESS": address}
    procs = [
        subprocess.Popen(
            [*argv, "--out", str(tmp_path / f"m{i}.npz"), "--distributed",
             f"--coordinator={address}", "--num-processes=2", f"--process-id={i}"],
            env=_env(2, **local), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for i in range(2)
    ]  # fmt: skip
    _finish_all(procs)
    assert (tmp_path / "m0.npz").exists() and not (tmp_path / "m1.npz").exists()
    ref = subprocess.run(
        [*argv, "--out", str(tmp_path / "ref.npz")], env=_env(1), capture_output=True, text=True,
        timeout=TIMEOUT,
    )  # fmt: skip
    _check_finished(ref, ref.stdout + ref.stderr)
    got, want = (iqpgen.IqpModel.load(tmp_path / f) for f in ("m0.npz", "ref.npz"))
    np.testing.assert_allclose(got.params_, want.params_, atol=1e-6)
