"""The example scripts run end to end in --quick mode and write what they promise.

The scripts run one after the other in this process, through their ``main(argv)``.
Datasets come from the iqpgen cache (``$IQPGEN_CACHE``, default ``~/.cache/iqpgen``), as
they would for a user. ``dwave.py`` is ``paper.py dwave``
with its own output folder: the paper script runs here on the other experiments (the D-Wave
sampler alone costs a 484-spin tempering run), the D-Wave data are tested in test_datasets,
and the wrapper's argument handling below.
"""

import contextlib
import io
import json
import os
import pathlib
import re
import sys
import time
import traceback
import warnings

import jax.numpy as jnp
import numpy as np
import pytest

import iqpgen

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: name -> script arguments after --quick.
EXAMPLES = {
    "scale_free": ["scale_free.py"],
    "deploy": ["deploy.py"],
    "hardware": ["hardware.py"],
    "paper-ising": ["paper.py", "ising"],
    "baselines-ising": ["baselines.py", "ising"],
}
ROWS = ("IQP", "IQP init", "bitflip", "independent", "RBM", "DeepEBM", "uniform", "train set")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Run every example with --quick, one after the other in this process (warnings are
    errors; compiled programs are shared between scripts, as in one user's session); returns
    {name: (exit status, stdout and stderr, out_dir, seconds)}."""
    base = tmp_path_factory.mktemp("examples")
    results = {}
    cwd = os.getcwd()
    try:
        os.chdir(base)
        for name, (script, *rest) in EXAMPLES.items():
            out = base / name
            text = io.StringIO()
            code, t0 = 0, time.perf_counter()
            with (
                contextlib.redirect_stdout(text),
                contextlib.redirect_stderr(text),
                warnings.catch_warnings(),
            ):
                warnings.simplefilter("error")
                try:
                    _example(script).main([*rest, "--quick", "--out", str(out)])
                except SystemExit as stop:
                    code = stop.code if isinstance(stop.code, int) else 1
                except Exception:
                    text.write(traceback.format_exc())
                    code = 1
            results[name] = (code, text.getvalue(), out, time.perf_counter() - t0)
    finally:
        os.chdir(cwd)
    return results


def _check_run(runs, name):
    code, text, out, _ = runs[name]
    assert code == 0, f"{name}.py --quick failed:\n{text[-4000:]}"
    return text, out


# paper.py runs on one 16-bit experiment (8blobs takes the same code path as ising).
@pytest.mark.parametrize("name", ["scale_free", "paper-ising"])
def test_training_examples(runs, name):
    text, out = _check_run(runs, name)
    # The table: one row per model, one "mean ± stderr" per bandwidth, the paper beside it.
    assert "test MMD²" in text and "ours/paper" in text
    for model in ROWS:
        row = next(line for line in text.splitlines() if line.startswith(model + "  "))
        assert row.count("±") == 10, row
    assert "phase times:" in text
    for f in ("loss.png", "mmd_vs_sigma.png", "correlations.png", "table.txt"):
        assert (out / f).stat().st_size > 0, f
    model = iqpgen.IqpModel.load(out / "iqp_model.npz")
    results = json.loads((out / "results.json").read_text())
    n = {"scale_free": 200}.get(name, 16)
    assert model.n_features_in_ == results["n_bits"] == n
    # The paper's ten evaluation bandwidths: linspace of its training list.
    training = results["training_sigmas"]
    np.testing.assert_allclose(model.sigma_, training)
    np.testing.assert_allclose(
        results["sigmas"], np.round(np.linspace(min(training), max(training), 10), 3)
    )
    assert set(results["mmd"]) == set(ROWS)
    for label in ROWS:
        for part in ("mean", "stderr"):
            v = np.array(results["mmd"][label][part])
            assert v.shape == (10,) and np.all(np.isfinite(v)), (label, part)
    # The training set is the distribution itself; uniform bits are far from it.
    mmd = results["mmd"]
    assert np.all(np.array(mmd["uniform"]["mean"]) > np.array(mmd["train set"]["mean"]))
    assert results["paper_comparison"]["rows"]["uniform"]["paper"] is not None
    assert (out / "iqp_model.qasm").read_text().startswith("OPENQASM 2.0;")
    if name == "scale_free":
        assert "Ising statistics" in text
        assert model.circuit_.n_params == n * (n + 1) // 2
        assert results["resources"]["counts"]["rz"] == model.circuit_.n_generators


def test_baselines_example(runs):
    """The full-strength baselines: the zero-field Ising data are found flip-symmetric, the
    16-bit models are sampled exactly and both halves equally often."""
    text, out = _check_run(runs, "baselines-ising")
    results = json.loads((out / "baselines.json").read_text())
    rows = results["rows"]
    assert set(rows) == {"independent", "RBM", "DeepEBM", "uniform"}
    for label in ("RBM", "DeepEBM"):
        assert rows[label]["symmetry"] == "global_flip" and rows[label]["exact_sampling"]
        assert abs(rows[label]["rows_mostly_ones"] - 0.46) < 0.15  # 200 samples: 4σ
        assert len(rows[label]["paper_ratio"]) == 3 and np.all(np.isfinite(rows[label]["ratio"]))
    assert "paper" in text and "phase times:" in text


def test_paper_script_rejects_bad_input(tmp_path, monkeypatch, capsys):
    paper = _example("paper.py")
    monkeypatch.chdir(tmp_path)

    def stderr_of(*args):
        with pytest.raises(SystemExit) as stop:
            paper.main(list(args))
        assert stop.value.code == 2
        return capsys.readouterr().err

    bad = stderr_of("mnist", "--quick")
    assert "unknown experiment 'mnist'" in bad and "8blobs, ising, dwave, scale_free" in bad
    narrow = tmp_path / "narrow.csv"
    narrow.write_text("0,1,1\n1,0,0\n" * 30)
    assert "needs 16-bit rows" in stderr_of(
        "8blobs", "--quick", "--train", str(narrow), "--test", str(narrow)
    )
    assert "both --train and --test" in stderr_of("8blobs", "--quick", "--train", str(narrow))
    small = tmp_path / "small.adjlist"
    small.write_text("0 1 2\n1 2\n")
    graph = stderr_of("scale_free", "--quick", "--graph", str(small))
    assert "has 3 nodes; this experiment needs 1000" in graph
    other = stderr_of("8blobs", "--quick", "--temperature", "2")
    assert "--temperature applies to the generated scale_free" in other


def _example(name):
    """An example script loaded in this process (its folder on ``sys.path`` for its helpers)."""
    import importlib.util

    if str(ROOT / "examples") not in sys.path:
        sys.path.insert(0, str(ROOT / "examples"))
    spec = importlib.util.spec_from_file_location(f"example_{name[:-3]}", ROOT / "examples" / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["paper.py", "8blobs", "--quick", "--steps", "-1"], "--steps: .*whole number >= 0"),
        (["paper.py", "8blobs", "--quick", "--lr", "0"], "--lr: .*number > 0"),
        (["paper.py", "8blobs", "--quick", "--n-test", "5"], "--n-test must be at least 8"),
        (["paper.py", "8blobs", "--quick", "--out", "{f}/run"], "--out .*cannot be written"),
        (["dwave.py", "--quick", "--out", "{f}"], "--out .*is a file"),
        (["baselines.py", "ising", "--quick", "--rbm-epochs", "0"], "--rbm-epochs: .*>= 1"),
        (["paper.py", "ising", "--ebm-steps", "0"], "--ebm-steps: .*>= 1"),
        (["paper.py", "ising", "--quick", "--rbm-epochs", "5"], "--quick has its own"),
        (["baselines.py", "ising", "--quick", "--out", "{f}/run"], "cannot be written"),
        (["baselines.py", "dwave", "--quick", "--paper-models", "{f}"], "applies to 8blobs, ising"),
        (["baselines.py", "ising", "--quick", "--paper-models", "{f}"], "--train and --test"),
        (["deploy.py", "--quick", "--qubits", "0"], "--qubits: .*>= 1"),
        (["deploy.py", "--quick", "--out", "{f}"], "--out .*is a file"),
        (["deploy.py", "--quick", "--device", "no.such.device"], "--device 'no.such.device'"),
        (["hardware.py", "--quick", "--device", "FakeNowhere"], "not a backend"),
        (["hardware.py", "--quick", "--shots", "0"], "--shots: .*>= 1"),
        (["demo.py", "--quick", "--seed", "-2"], "--seed: .*>= 0"),
        (["demo.py", "--quick", "--out", "{f}/run"], "cannot be written"),
    ],
)
def test_scripts_check_arguments_and_outputs_first(tmp_path, monkeypatch, capsys, argv, match):
    """The CLI's argument types and output checks: a one-line usage error (exit status 2)
    before any data or training, nothing written."""
    if argv[0] == "hardware.py":
        pytest.importorskip("qiskit_ibm_runtime", reason='pip install "iqpgen[hardware]"')
    (tmp_path / "file").write_text("")
    monkeypatch.chdir(tmp_path)
    script, *args = [a.format(f=tmp_path / "file") for a in argv]
    with pytest.raises(SystemExit) as stop:
        _example(script).main(args)
    out, err = capsys.readouterr()
    assert stop.value.code == 2 and re.search(match, err.splitlines()[-1]), err
    assert "[data]" not in out and sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_paper_budget_flags_reach_the_baselines(monkeypatch, tmp_path):
    """--rbm-epochs and --ebm-steps replace the experiment's budgets, and only those."""
    paper = _example("paper.py")
    X = np.zeros((50, 20), np.uint8)  # beyond 16 bits, where --quick adds chain options
    monkeypatch.setattr(paper, "load_data", lambda exp, args, cfg: (X, X, {}))
    seen = {}

    def stop(*args, **options):
        seen.update(options)
        raise SystemExit(0)

    monkeypatch.setattr(paper, "run_experiment", stop)
    exp = paper.EXPERIMENTS["ising"]
    before = dict(exp.rbm), dict(exp.ebm)
    with pytest.raises(SystemExit):
        paper.main(["ising", "--rbm-epochs", "7", "--ebm-steps", "9", "--out", str(tmp_path)])
    rbm, ebm = seen["rbm_options"], seen["ebm_options"]
    assert rbm["n_iter"] == 7 and ebm["n_steps"] == 9
    assert rbm["n_components"] == 256 and ebm["hidden"] == (16, 4, 2)  # the rest as before
    with pytest.raises(SystemExit):  # --quick adds chain options: to a copy
        paper.main(["ising", "--quick", "--out", str(tmp_path)])
    assert "burn_in" in seen["ebm_options"] and (exp.rbm, exp.ebm) == before


def test_a_library_error_in_a_script_is_one_line(monkeypatch, capsys):
    """An error the library raises mid-run ends the script in one line, exit status 1
    (``IQPGEN_TRACEBACK=1`` keeps the traceback)."""
    common = _example("_common.py")

    def main(argv):
        raise ValueError("X_test has 3 rows;\n20 chunks need 40.")

    monkeypatch.setattr(sys, "argv", ["paper.py", "8blobs"])
    monkeypatch.delenv("IQPGEN_TRACEBACK", raising=False)
    with pytest.raises(SystemExit) as stop:
        common.run_script(main)
    assert stop.value.code == 1
    assert capsys.readouterr().err == "paper.py: error: X_test has 3 rows; 20 chunks need 40.\n"
    monkeypatch.setenv("IQPGEN_TRACEBACK", "1")
    with pytest.raises(ValueError, match="20 chunks"):
        common.run_script(main)


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


def test_hardware_example(runs):
    """Native pairs route with zero SWAPs; ideal Aer samples pass verify_samples, the device's
    noise is flagged, and modelling its readout error brings the value down."""
    pytest.importorskip("qiskit_aer", reason='pip install "iqpgen[hardware]"')
    text, out = _check_run(runs, "hardware")
    assert "routed on fake_sherbrooke: 0 SWAPs" in text
    res = json.loads((out / "results.json").read_text())
    assert res["routing"]["native"]["n_swaps"] == 0
    assert res["routing"]["all_to_all"]["n_swaps"] > 0
    rows = res["verify"]
    labels = [r["samples"] for r in rows]
    mean = {i: np.array(r["mean"]) for i, r in enumerate(rows)}
    err = {i: np.array(r["stderr"]) for i, r in enumerate(rows)}
    ideal, noisy = labels.index("Aer ideal"), labels.index("Aer device noise")
    assert np.all(np.abs(mean[ideal]) < 4 * err[ideal])
    assert np.all(mean[noisy] > 4 * err[noisy])
    assert "readout error modelled" in labels[noisy + 1]
    assert np.all(mean[noisy + 1] < mean[noisy] / 2)


def test_paper_models_are_read_as_saved_and_nothing_else(tmp_path, monkeypatch):
    """The paper's trained DeepEBM (Flax parameters as JAX arrays) and RBM (an object of its
    own BernoulliRBM subclass) pickled here as its scripts pickle them, read back without that
    code: log p of every row against an NNX network of the same weights and a sum over the
    RBM's hidden states; a pickle naming anything else is refused."""
    import pickle
    import types

    from flax import nnx

    pm = _example("_paper_models.py")
    rng = np.random.default_rng(0)
    sizes = [16, 5, 3, 1]
    shapes = list(zip(sizes[:-1], sizes[1:], strict=True))
    weights = [(rng.normal(0, 0.5, (a, b)), rng.normal(0, 0.5, b)) for a, b in shapes]
    params = {
        f"Dense_{i}": {"kernel": jnp.asarray(w, jnp.float32), "bias": jnp.asarray(b, jnp.float32)}
        for i, (w, b) in enumerate(weights)
    }
    folder = tmp_path / "trained_parameters"
    folder.mkdir()
    files = pm.paths(str(folder), "ising")
    with open(files["DeepEBM"], "wb") as f:
        pickle.dump({"params": params}, f)
    # The RBM's class as the paper's module names it (stand-in modules while pickling).
    name = "qml_benchmarks.models.energy_based_model"
    saved = type("RestrictedBoltzmannMachine", (), {"__module__": name})
    for part in ("qml_benchmarks", "qml_benchmarks.models", name):
        monkeypatch.setitem(sys.modules, part, types.ModuleType(part))
    sys.modules[name].RestrictedBoltzmannMachine = saved
    rbm = saved()
    rbm.components_ = rng.normal(0, 0.5, (3, 16))
    rbm.intercept_hidden_, rbm.intercept_visible_ = rng.normal(0, 0.5, 3), rng.normal(0, 0.5, 16)
    with open(files["RBM"], "wb") as f:
        pickle.dump(rbm, f)
    for part in ("qml_benchmarks", "qml_benchmarks.models", name):
        monkeypatch.delitem(sys.modules, part)

    tables = pm.log_prob_tables(str(folder), "ising")
    x = iqpgen.exact.all_bitstrings(16).astype(np.float32)
    h = jnp.asarray(x)
    for i, (w, b) in enumerate(weights):
        layer = nnx.Linear(*w.shape, rngs=nnx.Rngs(0))
        layer.kernel[...], layer.bias[...] = jnp.asarray(w, jnp.float32), jnp.asarray(b)
        h = layer(h) if i == len(weights) - 1 else jnp.tanh(layer(h))
    want = -np.asarray(h[:, 0], np.float64)
    np.testing.assert_allclose(tables["DeepEBM"], want - np.logaddexp.reduce(want), atol=1e-4)
    hidden = iqpgen.exact.all_bitstrings(3).astype(np.float64)
    joint = (x @ rbm.intercept_visible_)[:, None] + hidden @ rbm.intercept_hidden_
    joint = joint + x @ rbm.components_.T @ hidden.T
    want = np.logaddexp.reduce(joint, axis=1)
    np.testing.assert_allclose(tables["RBM"], want - np.logaddexp.reduce(want), atol=1e-9)

    with open(files["RBM"], "wb") as f:
        pickle.dump(os.getcwd, f)  # any other global: refused before it is called
    with pytest.raises(pickle.UnpicklingError, match="posix.getcwd is not one of"):
        pm.log_prob_tables(str(folder), "ising")
