"""python -m data.render end to end on a small data.generate-style folder the test writes (trajectories
produced by the real runtime with a scripted policy): outputs, filters in the report, rejects, skill vs
direct label identity, RL rows, determinism and a golden hash, and the Hub push against a stand-in."""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import shutil
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from model.agent import run_agent, tool_call
from model.backends.scripted import ScriptedBackend
from model.protocol import twin
from model.records import JudgeTask, Resources, Trajectory

# ------------------------------------------------------------------------------------------ inputs

def _math(i: int, gold: int, source: str = "arith") -> JudgeTask:
    n = 5 * (i + 2)
    right = f"{i + 2} bags x 5 = {n}. The answer is {n}."
    wrong = f"{i + 2} + 5 = {i + 7}. The answer is {i + 7}."
    return JudgeTask(id=f"math{i}", source=source, kind="pairwise", domain="math",
                     prompt=f"Ann has {i + 2} bags with 5 pears in each bag. How many pears does she have?",
                     candidates=[right, wrong] if gold == 0 else [wrong, right], gold=gold,
                     resources=Resources(reference=str(n)))


def _if(i: int) -> JudgeTask:
    return JudgeTask(id=f"if{i}", source="ifsrc", kind="pairwise", domain="instruction_following",
                     prompt=f"Describe a {['cat', 'dog'][i]} in fewer than 10 words, all lowercase.",
                     candidates=["a small soft animal naps in the sun.",
                                 "The Animal Is A Wonderful Creature That Sleeps All Day Long."], gold=0,
                     resources=Resources(constraints=[
                         {"id": "length_constraints:number_words",
                          "kwargs": {"relation": "less than", "num_words": 10}},
                         {"id": "change_case:english_lowercase", "kwargs": {}}]))


def _chat(tid: str, prompt: str, source: str = "chat") -> JudgeTask:
    return JudgeTask(id=tid, source=source, kind="pairwise", domain="general", prompt=prompt,
                     candidates=[f"A helpful, correct answer to: {prompt}", "I don't know."], gold=0)


def _policy(req):
    """Test oracle: plays per-task behaviours (the policy may read the gold; a real teacher may not)."""
    ep = req.context
    task, turn = ep.task, sum(1 for m in req.messages if m["role"] == "assistant")
    label = "AB"[ep.order.index(task.gold)]
    if task.id.startswith("tie"):
        return tool_call("final_answer", verdict="tie", confidence=0.3)
    if task.id.startswith("first"):
        return "The first one looks better. [[A]]"
    if task.id.startswith(("math", "dup", "held")) or task.id.startswith("if"):
        rid = ("verifier.instruction_checks" if task.domain == "instruction_following"
               else "verifier.math_answer")
        script = [tool_call("run_resource", resource_id=rid, reason="hard evidence")]
        if ep.sample_index == 1:  # a longer second sample
            script.insert(0, "Let me read the rubric.\n" + tool_call("view_resource", path="rubric.math"))
        if turn < len(script):
            return script[turn]
        return f"The verifier separates them; {label} is right.\n" + tool_call(
            "final_answer", verdict=label, confidence=0.9, used_resources=[rid], reason="verified")
    return "Easy case.\n" + tool_call("final_answer", verdict=label, confidence=0.8, reason="clearly better")


