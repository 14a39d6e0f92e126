"""Leakage end to end: source rows -> tasks -> teacher trajectories -> rendered SFT / RL rows.

Every hidden field of the upstream rows carries a canary: the row id, its source and subset (task meta),
the domain, an extra field, and which side is chosen (the gold). None of it may reach the text any
model trains on or is prompted with: the SFT conversations and their token ids, the RL prompts. The
fair-setting rows must not show the sample's resources either.
"""
import json

import pytest

from data.generate import main as generate_main
from data.render.cli import main as render_main

CANARY = "CANARY-91c2"
PAIRS = [
    ("What is 12 times 3?", "12 * 3 = 36. The answer is 36.", "12 * 3 = 38. The answer is 38.", "36"),
    ("A box holds 7 pens. How many pens do 5 boxes hold?", "7 x 5 = 35. The answer is 35.",
     "7 x 5 = 40. The answer is 40.", "35"),
    ("Tom has 40 dollars and spends 15. How many dollars are left?", "40 - 15 = 25. The answer is 25.",
     "40 - 15 = 35. The answer is 35.", "25"),
    ("Write about tea. Use no commas.", "Tea is warm and calm.", "Tea is warm, and calm.", None),
]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("leak-pipeline")
    src = root / "pairs.jsonl"
    with open(src, "w") as f:
        for i, (prompt, chosen, rejected, ref) in enumerate(PAIRS):
            row = {"id": f"{CANARY}-id-{i}", "source": f"{CANARY}-source", "subset": f"{CANARY}-subset",
                   "domain": "math" if ref else "instruction_following", "note": f"{CANARY}-extra",
                   "prompt": prompt, "chosen": chosen, "rejected": rejected}
            if ref:
                row["reference"] = ref
            f.write(json.dumps(row) + "\n")
    cfg = root / "data.yaml"
    cfg.write_text(
        "_schema: data.config.DataConfig\n"
        f"output_dir: {root / 'out'}\nseed: 0\nheldout_fraction: 0.0\n"
        f"sources:\n  - {{kind: source, name: generic, path: {src}}}\n"
        "decontam: {enabled: false}\n"
        "teacher: {kind: scripted, settings: [skill_fair, skill_operational], load_skill_prob: 0.5,"
        " agent: {prompt_style: compact}}\n"
        "render: {tokenizer: smollm2-135m, show_example: false,"
        " filters: {balance_sources: false, balance_positions: false, dedup: false}}\n")
    assert generate_main(["--config", str(cfg), "--no-progress"]) == 0
    assert render_main(["--config", str(cfg), "--no-progress"]) == 0
    return root / "out"


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_hidden_fields_never_reach_trained_or_prompted_text(rendered, smollm_tokenizer):
    for fmt in ("sft_skill", "sft_direct"):
        rows = _rows(rendered / f"{fmt}.jsonl")
        assert rows, fmt
        for r in rows:
            text = json.dumps(r["messages"]) + smollm_tokenizer.decode(r["input_ids"])
            for hidden in (CANARY, "chosen", "rejected", "gold"):
                assert hidden not in text, (fmt, r["task_id"], hidden)
    rl = _rows(rendered / "rl.jsonl")
    assert rl
    for r in rl:
        assert CANARY not in json.dumps(r["prompt_messages"])
        assert r["task"]["gold"] == 0  # the RL row carries the full task for scoring, by design


def test_fair_rows_carry_no_sample_resources_and_direct_rows_mirror_the_inputs(rendered):
    skill = _rows(rendered / "sft_skill.jsonl")
    direct = _rows(rendered / "sft_direct.jsonl")
    assert {r["setting"] for r in skill} == {"skill_fair", "skill_operational"}
    assert {r["setting"] for r in direct} == {"baseline", "baseline_operational"}
    for r in skill + direct:
        shows = "[Sample" in r["messages"][1]["content"]  # the user message: resources listed or as text
        calls = [tc["function"] for m in r["messages"] for tc in m.get("tool_calls") or []]
        if r["setting"] in ("skill_fair", "baseline"):
            assert not shows, (r["setting"], r["task_id"])
            assert not any(str((c["arguments"] or {}).get("path", "")).startswith("sample.") for c in calls)
            assert not any(c["arguments"].get("resource_id") in ("verifier.math_answer", "verifier.reference_match")
                           for c in calls)
        elif r["domain"] == "math":  # the pairs with a reference
            assert shows, (r["setting"], r["task_id"])
    pairs = {(r["task_id"], tuple(r["order"]), r["verdict"], r["mirrors_setting"]) for r in direct}
    assert pairs == {(r["task_id"], tuple(r["order"]), r["verdict"], r["setting"]) for r in skill}


def test_each_format_folder_carries_its_judging_protocol(rendered):
    from model.protocol import JudgeProtocol

    skill = JudgeProtocol.load(rendered / "sft_skill")
    direct = JudgeProtocol.load(rendered / "sft_direct")
    assert skill.settings == ["skill_fair", "skill_operational"] and skill.prompt_style == "compact"
    assert direct.settings == ["baseline", "baseline_operational"]
    assert JudgeProtocol.load(rendered / "rl").settings == skill.settings
