"""The ``iqpgen`` command line and ``examples/demo.py``: round trips, outputs, one-line errors."""

import contextlib
import importlib.util
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import iqpgen
from iqpgen import IqpModel, cli, datasets, export
from iqpgen.cli import main, read_bits, write_bits

ROOT = Path(__file__).resolve().parents[1]
N_BITS = 6


def command(*args: str) -> list[str]:
    """The installed ``iqpgen`` script, or ``python -m iqpgen.cli`` when it is not on PATH."""
    script = shutil.which("iqpgen")
    return [script, *args] if script else [sys.executable, "-m", "iqpgen.cli", *args]


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *, expected_code: int = 1) -> str:
    """Exit status, exactly one ``iqpgen: error:`` line on stderr, no traceback."""
    assert code == expected_code, err
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("iqpgen: error: ")
    return lines[0]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Training and test CSVs, a model fitted on them by ``iqpgen fit`` (one bandwidth) and
    what the command printed (``fit.out``)."""
    d = tmp_path_factory.mktemp("cli")
    X = datasets.blobs(300, key=jax.random.key(0), n_bits=N_BITS, n_blobs=3)
    write_bits(d / "train.csv", X[:200])
    write_bits(d / "test.csv", X[200:])
    argv = ["fit", str(d / "train.csv"), "--out", str(d / "model.npz"), "--max-steps", "20"]
    argv += ["--learning-rate", "0.01", "--n-ops", "64", "--n-samples", "64", "--sigma", "1.5"]
    argv += ["--seed", "3", "--quiet"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    assert code == 0
    (d / "fit.out").write_text(out.getvalue())
    return d


def sorted_rows(X) -> list[tuple[int, ...]]:
    return sorted(map(tuple, np.asarray(X).tolist()))


# --------------------------------------------------------------------------- help, version


def test_installed_script_answers_help():
    res = subprocess.run(command("--help"), capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    for name in ("fit", "evaluate", "sample", "export", "data"):
        assert name in res.stdout
    assert res.stderr == ""


def test_version(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0
    assert out.strip() == f"iqpgen {iqpgen.__version__}"


@pytest.mark.parametrize(
    "argv",
    [
        ["fit"],
        ["evaluate"],
        ["sample"],
        ["export"],
        ["data"],
        ["data", "lattice_ising"],
        ["data", "blobs"],
        ["data", "dwave_like"],
        ["data", "scale_free"],
        ["data", "digits"],
    ],
)
def test_help_of_each_command(capsys, argv):
    code, out, err = run(capsys, *argv, "--help")
    assert code == 0
    assert out.startswith(f"usage: iqpgen {' '.join(argv)}")
    assert err == ""


def test_data_aliases_with_hyphens(capsys):
    code, out, _ = run(capsys, "data", "lattice-ising", "--help")
    assert code == 0 and "--rows" in out


# ------------------------------------------------------------------------------ round trip


def test_fit_prints_final_loss_and_time_and_saves(workdir, capsys):
    out = (workdir / "fit.out").read_text()
    model = IqpModel.load(workdir / "model.npz")
    assert model.n_features_in_ == N_BITS
    assert model.sigma_ == (1.5,)
    hist = model.history_
    assert hist.loss.shape == (20,)
    loss = float(re.search(r"final loss (\S+)", out).group(1))
    assert loss == pytest.approx(hist.loss.mean(), rel=1e-3)  # all 20 steps (the last <= 50)
    assert re.search(r"steps: 20 in \d+\.\d s", out)
    assert f"saved model to {workdir / 'model.npz'}" in out

    code, out, err = run(
        capsys,
        "fit",
        workdir / "train.csv",
        "--out",
        workdir / "model2.npz",
        "--max-steps",
        "0",
        "--sigma",
        "1.5",
        "2.5",
        "--seed",
        "1",
        "--max-weight",
        "1",
        "--spin-sym",
        "--validation-fraction",
        "0.2",
        "--patience",
        "5",
        "--n-ops",
        "10",
        "--n-samples",
        "12",
        "--learning-rate",
        "0.5",
        "--lr-schedule",
        "constant",
        "--variance-reduction",
        "control",
        "--keep",
        "last",
    )
    assert code == 0, err
    assert "seed 1" in out and "steps: 0" in out
    model = IqpModel.load(workdir / "model2.npz")
    assert model.sigma_ == (1.5, 2.5)
    assert model.circuit_.n_params == N_BITS and model.circuit_.spin_sym
    expected = dict(max_steps=0, validation_fraction=0.2, patience=5, n_ops=10, n_samples=12)
    expected.update(learning_rate=0.5, random_state=1, max_weight=1, spin_sym=True)
    expected.update(lr_schedule="constant", variance_reduction="control", keep="last")
    assert {k: model.get_params()[k] for k in expected} == expected


def test_evaluate_prints_model_mmd_per_sigma(workdir, capsys):
    argv = ["evaluate", workdir / "model.npz", workdir / "test.csv", "--seed", "7"]
    code, out, err = run(capsys, *argv, "--sigma", "1.5", "2.5", "--repeats", "2")
    assert code == 0, err
    table = [line.split() for line in out.splitlines()[1:]]
    assert [r[0] for r in table] == ["sigma", "1.5", "2.5", "mean"]
    assert all(len(r) == 3 for r in table)  # sigma, estimate, standard error
    model = IqpModel.load(workdir / "model.npz")
    X = read_bits(workdir / "test.csv")
    keys = [jax.random.fold_in(jax.random.key(7), r) for r in range(2)]
    expected = np.mean([model.mmd(X, 1.5, random_state=k) for k in keys])
    assert float(table[1][1]) == pytest.approx(expected, rel=1e-3, abs=1e-7)

    code, out, err = run(capsys, *argv)  # the model's bandwidth, one estimate: no stderr
    assert code == 0, err
    table = [line.split() for line in out.splitlines()[1:]]
    assert table == [["sigma", "MMD^2"], ["1.5", f"{model.mmd(X, 1.5, random_state=keys[0]):.4e}"]]


def test_sample_writes_csv_npy_and_stdout(workdir, tmp_path, capsys):
    model = workdir / "model.npz"
    code, _, err = run(
        capsys, "sample", model, "--shots", 50, "--seed", 1, "--out", tmp_path / "s.npy"
    )
    assert code == 0, err
    s_npy = np.load(tmp_path / "s.npy")
    assert s_npy.shape == (50, N_BITS) and s_npy.dtype == np.uint8
    assert set(np.unique(s_npy)) <= {0, 1}

    code, _, err = run(
        capsys, "sample", model, "--shots", 50, "--seed", 1, "--out", tmp_path / "s.csv"
    )
    assert code == 0, err
    np.testing.assert_array_equal(read_bits(tmp_path / "s.csv"), s_npy)  # same seed, same rows

    code, out, err = run(capsys, "sample", model, "--shots", 4, "--seed", 2)
    assert code == 0 and err == ""
    rows = out.splitlines()
    pattern = "[01]" + ",[01]" * (N_BITS - 1)
    assert len(rows) == 4 and all(re.fullmatch(pattern, r) for r in rows)


def test_sample_on_a_pennylane_device(workdir, capsys):
    code, out, err = run(
        capsys,
        "sample",
        workdir / "model.npz",
        "--shots",
        5,
        "--device",
        "default.qubit",
        "--seed",
        0,
    )
    assert code == 0, err
    rows = np.array([[int(v) for v in r.split(",")] for r in out.splitlines()])
    assert rows.shape == (5, N_BITS) and set(np.unique(rows)) <= {0, 1}


def test_export_qasm_and_resources(workdir, tmp_path, capsys):
    path = tmp_path / "sub" / "model.qasm"
    code, out, err = run(capsys, "export", workdir / "model.npz", "--qasm", path, "--resources")
    assert code == 0, err
    model = IqpModel.load(workdir / "model.npz")
    assert path.read_text() == model.to_qasm()
    assert path.read_text().startswith("OPENQASM 2.0;")
    r = export.resources(model.circuit_)
    assert f"cx {r.counts['cx']}" in out and f"depth: {r.depth}" in out

    code, out, _ = run(capsys, "export", workdir / "model.npz", "--qasm", "-")
    assert code == 0 and out == model.to_qasm()


# ------------------------------------------------------------------------------------ data


def test_data_blobs_with_test_split(tmp_path, capsys):
    code, out, err = run(
        capsys,
        "data",
        "blobs",
        "--out",
        tmp_path / "train.npy",
        "--test-out",
        tmp_path / "test.csv",
        "--test-fraction",
        "0.25",
        "--n-samples",
        "40",
        "--n-bits",
        "7",
        "--seed",
        "0",
    )
    assert code == 0, err
    train, test = np.load(tmp_path / "train.npy"), read_bits(tmp_path / "test.csv")
    assert train.shape == (30, 7) and test.shape == (10, 7)
    # The split is a permutation of what the library generates for the same key.
    k_data, _ = jax.random.split(jax.random.key(0))
    full = datasets.blobs(40, key=k_data, n_bits=7)
    assert sorted_rows(np.concatenate([train, test])) == sorted_rows(full)


def test_data_lattice_ising_and_digits(tmp_path, capsys):
    code, _, err = run(
        capsys,
        "data",
        "lattice_ising",
        "--rows",
        "2",
        "--cols",
        "3",
        "--n-samples",
        "12",
        "--seed",
        "1",
        "--no-cache",
        "--out",
        tmp_path / "ising.csv",
    )
    assert code == 0, err
    assert read_bits(tmp_path / "ising.csv").shape == (12, 6)
    code, _, err = run(
        capsys, "data", "digits", "--n-samples", "25", "--seed", "1", "--out", tmp_path / "d.npy"
    )
    assert code == 0, err
    assert np.load(tmp_path / "d.npy").shape == (25, 64)


# ---------------------------------------------------------------------------------- errors


@pytest.fixture
def bad_files(tmp_path):
    files = {
        "nonbinary.csv": "0,1,1\n0,2,1\n",
        "header.csv": "a,b,c\n0,1,1\n",
        "ragged.csv": "0,1,1\n0,1\n",
        "text_model.npz": "this is not a model\n",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    np.savez(tmp_path / "other.npz", weights=np.zeros(3))
    np.save(tmp_path / "floats.npy", np.full((3, 2), 0.5))
    with open(tmp_path / "corrupt.npz", "wb") as f:
        f.write(b"PK\x03\x04" + b"\x00" * 40)
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["fit", "{d}/missing.csv", "--out", "{d}/m.npz"], "no data file"),
        (
            ["fit", "{d}/nonbinary.csv", "--out", "{d}/m.npz"],
            r"nonbinary.csv:2: value 2 .*not 0 or 1",
        ),
        (["fit", "{d}/header.csv", "--out", "{d}/m.npz"], "header line is not supported"),
        (["fit", "{d}/ragged.csv", "--out", "{d}/m.npz"], "same number of columns"),
        (["fit", "{d}/floats.npy", "--out", "{d}/m.npz"], "value 0.5 .*not 0 or 1"),
        (["fit", "{d}/other.npz", "--out", "{d}/m.npz"], "not a text file"),
        (["evaluate", "{d}/missing.npz", "{w}/test.csv"], "no model file"),
        (["evaluate", "{d}/other.npz", "{w}/test.csv"], "not an iqpgen model"),
        (["evaluate", "{d}/text_model.npz", "{w}/test.csv"], "not an iqpgen model file"),
        (["sample", "{w}/train.csv", "--shots", "2"], "not an iqpgen model file"),
        (["sample", "{d}/corrupt.npz", "--shots", "2"], "iqpgen model"),
        (["export", "{d}/other.npz", "--resources"], "not an iqpgen model"),
        (["evaluate", "{w}/model.npz", "{d}/nonbinary.csv"], "not 0 or 1"),
        (["evaluate", "{w}/model.npz", "{d}/header.csv"], "header"),
        (
            ["sample", "{w}/model.npz", "--shots", "2", "--device", "no.such.device"],
            "not installed",
        ),
    ],
)
def test_errors_are_one_line(workdir, bad_files, capsys, argv, match):
    argv = [a.format(d=bad_files, w=workdir) for a in argv]
    code, _, err = run(capsys, *argv)
    line = assert_one_line_error(code, err, expected_code=1)
    assert re.search(match, line), line


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        ([], "required: COMMAND"),
        (["fitt"], "invalid choice"),
        (["fit", "{w}/train.csv"], "required: --out"),
        (["fit", "{w}/train.csv", "--out", "m.npz", "--max-steps", "-3"], "--max-steps"),
        (["fit", "{w}/train.csv", "--out", "m.npz", "--sigma", "0"], "--sigma"),
        (["fit", "{w}/train.csv", "--out", "m.npz", "--sigma", "auto", "2"], "either 'auto'"),
        (["fit", "{w}/train.csv", "--out", "m.npz", "--validation-fraction", "1.5"], "fraction"),
        (["sample", "{w}/model.npz", "--shots", "0"], "--shots"),
        (["sample", "{w}/model.npz"], "required: --shots"),
        (["export", "{w}/model.npz"], "nothing to do"),
        (["data", "nosuch", "--out", "x.csv"], "invalid choice"),
        (["evaluate", "{w}/model.npz", "{w}/test.csv", "--bogus"], "unrecognized arguments"),
        (["fit", "{w}/train.csv", "--out", "m.npz", "--devices", "0"], "--devices"),
        (["fit", "{w}/train.csv", "--out", "m.npz", "--devices", "64"],
         "--devices 64: this process has 1 cpu device; for N CPU devices set XLA_FLAGS"),
        (["fit", "{w}/train.csv", "--out", "m.npz", "--coordinator", "h:1"], "add --distributed"),
        (["fit", "{w}/train.csv", "--out", "m.npz", "--distributed"], "needs --seed"),
    ],
)  # fmt: skip
def test_usage_errors_exit_2(workdir, capsys, argv, match):
    argv = [a.format(w=workdir) for a in argv]
    code, out, err = run(capsys, *argv)
    line = assert_one_line_error(code, err, expected_code=2)
    assert re.search(match, line), line
    assert out == ""


def test_distributed_without_a_coordinator_is_refused_before_the_work(workdir, monkeypatch, capsys):
    for var in ("JAX_COORDINATOR_ADDRESS", "SLURM_JOB_ID", "OMPI_COMM_WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    argv = ["fit", f"{workdir}/train.csv", "--out", "m.npz", "--distributed", "--seed", "1"]
    code, out, err = run(capsys, *argv)
    line = assert_one_line_error(code, err, expected_code=2)
    assert "needs the coordinator" in line and "JAX_COORDINATOR_ADDRESS" in line


def test_fit_on_a_one_device_mesh_gives_the_one_device_model(workdir, tmp_path, capsys):
    """--devices 1 runs the sharded loss on a one-device mesh: the model of the plain
    Monte Carlo fit (a mesh makes estimator 'auto' Monte Carlo)."""
    argv = ["fit", str(workdir / "train.csv"), "--max-steps", "3", "--learning-rate", "0.01"]
    argv += ["--n-ops", "64", "--n-samples", "64", "--sigma", "1.5", "--seed", "3", "--quiet"]
    for name, extra in (("mesh", ["--devices", "1"]), ("plain", ["--estimator", "monte_carlo"])):
        code, _, err = run(capsys, *argv, "--out", tmp_path / f"{name}.npz", *extra)
        assert code == 0, err
    got, ref = (iqpgen.IqpModel.load(tmp_path / f"{n}.npz") for n in ("mesh", "plain"))
    assert got.estimator_ == ref.estimator_ == "monte_carlo"
    np.testing.assert_allclose(got.params_, ref.params_, atol=1e-6)


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["fit", "{w}/train.csv", "--out", "{f}/m.npz", "--max-steps", "100000"], "--out"),
        (["fit", "{w}/train.csv", "--out", "{d}", "--max-steps", "100000"], "--out"),
        (["fit", "{w}/train.csv", "--out", "{d}/m.npz", "--checkpoint", "{f}/c.npz"],
         "--checkpoint"),
        (["sample", "{w}/model.npz", "--shots", "5", "--out", "{f}/s.csv"], "--out"),
        (["export", "{w}/model.npz", "--qasm", "{f}/c.qasm"], "--qasm"),
        (["data", "blobs", "--n-samples", "10", "--out", "{f}/x.csv"], "--out"),
        (["data", "blobs", "--n-samples", "10", "--out", "{d}/x.csv", "--test-out", "{d}"],
         "--test-out"),
    ],
)  # fmt: skip
def test_outputs_are_checked_before_the_work(workdir, tmp_path, monkeypatch, capsys, argv, flag):
    """An output that cannot be written (under a file, or a folder where a file goes) ends the
    command at once, naming the flag, before any training or sampling."""
    (tmp_path / "file").write_text("not a folder\n")

    def no_work(*args, **kwargs):
        raise AssertionError("the work started before the output was checked")

    monkeypatch.setattr(IqpModel, "fit", no_work)
    monkeypatch.setattr(IqpModel, "sample", no_work)
    monkeypatch.setattr(datasets, "blobs", no_work)
    argv = [a.format(w=workdir, f=tmp_path / "file", d=tmp_path) for a in argv]
    code, out, err = run(capsys, *argv)
    line = assert_one_line_error(code, err)
    assert flag in line and ("cannot be written" in line or "is a folder" in line), line
    assert out == "" and sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_library_errors_are_one_line(tmp_path, capsys):
    """A model over the exact engine's budget cannot be sampled exactly; the library's message
    comes through."""
    n = iqpgen.exact.max_qubits() + 1
    write_bits(tmp_path / "wide.csv", np.random.default_rng(0).integers(0, 2, (20, n)))
    code, _, err = run(
        capsys, "fit", tmp_path / "wide.csv", "--out", tmp_path / "wide.npz", "--max-steps", "0"
    )
    assert code == 0, err
    code, _, err = run(capsys, "sample", tmp_path / "wide.npz", "--shots", "3")
    line = assert_one_line_error(code, err)
    assert f"limited to {n - 1} qubits" in line and "device" in line


def test_error_through_the_script_has_no_traceback(tmp_path):
    res = subprocess.run(
        command("fit", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "m.npz")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_one_line_error(res.returncode, res.stderr)
    assert res.stdout == ""


def test_keyboard_interrupt_exits_130(monkeypatch, capsys):
    def interrupted(path):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.commands, "read_bits", interrupted)
    code, _, err = run(capsys, "fit", "x.csv", "--out", "m.npz")
    assert code == 130
    assert err.strip() == "iqpgen: interrupted"


def test_traceback_on_request(monkeypatch, tmp_path):
    monkeypatch.setenv("IQPGEN_TRACEBACK", "1")
    with pytest.raises(FileNotFoundError, match="no data file"):
        main(["fit", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "m.npz")])


# ------------------------------------------------------------------------------ data files


def test_read_bits_accepts_commas_whitespace_comments_and_npy(tmp_path):
    (tmp_path / "a.txt").write_text("# comment\n0 1 1\n\n1\t0  0\n1,1,0\n")
    np.testing.assert_array_equal(read_bits(tmp_path / "a.txt"), [[0, 1, 1], [1, 0, 0], [1, 1, 0]])
    X = np.random.default_rng(1).integers(0, 2, (5, 4)).astype(bool)
    np.save(tmp_path / "b.npy", X)
    out = read_bits(tmp_path / "b.npy")
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, X)


def test_saves_to_a_folder_are_refused_before_writing(workdir, tmp_path):
    """A folder where a file goes: our message, not the operating system's, and nothing left."""
    model = IqpModel.load(workdir / "model.npz")
    with pytest.raises(ValueError, match="is a folder; give a file name"):
        model.save(tmp_path)
    with pytest.raises(ValueError, match="is a folder; give a file name"):
        write_bits(tmp_path, np.zeros((2, 2), np.uint8))
    assert list(tmp_path.iterdir()) == [] and not list(tmp_path.parent.glob(".tmp-*"))