def build_generate_dir(d: Path) -> dict:
    train = [_math(0, 0), _math(1, 1), _math(2, 0), _math(3, 1), _if(0), _if(1),
             *[_chat(f"chat{i}", f"Give one tip number {i} for staying focused while studying.")
               for i in range(4)],
             _chat("tie0", "Which is the better greeting for a letter?", "arith"),
             _chat("first0", "Name a prime number between 10 and 20.", "arith"),
             JudgeTask.from_dict({**_math(0, 0).to_dict(), "id": "dup0"}),
             JudgeTask.from_dict({**_math(7, 1).to_dict(), "id": "leak0"})]  # held0's prompt, other id
    held = JudgeTask.from_dict({**_math(7, 0).to_dict(), "id": "held0"})
    backend = ScriptedBackend(_policy)

    def items(tasks):
        return [(t, o) for t in tasks for o in t.orders()]
    trajs: list[Trajectory] = []
    trajs += run_agent(backend, items([t for t in train if t.id != "math1"] + [held]), "skill_operational")
    trajs += run_agent(backend, items([t for t in train if t.id == "math1"]), "skill_operational",
                       samples_per_item=2)
    trajs += run_agent(backend, items([train[0], train[4]]), "skill_fair")
    d.mkdir(parents=True, exist_ok=True)
    (d / "tasks.jsonl").write_text("".join(json.dumps(t.to_dict()) + "\n" for t in train))
    (d / "heldout.jsonl").write_text(json.dumps(held.to_dict()) + "\n")
    lines = [json.dumps(t.to_dict()) for t in trajs]
    good = json.loads(lines[0])
    lines[3:3] = ['{"task_id": "math0", "setting": ',                                  # invalid JSON
                  json.dumps({**good, "task_id": "nope"}),                             # unknown task
                  json.dumps({**good, "order": [0, 0]})]                               # not a permutation
    (d / "trajectories.jsonl").write_text("\n".join(lines) + "\n")
    report = {"per_source": {"arith": {"train": 7, "heldout": 1}, "ifsrc": {"train": 2},
                             "chat": {"train": 4}},
              "decontamination": {"enabled": True, "benchmarks_checked": ["judgebench"], "removed": 3,
                                  "matches": [{"task_id": "x"}]},
              "licenses": {"arith": "MIT", "ifsrc": "Apache-2.0", "chat": "CC-BY-4.0"},
              "teacher": {"trajectories": len(trajs), "correct_rate": 0.8}}
    (d / "generate_report.json").write_text(json.dumps(report))
    return {"train": train, "held": held, "trajectories": trajs}


class RefuseHub:
    def __init__(self, *a, **k):
        raise AssertionError("the Hub must not be contacted unless asked")


def run_cli(args) -> tuple[int, str]:
    from data.render.cli import main

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(args)
    return rc, buf.getvalue()


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    import huggingface_hub

    root = tmp_path_factory.mktemp("render")
    built = build_generate_dir(root / "gen")
    cfg = root / "data.yaml"
    cfg.write_text("seed: 3\nrender:\n  tokenizer: smollm2-135m\n  filters:\n    max_tokens: 3000\n")
    mp = pytest.MonkeyPatch()
    mp.setattr(huggingface_hub, "HfApi", RefuseHub)
    try:
        rc, stdout = run_cli(["--config", str(cfg), f"input_dir={root / 'gen'}", f"output_dir={root / 'out'}",
                              "--no-progress"])
    finally:
        mp.undo()
    assert rc == 0
    return SimpleNamespace(root=root, out=root / "out", gen=root / "gen", stdout=stdout, **built)


def jsonl(path):
    return [json.loads(x) for x in Path(path).read_text().splitlines()]


# ------------------------------------------------------------------------------------------ tests

def test_outputs_layout_and_datasets(rendered):
    import datasets

    out = rendered.out
    for name in ("README.md", "render_report.json", "render_config.yaml", "render_rejects.jsonl",
                 "sft_skill.jsonl", "sft_direct.jsonl", "rl.jsonl"):
        assert (out / name).exists(), name
    skill = datasets.load_from_disk(str(out / "sft_skill"))
    assert skill.column_names == ["task_id", "source", "domain", "setting", "order", "verdict", "n_tokens",
                                  "n_trained", "input_ids", "labels"]
    rows = jsonl(out / "sft_skill.jsonl")
    assert len(rows) == len(skill) > 0 and rows[0]["messages"][0]["role"] == "system"
    assert [r["input_ids"] for r in rows] == skill["input_ids"]
    assert all(r["n_tokens"] <= 3000 for r in rows)  # the config file's max_tokens
    assert (out / "sft_skill" / "README.md").read_text() == (out / "README.md").read_text()
    # train/ reads it
    from train.data import load_sft_data

    data = load_sft_data(out / "sft_skill", max_seq_len=4096)
    assert len(data) == len(rows)


