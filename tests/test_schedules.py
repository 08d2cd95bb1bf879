"""Schedules: hand-computed closed forms, PyTorch's lr_scheduler where the
rules coincide, huge step counts, the validation-driven rules, bad input."""
import math

import numpy as np
import pytest

from fastnn import schedules as S

T_HUGE = 10**9


def every_schedule():
    return [
        S.Constant(0.1),
        S.StepDecay(0.1, every=3, factor=0.3),
        S.ExponentialDecay(0.1, k=0.01),
        S.InverseTimeDecay(0.1, k=0.5),
        S.MomentumSchedule(0.99, every=2),
        S.Cyclical(0.01, 0.1, step_size=5),
        S.CosineRestarts(0.01, 0.1, T=7),
        S.CosineRestarts(0.01, 0.1, T=3, t_mult=2),
        S.CosineRestarts(0.01, 0.1, T=4, t_mult=1),
        S.Warmup(S.CosineRestarts(0.0, 0.1, T=5), steps=4, start=0.01),
        S.Warmup(S.StepDecay(0.1, every=2), steps=3),
        S.ValidationDecay(0.1),
        S.ReduceOnPlateau(0.1),
    ]


# --------------------------------------------------------------------------
# Closed forms, computed by hand
# --------------------------------------------------------------------------

def test_constant():
    assert S.Constant(0.25)(0) == 0.25
    assert S.Constant(0.25)(T_HUGE) == 0.25


def test_step_decay_halves_every_k():
    s = S.StepDecay(0.8, every=5)                     # the notes: halve every 5 epochs
    assert [s(t) for t in (0, 4, 5, 9, 10, 14, 15)] == [0.8, 0.8, 0.4, 0.4, 0.2, 0.2, 0.1]


def test_exponential_decay_is_eta0_times_e_to_minus_kt():
    s = S.ExponentialDecay(2.0, k=0.5)
    assert s(0) == 2.0
    assert s(4) == pytest.approx(2.0 * 0.1353352832366127, rel=1e-15)   # e^-2


def test_inverse_time_decay():
    s = S.InverseTimeDecay(0.75, k=0.5)
    assert [s(t) for t in (0, 2, 6)] == [0.75, 0.375, 0.1875]


def test_momentum_schedule_of_sutskever():
    s = S.MomentumSchedule(0.9)
    # m = floor(t/250) + 1 -> 1 - 2^(-1 - log2 m) = 1 - 1/(2m): 1/2, 3/4, 5/6, then beta_max
    assert [s(t) for t in (0, 249, 250, 499, 500)] == [0.5, 0.5, 0.75, 0.75, 1 - 1 / 6]
    assert s(1000) == 0.9                              # 1 - 1/10 = 0.9 reaches beta_max
    assert s(T_HUGE) == 0.9
    assert S.MomentumSchedule(0.0)(0) == 0.0


def test_cyclical_triangle():
    s = S.Cyclical(0.0, 1.0, step_size=4)
    assert list(s.values(0, 10)) == [0, 0.25, 0.5, 0.75, 1, 0.75, 0.5, 0.25, 0, 0.25]


def test_cosine_restarts_notes_formula():
    s = S.CosineRestarts(1.0, 3.0, T=4)                # period T + 1 = 5
    expected = [3.0, 2 + math.sqrt(0.5), 2.0, 2 - math.sqrt(0.5), 1.0]
    np.testing.assert_allclose(s.values(0, 10), expected * 2, rtol=1e-15)


def test_cosine_restarts_sgdr_periods_grow():
    s = S.CosineRestarts(0.0, 2.0, T=2, t_mult=2)      # periods 2, 4, 8 start at 0, 2, 6
    expected = [2, 1, 2, 1 + math.sqrt(0.5), 1, 1 - math.sqrt(0.5), 2]
    np.testing.assert_allclose(s.values(0, 7), expected, rtol=1e-15, atol=1e-15)


