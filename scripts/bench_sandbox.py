"""Per-call latency of the python sandbox and the attacks it contains, per isolation level on this host.

    python scripts/bench_sandbox.py [-n 50] [--levels bwrap,rlimits] [--no-attacks]

Prints two markdown tables. Latency: `trivial` is `pass`; `words` counts the words of two ~2 KB
candidates; `regex` checks a format constraint with `re` (both import the modules a judge typically
uses). Attacks: every program of model/sandbox/attacks.py, with the audit hook (what callers get)
and without it (`raw`: the namespaces, seccomp and Landlock alone); `rlimits` runs with
allow_weak_isolation=True. An attack marked hook-only is not tried raw.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from model.sandbox import available_levels, isolation, run_python  # noqa: E402
from model.sandbox.attacks import ATTACKS, Host, survivors  # noqa: E402

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
        result = run_python(code, INPUTS, isolation=level, allow_weak_isolation=True)
        times.append((time.perf_counter() - start) * 1000)
        if not result.ok:
            raise SystemExit(f"{level}: benchmark program failed: {result.error}\n{result.stderr}")
    return times


def attack_row(level: str, audit: bool) -> tuple[int, int, list[str]]:
    tried, contained, escaped = 0, 0, []
    for attack in ATTACKS:
        if attack.hook_only and not audit:
            continue
        with Host() as host:
            result = run_python(attack.code, host.inputs(), timeout_s=attack.timeout_s, isolation=level,
                                audit=audit, allow_weak_isolation=True)
            ok = attack.contained(result, host) and not survivors()
        tried += 1
        contained += ok
        if not ok:
            escaped.append(attack.name)
    return tried, contained, escaped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="calls per program (realistic ones: n // 5)")
    parser.add_argument("--levels", help="comma-separated levels (default: every available one)")
    parser.add_argument("--no-attacks", action="store_true", help="latency table only")
    args = parser.parse_args()
    levels = args.levels.split(",") if args.levels else available_levels()
    landlock = isolation.landlock_abi()
    print(f"CPU: {torch.backends.cpu.get_cpu_capability()}; Landlock ABI: {landlock or 'none'}\n")
    print("| isolation | program | median ms | p90 ms | calls |")
    print("|---|---|---:|---:|---:|")
    for level in levels:
        for name, code in PROGRAMS.items():
            times = measure(level, code, args.n if name == "trivial" else max(args.n // 5, 1))
            p90 = statistics.quantiles(times, n=10)[-1] if len(times) > 1 else times[0]
            print(f"| {level} | {name} | {statistics.median(times):.1f} | {p90:.1f} | {len(times)} |", flush=True)
    if args.no_attacks:
        return
    print("\n| isolation | audit hook | attacks tried | contained | escaped |")
    print("|---|---|---:|---:|---|")
    for level in levels:
        for audit in (True, False):
            tried, contained, escaped = attack_row(level, audit)
            print(f"| {level} | {'on' if audit else 'off (raw)'} | {tried} | {contained} | "
                  f"{', '.join(escaped) or '-'} |", flush=True)


if __name__ == "__main__":
    main()
