"""Model files: bounded, header-first loading that ignores nothing; atomic
saves with the umask's mode that leave no temporary file behind, even when
the saving process is killed."""
import io
import os
import signal
import stat
import subprocess
import sys
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import fastnn as fn
from fastnn import _files
from fastnn.network import MAX_LAYERS, MAX_PARAMETERS


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.fixture
def good(tmp_path):
    net = fn.MLP([3, 4, 2], random_state=0)
    with np.load(net.save(tmp_path / "good.npz")) as f:
        return net, {k: f[k] for k in f.files}


def _nan_params(arrays):
    params = arrays["params"].copy()
    params[5] = np.nan
    return {"params": params}


@pytest.mark.parametrize("change, match", [
    (_nan_params, "NaN"),
    (dict(params=np.ones(26, np.complex64)), "dtype complex64"),
    (dict(params=np.ones(26, np.float64)), "dtype float64"),
    (dict(params=np.ones((), np.float32)), r"shape \(\)"),
    (dict(params=np.ones(25, np.float32)), r"shape \(25,\)"),
    (dict(params=np.array([{"evil": 1}] * 26, dtype=object)), "dtype object"),
    (dict(version=np.array([1, 2])), "shape"),
    (dict(version=np.array(2)), "version 2"),
    (dict(version=np.array("1")), "'version' has dtype"),
    (dict(alpha=np.array([0.1, 0.2])), "'alpha' has shape"),
    (dict(alpha=np.array(-1.0)), "alpha"),
    (dict(sizes=np.array([3, 4.0, 2])), "'sizes' has dtype"),
    (dict(sizes=np.array([3, 2 ** 40, 2])), "parameters; at most"),
    (dict(sizes=np.ones(MAX_LAYERS + 2, np.int64)), "'sizes' has shape"),
    (dict(activation=np.array(["relu", "relu"])), "'activation' has shape"),
    (dict(activation=np.array(["swish"])), "swish"),
    (dict(output=np.array("x" * 1000)), "'output' has dtype"),
    (dict(dtype=np.array("float16")), "float16"),
    (dict(extra=np.zeros(3)), "unknown entries 'extra'"),
])
def test_load_refuses_every_bad_entry(tmp_path, good, change, match):
    net, arrays = good
    change = change(arrays) if callable(change) else change
    path = _write(tmp_path / "bad.npz", **{**arrays, **change})
    with pytest.raises(ValueError, match=match):
        fn.MLP.load(path)


@pytest.mark.parametrize("key", ["params", "sizes", "version", "activation", "alpha", "dtype"])
def test_load_names_a_missing_entry(tmp_path, good, key):
    _, arrays = good
    del arrays[key]
    path = _write(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=f"lacks '{key}'"):
        fn.MLP.load(path)


def _crafted(path, arrays, params_shape, data_bytes, sizes=None):
    """arrays with a params entry whose header declares ``params_shape`` but
    which holds only ``data_bytes`` bytes of data."""
    with zipfile.ZipFile(path, "w") as z:
        for key, value in arrays.items():
            if key != "params":
                value = np.asarray(sizes) if key == "sizes" and sizes is not None else value
                with z.open(key + ".npy", "w") as f:
                    np.lib.format.write_array(f, value)
        with z.open("params.npy", "w") as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": "<f4", "fortran_order": False, "shape": params_shape})
            f.write(bytes(data_bytes))
    return path


def _peak_memory(fn_, *args):
    tracemalloc.start()
    try:
        fn_(*args)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def _refused(path, match):
    with pytest.raises(ValueError, match=match):
        fn.MLP.load(path)


def test_a_crafted_params_header_is_refused_before_any_data_is_read(tmp_path, good):
    """The params header declares 2^30 float32 values for a 26-parameter network."""
    path = _crafted(tmp_path / "huge.npz", good[1], (2 ** 30,), 1000)
    assert _peak_memory(_refused, path, r"'params' has shape \(1073741824,\)") < 1e6


def test_a_declared_architecture_beyond_the_bound_allocates_nothing(tmp_path, good):
    path = _crafted(tmp_path / "huge.npz", good[1], (2 ** 30 + 3,), 1000, sizes=[1, 2 ** 29, 1])
    assert _peak_memory(_refused, path, "parameters; at most") < 1e6


