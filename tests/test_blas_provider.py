"""Which BLAS the Cython kernels call (blas_provider.py): the choice rule, the
FASTNN_BLAS override, and the same training on SciPy's cython_blas as on
NumPy's ILP64 OpenBLAS (float64 within 1e-12, float32 within rounding)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import ThreadpoolController

import fastnn
from fastnn._kernels import available_backends, blas_provider
from fastnn._kernels.blas_provider import newest_ilp64, version_key

pytestmark = pytest.mark.skipif("cython" not in available_backends(),
                                reason="the Cython backend is not built")


def test_version_key_orders_releases():
    assert version_key("0.3.31.188.0") > version_key("0.3.30") > version_key("0.3.9")
    assert version_key(None) == ()


@pytest.mark.parametrize("libraries, newer, picked", [
    ([((0, 3, 31), "N"), ((0, 3, 30), None)], True, "N"),
    ([((0, 3, 30), "N"), ((0, 3, 30), None)], True, None),     # a tie keeps SciPy's
    ([((0, 3, 29), "N"), ((0, 3, 30), None)], True, None),
    ([((0, 3, 29), "N"), ((0, 3, 30), None)], False, "N"),     # FASTNN_BLAS=numpy
    ([((0, 3, 31), "N")], True, None),                         # SciPy's is not OpenBLAS
    ([((0, 3, 30), None)], False, None),                       # no ILP64 library
    ([((0, 3, 28), "A"), ((0, 3, 32), "B"), ((0, 3, 30), None)], True, "B"),
])
def test_the_newest_ilp64_library_wins_only_over_an_older_scipy(libraries, newer, picked):
    assert newest_ilp64(libraries, newer) == picked


def test_an_unknown_choice_is_a_value_error_naming_the_variable(monkeypatch):
    monkeypatch.setenv("FASTNN_BLAS", "mkl")
    with pytest.raises(ValueError, match="FASTNN_BLAS"):
        blas_provider.choose()


def test_scipy_is_kept_when_asked(monkeypatch):
    monkeypatch.setenv("FASTNN_BLAS", "scipy")
    assert blas_provider.choose() == (blas_provider.SCIPY, None)


def test_each_openblas_reads_as_lp64_or_with_all_four_ilp64_routines():
    import scipy.linalg.cython_blas  # noqa: F401
    pools = ThreadpoolController().select(internal_api="openblas").lib_controllers
    found = [blas_provider.ilp64_routines(pool.filepath) for pool in pools]
    for routines in found:
        assert routines is None or (len(routines) == 4 and all(routines))


def _has_ilp64():
    import scipy.linalg.cython_blas  # noqa: F401
    pools = ThreadpoolController().select(internal_api="openblas").lib_controllers
    return any(blas_provider.ilp64_routines(pool.filepath) for pool in pools)


TRAIN = """
import json, sys
import numpy as np
import fastnn
from fastnn._kernels.cython import _blas
out = {"provider": _blas.PROVIDER}
rng = np.random.default_rng(0)
X = rng.standard_normal((300, 130))
y = rng.integers(0, 3, 300)
for dtype in ("float64", "float32"):
    net = fastnn.MLP([130, 96, 3], activation="tanh", output="softmax", dtype=dtype,
                     backend="cython", random_state=0)
    fastnn.fit(net, X.astype(dtype), y, optimizer="adam", epochs=2, batch_size=50,
               shuffle=False)
    out[dtype] = np.concatenate([np.ravel(a) for layer in net.layers
                                 for a in (layer.W, layer.b)]).astype(float).tolist()
print(json.dumps(out))
"""


def _train(choice):
    env = {**os.environ, "FASTNN_BLAS": choice}
    root = Path(fastnn.__file__).resolve().parent.parent   # the fastnn under test
    done = subprocess.run([sys.executable, "-c", TRAIN], env=env, cwd=root, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.skipif(not _has_ilp64(), reason="no ILP64 OpenBLAS (NumPy's) in this install")
def test_numpys_openblas_trains_as_scipys_does():
    scipy_run, numpy_run = _train("scipy"), _train("numpy")
    assert scipy_run["provider"] == blas_provider.SCIPY
    assert numpy_run["provider"].startswith("OpenBLAS")
    for dtype, rtol in (("float64", 1e-12), ("float32", 1e-4)):
        a, b = np.array(scipy_run[dtype]), np.array(numpy_run[dtype])
        assert np.linalg.norm(a - b) <= rtol * np.linalg.norm(a), dtype
