"""metrics.json and report.md (and the plots) of one run folder; rerunnable on its own:

    python -m eval.report RUN_DIR

Numbers in metrics.json are fractions in [0, 1]; report.md prints percent.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from eval.metrics import published_rows
from eval.predictions import read_predictions, read_timing
from eval.summary import compute_results

HEADLINE_BENCHMARKS = {"rewardbench2": "RewardBench 2", "rmbench": "RM-Bench", "judgebench": "JudgeBench"}
PLOTS = ("headlines.png", "rmbench_heatmap.png", "position_bias.png")


def pct(x: Any, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * float(x):.{digits}f}"


def num(x: Any, digits: int = 2) -> str:
    return "–" if x is None else f"{float(x):.{digits}f}"


def table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def git_commit() -> str | None:
    """The repo's HEAD (read-only), for the record."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
        )
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def read_bon_groups(run_dir: Path) -> dict[tuple[str, str], list[dict[str, Any]]]:
    path = run_dir / "bon_groups.jsonl"
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                g = json.loads(line)
                out.setdefault((g["benchmark"], g["setting"]), []).append(g)
    return out


def build_metrics(run_dir: Path) -> dict[str, Any]:
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    rows = read_predictions(run_dir)
    results = compute_results(
        manifest, rows, read_timing(run_dir), read_bon_groups(run_dir), seed=int(manifest.get("seed", 0))
    )
    benchmarks = {
        k: {kk: vv for kk, vv in v.items() if kk not in ("task_ids", "set_ids")}
        for k, v in manifest["benchmarks"].items()
    }
    return {
        "run": {
            "model": manifest["model"],
            "model_spec": manifest["model_spec"],
            "backend": manifest["backend"],
            "settings": manifest["settings"],
            "seed": manifest["seed"],
            "sample": manifest.get("sample"),
            "run_dir": str(run_dir),
            "created": _dt.datetime.now().isoformat(timespec="seconds"),
            "git_commit": git_commit(),
            "predictions": len(rows),
        },
        "benchmarks": benchmarks,
        "skipped": manifest.get("skipped", {}),
        "results": results,
        "published": published_rows(),
    }


def write_report(run_dir: str | Path, plots: bool = True) -> dict[str, Any]:
    """Writes metrics.json, report.md and (with `plots`) the PNGs; returns the metrics."""
    run_dir = Path(run_dir)
    metrics = build_metrics(run_dir)
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=1, default=str), encoding="utf-8")
    made = []
    if plots:
        from eval.plots import make_plots

        made = make_plots(metrics, run_dir)
    (run_dir / "report.md").write_text(render_report(metrics, made), encoding="utf-8")
    return metrics


# --------------------------------------------------------------------------- markdown


def render_report(m: dict[str, Any], plots: list[str]) -> str:
    run = m["run"]
    parts = [
        f"# Eval report: {run['model']}",
        f"- judge: `{run['model_spec']}` on backend `{run['backend']}`; "
        f"settings: {', '.join(run['settings'])}; "
        f"seed {run['seed']}\n- made {run['created']}"
        + (f" at commit {run['git_commit']}" if run["git_commit"] else "")
        + f"; {run['predictions']} judgments in predictions.jsonl; resolved config in config.yaml",
        "## What was measured\n" + _measured(m),
        "## Headline scores (%)\n" + _headlines(m),
        "## Judge behaviour\n" + _behaviour(m),
        "## Breakdown\n" + _breakdowns(m),
        "## Beside published numbers (published, different protocols)\n" + _published(m),
    ]
    if plots:
        parts.append("## Plots\n" + "\n\n".join(f"![{p}]({p})" for p in plots))
    return "\n\n".join(parts) + "\n"


def _measured(m: dict[str, Any]) -> str:
    rows = []
    for label, b in m["benchmarks"].items():
        if b.get("kind") == "bon":
            size = f"{b['units']} prompts, {b.get('candidates', 0)} candidates"
            judged = "knockout: n-1 per prompt"
        else:
            size = f"{b['units']} units, {b['tasks']} tasks"
            judged = f"{b['judgments_expected']} ({'both orders' if b['orders'] == 'both' else 'one order'})"
        rows.append([label, f"`{b['path']}`", size, judged, b["about"]])
    text = (
        table(["benchmark", "data", "size", "judgments per setting", "protocol"], rows)
        if rows
        else "(nothing)"
    )
    drawn = [f"- **{label}**: {describe_selection(b['selection'])}" for label, b in m["benchmarks"].items()
             if b.get("selection")]
    if drawn:
        text += "\n\nHow the units were drawn (eval/selection.py):\n" + "\n".join(drawn)
    if m.get("skipped"):
        text += "\n\nSkipped:\n" + "\n".join(f"- **{k}**: {v}" for k, v in m["skipped"].items())
    return text