def test_read_bits_fast_and_line_readers_agree(tmp_path):
    """Well-formed files go through numpy.loadtxt; anything else through the line reader,
    with the same rows (or its message naming the line)."""
    X = np.random.default_rng(3).integers(0, 2, (300, 40))
    for sep, name in ((",", "x.csv"), (" ", "x.txt")):
        np.savetxt(tmp_path / name, X, fmt="%d", delimiter=sep, header="made here")
        np.testing.assert_array_equal(read_bits(tmp_path / name), X)
    (tmp_path / "y.csv").write_text("0,1\n1.0,0\n1, 1\n")  # floats and spaces: line reader
    np.testing.assert_array_equal(read_bits(tmp_path / "y.csv"), [[0, 1], [1, 0], [1, 1]])
    (tmp_path / "z.csv").write_text("0,1\n300,0\n")
    with pytest.raises(ValueError, match=r"z.csv:2: value 300 in column 1"):
        read_bits(tmp_path / "z.csv")


@pytest.mark.parametrize("name", ["x.csv", "x.npy", "x.txt"])
def test_write_then_read_round_trip(tmp_path, name):
    X = np.random.default_rng(2).integers(0, 2, (7, 5))
    write_bits(tmp_path / "deep" / name, X)
    np.testing.assert_array_equal(read_bits(tmp_path / "deep" / name), X)


