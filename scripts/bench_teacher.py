"""Scripted-teacher throughput: trajectories per second with real verifier and sandbox calls.

    python scripts/bench_teacher.py [--n 120] [--settings skill_operational skill_fair]

Prints one markdown row per (task kind, setting): trajectories, seconds, trajectories/s.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from data.builders.synthetic import generate_synthetic  # noqa: E402
from data.teachers.scripted import ScriptedTeacher  # noqa: E402
from model.agent import AgentConfig, load_skills, run_agent  # noqa: E402
from model.protocol import SKILL_FAIR, SKILL_OPERATIONAL  # noqa: E402
from model.sandbox import isolation_level  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=120, help="synthetic tasks per kind")
    p.add_argument("--settings", nargs="+", default=[SKILL_OPERATIONAL, SKILL_FAIR])
    args = p.parse_args()
    cfg = AgentConfig()
    skills = load_skills(cfg)
    backend = ScriptedTeacher().backend()
    print(f"sandbox isolation: {isolation_level()}\n")
    print("| kind | setting | trajectories | seconds | trajectories/s |\n|---|---|---:|---:|---:|")
    for kind in ("arithmetic", "constraints", "code"):
        tasks = generate_synthetic(args.n, seed=7, kinds=(kind,))
        items = [(t, o) for t in tasks for o in t.orders(True)]
        for setting in args.settings:
            t0 = time.perf_counter()
            trajs = run_agent(backend, items, setting, cfg, skills=skills)
            dt = time.perf_counter() - t0
            print(f"| {kind} | {setting} | {len(trajs)} | {dt:.2f} | {len(trajs) / dt:.1f} |")


if __name__ == "__main__":
    main()