def test_warmup_ramps_then_shifts_the_wrapped_schedule():
    s = S.Warmup(S.StepDecay(1.0, every=2), steps=4, start=0.0)
    assert list(s.values(0, 9)) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.5, 0.25]


def test_warmup_of_warmup_composes():
    s = S.Warmup(S.Warmup(S.Constant(1.0), steps=2, start=0.5), steps=2, start=0.0)
    assert list(s.values(0, 6)) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0]


def test_huge_step_counts_are_finite_and_exact():
    t = T_HUGE
    assert S.StepDecay(0.1, every=10**8)(t) == 0.1 / 1024
    assert S.StepDecay(0.1, every=1)(t) == 0.0                 # underflow, not NaN
    assert S.ExponentialDecay(0.1, k=1e-9)(t) == pytest.approx(0.1 / math.e, rel=1e-12)
    assert S.InverseTimeDecay(0.1, k=1e-9)(t) == pytest.approx(0.05, rel=1e-15)
    assert S.MomentumSchedule(1 - 1e-12)(t) == 1 - 1 / 8000002  # m = 4 000 001
    cyc = S.Cyclical(0.0, 1.0, step_size=4)
    assert [cyc(t + i) for i in range(3)] == [0.0, 0.25, 0.5]   # 10^9 % 8 == 0
    cos = S.CosineRestarts(0.0, 1.0, T=4)
    assert [cos(t), cos(t + 4)] == [1.0, 0.0]                  # 10^9 % 5 == 0
    sgdr = S.CosineRestarts(0.0, 1.0, T=1, t_mult=2)           # period n starts at 2^n - 1
    assert sgdr(2**30 - 1) == 1.0
    t_cur, t_i = t - (2**29 - 1), 2**29
    assert sgdr(t) == pytest.approx((1 + math.cos(math.pi * t_cur / t_i)) / 2, rel=1e-12)
    assert S.Warmup(S.Constant(0.1), steps=10)(t) == 0.1


@pytest.mark.parametrize("s", every_schedule(), ids=repr)
@pytest.mark.parametrize("t0, n", [(0, 40), (17, 1), (5, 0), (T_HUGE, 300)])
def test_values_equal_the_calls_exactly(s, t0, n):
    got = s.values(t0, n)
    assert got.dtype == np.float64 and got.shape == (n,)
    assert np.array_equal(got, np.array([s(t) for t in range(t0, t0 + n)], dtype=np.float64))


@pytest.mark.parametrize("s", every_schedule(), ids=repr)
def test_repr_rebuilds_the_schedule(s):
    assert repr(eval(repr(s), vars(S))) == repr(s)


# --------------------------------------------------------------------------
# Validation-driven schedules
# --------------------------------------------------------------------------

def test_validation_decay_on_a_hand_made_sequence():
    s = S.ValidationDecay(0.1, factor=0.5)
    assert s.is_validation_driven
    seen = []
    for val_error in [1.0, 0.8, 0.9, 0.7, 0.7, 0.75, 0.76, 0.5]:
        s.update(val_error)
        seen.append(s(123))                                 # t is ignored
    assert seen == [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.0125, 0.0125]


def test_reduce_on_plateau_with_negative_losses():
    s = S.ReduceOnPlateau(0.1, factor=0.5, patience=1, threshold=1e-3)
    seen = []
    # -1.00001 and -1.0005 are not below best - 1e-3 |best| = -1.001: plateau
    for loss in [-1.0, -1.00001, -1.0005, -1.5, -1.4, -1.4, -1.6]:
        s.update(loss)
        seen.append(s(0))
    assert seen == [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025]
    assert s.best == -1.6 and s.bad_epochs == 0


def test_reduce_on_plateau_stops_at_min_lr():
    s = S.ReduceOnPlateau(1.0, factor=0.1, patience=0, min_lr=0.05)
    for loss in [3.0, 3.0, 3.0, 3.0]:
        s.update(loss)
    assert s(0) == 0.05