def test_read_bits_rejects_bad_files(tmp_path):
    (tmp_path / "empty.csv").write_text("\n# nothing\n")
    with pytest.raises(ValueError, match="holds no rows"):
        read_bits(tmp_path / "empty.csv")
    np.save(tmp_path / "one_d.npy", np.zeros(3))
    with pytest.raises(ValueError, match="expected 2-D"):
        read_bits(tmp_path / "one_d.npy")
    (tmp_path / "spins.csv").write_text("-1,1\n1,-1\n")
    with pytest.raises(ValueError, match=r"spins: convert them .*\(x \+ 1\) / 2"):
        read_bits(tmp_path / "spins.csv")
    with pytest.raises(ValueError, match="is a folder"):
        read_bits(tmp_path)
    with pytest.raises(FileNotFoundError, match="no data file"):
        read_bits(tmp_path / "missing.csv")


# ------------------------------------------------------------------------------------ demo


def test_demo_quick_runs_and_writes_its_files(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("iqpgen_demo", ROOT / "examples" / "demo.py")
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    out_dir = tmp_path / "demo"
    summary = demo.main(["--quick", "--out", str(out_dir)])
    out = capsys.readouterr().out
    for name in ("iqp_model.npz", "demo.png", "results.json"):
        assert (out_dir / name).is_file() and (out_dir / name).stat().st_size > 0
        assert os.fspath(out_dir / name) in out
    assert (out_dir / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = IqpModel.load(out_dir / "iqp_model.npz")
    assert model.n_features_in_ == 16
    saved = json.loads((out_dir / "results.json").read_text())
    assert saved["sigmas"] == list(model.sigma_) == summary["sigmas"]
    for name in ("IQP model", "independent bits"):
        res = saved["test_mmd2"][name]
        assert len(res["mean"]) == len(res["stderr"]) == len(res["exact"]) == len(model.sigma_)
        assert all(np.isfinite(res["mean"])) and all(s > 0 for s in res["stderr"])
    assert "independent bits" in out and "test MMD" in out
