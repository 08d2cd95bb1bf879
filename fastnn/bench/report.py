"""BENCHMARKS.md and benchmarks.json from a run's results: every number in the
Markdown comes from the same JSON, so no table can contradict another."""
import json
import os
from statistics import median

import numpy as np

from ..tuning import markdown_table
from . import machine, targets, timing
from .machine import BLAS_OVERRIDES

FIGURES = {"cases": "docs/benchmarks.png", "race": "docs/mnist5k.png"}


def machine_facts():
    """CPU, versions, the BLAS overrides the parent's environment had and the
    BLAS that fastnn's Cython kernels call (blas_provider.py)."""
    return {**machine.cpu(), "versions": machine.versions(),
            "overrides": {k: os.environ[k] for k in BLAS_OVERRIDES if k in os.environ},
            "cython_blas": machine.cython_blas()}


def write(result, out_dir):
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "benchmarks.json").write_text(json.dumps(result, indent=1))
    (out_dir / "BENCHMARKS.md").write_text(render(result))


def fmt(x, digits=3):
    """``x`` to ``digits`` significant digits (n/a for None)."""
    if x is None:
        return "n/a"
    return f"{x:.{digits}g}" if 1e-4 <= abs(x) < 1e5 or x == 0 else f"{x:.{digits - 1}e}"


def ratio_of(row, name, reference):
    contenders = row["contenders"]
    if name not in contenders or reference not in contenders:
        return None
    return timing.ratio(timing.clean_runs(contenders[name]),
                        timing.clean_runs(contenders[reference]))


def ratio_text(r):
    """'3.10 [2.95-3.31]', 'unreliable (1.2-2.5)' or 'disturbed'."""
    if r is None:
        return "-"
    if r["verdict"] == "disturbed":
        return "disturbed"
    spread = f"{fmt(r['min'])}-{fmt(r['max'])}"
    return f"unreliable ({spread})" if r["verdict"] == "unreliable" else \
        f"{fmt(r['median'])} [{spread}]"


def seconds_text(entry):
    """Median seconds per run; '*' when a disturbed run had to be kept."""
    s = timing.summary(entry["runs"])
    return fmt(s["median_s"]) + (" *" if s["disturbed"] else "")


def cell(row, name, text):
    if name in row["failed"]:
        return "failed"
    return text(row["contenders"][name]) if name in row["contenders"] else "-"


def rows_at(result, threads, races):
    cases = {c["name"]: c for c in result["cases"]}
    return [r for r in result["results"]
            if r["threads"] == threads and (cases[r["case"]]["target"] is not None) == races]


def names(result):
    return [c["name"] for c in result["contenders"]]


def seconds_table(result, threads):
    rows = rows_at(result, threads, races=False)
    columns = {"case": [r["case"] for r in rows],
               "runs": [str(r.get("repeats", 1)) for r in rows],
               "floor s": [fmt(r["floor"]["floor_s"]) for r in rows],
               "GEMM GFLOP/s": [fmt(r["floor"]["gemm_flops_per_s"] / 1e9) for r in rows]}
    for name in names(result):
        columns[name] = [cell(r, name, seconds_text) for r in rows]
    return markdown_table(columns)


def ratio_table(result, threads):
    rows = rows_at(result, threads, races=False)
    ref = result["reference"]
    columns = {"case": [r["case"] for r in rows],
               f"{ref} / floor": [cell(r, ref, lambda e, r=r: fmt(
                   timing.summary(e["runs"])["median_s"] / r["floor"]["floor_s"])) for r in rows]}
    for name in names(result):
        if name != ref:
            columns[name] = [ratio_text(ratio_of(r, name, ref)) for r in rows]
    return markdown_table(columns)


def race_table(result, threads, row):
    """One row per contender of a race: time to the target and what it reached."""
    case = next(c for c in result["cases"] if c["name"] == row["case"])
    ref = result["reference"]
    lines = {"contender": [], f"s to {case['target']:.0%}": [], "epochs": [],
             "best accuracy": [], f"time / {ref}": []}
    for name, entry in row["contenders"].items():
        reached = timing.clean_runs(entry)
        lines["contender"].append(name)
        lines[f"s to {case['target']:.0%}"].append(
            f"{seconds_text({'runs': reached})} [{fmt(min(r['seconds'] for r in reached))}-"
            f"{fmt(max(r['seconds'] for r in reached))}]" if reached else
            f"not reached in {case['epochs']} epochs")
        lines["epochs"].append(str(median(len(r["curve"]) - 1 for r in entry["runs"])))
        lines["best accuracy"].append(f"{max(a for r in entry['runs'] for _, a in r['curve']):.3f}")
        lines[f"time / {ref}"].append(ratio_text(ratio_of(row, name, ref)) if name != ref else "1")
    return markdown_table(lines)