@pytest.mark.parametrize("make", [
    lambda: S.ValidationDecay(0.1),
    lambda: S.ReduceOnPlateau(0.1, patience=1),
    lambda: S.Warmup(S.ReduceOnPlateau(0.1, patience=1), steps=3),
])
def test_state_dict_round_trip_resumes(make):
    metrics = [-2.0, -1.0, -1.5, -1.0, -0.5, -3.0, -2.0, -1.0]
    first, second = make(), make()
    assert first.is_validation_driven
    for m in metrics[:4]:
        first.update(m)
    second.load_state_dict(first.state_dict())
    for m in metrics[4:]:
        first.update(m)
        second.update(m)
        assert first.values(0, 5).tolist() == second.values(0, 5).tolist()
    assert first.state_dict() == second.state_dict()


def test_closed_form_schedules_take_no_metric():
    s = S.StepDecay(0.1, every=2)
    assert not s.is_validation_driven and s.state_dict() == {}
    s.load_state_dict({})
    with pytest.raises(TypeError, match="not validation-driven"):
        s.update(1.0)
    with pytest.raises(ValueError, match="state"):
        s.load_state_dict({"current": 1.0})


# --------------------------------------------------------------------------
# PyTorch's lr_scheduler, where the rules coincide
# --------------------------------------------------------------------------

def torch_rates(make_scheduler, n, lr):
    """The lr PyTorch uses at steps 0 .. n-1 (record, optimizer step, scheduler step)."""
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = make_scheduler(opt, torch.optim.lr_scheduler)
    rates = []
    for _ in range(n):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return np.array(rates)


@pytest.mark.parametrize("ours, theirs, lr, n", [
    (S.StepDecay(0.1, every=4, factor=0.3),
     lambda o, L: L.StepLR(o, step_size=4, gamma=0.3), 0.1, 40),
    (S.Cyclical(0.01, 0.1, step_size=7),
     lambda o, L: L.CyclicLR(o, 0.01, 0.1, step_size_up=7, cycle_momentum=False), 0.1, 60),
    (S.ExponentialDecay(0.1, k=0.05),
     lambda o, L: L.ExponentialLR(o, gamma=math.exp(-0.05)), 0.1, 60),
    (S.InverseTimeDecay(0.1, k=0.3),
     lambda o, L: L.LambdaLR(o, lambda t: 1 / (1 + 0.3 * t)), 0.1, 40),
    (S.MomentumSchedule(0.995, every=3),            # the notes' log2 form, verbatim
     lambda o, L: L.LambdaLR(o, lambda t: min(1 - 2 ** (-1 - math.log2(t // 3 + 1)), 0.995)),
     1.0, 400),
    (S.CosineRestarts(0.01, 0.1, T=6),              # first period = cosine annealing, T_max = T
     lambda o, L: L.CosineAnnealingLR(o, T_max=6, eta_min=0.01), 0.1, 7),
    (S.CosineRestarts(0.01, 0.1, T=5, t_mult=1),
     lambda o, L: L.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=1, eta_min=0.01), 0.1, 40),
    (S.CosineRestarts(0.01, 0.1, T=3, t_mult=2),
     lambda o, L: L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01), 0.1, 60),
    (S.Warmup(S.Constant(0.1), steps=5, start=0.02),
     lambda o, L: L.LinearLR(o, start_factor=0.2, total_iters=5), 0.1, 12),
    (S.Warmup(S.CosineRestarts(0.01, 0.1, T=3, t_mult=2), steps=5, start=0.02),
     lambda o, L: L.SequentialLR(o, [L.LinearLR(o, start_factor=0.2, total_iters=5),
                                     L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2,
                                                                   eta_min=0.01)],
                                 milestones=[5]), 0.1, 40),
], ids=lambda v: repr(v) if isinstance(v, S.Schedule) else None)
def test_equals_torch_lr_scheduler(ours, theirs, lr, n):
    expected = torch_rates(theirs, n, lr)
    np.testing.assert_allclose(ours.values(0, n), expected, rtol=1e-12, atol=1e-15)


def test_reduce_on_plateau_equals_torch_for_positive_losses():
    losses = [1.0, 0.9, 0.95, 0.9, 0.91, 0.8, 0.80001, 0.85, 0.9, 0.7, 0.71, 0.72, 0.73]
    ours = S.ReduceOnPlateau(0.1, factor=0.5, patience=1, threshold=1e-3)
    torch = pytest.importorskip("torch")
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1,
                                                        threshold=1e-3, eps=0.0)
    for loss in losses:
        ours.update(loss)
        opt.step()
        theirs.step(loss)
        assert ours(0) == opt.param_groups[0]["lr"]
    assert ours(0) < 0.1 / 4                             # the sequence did reduce


