"""Per-call latency of the python sandbox, per isolation level available on this host.

    python scripts/bench_sandbox.py [-n 50] [--levels bwrap,rlimits]

Prints a markdown table. `trivial` is `pass`; `words` counts the words of two ~2 KB candidates;
`regex` checks a format constraint with `re` (both import the modules a judge typically uses).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model.sandbox import available_levels, run_python  # noqa: E402

SENTENCE = "The quick brown fox jumps over the lazy dog while the judge counts every word. "
INPUTS = {"prompt": "Answer in exactly three bullet points.",
          "candidates": {"A": SENTENCE * 26, "B": (SENTENCE + "- a bullet\n") * 22},
          "sample": {}}
PROGRAMS = {
    "trivial": "pass",
    "words": "import json\nprint(json.dumps({k: len(v.split()) for k, v in candidates.items()}))",
    "regex": "import re\nprint({k: len(re.findall(r'^- ', v, re.M)) == 3 for k, v in candidates.items()})",
}


def measure(level: str, code: str, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        result = run_python(code, INPUTS, isolation=level)
        times.append((time.perf_counter() - start) * 1000)
        if not result.ok:
            raise SystemExit(f"{level}: benchmark program failed: {result.error}\n{result.stderr}")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="calls per program (realistic ones: n // 5)")
    parser.add_argument("--levels", help="comma-separated levels (default: every available one)")
    args = parser.parse_args()
    levels = args.levels.split(",") if args.levels else available_levels()
    print("| isolation | program | median ms | p90 ms | calls |")
    print("|---|---|---:|---:|---:|")
    for level in levels:
        for name, code in PROGRAMS.items():
            times = measure(level, code, args.n if name == "trivial" else max(args.n // 5, 1))
            p90 = statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0]
            print(f"| {level} | {name} | {statistics.median(times):.1f} | {p90:.1f} | {len(times)} |")


if __name__ == "__main__":
    main()