def describe_selection(sel: dict[str, Any]) -> str:
    """One line: the strategy, its seed, and the units per stratum (picked/available)."""
    by, seed = sel.get("strata_by") or "stratum", sel["seed"]
    if sel["strategy"] == "all":
        how = "all units"
    elif sel.get("limit_per_stratum"):
        within = {"stratified": f"a seeded sample (seed {seed})", "random": f"a seeded random sample (seed {seed})",
                  "first": "the first in load order"}.get(sel["strategy"], sel["strategy"])
        how = f"at most {sel['limit']} per {by}, {within} of each"
    else:
        how = {
            "stratified": f"stratified sample (seed {seed}) in proportion to {by}",
            "random": f"seeded random sample (seed {seed}), not stratified",
            "first": "the first units in load order (not a sample)",
        }.get(sel["strategy"], sel["strategy"])
    text = f"{how}: {sel['units']} of {sel['available']} units"
    strata = sel.get("strata") or {}
    if len(strata) > 1:
        text += f"; per {by}: " + ", ".join(f"{k} {v['units']}/{v['available']}" for k, v in strata.items())
    return text


def _headlines(m: dict[str, Any]) -> str:
    labels = list(m["results"])
    if not labels:
        return "(no results)"
    rows = []
    for setting in m["run"]["settings"]:
        row = [setting]
        for label in labels:
            cell = m["results"][label].get(setting)
            if cell is None:
                row.append("–")
                continue
            ci = cell["metrics"].get("accuracy_ci95")
            text = pct(cell["headline"])
            if ci and ci.get("n"):
                text += f" [{pct(ci['ci_low'])}, {pct(ci['ci_high'])}]"
            row.append(text + ("" if cell.get("complete", True) else " (incomplete)"))
        rows.append(row)
    note = (
        "\n\nJudgeBench / pairwise: pairs correct (vote sum over both orders > 0), with a seeded 95% "
        "bootstrap "
        "CI; RM-Bench: mean over domains of mean(easy, normal, hard), a pair won only when chosen wins both "
        "orders; RewardBench 2: mean of the subsets present; IF-RewardBench: Kendall tau-b (x100); "
        "best-of-N: SeqKO@N (mean ground-truth score of the knockout winner)."
    )
    return table(["setting", *labels], rows) + note


def _behaviour(m: dict[str, Any]) -> str:
    rows: list[list[Any]] = []
    notes: list[str] = []
    for label, cells in m["results"].items():
        for setting, cell in cells.items():
            e = cell["extra"]
            rows.append(
                [
                    label,
                    setting,
                    e["judgments"],
                    pct(e["parse_failure_rate"]),
                    pct(e["position_a_rate"]),
                    pct(e["order_consistency"]) if e["order_consistency_tasks"] else "–",
                    pct(e["tie_rate"]),
                    num(e["tool_calls_per_judgment"]),
                    num(e["resources_per_judgment"]),
                    num(e["generated_tokens_per_judgment"], 0),
                    num(e["judgments_per_s"], 3),
                    num(e["generated_tokens_per_s"], 1),
                    ", ".join(e.get("sandbox_isolation") or []) or "–",
                ]
            )
            if e.get("constant_answer"):
                notes.append(f"{label} / {setting}: the judge answered {e['constant_answer']} every time")
    return (
        table(
            [
                "benchmark",
                "setting",
                "judgments",
                "parse fail %",
                "position-A %",
                "order consistency %",
                "tie %",
                "tool calls / j",
                "resources / j",
                "gen tokens / j",
                "judgments / s",
                "gen tokens / s",
                "sandbox",
            ],
            rows,
        )
        + "".join(f"\n\nNote: {n}." for n in notes)
        if rows
        else "(no judgments)"
    )


def _breakdowns(m: dict[str, Any]) -> str:
    out = []
    for label, cells in m["results"].items():
        metric = next(iter(cells.values()))["metric"]
        render = _BREAKDOWNS.get(metric)
        if render:
            out.append(f"### {label}\n" + render(cells))
    return "\n\n".join(out) or "(none)"


def _judgebench(cells: dict[str, Any]) -> str:
    subsets = sorted({s for c in cells.values() for s in c["metrics"]["per_subset"]})
    files = sorted({s for c in cells.values() for s in c["metrics"]["per_file"]})
    rows = [
        [
            s,
            pct(c["metrics"]["accuracy"]),
            *[pct(c["metrics"]["per_subset"].get(x, {}).get("accuracy")) for x in subsets],
            *[pct(c["metrics"]["per_file"].get(f, {}).get("accuracy")) for f in files],
            pct(c["metrics"]["single_order_accuracy"]),
            f"{c['metrics']['correct']}/{c['metrics']['pairs']}",
        ]
        for s, c in cells.items()
    ]
    return table(
        ["setting", "overall", *subsets, *[f"file {f}" for f in files], "single-order", "pairs"], rows
    )


