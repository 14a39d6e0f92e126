"""The quickstart's final report: the 2x2 grid {direct, skill} x {fair, operational inputs} on the held-out pairs.

    python scripts/quickstart_report.py OUT_DIR

Reads OUT_DIR/eval/<run>/predictions.jsonl (eval.run) and OUT_DIR/timings.tsv (scripts/quickstart.sh);
writes OUT_DIR/report.md, OUT_DIR/metrics.json and OUT_DIR/quickstart.png, and prints the table last.
A pair counts as right only when the vote sum over its two judgments is positive (JudgeBench's rule);
intervals are seeded bootstraps over the pairs. A margin compares two judges given the same inputs (the
same column), paired over the same held-out pairs.
"""
from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from eval.metrics.common import bootstrap_ci, paired_bootstrap_ci  # noqa: E402
from model.judgment_stats import behaviour, pair_outcomes  # noqa: E402
from model.protocol import SETTING_NAMES, get_setting, grid_cell, twin  # noqa: E402

# (run folder, judge name) in display order; each run is judged in the settings its folder holds
RUNS = [("base", "base model"), ("direct_sft", "direct-judge SFT"), ("skill_sft", "skill SFT (ours)"),
        ("skill_rl", "skill SFT + GRPO")]
OURS = "skill SFT (ours)"
BENCHMARK = "heldout"
COLUMNS = ("fair", "operational")


