"""Ctrl-C during fit: seen within half a second, and it leaves parameters,
History and optimizer state consistent, so that resuming equals an
uninterrupted run bit for bit."""
import os
import signal
import threading
import time

import numpy as np
import pytest

import fastnn as fn
from fastnn import training

BACKENDS = fn.available_backends()
COMPILED = [b for b in BACKENDS if b != "numpy"]


def _problem(n=120, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)


def _run(backend, epochs, optimizer="adam", initial_epoch=0, net=None, opt=None, **kwargs):
    X, y = _problem()
    net = net or fn.MLP([6, 8, 3], dtype="float64", random_state=0, backend=backend)
    opt = opt or fn.optim.get(optimizer, backend=backend)
    hist = fn.fit(net, X, y, opt, epochs=epochs, batch_size=7, random_state=5,
                  validation_data=(X[:30], y[:30]), initial_epoch=initial_epoch, **kwargs)
    return net, opt, hist


def _state(net, opt):
    state = opt.state_dict()
    return [net.params.copy(), state["t"], state.get("s1"), state.get("s2"), state["hp"]]


def _assert_same_state(a, b):
    assert a[1] == b[1]
    for x, y in zip(a[:1] + a[2:], b[:1] + b[2:]):
        np.testing.assert_array_equal(x, y)


class _InterruptAtCall:
    """Wraps training._run_epoch: sends SIGINT to this process during call k."""

    def __init__(self, k):
        self.k, self.calls, self.run = k, 0, training._run_epoch

    def __call__(self, *args):
        done = self.run(*args)
        self.calls += 1
        if self.calls == self.k:
            os.kill(os.getpid(), signal.SIGINT)
        return done


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("optimizer", ["sgd", "adam", "nadam"])
def test_chunks_do_not_change_results(monkeypatch, backend, optimizer):
    whole = _state(*_run(backend, 2, optimizer)[:2])
    monkeypatch.setattr(training, "CHUNK_FLOPS", 1.0)     # one step per chunk
    assert training.chunk_steps(np.array([6, 8, 3]), 7) == 1
    _assert_same_state(_state(*_run(backend, 2, optimizer)[:2]), whole)


