"""The dataset card (README.md) of a data.render output: what is in it, where it came from, how it was
filtered and made. Built from render_report.json, the resolved config and, when present, the
generate_report.json of data.generate (per-source counts, decontamination, licenses, teacher stats).

The YAML front matter declares one Hub config per format (`<format>/train-*` parquet files, the layout
`data.render.hub` uploads), so `load_dataset(repo, "sft_skill")` works after a push.
"""
from __future__ import annotations

import json
from typing import Any

import yaml

FORMAT_TEXT = {
    "sft_skill": "skill-execution SFT: the teacher's multi-turn tool-using judgment, rendered with the "
                 "target chat template; loss on assistant text, tool calls and end-of-turn only",
    "sft_direct": "direct-judge SFT baseline: the same (task, order, verdict) as sft_skill, as a one-turn "
                  "baseline prompt and a verdict-only answer `[[A]]`",
    "rl": "RL (GRPO) prompts: one row per kept (task, setting) with the full task (gold and resources for "
          "the reward; never shown to the judge) and the judge prompt for inspection",
}


FILTER_TEXT = {
    "skill_setting": "keeps skill-execution settings (skill_operational, skill_fair)",
    "heldout_overlap": "drops train tasks whose prompt repeats a held-out prompt (exact or near)",
    "correctness": "drops unparsed, wrong, tie, forced-final and unverifiable verdicts",
    "order_consistency": "keeps a (task, setting) only if right in every candidate order",
    "one_sample": "one of K samples per (task, setting, order)",
    "dedup": "exact and near-duplicate prompts (normalized hash; word 5-gram MinHash LSH, Jaccard-checked)",
    "length": "rendered skill example longer than max_tokens (its other order goes too)",
    "source_balance": "caps every source's share (whole tasks, seeded)",
    "direct_share": "caps the share of trajectories decided without tools (seeded)",
    "position_balance": "equal counts of each verdict label (seeded)",
}
HF_LICENSES = {"mit", "apache-2.0", "cc0-1.0", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "odc-by",
               "bsd-3-clause", "openrail"}


def _front_matter(formats: list[str], licenses: dict[str, str]) -> str:
    ids = {lic.split()[0].lower() for lic in licenses.values() if lic}
    meta: dict[str, Any] = {
        "license": ids.pop() if len(ids) == 1 and ids <= HF_LICENSES else "other",
        "tags": ["reward-model", "llm-as-a-judge", "skill-rm", "tool-use"],
        "configs": [{"config_name": f, "data_files": [{"split": "train", "path": f"{f}/train-*"}]}
                    for f in formats],
    }
    return "---\n" + yaml.safe_dump(meta, sort_keys=False) + "---\n"


