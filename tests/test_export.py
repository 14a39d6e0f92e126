"""train.export: reload + generate, LoRA merge, model card, skills snapshot, Hub push (against a stand-in)."""
from __future__ import annotations

import json

import pytest
import torch

from model.config import REPO_ROOT, load_config
from train.config import SFTConfig
from train.synthetic import synthetic_rows, write

TINY = REPO_ROOT / "configs" / "train" / "sft_tiny.yaml"


def train_tiny(out, data, *overrides):
    from train.sft import fit, setup

    cfg = load_config(SFTConfig, TINY, [f"output_dir={out}", f"data_path={data}", "wandb=false", "max_steps=2",
                                        *overrides])
    return fit(setup(cfg))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("data") / "sft"
    write(synthetic_rows(24, 2048, eot_id=2, seed=0, mean_len=60, min_len=20, max_len=200), d)
    (d / "README.md").write_text("---\nlicense: mit\n---\n# Judge trajectories\n\nRendered skill runs.\n")
    return d


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("full")
    train_tiny(out, data_dir)
    (out / "metrics.json").write_text(json.dumps({"rewardbench2": {"accuracy": 0.61, "n": 100},
                                                  "judgebench": {"accuracy": 0.55, "n": 50}}))
    return out


def test_export_reloads_generates_and_carries_everything(full_run, tmp_path):
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from train.export import main

    out = tmp_path / "export"
    assert main(["--checkpoint", str(full_run), "--output", str(out)]) == 0
    model = AutoModelForCausalLM.from_pretrained(out)
    tok = AutoTokenizer.from_pretrained(out)
    gen = model.generate(torch.tensor([[100, 101, 102]]), max_new_tokens=4, do_sample=False)
    assert gen.shape == (1, 7)
    # the exported weights are the trained (gathered) ones
    exported = load_file(out / "model.safetensors")
    final = load_file(full_run / "final_model" / "model.safetensors")
    assert exported.keys() == final.keys() and all(torch.equal(exported[k], final[k]) for k in final)
    # tokenizer renders tool calls (project template where the model's own lacks tools)
    text = tok.apply_chat_template(
        [{"role": "user", "content": "judge"},
         {"role": "assistant", "content": "", "tool_calls": [
             {"type": "function", "function": {"name": "use_skill", "arguments": {"skill_name": "reward_judge"}}}]}],
        tokenize=False)
    assert "<tool_call>" in text and "use_skill" in text
    assert (out / "chat_template.jinja").exists() and (out / "generation_config.json").exists()
    assert json.loads((out / "config.json").read_text())["use_cache"] is True
    # skills snapshot + hashes
    manifest = json.loads((out / "skill_manifest.json").read_text())
    from model.skills import SkillLibrary

    lib = SkillLibrary(REPO_ROOT / "skills")
    assert set(manifest) == set(lib.names())
    for name, entry in manifest.items():
        assert entry["sha256"] == lib.get(name).content_hash()
        assert (out / "skills" / name / "SKILL.md").exists()
    card = (out / "README.md").read_text()
    for needle in ("python -m model.judge --model", "settings skill_operational", "| rewardbench2 |",
                   "Rendered skill runs.", "## Training config", "reward_judge", "final loss"):
        assert needle in card, needle
    assert "license: mit" not in card  # the data card's front matter is not pasted


def test_export_refuses_a_non_checkpoint(tmp_path):
    from train.export import main

    assert main(["--checkpoint", str(tmp_path), "--output", str(tmp_path / "o")]) == 2


def test_lora_export_merged_matches_the_adapter_model(tmp_path, data_dir):
    from transformers import AutoModelForCausalLM

    from train.checkpoint import resolve_checkpoint
    from train.export import consolidated_state_dict, export, rebuild_model

    run = tmp_path / "lora"
    train_tiny(run, data_dir, "lora.enabled=true", "lora.r=4", "lr=5e-2", "save_final_model=false")
    out = export(run, tmp_path / "merged", merge_lora=True, skills=["none"])
    merged = AutoModelForCausalLM.from_pretrained(out).eval()
    ckpt = resolve_checkpoint(run)
    sd = consolidated_state_dict(ckpt)
    peft_model, is_lora = rebuild_model(ckpt, sd, merge_lora=False)
    assert is_lora and any("lora_B" in k and v.abs().sum() > 0 for k, v in sd.items())  # adapters trained
    ids = torch.tensor([[100, 200, 300, 400, 500]])
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, peft_model.eval()(ids).logits, rtol=1e-4, atol=1e-4)
    base_q = sd["base_model.model.model.layers.0.self_attn.q_proj.base_layer.weight"]
    assert not torch.allclose(merged.state_dict()["model.layers.0.self_attn.q_proj.weight"], base_q)
    assert not (out / "skill_manifest.json").exists()