def test_chunk_size_is_a_function_of_the_shapes_only():
    sizes = np.array([784, 128, 10])
    assert training.chunk_steps(sizes, 32) == training.chunk_steps(sizes, 32)
    assert training.chunk_steps(sizes, 1) > training.chunk_steps(sizes, 32) >= 1
    assert training.chunk_steps(sizes, 32, python_steps=True) <= training.chunk_steps(sizes, 32)
    assert training.chunk_steps(np.array([4000, 4000, 4000]), 60000) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_interrupt_at_every_chunk_boundary_resumes_exactly(monkeypatch, backend):
    """Steps per epoch: ceil(120 / 7) = 18; chunks of 4 steps: 5 calls per epoch."""
    epochs = 3
    full_net, full_opt, full_hist = _run(backend, epochs)
    monkeypatch.setattr(training, "chunk_steps", lambda sizes, B, python_steps=False: 4)
    for k in range(1, 5 * epochs + 1):
        monkeypatch.setattr(training, "_run_epoch", _InterruptAtCall(k))
        net, opt, hist = _run(backend, epochs)
        monkeypatch.setattr(training, "_run_epoch", _InterruptAtCall(0))
        done = hist.epochs
        assert done == (k // 5 if k < 5 * epochs else epochs)
        assert hist.interrupted
        assert hist.steps == opt.t == 18 * done
        assert len(hist.loss) == len(hist.val_loss) == len(hist.lr) == done
        if done:
            _assert_same_state(_state(net, opt), _state(*_run(backend, done)[:2]))
        else:
            _assert_same_state(_state(net, opt), _state(*_run(backend, 0)[:2]))
        _, _, rest = _run(backend, epochs - done, initial_epoch=done, net=net, opt=opt)
        _assert_same_state(_state(net, opt), _state(full_net, full_opt))
        assert hist.loss + rest.loss == full_hist.loss
        assert hist.val_loss + rest.val_loss == full_hist.val_loss


@pytest.mark.parametrize("backend", BACKENDS)
def test_interrupt_at_random_moments_resumes_exactly(backend):
    rng = np.random.default_rng(1)
    X, y = _problem(3000, 6)
    epochs = 4

    def run(epochs, initial_epoch=0, net=None, opt=None, delay=None):
        net = net or fn.MLP([6, 64, 3], dtype="float32", random_state=0, backend=backend)
        opt = opt or fn.optim.Adam(backend=backend)
        out = []
        timer = threading.Timer(delay or 0, os.kill, (os.getpid(), signal.SIGINT))
        try:
            if delay is not None:
                timer.start()
            out.append(fn.fit(net, X, y, opt, epochs=epochs, batch_size=4, random_state=3,
                              initial_epoch=initial_epoch))
            if delay is not None:
                timer.join()
                time.sleep(0.05)           # a signal sent after fit returned lands here
        except KeyboardInterrupt:
            timer.join()
        return net, opt, (out[0] if out else None)

    start = time.perf_counter()
    full_net, full_opt, full_hist = run(epochs)
    duration = time.perf_counter() - start
    seen = 0
    for delay in rng.uniform(0, duration / 2, 6):
        net, opt, hist = run(epochs, delay=delay)
        if hist is None:                   # the signal came after fit had returned
            continue
        seen += 1
        assert hist.steps == opt.t == 750 * hist.epochs == 750 * len(hist.loss)
        run(epochs - hist.epochs, hist.epochs, net, opt)
        _assert_same_state(_state(net, opt), _state(full_net, full_opt))
    assert seen >= 3


@pytest.mark.parametrize("backend", COMPILED)
def test_interrupt_reaches_a_long_compiled_epoch_within_half_a_second(backend):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40000, 128)).astype(np.float32)
    y = rng.integers(0, 10, len(X))
    net = fn.MLP([128, 1024, 10], random_state=0, backend=backend)
    opt = fn.optim.Adam(backend=backend)
    fn.fit(net, X[:64], y[:64], opt, epochs=1, batch_size=16)        # compile, warm up
    before = _state(net, opt)
    sent = []
    timer = threading.Timer(0.3, lambda: (sent.append(time.perf_counter()),
                                          os.kill(os.getpid(), signal.SIGINT)))
    start = time.perf_counter()
    timer.start()
    try:
        hist = fn.fit(net, X, y, opt, epochs=1, batch_size=16)
        returned = time.perf_counter()
        timer.join()
        time.sleep(0.05)
    except KeyboardInterrupt:
        pytest.fail("the epoch ended before the interrupt: make the workload longer")
    assert sent
    assert hist.interrupted and hist.epochs == 0 and hist.steps == 0 and hist.loss == []
    assert returned - sent[0] < 0.5, f"interrupt seen after {returned - sent[0]:.2f} s"
    assert returned - start < 2.0
    _assert_same_state(_state(net, opt), before)


def test_a_foreign_sigint_handler_is_left_alone_and_the_epoch_still_undone(monkeypatch):
    """With another SIGINT handler installed fit does not defer; a
    KeyboardInterrupt raised mid-epoch still undoes that epoch."""
    def handler(signum, frame):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGINT, handler)
    try:
        monkeypatch.setattr(training, "chunk_steps", lambda sizes, B, python_steps=False: 4)
        monkeypatch.setattr(training, "_run_epoch", _InterruptAtCall(7))
        net, opt, hist = _run("numpy", 3)
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, previous)
    monkeypatch.setattr(training, "_run_epoch", _InterruptAtCall(0))
    assert hist.interrupted and hist.epochs == 1 and hist.steps == opt.t == 18
    _assert_same_state(_state(net, opt), _state(*_run("numpy", 1)[:2]))


def test_fit_restores_the_default_handler():
    _run("numpy", 1)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