def test_report_counts_what_each_filter_removed(rendered):
    r = json.loads((rendered.out / "render_report.json").read_text())
    assert r["input"]["rejected_rows"] == 3 and r["input"]["heldout_trajectories"] == 2
    steps = {s["name"]: s for s in r["filters"]}
    assert steps["heldout_overlap"]["reasons"] == {"heldout_exact_duplicate": 2}
    assert steps["heldout_overlap"]["details"]["examples"] == ["leak0"]
    assert steps["correctness"]["reasons"] == {"tie": 2, "wrong": 1}
    assert steps["order_consistency"]["reasons"] == {"not_right_in_all_orders": 1}
    assert steps["one_sample"]["reasons"] == {"extra_sample": 2}
    assert steps["dedup"]["reasons"] == {"exact_duplicate": 2}
    assert steps["dedup"]["details"]["examples"][0] == {"dropped": "dup0", "kept": "math0",
                                                         "reason": "exact_duplicate"}
    n_in = r["input"]["trajectories"]
    assert n_in == len(rendered.trajectories) - 2  # held-out rows never enter
    assert n_in - sum(s["removed"] for s in r["filters"]) == r["kept"]["trajectories"]
    skill = jsonl(rendered.out / "sft_skill.jsonl")
    assert not {row["task_id"] for row in skill} & {"held0", "leak0", "tie0", "first0", "dup0"}
    math1 = [row for row in skill if row["task_id"] == "math1"]  # of K=2 samples the shorter one is kept
    calls = [tc["function"]["name"] for row in math1 for m in row["messages"]
             for tc in m.get("tool_calls") or []]
    assert len(math1) == 2 and calls == ["run_resource", "final_answer"] * 2
    comp = r["composition"]
    assert comp["verdict_position"]["A"] == comp["verdict_position"]["B"]
    assert comp["decision"]["direct"] <= comp["decision"]["tool_use"]  # max_direct_share 0.5
    assert r["formats"]["sft_skill"]["examples"] == r["kept"]["trajectories"]
    assert 0 < r["formats"]["sft_skill"]["trained_fraction"] < 1
    assert sum(r["formats"]["sft_skill"]["length_histogram"].values()) == r["kept"]["trajectories"]
    assert r["end_of_turn_untrained"] == {"sft_skill": 0, "sft_direct": 0}


def test_malformed_rows_land_in_rejects(rendered):
    rej = jsonl(rendered.out / "render_rejects.jsonl")
    assert [x["row"] for x in rej] == [4, 5, 6]
    assert all(x["file"].endswith("trajectories.jsonl") for x in rej)
    assert "invalid JSON" in rej[0]["reason"]
    assert "not in tasks.jsonl" in rej[1]["reason"]
    assert "not a permutation" in rej[2]["reason"]


def test_direct_and_skill_share_tasks_orders_and_labels(rendered):
    skill = jsonl(rendered.out / "sft_skill.jsonl")
    direct = jsonl(rendered.out / "sft_direct.jsonl")

    def key(r):
        return (r["task_id"], tuple(r["order"]), r["verdict"])
    assert Counter(map(key, skill)) == Counter(map(key, direct))
    assert Counter((r["task_id"], r["setting"]) for r in skill) == \
        Counter((r["task_id"], r["mirrors_setting"]) for r in direct)
    tasks = {t.id: t for t in rendered.train}
    for r in skill:  # every label is the gold under the shown order
        assert r["order"]["AB".index(r["verdict"])] == tasks[r["task_id"]].gold
    for r in direct:
        assert r["setting"] == twin(r["mirrors_setting"], tools=False)  # the same inputs, no tools
        assert r["messages"][-1] == {"role": "assistant", "content": f"[[{r['verdict']}]]"}
        assert [m["role"] for m in r["messages"]] == ["system", "user", "assistant"]


