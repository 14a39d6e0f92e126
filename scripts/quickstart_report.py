"""The quickstart's final report: the four judges side by side on the held-out pairs, with margins.

    python scripts/quickstart_report.py OUT_DIR

Reads OUT_DIR/eval/<run>/metrics.json (eval.run) and OUT_DIR/timings.tsv (scripts/quickstart.sh);
writes OUT_DIR/report.md, OUT_DIR/metrics.json and OUT_DIR/quickstart.png, and prints the table last.
A margin is the difference of the pair-level accuracies (both orders must be right, the
JudgeBench-style rule) with a paired bootstrap 95% interval over the same held-out pairs.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from eval.metrics.common import vote  # noqa: E402

# (run folder, setting, label) in display order
JUDGES = [
    ("base", "baseline", "base model, direct judge"),
    ("base", "skill_operational", "base model, skill prompting"),
    ("direct_sft", "baseline", "direct-judge SFT"),
    ("skill_sft", "skill_operational", "skill SFT (ours)"),
    ("skill_rl", "skill_operational", "skill SFT + GRPO"),
]
BENCHMARK = "heldout"


def pair_outcomes(run_dir: Path, setting: str) -> dict[str, float]:
    """task_id -> 1.0 if the pair is judged right (vote sum > 0 over both orders) else 0.0."""
    votes: dict[str, list[int | None]] = {}
    for line in (run_dir / "predictions.jsonl").read_text().splitlines():
        row = json.loads(line)
        if row["setting"] == setting and row["benchmark"] == BENCHMARK:
            votes.setdefault(row["task_id"], []).append(vote(row))
    return {tid: float(sum(v for v in vs if v is not None) > 0) for tid, vs in votes.items()}


def paired_margin(a: dict[str, float], b: dict[str, float], seed: int = 0, n_boot: int = 2000) -> dict[str, Any]:
    common = sorted(set(a) & set(b))
    diff = np.array([a[t] - b[t] for t in common])
    if not len(diff):
        return {"margin": None, "ci95": None, "pairs": 0}
    rng = np.random.default_rng(seed)
    boots = diff[rng.integers(0, len(diff), (n_boot, len(diff)))].mean(axis=1)
    return {"margin": float(diff.mean()), "ci95": [float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))],
            "pairs": len(common)}


def main(out: Path) -> None:
    rows, outcomes = [], {}
    for run, setting, label in JUDGES:
        metrics_path = out / "eval" / run / "metrics.json"
        if not metrics_path.exists():
            continue
        m = json.loads(metrics_path.read_text())
        cell = m["results"].get(BENCHMARK, {}).get(setting)
        if cell is None:
            continue
        outcomes[label] = pair_outcomes(out / "eval" / run, setting)
        extra = cell["extra"]
        pairs = outcomes[label]
        rows.append({"judge": label, "model": m["run"]["model"], "setting": setting,
                     "pair_accuracy": sum(pairs.values()) / len(pairs) if pairs else None, "pairs": len(pairs),
                     "judgments": extra["judgments"], "parse_failure_rate": extra["parse_failure_rate"],
                     "position_a_rate": extra["position_a_rate"], "order_consistency": extra["order_consistency"],
                     "tool_calls_per_judgment": extra.get("tool_calls_per_judgment"),
                     "judgments_per_s": extra.get("judgments_per_s")})
    ours = "skill SFT (ours)"
    margins = {f"{ours} - {other}": paired_margin(outcomes[ours], outcomes[other])
               for other in outcomes if other != ours and ours in outcomes}
    timings = _timings(out / "timings.tsv")
    data_report = _read_json(out / "data" / "generate_report.json")
    result = {"benchmark": "held-out verifier-proved pairs (data.generate heldout.jsonl), both orders",
              "judges": rows, "margins": margins, "timings_s": timings,
              "heldout_pairs_available": data_report.get("heldout_tasks")}
    (out / "metrics.json").write_text(json.dumps(result, indent=1))
    _plot(rows, out / "quickstart.png")
    md = render(result)
    (out / "report.md").write_text(md)
    print(md)


def render(result: dict[str, Any]) -> str:
    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}"

    n_pairs = max((r["pairs"] for r in result["judges"]), default=0)
    lines = ["# Quickstart report", "",
             f"Measured: {result['benchmark']}. Each judge saw the same {n_pairs} held-out pairs (a seeded "
             "sample), each in both candidate orders; a pair counts as right only when the vote sum over its two "
             "judgments is positive (right + wrong is not right). Model: the embedded SmolLM2-135M-Instruct; CPU run.",
             "",
             "| judge | setting | pair accuracy % | pairs | parse failures % | position-A % | order consistency % "
             "| tool calls / judgment |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in result["judges"]:
        tc = r["tool_calls_per_judgment"]
        lines.append(f"| {r['judge']} | {r['setting']} | {pct(r['pair_accuracy'])} | {r['pairs']} | "
                     f"{pct(r['parse_failure_rate'])} | {pct(r['position_a_rate'])} | {pct(r['order_consistency'])} | "
                     f"{'-' if tc is None else f'{tc:.2f}'} |")
    lines += ["", "Margins (pair accuracy, percentage points, paired bootstrap 95% interval):", ""]
    for name, m in result["margins"].items():
        if m["margin"] is None:
            continue
        lo, hi = m["ci95"]
        lines.append(f"- {name}: {100 * m['margin']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] over {m['pairs']} pairs")
    if result["timings_s"]:
        lines += ["", "Stage times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in result["timings_s"].items())]
    return "\n".join(lines) + "\n"


def _timings(path: Path) -> dict[str, float]:
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines():
        name, _, secs = line.partition("\t")
        if secs:
            out[name] = float(secs)
    return out


def _read_json(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def _plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6))
    labels = [r["judge"] for r in rows]
    vals = [100 * (r["pair_accuracy"] or 0) for r in rows]
    colors = ["#999999" if "ours" not in lab and "GRPO" not in lab else "#2a7ab9" for lab in labels]
    ax.barh(labels[::-1], vals[::-1], color=colors[::-1])
    for y, v in enumerate(vals[::-1]):
        ax.text(v + 1, y, f"{v:.1f}", va="center")
    ax.set_xlim(0, 105)
    ax.set_xlabel("held-out pair accuracy (%), both orders")
    ax.set_title("Skill judge vs. judge baselines (SmolLM2-135M, CPU quickstart)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
