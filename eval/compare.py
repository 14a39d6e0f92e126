"""Several runs side by side: one table and one plot (e.g. base baseline vs base skill vs fine-tuned).

    python -m eval.compare outputs/eval/base outputs/eval/sft [--output outputs/eval/compare]

Each run folder's metrics.json is read (eval.report writes it); a row per (run, setting), a column per
benchmark headline, plus parse-failure and position-A rates over all of the row's judgments.
Writes compare.md, compare.json and compare.png to --output and prints the table.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from eval.report import pct, table


def load_run(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / "metrics.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found (run `python -m eval.report {run_dir}` first)")
    return json.loads(path.read_text(encoding="utf-8"))


def run_name(metrics: dict[str, Any], run_dir: str | Path, taken: set[str]) -> str:
    """The judge's label, made unique with the folder name when two runs share it."""
    name = metrics["run"]["model"]
    if name in taken:
        name = f"{name} ({Path(run_dir).name})"
    taken.add(name)
    return name


def comparison_rows(runs: list[tuple[str, dict[str, Any]]]) -> tuple[list[str], list[dict[str, Any]]]:
    """(benchmark labels in first-seen order, one row per (run, setting))."""
    benchmarks: list[str] = []
    for _, m in runs:
        benchmarks += [b for b in m["results"] if b not in benchmarks]
    rows = []
    for name, m in runs:
        for setting in m["run"]["settings"]:
            cells = {b: m["results"].get(b, {}).get(setting) for b in benchmarks}
            if not any(cells.values()):
                continue
            judged = [c["extra"] for c in cells.values() if c]
            n = sum(e["judgments"] for e in judged)
            rows.append(
                {
                    "run": name,
                    "setting": setting,
                    "headlines": {b: (c["headline"] if c else None) for b, c in cells.items()},
                    "judgments": n,
                    "parse_failure_rate": sum(e["parse_failures"] for e in judged) / n if n else None,
                    "position_a_rate": _weighted(judged, "position_a_rate"),
                }
            )
    return benchmarks, rows


def _weighted(extras: list[dict[str, Any]], key: str) -> float | None:
    n = sum(e["judgments"] for e in extras)
    return sum(e[key] * e["judgments"] for e in extras) / n if n else None


def render(benchmarks: list[str], rows: list[dict[str, Any]]) -> str:
    body = [
        [
            r["run"],
            r["setting"],
            *[pct(r["headlines"][b]) for b in benchmarks],
            r["judgments"],
            pct(r["parse_failure_rate"]),
            pct(r["position_a_rate"]),
        ]
        for r in rows
    ]
    return table(["judge", "setting", *benchmarks, "judgments", "parse fail %", "position-A %"], body)


def plot(benchmarks: list[str], rows: list[dict[str, Any]], path: Path) -> None:
    from eval.plots import grouped_bars, plt

    series = {f"{r['run']} / {r['setting']}": [r["headlines"][b] for b in benchmarks] for r in rows}
    fig, ax = plt.subplots(figsize=(max(6, 1.8 * len(benchmarks) + 0.4 * len(series) + 2), 4.5))
    grouped_bars(ax, benchmarks, series, "headline (%)")
    ax.set_title("judges x settings x benchmarks")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def compare(run_dirs: list[str | Path], output: str | Path) -> str:
    taken: set[str] = set()
    runs = []
    for d in run_dirs:
        m = load_run(d)
        runs.append((run_name(m, d, taken), m))
    benchmarks, rows = comparison_rows(runs)
    out = Path(output)
    out.mkdir(parents=True, exist_ok=True)
    text = render(benchmarks, rows)
    note = "\n\nHeadlines in % (each benchmark's official metric; see each run's report.md for the protocol)."
    (out / "compare.md").write_text(
        "# Judge comparison\n\n" + text + note + "\n\n![compare](compare.png)\n", encoding="utf-8"
    )
    (out / "compare.json").write_text(
        json.dumps({"runs": [str(d) for d in run_dirs], "benchmarks": benchmarks, "rows": rows}, indent=1),
        encoding="utf-8",
    )
    plot(benchmarks, rows, out / "compare.png")
    return text


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m eval.compare",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("run_dirs", nargs="+", help="eval.run output folders")
    p.add_argument("--output", default="outputs/eval/compare", help="where compare.{md,json,png} go")
    args = p.parse_args(argv)
    try:
        print(compare(args.run_dirs, args.output))
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