def _table(header: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _kv(d: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in d.items()) or "-"


def dataset_card(report: dict[str, Any], cfg: Any, command: str,
                 generate_report: dict[str, Any] | None) -> str:
    gen = generate_report or {}
    formats = [f for f in cfg.render.formats if f in report["formats"]]
    licenses: dict[str, str] = dict(gen.get("licenses") or {})
    tok = report["tokenizer"]
    kept = report["kept"]
    parts = [_front_matter(formats, licenses)]

    parts.append(
        "# Skill-RM judge training data\n\n"
        "Reward-judge training data rendered by `python -m data.render` from teacher trajectories that "
        "execute a Reward-Evaluation Skill (after Skill-RM, arXiv 2606.03980): skill SFT, the matching "
        "direct-judge SFT baseline, and RL prompts. "
        f"{kept['trajectories']} skill trajectories of {kept['tasks']} tasks survived the filters; "
        f"tokenizer `{tok['spec']}`.\n")
    parts.append("## Formats\n\n" + _table(
        ["format", "rows", "tokens", "trained", "what"],
        [[f, st.get("examples", st.get("rows")), st.get("tokens", "-"),
          f"{st['trained_fraction']:.1%}" if "trained_fraction" in st else "-", FORMAT_TEXT[f]]
         for f, st in report["formats"].items()]) + "\n\n"
        "Each format is a `datasets.save_to_disk` folder `<format>/` and a JSONL file `<format>.jsonl` "
        "(SFT rows also carry the readable `messages` there). SFT columns: `input_ids`, `labels` (-100 on "
        "untrained tokens, unshifted), `task_id`, `source`, `domain`, `setting`, `order`, `verdict`, "
        "`n_tokens`, `n_trained` (`sft_direct` also `mirrors_setting`: one direct example per skill "
        "example). RL columns: `task_id`, `source`, `domain`, `setting`, `gold`, `prompt_messages`, "
        "`task`.\n")

    comp = report["composition"]
    src_rows = []
    per_source = gen.get("per_source") or {}
    for s in sorted(set(comp["source"]) | set(per_source)):
        up = per_source.get(s, {})
        src_rows.append([s, up.get("train", "-"), up.get("heldout", "-"), comp["source"].get(s, 0),
                         licenses.get(s, "unknown")])
    parts.append("## Sources\n\n" + _table(
        ["source", "train tasks (generate)", "held-out tasks (never used)", "kept trajectories", "license"],
        src_rows) + "\n\n"
        f"- settings: {_kv(comp['setting'])}\n- domains: {_kv(comp['domain'])}\n"
        f"- verdict positions: {_kv(comp['verdict_position'])}\n- decisions: {_kv(comp['decision'])}\n")

    inp = report["input"]
    parts.append("## Filters\n\n"
                 f"Input: {inp['trajectory_rows']} trajectory rows of {inp['tasks']} train tasks; "
                 f"{inp['rejected_rows']} malformed rows rejected (`render_rejects.jsonl`); "
                 f"{inp['heldout_trajectories']} trajectories of held-out tasks skipped.\n\n"
                 + _table(["filter", "what", "removed", "kept", "reasons"],
                          [[s["name"], FILTER_TEXT.get(s["name"], ""), s["removed"], s["kept"],
                            _kv(s["reasons"])] for s in report["filters"]])
                 + "\n\nSettings: " + _kv(_filter_settings(cfg)) + "\n")

    decon = gen.get("decontamination")
    if decon:
        lines = []
        for k, v in decon.items():
            if k in ("matches", "removed_ids"):
                continue
            lines.append(f"- {k}: {json.dumps(v) if isinstance(v, (list, dict)) else v}")
        parts.append("## Decontamination (data.generate)\n\n" + "\n".join(lines) + "\n")
    else:
        parts.append("## Decontamination\n\nNo generate_report.json in the input: not documented here.\n")

    teacher = gen.get("teacher")
    if teacher:
        keys = ("trajectories", "correct_rate", "undecided", "parse_failures", "mean_tool_calls")
        parts.append("## Teacher\n\n" + _kv({k: teacher[k] for k in keys if k in teacher}) + "\n")

    parts.append("## Tokenizer and tokens\n\n"
                 f"- tokenizer: `{tok['spec']}` ({tok['name_or_path']}), "
                 f"chat template: {tok['chat_template']}, "
                 f"end of turn `{tok['end_of_turn']}`\n"
                 + "".join(f"- {f}: mean {st['mean_tokens']}, p95 {st['p95_tokens']}, "
                           f"max {st['max_tokens']} tokens; length histogram {_kv(st['length_histogram'])}\n"
                           for f, st in report["formats"].items() if "tokens" in st))

    parts.append("## How it was made\n\n```\n" + command + "\n```\n\n"
                 f"Seed {report['seed']}; the resolved config is `render_config.yaml`, the full numbers "
                 "`render_report.json`. The same inputs and config give byte-identical JSONL.\n")
    return "\n".join(parts)


def _filter_settings(cfg: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(cfg.render.filters)
