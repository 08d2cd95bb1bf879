"""Progress in a log (stderr not a terminal): one line per epoch or trial, no
carriage-return frames, the final state once; on a terminal, the bar stays."""
import io
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastnn as fn
from fastnn import tuning
from fastnn.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def data(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.int64)


def test_fit_writes_one_line_per_epoch_to_a_log(capsys):
    X, y = data()
    history = fn.fit(fn.MLP([3, 4, 2], random_state=0), X, y, "adam", epochs=5, batch_size=8,
                     validation_data=data(20, 1), progress=True, random_state=0)
    err = capsys.readouterr().err
    assert "\r" not in err and "\x1b" not in err
    lines = err.splitlines()
    assert [line.split(",")[0] for line in lines] == [f"fit: {e}/5 epochs" for e in range(1, 6)]
    assert len(set(lines)) == len(lines)
    last = dict(part.split("=") for part in lines[-1].split(", ")[1:-1])
    assert float(last["loss"]) == pytest.approx(history.loss[-1], rel=1e-3)
    assert float(last["val_accuracy"]) == pytest.approx(history.val_accuracy[-1], rel=1e-3)


def test_no_progress_is_silent(capsys):
    X, y = data()
    fn.fit(fn.MLP([3, 2], random_state=0), X, y, epochs=3, progress=False)
    assert capsys.readouterr().err == ""


def test_a_long_run_writes_at_most_a_hundred_lines_and_the_last_state():
    log = io.StringIO()
    with Progress(1001, "fit", "epoch", file=log) as bar:
        for epoch in range(1001):
            bar.update({"loss": 1.0 / (epoch + 1)})
    lines = log.getvalue().splitlines()
    assert 50 < len(lines) <= 101 and lines[-1].startswith("fit: 1001/1001 epochs, loss=0.000999")


def test_an_interrupted_run_ends_with_its_state_once():
    log = io.StringIO()
    with Progress(10, "lr search", "trial", every=4, file=log) as bar:
        for _ in range(6):
            bar.update()
    assert re.findall(r"\d+/10", log.getvalue()) == ["4/10", "6/10"]


def test_on_a_terminal_the_bar_keeps_its_final_state():
    screen = Terminal()
    with Progress(3, "fit", "epoch", file=screen) as bar:
        for loss in (0.3, 0.2, 0.1):
            bar.update({"loss": loss})
    final = screen.getvalue().split("\r")[-1]
    assert "3/3" in final and "loss=0.1" in final and final.endswith("\n")


def test_lr_search_shows_one_line_per_trial(capsys):
    X, y = data()
    with ThreadPoolExecutor(2) as pool:
        tuning.lr_search({"layer_sizes": [3, 4, 2]}, X, y, lrs=[0.01, 0.1, 1.0], epochs=1,
                         refine=False, executor=pool, random_state=0)
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(",")[0] for line in lines] == [f"lr search: {i}/3 trials"
                                                      for i in (1, 2, 3)]
    assert "best val_loss=" in lines[-1]