def test_rl_rows_carry_gold_and_resources_but_prompts_do_not(rendered):
    from data.render.formats import rl_row
    from model.agent import AgentConfig, load_skills
    from model.prompts import PromptOptions

    rows = jsonl(rendered.out / "rl.jsonl")
    skill = jsonl(rendered.out / "sft_skill.jsonl")
    groups = list(dict.fromkeys((r["task_id"], r["setting"]) for r in skill))
    assert [(r["task_id"], r["setting"]) for r in rows] == groups
    catalog = load_skills(AgentConfig()).catalog_text()
    for r in rows:
        task = JudgeTask.from_dict(r["task"])
        assert r["gold"] == task.gold is not None and r["task"] == next(
            t for t in rendered.train if t.id == task.id).to_dict()
        flipped = JudgeTask.from_dict({**r["task"], "gold": 1 - task.gold, "meta": {"secret": "gold"}})
        rebuilt = rl_row(flipped, r["setting"], catalog, PromptOptions())["prompt_messages"]
        assert rebuilt == r["prompt_messages"]
        text = json.dumps(r["prompt_messages"])
        if task.resources.reference:
            assert r["task"]["resources"]["reference"] == task.resources.reference
            assert "sample.reference" in text or r["setting"] == "skill_fair"
        assert "gold" not in text.lower()
    assert any(r["task"]["resources"].get("constraints") for r in rows)
    import datasets

    ds = datasets.load_from_disk(str(rendered.out / "rl"))
    assert ds[0]["task"] == rows[0]["task"] and ds[0]["gold"] == rows[0]["gold"]


def test_card_and_console(rendered):
    card = (rendered.out / "README.md").read_text()
    for needle in ("config_name: sft_skill", "## Sources", "| arith |", "MIT", "## Filters",
                   "exact_duplicate: 2",
                   "## Decontamination (data.generate)", "benchmarks_checked", "smollm2-135m",
                   "python -m data.render --config", "input_dir="):
        assert needle in card, needle
    assert '"task_id": "x"' not in card  # per-match lists are left to generate_report.json
    from data.render.formats import GREEN, GREY

    assert GREEN in rendered.stdout and GREY in rendered.stdout and "position_balance" in rendered.stdout
    from data.config import DataConfig
    from model.config import load_config

    cfg = load_config(DataConfig, rendered.out / "render_config.yaml")
    assert cfg.seed == 3 and cfg.render.filters.max_tokens == 3000


def test_deterministic_across_runs_and_workers(rendered, tmp_path):
    rc, _ = run_cli(["--config", str(rendered.root / "data.yaml"), f"input_dir={rendered.gen}",
                     f"output_dir={tmp_path}", "render.show_example=false", "--workers", "2",
                     "--no-progress"])
    assert rc == 0
    for name in ("sft_skill.jsonl", "sft_direct.jsonl", "rl.jsonl", "render_report.json",
                 "render_rejects.jsonl"):
        a = (rendered.out / name).read_bytes()
        b = (tmp_path / name).read_bytes()
        if name == "render_report.json":
            a, b = json.loads(a), json.loads(b)
        assert a == b, name


def test_formats_select_what_is_written(rendered, tmp_path):
    rc, _ = run_cli([f"input_dir={rendered.gen}", f"output_dir={tmp_path}", "render.formats=[rl]",
                     "render.show_example=false", "render.filters.max_tokens=3000", "--no-progress"])
    assert rc == 0 and not (tmp_path / "sft_skill.jsonl").exists()
    assert (tmp_path / "rl.jsonl").read_bytes() == (rendered.out / "rl.jsonl").read_bytes()
    assert "config_name: rl" in (tmp_path / "README.md").read_text()
    assert "config_name: sft_skill" not in (tmp_path / "README.md").read_text()
    assert run_cli([f"input_dir={rendered.gen}", f"output_dir={tmp_path}", "render.formats=[sft]"])[0] == 2