def check_text(result, case, name, check, repeat):
    """The disagreement with the reference, marked **FAIL** above its
    tolerance or when a timed run did not end where the checked run did."""
    eps_hat = case["optimizer"] == "adam" and next(
        c["eps_hat"] for c in result["contenders"] if c["name"] == name)
    tol = result["eps_hat_tolerance"] if eps_hat else result["check_tolerance"]
    text = fmt(check, 2) + (" (eps-hat)" if eps_hat else "")
    if repeat > result["check_tolerance"]:
        return text + f" **FAIL: timed runs differ by {fmt(repeat, 2)}**"
    return text + ("" if check <= tol else " **FAIL**")


def targets_table(judged):
    """:func:`targets.judge`'s rows as a table, with a count of those met."""
    measured = {"ratio": ratio_text, "times": lambda x: f"{x:.2f}x",
                "us": lambda x: f"{x:.3g} us", "plain": fmt}
    met = sum(verdict == "met" for _, _, verdict, _ in judged)
    return (f"{met} of {len(judged)} targets met.\n\n"
            + markdown_table({"target": [t for t, _, _, _ in judged],
                              "measured": [measured[kind](x) for _, (kind, x), _, _ in judged],
                              "met/missed": [v for _, _, v, _ in judged],
                              "target time / floor": ["-" if a is None else fmt(a)
                                                      for _, _, _, a in judged]}))


def targets_text(result):
    return (f"From this run's own numbers: {result['reference']} against the peer the target "
            f"names (else the fastest peer of the case, least median seconds), medians of "
            f"per-round ratios; an unreliable or disturbed ratio is no result. Floors as above; "
            f"speed-ups are median seconds at 1 thread / at 2 threads. 'target time / floor' is "
            f"the time a ratio target allows (its limit times the peer's median seconds) "
            f"over the case's floor: below 1, the target asks for less time than the "
            f"case's GEMMs take in NumPy's BLAS."
            + (" Quick mode: smaller runs than the targets are set for." if result["quick"]
               else ""))


def short_check_text(result):
    """The note on cases cross-checked on their first steps (``Case.checked``)."""
    short = [f"{c['name']} (first {c['check_steps']} steps)" for c in result["cases"]
             if c.get("check_steps")]
    if not short:
        return []
    return [f"Checked on their first steps: {', '.join(short)}. Their whole run is chaotic "
            f"in float32: any two float32 computations of it (backends, BLAS thread counts, "
            f"peers) end 0.05-0.09 apart, and two float64 runs whose initial weights differ "
            f"by float32 rounding (6e-8) 0.005-0.05 apart, so the whole run's weights cannot "
            f"tell a different rule from rounding. Adam's first step moves every weight by +-eta "
            f"(flipping ReLU patterns), and a weight whose gradient is at rounding level "
            f"moves by +-eta either way; the first steps are still within the tolerance."]


def check_table(result):
    """Per case, the largest disagreements of each contender over all thread counts."""
    cases = {c["name"]: c for c in result["cases"]}
    worst = {}
    for row in result["results"]:
        for name, entry in row["contenders"].items():
            key = (row["case"], name)
            check, repeat = worst.get(key, (0.0, 0.0))
            worst[key] = (max(check, entry["check"]), max(repeat, entry["repeat"]))
    measured = list(dict.fromkeys(r["case"] for r in result["results"]))
    columns = {"case": measured}
    for name in names(result):
        columns[name] = ["-" if (c, name) not in worst else
                         check_text(result, cases[c], name, *worst[c, name]) for c in measured]
    return markdown_table(columns)


def blas_text(pools):
    """The distinct thread pools the workers at one thread count loaded."""
    seen = dict.fromkeys(
        " ".join(filter(None, (p["internal_api"], p.get("version"))))
        + (f" ({p['architecture']})" if p.get("architecture") else "")
        + f": {p['num_threads']} thread{'s' * (p['num_threads'] != 1)}"
        for worker in pools.values() for p in worker)
    return "; ".join(seen)


