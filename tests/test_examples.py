"""The example scripts run end to end in --quick mode and write what they promise.

The three scripts run at once, as subprocesses (their time is mostly single-threaded XLA
compilation, so they overlap well). Datasets come from the iqpgen cache (``$IQPGEN_CACHE``,
default ``~/.cache/iqpgen``), as they would for a user; a cold cache adds about 30 s
(the D-Wave-like and scale-free samplers).
"""

import json
import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

import iqpgen

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ("dwave", "scale_free", "deploy")
TIMEOUT_S = 600


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run every example with --quick; returns {name: (returncode, stdout, out_dir, seconds)}."""
    base = tmp_path_factory.mktemp("examples")
    env = dict(os.environ, PYTHONWARNINGS="error")
    procs = {}
    for name in EXAMPLES:
        out = base / name
        cmd = [sys.executable, str(ROOT / "examples" / f"{name}.py"), "--quick", "--out", str(out)]
        log = open(base / f"{name}.log", "w+")  # closed below
        procs[name] = (
            subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=base, env=env),
            log,
            out,
            time.perf_counter(),
        )
    results = {}
    for name, (proc, log, out, t0) in procs.items():
        try:
            proc.wait(timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.seek(0)
        results[name] = (proc.returncode, log.read(), out, time.perf_counter() - t0)
        log.close()
    return results


def _check_run(runs, name):
    code, text, out, _ = runs[name]
    assert code == 0, f"{name}.py --quick failed:\n{text[-4000:]}"
    return text, out


@pytest.mark.parametrize("name", ["dwave", "scale_free"])
def test_training_examples(runs, name):
    text, out = _check_run(runs, name)
    # The table: one row per model, one "mean ± stderr" per bandwidth.
    assert "test MMD²" in text
    for model in ("IQP", "bitflip", "independent", "RBM"):
        row = next(line for line in text.splitlines() if line.startswith(model + " "))
        assert row.count("±") == 3, row
    assert "phase times:" in text and "Ising statistics" in text
    for f in ("loss.png", "mmd_vs_sigma.png", "correlations.png", "table.txt"):
        assert (out / f).stat().st_size > 0, f
    model = iqpgen.IqpModel.load(out / "iqp_model.npz")
    results = json.loads((out / "results.json").read_text())
    assert model.n_features_in_ == results["n_bits"] == (484 if name == "dwave" else 300)
    assert model.circuit_.n_params == model.n_features_in_ * (model.n_features_in_ + 1) // 2
    np.testing.assert_allclose(model.sigma_, results["sigmas"])
    qasm = (out / "iqp_model.qasm").read_text()
    assert qasm.startswith("OPENQASM 2.0;")
    for label in ("IQP", "bitflip", "independent", "RBM"):
        mean = np.array(results["mmd"][label]["mean"])
        assert mean.shape == (3,) and np.all(np.isfinite(mean))
    assert results["resources"]["counts"]["rz"] == model.circuit_.n_generators


def test_deploy_example(runs):
    text, out = _check_run(runs, "deploy")
    assert "MMD² to the test data" in text and "lightning.qubit shots" in text
    assert "max |p_device − p_iqpgen|" in text
    diff = float(text.split("over 2^10 bitstrings:")[1].split()[0])
    assert diff < 1e-6
    assert "500,500 gates of weight 1 and 2" in text
    model = iqpgen.IqpModel.load(out / "model.npz")
    assert model.n_features_in_ == 10
    assert (out / "model.qasm").read_text().startswith("OPENQASM 2.0;")
