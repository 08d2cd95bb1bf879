"""The performance issue's targets, judged from one run's own numbers.

Ratios are fastnn's default backend (the report's reference) against a peer:
medians of per-round ratios t_fastnn / t_peer over the clean rounds
(:func:`timing.ratio`), against JAX with the run in one ``lax.scan`` where the
target names it, else against the fastest peer of the case (least median
seconds). A ratio that is unreliable or disturbed is no result: the target
reads "no result", never met. Speed-ups are median seconds at 1 thread over
median seconds at 2 threads (the two are measured in different phases, so
there are no common rounds).

Each ratio target also states the time it asks for against the case's floor
(the limit times the peer's median seconds, over the floor's seconds): below
1, meeting it takes less time than NumPy's BLAS needs for the case's GEMMs.
"""
from . import timing
from .timing import clean_runs

JAX_SCAN = "JAX lax.scan"
FASTEST = None                  # the fastest peer of the case

# case -> (peer, at most this ratio); cases not named (but those of EPOCH_SECONDS): the
# fastest peer, DEFAULT.
DEFAULT = 0.8
RATIOS = {"mnist-sgd-b1": (JAX_SCAN, 0.4), "mnist-adam-b1": (JAX_SCAN, 0.5),
          "mnist-sgd-b32": (FASTEST, 0.7), "mnist-adam-b32": (FASTEST, 0.7),
          **{f"mnist-{o}-{b}": (FASTEST, 0.85) for o in ("sgd", "adam") for b in ("b256", "full")},
          **{f"tiny-{g}": (JAX_SCAN, 0.5) for g in ("tanh", "sigmoid", "relu")}}
FLOOR = {f"mnist-{o}-{b}": 1.15 for o in ("sgd", "adam") for b in ("b256", "full")}
EPOCH_SECONDS = {"xor": 3e-6}
SPEEDUP = 1.7
SPEEDUP_CASES = ("mnist-sgd-full", "mnist-adam-full", "mnist-sgd-b256", "mnist-adam-b256",
                 "wide", "tiny-tanh", "tiny-sigmoid", "tiny-relu")


def judge(result):
    """[(target, measured, verdict, asks)] for every target the run measured:
    measured is (kind, value), kind "ratio" (a :func:`timing.ratio` dict),
    "plain", "us" or "times"; verdict "met", "missed" or "no result"; asks the
    time a ratio target allows over the case's floor (None for the others)."""
    ref = result["reference"]
    cases = {c["name"]: c for c in result["cases"]}
    peers = {c["name"] for c in result["contenders"] if c["kind"] == "peer"}
    rows = []
    for row in result["results"]:
        entry = row["contenders"].get(ref)
        if entry is None:
            continue
        where = f"{row['case']}, {row['threads']} thr"
        if row["case"] not in EPOCH_SECONDS:      # xor's target is its time per epoch
            rows.append(ratio_target(row, ref, peers, where))
        if row["case"] in FLOOR:
            ratio = median_seconds(entry) / row["floor"]["floor_s"]
            rows.append((f"{where}: {ref} <= {FLOOR[row['case']]}x the floor", ("plain", ratio),
                         verdict(ratio <= FLOOR[row["case"]]), None))
        if row["case"] in EPOCH_SECONDS:
            limit = EPOCH_SECONDS[row["case"]]
            per_epoch = median_seconds(entry) / cases[row["case"]]["epochs"]
            rows.append((f"{where}: {ref} <= {limit * 1e6:g} us per epoch",
                         ("us", per_epoch * 1e6), verdict(per_epoch <= limit), None))
    return [r for r in rows if r is not None] + speedups(result, ref)


def ratio_target(row, ref, peer_names, where):
    """(target, measured, verdict, asks) of the case's ratio, None without its peer."""
    peer, limit = RATIOS.get(row["case"], (FASTEST, DEFAULT))
    peers = [n for n, e in row["contenders"].items() if n in peer_names and clean_runs(e)]
    if peer is FASTEST:
        peer = min(peers, key=lambda n: median_seconds(row["contenders"][n]), default=None)
    if peer not in peers:
        return None
    r = timing.ratio(clean_runs(row["contenders"][ref]), clean_runs(row["contenders"][peer]))
    judged = "no result" if r["verdict"] != "ok" else verdict(r["median"] <= limit)
    asks = limit * median_seconds(row["contenders"][peer]) / row["floor"]["floor_s"]
    return f"{where}: {ref} <= {limit}x {peer}", ("ratio", r), judged, asks


def speedups(result, ref):
    """The 2-thread / 1-thread speed-up rows of the cases measured at both."""
    seconds = {(r["case"], r["threads"]): median_seconds(r["contenders"][ref])
               for r in result["results"] if ref in r["contenders"]}
    rows = []
    for case in SPEEDUP_CASES:
        if (case, 1) in seconds and (case, 2) in seconds:
            s = seconds[case, 1] / seconds[case, 2]
            rows.append((f"{case}: {ref} 1 thr / 2 thr >= {SPEEDUP}x", ("times", s),
                         verdict(s >= SPEEDUP), None))
    return rows


def median_seconds(entry):
    return timing.summary(clean_runs(entry) or entry["runs"])["median_s"]


def verdict(ok):
    return "met" if ok else "missed"