def test_truncated_params_are_refused_before_the_model_is_built(tmp_path, good):
    sizes = [1000, 1000, 10]
    n = 1000 * 1001 + 10 * 1001
    path = _crafted(tmp_path / "short.npz", {**good[1], "activation": np.array(["relu"])},
                    (n,), 4000, sizes=sizes)
    assert _peak_memory(_refused, path, "truncated") < 1e6


def test_an_unknown_entry_is_refused_before_it_is_read(tmp_path, good):
    _, arrays = good
    path = tmp_path / "bomb.npz"
    _write(path, **arrays)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("bomb.npy", bytes(2 ** 26))
    assert _peak_memory(_refused, path, "unknown entries 'bomb'") < 1e6


def test_the_architecture_is_bounded():
    with pytest.raises(ValueError, match="at most"):
        fn.MLP([100000, 100000, 100000])
    with pytest.raises(ValueError, match="at most 1024"):
        fn.MLP([2] * (MAX_LAYERS + 2))
    with pytest.raises(ValueError, match="integers"):
        fn.MLP([3, float("inf"), 2])
    with pytest.raises(TypeError, match="layer_sizes"):
        fn.MLP(5)
    assert MAX_PARAMETERS == 2 ** 28


def test_load_round_trip_still_exact(tmp_path):
    net = fn.MLP([5, 7, 3, 2], activation=["tanh", "leaky_relu"], dtype="float64", alpha=0.2,
                 random_state=1)
    back = fn.MLP.load(net.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(back.params, net.params)
    assert (back.activation, back.alpha, back.dtype) == (net.activation, net.alpha, net.dtype)


def test_save_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        path = fn.MLP([2, 2]).save(tmp_path / "m.npz")
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
        os.umask(0o077)
        fn.MLP([2, 2]).save(path)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    finally:
        os.umask(old)


def test_save_removes_its_temp_file_on_any_exception(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(_files.os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        fn.MLP([2, 2]).save(tmp_path / "m.npz")
    assert os.listdir(tmp_path) == []


def test_the_next_save_removes_stale_temp_files_only(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".fastnn-{dead}-0123456789abcdef.tmp"
    alive = tmp_path / f".fastnn-1-0123456789abcdef.tmp"          # pid 1 always runs
    other = tmp_path / ".fastnn-notours.npz"
    for p in (stale, alive, other):
        p.write_bytes(b"x")
    fn.MLP([2, 2]).save(tmp_path / "m.npz")
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, other.name, "m.npz"])


SAVER = """
import sys, numpy as np, fastnn as fn
net = fn.MLP([64, 512, 512, 10], random_state=int(sys.argv[2]), backend="numpy")
print("ready", flush=True)
while True:
    net.save(sys.argv[1])
"""


def test_sigkill_during_saves_leaves_old_or_new_file_and_no_temp(tmp_path):
    """A subprocess saves in a loop and is killed at a random moment, many
    times: the file is always a complete model (the old or the new one) and
    the next save leaves no temporary file."""
    path = tmp_path / "m.npz"
    models = {seed: fn.MLP([64, 512, 512, 10], random_state=seed, backend="numpy")
              for seed in (0, 1)}
    models[0].save(path)
    rng = np.random.default_rng(0)
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    deadline = time.monotonic() + 12
    trials = stale = 0
    seen = set()
    while time.monotonic() < deadline:
        seed = trials % 2
        proc = subprocess.Popen([sys.executable, "-c", SAVER, str(path), str(seed)],
                                stdout=subprocess.PIPE, env=env)
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0, 0.05))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        trials += 1
        stale += sum(name.endswith(".tmp") for name in os.listdir(tmp_path))
        loaded = fn.MLP.load(path, backend="numpy")
        matches = [seed for seed, m in models.items() if np.array_equal(loaded.params, m.params)]
        assert matches
        seen.update(matches)
    assert trials >= 10 and seen == {0, 1}
    models[0].save(path)
    assert os.listdir(tmp_path) == ["m.npz"]
    print(f"{trials} kills, {stale} temp files seen before the next save")