# --------------------------------------------------------------------------
# get() and bad input
# --------------------------------------------------------------------------

def test_get_builds_by_name():
    s = S.get("Cosine-Restarts", lr_min=1e-4, lr_max=1e-2, T=10)
    assert isinstance(s, S.CosineRestarts) and s.T == 10
    assert isinstance(S.get("reduce_on_plateau", lr=0.1), S.ReduceOnPlateau)
    with pytest.raises(ValueError, match="name"):
        S.get("linear", lr=0.1)


@pytest.mark.parametrize("make, name", [
    (lambda: S.Constant(-0.1), "lr"),
    (lambda: S.Constant(float("nan")), "lr"),
    (lambda: S.StepDecay(0.1, every=0), "every"),
    (lambda: S.StepDecay(0.1, every=2, factor=0.0), "factor"),
    (lambda: S.StepDecay(0.1, every=2, factor=1.5), "factor"),
    (lambda: S.ExponentialDecay(0.1, k=-1.0), "k"),
    (lambda: S.InverseTimeDecay(0.1, k=float("inf")), "k"),
    (lambda: S.MomentumSchedule(1.0), "beta_max"),
    (lambda: S.MomentumSchedule(0.9, every=0), "every"),
    (lambda: S.Cyclical(0.2, 0.1, step_size=3), "lr_min"),
    (lambda: S.Cyclical(0.0, 0.1, step_size=0), "step_size"),
    (lambda: S.CosineRestarts(-0.1, 0.1, T=3), "lr_min"),
    (lambda: S.CosineRestarts(0.2, 0.1, T=3), "lr_min"),
    (lambda: S.CosineRestarts(0.0, 0.1, T=0), "T"),
    (lambda: S.CosineRestarts(0.0, 0.1, T=3, t_mult=0), "t_mult"),
    (lambda: S.Warmup(S.Constant(0.1), steps=0), "steps"),
    (lambda: S.Warmup(S.Constant(0.1), steps=3, start=-1.0), "start"),
    (lambda: S.ValidationDecay(0.1, factor=2.0), "factor"),
    (lambda: S.ReduceOnPlateau(0.1, patience=-1), "patience"),
    (lambda: S.ReduceOnPlateau(0.1, threshold=-1e-4), "threshold"),
    (lambda: S.ReduceOnPlateau(0.1, min_lr=0.2), "min_lr"),
    (lambda: S.ReduceOnPlateau(0.1).update(float("nan")), "metric"),
    (lambda: S.Constant(0.1)(-1), "t"),
    (lambda: S.Constant(0.1).values(-1, 3), "t0"),
    (lambda: S.Constant(0.1).values(0, -3), "n"),
])
def test_bad_arguments_raise_value_error_naming_them(make, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        make()


@pytest.mark.parametrize("make, name", [
    (lambda: S.StepDecay(0.1, every=2.5), "every"),
    (lambda: S.CosineRestarts(0.0, 0.1, T=3, t_mult=1.5), "t_mult"),
    (lambda: S.Constant("fast"), "lr"),
    (lambda: S.Constant(0.1)(1.5), "t"),
    (lambda: S.Warmup(lambda t: 0.1, steps=3), "schedule"),
])
def test_wrong_types_raise_type_error_naming_them(make, name):
    with pytest.raises(TypeError, match=rf"\b{name}\b"):
        make()