def test_help_and_bad_config(tmp_path, capsys):
    from data.render.cli import main

    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0 and "--push-to-hub" in capsys.readouterr().out
    assert main(["render.filters.no_such_key=1"]) == 2


def test_push_to_hub_against_a_local_stand_in(rendered, monkeypatch, tmp_path):
    import datasets
    import huggingface_hub

    class LocalHub:
        """Stands in for HfApi: a repo is a local folder; uploads are copies."""
        calls: list = []

        def create_repo(self, repo_id, repo_type, private, exist_ok):
            self.calls.append(("create_repo", repo_id, repo_type, private))
            (tmp_path / repo_id).mkdir(parents=True, exist_ok=True)

        def upload_folder(self, folder_path, repo_id, repo_type, commit_message):
            self.calls.append(("upload_folder", repo_id, repo_type))
            shutil.copytree(folder_path, tmp_path / repo_id, dirs_exist_ok=True)
            return SimpleNamespace(commit_url=f"local://{repo_id}/commit/1")

    monkeypatch.setattr(huggingface_hub, "HfApi", LocalHub)
    from data.render.hub import push_to_hub

    url = push_to_hub(rendered.out, "me/judge-data", ["sft_skill", "sft_direct", "rl"], private=True)
    assert url == "local://me/judge-data/commit/1"
    assert LocalHub.calls == [("create_repo", "me/judge-data", "dataset", True),
                              ("upload_folder", "me/judge-data", "dataset")]
    repo = tmp_path / "me" / "judge-data"
    for fmt in ("sft_skill", "sft_direct", "rl"):  # the card's configs make the repo loadable by name
        # a private cache: the shared one may hold an older run's dataset under the same tmp path
        pushed = datasets.load_dataset(str(repo), fmt, split="train", cache_dir=str(tmp_path / "hf-cache"))
        local = datasets.load_from_disk(str(rendered.out / fmt))
        assert pushed.to_list() == local.to_list(), fmt

    # through the CLI flag; a failing upload raises and reports no push
    class Failing(LocalHub):
        def upload_folder(self, **kw):
            raise OSError("network down")

    monkeypatch.setattr(huggingface_hub, "HfApi", Failing)
    with pytest.raises(OSError):
        run_cli([f"input_dir={rendered.gen}", f"output_dir={tmp_path / 'o'}", "render.show_example=false",
                 "render.filters.max_tokens=3000", "--no-progress", "--push-to-hub", "me/x"])


# ------------------------------------------------------------------------------------------ golden

GOLDEN_SFT_SKILL_SHA256 = "5c37ef74228d4da2d331e589ac1da73ce0d31fc8a8b8e2348553facfaa11725b"


