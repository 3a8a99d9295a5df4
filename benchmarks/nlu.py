"""Reply classifier speed and memory: batch throughput, single-reply latency, resident size.

    python benchmarks/nlu.py [--replies 20000] [--singles 3000]

Runs on one core (CPU affinity and BLAS threads pinned) over the labelled replies in
nlu/data, repeated to the requested count, and prints a Markdown table.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# This file is named nlu.py: drop its own folder from the path so `import nlu` is the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import itertools  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402


def _rss_mb(field: str = "VmRSS") -> float:
    """Resident set size of this process in MB, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _pin_one_core() -> str:
    """Run on a single CPU so throughput is per core."""
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"cpu {cpu}"
    return "unpinned"


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=20_000)
    parser.add_argument("--singles", type=int, default=3_000)
    args = parser.parse_args()
    core = _pin_one_core()
    base_rss = _rss_mb()

    from nlu import Classifier
    from nlu.dataset import TEST_FILE, TRAIN_FILE, load_replies

    imported_rss = _rss_mb()
    started = time.perf_counter()
    clf = Classifier()
    load_s = time.perf_counter() - started
    data = load_replies(TEST_FILE) + load_replies(TRAIN_FILE)
    pool = list(itertools.islice(itertools.cycle(data), args.replies))
    texts, contexts = [r.text for r in pool], [r.context for r in pool]
    clf.classify_many(texts[:1000], contexts[:1000])  # warm-up

    started = time.perf_counter()
    clf.classify_many(texts, contexts)
    batch_s = time.perf_counter() - started

    latencies = []
    for text, context in zip(texts[: args.singles], contexts[: args.singles], strict=True):
        t0 = time.perf_counter()
        clf.classify(text, context)
        latencies.append((time.perf_counter() - t0) * 1000)
    cuts = statistics.quantiles(latencies, n=100)
    rss = _rss_mb()
    rows = [
        ("run on", core),
        ("model load", f"{load_s:.2f} s"),
        (
            f"batch throughput ({args.replies} replies, classify_many)",
            f"{args.replies / batch_s:,.0f} replies/s",
        ),
        (f"single reply p50 ({args.singles} calls, classify)", f"{cuts[49]:.3f} ms"),
        ("single reply p99", f"{cuts[98]:.3f} ms"),
        ("RSS after load and runs", f"{rss:.0f} MB (peak {_rss_mb('VmHWM'):.0f} MB)"),
        ("RSS of model and pipeline (minus interpreter, spaCy import)", f"{rss - imported_rss:.0f} MB"),
        ("RSS of interpreter before importing nlu", f"{base_rss:.0f} MB"),
    ]
    print("| measure | value |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


if __name__ == "__main__":
    main()
