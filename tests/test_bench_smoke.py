"""The benchmark suite: its contenders do the same work, its arithmetic is
exact, and ``fastnn bench --quick`` runs end to end and writes its report."""
import json

import numpy as np
import pytest

from fastnn import bench


def test_epoch_flops_are_the_issues_count():
    # forward 2*784*128 + 2*128*10, backward 2*10*128 + 2*10*128 + 2*128*784
    assert bench.flops_per_sample() == 203264 + 205824
    assert bench.flops_per_sample() * 60000 == 24_545_280_000


def test_workload_is_the_fixed_one():
    rng = np.random.default_rng(0)
    X = rng.random((100, 784), dtype=np.float32)
    data = bench.workload(100)
    np.testing.assert_array_equal(data.X, X)
    np.testing.assert_array_equal(data.y, rng.integers(0, 10, 100))
    np.testing.assert_array_equal(data.Y.argmax(axis=1), data.y)
    assert [c.label for c in bench.cases(bench.FULL)] == [
        "SGD B=1", "SGD B=32", "SGD B=256", "SGD full",
        "Adam B=1", "Adam B=32", "Adam B=256", "Adam full"]
    assert [c.steps for c in bench.cases(bench.FULL)] == [6000, 1875, 235, 1] * 2


def test_verdicts_say_by_how_much():
    assert bench.verdict(24.0, 20.0) == "met: 24.0x (needs >= 20.0x)"
    assert bench.verdict(10.0, 20.0) == "**missed** by 2.00x: 10.0x (needs >= 20.0x)"
    assert bench.verdict(1.5, 1.2, unit="x bound", higher_is_better=False).startswith(
        "**missed** by 1.25x")


def test_floor_adds_gemm_time_and_update_traffic():
    # a model copy takes 8 * 1000 bytes / 8e9 bytes/s = 1 us
    limit = {"n_params": 1000, "copy_model_bytes_per_s": 8e9, "bound_s": 0.5,
             "gemm_floor_s": {"B=32": 0.25, "full": 0.5}}
    sgd_b32 = {"opt": "sgd", "mode": "B=32", "steps": 1875, "n": 60000, "n_epoch": 60000}
    adam_b1 = {"opt": "adam", "mode": "B=1", "steps": 6000, "n": 6000, "n_epoch": 60000}
    assert bench.floor_s(limit, sgd_b32) == pytest.approx(0.25 + 1875e-6)
    assert bench.floor_s(limit, adam_b1) == pytest.approx(0.5 + 3 * 60000e-6)


@pytest.mark.parametrize("opt", ["sgd", "adam"])
def test_every_contender_does_the_same_work(opt):
    """One small epoch from the same weights gives the same weights in every
    contender (fastnn backends and paths, PyTorch, scikit-learn, NumPy loop) as
    the NumPy reference kernels. scikit-learn's Adam adds epsilon in the
    "epsilon-hat" form, which moves weights whose gradients are ~1e-8 by up to
    one step (eta) differently: for it the tolerance is eta."""
    data = bench.workload(48)
    case = bench.Case(opt, 8, 48, n_epoch=48, hidden=16)
    params0 = bench.initial_params(16)
    expected = bench.prepare_train_epoch("numpy", case, data, params0)
    expected.run()
    contenders, _ = bench.contenders()
    assert len(contenders) >= 2
    for contender in contenders:
        job = contender.prepare(case, data, params0)
        job.run()
        eps_hat = opt == "adam" and contender.name == "scikit-learn MLPClassifier"
        np.testing.assert_allclose(job.weights(), expected.weights(), rtol=1e-4,
                                   atol=bench.LEARNING_RATES[opt] if eps_hat else 2e-5,
                                   err_msg=contender.name)
    assert not np.allclose(expected.weights(), params0)


TINY = bench.Plan(samples=1200, b1_samples=40, rounds=2, scaling_rounds=1, scaling_steps=10,
                  batches=(1, 256, 60000), widths=(16, 64), loss_budget_s=0.02)


def test_quick_run_writes_the_report(tmp_path, monkeypatch):
    """``fastnn bench --quick`` end to end, on the tiny plan above."""
    monkeypatch.setattr(bench, "QUICK", TINY)
    report = bench.run(quick=True, out_dir=tmp_path, backends=["numpy"], peers=False)
    text = (tmp_path / "BENCHMARKS.md").read_text()
    for heading in ("## Machine", "## Targets", "## Seconds per epoch", "## The limit",
                    "## Cold start", "## Peak memory", "![scaling](benchmarks.png)"):
        assert heading in text
    assert (tmp_path / "benchmarks.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "benchmarks.json").read_text())["command"] == \
        f"fastnn bench --quick --out {tmp_path} --backends numpy --no-peers"
    names = {c["name"] for c in report["contenders"]}
    assert names == {"fastnn[numpy] train_epoch", "fastnn[numpy] fit", "fastnn[numpy] step loop"}
    for result in report["cases"]:
        assert result["failed"] == {}
        assert all(len(t) == 2 and min(t) > 0 for t in result["times"].values())
    assert all("error" not in row for row in report["cold_start"] + report["memory"])