def _golden_inputs(d: Path) -> None:
    """Hand-written tasks and trajectories (no skills content involved): two tasks, both orders."""
    tasks = [JudgeTask(id=f"g{i}", source="golden", kind="pairwise", domain="math",
                       prompt=f"What is {i} + {i}?",
                       candidates=[f"It is {2 * i}.", f"It is {2 * i + 1}."], gold=0,
                       resources=Resources(reference=str(2 * i))) for i in (1, 2)]
    rows = []
    for t in tasks:
        for order in ([0, 1], [1, 0]):
            label = "AB"[order.index(0)]
            shown = f"{t.prompt}\nA: {t.candidates[order[0]]}\nB: {t.candidates[order[1]]}"
            msgs = [{"role": "system", "content": "You are a reward judge."},
                    {"role": "user", "content": shown},
                    {"role": "assistant", "content": "Check the reference.", "tool_calls": [
                        {"id": "c1", "type": "function",
                         "function": {"name": "view_resource", "arguments": {"path": "sample.reference"}}}]},
                    {"role": "tool", "tool_call_id": "c1", "name": "view_resource",
                     "content": t.resources.reference},
                    {"role": "assistant", "content": "", "tool_calls": [
                        {"id": "c2", "type": "function",
                         "function": {"name": "final_answer",
                                      "arguments": {"verdict": label, "confidence": 0.9}}}]},
                    {"role": "tool", "tool_call_id": "c2", "name": "final_answer",
                     "content": "Verdict recorded."}]
            rows.append(Trajectory(task_id=t.id, setting="skill_operational", order=order, messages=msgs,
                                   verdict=label, choice=0, parse_ok=True, correct=True,
                                   tool_calls=2).to_dict())
    d.mkdir(parents=True)
    (d / "tasks.jsonl").write_text("".join(json.dumps(t.to_dict()) + "\n" for t in tasks))
    (d / "trajectories.jsonl").write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)))


def test_golden_hash(tmp_path):
    """Pins the rendered bytes (template, tokenizer, mask, row layout). If a change is intended, check
    the new output by eye and update the constant."""
    from data.config import DataConfig
    from data.render.cli import render

    _golden_inputs(tmp_path / "gen")
    cfg = DataConfig(output_dir=str(tmp_path / "out"), input_dir=str(tmp_path / "gen"))
    cfg.render.formats = ["sft_skill"]
    cfg.render.show_example = False
    report = render(cfg, progress=False, out=io.StringIO())
    assert report["kept"]["trajectories"] == 4
    digest = hashlib.sha256((tmp_path / "out" / "sft_skill.jsonl").read_bytes()).hexdigest()
    assert digest == GOLDEN_SFT_SKILL_SHA256


def test_render_failures_go_to_rejects_and_an_untrained_end_of_turn_warns(tmp_path, monkeypatch):
    """A conversation the template cannot render is a rejected row (the run goes on); a mask that never
    trains the end-of-turn token is warned about and counted."""
    import numpy as np

    import data.render.formats as rendering
    from data.config import DataConfig
    from data.render.cli import render
    from model.chat_template import IGNORE_INDEX, TemplateError

    real = rendering.render_with_mask

    def broken(tok, messages, tools=None):
        if "What is 2 + 2?" in messages[1]["content"] and tools:
            raise TemplateError("chat template is not prefix-consistent")
        ids, labels = real(tok, messages, tools)
        eot = tok.convert_tokens_to_ids("<|im_end|>")
        return ids, [IGNORE_INDEX if i == eot else lab for i, lab in zip(ids, labels)]

    monkeypatch.setattr(rendering, "render_with_mask", broken)
    _golden_inputs(tmp_path / "gen")
    cfg = DataConfig(output_dir=str(tmp_path / "out"), input_dir=str(tmp_path / "gen"))
    with pytest.warns(UserWarning, match="never train the end-of-turn token"):
        report = render(cfg, progress=False, out=io.StringIO())
    steps = {s["name"]: s for s in report["filters"]}
    assert steps["length"]["reasons"] == {"render_failed": 2}
    assert report["kept"]["trajectories"] == 2 and report["input"]["rejected_rows"] == 2
    assert report["end_of_turn_untrained"] == {"sft_skill": 2, "sft_direct": 2}
    rej = jsonl(tmp_path / "out" / "render_rejects.jsonl")
    assert sorted(x["row"] for x in rej) == [1, 2]
    assert all("render failed: TemplateError" in x["reason"] for x in rej)
    rows = jsonl(tmp_path / "out" / "sft_skill.jsonl")
    assert {r["task_id"] for r in rows} == {"g1"} and all(np.all(np.array(r["labels"]) != 2) for r in rows)