class RecordingHfApi:
    calls: list = []

    def create_repo(self, **kw):
        RecordingHfApi.calls.append(("create_repo", kw))
        return f"https://hub.example/{kw['repo_id']}"

    def upload_folder(self, **kw):
        from pathlib import Path

        RecordingHfApi.calls.append(("upload_folder", {**kw, "files": sorted(
            str(p.relative_to(kw["folder_path"])) for p in Path(kw["folder_path"]).rglob("*") if p.is_file())}))
        return type("CommitInfo", (), {"commit_url": "https://hub.example/commit/1"})()


def test_push_to_hub_calls_the_hub_api(full_run, tmp_path, monkeypatch):
    """Against a recording stand-in for huggingface_hub.HfApi: nothing leaves the machine."""
    import train.export as ex

    monkeypatch.setattr(ex, "HfApi", RecordingHfApi)
    RecordingHfApi.calls = []
    out = tmp_path / "pushed"
    assert ex.main(["--checkpoint", str(full_run), "--output", str(out), "--push-to-hub", "me/judge-tiny",
                    "--private", "--skills", "reward_judge"]) == 0
    (c1, kw1), (c2, kw2) = RecordingHfApi.calls
    assert c1 == "create_repo" and kw1["repo_id"] == "me/judge-tiny" and kw1["private"] is True
    assert kw1.get("exist_ok") is True and kw1.get("repo_type") == "model"
    assert c2 == "upload_folder" and kw2["repo_id"] == "me/judge-tiny" and kw2["folder_path"] == str(out)
    assert {"model.safetensors", "config.json", "README.md", "tokenizer.json", "skill_manifest.json",
            "skills/reward_judge/SKILL.md"} <= set(kw2["files"])
    assert "me/judge-tiny" in (out / "README.md").read_text()


def test_no_push_without_the_flag(full_run, tmp_path, monkeypatch):
    import train.export as ex

    class Forbidden:
        def __init__(self):
            raise AssertionError("HfApi must not be used without --push-to-hub")

    monkeypatch.setattr(ex, "HfApi", Forbidden)
    assert ex.main(["--checkpoint", str(full_run), "--output", str(tmp_path / "o"), "--skills", "none"]) == 0


def test_an_exported_judge_is_judged_with_its_training_prompt_byte_for_byte(tmp_path, data_dir):
    """data.render's protocol -> train.sft's final_model -> train.export -> model.judge with no protocol flags."""
    import shutil
    import subprocess
    import sys

    from model.agent import load_skills
    from model.judging import load_tasks
    from model.prompts import PromptOptions, initial_messages
    from model.protocol import JudgeProtocol
    from train.export import main

    data = tmp_path / "sft_skill"
    shutil.copytree(data_dir, data)
    trained = JudgeProtocol(settings=["skill_fair"], prompt_style="compact", max_steps=2, max_new_tokens=4)
    trained.save(data)
    run = tmp_path / "run"
    train_tiny(run, data, "model_config.vocab_size=49152")  # the judge prompt uses the whole tokenizer
    assert JudgeProtocol.load(run / "final_model") == JudgeProtocol.load(data)
    out = tmp_path / "export"
    assert main(["--checkpoint", str(run), "--output", str(out), "--skills", "none", "--no-verify"]) == 0
    assert JudgeProtocol.load(out).same_behaviour(trained)
    assert "settings skill_fair, prompt style" in (out / "README.md").read_text()
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"id": "p", "prompt": "2+2?", "chosen": "4", "rejected": "5"}) + "\n")
    judged = tmp_path / "j.jsonl"
    res = subprocess.run([sys.executable, "-m", "model.judge", "--model", str(out), "--input", str(pairs),
                          "--output", str(judged), "--save-messages", "--no-progress"],
                         cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert "differs from the judge's trained protocol" not in res.stderr
    rows = [json.loads(x) for x in judged.read_text().splitlines()]
    assert {r["setting"] for r in rows} == {"skill_fair"} and all(r["steps"] <= 2 for r in rows)
    [task] = load_tasks(pairs)
    catalog = load_skills(__import__("model.agent", fromlist=["AgentConfig"]).AgentConfig()).catalog_text()
    for r in rows:
        expected = initial_messages(task, r["order"], "skill_fair", catalog, PromptOptions(style="compact"))
        assert r["messages"][:2] == expected
    warned = subprocess.run([sys.executable, "-m", "model.judge", "--model", str(out), "--input", str(pairs),
                             "--output", str(tmp_path / "k.jsonl"), "--prompt-style", "full", "--no-progress"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert warned.returncode == 0
    assert "differs from the judge's trained protocol (prompt_style='compact')" in warned.stderr