def load_rows(run_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """setting -> the held-out prediction rows of one eval run."""
    out: dict[str, list[dict[str, Any]]] = {}
    path = run_dir / "predictions.jsonl"
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["benchmark"] == BENCHMARK:
            out.setdefault(row["setting"], []).append(row)
    return out


def source_group(source: str) -> str:
    return "synthetic (unseen families)" if source.endswith("-unseen") else \
        "synthetic" if source.startswith("synthetic") else source


def judge_name(run_label: str, setting: str) -> str:
    if run_label == "base model":
        return "base model, " + ("skill prompting" if get_setting(setting).tools else "direct judge")
    return run_label


def collect(out: Path) -> tuple[list[dict[str, Any]], dict[tuple[str, str], dict[str, float]]]:
    rows, outcomes = [], {}
    for run, label in RUNS:
        for setting, preds in sorted(load_rows(out / "eval" / run).items(), key=lambda kv: SETTING_NAMES.index(kv[0])):
            judge = judge_name(label, setting)
            pairs = pair_outcomes(preds)
            outcomes[(judge, setting)] = pairs
            b = behaviour(preds)
            ci = bootstrap_ci(list(pairs.values()), seed=0)
            per_source: dict[str, list[float]] = {}
            for r in preds:
                per_source.setdefault(source_group(r["source"]), [])
            for tid, ok in pairs.items():
                src = next(r["source"] for r in preds if r["task_id"] == tid)
                per_source[source_group(src)].append(ok)
            way, column = grid_cell(setting)
            rows.append({"judge": judge, "run": run, "setting": setting, "way": way, "inputs": column,
                         "pair_accuracy": ci["mean"], "ci95": [ci["ci_low"], ci["ci_high"]], "pairs": len(pairs),
                         "judgments": b["judgments"], "parse_failure_rate": b["parse_failure_rate"],
                         "position_a_rate": b["position_a_rate"], "order_consistency": b["order_consistency"],
                         "single_order_accuracy": b["single_order_accuracy"],
                         "tool_calls_per_judgment": b["tool_calls_per_judgment"],
                         "constant_answer": b["constant_answer"],
                         "per_source": {k: {"pairs": len(v), "pair_accuracy": float(np.mean(v)) if v else None}
                                        for k, v in sorted(per_source.items())}})
    return rows, outcomes


def margins(outcomes: dict[tuple[str, str], dict[str, float]]) -> dict[str, Any]:
    """Ours against every other judge given the same inputs (same column of the grid)."""
    out = {}
    for (judge, setting), pairs in outcomes.items():
        if judge != OURS:
            continue
        for (other, other_setting), other_pairs in outcomes.items():
            same_inputs = other_setting in (setting, twin(setting, tools=False))
            if other != OURS and same_inputs:
                out[f"{OURS} [{setting}] - {other} [{other_setting}]"] = paired_bootstrap_ci(pairs, other_pairs)
    return out


def cpu_kind() -> str:
    try:
        import torch

        cap = torch.backends.cpu.get_cpu_capability()
        threads = torch.get_num_threads()
    except Exception:  # the report must not need torch to be importable
        cap, threads = "unknown", 0
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    bf16 = "avx512_bf16" in flags or "amx_bf16" in flags
    return f"{platform.machine()} {cap}{' with AVX512-BF16' if bf16 else ''}, {threads} threads"


def main(out: Path) -> None:
    rows, outcomes = collect(out)
    data_report = _read_json(out / "data" / "generate_report.json")
    result = {"benchmark": "held-out verifier-proved pairs (data.generate heldout.jsonl), both orders",
              "judges": rows, "margins": margins(outcomes), "timings_s": _timings(out / "timings.tsv"),
              "heldout_pairs_available": data_report.get("heldout_tasks"),
              "heldout_sources": {s: n.get("heldout", 0) for s, n in (data_report.get("per_source") or {}).items()},
              "cpu": cpu_kind()}
    (out / "metrics.json").write_text(json.dumps(result, indent=1))
    _plot(rows, out / "quickstart.png")
    md = render(result)
    (out / "report.md").write_text(md)
    print(md)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def render(result: dict[str, Any]) -> str:
    rows = result["judges"]
    n_pairs = max((r["pairs"] for r in rows), default=0)
    lines = ["# Quickstart report", "",
             f"Measured: {result['benchmark']}. Every judge saw the same {n_pairs} held-out pairs (a seeded sample "
             "stratified by source), each in both candidate orders; a pair counts as right only when the vote sum "
             "over its two judgments is positive (right + wrong is not right). Fair inputs: the prompt and the "
             "responses. Operational inputs: also the sample's reference, constraints or tests (as text for a "
             "direct judge, through the tools for a skill judge). Model: the embedded SmolLM2-135M-Instruct; "
             f"CPU: {result['cpu']}.", ""]
    sources = result.get("heldout_sources") or {}
    if sources:
        lines += ["Held-out pairs available per source: " + ", ".join(f"{k} {v}" for k, v in sources.items() if v), ""]
    lines += ["## The 2x2 grid (pair accuracy %, 95% interval)", "", "| judge | fair inputs | operational inputs |",
              "|---|---:|---:|"]
    for judge in dict.fromkeys(r["judge"] for r in rows):
        cells = {r["inputs"]: r for r in rows if r["judge"] == judge}
        lines.append(f"| {judge} | " + " | ".join(
            f"{_pct(c['pair_accuracy'])} [{_pct(c['ci95'][0])}, {_pct(c['ci95'][1])}]" if (c := cells.get(col)) else "-"
            for col in COLUMNS) + " |")
    lines += ["", "## Every judge and setting", "",
              "| judge | setting | pair accuracy % | pairs | parse failures % | position-A % | order consistency % "
              "| single-order % | tool calls / judgment |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    notes = []
    for r in rows:
        lines.append(f"| {r['judge']} | {r['setting']} | {_pct(r['pair_accuracy'])} | {r['pairs']} | "
                     f"{_pct(r['parse_failure_rate'])} | {_pct(r['position_a_rate'])} | {_pct(r['order_consistency'])} "
                     f"| {_pct(r['single_order_accuracy'])} | {r['tool_calls_per_judgment']:.2f} |")
        if r["constant_answer"]:
            notes.append(f"{r['judge']} in {r['setting']} answered {r['constant_answer']} every time: its accuracy "
                         "measures the label balance, not judging.")
    lines += [""] + [f"Note: {n}" for n in notes] + (["" ] if notes else [])
    lines += ["Margins (pair accuracy, percentage points, paired bootstrap 95% interval, same inputs):", ""]
    for name, m in result["margins"].items():
        if m["margin"] is not None:
            lo, hi = m["ci95"]
            lines.append(f"- {name}: {100 * m['margin']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] "
                         f"over {m['pairs']} pairs")
    ours = [r for r in rows if r["judge"] in (OURS, "direct-judge SFT")]
    if ours:
        groups = sorted({g for r in ours for g in r["per_source"]})
        lines += ["", "Per held-out source (pair accuracy %, pairs):", "",
                  "| judge | setting | " + " | ".join(groups) + " |", "|---|---|" + "---:|" * len(groups)]
        for r in ours:
            lines.append(f"| {r['judge']} | {r['setting']} | " + " | ".join(
                f"{_pct(r['per_source'][g]['pair_accuracy'])} ({r['per_source'][g]['pairs']})" if g in r["per_source"]
                else "-" for g in groups) + " |")
    if result["timings_s"]:
        total = sum(result["timings_s"].values())
        lines += ["", "Stage times (s): " + ", ".join(f"{k} {v:.0f}" for k, v in result["timings_s"].items())
                  + f"; total {total:.0f} s ({total / 60:.1f} min)"]
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

    judges = list(dict.fromkeys(r["judge"] for r in rows))
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(judges) + 1.6))
    width = 0.38
    for k, col in enumerate(COLUMNS):
        vals = [next((100 * r["pair_accuracy"] for r in rows if r["judge"] == j and r["inputs"] == col), 0.0)
                for j in judges]
        ys = [i + (k - 0.5) * width for i in range(len(judges))]
        ax.barh(ys, vals, height=width, label=f"{col} inputs", color=("#2a7ab9", "#a6c8e6")[k])
        for y, v in zip(ys, vals):
            ax.text(v + 1, y, f"{v:.0f}", va="center", fontsize=8)
    ax.set_yticks(range(len(judges)), judges)
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel("held-out pair accuracy (%), both orders")
    ax.set_title("Skill judge vs. direct judge, same inputs (SmolLM2-135M, CPU quickstart)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(Path(sys.argv[1]))
