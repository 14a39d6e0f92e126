"""The judge reward's counters: per call (`last`, `last_results`) and cumulative (`total`).

Every failure kind is counted separately (parse failures, the backend's generation errors, timeouts,
input errors), so a reward curve can be read next to how often its judge failed.
"""
from __future__ import annotations

from typing import Any

from model.records import Trajectory
from model.reward.inputs import RewardResult

TOTAL_KEYS = ("calls", "samples", "judgments", "failed_samples", "parse_failures", "generation_errors",
              "timeouts", "input_errors", "tool_calls")


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


class StatsBook:
    def __init__(self) -> None:
        self.last: dict[str, Any] = {}
        self.last_results: list[RewardResult] = []
        self.total: dict[str, Any] = {**dict.fromkeys(TOTAL_KEYS, 0), "latency_s": 0.0}

    def record(self, results: list[RewardResult], trajs: list[Trajectory | None], timed_out: list[bool],
               input_errors: int, wall_s: float) -> None:
        done = [t for t in trajs if t is not None]
        failed = sum(1 for r in results if not r.ok)
        ok_rewards = [r.reward for r in results if r.ok and r.reward is not None]
        n = len(results)
        self.last_results = results
        self.last = {
            "samples": n, "judgments": len(trajs), "failed_samples": failed,
            "failure_rate": failed / n if n else 0.0,
            "parse_failures": sum(1 for t in done if not t.parse_ok),
            "generation_errors": sum(1 for t in done if not t.parse_ok and t.meta.get("errors")),
            "timeouts": sum(timed_out), "input_errors": input_errors,
            "mean_tool_calls": _mean([t.tool_calls for t in done]),
            "mean_invalid_tool_calls": _mean([t.invalid_tool_calls for t in done]),
            "mean_steps": _mean([t.steps for t in done]),
            "mean_judgment_latency_s": _mean([t.latency_s for t in done]),
            "latency_s": round(wall_s, 4),
            "reward_mean": _mean(ok_rewards) if ok_rewards else None,
        }
        tot = self.total
        tot["calls"] += 1
        for key in TOTAL_KEYS[1:-1]:
            tot[key] += self.last[key]
        tot["tool_calls"] += sum(t.tool_calls for t in done)
        tot["latency_s"] = round(tot["latency_s"] + wall_s, 4)