def _rmbench(cells: dict[str, Any]) -> str:
    rows = []
    for s, c in cells.items():
        met = c["metrics"]
        for d, dm in met["per_domain"].items():
            rows.append(
                [s, d, dm["rows"], pct(dm["easy"]), pct(dm["normal"]), pct(dm["hard"]), pct(dm["overall"])]
            )
        rows.append(
            [s, "**all**", "", pct(met["easy"]), pct(met["normal"]), pct(met["hard"]), pct(met["headline"])]
        )
        rows.append(
            [
                s,
                "single order",
                "",
                pct(met["single_order"]["easy"]),
                pct(met["single_order"]["normal"]),
                pct(met["single_order"]["hard"]),
                pct(met["single_order"]["headline"]),
            ]
        )
    return table(["setting", "domain", "rows", "easy", "normal", "hard", "overall"], rows)


def _rewardbench2(cells: dict[str, Any]) -> str:
    subsets = sorted({s for c in cells.values() for s in c["metrics"]["per_subset"]})
    rows = [
        [
            s,
            pct(c["metrics"]["headline"]),
            *[pct(c["metrics"]["per_subset"].get(x, {}).get("score")) for x in subsets],
            pct(c["metrics"]["invalid_rate"]),
        ]
        for s, c in cells.items()
    ]
    return table(["setting", "overall", *subsets, "unparseable (0.25) %"], rows)


def _pairwise(cells: dict[str, Any]) -> str:
    rows = []
    for s, c in cells.items():
        for sub, sm in c["metrics"]["per_subset"].items():
            rows.append([s, sub, sm["pairs"], pct(sm["accuracy"]), pct(sm["single_order_accuracy"])])
        rows.append(
            [
                s,
                "**macro**",
                c["metrics"]["pairs"],
                pct(c["metrics"]["macro_accuracy"]),
                pct(c["metrics"]["single_order_accuracy"]),
            ]
        )
    return table(["setting", "subset", "pairs", "accuracy", "single-order"], rows)


def _if_rewardbench(cells: dict[str, Any]) -> str:
    rows = []
    for s, c in cells.items():
        for t, tm in c["metrics"]["per_instruction_type"].items():
            rows.append([s, t, tm["prompts"], num(tm["tau_b"], 3), pct(tm["accuracy"])])
        rows.append(
            [
                s,
                "**overall**",
                c["metrics"]["prompts"],
                num(c["metrics"]["headline"], 3),
                pct(c["metrics"]["accuracy"]),
            ]
        )
    return table(["setting", "instruction type", "prompts", "Kendall tau-b", "pair accuracy"], rows)


def _bon(cells: dict[str, Any]) -> str:
    rows = [
        [
            s,
            c["metrics"]["groups"],
            pct(c["metrics"].get("seqko")),
            pct(c["metrics"].get("pass_at_1")),
            pct(c["metrics"].get("random")),
            pct(c["metrics"].get("oracle")),
            pct(c["metrics"].get("majority")),
            c["metrics"].get("unparseable_kept", 0),
            c["metrics"].get("ties_kept", 0),
            c["metrics"].get("switches", 0),
        ]
        for s, c in cells.items()
    ]
    return table(
        [
            "setting",
            "prompts",
            "SeqKO@N",
            "pass@1",
            "random@N",
            "oracle@N",
            "majority",
            "unparseable (kept incumbent)",
            "ties (kept)",
            "switches",
        ],
        rows,
    )


_BREAKDOWNS = {
    "judgebench": _judgebench,
    "rmbench": _rmbench,
    "rewardbench2": _rewardbench2,
    "pairwise": _pairwise,
    "if_rewardbench": _if_rewardbench,
    "bon": _bon,
}


def _published(m: dict[str, Any]) -> str:
    cols = list(HEADLINE_BENCHMARKS)
    rows = []
    for setting in m["run"]["settings"]:
        vals = [m["results"].get(b, {}).get(setting, {}).get("headline") for b in cols]
        if any(v is not None for v in vals):
            rows.append(
                [
                    f"**this run: {m['run']['model']}**",
                    f"this harness, {setting}",
                    *[pct(v) for v in vals],
                    "measured here",
                ]
            )
    for p in m["published"]:
        rows.append(
            [
                p["model"],
                p["protocol"],
                *[num(p.get(b), 1) if p.get(b) is not None else "–" for b in cols],
                f"published ({p['source']})",
            ]
        )
    note = (
        "\n\nRows marked *published* are numbers reported elsewhere (METRICS.md), not reproduced by this "
        "harness: judge prompts, RewardBench 2 subsets, candidate orders and sample sizes differ, so they "
        "place this run "
        "in context only. This run's numbers cover only the units listed above."
    )
    return table(["judge", "protocol", *HEADLINE_BENCHMARKS.values(), "source"], rows) + note


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m eval.report", description="(Re)writes a run folder's report.")
    p.add_argument("run_dir")
    p.add_argument("--no-plots", action="store_true")
    args = p.parse_args(argv)
    write_report(args.run_dir, plots=not args.no_plots)
    print(Path(args.run_dir) / "report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