def machine_section(result):
    m = result["machine"]
    overrides = ", ".join(f"{k}={v}" for k, v in m["overrides"].items())
    lines = [f"- CPU: {m['model']}, {m['cores']} cores, {' '.join(m['isa'])}",
             "- BLAS override in the environment: " + (
                 f"{overrides}, **unset in the benchmark's workers**" if overrides else "none")]
    if m.get("cython_blas"):
        lines.append(f"- fastnn[cython]'s BLAS: {m['cython_blas']}")
    for t in result["threads"]:
        key = str(t)
        lines.append(f"- {t} thread{'s' * (t > 1)}: float32 GEMM 2048^3 "
                     f"{fmt(result['peak'][key] / 1e9)} GFLOP/s; thread pools (threadpoolctl, "
                     f"in the workers): {blas_text(result['pools'][key])}")
    lines.append("- Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items()))
    return "\n".join(lines)


def method_section(result):
    noise = result["noise"]
    return "\n".join([
        f"- Every contender runs in its own worker process, started with its thread count "
        f"(OMP/OPENBLAS/MKL/NUMBA_NUM_THREADS, threadpoolctl, torch.set_num_threads, and the "
        f"process's CPU affinity, which sizes XLA's pool). {result['rounds']} interleaved "
        f"rounds; round r runs the contenders in the order rotated by r.",
        "- Before its rounds each contender does one untimed run from the shared initial "
        "weights (imports, compiles, caches; JAX keeps its compiled programs in its "
        "persistent cache, ~/.cache/fastnn/jax); its final weights are the cross-check below.",
        "- Each timed run follows an untimed run of the same job with no pause between, so that "
        "it starts on awake cores; a race's epochs are timed one after another.",
        f"- A case whose floor (below) is under {noise.get('repeat_seconds', 0)} s is timed "
        f"in each round as the best of enough back-to-back runs (each from the reset job) for "
        f"the floors to fill that time, at most {noise.get('max_repeats', 1)}: the same "
        f"number for every contender of the case (column 'runs' of the seconds table).",
        f"- Around every timed run the worker reads the CPU time of the whole machine "
        f"(/proc/stat) and its own: a run during which other processes used more than "
        f"{noise['core_fraction']} of a core is **disturbed**, "
        + (f"repeated up to {noise['retries']} times, then kept" if noise["retries"] else
           "kept (--quick repeats none)") + " and marked `*`.",
        f"- Ratios are medians of per-round ratios t / t_{result['reference']} over the rounds "
        f"where neither run was disturbed, with their [min-max]; rounds that disagree by more "
        f"than x{noise['spread_limit']} print **unreliable**, fewer than two clean rounds "
        f"**disturbed**: neither is a result.",
        "- The floor of a case is its GEMMs at its shapes (NumPy's BLAS on the same threads or "
        "on one, whichever is faster, measured in this run, best of 5) plus its optimizer's "
        "memory traffic (SGD 12, Adam 28 bytes per parameter per step) at the copy bandwidth "
        "of an in-cache buffer. It bounds an implementation that calls BLAS for these GEMMs; "
        "one that never forms the gradient (a fused B=1 update) can go below it.",
    ])


def render(result):
    """The BENCHMARKS.md text of ``result``."""
    quick = " (quick mode: smaller runs, not comparable to the full matrix)" \
        if result["quick"] else ""
    parts = ["# fastnn benchmarks",
             f"Command: `{result['command']}`{quick}  \nRun {result['date']}, took "
             f"{fmt(result.get('elapsed_s'))} s.",
             "## Machine", machine_section(result),
             "## Method", method_section(result),
             "## Workloads",
             markdown_table({"case": [c["name"] for c in result["cases"]],
                             "network, data, batch, optimizer, one run":
                                 [c["describe"] for c in result["cases"]]}),
             "Contenders: " + ", ".join(f"{c['name']} ({c['kind']})"
                                        for c in result["contenders"])
             + ". fastnn runs `fastnn.fit`; JAX uses optax; `NumPy by hand` is a peer: the "
               "loop one writes without a framework.",
             f"![seconds per run]({FIGURES['cases']})"]
    for t in result["threads"]:
        plural = "s" * (t > 1)
        if rows_at(result, t, races=False):
            parts += [f"## {t} thread{plural}: seconds per run (median)",
                      seconds_table(result, t),
                      f"### {t} thread{plural}: time relative to {result['reference']}",
                      ratio_table(result, t)]
        for row in rows_at(result, t, races=True):
            parts += [f"## {t} thread{plural}: {row['case']}, time to accuracy",
                      race_table(result, t, row)]
    if any(rows_at(result, t, races=True) for t in result["threads"]):
        parts.append(f"![accuracy vs seconds]({FIGURES['race']})")
    judged = targets.judge(result)
    if judged:
        parts += ["## Targets of the performance issue", targets_text(result),
                  targets_table(judged)]
    parts += ["## Same computation: final weights against "
              f"{result['reference']}",
              f"||w - w_ref|| / ||w_ref - w_0|| after one run from the same initial weights: "
              f"passes at <= {result['check_tolerance']} (float32 rounding); scikit-learn's Adam "
              f"adds eps in the 'epsilon-hat' form, a different rule: <= "
              f"{result['eps_hat_tolerance']}. Every timed run must also end within "
              f"{result['check_tolerance']} of the contender's checked run (the same run "
              f"repeated), else **FAIL**.", *short_check_text(result), check_table(result)]
    failures = [f"{r['case']} ({r['threads']} threads): {name} failed: {err}"
                for r in result["results"] for name, err in r["failed"].items()]
    if result["notes"] or failures:
        parts += ["## Notes", "\n".join(f"- {n}" for n in result["notes"] + failures)]
    return "\n\n".join(parts) + "\n"


def one_line(row, reference):
    """A case's result in one line, for the terminal."""
    parts = [f"{row['case']} [{row['threads']} thr] floor {fmt(row['floor']['floor_s'])} s"]
    for name, entry in row["contenders"].items():
        runs = timing.clean_runs(entry) or entry["runs"]
        parts.append(f"{name} {seconds_text({'runs': runs})} s")
    return "; ".join(parts + [f"{n} FAILED" for n in row["failed"]])
